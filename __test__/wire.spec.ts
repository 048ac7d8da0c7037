// Wire helpers: our JS API and the Rust implementations (through the private native binding)
// against the reference's own exported functions where it exports them (ai-shared.js:
// slimSubmitMessageForWire, upsertIncomingMessage), against the spec's observed bytes where it
// does not (reshapeForHandoverResume), and against the formula the API applies (metered size).
import test from 'ava'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

import {
  S2_RECORD_LIMIT,
  inAppendMeteredSize,
  reshapeForHandoverResume,
  slimSubmitMessageForWire,
  upsertIncomingMessage,
} from 'chat-headstart'
import { isRepoCheckout, privateModule } from './package.helpers.ts'
const { native } = await privateModule<typeof import('../lib/native.js')>('lib/native.js')
// The Rust helpers compared below are exports of the `testing` build (src/binding/testing/wire.rs):
// in the repo they are checked; an installed release (test:prebuilt) has them not, and there only
// the package's JS API is checked (the spec 'the testing exports …' in version.spec.ts proves which).
const rust = isRepoCheckout ? native : undefined
const rustTest = isRepoCheckout ? test : test.skip

const require = createRequire(import.meta.url)
// The reference module that defines the helpers (the package's `exports` map hides it, so load
// it by path; we only call it, never copy it).
const sdkRoot = require.resolve('@trigger.dev/sdk/package.json').replace(/package\.json$/, '')
const reference = await import(pathToFileURL(`${sdkRoot}dist/esm/v3/ai-shared.js`).href)

const enc = (value: unknown) => Buffer.from(JSON.stringify(value))
const dec = (bytes: Uint8Array) => JSON.parse(Buffer.from(bytes).toString('utf8'))

// ---------------------------------------------------------------- slimSubmitMessageForWire

const SLIM_CASES: Record<string, unknown> = {
  'missing message': undefined,
  'null message': null,
  'user message': { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'hi' }] },
  'assistant, text only': { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'hi' }], metadata: { x: 1 } },
  'assistant, no parts': { id: 'a1', role: 'assistant' },
  'assistant, pending tool': {
    id: 'a1',
    role: 'assistant',
    parts: [{ type: 'tool-x', toolCallId: 'c1', state: 'input-available', input: { q: 1 } }],
  },
  'assistant, every state': {
    id: 'a1',
    role: 'assistant',
    metadata: { big: 'x'.repeat(1000) },
    parts: [
      { type: 'step-start' },
      { type: 'reasoning', text: 'thinking', providerMetadata: { anthropic: { signature: 'sig' } } },
      { type: 'text', text: 'Checking.' },
      {
        type: 'tool-getWeather',
        toolCallId: 'c1',
        state: 'output-available',
        input: { city: 'Paris' },
        output: { tempC: 20 },
        providerExecuted: false,
        callProviderMetadata: { a: 1 },
        title: 'Weather',
        preliminary: false,
      },
      { type: 'tool-ask', toolCallId: 'c2', state: 'output-available', input: {}, output: null, approval: { id: 'p', approved: true } },
      { type: 'tool-fail', toolCallId: 'c3', state: 'output-error', input: {}, errorText: 'boom', approval: { id: 'q' } },
      { type: 'tool-fail2', toolCallId: 'c4', state: 'output-error', input: {} },
      { type: 'tool-ok', toolCallId: 'c5', state: 'approval-responded', input: {}, approval: { id: 'r', approved: true, reason: 'ok' } },
      { type: 'tool-no', toolCallId: 'c6', state: 'output-denied', input: {}, approval: { id: 's', approved: false } },
      { type: 'tool-wait', toolCallId: 'c7', state: 'approval-requested', input: {}, approval: { id: 't' } },
      { type: 'dynamic-tool', toolName: 'mcp_search', toolCallId: 'c8', state: 'output-available', input: {}, output: 'o' },
      { type: 'dynamic-tool', toolName: 42, toolCallId: 'c9', state: 'output-error', errorText: 'e' },
      { type: 'tool-later', toolCallId: 'c10', state: 'input-streaming' },
    ],
  },
  'assistant, no id': { role: 'assistant', parts: [{ type: 'tool-x', state: 'output-denied' }] },
}

