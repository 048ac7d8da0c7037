// chat.headStart failure scenarios of docs/protocol.md §10 against the local plane, side by side with
// the reference where the behaviour is meant to be identical, and our deliberate differences
// (docs/protocol.md §6.7) where it is not.
import test from 'ava'
import { startDevPlane } from 'chat-headstart'
import {
  finishPart,
  firstTurnBody,
  mockModel,
  normaliseChunks,
  oneToolCall,
  textParts,
  turnThrough,
  weatherTools,
  type LoggedRequestLike,
  type StreamPart,
} from './headstart.helpers.ts'
import { eventually, sleep } from './poll.ts'

// The secret key must never be logged: every console line of this file is checked for it at the end.
const logged: string[] = []
for (const level of ['log', 'warn', 'error', 'info'] as const) {
  const original = console[level]
  console[level] = (...args: unknown[]) => {
    logged.push(args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' '))
    original(...args)
  }
}

const SECRET = 'tr_dev_headstart_spec_SECRET_KEY_1234567890'
const weatherAgent = { toolOutputs: { getWeather: { city: 'Paris', tempC: 20 } }, text: ['It is ', '20C.'] }

async function freshPlane(options: Record<string, unknown> = {}) {
  return startDevPlane({ secretKey: SECRET, agent: weatherAgent, ...options } as any)
}

const responses: string[] = []
function remember<T extends { result: { text: string; headers: Record<string, string> } }>(r: T): T {
  responses.push(r.result.text, JSON.stringify(r.result.headers))
  return r
}

function run(parts: StreamPart[], { tools = false, initialDelayInMs = 0, chunkDelayInMs = 0 } = {}) {
  return async ({ streamText }: any) =>
    streamText({ model: mockModel(parts, { initialDelayInMs, chunkDelayInMs }), ...(tools ? { tools: await weatherTools() } : {}) })
}

const inAppends = (raw: LoggedRequestLike[], chatId: string) =>
  raw.filter((r) => r.origin === 'api' && r.path === `/realtime/v1/sessions/${chatId}/in/append`).map((r) => r.body)

const types = (chunks: any[]) => chunks.map((c) => c.type)

test.serial('§10.4 browser aborts during step 1: handover-skip, same requests as the reference', async (t) => {
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  const slow = { run: run(textParts(Array.from({ length: 30 }, (_, i) => `w${i} `)), { chunkDelayInMs: 50 }) }
  const abortAfter = (chunks: any[]) => chunks.some((c) => c.type === 'text-delta')
  const ref = await turnThrough('ref', plane, 'ref-abort1', slow, { abortAfter, settleMs: 800 })
  const ours = remember(await turnThrough('ours', plane, 'our-abort1', slow, { abortAfter, settleMs: 800 }))
  t.deepEqual(inAppends(ours.raw, 'our-abort1'), ['{"kind":"handover-skip"}'])
  t.deepEqual(inAppends(ref.raw, 'ref-abort1'), ['{"kind":"handover-skip"}'])
  t.false(ours.raw.some((r) => r.method === 'GET'), 'no phase-2 subscription after an abort')
})

test.serial('§10.5 browser aborts during phase 2: the subscription closes, the agent finishes unobserved', async (t) => {
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  plane.setAgent({ bootDelayMs: 1500 })
  const abortAfter = (chunks: any[]) => chunks.some((c) => c.type === 'finish')
  const ours = remember(await turnThrough('ours', plane, 'our-abort2', { run: run(oneToolCall, { tools: true }) }, { abortAfter }))
  t.is(types(ours.result.chunks).at(-1), 'finish')
  // The handover goes out after step 1's last record is acked, which can be after the abort.
  await eventually(() => inAppends(plane.requests(), 'our-abort2').length > 0)
  t.is(inAppends(plane.requests(), 'our-abort2').length, 1)
  // The agent still completes the turn on session.out (no stop is sent), as with the reference.
  await eventually(() =>
    plane.records('our-abort2', 'out')?.records.some((r: any) => r.headers?.some((h: string[]) => h[1] === 'turn-complete')),
  )
  t.pass()
})

