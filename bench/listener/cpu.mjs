// Server CPU per request of toNodeListener vs raw node:http, measured so that a busy machine
// cannot skew it: the server runs on the main thread, a pipelining raw-socket client on a worker
// thread, and only the main thread's CPU time is counted (process.threadCpuUsage). Variants
// alternate within every round and the table shows medians and the median of the per-round
// ratios to raw (paired). Unlike wrk's req/s, this does not depend on whether the client, the
// server or another tenant saturated a core. Many short rounds rather than a few long ones: a
// burst of load from another tenant then spoils a few pairs instead of shifting a whole median;
// the interquartile range of the per-round ratios shows how far to trust the median.
//
//   node bench/listener/cpu.mjs [--requests 10000] [--rounds 30] [--workloads json,sse]
//
// Rows: raw node:http; "promise floor" = the least any promise-based Web handler costs (a plain
// object with url/json(), no Request, FastResponse fields read directly: not a usable adapter,
// the lower bound); the same floor whose handler builds a global Response it then ignores (the
// least an adapter handed undici's Response can cost); ours with undici's Response (the global
// left alone: overrideGlobalObjects false); ours with the global Response (toNodeListener's light
// class, the default); ours with FastResponse; for SSE the native sink (a JS producer standing in for the Rust body).
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import { Worker, isMainThread, parentPort } from 'node:worker_threads'

