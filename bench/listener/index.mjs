// Node ↔ Web-Fetch listener benchmark: toNodeListener against raw node:http and other adapters.
//
//   npm run bench -- listener [--rounds 3] [--duration 3] [--stream-duration 2] [--warmup 1] [--connections 32]
//                             [--adapters ours,raw,…] [--workloads json,sse,upload,stall] [--pipeline 8]
//                             [--no-cpu] [--no-pump] [--nice -10]
//
// After the wrk tables it runs cpu.mjs (server-thread CPU per request in one process, the number
// to trust on a shared box: wrk's req/s also moves with whoever else uses the client's core —
// see the "server busy" column) and pump.mjs (in-process cost of the two body paths).
// One adapter per child process pinned to CPU 1 (taskset), wrk pinned to CPU 0, the orchestrator
// pinned to CPU 0 too. Every round starts at a different adapter (rotation) and the table shows
// medians across rounds. Server CPU µs/request comes from the child's process.cpuUsage() over the
// measured window (fetched over IPC) divided by wrk's request count.
import { spawn, execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { writeFileSync, mkdtempSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : process.argv[i + 1]
}
const ROUNDS = Number(flag('rounds', 3))
const DURATION = Number(flag('duration', 3))
/** sse / upload measure windows (each of those requests is heavier, so fewer seconds suffice). */
const STREAM_DURATION = Number(flag('stream-duration', 2))
const WARMUP = Number(flag('warmup', 1))
const CONNECTIONS = Number(flag('connections', 32))
const UPLOAD_CONNECTIONS = 8
const UPLOAD_KIB = Number(flag('upload-kb', 1024))
const SSE_N = Number(flag('sse-n', 50))
const STALL_SECONDS = Number(flag('stall-seconds', 1.5))
/**
 * HTTP/1.1 pipelining depth for json (wrk sends N requests per write). 1 = the plain protocol. With
 * N > 1 the client costs a fraction of a µs per request, so the server is the bottleneck in every
 * run and req/s compares server cost alone (without it, a fast server can be capped by wrk's core).
 */
const PIPELINE = Number(flag('pipeline', 1))
const ALL_ADAPTERS = ['raw', 'ours', 'ours-undici', 'ours-fast', 'ours-native', 'hono', 'srvx', 'srvx-fast', 'whatwg', 'whatwg-fast', 'trigger']
const ADAPTERS = flag('adapters', ALL_ADAPTERS.join(',')).split(',')
const WORKLOADS = flag('workloads', 'json,sse,upload,stall').split(',')
const CPU_SERVER = flag('server-cpu', '1')
const CPU_CLIENT = flag('client-cpu', '0')
// On a box shared with other jobs, `--nice -10` (root) gives the server and wrk priority over them.
const NICE = flag('nice', undefined)
/** [cmd, args] that run `args` pinned to `cpu`, at the requested priority. */
function pinned(cpu, args) {
  const base = ['taskset', '-c', cpu, ...args]
  return NICE === undefined ? [base[0], base.slice(1)] : ['nice', ['-n', String(NICE), ...base]]
}

// ours-native differs from ours only in how an SSE body is produced.
const appliesTo = (adapter, workload) => adapter !== 'ours-native' || workload === 'sse' || workload === 'stall'

execFileSync('bash', [path.join(here, 'ensure-wrk.sh')], { stdio: 'inherit' })
try {
  execFileSync('taskset', ['-pc', CPU_CLIENT, String(process.pid)], { stdio: 'ignore' })
} catch {}

// ---- wrk scripts
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-listener-'))
const jsonBody = JSON.stringify({
  id: 'chat_0123456789',
  items: [1, 2, 3, 4, 5],
  message: { role: 'user', text: 'Hello there, how is the weather today?' },
  pad: 'x'.repeat(20),
})
function luaPost(file, bodyExpr, contentType) {
  const p = path.join(tmp, file)
  writeFileSync(p, `wrk.method = "POST"\nwrk.body = ${bodyExpr}\nwrk.headers["Content-Type"] = "${contentType}"\n`)
  return p
}
const luaJson = luaPost('json.lua', `'${jsonBody}'`, 'application/json')
const luaJsonPipelined = path.join(tmp, 'json-pipelined.lua')
writeFileSync(
  luaJsonPipelined,
  `wrk.method = "POST"\nwrk.body = '${jsonBody}'\nwrk.headers["Content-Type"] = "application/json"\n` +
    `init = function(args)\n  local r = {}\n  for i = 1, ${PIPELINE} do r[i] = wrk.format(nil, "/json") end\n  pipelined = table.concat(r)\nend\n` +
    `request = function() return pipelined end\n`,
)
const luaUpload = luaPost('upload.lua', `string.rep("x", ${UPLOAD_KIB * 1024})`, 'application/octet-stream')

const WRK = {
  json: { path: '/json', lua: PIPELINE > 1 ? luaJsonPipelined : luaJson, connections: CONNECTIONS },
  sse: { path: '/sse', lua: luaJson, connections: CONNECTIONS },
  upload: { path: '/upload', lua: luaUpload, connections: UPLOAD_CONNECTIONS },
}

// ---- helpers
function startServer(adapter) {
  return new Promise((resolve, reject) => {
    const [cmd, args] = pinned(CPU_SERVER, [process.execPath, path.join(here, 'server.mjs'), adapter])
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, BENCH_SSE_N: String(SSE_N) },
    })
    const waiting = new Map()
    child.on('message', (m) => {
      if (m.type === 'ready') resolve({ child, port: m.port, ask })
      const w = waiting.get(m.type)
      if (w) {
        waiting.delete(m.type)
        w(m)
      }
    })
    child.once('exit', (code) => reject(new Error(`${adapter} server exited (${code})`)))
    function ask(msg, reply) {
      return new Promise((r) => {
        waiting.set(reply, r)
        child.send(msg)
      })
    }
  })
}

