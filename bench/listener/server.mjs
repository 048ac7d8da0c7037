// One adapter per process: `node server.mjs <adapter>`. Serves the same Web handler on every route
// (POST /json, POST /sse, POST /upload, POST /stall), reports its port over IPC and answers
// 'stats' messages with its CPU time, memory and the stall counter.
import http from 'node:http'

const adapter = process.argv[2]
const SSE_CHUNKS = Number(process.env.BENCH_SSE_N ?? 50)
const STALL_CHUNK = 64 * 1024
const STALL_TOTAL = 512 * 1024 * 1024

const encoder = new TextEncoder()
const sseChunks = Array.from({ length: SSE_CHUNKS }, (_, i) =>
  encoder.encode(`data: {"type":"text-delta","id":"t1","delta":"token ${i} "}\n\n`),
)
const stallChunk = new Uint8Array(STALL_CHUNK).fill(120)
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }
const JSON_HEADERS = { 'content-type': 'application/json' }

let stallPulled = 0
let stallCancelled = 0

function stallStream() {
  let sent = 0
  return new ReadableStream({
    pull(c) {
      if (sent >= STALL_TOTAL) return c.close()
      sent += STALL_CHUNK
      stallPulled += STALL_CHUNK
      c.enqueue(stallChunk)
    },
    cancel() {
      stallCancelled++
    },
  })
}

function sseStream() {
  let i = 0
  return new ReadableStream({
    pull(c) {
      if (i >= sseChunks.length) c.close()
      else c.enqueue(sseChunks[i++])
    },
  })
}

/** A JS stand-in for the Rust core's NativeBodySource: synchronous producer honouring pause/resume. */
function fakeNativeSource(chunks) {
  let i = 0
  let sink
  let stopped = false
  const run = () => {
    while (!stopped && i < chunks.length) {
      if (!sink.write(chunks[i++])) return
    }
    if (!stopped) sink.end()
  }
  return {
    start(s) {
      sink = s
      run()
    },
    resume: run,
    cancel() {
      stopped = true
    },
  }
}

function route(url) {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

function pathOf(req) {
  // The path parsed with string ops so handler cost stays minimal and identical across adapters.
  const url = req.url
  const start = url.indexOf('/', url.indexOf('//') + 2)
  return route(url.slice(start))
}

function makeWebHandler(Resp, { nativeSse = false, kNativeBody } = {}) {
  return async (req) => {
    const path = pathOf(req)
    if (path === '/json') {
      const body = await req.json()
      return new Resp(JSON.stringify({ ok: true, id: body.id, count: body.items.length }), { headers: JSON_HEADERS })
    }
    if (path === '/sse') {
      await req.json()
      if (nativeSse) {
        const res = new Response(null, { headers: SSE_HEADERS })
        res[kNativeBody] = fakeNativeSource(sseChunks)
        return res
      }
      return new Resp(sseStream(), { headers: SSE_HEADERS })
    }
    if (path === '/upload') {
      let n = 0
      for await (const chunk of req.body) n += chunk.byteLength
      return new Resp(String(n))
    }
    if (path === '/stall') return new Resp(stallStream())
    return new Resp('not found', { status: 404 })
  }
}

function rawListener(req, res) {
  const path = route(req.url)
  if (path === '/upload') {
    let n = 0
    req.on('data', (c) => (n += c.length))
    req.on('end', () => {
      const body = String(n)
      res.writeHead(200, { 'content-type': 'text/plain;charset=UTF-8', 'content-length': body.length })
      res.end(body)
    })
    return
  }
  if (path === '/stall') {
    let sent = 0
    res.writeHead(200)
    const pump = () => {
      while (sent < STALL_TOTAL) {
        sent += STALL_CHUNK
        stallPulled += STALL_CHUNK
        if (!res.write(stallChunk)) return void res.once('drain', pump)
      }
      res.end()
    }
    res.on('close', () => {
      if (sent < STALL_TOTAL) stallCancelled++
      sent = STALL_TOTAL
    })
    pump()
    return
  }
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString())
    if (path === '/json') {
      const out = JSON.stringify({ ok: true, id: body.id, count: body.items.length })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) })
      res.end(out)
    } else if (path === '/sse') {
      res.writeHead(200, SSE_HEADERS)
      let i = 0
      const pump = () => {
        while (i < sseChunks.length) if (!res.write(sseChunks[i++])) return void res.once('drain', pump)
        res.end()
      }
      pump()
    } else {
      res.writeHead(404)
      res.end()
    }
  })
}

async function makeListener(name) {
  switch (name) {
    case 'raw':
      return rawListener
    case 'ours':
    case 'ours-undici':
    case 'ours-fast':
    case 'ours-native': {
      const mod = await import('../../lib/node-listener.js')
      let handler
      // The handler is made after toNodeListener ran: `Response` is then the global it installed
      // (its light class), or undici's for ours-undici (overrideGlobalObjects: false).
      const listener = mod.toNodeListener((req) => handler(req), { overrideGlobalObjects: name !== 'ours-undici' })
      const Resp = name === 'ours-fast' ? mod.FastResponse : globalThis.Response
      handler = makeWebHandler(Resp, { nativeSse: name === 'ours-native', kNativeBody: mod.kNativeBody })
      return listener
    }
    case 'hono': {
      // Patches the global Response by default: the handler's `Response` is hono's fast one.
      const { getRequestListener } = await import('@hono/node-server')
      return getRequestListener((req) => makeWebHandler(globalThis.Response)(req))
    }
    case 'srvx':
    case 'srvx-fast': {
      const { toNodeHandler, FastResponse } = await import('srvx/node')
      return toNodeHandler(makeWebHandler(name === 'srvx-fast' ? FastResponse : Response))
    }
    case 'whatwg':
    case 'whatwg-fast': {
      const { createServerAdapter, Response: WResponse } = await import('@whatwg-node/server')
      return createServerAdapter(makeWebHandler(name === 'whatwg-fast' ? WResponse : Response))
    }
    case 'trigger': {
      const { chat } = await import('@trigger.dev/sdk/chat-server')
      return chat.toNodeListener(makeWebHandler(Response))
    }
    default:
      throw new Error(`unknown adapter ${name}`)
  }
}

const listener = await makeListener(adapter)
let stallSocket
const server = http.createServer((req, res) => {
  if (req.url === '/stall') stallSocket = req.socket
  return listener(req, res)
})
/** Bytes of the stall body still inside this process: pulled minus what the kernel accepted. */
function stallHeldInProcess() {
  if (!stallSocket) return 0
  return Math.max(0, stallPulled - (stallSocket.bytesWritten - stallSocket.writableLength))
}
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }))
process.on('message', (msg) => {
  if (msg === 'stats') {
    const cpu = process.cpuUsage()
    process.send({
      type: 'stats',
      cpuMicros: cpu.user + cpu.system,
      wallMicros: Number(process.hrtime.bigint() / 1000n),
      rss: process.memoryUsage().rss,
      // With --expose-gc (manual runs): memory after a full GC, i.e. what is really retained.
      memory: (globalThis.gc?.(), process.memoryUsage()),
      maxRSS: process.resourceUsage().maxRSS * 1024,
      stallPulled,
      stallHeld: stallHeldInProcess(),
      stallCancelled,
    })
  } else if (msg === 'reset-stall') {
    stallPulled = 0
    stallCancelled = 0
    stallSocket = undefined
    process.send({ type: 'reset' })
  } else if (msg === 'exit') {
    server.closeAllConnections?.()
    process.exit(0)
  }
})
process.on('disconnect', () => process.exit(0))
