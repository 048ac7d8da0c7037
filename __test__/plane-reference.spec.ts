// The reference head-start handler (@trigger.dev/sdk 4.8.3) against the plane: the
// browser-visible byte sequences of docs/protocol.md §10 and the call order of §2.7.
import test from 'ava'
import { startDevPlane } from 'chat-headstart'
import {
  browserPost,
  callOrder,
  firstTurnBody,
  helloWorld,
  mockModel,
  normaliseIds,
  oneToolCall,
  readFrames,
  referenceServer,
  stallingModel,
  twoToolCalls,
} from './plane-helpers.ts'
import { eventually, sleep } from './poll.ts'

const weatherAgent = { toolOutputs: { getWeather: { city: 'Paris', tempC: 20 } }, text: ['It is ', '20C.'] }

test('§10.1 pure-text first turn: phase 1, then turn-complete and session-state from the agent', async (t) => {
  const plane = await startDevPlane({ agent: weatherAgent })
  const server = await referenceServer(plane, () => mockModel(helloWorld))
  t.teardown(async () => {
    await server.close()
    await plane.close()
  })
  const res = await browserPost(server.url, firstTurnBody('chat-1'))
  t.is(res.status, 200)
  t.is(res.headers.get('content-type'), 'text/event-stream')
  t.is(res.headers.get('x-vercel-ai-ui-message-stream'), 'v1')
  t.is(res.headers.get('x-trigger-chat-id'), 'chat-1')
  t.truthy(res.headers.get('x-trigger-chat-access-token'))
  t.deepEqual(normaliseIds(res.frames), [
    '{"type":"start","messageId":"<M>"}',
    '{"type":"start-step"}',
    '{"type":"text-start","id":"s1"}',
    '{"type":"text-delta","id":"s1","delta":"Hello"}',
    '{"type":"text-delta","id":"s1","delta":" world"}',
    '{"type":"text-end","id":"s1"}',
    '{"type":"finish-step"}',
    '{"type":"finish","finishReason":"stop"}',
    '{"type":"trigger:turn-complete"}',
    '{"type":"trigger:session-state","lastEventId":"8"}',
  ])
  // Wire: createSession → PUT out → S2S (8 records) → handover isFinal:true → GET out from 7.
  t.deepEqual(callOrder(plane), [
    'api POST /api/v1/sessions',
    'api PUT /realtime/v1/sessions/chat-1/out',
    's2 POST /v1/streams/%2Fsessions%2Fsession_*%2Fout/records',
    'api POST /realtime/v1/sessions/chat-1/in/append',
    'api GET /realtime/v1/sessions/chat-1/out',
  ])
  const log = plane.requests()
  t.is(log[2].httpVersion, 'h2')
  t.is(log[2].headers['content-type'], 's2s/proto')
  t.is(log[4].headers['last-event-id'], '7')
  const handover = JSON.parse(log[3].body)
  t.is(handover.kind, 'handover')
  t.is(handover.isFinal, true)
  const out = plane.records('chat-1', 'out')!
  t.is(out.records.length, 9)
  t.deepEqual(out.records[8].headers?.slice(0, 1), [['trigger-control', 'turn-complete']])
})

