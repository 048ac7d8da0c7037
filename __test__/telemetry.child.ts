// Run by telemetry.spec.ts in a child process: the log switch (CHAT_HEADSTART_LOG) is read once,
// when the package loads, so each setting needs a process of its own. Runs head-start turns
// against a local plane with a known secret key while subscribed to both diagnostics channels,
// then prints one line `@@RESULT <json>`: the secrets the turns handled (the secret key, the
// plane's S2 token, every access token a response carried) and every channel message, serialized.
// The Rust side's log lines go to this process's stderr.
//
//   node --import @oxc-node/core/register __test__/telemetry.child.ts all|one
import diagnostics_channel from 'node:diagnostics_channel'
import { chat, startDevPlane } from 'chat-headstart'
import { firstTurnBody, mockModel, oneToolCall, postTurn, serve, textParts, weatherTools } from './headstart.helpers.ts'
import { sleep } from './poll.ts'

const scenario = process.argv[2] ?? 'all'
const SECRET = 'tr_dev_telemetry_spec_SECRET_KEY_0123456789'

export interface ChildEvent {
  channel: 'turn' | 'handover'
  event: string
  /** The message as JSON (errors as { message, stack }; a handover's `turn` as its chat id). */
  json: string
}

export interface ChildResult {
  secret: string
  s2Token: string
  /** The `x-trigger-chat-access-token` values the responses carried. */
  tokens: string[]
  /** Every public access token the plane minted (the above, and those of turns that answered no token). */
  issued: string[]
  statuses: Record<string, number>
  events: ChildEvent[]
}

const events: ChildEvent[] = []
const serialize = (message: unknown) =>
  JSON.stringify(message, (_key, value) => (value instanceof Error ? { message: value.message, stack: value.stack } : value))
const turn = diagnostics_channel.tracingChannel('chat-headstart:turn')
const record = (event: string) => (message: unknown) => events.push({ channel: 'turn', event, json: serialize(message) })
turn.subscribe({
  start: record('start'),
  end: record('end'),
  asyncStart: record('asyncStart'),
  asyncEnd: record('asyncEnd'),
  error: record('error'),
})
diagnostics_channel.subscribe('chat-headstart:handover', (message: any) =>
  events.push({ channel: 'handover', event: 'handover', json: serialize({ ...message, turn: message.turn.chatId }) }),
)

const plane = await startDevPlane({
  secretKey: SECRET,
  agent: { toolOutputs: { getWeather: { city: 'Paris', tempC: 20 } }, text: ['It is ', '20C.'] },
} as any)
const tools = await weatherTools()
const handler = chat.headStart({
  agentId: 'telemetry-agent',
  apiClient: plane.apiClient,
  run: async ({ streamText, messages }: any) => {
    const text = JSON.stringify(messages)
    if (text.includes('please throw')) throw new Error('run() failed on purpose')
    if (text.includes('Weather')) return streamText({ model: mockModel(oneToolCall), tools })
    return streamText({ model: mockModel(textParts()) })
  },
} as any)
const server = await serve(chat.toNodeListener(handler) as any)

const tokens: string[] = []
const statuses: Record<string, number> = {}
let turns = 0
async function post(chatId: string, text?: string, body?: unknown) {
  turns++
  const result = await postTurn(server.url, body ?? firstTurnBody(chatId, text))
  statuses[chatId] = result.status
  const token = result.headers['x-trigger-chat-access-token']
  if (token) tokens.push(token)
  plane.resetFaults()
}

if (scenario === 'one') {
  await post('tel-one', 'Weather in Paris?')
} else {
  await post('tel-text', 'Hello there')
  await post('tel-tool', 'Weather in Paris?')
  plane.setFaults({ createSession: { status: 503, times: 1 } })
  await post('tel-retry', 'Hello again')
  plane.setFaults({ createSession: { status: 422, message: 'injected createSession failure' } })
  await post('tel-api-fail', 'Hello')
  plane.setFaults({ s2Append: { status: 503, times: 3 } })
  await post('tel-s2-fail', 'Weather in Paris?')
  plane.setFaults({ sse: { status: 503, times: 1 } })
  await post('tel-reconnect', 'Weather in Paris?')
  await post('tel-throw', 'please throw')
  await post('tel-rejected', undefined, { chatId: 'tel-rejected', headStartMessages: [] })
  turns++
  const detached = await chat.startHeadStart({
    agentId: 'telemetry-agent',
    apiClient: plane.apiClient,
    chatId: 'tel-detached',
    messages: firstTurnBody('tel-detached', 'Hello detached').headStartMessages as any,
    run: ({ streamText }: any) => streamText({ model: mockModel(textParts()) }),
  } as any)
  await detached.completion
}

// Every turn ends (asyncEnd) once its response is over; a skipped or detached one a moment
// after the dispatch.
const deadline = Date.now() + 20_000
while (events.filter((e) => e.event === 'asyncEnd').length < turns && Date.now() < deadline) await sleep(20)
const issued = plane.sessions().flatMap((s) => s.publicAccessTokens)
await server.close()
await plane.close()
const result: ChildResult = { secret: SECRET, s2Token: plane.s2AccessToken, tokens, issued, statuses, events }
process.stdout.write(`@@RESULT ${JSON.stringify(result)}\n`)
