// SSE parsing throughput: the Rust core (bytes -> events counted in Rust), our JS API
// (createSseParser) and eventsource-parser 4.x with TextDecoder, on the same chunks in the same
// run. Prints medians and ratios. Run with `npm run bench -- sse` (builds the release addon first).
//
// Workloads:
//  (a) 100k AI SDK token events `data: {"type":"text-delta","id":"t1","delta":"…"}\n\n`
//      (about 5% of the tokens non-ASCII), fed in random 1–4 KiB chunks;
//  (b) 512 events of 64 KiB data each (JSON-ish text), fed in random 1–4 KiB chunks, so every
//      event spans 16–64 chunks (the long-partial-line path).
// Plus the packing measurement behind the JS API's design: events of a feed returned as one
// packed string (what `feed` does) vs as an array of one string per event.
import { createParser } from 'eventsource-parser'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { createSseParser } from '../../index.js'

const require = createRequire(import.meta.url)
const native = require('../../binding.cjs')

const ROUNDS = Number(process.env.SSE_BENCH_ROUNDS ?? 15)
const WARMUP = 3

/** Deterministic PRNG so every run measures the same bytes. */
function prng(seed) {
  let s = seed >>> 0
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296
  }
}

function chunk(bytes, rand, min, max) {
  const chunks = []
  for (let i = 0; i < bytes.length; ) {
    const size = min + Math.floor(rand() * (max - min + 1))
    chunks.push(bytes.subarray(i, i + size))
    i += size
  }
  return chunks
}

function tokenWorkload() {
  const rand = prng(1)
  const words = ['the', ' model', ' said', ' hello', ',', ' world', '!', ' streaming', ' tokens', ' quickly', '\\n', ' "quoted"']
  const unicode = [' café', ' 東京', ' 😀', ' naïve', ' Ελλάδα']
  let body = ''
  for (let i = 0; i < 100_000; i++) {
    const delta = rand() < 0.05 ? unicode[Math.floor(rand() * unicode.length)] : words[Math.floor(rand() * words.length)]
    body += `data: {"type":"text-delta","id":"t1","delta":"${delta}"}\n\n`
  }
  const bytes = new TextEncoder().encode(body)
  return { name: '(a) 100k token events, 1–4 KiB chunks', events: 100_000, bytes, chunks: chunk(bytes, rand, 1024, 4096) }
}

function bigEventWorkload() {
  const rand = prng(2)
  const events = 512
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 {}":,'
  let payload = ''
  while (payload.length < 64 * 1024) payload += alphabet[Math.floor(rand() * alphabet.length)]
  let body = ''
  for (let i = 0; i < events; i++) body += `data: ${payload}\n\n`
  const bytes = new TextEncoder().encode(body)
  return { name: '(b) 512 events of 64 KiB, 1–4 KiB chunks', events, bytes, chunks: chunk(bytes, rand, 1024, 4096) }
}

const contestants = {
  'Rust core (sseCountEvents)': (chunks) => native.sseCountEvents(chunks),
  'createSseParser (JS API)': (chunks) => {
    let n = 0
    const parser = createSseParser({
      onEvent(e) {
        n += e.data.length > -1 ? 1 : 0
      },
    })
    for (const c of chunks) parser.feed(c)
    parser.end()
    return n
  },
  'eventsource-parser 4 + TextDecoder': (chunks) => {
    let n = 0
    const parser = createParser({
      onEvent(e) {
        n += e.data.length > -1 ? 1 : 0
      },
    })
    const decoder = new TextDecoder()
    for (const c of chunks) parser.feed(decoder.decode(c, { stream: true }))
    parser.feed(decoder.decode())
    return n
  },
}

const packings = {
  'packed string per feed (feed)': (chunks) => {
    let n = 0
    const parser = createSseParser({
      onEvent(e) {
        n += e.data.length > -1 ? 1 : 0
      },
    })
    for (const c of chunks) parser.feed(c)
    return n
  },
  // Same events and callbacks, but the native call returns an array with one string per event.
  'string array per feed (feedDataArray)': (chunks) => {
    let n = 0
    const onEvent = (e) => {
      n += e.data.length > -1 ? 1 : 0
    }
    const parser = new native.NativeSseParser(undefined, false, false)
    for (const c of chunks) {
      const datas = parser.feedDataArray(c)
      for (let i = 0; i < datas.length; i++) onEvent({ event: 'message', data: datas[i], lastEventId: '' })
    }
    return n
  },
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** Runs every contestant round-robin (so machine noise hits all alike); returns median ms each. */
function measure(workload, fns) {
  const times = Object.fromEntries(Object.keys(fns).map((k) => [k, []]))
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (const [name, fn] of Object.entries(fns)) {
      globalThis.gc?.()
      const t0 = performance.now()
      const n = fn(workload.chunks)
      const ms = performance.now() - t0
      if (n !== workload.events) throw new Error(`${name} counted ${n} events, expected ${workload.events}`)
      if (round >= WARMUP) times[name].push(ms)
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]))
}

function report(workload, medians, baseline) {
  const mib = workload.bytes.length / 1024 / 1024
  console.log(`\n${workload.name}: ${workload.events} events, ${mib.toFixed(1)} MiB, ${workload.chunks.length} chunks; median of ${ROUNDS}`)
  const base = medians[baseline]
  for (const [name, ms] of Object.entries(medians)) {
    const ratio = base / ms
    console.log(
      `  ${name.padEnd(38)} ${ms.toFixed(2).padStart(9)} ms  ${(mib / (ms / 1000)).toFixed(0).padStart(6)} MiB/s  ${((workload.events / ms) * 1000 / 1e6).toFixed(2).padStart(6)} M events/s  ${ratio.toFixed(2)}× vs ${baseline}`,
    )
  }
}

const load = () => loadavg().map((l) => l.toFixed(1)).join(' ')
console.log(`Node ${process.version}; eventsource-parser ${require('eventsource-parser/package.json').version}; load average ${load()}`)
const workloads = [tokenWorkload(), bigEventWorkload()]
const summary = []
for (const workload of workloads) {
  const medians = measure(workload, contestants)
  report(workload, medians, 'eventsource-parser 4 + TextDecoder')
  summary.push([workload.name, medians])
}

console.log('\nPacking of a feed\'s events across the boundary (workload (a)):')
const packingMedians = measure(workloads[0], packings)
for (const [name, ms] of Object.entries(packingMedians)) console.log(`  ${name.padEnd(38)} ${ms.toFixed(2).padStart(9)} ms`)

console.log('\nRatios (speed-up vs eventsource-parser 4 + TextDecoder; target: Rust core ≥ 3×):')
for (const [name, m] of summary) {
  const esp = m['eventsource-parser 4 + TextDecoder']
  console.log(
    `  ${name}: Rust core ${(esp / m['Rust core (sseCountEvents)']).toFixed(2)}×, JS API ${(esp / m['createSseParser (JS API)']).toFixed(2)}×`,
  )
}
console.log(`(load average at the end: ${load()}; on a shared machine read the ratios, not the absolute times)`)
