// SSE parsing throughput, on the same chunks in the same run (interleaved rounds): the Rust core
// alone (bytes -> events counted in Rust), our public `createSseParser` and eventsource-parser 4.x,
// fed as bytes (eventsource-parser then needs a streaming TextDecoder) and fed as strings (the
// chunks decoded once, outside the timing). Prints medians and ratios.
// Run with `npm run bench -- sse` (builds the release addon first).
//
// Workloads, each fed in random 1–4 KiB chunks:
//  (a) 100k AI SDK token events `data: {"type":"text-delta","id":"t1","delta":"…"}\n\n`
//      (about 5% of the tokens non-ASCII);
//  (b) 4096 events of 4 KiB data each (JSON-ish text): every event spans one or more chunks;
//  (c) 512 events of 64 KiB data each: every event spans 16–64 chunks (the long-partial-line path).
// Plus, for (a), the native call alone (`sseFeed`, its strings, no delivery to
// JS callbacks): what the crossing costs before any event object exists; and the floor of
// parsing (a) fed as strings while turning lone surrogates into U+FFFD.
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

function bigEventWorkload(name, seed, events, size) {
  const rand = prng(seed)
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 {}":,'
  let payload = ''
  while (payload.length < size) payload += alphabet[Math.floor(rand() * alphabet.length)]
  let body = ''
  for (let i = 0; i < events; i++) body += `data: ${payload}\n\n`
  const bytes = new TextEncoder().encode(body)
  return { name, events, bytes, chunks: chunk(bytes, rand, 1024, 4096) }
}

/** The chunks as strings, decoded once (a stream's decoder keeps a split character for the next). */
function asStrings(chunks) {
  const decoder = new TextDecoder()
  return [...chunks.map((c) => decoder.decode(c, { stream: true })), decoder.decode()]
}

function ours(chunks) {
  let n = 0
  const parser = createSseParser({
    onEvent(e) {
      n += e.data.length > -1 ? 1 : 0
    },
  })
  for (const c of chunks) parser.feed(c)
  parser.end()
  return n
}

function theirs(chunks, decode) {
  let n = 0
  const parser = createParser({
    onEvent(e) {
      n += e.data.length > -1 ? 1 : 0
    },
  })
  if (decode) {
    const decoder = new TextDecoder()
    for (const c of chunks) parser.feed(decoder.decode(c, { stream: true }))
    parser.feed(decoder.decode())
  } else {
    for (const c of chunks) parser.feed(c)
  }
  return n
}

const ESP_BYTES = 'eventsource-parser 4 + TextDecoder'
const ESP_STRINGS = 'eventsource-parser 4, strings'
const contestants = {
  'Rust core (sseCountEvents)': (w) => native.sseCountEvents(w.chunks),
  'createSseParser, bytes': (w) => ours(w.chunks),
  [ESP_BYTES]: (w) => theirs(w.chunks, true),
  'createSseParser, strings': (w) => ours(w.strings),
  [ESP_STRINGS]: (w) => theirs(w.strings, false),
}

/** The native call alone: the batch string of each feed, not delivered. */
const crossing = {
  'sseFeed alone (bytes)': (w) => {
    const parser = native.sseParserNew(undefined, false, false)
    const ops = new Int32Array(1024)
    const wide = ['']
    let chars = 0
    for (const c of w.chunks) chars += native.sseFeed(parser, c, ops, wide).length
    return chars > 0 ? w.events : 0
  },
  'createSseParser, bytes': (w) => ours(w.chunks),
  [ESP_BYTES]: (w) => theirs(w.chunks, true),
}

/** Where each event's data lies: per chunk, [start, end] pairs, and the data of events split across chunks. */
function eventOffsets(strings) {
  const text = strings.join('')
  const perChunk = strings.map(() => [])
  const split = []
  let chunk = 0
  let chunkStart = 0
  for (let at = text.indexOf('data: '); at >= 0; at = text.indexOf('data: ', at + 1)) {
    const start = at + 6
    const end = text.indexOf('\n', start)
    while (start >= chunkStart + strings[chunk].length) chunkStart += strings[chunk++].length
    if (end <= chunkStart + strings[chunk].length) perChunk[chunk].push(start - chunkStart, end - chunkStart)
    else split.push(text.slice(start, end))
  }
  return { strings, offsets: perChunk.map((o) => Int32Array.from(o)), split }
}