async function stopServer(server) {
  server.child.removeAllListeners('exit')
  const gone = new Promise((r) => server.child.once('exit', r))
  server.child.send('exit')
  await Promise.race([gone, new Promise((r) => setTimeout(r, 2000))])
  server.child.kill('SIGKILL')
}

async function sanity(port, workload) {
  const base = `http://127.0.0.1:${port}`
  if (workload === 'json') {
    const r = await fetch(base + '/json', { method: 'POST', body: jsonBody, headers: { 'content-type': 'application/json' } })
    const j = await r.json()
    if (r.status !== 200 || j.count !== 5) throw new Error(`json sanity failed: ${r.status} ${JSON.stringify(j)}`)
  } else if (workload === 'sse') {
    const r = await fetch(base + '/sse', { method: 'POST', body: jsonBody, headers: { 'content-type': 'application/json' } })
    const n = (await r.text()).split('data: ').length - 1
    if (r.status !== 200 || n !== SSE_N) throw new Error(`sse sanity failed: ${r.status}, ${n} events`)
  } else if (workload === 'upload') {
    const r = await fetch(base + '/upload', { method: 'POST', body: new Uint8Array(UPLOAD_KIB * 1024) })
    const t = await r.text()
    if (r.status !== 200 || t !== String(UPLOAD_KIB * 1024)) throw new Error(`upload sanity failed: ${r.status} ${t}`)
  }
}

function wrk(port, spec, seconds) {
  const wrkArgs = ['wrk', '-t1', `-c${spec.connections}`, `-d${Math.max(1, Math.round(seconds))}s`, '--latency', '-s', spec.lua]
  wrkArgs.push(`http://127.0.0.1:${port}${spec.path}`)
  const [cmd, args] = pinned(CPU_CLIENT, wrkArgs)
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('close', (code) => (code === 0 ? resolve(parseWrk(out)) : reject(new Error(`wrk exited ${code}\n${out}`))))
  })
}

function toMs(value, unit) {
  const v = Number(value)
  return unit === 'us' ? v / 1000 : unit === 's' ? v * 1000 : v
}

