// In-process cost of the two response-body paths of toNodeListener, without sockets or a client:
// (a) a WHATWG ReadableStream read with a reader (what every Response body goes through) and
// (b) the native sink (`response[kNativeBody]`), fed here by a synchronous JS fake producer.
// The fake `res` accepts every write (write() → true), so the numbers are pure per-chunk overhead.
//
//   node bench/listener/pump.mjs [--streams 20000] [--chunks 50]
import { EventEmitter } from 'node:events'
import { toNodeListener, kNativeBody } from '../../lib/node-listener.js'

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}
const STREAMS = flag('streams', 20000)
const CHUNKS = flag('chunks', 50)
const ROUNDS = flag('rounds', 5)

const encoder = new TextEncoder()
const chunks = Array.from({ length: CHUNKS }, (_, i) => encoder.encode(`data: {"type":"text-delta","delta":"token ${i} "}\n\n`))
const all = Buffer.concat(chunks)
const SSE = { 'content-type': 'text/event-stream' }

class FakeRes extends EventEmitter {
  bytes = 0
  writableFinished = false
  writableEnded = false
  headersSent = false
  destroyed = false
  writeHead() {
    this.headersSent = true
  }
  flushHeaders() {}
  write(chunk) {
    this.bytes += chunk.byteLength
    return true
  }
  end() {
    this.writableEnded = true
    this.writableFinished = true
  }
}

function fakeReq() {
  const req = new EventEmitter()
  req.method = 'GET'
  req.url = '/'
  req.headers = { host: 'bench.local' }
  req.rawHeaders = ['Host', 'bench.local']
  req.socket = {}
  req.complete = true
  req.readableEnded = false
  req.resume = () => {}
  return req
}

const webStream = () => {
  let i = 0
  return new ReadableStream({ pull: (c) => (i < CHUNKS ? c.enqueue(chunks[i++]) : c.close()) })
}

function nativeSource() {
  let i = 0
  let sink
  const run = () => {
    while (i < CHUNKS) if (!sink.write(chunks[i++])) return
    sink.end()
  }
  return { start: (s) => ((sink = s), run()), resume: run, cancel() {} }
}

const variants = {
  'web stream (reader → res.write)': toNodeListener(() => new Response(webStream(), { headers: SSE })),
  'native sink (source → sink.write)': toNodeListener(() => {
    const r = new Response(null, { headers: SSE })
    r[kNativeBody] = nativeSource()
    return r
  }),
  'native sink, one write per stream (batched)': toNodeListener(() => {
    const r = new Response(null, { headers: SSE })
    r[kNativeBody] = { start: (s) => (s.write(all), s.end()), resume() {}, cancel() {} }
    return r
  }),
  'response overhead only (no body)': toNodeListener(() => new Response(null, { headers: SSE })),
}

async function run(listener) {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < STREAMS; i++) {
    const res = new FakeRes()
    await listener(fakeReq(), res)
    if (!res.writableEnded) throw new Error('stream did not end')
  }
  return Number(process.hrtime.bigint() - t0) / STREAMS
}

const results = {}
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, listener] of Object.entries(variants)) {
    if (r === 0) await run(listener) // warm-up
    ;(results[name] ??= []).push(await run(listener))
  }
}
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1]
const base = median([...results['response overhead only (no body)']])
console.log(`\n### response body paths, in-process (${STREAMS} streams × ${CHUNKS} chunks, median of ${ROUNDS} rounds, node ${process.version})\n`)
console.log('| path | µs per stream | µs per event (minus the no-body response) |')
console.log('|---|---:|---:|')
for (const [name, xs] of Object.entries(results)) {
  const m = median([...xs])
  const perChunk = name.startsWith('response overhead') ? '—' : ((m - base) / 1000 / CHUNKS).toFixed(3)
  console.log(`| ${name} | ${(m / 1000).toFixed(2)} | ${perChunk} |`)
}