test('§10.2 one tool call: the agent answers the handover with the tool output and step 2', async (t) => {
  const plane = await startDevPlane({ agent: weatherAgent })
  const server = await referenceServer(plane, () => mockModel(oneToolCall))
  t.teardown(async () => {
    await server.close()
    await plane.close()
  })
  const res = await browserPost(server.url, firstTurnBody('chat-2'))
  t.is(res.status, 200)
  t.deepEqual(normaliseIds(res.frames), [
    '{"type":"start","messageId":"<M>"}',
    '{"type":"start-step"}',
    '{"type":"text-start","id":"s1"}',
    '{"type":"text-delta","id":"s1","delta":"Checking."}',
    '{"type":"text-end","id":"s1"}',
    '{"type":"tool-input-start","toolCallId":"call_1","toolName":"getWeather"}',
    '{"type":"tool-input-delta","toolCallId":"call_1","inputTextDelta":"{\\"city\\":\\"Paris\\"}"}',
    '{"type":"tool-input-available","toolCallId":"call_1","toolName":"getWeather","input":{"city":"Paris"}}',
    '{"type":"finish-step"}',
    '{"type":"finish","finishReason":"tool-calls"}',
    '{"type":"start","messageId":"<M>"}',
    '{"type":"tool-output-available","toolCallId":"call_1","output":{"city":"Paris","tempC":20}}',
    '{"type":"start-step"}',
    '{"type":"text-start","id":"a1"}',
    '{"type":"text-delta","id":"a1","delta":"It is "}',
    '{"type":"text-delta","id":"a1","delta":"20C."}',
    '{"type":"text-end","id":"a1"}',
    '{"type":"finish-step"}',
    '{"type":"finish","finishReason":"stop"}',
    '{"type":"trigger:turn-complete"}',
    '{"type":"trigger:session-state","lastEventId":"19"}',
  ])
  t.deepEqual(callOrder(plane), [
    'api POST /api/v1/sessions',
    'api PUT /realtime/v1/sessions/chat-2/out',
    's2 POST /v1/streams/%2Fsessions%2Fsession_*%2Fout/records',
    'api POST /realtime/v1/sessions/chat-2/in/append',
    'api GET /realtime/v1/sessions/chat-2/out',
  ])
  const log = plane.requests()
  t.is(log[4].headers['last-event-id'], '9')
  const handover = JSON.parse(log[3].body)
  t.is(handover.isFinal, false)
  t.is(log[3].headers['x-part-id'].length, 21)
  // The createSession body carries the handover-prepare payload (§2.3).
  const create = JSON.parse(log[0].body)
  t.is(create.triggerConfig.basePayload.trigger, 'handover-prepare')
  t.deepEqual(create.triggerConfig.tags, ['chat:chat-2'])
})

test('§10.3 two tools: outputs computed by the agent hook, one per call', async (t) => {
  const seen: any[] = []
  const plane = await startDevPlane({
    agent: {
      text: ['It is ', 'mild.'],
      onTurn: async (input) => {
        seen.push(input)
        return {
          toolOutputs: Object.fromEntries(
            input.toolCalls!.map((c: any) => [c.toolCallId, { city: c.input.city, tempC: c.input.city.length }]),
          ),
        }
      },
    },
  })
  const server = await referenceServer(plane, () => mockModel(twoToolCalls))
  t.teardown(async () => {
    await server.close()
    await plane.close()
  })
  const res = await browserPost(server.url, firstTurnBody('chat-3'))
  t.deepEqual(normaliseIds(res.frames), [
    '{"type":"start","messageId":"<M>"}',
    '{"type":"start-step"}',
    '{"type":"tool-input-available","toolCallId":"call_1","toolName":"getWeather","input":{"city":"Paris"}}',
    '{"type":"tool-input-available","toolCallId":"call_2","toolName":"getWeather","input":{"city":"Rome"}}',
    '{"type":"finish-step"}',
    '{"type":"finish","finishReason":"tool-calls"}',
    '{"type":"start","messageId":"<M>"}',
    '{"type":"tool-output-available","toolCallId":"call_1","output":{"city":"Paris","tempC":5}}',
    '{"type":"tool-output-available","toolCallId":"call_2","output":{"city":"Rome","tempC":4}}',
    '{"type":"start-step"}',
    '{"type":"text-start","id":"a1"}',
    '{"type":"text-delta","id":"a1","delta":"It is "}',
    '{"type":"text-delta","id":"a1","delta":"mild."}',
    '{"type":"text-end","id":"a1"}',
    '{"type":"finish-step"}',
    '{"type":"finish","finishReason":"stop"}',
    '{"type":"trigger:turn-complete"}',
    '{"type":"trigger:session-state","lastEventId":"16"}',
  ])
  t.is(seen.length, 1)
  t.is(seen[0].kind, 'handover')
  t.is(seen[0].chatId, 'chat-3')
  t.is(seen[0].isFinal, false)
  t.deepEqual(
    seen[0].toolCalls.map((c: any) => c.toolCallId),
    ['call_1', 'call_2'],
  )
  t.is(seen[0].messageId, JSON.parse(res.frames[0]).messageId)
})