function deliverAt({ strings, offsets, split }) {
  let n = 0
  const onEvent = (e) => {
    n += e.data.length > -1 ? 1 : 0
  }
  for (let k = 0; k < strings.length; k++) {
    const s = strings[k]
    const o = offsets[k]
    for (let i = 0; i < o.length; i += 2) onEvent({ event: 'message', data: s.slice(o[i], o[i + 1]), lastEventId: '' })
  }
  for (const data of split) onEvent({ event: 'message', data, lastEventId: '' })
  return n
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
      const n = fn(workload)
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
const workloads = [
  tokenWorkload(),
  bigEventWorkload('(b) 4096 events of 4 KiB, 1–4 KiB chunks', 3, 4096, 4 * 1024),
  bigEventWorkload('(c) 512 events of 64 KiB, 1–4 KiB chunks', 2, 512, 64 * 1024),
]
for (const w of workloads) w.strings = asStrings(w.chunks)
const summary = []
for (const workload of workloads) {
  const medians = measure(workload, contestants)
  report(workload, medians, ESP_BYTES)
  summary.push([workload.name, medians])
}

console.log('\nThe crossing alone, workload (a):')
const crossingMedians = measure(workloads[0], crossing)
for (const [name, ms] of Object.entries(crossingMedians)) {
  console.log(`  ${name.padEnd(38)} ${ms.toFixed(2).padStart(9)} ms  ${(crossingMedians[ESP_BYTES] / ms).toFixed(2)}× vs ${ESP_BYTES}`)
}

// The least a parser of strings pays on (a) when, like ours, it turns a lone surrogate into U+FFFD
// (what its UTF-8 bytes would give) while eventsource-parser keeps it: one isWellFormed pass over
// every chunk, plus each event's data sliced at offsets already known, its object and the callback.
// Events split across chunks are delivered as prepared strings, so the sum is a lower bound.
const floorEvents = eventOffsets(workloads[0].strings)
const floor = {
  'isWellFormed over the chunks': (w) => w.strings.reduce((n, s) => n + (s.isWellFormed() ? 0 : 1), 0) + w.events,
  'slice + event + callback at known offsets': () => deliverAt(floorEvents),
  [ESP_STRINGS]: (w) => theirs(w.strings, false),
}
const floorMedians = measure(workloads[0], floor)
const floorSum = floorMedians['isWellFormed over the chunks'] + floorMedians['slice + event + callback at known offsets']
console.log('\nThe floor of strings, workload (a):')
for (const [name, ms] of Object.entries(floorMedians)) console.log(`  ${name.padEnd(42)} ${ms.toFixed(2).padStart(9)} ms`)
console.log(
  `  the two together ${floorSum.toFixed(2)} ms: a parser keeping the U+FFFD rule reaches at most ` +
    `${(floorMedians[ESP_STRINGS] / floorSum).toFixed(2)}× ${ESP_STRINGS}`,
)

console.log('\nRatios (speed-up vs eventsource-parser fed the same way; targets: bytes (a) ≥ 1.5×, strings and (b) ≥ 1.0×):')
for (const [name, m] of summary) {
  console.log(
    `  ${name}: Rust core ${(m[ESP_BYTES] / m['Rust core (sseCountEvents)']).toFixed(2)}×, ` +
      `JS API bytes ${(m[ESP_BYTES] / m['createSseParser, bytes']).toFixed(2)}×, ` +
      `JS API strings ${(m[ESP_STRINGS] / m['createSseParser, strings']).toFixed(2)}×`,
  )
}
console.log(`(load average at the end: ${load()}; on a shared machine read the ratios, not the absolute times)`)