for (const [name, message] of Object.entries(SLIM_CASES)) {
  test(`slimSubmitMessageForWire matches the reference: ${name}`, (t) => {
    const expected = reference.slimSubmitMessageForWire(message)
    const ours: unknown = slimSubmitMessageForWire(message as never)
    t.deepEqual(ours, expected)
    t.is(JSON.stringify(ours), JSON.stringify(expected))
    if (expected === message) t.is(ours, message, 'unchanged messages are returned as the same object')
  })
}

// ---------------------------------------------------------------- upsertIncomingMessage

test('upsertIncomingMessage matches the reference on every branch', (t) => {
  const cases = [
    { stored: [{ id: 'u1' }], trigger: 'submit-message', incomingMessages: [{ id: 'u2' }] },
    { stored: [{ id: 'u1' }], trigger: 'submit-message', incomingMessages: [{ id: 'x' }, { id: 'u1' }] },
    { stored: [{ id: 'u1' }], trigger: 'regenerate-message', incomingMessages: [{ id: 'u2' }] },
    { stored: [], trigger: 'submit-message', incomingMessages: [] },
    { stored: [{ id: 'u1' }], trigger: 'submit-message', incomingMessages: [{ text: 'no id' }] },
    { stored: [{ id: '' }], trigger: 'submit-message', incomingMessages: [{ id: '' }] },
    { stored: [], trigger: 'submit-message', incomingMessages: [null] },
  ]
  for (const { stored, trigger, incomingMessages } of cases) {
    const theirs = structuredClone(stored)
    const ours = structuredClone(stored)
    const expected = reference.upsertIncomingMessage(theirs, { trigger, incomingMessages })
    t.is(upsertIncomingMessage(ours as never[], { trigger, incomingMessages: incomingMessages as never[] }), expected)
    t.deepEqual(ours, theirs, 'stored is mutated the same way')
  }
})

// ---------------------------------------------------------------- reshapeForHandoverResume

const call = (id: string, city: string) => ({ type: 'tool-call', toolCallId: id, toolName: 'getWeather', input: { city } })

test('reshape: one call reproduces the observed §4.2 handover byte for byte (JS and Rust)', (t) => {
  const messages = [{ role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, call('call_1', 'Paris')] }]
  const observed =
    '{"kind":"handover","partialAssistantMessage":[' +
    '{"role":"assistant","content":[{"type":"text","text":"Checking."},' +
    '{"type":"tool-call","toolCallId":"call_1","toolName":"getWeather","input":{"city":"Paris"}},' +
    '{"type":"tool-approval-request","approvalId":"handover-approval-1","toolCallId":"call_1"}]},' +
    '{"role":"tool","content":[{"type":"tool-approval-response","approvalId":"handover-approval-1","approved":true}]}],' +
    '"messageId":"678AAAKUrnJvZUmk","isFinal":false}'
  const viaJs = JSON.stringify({
    kind: 'handover',
    partialAssistantMessage: reshapeForHandoverResume(messages as never),
    messageId: '678AAAKUrnJvZUmk',
    isFinal: false,
  })
  t.is(viaJs, observed)
  if (rust) t.is(Buffer.from(rust.wireHandoverBody(enc(messages), '678AAAKUrnJvZUmk', false)).toString(), observed)
  t.deepEqual(messages[0].content.length, 2, 'input not mutated')
})