test('§10.4 browser aborts during step 1: handover-skip, the agent writes nothing', async (t) => {
  const plane = await startDevPlane()
  const server = await referenceServer(plane, () => stallingModel([{ type: 'text-start', id: 's1' }]))
  t.teardown(async () => {
    await server.close()
    await plane.close()
  })
  const abort = new AbortController()
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(firstTurnBody('chat-4')),
    signal: abort.signal,
  })
  const frames: string[] = []
  await readFrames(
    res,
    (f) => {
      frames.push(f)
      if (JSON.parse(f).type === 'text-start') abort.abort()
    },
    { signal: abort.signal },
  )
  t.deepEqual(normaliseIds(frames), [
    '{"type":"start","messageId":"<M>"}',
    '{"type":"start-step"}',
    '{"type":"text-start","id":"s1"}',
  ])
  const skipped = () => plane.requests().some((r) => r.path.endsWith('/in/append') && r.body === '{"kind":"handover-skip"}')
  t.true(await eventually(skipped, 5000, 'the handover skip'))
  await sleep(200)
  const out = plane.records('chat-4', 'out')!
  t.false(out.records.some((r) => r.headers?.some(([n]) => n === 'trigger-control')), 'agent wrote no control record')
  t.false(out.records.some((r) => r.body?.includes('"type":"finish"')), 'step 1 never finished on session.out')
  t.false(plane.requests().some((r) => r.method === 'GET' && r.path.endsWith('/out')), 'no phase 2')
})

test('§10.6a agent silent: phase 1, then EOF after the long-poll window without trigger chunks', async (t) => {
  const plane = await startDevPlane({ agent: { silent: true }, sseDefaultWaitSeconds: 1 })
  const server = await referenceServer(plane, () => mockModel(oneToolCall))
  t.teardown(async () => {
    await server.close()
    await plane.close()
  })
  const started = Date.now()
  const res = await browserPost(server.url, firstTurnBody('chat-6a'))
  t.true(Date.now() - started >= 900, 'response stayed open for the wait window')
  t.is(res.frames.length, 10)
  t.is(res.frames.at(-1), '{"type":"finish","finishReason":"tool-calls"}')
  t.false(res.raw.includes('trigger:'))
})

test('§10.6b idle timeout during step 1: abort chunk, handover-skip', async (t) => {
  const plane = await startDevPlane()
  const server = await referenceServer(
    plane,
    () =>
      stallingModel([
        { type: 'text-start', id: 's1' },
        { type: 'text-delta', id: 's1', delta: 'Hello' },
        { type: 'text-delta', id: 's1', delta: ' world' },
      ]),
    { idleTimeoutInSeconds: 1 },
  )
  t.teardown(async () => {
    await server.close()
    await plane.close()
  })
  const res = await browserPost(server.url, firstTurnBody('chat-6b'))
  t.deepEqual(normaliseIds(res.frames), [
    '{"type":"start","messageId":"<M>"}',
    '{"type":"start-step"}',
    '{"type":"text-start","id":"s1"}',
    '{"type":"text-delta","id":"s1","delta":"Hello"}',
    '{"type":"text-delta","id":"s1","delta":" world"}',
    '{"type":"abort","reason":"Error: chat.handover: idle timeout"}',
  ])
  const skipped = () => plane.requests().some((r) => r.path.endsWith('/in/append') && r.body === '{"kind":"handover-skip"}')
  t.true(await eventually(skipped, 5000, 'the handover skip'))
  // The idle timeout travels in the payload (the agent's own wait).
  t.is(JSON.parse(plane.requests()[0].body).triggerConfig.basePayload.idleTimeoutInSeconds, 1)
})

test('§10.7 createSession 4xx: HTTP 500 text/plain with the API error message, no other calls', async (t) => {
  const plane = await startDevPlane({ faults: { createSession: { status: 422, message: 'injected create failure' } } })
  const server = await referenceServer(plane, () => mockModel(helloWorld))
  t.teardown(async () => {
    await server.close()
    await plane.close()
  })
  const res = await browserPost(server.url, firstTurnBody('chat-7'))
  t.is(res.status, 500)
  t.is(res.headers.get('content-type'), 'text/plain; charset=utf-8')
  t.is(res.raw, 'injected create failure')
  t.deepEqual(callOrder(plane), ['api POST /api/v1/sessions'])
})