if (!isMainThread) {
  // The client: CONNS connections, each sending DEPTH pipelined requests per write until done.
  parentPort.on('message', async ({ port, total, depth, conns, request, marker }) => {
    const batch = Buffer.from(request.repeat(depth))
    const perConn = Math.ceil(total / conns / depth)
    await Promise.all(
      Array.from(
        { length: conns },
        () =>
          new Promise((resolve) => {
            const socket = net.connect(port, '127.0.0.1')
            let sent = 0
            let got = 0
            let tail = ''
            const send = () => {
              sent++
              socket.write(batch)
            }
            socket.on('connect', send)
            socket.on('data', (d) => {
              const text = tail + d.latin1Slice()
              for (let i = text.indexOf(marker); i !== -1; i = text.indexOf(marker, i + 1)) got++
              tail = text.slice(-(marker.length - 1))
              if (got < sent * depth) return
              if (sent < perConn) send()
              else {
                socket.destroy()
                resolve()
              }
            })
          }),
      ),
    )
    parentPort.postMessage(perConn * depth * conns)
  })
} else {
  const flag = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`)
    return i === -1 ? fallback : process.argv[i + 1]
  }
  const TOTAL = Number(flag('requests', 10000))
  const ROUNDS = Number(flag('rounds', 30))
  const WORKLOADS = flag('workloads', 'json,sse').split(',')
  // undici's Response, kept before toNodeListener replaces the global one with its light class.
  const UndiciResponse = globalThis.Response
  const { toNodeListener, FastResponse, kNativeBody } = await import('../../lib/node-listener.js')

  const JSON_HEADERS = { 'content-type': 'application/json' }
  const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }
  const encoder = new TextEncoder()
  const SSE_N = 50
  const sseChunks = Array.from({ length: SSE_N }, (_, i) => encoder.encode(`data: {"type":"text-delta","id":"t1","delta":"token ${i} "}\n\n`))
  const answer = (body) => JSON.stringify({ ok: true, id: body.id, count: body.items.length })

  const jsonHandler = (Resp) => async (req) => new Resp(answer(await req.json()), { headers: JSON_HEADERS })
  function rawJson(req, res) {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const out = answer(JSON.parse(Buffer.concat(chunks).toString()))
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) })
      res.end(out)
    })
  }
  const fastJson = jsonHandler(FastResponse)
  const floorRequest = (req) => ({
    url: `http://${req.headers.host}${req.url}`,
    json: () =>
      new Promise((resolve) => {
        const chunks = []
        req.on('data', (c) => chunks.push(c))
        req.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())))
      }),
  })
  const floorSend = (res, body) => {
    res.writeHead(200, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body))])
    res.end(body)
  }
  function promiseFloor(req, res) {
    fastJson(floorRequest(req)).then((response) => floorSend(res, response._body))
  }
  // The same floor when the handler builds the global (undici) Response: the floor ignores it and
  // sends the text it was built from, so this row is what the undici constructor alone costs on
  // top of the floor — the least any adapter can cost when handed a global Response.
  function promiseFloorUndici(req, res) {
    let text
    const handler = async (request) => new UndiciResponse((text = answer(await request.json())), { headers: JSON_HEADERS })
    handler(floorRequest(req)).then(() => floorSend(res, text))
  }

  const sseStream = () => {
    let i = 0
    return new ReadableStream({ pull: (c) => (i < SSE_N ? c.enqueue(sseChunks[i++]) : c.close()) })
  }
  const nativeSource = () => {
    let i = 0
    let sink
    let stopped = false
    const run = () => {
      while (!stopped && i < SSE_N) if (!sink.write(sseChunks[i++])) return
      if (!stopped) sink.end()
    }
    return { start: (s) => ((sink = s), run()), resume: run, cancel: () => (stopped = true) }
  }
  function rawSse(req, res) {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, SSE_HEADERS)
      let i = 0
      const pump = () => {
        while (i < SSE_N) if (!res.write(sseChunks[i++])) return void res.once('drain', pump)
        res.end()
      }
      pump()
    })
  }

  const body = JSON.stringify({
    id: 'chat_0123456789',
    items: [1, 2, 3, 4, 5],
    message: { role: 'user', text: 'Hello there, how is the weather today?' },
    pad: 'x'.repeat(20),
  })
  const post = (path) =>
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  const WORKLOAD = {
    json: {
      label: 'small JSON (POST 140 B → JSON)',
      request: post('/json'),
      marker: '{"ok"',
      depth: 16,
      total: TOTAL,
      variants: {
        'raw node:http': rawJson,
        'promise floor (not an adapter)': promiseFloor,
        'promise floor + global Response built (not an adapter)': promiseFloorUndici,
        'ours, undici Response (overrideGlobalObjects: false)': toNodeListener(jsonHandler(UndiciResponse), { overrideGlobalObjects: false }),
        // Created last: this call installs the light global Response the handler then builds.
        'ours, global Response': toNodeListener(async (req) => new Response(answer(await req.json()), { headers: JSON_HEADERS })),
        'ours + FastResponse': toNodeListener(fastJson),
      },
    },
    sse: {
      label: `SSE, ${SSE_N} events per stream (req = stream)`,
      request: post('/sse'),
      marker: '0\r\n\r\n',
      depth: 2,
      total: Math.ceil(TOTAL / 8),
      variants: {
        'raw node:http (one res.write per event)': rawSse,
        'ours, WHATWG stream body': toNodeListener(async (req) => (await req.json(), new Response(sseStream(), { headers: SSE_HEADERS }))),
        'ours, native sink body': toNodeListener(async (req) => {
          await req.json()
          const res = new Response(null, { headers: SSE_HEADERS })
          res[kNativeBody] = nativeSource()
          return res
        }),
      },
    },
  }

  const worker = new Worker(new URL(import.meta.url))
  const runClient = (msg) =>
    new Promise((resolve) => {
      worker.once('message', resolve)
      worker.postMessage(msg)
    })
  const threadCpu = () => {
    const c = process.threadCpuUsage()
    return c.user + c.system
  }
  async function measure(listener, w) {
    const server = http.createServer(listener)
    server.keepAliveTimeout = 60_000
    await new Promise((r) => server.listen(0, '127.0.0.1', r))
    const cpu0 = threadCpu()
    const n = await runClient({ port: server.address().port, total: w.total, depth: w.depth, conns: 8, request: w.request, marker: w.marker })
    const cpu = (threadCpu() - cpu0) / n
    server.closeAllConnections?.()
    server.close()
    return cpu
  }

  /** Linear-interpolated quantile q ∈ [0, 1] of xs. */
  const quantile = (xs, q) => {
    const s = [...xs].sort((a, b) => a - b)
    const pos = (s.length - 1) * q
    const lo = Math.floor(pos)
    return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo)
  }
  const median = (xs) => quantile(xs, 0.5)
  console.log(
    `\n### server CPU per request, in-process (node ${process.version}; server on the main thread, pipelining client on a worker thread, ` +
      `only the server thread's CPU counted; ${ROUNDS} rounds + 1 warm-up, variants alternating; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`,
  )
  for (const name of WORKLOADS) {
    const w = WORKLOAD[name]
    const names = Object.keys(w.variants)
    const cpu = Object.fromEntries(names.map((n) => [n, []]))
    for (let round = 0; round <= ROUNDS; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length])
      for (const n of order) {
        const x = await measure(w.variants[n], w)
        if (round > 0) cpu[n].push(x)
      }
    }
    const base = cpu[names[0]]
    console.log(`\n${w.label}\n`)
    console.log(
      '| variant | server CPU µs/req (median) | min | CPU vs raw (median of per-round ratios) | ratios\' interquartile range | ' +
        'req/s vs raw when the server is the bottleneck (1 ÷ CPU ratio) |',
    )
    console.log('|---|---:|---:|---:|---:|---:|')
    for (const n of names) {
      const ratios = cpu[n].map((x, i) => x / base[i])
      const ratio = median(ratios)
      const iqr = `${quantile(ratios, 0.25).toFixed(3)}–${quantile(ratios, 0.75).toFixed(3)}`
      console.log(`| ${n} | ${median(cpu[n]).toFixed(2)} | ${Math.min(...cpu[n]).toFixed(2)} | ${ratio.toFixed(3)} | ${iqr} | ${(1 / ratio).toFixed(2)}× |`)
    }
  }
  console.log(`\n(load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`)
  await worker.terminate()
}
