// Compile-only assertions on chat-headstart's public types (never run: `tsc` checks this file with
// the rest of the fixture). A type regression against the installed `ai` major fails `tsc` here:
// either an assertion below stops holding or an `@ts-expect-error` becomes unused.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import { streamText, stepCountIs, type LanguageModel, type ModelMessage, type UIMessage } from 'ai'
import {
  chat,
  createSseParser,
  startDevPlane,
  toNodeListener,
  upsertIncomingMessage,
  type DevPlane,
  type DevPlaneOptions,
  type HeadStartOptions,
  type HeadStartRunArgs,
  type HeadStartSession,
  type HeadStartStreamTextFn,
  type HeadStartStreamTextOptions,
  type KoaContextLike,
  type LoggedRequest,
  type OpenedSession,
  type PreloadedSession,
  type SseParser,
} from 'chat-headstart'
import { tools } from './app.ts'

type IsAny<T> = 0 extends 1 & T ? true : false
type Assert<T extends true> = T
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

declare const model: LanguageModel
declare const bound: HeadStartStreamTextFn
declare const session: HeadStartSession

// ---- the bound streamText: typed by our tools, never `any` ----
const boundResult = bound({ model, tools, system: 'x', temperature: 0 })
export type BoundResultIsTyped = Assert<IsAny<typeof boundResult> extends false ? true : false>
export type BoundToolCall = Awaited<typeof boundResult.toolCalls>[number]
export type BoundStaticInput = Assert<Equal<Extract<BoundToolCall, { toolName: 'getWeather'; dynamic?: false }>['input'], { city: string }>>
export async function calledCities(result: typeof boundResult): Promise<string[]> {
  return (await result.toolCalls).flatMap((call) => (call.dynamic ? [] : [call.input.city]))
}
export function refusedOptions(): void {
  // @ts-expect-error the bound streamText owns `messages`
  bound({ model, tools, messages: [] as ModelMessage[] })
  // @ts-expect-error … and `prompt`
  bound({ model, prompt: 'hi' })
  // @ts-expect-error … and `stopWhen`
  bound({ model, stopWhen: stepCountIs(2) })
  // @ts-expect-error … and `abortSignal`
  bound({ model, abortSignal: new AbortController().signal })
  // @ts-expect-error a model is still required
  bound({ tools })
}
const noTools = bound({ model })
export type NoToolsResultIsTyped = Assert<IsAny<typeof noTools> extends false ? true : false>

// ---- toStreamTextOptions: the handover's options for your own streamText call ----
declare const runArgs: HeadStartRunArgs
const handoverOptions: HeadStartStreamTextOptions<typeof tools> = runArgs.chat.toStreamTextOptions({ tools })
export const ownCall = streamText({ model, ...handoverOptions })
export type OwnCallIsTyped = Assert<IsAny<typeof ownCall> extends false ? true : false>
export type MessagesAreUi = Assert<Equal<HeadStartRunArgs['messages'], UIMessage[]>>

// ---- results accepted where a streamText result is expected ----
export async function handovers(): Promise<Response> {
  const direct = streamText({ model, tools, prompt: 'Weather in Paris?' })
  await session.handoverWhenDone(direct)
  await session.handoverWhenDone(boundResult)
  await session.handoverWhenDone(noTools)
  // @ts-expect-error not a streamText result
  await session.handoverWhenDone({ text: 'hi' })
  return session.handoverResponse(direct)
}
export const syncRun: HeadStartOptions['run'] = ({ streamText: boundFn }) => boundFn({ model, tools })
export const asyncRun: HeadStartOptions['run'] = async ({ streamText: boundFn }) => boundFn({ model })
export const ownRun: HeadStartOptions['run'] = ({ chat: turn }) => streamText({ model, ...turn.toStreamTextOptions({ tools }) })
// @ts-expect-error run must return a streamText result
export const badRun: HeadStartOptions['run'] = async () => 'hello'

// ---- the other entry points ----
export async function entryPoints(req: Request): Promise<Response> {
  const handler: (req: Request) => Promise<Response> = chat.headStart({ agentId: 'a', run: syncRun, triggerConfig: { machine: 'small-1x', tags: ['t'] } })
  const opened: OpenedSession = await chat.openSession({ agentId: 'a', req })
  const result = opened.streamText({ model, tools })
  const detached = await chat.startHeadStart({ agentId: 'a', chatId: 'c', messages: opened.messages, run: asyncRun })
  const completion: Promise<void> = detached.completion
  const preloaded: PreloadedSession = await chat.preload({ agentId: 'a', chatId: 'c', clientData: { userId: 'u' } })
  void [handler, completion, preloaded.publicAccessToken.length]
  return opened.handoverResponse(result)
}

// ---- toNodeListener: node:http, http2 compat and Koa-style mounts ----
export function mounts(req: IncomingMessage, res: ServerResponse, req2: Http2ServerRequest, res2: Http2ServerResponse, ctx: KoaContextLike) {
  const listener = chat.toNodeListener(() => new Response('ok'), { trustProxy: true, drainTimeoutMs: 100 })
  const same = toNodeListener(async (r) => Response.json({ url: r.url }))
  return Promise.all([listener(req, res), listener(req2, res2), same(ctx, async () => {}), listener(req, res, (err?: unknown) => void err)])
}

// ---- the local plane and the SSE parser ----
export async function plane(): Promise<LoggedRequest[]> {
  const options: DevPlaneOptions = {
    agent: { text: ['Done', '.'], onTurn: (input) => (input.kind === 'handover' ? { toolOutputs: { getWeather: { tempC: 21 } } } : null) },
    faults: { createSession: { status: 500, times: 1, then: { delayMs: 10 } } },
  }
  await using p: DevPlane = await startDevPlane(options)
  p.setAgent({ bootDelayMs: 5 })
  const records = p.records('chat', 'out', { fromSeq: 0 })?.records ?? []
  void records.map((r) => r.seq_num)
  return p.requests()
}
export function parser(): SseParser {
  // @ts-expect-error onEvent is required
  createSseParser({})
  return createSseParser({ onEvent: ({ event, data, lastEventId }) => void [event, data, lastEventId], onComment: (text) => void text })
}
export const stored = upsertIncomingMessage<UIMessage<{ pinned: boolean }>>([], { trigger: 'submit-message', incomingMessages: [] })