// Serial: ava runs it before the concurrent tests of this file, so their start-up work on this
// thread cannot delay the reference's retry timers (a 1000 ms gap once measured 3900 ms).
test.serial('§10.7 createSession 5xx: five attempts with one idempotency key, then HTTP 500', async (t) => {
  const plane = await startDevPlane({ faults: { createSession: { status: 503, message: 'down' } } })
  const server = await referenceServer(plane, () => mockModel(helloWorld))
  t.teardown(async () => {
    await server.close()
    await plane.close()
  })
  const res = await browserPost(server.url, firstTurnBody('chat-7b'))
  t.is(res.status, 500)
  t.is(res.raw, 'down')
  const log = plane.requests()
  t.is(log.length, 5)
  t.true(log.every((r) => r.path === '/api/v1/sessions'))
  t.is(new Set(log.map((r) => r.headers['x-trigger-request-idempotency-key'])).size, 1)
  const gaps = log.slice(1).map((r, i) => r.timeMs - log[i].timeMs)
  // zodfetch backoff 1000, 1600, 2560, 4096 ms (randomize off).
  for (const [i, expected] of [1000, 1600, 2560, 4096].entries()) {
    t.true(gaps[i] >= expected - 50 && gaps[i] < expected + 1000, `gap ${i} = ${gaps[i]}`)
  }
})

for (const [name, fault] of [
  ['HTTP 503 on the S2S POST', { status: 503 }],
  ['a terminal S2S error frame', { terminalStatus: 503 }],
] as const) {
  test(`§10.8 S2 write fails (${name}): normal phase 1, handover, phase 2 from seq 0`, async (t) => {
    const plane = await startDevPlane({ faults: { s2Append: fault } })
    const server = await referenceServer(plane, () => mockModel(helloWorld))
    t.teardown(async () => {
      await server.close()
      await plane.close()
    })
    const res = await browserPost(server.url, firstTurnBody('chat-8'))
    t.is(res.status, 200)
    t.deepEqual(normaliseIds(res.frames), [
      '{"type":"start","messageId":"<M>"}',
      '{"type":"start-step"}',
      '{"type":"text-start","id":"s1"}',
      '{"type":"text-delta","id":"s1","delta":"Hello"}',
      '{"type":"text-delta","id":"s1","delta":" world"}',
      '{"type":"text-end","id":"s1"}',
      '{"type":"finish-step"}',
      '{"type":"finish","finishReason":"stop"}',
      '{"type":"trigger:turn-complete"}',
      '{"type":"trigger:session-state","lastEventId":"0"}',
    ])
    const order = callOrder(plane)
    t.is(order.filter((c) => c.startsWith('s2 POST')).length, 3, order.join('\n'))
    const subscribe = plane.requests().find((r) => r.method === 'GET')!
    t.false('last-event-id' in subscribe.headers)
    t.deepEqual(order.slice(-2), ['api POST /realtime/v1/sessions/chat-8/in/append', 'api GET /realtime/v1/sessions/chat-8/out'])
  })
}

test('§10.5 browser aborts during phase 2: the agent still finishes the turn on session.out', async (t) => {
  // The agent boots slowly enough that the abort always lands before its step 2, even on a
  // loaded box (with 300 ms the reference sometimes finished the turn first).
  const plane = await startDevPlane({ agent: { ...weatherAgent, bootDelayMs: 1500 } })
  const server = await referenceServer(plane, () => mockModel(oneToolCall))
  t.teardown(async () => {
    await server.close()
    await plane.close()
  })
  const abort = new AbortController()
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(firstTurnBody('chat-5')),
    signal: abort.signal,
  })
  const frames: string[] = []
  const subscribed = () => plane.requests().some((r) => r.method === 'GET' && r.path.endsWith('/chat-5/out'))
  await readFrames(
    res,
    (f) => {
      frames.push(f)
      // Abort once the browser subscribed, or after 5 s either way.
      const abortNow = () => abort.abort()
      if (JSON.parse(f).type === 'finish') void eventually(subscribed, 5000, 'the subscription').then(abortNow, abortNow)
    },
    { signal: abort.signal },
  )
  t.is(frames.length, 10, 'phase 1 only')
  const finished = () =>
    plane.records('chat-5', 'out')!.records.some((r) => r.headers?.some(([n, v]) => n === 'trigger-control' && v === 'turn-complete'))
  t.true(await eventually(finished, 5000, 'turn-complete written unobserved'))
  t.false(plane.requests().some((r) => r.body.includes('"kind":"stop"')), 'no stop record is sent')
})