test('reshape: two calls (trace 03 shape) and the pure-text final handover', (t) => {
  const messages = [{ role: 'assistant', content: [call('call_1', 'Paris'), call('call_2', 'Rome')] }]
  const expected = [
    {
      role: 'assistant',
      content: [
        call('call_1', 'Paris'),
        call('call_2', 'Rome'),
        { type: 'tool-approval-request', approvalId: 'handover-approval-1', toolCallId: 'call_1' },
        { type: 'tool-approval-request', approvalId: 'handover-approval-2', toolCallId: 'call_2' },
      ],
    },
    {
      role: 'tool',
      content: [
        { type: 'tool-approval-response', approvalId: 'handover-approval-1', approved: true },
        { type: 'tool-approval-response', approvalId: 'handover-approval-2', approved: true },
      ],
    },
  ]
  t.is(JSON.stringify(reshapeForHandoverResume(messages as never)), JSON.stringify(expected))
  if (!rust) return
  t.is(Buffer.from(rust.wireReshapeForHandoverResume(enc(messages))).toString(), JSON.stringify(expected))

  const text = [{ role: 'assistant', content: [{ type: 'text', text: 'Hello world' }] }]
  t.is(
    Buffer.from(rust.wireHandoverBody(enc(text), 'qN3uH4EBHSWh7ar1', true)).toString(),
    '{"kind":"handover","partialAssistantMessage":[{"role":"assistant","content":[{"type":"text","text":"Hello world"}]}],"messageId":"qN3uH4EBHSWh7ar1","isFinal":true}',
  )
})

rustTest('reshape: JS and Rust agree on completed results, string content, several assistants', (t) => {
  const inputs = [
    [],
    [{ role: 'assistant', content: 'plain text' }],
    [
      { role: 'assistant', content: [call('a', 'X'), call('b', 'Y')], providerOptions: { o: { k: 1 } } },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'a', toolName: 'getWeather', output: { type: 'json', value: 1 } }] },
      { role: 'assistant', content: [{ type: 'reasoning', text: 'r' }, call('c', 'Z')] },
    ],
    [
      { role: 'assistant', content: [call('done', 'X')] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'done', toolName: 'getWeather', output: { type: 'text', value: 'ok' } }] },
    ],
    [{ role: 'user', content: [call('u', 'X')] }, { role: 'tool', content: 'not an array' }],
    [{ role: 'assistant', content: [{ type: 'tool-call', toolCallId: '' }, { type: 'tool-call' }, call('quote"\\\u2028', 'é😀')] }],
  ]
  for (const messages of inputs) {
    const js = JSON.stringify(reshapeForHandoverResume(messages as never))
    const viaRust = Buffer.from(rust!.wireReshapeForHandoverResume(enc(messages))).toString()
    t.is(viaRust, js, JSON.stringify(messages))
  }
})

// ---------------------------------------------------------------- inAppendMeteredSize

/** The API's own formula, literally (§4.4): the body as the server decodes it. */
function apiMeteredSize(body: string | Uint8Array, partId: string) {
  const text = typeof body === 'string' ? Buffer.from(body, 'utf8').toString('utf8') : Buffer.from(body).toString('utf8')
  return 8 + Buffer.byteLength(JSON.stringify({ data: text, id: partId }), 'utf8')
}

test('inAppendMeteredSize equals the API formula for strings and bytes, every escape class', (t) => {
  const partId = 'V1StGXR8_Z5jdHi6B-myT'
  const bodies = [
    '',
    JSON.stringify({ kind: 'handover-skip' }),
    'quote " backslash \\ newline \n tab \t cr \r bs \b ff \f',
    'controls \u0000 \u0001 \u001f del \u007f',
    'unicode é 😀 \u2028\u2029 中文',
    'lone \ud800 surrogates \udc00 end \ud83d',
  ]
  for (const body of bodies) {
    const expected = apiMeteredSize(body, partId)
    t.is(inAppendMeteredSize(body, partId), expected, JSON.stringify(body))
    t.is(inAppendMeteredSize(Buffer.from(body, 'utf8'), partId), expected, JSON.stringify(body))
    t.is(native.wireInAppendMeteredSize(body, partId), expected)
  }
  const invalidUtf8 = Uint8Array.from([0x61, 0xff, 0xe2, 0x82, 0x62])
  t.is(inAppendMeteredSize(invalidUtf8, partId), apiMeteredSize(invalidUtf8, partId))
  // Default part id: UUID length.
  t.is(inAppendMeteredSize('x'), apiMeteredSize('x', crypto.randomUUID()))
})

