// The reference head-start handler (@trigger.dev/sdk 4.8.3) against the plane: the
// browser-visible byte sequences of protocol.md §10 and the call order of §2.7.
import test from 'ava'
import { startDevPlane } from '../index.js'
import {
  browserPost,
  callOrder,
  firstTurnBody,
  helloWorld,
  mockModel,
  normaliseIds,
  oneToolCall,
  referenceServer,
} from './plane-helpers.js'

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
