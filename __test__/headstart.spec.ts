// chat.headStart end to end against the local session plane, side by side with the reference
// (@trigger.dev/sdk 4.8.3 chat.headStart + its own toNodeListener): identical browser-visible
// chunks (ids normalised) and identical outbound Trigger API requests (docs/protocol.md §10, §2.7).
import test from 'ava'
import { chat as refChat } from '@trigger.dev/sdk/chat-server'
import { chat, startDevPlane } from 'chat-headstart'
import {
  firstTurnBody,
  mockModel,
  normaliseChunks,
  normaliseRequests,
  oneToolCall,
  postTurn,
  serve,
  textParts,
  twoToolCalls,
  weatherTools,
  type StreamPart,
} from './headstart.helpers.ts'
import { privateModule } from './package.helpers.ts'
import { headStartTransport, readAll } from './plane-helpers.ts'

const { kNativeBody } = await privateModule<typeof import('../lib/node-listener.js')>('lib/node-listener.js')
const plane = await startDevPlane()
test.after.always(() => plane.close())

let counter = 0
function chatIds(name: string) {
  counter += 1
  // Same length for both so normalised bodies compare byte for byte.
  return { ref: `ref-${name}-${counter}`, ours: `our-${name}-${counter}` }
}

interface Side {
  run: (args: any) => any
  options?: Record<string, unknown>
}

async function turnWith(kind: 'ref' | 'ours', chatId: string, side: Side) {
  const opts = { agentId: 'exp-agent', apiClient: plane.apiClient, run: side.run, ...side.options }
  const listener =
    kind === 'ref' ? refChat.toNodeListener(refChat.headStart(opts as any)) : chat.toNodeListener(chat.headStart(opts as any))
  const server = await serve(listener as any)
  try {
    plane.clearRequests()
    const result = await postTurn(server.url, firstTurnBody(chatId))
    const messageId = result.chunks.find((c) => c.type === 'start')?.messageId
    const requests = normaliseRequests(plane.requests() as any, chatId, messageId)
    return { result, requests }
  } finally {
    await server.close()
  }
}

/** Runs the same scenario through the reference and through ours. */
async function sideBySide(name: string, side: Side) {
  const ids = chatIds(name)
  const ref = await turnWith('ref', ids.ref, side)
  const ours = await turnWith('ours', ids.ours, side)
  return { ref, ours }
}

function runWith(parts: StreamPart[], { tools = false } = {}) {
  return async ({ streamText }: any) =>
    streamText({ model: mockModel(parts), ...(tools ? { tools: await weatherTools() } : {}) })
}

test.serial('pure-text first turn (§10.1): same chunks and same requests as the reference', async (t) => {
  const { ref, ours } = await sideBySide('text', { run: runWith(textParts()) })
  t.is(ours.result.status, 200)
  t.is(ours.result.headers['content-type'], 'text/event-stream')
  t.is(ours.result.headers['x-vercel-ai-ui-message-stream'], 'v1')
  t.is(ours.result.headers['cache-control'], 'no-cache, no-transform')
  t.truthy(ours.result.headers['x-trigger-chat-access-token'])
  t.deepEqual(normaliseChunks(ours.result.chunks), normaliseChunks(ref.result.chunks))
  t.deepEqual(normaliseChunks(ours.result.chunks).slice(-2), [
    { type: 'trigger:turn-complete' },
    { type: 'trigger:session-state', lastEventId: '8' },
  ])
  t.deepEqual(ours.requests, ref.requests)
  t.deepEqual(
    ours.requests.map((r) => `${r.method} ${r.path}`),
    [
      'POST /api/v1/sessions',
      'PUT /realtime/v1/sessions/<CHAT>/out',
      'POST /realtime/v1/sessions/<CHAT>/in/append',
      'GET /realtime/v1/sessions/<CHAT>/out',
    ],
  )
  t.is(ours.requests[3].headers['last-event-id'], '7')
})

test.serial('one-tool first turn (§10.2): phase 2 spliced identically', async (t) => {
  const { ref, ours } = await sideBySide('tool1', { run: runWith(oneToolCall, { tools: true }) })
  t.deepEqual(normaliseChunks(ours.result.chunks), normaliseChunks(ref.result.chunks))
  const types = ours.result.chunks.map((c) => c.type)
  t.is(types.filter((x) => x === 'start').length, 2)
  t.true(types.includes('tool-output-available'))
  t.is(types.at(-2), 'trigger:turn-complete')
  t.deepEqual(ours.requests, ref.requests)
  const handover = JSON.parse(ours.requests[2].body)
  t.is(handover.kind, 'handover')
  t.is(handover.isFinal, false)
})