function parseWrk(out) {
  const num = (re) => {
    const m = re.exec(out)
    return m ? Number(m[1]) : 0
  }
  const lat = (pct) => {
    const m = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out)
    return m ? toMs(m[1], m[2]) : NaN
  }
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p50: lat(50),
    p99: lat(99),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors: (/Socket errors: (.*)/.exec(out) ?? [, ''])[1],
  }
}

/** A client that sends one request, reads the first bytes, then stops reading. */
function stalledClient(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('POST /stall HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}')
    })
    socket.once('data', () => {
      socket.pause()
      resolve(socket)
    })
  })
}

async function measureStall(server) {
  await server.ask('reset-stall', 'reset')
  const socket = await stalledClient(server.port)
  await new Promise((r) => setTimeout(r, STALL_SECONDS * 1000))
  const before = await server.ask('stats', 'stats')
  socket.destroy()
  await new Promise((r) => setTimeout(r, 300))
  const after = await server.ask('stats', 'stats')
  return { pulledMiB: before.stallPulled / 2 ** 20, heldMiB: before.stallHeld / 2 ** 20, cancelled: after.stallCancelled > 0, maxRSS: after.maxRSS }
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

// ---- run
const loadWorkloads = WORKLOADS.filter((w) => w in WRK)
const results = {} // workload → adapter → [round results]
const stall = {}
const started = Date.now()
console.log(
  `listener bench: node ${process.version}, ${os.cpus().length} CPUs, server on CPU ${CPU_SERVER}, wrk on CPU ${CPU_CLIENT}; ` +
    `${ROUNDS} rounds × ${DURATION}s json / ${STREAM_DURATION}s sse+upload (+${WARMUP}s warm-up each), ${CONNECTIONS} connections (upload: ${UPLOAD_CONNECTIONS}), ` +
    `SSE ${SSE_N} chunks, upload ${UPLOAD_KIB} KiB${PIPELINE > 1 ? `, json pipelined ×${PIPELINE}` : ''}${NICE === undefined ? '' : `, nice ${NICE}`}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
)
for (let round = 0; round < ROUNDS; round++) {
  const order = ADAPTERS.map((_, i) => ADAPTERS[(i + round) % ADAPTERS.length])
  for (const adapter of order) {
    const server = await startServer(adapter)
    try {
      for (const workload of loadWorkloads) {
        if (!appliesTo(adapter, workload)) continue
        await sanity(server.port, workload)
        await wrk(server.port, WRK[workload], workload === 'json' ? WARMUP : Math.max(0.5, WARMUP / 2))
        const s0 = await server.ask('stats', 'stats')
        const w = await wrk(server.port, WRK[workload], workload === 'json' ? DURATION : STREAM_DURATION)
        const s1 = await server.ask('stats', 'stats')
        const r = {
          ...w,
          cpuPerReq: w.requests ? (s1.cpuMicros - s0.cpuMicros) / w.requests : NaN,
          // Share of the window the server spent on CPU: near 100 % = the server was the bottleneck.
          busy: (s1.cpuMicros - s0.cpuMicros) / (s1.wallMicros - s0.wallMicros),
          maxRSS: s1.maxRSS,
        }
        ;((results[workload] ??= {})[adapter] ??= []).push(r)
        process.stderr.write(
          `  round ${round + 1} ${workload.padEnd(6)} ${adapter.padEnd(12)} ${r.rps.toFixed(0).padStart(7)} req/s ${r.cpuPerReq.toFixed(1).padStart(7)} µs/req ${(r.busy * 100).toFixed(0).padStart(3)}% busy` +
            (r.non2xx || r.socketErrors ? `  non2xx=${r.non2xx} ${r.socketErrors}` : '') +
            '\n',
        )
      }
      if (round === 0 && WORKLOADS.includes('stall') && appliesTo(adapter, 'stall') && adapter !== 'ours-native') {
        stall[adapter] = await measureStall(server)
      }
    } finally {
      await stopServer(server)
    }
  }
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—')
for (const workload of loadWorkloads) {
  const rows = results[workload] ?? {}
  const rawRps = median((rows.raw ?? []).map((r) => r.rps))
  const rawCpu = median((rows.raw ?? []).map((r) => r.cpuPerReq))
  const label = { json: 'small JSON (POST 140 B → JSON)', sse: `SSE (${SSE_N} chunks per stream; req = stream)`, upload: `upload (POST ${UPLOAD_KIB} KiB, body iterated)` }[workload]
  console.log(`\n### ${label}\n`)
  console.log('| adapter | req/s (median) | vs raw | p50 ms | p99 ms | server CPU µs/req | CPU vs raw | server busy | max RSS MB | per-round req/s |')
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|')
  for (const adapter of ADAPTERS) {
    const rs = rows[adapter]
    if (!rs) continue
    const rps = median(rs.map((r) => r.rps))
    const cpu = median(rs.map((r) => r.cpuPerReq))
    const errors = rs.some((r) => r.non2xx || r.socketErrors) ? ' ⚠ errors' : ''
    console.log(
      `| ${adapter} | ${fmt(rps)} | ${fmt(rps / rawRps, 2)} | ${fmt(median(rs.map((r) => r.p50)), 2)} | ${fmt(median(rs.map((r) => r.p99)), 2)} | ` +
        `${fmt(cpu, 1)} | ${fmt(cpu / rawCpu, 2)} | ${fmt(median(rs.map((r) => r.busy)) * 100)}% | ${fmt(Math.max(...rs.map((r) => r.maxRSS)) / 2 ** 20)} | ${rs.map((r) => fmt(r.rps)).join(' / ')}${errors} |`,
    )
  }
  const rawSpread = (rows.raw ?? []).map((r) => r.rps)
  if (rawSpread.length > 1) {
    const spread = (Math.max(...rawSpread) - Math.min(...rawSpread)) / median(rawSpread)
    console.log(`\nraw baseline spread across rounds: ${(spread * 100).toFixed(1)}%${spread > 0.1 ? ' (> 10%: the box was busy, rerun before trusting ratios)' : ''}`)
  }
}
if (Object.keys(stall).length) {
  console.log(`\n### stalled client (reads the first bytes, then stops for ${STALL_SECONDS} s; handler body is a pull-driven 512 MiB stream of 64 KiB chunks)\n`)
  console.log('| adapter | MiB pulled from the body | MiB held in the server process | body cancelled after the client left | max RSS MB |')
  console.log('|---|---:|---:|---|---:|')
  for (const adapter of ADAPTERS) {
    const s = stall[adapter]
    if (s) console.log(`| ${adapter} | ${fmt(s.pulledMiB, 2)} | ${fmt(s.heldMiB, 2)} | ${s.cancelled ? 'yes' : 'no'} | ${fmt(s.maxRSS / 2 ** 20)} |`)
  }
  console.log(
    '\n(MiB pulled includes what the kernel socket buffers of both ends absorbed — the raw node:http row shows that floor; ' +
      'MiB held = pulled − bytes the kernel accepted (socket.bytesWritten − socket.writableLength): what the adapter itself buffers.)',
  )
}
if (!process.argv.includes('--no-cpu')) {
  // Server-thread CPU per request, immune to who saturated which core (see cpu.mjs).
  const cpuWorkloads = WORKLOADS.filter((w) => w === 'json' || w === 'sse').join(',')
  if (cpuWorkloads) {
    // cpu.mjs's own round count (many short rounds); --rounds here counts wrk rounds.
    const [cmd, args] = pinned(CPU_SERVER, [process.execPath, path.join(here, 'cpu.mjs'), '--workloads', cpuWorkloads])
    execFileSync(cmd, args, { stdio: 'inherit' })
  }
}
if (!process.argv.includes('--no-pump')) {
  const [cmd, args] = pinned(CPU_SERVER, [process.execPath, path.join(here, 'pump.mjs'), '--streams', '10000', '--rounds', '3'])
  execFileSync(cmd, args, { stdio: 'inherit' })
}
console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(0)} s`)