test('inAppendMeteredSize at the 1,048,576 boundary with escapes', (t) => {
  t.is(S2_RECORD_LIMIT, 1_048_576)
  const partId = 'V1StGXR8_Z5jdHi6B-myT'
  const room = S2_RECORD_LIMIT - inAppendMeteredSize('', partId)
  const escapes = '"'.repeat(1000) + '\u0001'.repeat(1000) + '\n'.repeat(10)
  const exact = escapes + 'a'.repeat(room - 2000 - 6000 - 20)
  t.is(inAppendMeteredSize(exact, partId), S2_RECORD_LIMIT)
  t.is(apiMeteredSize(exact, partId), S2_RECORD_LIMIT)
  t.is(inAppendMeteredSize(Buffer.from(exact), partId), S2_RECORD_LIMIT)
  t.is(inAppendMeteredSize(exact + 'a', partId), S2_RECORD_LIMIT + 1)
  t.is(inAppendMeteredSize(exact + '\\', partId), S2_RECORD_LIMIT + 2)
  t.throws(() => inAppendMeteredSize(42 as never), { instanceOf: TypeError })
})

// ---------------------------------------------------------------- request validation (native)

rustTest('head-start request validation answers 4xx with precise messages', (t) => {
  const body = (s: string) => Buffer.from(s)
  const cases: Array<[string, string | null, string, number, string]> = [
    ['GET', 'application/json', '{}', 405, 'method GET is not allowed; the head-start endpoint accepts POST'],
    ['POST', 'text/plain', '{}', 415, 'content type "text/plain" is not supported; send the body as application/json'],
    ['POST', null, 'nope', 400, 'request body is not valid JSON: expected ident at line 1 column 2'],
    ['POST', null, '[]', 400, 'request body must be a JSON object, got an array'],
    ['POST', 'application/json', '{}', 400, 'request body is missing `chatId`'],
    ['POST', 'application/json', '{"chatId":"session_1"}', 400, '`chatId` must not start with "session_" (reserved for Trigger.dev session ids)'],
    ['POST', 'application/json', '{"chatId":"c","headStartMessages":{}}', 400, '`headStartMessages` must be an array of UI messages, got an object'],
    ['POST', 'application/json', '{"chatId":"c"}', 400, "request body is missing `headStartMessages` (the new chat's UI messages, at least the user's first one)"],
    ['POST', 'application/json', '{"chatId":"c","headStartMessages":[ ]}', 400, "`headStartMessages` is empty; a head start needs the new chat's UI messages, at least the user's first one"],
  ]
  for (const [method, contentType, text, status, error] of cases) {
    t.like(native.wireParseHeadStartRequest(method, contentType, body(text)), { status, error })
  }
  t.like(native.wireParseHeadStartRequest('POST', 'application/json', body('{"chatId":"c"}'.padEnd(30)), 20), {
    status: 413,
    error: 'request body is 30 bytes; the limit is 20 bytes',
  })
  t.like(native.wireParseHeadStartRequest('POST', 'application/json; charset=utf-8', body('{"chatId":"c-1","headStartMessages":[{"id":"u"}]}')), {
    status: 0,
    chatId: 'c-1',
    messagesJson: '[{"id":"u"}]',
  })
})

rustTest('ids have the reference shapes', (t) => {
  t.regex(native.wireGenerateId('part'), /^[A-Za-z0-9_-]{21}$/)
  t.regex(native.wireGenerateId('envelope'), /^[A-Za-z0-9_-]{7}$/)
  t.regex(native.wireGenerateId('message'), /^[0-9A-Za-z]{16}$/)
  t.regex(native.wireGenerateId('uuid'), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.throws(() => native.wireGenerateId('nope'))
})