test.serial('two-tool first turn (§10.3): reshape and splice identical', async (t) => {
  const { ref, ours } = await sideBySide('tool2', { run: runWith(twoToolCalls, { tools: true }) })
  t.deepEqual(normaliseChunks(ours.result.chunks), normaliseChunks(ref.result.chunks))
  t.deepEqual(ours.requests, ref.requests)
  const handover = JSON.parse(ours.requests[2].body)
  t.deepEqual(
    handover.partialAssistantMessage.at(-1).content.map((p: any) => p.approvalId),
    ['handover-approval-1', 'handover-approval-2'],
  )
})

test.serial('the Response body also works as a plain ReadableStream (no native listener)', async (t) => {
  const handler = chat.headStart({ agentId: 'exp-agent', apiClient: plane.apiClient as any, run: runWith(textParts()) })
  const res = await handler(
    new Request('http://local/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(firstTurnBody('our-stream-path')),
    }),
  )
  t.is(res.status, 200)
  const text = await res.text()
  const chunks = text
    .split('\n\n')
    .filter(Boolean)
    .map((f) => JSON.parse(f.replace(/^data: /, '')))
  t.deepEqual(
    chunks.map((c: any) => c.type),
    ['start', 'start-step', 'text-start', 'text-delta', 'text-delta', 'text-end', 'finish-step', 'finish', 'trigger:turn-complete', 'trigger:session-state'],
  )
  // The native source refuses a second consumer.
  const again = await handler(
    new Request('http://local/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(firstTurnBody('our-stream-path-2')),
    }),
  )
  const reader = again.body!.getReader()
  await reader.read()
  const source = (again as any)[kNativeBody]
  t.throws(() => source.start({ write: () => true, end() {}, error() {} }), { message: /already being read/ })
  await reader.cancel()
})