test.serial('§10.6a agent silent: ours ends phase 2 with an error chunk after handoverTimeoutInSeconds', async (t) => {
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  plane.setAgent({ silent: true })
  const t0 = Date.now()
  const ours = remember(
    await turnThrough('ours', plane, 'our-silent', { run: run(oneToolCall, { tools: true }), handoverTimeoutInSeconds: 1 }),
  )
  const last = ours.result.chunks.at(-1)
  t.is(last.type, 'error')
  t.regex(last.errorText, /wrote nothing to session\.out for 1 s/)
  t.false(types(ours.result.chunks).includes('trigger:turn-complete'))
  t.true(Date.now() - t0 < 10_000)
})

test.serial('§10.6b idle timeout during step 1: abort chunk + handover-skip like the reference', async (t) => {
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  const slow = { run: run(textParts(['Hello', ' world', ' a', ' b', ' c', ' d']), { chunkDelayInMs: 400 }), idleTimeoutInSeconds: 1 }
  const ref = await turnThrough('ref', plane, 'ref-idle', slow, { settleMs: 300 })
  const ours = remember(await turnThrough('ours', plane, 'our-idle', slow, { settleMs: 300 }))
  t.deepEqual(normaliseChunks(ours.result.chunks), normaliseChunks(ref.result.chunks))
  t.deepEqual(ours.result.chunks.at(-1), { type: 'abort', reason: 'Error: chat.handover: idle timeout' })
  t.deepEqual(inAppends(ours.raw, 'our-idle'), ['{"kind":"handover-skip"}'])
  t.deepEqual(ours.requests.map((r) => `${r.method} ${r.path}`), ref.requests.map((r) => `${r.method} ${r.path}`))
})

test.serial('§10.7 createSession 4xx: one attempt, no other call; JSON 502 naming the API error', async (t) => {
  const plane = await freshPlane({ faults: { createSession: { status: 422, message: 'injected create failure' } } })
  t.teardown(() => plane.close())
  const ref = await turnThrough('ref', plane, 'ref-c422', { run: run(textParts()) })
  const ours = remember(await turnThrough('ours', plane, 'our-c422', { run: run(textParts()) }))
  t.is(ref.result.status, 500)
  t.is(ours.result.status, 502)
  t.is(ours.result.headers['content-type'], 'application/json')
  t.deepEqual(JSON.parse(ours.result.text), { error: 'Trigger.dev createSession failed: injected create failure' })
  t.deepEqual(ours.requests, ref.requests)
  t.is(ours.requests.length, 1)
})

test.serial('§10.7 createSession 5xx: 5 attempts with one idempotency key, like the reference', async (t) => {
  const plane = await freshPlane({ faults: { createSession: { status: 503 } } })
  t.teardown(() => plane.close())
  const ref = await turnThrough('ref', plane, 'ref-c503', { run: run(textParts()) })
  const ours = remember(await turnThrough('ours', plane, 'our-c503', { run: run(textParts()) }))
  t.is(ours.result.status, 502)
  t.deepEqual(ours.requests, ref.requests)
  t.is(ours.requests.length, 5)
  const keys = new Set(ours.raw.filter((r) => r.path === '/api/v1/sessions').map((r) => r.headers['x-trigger-request-idempotency-key']))
  t.is(keys.size, 1)
})

test.serial('§10.8 S2 write fails (HTTP 503 ×3): normal phase 1, phase 2 from seq 0, same chunks as the reference', async (t) => {
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  plane.setFaults({ s2Append: { status: 503, times: 3 } })
  const ref = await turnThrough('ref', plane, 'ref-s2', { run: run(oneToolCall, { tools: true }) })
  plane.setFaults({ s2Append: { status: 503, times: 3 } })
  const ours = remember(await turnThrough('ours', plane, 'our-s2', { run: run(oneToolCall, { tools: true }) }))
  t.deepEqual(normaliseChunks(ours.result.chunks), normaliseChunks(ref.result.chunks))
  const get = ours.raw.find((r) => r.method === 'GET')!
  t.false('last-event-id' in get.headers)
  t.true(logged.some((l) => l.includes('session.out write failed') && l.includes('our-s2')))
})

