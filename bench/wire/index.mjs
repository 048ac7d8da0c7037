// Which implementation should the public JS wire helpers use? For each helper that takes JS
// values, time the pure-JS version against the Rust one reached through the binding (which needs
// JSON.stringify on the way in and JSON.parse on the way out), with the reference's function as
// a peer where it exports one. Run: `npm run bench -- wire` (builds the release addon with the
// `testing` feature, whose exports reach the Rust helpers, first).
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

import { inAppendMeteredSize, reshapeForHandoverResume, slimSubmitMessageForWire } from '../../index.js'
import { native } from '../../lib/native.js'

const require = createRequire(import.meta.url)
const sdkRoot = require.resolve('@trigger.dev/sdk/package.json').replace(/package\.json$/, '')
const reference = await import(pathToFileURL(`${sdkRoot}dist/esm/v3/ai-shared.js`).href)

/** Median ns per call over timed batches of ~2 ms each (after a warm-up). */
function measure(fn, input) {
  let start = process.hrtime.bigint()
  fn(input)
  const once = Math.max(1, Number(process.hrtime.bigint() - start))
  const batch = Math.max(1, Math.ceil(2_000_000 / once))
  for (let i = 0; i < batch * 3; i++) fn(input)
  const samples = []
  const deadline = performance.now() + 300
  while (samples.length < 9 || (performance.now() < deadline && samples.length < 200)) {
    start = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) fn(input)
    samples.push(Number(process.hrtime.bigint() - start) / batch)
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]
}

const rustReshape = (messages) => JSON.parse(native.wireReshapeForHandoverResume(Buffer.from(JSON.stringify(messages))).toString('utf8'))
const PART_ID = 'V1StGXR8_Z5jdHi6B-myT'
const rustMeteredString = (text) => inAppendMeteredSize(text, PART_ID) // the public helper (Rust)
/** The best pure-JS count we found: native stringify + byteLength, a loop for lone surrogates. */
function jsonStringContentLength(text) {
  if (text.isWellFormed()) return Buffer.byteLength(JSON.stringify(text)) - 2
  let length = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) {
      if (c >= 0x20) length += c === 0x22 || c === 0x5c ? 2 : 1
      else length += c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6
    } else if (c < 0x800) length += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4
      i++
    } else length += 3
  }
  return length
}
const jsMeteredString = (text) => 8 + 19 + jsonStringContentLength(text) + jsonStringContentLength(PART_ID)
const naiveMetered = (text) => 8 + Buffer.byteLength(JSON.stringify({ data: text, id: PART_ID }))

const toolPart = (i, state) => ({
  type: `tool-t${i}`,
  toolCallId: `call_${i}`,
  state,
  input: { query: 'x'.repeat(200), page: i },
  output: { rows: Array.from({ length: 20 }, (_, j) => ({ id: j, title: `row ${j}` })) },
  callProviderMetadata: { p: { k: 'v' } },
})
const assistant = (reasoningBytes) => ({
  id: 'a1',
  role: 'assistant',
  metadata: { model: 'm' },
  parts: [
    { type: 'step-start' },
    { type: 'reasoning', text: 'r'.repeat(reasoningBytes), providerMetadata: { anthropic: { signature: 's'.repeat(200) } } },
    { type: 'text', text: 'Let me check.' },
    toolPart(1, 'output-available'),
    toolPart(2, 'input-available'),
    toolPart(3, 'approval-responded'),
  ],
})
const call = (i) => ({ type: 'tool-call', toolCallId: `call_${i}`, toolName: 'search', input: { q: 'weather '.repeat(10), i } })
const responseMessages = (textBytes) => [
  { role: 'assistant', content: [{ type: 'reasoning', text: 'r'.repeat(textBytes) }, { type: 'text', text: 'Checking.' }, call(1), call(2)] },
]
const textOf = (bytes) => ('Hello "world" \\ é 😀\n'.repeat(Math.ceil(bytes / 24))).slice(0, bytes)

const rows = []
function compare(helper, inputName, input, variants) {
  const results = variants.map(([name, fn]) => [name, measure(fn, input)])
  const js = results[0][1]
  for (const [name, ns] of results) rows.push({ helper, input: inputName, variant: name, 'ns/op': Math.round(ns), 'vs JS': (ns / js).toFixed(2) })
}

for (const [name, message] of [
  ['user message (unchanged)', { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
  ['assistant, 1 KB reasoning', assistant(1_000)],
  ['assistant, 200 KB reasoning', assistant(200_000)],
]) {
  compare('slimSubmitMessageForWire', name, message, [
    ['JS (ours)', slimSubmitMessageForWire],
    ['reference', reference.slimSubmitMessageForWire],
  ])
}
for (const [name, messages] of [
  ['2 calls, small', responseMessages(100)],
  ['2 calls, 200 KB reasoning', responseMessages(200_000)],
]) {
  compare('reshapeForHandoverResume', name, messages, [
    ['JS (ours)', reshapeForHandoverResume],
    ['Rust via JSON', rustReshape],
  ])
}
// The handler's path: the glue stringifies result.response.messages once; the handover record is
// then built from bytes in Rust. Peer: reshape in JS + JSON.stringify of the record (what the
// reference does).
const handoverJs = (messages) =>
  JSON.stringify({ kind: 'handover', partialAssistantMessage: reshapeForHandoverResume(messages), messageId: 'M', isFinal: false })
const handoverRust = (messages) => native.wireHandoverBody(Buffer.from(JSON.stringify(messages)), 'M', false)
for (const [name, messages] of [
  ['2 calls, small', responseMessages(100)],
  ['2 calls, 200 KB reasoning', responseMessages(200_000)],
]) {
  compare('handover record (bytes out)', name, messages, [
    ['JS reshape + stringify', handoverJs],
    ['stringify + Rust', handoverRust],
  ])
}

const asciiJsonOf = (bytes) => JSON.stringify({ kind: 'message', payload: { text: 'The "quick" brown fox\n'.repeat(Math.ceil(bytes / 25)) } }).slice(0, bytes)
for (const [kind, size, text] of [1_000, 100_000, 1_000_000].flatMap((n) => [
  ['ASCII JSON', n, asciiJsonOf(n)],
  ['mixed UTF-8', n, textOf(n)],
])) {
  compare('inAppendMeteredSize(string)', `${size} chars, ${kind}`, text, [
    ['pure JS', jsMeteredString],
    ['Rust, string crosses (public)', rustMeteredString],
    ['JSON.stringify+byteLength', naiveMetered],
  ])
}

console.log(`wire helpers, Node ${process.version} (lower ns/op is better; "vs JS" = variant / our JS)`)
console.table(rows)