test.serial('TriggerChatTransport completes turn 1 through our handler, keep-alive comments included, then turn 2 direct', async (t) => {
  plane.setAgent({ bootDelayMs: 700, toolOutputs: { getWeather: { city: 'Paris', tempC: 20 } }, text: ['It is ', '20C.'] })
  t.teardown(() => plane.resetAgent())
  const listener = chat.toNodeListener(
    chat.headStart({
      agentId: 'exp-agent',
      apiClient: plane.apiClient as any,
      run: runWith(oneToolCall, { tools: true }),
      keepAliveIntervalMs: 150,
    }),
  )
  const server = await serve(listener as any)
  t.teardown(() => server.close())
  const sessions: any[] = []
  const transport = headStartTransport(plane, server.url, sessions)
  const user1 = { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Weather in Paris?' }] }
  const turn1 = await readAll(
    await transport.sendMessages({ trigger: 'submit-message', chatId: 'our-transport', messageId: undefined, messages: [user1], abortSignal: undefined } as any),
  )
  t.deepEqual(
    turn1.map((c) => c.type),
    [
      'start', 'start-step', 'text-start', 'text-delta', 'text-end', 'tool-input-start', 'tool-input-delta',
      'tool-input-available', 'finish-step', 'finish',
      'start', 'tool-output-available', 'start-step', 'text-start', 'text-delta', 'text-delta', 'text-end', 'finish-step', 'finish',
    ],
  )
  const state = sessions.at(-1)
  t.is(state.lastEventId, '19')
  t.false(state.isStreaming)
  t.truthy(state.publicAccessToken)
  plane.setAgent({ bootDelayMs: 0, onTurn: (input: any) => (input.kind === 'message' ? { text: ['ok'] } : null) })
  const assistant1 = { id: turn1[0].messageId, role: 'assistant', parts: [{ type: 'text', text: 'Checking.' }] }
  const user2 = { id: 'u2', role: 'user', parts: [{ type: 'text', text: 'Thanks!' }] }
  const turn2 = await readAll(
    await transport.sendMessages({
      trigger: 'submit-message',
      chatId: 'our-transport',
      messageId: undefined,
      messages: [user1, assistant1, user2],
      abortSignal: undefined,
    } as any),
  )
  t.deepEqual(turn2.map((c) => c.type), ['start', 'start-step', 'text-start', 'text-delta', 'text-end', 'finish-step', 'finish'])
})

test.serial('chat.startHeadStart: detached step 1 to session.out + handover, no phase-2 read', async (t) => {
  plane.clearRequests()
  const user = { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Weather in Paris?' }] }
  const { chatId, pendingVersion, completion } = await chat.startHeadStart({
    agentId: 'exp-agent',
    apiClient: plane.apiClient as any,
    chatId: 'our-detached',
    messages: [user] as any,
    metadata: { userId: 'u-9' },
    run: runWith(oneToolCall, { tools: true }),
  })
  t.is(chatId, 'our-detached')
  t.false(pendingVersion)
  await completion
  const api = (plane.requests() as any[]).filter((r) => r.origin === 'api')
  t.deepEqual(
    api.map((r) => `${r.method} ${r.path}`),
    ['POST /api/v1/sessions', 'PUT /realtime/v1/sessions/our-detached/out', 'POST /realtime/v1/sessions/our-detached/in/append'],
  )
  const base = JSON.parse(api[0].body).triggerConfig.basePayload
  t.deepEqual(Object.keys(base), ['chatId', 'trigger', 'headStartMessages', 'metadata', 'idleTimeoutInSeconds'])
  t.is(JSON.parse(api[2].body).isFinal, false)
  const out = plane.records('our-detached', 'out')!.records
  t.true(out.length >= 10, 'step 1 reached session.out')
})

test.serial('chat.openSession: handoverResponse builds the same stitched response; handoverSkip appends the skip', async (t) => {
  const post = (chatId: string) =>
    new Request('http://local/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(firstTurnBody(chatId)),
    })
  const session = await chat.openSession({ req: post('our-open-1'), agentId: 'exp-agent', apiClient: plane.apiClient as any })
  t.is(session.chatId, 'our-open-1')
  const result = session.streamText({ model: mockModel(textParts()) } as any)
  const res = await session.handoverResponse(result)
  const text = await res.text()
  t.true(text.includes('"trigger:turn-complete"'))
  t.is(res.headers.get('x-trigger-chat-id'), 'our-open-1')

  plane.clearRequests()
  const other = await chat.openSession({ req: post('our-open-2'), agentId: 'exp-agent', apiClient: plane.apiClient as any })
  await other.handoverSkip()
  const appends = (plane.requests() as any[]).filter((r) => r.path.endsWith('/our-open-2/in/append'))
  t.deepEqual(appends.map((r) => r.body), ['{"kind":"handover-skip"}'])
  t.is(appends[0].headers['x-part-id'].length, 21)
  t.throws(() => other.streamText({ model: mockModel(textParts()), messages: [] } as any), { message: /owns `messages`/ })
})

test.serial('chat.preload: createSession with trigger "preload" returns the session token', async (t) => {
  plane.clearRequests()
  const pre = await chat.preload({ agentId: 'exp-agent', chatId: 'our-preload', apiClient: plane.apiClient as any, clientData: { userId: 'u-1' } })
  t.is(pre.chatId, 'our-preload')
  t.truthy(pre.publicAccessToken)
  const create = (plane.requests() as any[]).find((r) => r.path === '/api/v1/sessions')
  const body = JSON.parse(create.body)
  t.is(body.externalId, 'our-preload')
  t.is(body.triggerConfig.basePayload.trigger, 'preload')
  t.deepEqual(body.triggerConfig.basePayload.metadata, { userId: 'u-1' })
})

test.serial('a browser that left before the turn began: 499, no session created, run() not called', async (t) => {
  const chatId = `our-gone-${++counter}`
  let runs = 0
  const handler = chat.headStart({
    agentId: 'exp-agent',
    apiClient: plane.apiClient,
    run: (args: any) => {
      runs += 1
      return runWith(textParts())(args)
    },
  } as any)
  const browser = new AbortController()
  browser.abort()
  plane.clearRequests()
  const res = await handler(
    new Request('http://localhost/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(firstTurnBody(chatId)),
      signal: browser.signal,
    }),
  )
  t.is(res.status, 499)
  t.deepEqual(await res.json(), { error: 'the client closed the request before the turn began' })
  t.is(runs, 0)
  t.deepEqual(plane.requests(), [])
})