test.serial('ours: writer failure after an acked prefix resumes after the last acked seq, no duplicates', async (t) => {
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  // The first S2S session acks one frame then fails; every recovery session after it fails at
  // once → the writer gives up with a persisted prefix (the reference would replay it from seq 0).
  plane.setFaults({
    s2Append: { terminalStatus: 503, afterFrames: 1, times: 1, then: { status: 503, times: 10 } },
  })
  const ours = remember(
    await turnThrough('ours', plane, 'our-s2b', { run: run(oneToolCall, { tools: true, chunkDelayInMs: 30 }) }),
  )
  const chunks = ours.result.chunks
  const split = chunks.findIndex((c) => c.type === 'finish') + 1
  t.deepEqual(types(chunks.slice(0, split)), [
    'start', 'start-step', 'text-start', 'text-delta', 'text-end', 'tool-input-start', 'tool-input-delta',
    'tool-input-available', 'finish-step', 'finish',
  ])
  // Phase 2 carries exactly the agent's output: none of the persisted step-1 records again.
  t.deepEqual(types(chunks.slice(split)), [
    'start', 'tool-output-available', 'start-step', 'text-start', 'text-delta', 'text-delta', 'text-end',
    'finish-step', 'finish', 'trigger:turn-complete', 'trigger:session-state',
  ])
  t.is(types(chunks).at(-2), 'trigger:turn-complete')
  const get = ours.raw.find((r) => r.method === 'GET')!
  const persisted = plane.records('our-s2b', 'out')!.records
  t.truthy(get.headers['last-event-id'], 'resumed after the acked prefix, not from 0')
  t.true(Number(get.headers['last-event-id']) < persisted.length)
})

test.serial('§10.9 run() throws: ours sends handover-skip and answers a JSON 500 without the message', async (t) => {
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  const boom = {
    run: async () => {
      throw new Error('internal detail: db password is hunter2')
    },
  }
  const ref = await turnThrough('ref', plane, 'ref-throw', boom, { settleMs: 300 })
  const ours = remember(await turnThrough('ours', plane, 'our-throw', boom, { settleMs: 300 }))
  t.is(ref.result.status, 500)
  t.regex(ref.result.text, /hunter2/)
  t.deepEqual(inAppends(ref.raw, 'ref-throw'), [])
  t.is(ours.result.status, 500)
  t.is(ours.result.headers['content-type'], 'application/json')
  t.notRegex(ours.result.text, /hunter2/)
  t.truthy(JSON.parse(ours.result.text).error)
  t.deepEqual(inAppends(ours.raw, 'our-throw'), ['{"kind":"handover-skip"}'])
  t.true(logged.some((l) => l.includes('hunter2')), 'the message is logged instead')
})

test.serial('§10.10 provider error in step 1: identical chunks, handover isFinal with the partial', async (t) => {
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  const parts: StreamPart[] = [
    { type: 'text-start', id: 's1' },
    { type: 'text-delta', id: 's1', delta: 'Hel' },
    { type: 'error', error: new Error('provider exploded') },
    finishPart('error'),
  ]
  const ref = await turnThrough('ref', plane, 'ref-perr', { run: run(parts) })
  const ours = remember(await turnThrough('ours', plane, 'our-perr', { run: run(parts) }))
  t.deepEqual(normaliseChunks(ours.result.chunks), normaliseChunks(ref.result.chunks))
  t.true(types(ours.result.chunks).includes('error'))
  t.deepEqual(ours.requests, ref.requests)
  t.true(JSON.parse(inAppends(ours.raw, 'our-perr')[0]).isFinal)
})

test.serial('§10.11 handover rejected with 413: skip, phase 1 only, like the reference', async (t) => {
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  plane.setFaults({ inAppend: { status: 413, message: 'too large', times: 1 } })
  const ref = await turnThrough('ref', plane, 'ref-413', { run: run(oneToolCall, { tools: true }) }, { settleMs: 200 })
  plane.setFaults({ inAppend: { status: 413, message: 'too large', times: 1 } })
  const ours = remember(await turnThrough('ours', plane, 'our-413', { run: run(oneToolCall, { tools: true }) }, { settleMs: 200 }))
  t.deepEqual(normaliseChunks(ours.result.chunks), normaliseChunks(ref.result.chunks))
  t.is(types(ours.result.chunks).at(-1), 'finish')
  t.deepEqual(ours.requests, ref.requests)
  t.is(inAppends(ours.raw, 'our-413').at(-1), '{"kind":"handover-skip"}')
})

