// Shared helpers of the headStart specs: step-1 fixtures (for plane-helpers' mock model, re-
// exported here), a node:http mount for Web Fetch handlers, an SSE client that records what the
// browser sees, and normalisers that make the reference's and our output comparable (generated
// ids replaced by placeholders).
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { finish } from './plane-helpers.ts'
import { sleep } from './poll.ts'

export { mockModel, oneToolCall, twoToolCalls } from './plane-helpers.ts'

export type StreamPart = Record<string, unknown>

/** A provider `finish` part (the step-1 fixtures' own). */
export const finishPart = (unified: Parameters<typeof finish>[0]): StreamPart => finish(unified)

/** Provider parts of a pure-text step: "Hello", " world" (§10.1's deltas) by default. */
export function textParts(deltas: string[] = ['Hello', ' world']): StreamPart[] {
  return [
    { type: 'text-start', id: 's1' },
    ...deltas.map((delta) => ({ type: 'text-delta', id: 's1', delta })),
    { type: 'text-end', id: 's1' },
    finish('stop'),
  ]
}

/** Schema-only tool set (no execute: the agent runs the tools). */
export async function weatherTools() {
  const { tool } = await import('ai')
  const { z } = await import('zod')
  return { getWeather: tool({ description: 'weather', inputSchema: z.object({ city: z.string() }) }) }
}

export interface Served {
  url: string
  close(): Promise<void>
}

/** Mounts a Node listener on 127.0.0.1:0. */
export async function serve(listener: (req: http.IncomingMessage, res: http.ServerResponse) => unknown): Promise<Served> {
  const server = http.createServer((req, res) => void listener(req, res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/api/chat`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface TurnResult {
  status: number
  headers: Record<string, string>
  /** Raw body text. */
  text: string
  /** Parsed `data:` frames. */
  chunks: any[]
  /** Comment frames (`: …`). */
  comments: string[]
  /** ms from request to first text-delta (NaN if none). */
  firstTextMs: number
  /** ms from request to end of body. */
  totalMs: number
  /** The body ended with a transport error. */
  bodyError?: string
}

export function firstTurnBody(chatId: string, text = 'Weather in Paris?') {
  return {
    headStartMessages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text }] }],
    chatId,
    trigger: 'submit-message',
  }
}

/** POSTs a head-start turn like `TriggerChatTransport` and records the SSE frames. */
export async function postTurn(
  url: string,
  body: unknown,
  {
    signal,
    abortAfter,
    onChunks,
  }: { signal?: AbortSignal; abortAfter?: (chunks: any[]) => boolean; onChunks?: (chunks: any[]) => void } = {},
): Promise<TurnResult> {
  const controller = new AbortController()
  signal?.addEventListener('abort', () => controller.abort())
  const t0 = performance.now()
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: controller.signal,
  })
  const headers: Record<string, string> = {}
  res.headers.forEach((v, k) => (headers[k] = v))
  let text = ''
  const chunks: any[] = []
  const comments: string[] = []
  let firstTextMs = NaN
  let bodyError: string | undefined
  if (res.body) {
    const reader = res.body.getReader()
    const decoder = new TextDecoder()
    let pending = ''
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        const part = decoder.decode(value, { stream: true })
        text += part
        pending += part
        let idx
        while ((idx = pending.indexOf('\n\n')) >= 0) {
          const frame = pending.slice(0, idx)
          pending = pending.slice(idx + 2)
          if (frame.startsWith('data: ')) {
            const chunk = JSON.parse(frame.slice(6))
            chunks.push(chunk)
            if (chunk.type === 'text-delta' && Number.isNaN(firstTextMs)) firstTextMs = performance.now() - t0
          } else if (frame.startsWith(':')) comments.push(frame)
        }
        onChunks?.(chunks)
        if (abortAfter?.(chunks)) {
          controller.abort()
          break
        }
      }
    } catch (err) {
      if (!controller.signal.aborted) bodyError = String(err)
    }
  }
  return { status: res.status, headers, text, chunks, comments, firstTextMs, totalMs: performance.now() - t0, bodyError }
}

/** Replaces the turn's generated message id by `<M>`. */
export function normaliseChunks(chunks: any[]): any[] {
  const ids = new Map<string, string>()
  return chunks.map((c) => {
    if (c.type === 'start' && typeof c.messageId === 'string') {
      if (!ids.has(c.messageId)) ids.set(c.messageId, '<M>')
      return { ...c, messageId: ids.get(c.messageId) }
    }
    return c
  })
}

export interface LoggedRequestLike {
  origin: string
  method: string
  path: string
  headers: Record<string, string>
  body: string
}

/** The §2.1 header set every Trigger API call carries (plus the per-call extras). */
const COMPARED_HEADERS = [
  'authorization',
  'content-type',
  'trigger-version',
  'x-trigger-source',
  'x-trigger-api-version',
  'x-trigger-realtime-streams-version',
  'x-trigger-branch',
  'last-event-id',
  'accept',
]

/** Comparable view of the API requests of one chat: ids and the chat id replaced. */
export function normaliseRequests(log: LoggedRequestLike[], chatId: string, messageId?: string) {
  const replaceAll = (s: string) => {
    let out = s.split(encodeURIComponent(chatId)).join('<CHAT>').split(chatId).join('<CHAT>')
    if (messageId) out = out.split(messageId).join('<M>')
    return out
  }
  return log
    .filter((r) => r.origin === 'api' && (r.path.includes(encodeURIComponent(chatId)) || r.body.includes(chatId)))
    .map((r) => {
      const headers: Record<string, string> = {}
      for (const name of COMPARED_HEADERS) if (r.headers[name] !== undefined) headers[name] = r.headers[name]
      if (r.headers['x-trigger-request-idempotency-key'] !== undefined) headers['x-trigger-request-idempotency-key'] = '<uuid>'
      if (r.headers['x-part-id'] !== undefined) headers['x-part-id'] = `<nanoid:${r.headers['x-part-id'].length}>`
      return { method: r.method, path: replaceAll(r.path), headers, body: replaceAll(r.body) }
    })
}

/** Mounts the reference's or our head-start handler and posts one turn through it. */
export async function turnThrough(
  kind: 'ref' | 'ours',
  plane: { apiClient: unknown; clearRequests(): void; requests(): unknown[] },
  chatId: string,
  handlerOptions: Record<string, unknown>,
  {
    body,
    abortAfter,
    onChunks,
    settleMs = 0,
  }: { body?: unknown; abortAfter?: (chunks: any[]) => boolean; onChunks?: (chunks: any[]) => void; settleMs?: number } = {},
) {
  const { chat: refChat } = await import('@trigger.dev/sdk/chat-server')
  const { chat } = await import('chat-headstart')
  const opts = { agentId: 'exp-agent', apiClient: plane.apiClient, ...handlerOptions }
  const listener =
    kind === 'ref' ? refChat.toNodeListener(refChat.headStart(opts as any)) : chat.toNodeListener(chat.headStart(opts as any))
  const server = await serve(listener as any)
  try {
    plane.clearRequests()
    const result = await postTurn(server.url, body ?? firstTurnBody(chatId), { abortAfter, onChunks })
    if (settleMs) await sleep(settleMs)
    const messageId = result.chunks.find((c) => c.type === 'start')?.messageId
    const raw = plane.requests() as LoggedRequestLike[]
    return { result, raw, requests: normaliseRequests(raw, chatId, messageId) }
  } finally {
    await server.close()
  }
}

