// The reference browser transport (@trigger.dev/sdk/chat TriggerChatTransport): turn 1 through
// the reference head-start route, turn 2 straight to the plane with the session token.
import test from 'ava'
import { startDevPlane } from 'chat-headstart'
import { headStartTransport, mockModel, oneToolCall, readAll, referenceServer } from './plane-helpers.ts'

test('TriggerChatTransport: turn 1 via the head-start route, turn 2 directly against the plane', async (t) => {
  const turns: any[] = []
  const plane = await startDevPlane({
    agent: {
      toolOutputs: { getWeather: { city: 'Paris', tempC: 20 } },
      text: ['It is ', '20C.'],
      onTurn: (input) => {
        turns.push(input)
        if (input.kind !== 'message') return null
        const said = (input.message as any).parts.find((p: any) => p.type === 'text').text
        return { text: ['You said: ', said] }
      },
    },
  })
  const server = await referenceServer(plane, () => mockModel(oneToolCall))
  t.teardown(async () => {
    await server.close()
    await plane.close()
  })
  const sessions: any[] = []
  const transport = headStartTransport(plane, server.url, sessions)

  const user1 = { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Weather in Paris?' }] }
  const turn1 = await readAll(
    await transport.sendMessages({ trigger: 'submit-message', chatId: 'chat-t', messageId: undefined, messages: [user1], abortSignal: undefined } as any),
  )
  const types1 = turn1.map((c) => c.type)
  t.deepEqual(types1, [
    'start', 'start-step', 'text-start', 'text-delta', 'text-end', 'tool-input-start', 'tool-input-delta',
    'tool-input-available', 'finish-step', 'finish',
    'start', 'tool-output-available', 'start-step', 'text-start', 'text-delta', 'text-delta', 'text-end', 'finish-step', 'finish',
  ])
  t.deepEqual(turn1[11], { type: 'tool-output-available', toolCallId: 'call_1', output: { city: 'Paris', tempC: 20 } })
  const afterTurn1 = sessions.at(-1)
  t.is(afterTurn1.lastEventId, '19')
  t.false(afterTurn1.isStreaming)
  t.truthy(afterTurn1.publicAccessToken)

  plane.clearRequests()
  const assistant1 = { id: turn1[0].messageId, role: 'assistant', parts: [{ type: 'text', text: 'Checking.' }] }
  const user2 = { id: 'u2', role: 'user', parts: [{ type: 'text', text: 'Thanks!' }] }
  const turn2 = await readAll(
    await transport.sendMessages({
      trigger: 'submit-message',
      chatId: 'chat-t',
      messageId: undefined,
      messages: [user1, assistant1, user2],
      abortSignal: undefined,
    } as any),
  )
  t.deepEqual(
    turn2.map((c) => c.type),
    ['start', 'start-step', 'text-start', 'text-delta', 'text-delta', 'text-end', 'finish-step', 'finish'],
  )
  t.is(turn2.filter((c) => c.type === 'text-delta').map((c) => c.delta).join(''), 'You said: Thanks!')
  t.not(turn2[0].messageId, turn1[0].messageId)

  // Turn 2 bypassed the handler: the browser talked to the plane with the session token.
  const log = plane.requests()
  t.deepEqual(
    log.map((r) => `${r.method} ${r.path}`),
    ['POST /realtime/v1/sessions/chat-t/in/append', 'GET /realtime/v1/sessions/chat-t/out'],
  )
  const token = `Bearer ${afterTurn1.publicAccessToken}`
  t.is(log[0].headers.authorization, token)
  t.is(log[1].headers.authorization, token)
  t.is(log[1].headers['last-event-id'], '19')
  t.is(log[1].headers['timeout-seconds'], '120')
  const appended = JSON.parse(log[0].body)
  t.is(appended.kind, 'message')
  t.deepEqual(appended.payload.message, user2)
  t.deepEqual(
    turns.map((x) => [x.kind, x.inSeq]),
    [
      ['handover', 0],
      ['message', 1],
    ],
  )
  t.false(sessions.at(-1).isStreaming)
})
