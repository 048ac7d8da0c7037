// A small user app of the installed chat-headstart: a node:http server with the head-start route
// at POST /api/chat (chat.headStart + chat.toNodeListener) and GET /api/self-check (the wire
// helpers and the SSE parser, answered with FastResponse). Runs as TypeScript on Node 22
// (`node --experimental-strip-types app.ts`) against the same `ai` major it was type-checked with.
//
// Env: PORT (default 3000; 0 = ephemeral), HOST (default 127.0.0.1), TRIGGER_API_URL +
// TRIGGER_SECRET_KEY (e.g. from `chat-headstart dev`); without them it starts an in-process plane.
// Prints `ai-app listening on http://HOST:PORT` once it accepts requests.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { tool, type ModelMessage, type UIMessage } from 'ai'
import { z } from 'zod'
import {
  chat,
  createSseParser,
  FastResponse,
  inAppendMeteredSize,
  nativeVersion,
  reshapeForHandoverResume,
  S2_RECORD_LIMIT,
  slimSubmitMessageForWire,
  startDevPlane,
  upsertIncomingMessage,
  type AgentTurnInput,
  type AgentTurnPlan,
  type DevPlane,
  type FetchHandler,
  type HeadStartApiClient,
  type HeadStartOptions,
  type NodeListener,
  type SseEvent,
} from 'chat-headstart'
import { createMockModel, flavour } from './model.ts'

export const AGENT_ID = 'ai-app-agent'

/** Schema-only tools: no `execute`, the chat.agent run executes them after the handover. */
export const tools = {
  getWeather: tool({ description: 'The current weather of a city', inputSchema: z.object({ city: z.string() }) }),
}

const model = createMockModel()

/** Step 1 of a new chat: the bound streamText (messages, stopWhen and abortSignal are set for us). */
export const run: HeadStartOptions['run'] = async ({ messages, signal, chat: turn, streamText }) => {
  if (messages.length === 0 || signal.aborted) throw new Error('no head-start message')
  const options = turn.toStreamTextOptions({ tools })
  if (options.tools !== tools || options.messages.length === 0) throw new Error('toStreamTextOptions lost the turn')
  const result = streamText({ model, system: 'You answer weather questions with the getWeather tool.', tools })
  // The result is typed with our tools: a static getWeather call's input is { city: string }.
  result.toolCalls.then(
    (calls) => {
      for (const call of calls) if (!call.dynamic && call.toolName === 'getWeather') console.log(`ai-app: ${turn.session.chatId} asks getWeather(${call.input.city})`)
    },
    () => {},
  )
  return result
}

/** What GET /api/self-check answers: the wire helpers and the SSE parser on fixed inputs. */
export interface SelfCheck {
  nativeVersion: string
  mock: string
  sseEvents: Array<Pick<SseEvent, 'event' | 'data' | 'id'>>
  sseRetryMs: number | null
  meteredSize: number
  underRecordLimit: boolean
  slimmedUserMessageUnchanged: boolean
  upserted: boolean
  storedIds: string[]
  reshapedRoles: string[]
}

export function selfCheck(): SelfCheck {
  const sseEvents: SelfCheck['sseEvents'] = []
  let sseRetryMs: number | null = null
  const parser = createSseParser({
    onEvent: ({ event, data, id }) => sseEvents.push(id === undefined ? { event, data } : { event, data, id }),
    onRetry: (ms) => (sseRetryMs = ms),
  })
  parser.feed('retry: 250\nid: 1\ndata: {"type":"text-delta",')
  parser.feed(new TextEncoder().encode('"delta":"hi"}\n\nevent: done\ndata: [DONE]\n\n'))
  parser.end()

  const user: UIMessage = { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Weather in Paris?' }] }
  const stored: UIMessage[] = []
  const upserted = upsertIncomingMessage(stored, { trigger: 'submit-message', incomingMessages: [user] })
  const step1: ModelMessage[] = [
    { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'getWeather', input: { city: 'Paris' } }] },
  ]
  const meteredSize = inAppendMeteredSize(JSON.stringify({ kind: 'message', message: user }))
  return {
    nativeVersion: nativeVersion(),
    mock: flavour.mock,
    sseEvents,
    sseRetryMs,
    meteredSize,
    underRecordLimit: meteredSize <= S2_RECORD_LIMIT,
    slimmedUserMessageUnchanged: slimSubmitMessageForWire(user) === user,
    upserted,
    storedIds: stored.map((m) => m.id),
    reshapedRoles: reshapeForHandoverResume(step1).map((m) => m.role),
  }
}

/** An in-process local plane whose agent answers like `chat-headstart dev`'s, plus a greeting. */
async function startLocalPlane(): Promise<DevPlane> {
  const onTurn = (input: AgentTurnInput): AgentTurnPlan =>
    input.kind === 'handover' ? { toolOutputs: Object.fromEntries((input.toolCalls ?? []).map((c) => [c.toolCallId, c.input])), text: 'Done.' } : { text: 'Hi again.' }
  return startDevPlane({ agent: { onTurn } })
}

export async function main(): Promise<void> {
  const plane = process.env.TRIGGER_API_URL && process.env.TRIGGER_SECRET_KEY ? undefined : await startLocalPlane()
  const apiClient: HeadStartApiClient | undefined = plane?.apiClient

  const headStart = chat.headStart({ agentId: AGENT_ID, run, apiClient, idleTimeoutInSeconds: 30, keepAliveIntervalMs: 5_000 })
  const chatListener: NodeListener = chat.toNodeListener(headStart, {
    onError: (error) => {
      console.error('ai-app: head-start failed', error)
      return FastResponse.json({ error: 'head start failed' }, { status: 500 })
    },
  })
  const selfCheckHandler: FetchHandler = () => FastResponse.json(selfCheck())
  const selfCheckListener = chat.toNodeListener(selfCheckHandler)

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/api/chat' && req.method === 'POST') void chatListener(req, res)
    else if (path === '/api/self-check' && req.method === 'GET') void selfCheckListener(req, res)
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
  })
  const host = process.env.HOST ?? '127.0.0.1'
  await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 3000), host, resolve))
  const { port } = server.address() as AddressInfo
  console.log(`ai-app listening on http://${host}:${port} (ai/test ${flavour.mock}, ${plane ? 'in-process plane' : process.env.TRIGGER_API_URL})`)

  const stop = () => {
    server.closeAllConnections()
    server.close()
    void (plane?.close() ?? Promise.resolve()).then(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