test.serial('§10.12 phase-2 subscription 404: an error chunk names it (the reference ends silently)', async (t) => {
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  plane.setFaults({ sse: { status: 404 } })
  const ref = await turnThrough('ref', plane, 'ref-404', { run: run(oneToolCall, { tools: true }) })
  const ours = remember(await turnThrough('ours', plane, 'our-404', { run: run(oneToolCall, { tools: true }) }))
  t.is(types(ref.result.chunks).at(-1), 'finish')
  const ourTypes = types(ours.result.chunks)
  t.deepEqual(ourTypes.slice(0, -1), types(ref.result.chunks))
  t.is(ourTypes.at(-1), 'error')
  t.regex(ours.result.chunks.at(-1).errorText, /404/)
})

test.serial('ours: bad input gets 400/413/415/405 JSON and creates no session', async (t) => {
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  const { chat } = await import('chat-headstart')
  const handler = chat.headStart({ agentId: 'exp-agent', apiClient: plane.apiClient as any, run: run(textParts()), maxBodyBytes: 2048 })
  plane.clearRequests()
  const post = (body: BodyInit | null, headers: Record<string, string> = { 'content-type': 'application/json' }, method = 'POST') =>
    handler(new Request('http://x/api/chat', { method, headers, body }))
  const cases: Array<[Promise<Response>, number]> = [
    [post('not json'), 400],
    [post(JSON.stringify({ headStartMessages: [] })), 400],
    [post(JSON.stringify({ chatId: '' })), 400],
    [post(JSON.stringify({ chatId: 'x'.repeat(257) })), 400],
    [post(JSON.stringify({ chatId: 'a\u0001b' })), 400],
    [post(JSON.stringify({ chatId: 'session_abc' })), 400],
    [post(JSON.stringify({ chatId: 'c', headStartMessages: {} })), 400],
    [post(JSON.stringify({ chatId: 'c' })), 400],
    [post(JSON.stringify({ chatId: 'c', headStartMessages: [] })), 400],
    [post(JSON.stringify({ chatId: 'c', headStartMessages: [{ role: 'nope' }] })), 400],
    [post(JSON.stringify({ chatId: 'c', pad: 'x'.repeat(4096) })), 413],
    [post('{"chatId":"c"}', { 'content-type': 'text/plain' }), 415],
    [post(null, {}, 'GET'), 405],
  ]
  for (const [pending, status] of cases) {
    const res = await pending
    t.is(res.status, status)
    t.is(res.headers.get('content-type'), 'application/json')
    const body = await res.json()
    t.is(typeof body.error, 'string')
    t.true(body.error.length > 0)
  }
  t.deepEqual(plane.requests(), [], 'nothing reached the Trigger API')
  // The reference reads missing messages as [] and creates the session (booting the agent) before
  // streamText fails on them; here they are bad input like the rest.
  t.like(await (await post(JSON.stringify({ chatId: 'c', headStartMessages: [] }))).json(), {
    error: "`headStartMessages` is empty; a head start needs the new chat's UI messages, at least the user's first one",
  })
  t.like(await (await post(JSON.stringify({ chatId: 'c', headStartMessages: null }))).json(), {
    error: "request body is missing `headStartMessages` (the new chat's UI messages, at least the user's first one)",
  })
  await t.throwsAsync(
    chat.startHeadStart({ agentId: 'exp-agent', apiClient: plane.apiClient as any, chatId: 'c', messages: [], run: run(textParts()) }),
    { message: "`messages` is empty; a head start needs the new chat's UI messages, at least the user's first one" },
  )
  t.deepEqual(plane.requests(), [], 'still nothing reached the Trigger API')
})

test.serial('ours: run() starts while createSession is still in flight', async (t) => {
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  plane.setFaults({ createSession: { delayMs: 600 } })
  let modelCalledAt = 0
  const t0 = performance.now()
  const ours = remember(
    await turnThrough('ours', plane, 'our-concurrent', {
      run: async ({ streamText }: any) => {
        modelCalledAt = performance.now() - t0
        return streamText({ model: mockModel(textParts(), { initialDelayInMs: 600 }) })
      },
    }),
  )
  t.is(ours.result.status, 200)
  t.true(modelCalledAt < 500, `run() began ${modelCalledAt.toFixed(0)} ms in, before createSession returned`)
  t.deepEqual(types(ours.result.chunks).slice(0, 3), ['start', 'start-step', 'text-start'])
  // Step-1 chunks produced before the session existed still reached session.out.
  t.true(plane.records('our-concurrent', 'out')!.records.length >= 8)
})

test.serial('ours: a step 1 that ends before createSession returns arms no idle timeout for phase 2', async (t) => {
  // The idle timeout bounds step 1 only. Here step 1 is over before the session exists, and
  // phase 2 (slow agent boot) outlasts idleTimeoutInSeconds: run()'s signal must stay unaborted.
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  plane.setFaults({ createSession: { delayMs: 400 } })
  plane.setAgent({ bootDelayMs: 1600 })
  let signal: AbortSignal | undefined
  const ours = remember(
    await turnThrough('ours', plane, 'our-early-step1', {
      run: async (args: any) => {
        signal = args.signal
        return run(oneToolCall, { tools: true })(args)
      },
      idleTimeoutInSeconds: 1,
    }),
  )
  t.is(ours.result.status, 200)
  t.true(ours.result.totalMs > 1500, `phase 2 lasted past the idle timeout (${ours.result.totalMs.toFixed(0)} ms)`)
  t.is(types(ours.result.chunks).at(-2), 'trigger:turn-complete')
  t.false(signal!.aborted, `run()'s signal was aborted: ${signal!.reason}`)
})

test.serial('ours: no linger — step-1 records reach session.out while step 1 still streams', async (t) => {
  // With a 1.5 s linger the reference holds its first batch until the timer or the end of step 1;
  // ours sends each batch as soon as the previous one is acked.
  const plane = await freshPlane({ flushIntervalMs: 1500 })
  t.teardown(() => plane.close())
  const slow = { run: run(textParts(Array.from({ length: 12 }, (_, i) => `w${i} `)), { chunkDelayInMs: 80 }) }
  const persistedMidway = async (kind: 'ref' | 'ours', chatId: string) => {
    let seen = -1
    const r = await turnThrough(kind, plane, chatId, slow, {
      onChunks: (chunks) => {
        if (seen < 0 && chunks.filter((c) => c.type === 'text-delta').length >= 8) {
          seen = plane.records(chatId, 'out')?.records.length ?? 0
        }
      },
    })
    return { r, seen }
  }
  const ref = await persistedMidway('ref', 'ref-linger')
  const ours = await persistedMidway('ours', 'our-linger')
  remember(ours.r)
  t.deepEqual(normaliseChunks(ours.r.result.chunks), normaliseChunks(ref.r.result.chunks))
  t.is(ref.seen, 0, 'the reference had persisted nothing yet (linger)')
  t.true(ours.seen >= 8, `ours had persisted ${ours.seen} records`)
})

test.serial('ours: SSE comment keep-alives while phase 2 waits', async (t) => {
  const plane = await freshPlane()
  t.teardown(() => plane.close())
  plane.setAgent({ bootDelayMs: 900 })
  const ours = remember(
    await turnThrough('ours', plane, 'our-keepalive', { run: run(oneToolCall, { tools: true }), keepAliveIntervalMs: 200 }),
  )
  t.true(ours.result.comments.length >= 2, `${ours.result.comments.length} keep-alives`)
  t.true(ours.result.comments.every((c) => c === ': keep-alive'))
  t.is(types(ours.result.chunks).at(-2), 'trigger:turn-complete')
})

test.serial('ours: the secret key never appears in a response or a log line', async (t) => {
  t.true(responses.length > 10)
  for (const r of responses) t.false(r.includes(SECRET))
  for (const l of logged) t.false(l.includes(SECRET), l)
  await sleep(0)
})
