// Shared fixtures for the plane specs: an `ai` mock model, the reference head-start handler
// mounted with its own toNodeListener on node:http, and a raw-fetch "browser".
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { chat } from '@trigger.dev/sdk/chat-server'
import { TriggerChatTransport } from '@trigger.dev/sdk/chat'
import { MockLanguageModelV4 } from 'ai/test'
import { simulateReadableStream, tool } from 'ai'
import { z } from 'zod'
import type { DevPlane } from 'chat-headstart'

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
}

type Finish = 'stop' | 'tool-calls' | 'error' | 'length'
export const finish = (reason: Finish) => ({ type: 'finish', finishReason: { unified: reason, raw: undefined }, usage })

/** Step 1 of §10.1: "Hello" " world", stop. */
export const helloWorld = [
  { type: 'text-start', id: 's1' },
  { type: 'text-delta', id: 's1', delta: 'Hello' },
  { type: 'text-delta', id: 's1', delta: ' world' },
  { type: 'text-end', id: 's1' },
  finish('stop'),
]

/** Step 1 of §10.2: "Checking." then one streamed getWeather call. */
export const oneToolCall = [
  { type: 'text-start', id: 's1' },
  { type: 'text-delta', id: 's1', delta: 'Checking.' },
  { type: 'text-end', id: 's1' },
  { type: 'tool-input-start', id: 'call_1', toolName: 'getWeather' },
  { type: 'tool-input-delta', id: 'call_1', delta: '{"city":"Paris"}' },
  { type: 'tool-input-end', id: 'call_1' },
  { type: 'tool-call', toolCallId: 'call_1', toolName: 'getWeather', input: '{"city":"Paris"}' },
  finish('tool-calls'),
]

/** Step 1 of §10.3: two bare tool calls. */
export const twoToolCalls = [
  { type: 'tool-call', toolCallId: 'call_1', toolName: 'getWeather', input: '{"city":"Paris"}' },
  { type: 'tool-call', toolCallId: 'call_2', toolName: 'getWeather', input: '{"city":"Rome"}' },
  finish('tool-calls'),
]

export const tools = { getWeather: tool({ description: 'Weather of a city', inputSchema: z.object({ city: z.string() }) }) }

/** Options of {@link mockModel}: delays (ms) before the first part and between parts, and a
 * hook that sees each `doStream` call's options (its abort signal, say). */
export interface MockModelOptions {
  initialDelayInMs?: number
  chunkDelayInMs?: number
  onDoStream?: (options: any) => void
}

/** A mock model streaming `stream-start` then `parts`, a fresh stream per call. */
export function mockModel(parts: unknown[], { initialDelayInMs = 0, chunkDelayInMs = 0, onDoStream }: MockModelOptions = {}) {
  return new MockLanguageModelV4({
    doStream: async (options: any) => {
      onDoStream?.(options)
      return {
        stream: simulateReadableStream({
          chunks: [{ type: 'stream-start', warnings: [] }, ...parts] as any,
          initialDelayInMs,
          chunkDelayInMs,
        }),
      }
    },
  } as any)
}

export interface HeadStartServer {
  url: string
  close(): Promise<void>
}

/** The reference `chat.headStart` through its own `chat.toNodeListener` on node:http. */
export async function referenceServer(
  plane: DevPlane,
  model: () => unknown,
  options: { idleTimeoutInSeconds?: number } = {},
): Promise<HeadStartServer> {
  const handler = chat.headStart({
    agentId: 'exp-agent',
    apiClient: plane.apiClient,
    ...options,
    run: async ({ streamText }: any) => streamText({ model: model(), tools }),
  } as any)
  const server = http.createServer(chat.toNodeListener(handler))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/api/chat`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export function firstTurnBody(chatId: string, text = 'Weather in Paris?') {
  return {
    headStartMessages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text }] }],
    chatId,
    trigger: 'submit-message',
  }
}

export interface BrowserResult {
  status: number
  headers: Headers
  /** Each SSE frame's data, verbatim. */
  frames: string[]
  raw: string
}

/** The browser stand-in: POST, then read the whole body and split it into `data:` frames. */
export async function browserPost(url: string, body: unknown, init: RequestInit = {}): Promise<BrowserResult> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...init,
  })
  const raw = await res.text()
  const frames = res.headers.get('content-type')?.startsWith('text/event-stream')
    ? raw
        .split('\n\n')
        .filter((f) => f.length > 0)
        .map((f) => {
          if (!f.startsWith('data: ')) throw new Error(`not a data frame: ${JSON.stringify(f)}`)
          return f.slice('data: '.length)
        })
    : []
  return { status: res.status, headers: res.headers, frames, raw }
}

/** Replaces the turn's generated 16-char message id with `<M>` (the §10 notation). */
export function normaliseIds(frames: string[]): string[] {
  const ids = new Set<string>()
  for (const f of frames) {
    const m = /"messageId":"([0-9A-Za-z]{16})"/.exec(f)
    if (m) ids.add(m[1])
  }
  return frames.map((f) => [...ids].reduce((acc, id) => acc.split(id).join('<M>'), f))
}

/** The (origin, method, path) sequence of the plane's request log. */
export function callOrder(plane: DevPlane) {
  return plane.requests().map((r) => `${r.origin} ${r.method} ${r.path.replace(/session_[a-z0-9]+/, 'session_*')}`)
}

/** A model that streams `parts` and then stalls (never finishes) until aborted. */
export function stallingModel(parts: unknown[]) {
  return new MockLanguageModelV4({
    doStream: async (options: any) => ({
      stream: new ReadableStream({
        start(controller) {
          controller.enqueue({ type: 'stream-start', warnings: [] })
          for (const p of parts) controller.enqueue(p)
          options?.abortSignal?.addEventListener('abort', () => {
            try {
              controller.error(options.abortSignal.reason ?? new Error('aborted'))
            } catch {}
          })
        },
      }),
    }),
  } as any)
}

/**
 * Reads an SSE response incrementally, calling `onFrame` per `data:` frame; resolves at EOF or
 * when `signal` (the fetch's own) aborts, and throws if the body neither ends nor is aborted
 * within `timeoutMs`.
 *
 * It stops reading on abort instead of waiting for the read to reject: Node 22's undici
 * (6.x, nodejs/undici#4089) never settles a pending read when the abort lands after the whole
 * body arrived but before the reader consumed its end — the §10.5 spec hung that way whenever
 * the handler finished the turn just as the browser aborted.
 */
export async function readFrames(
  res: Response,
  onFrame: (frame: string) => void,
  { signal, timeoutMs = 30_000 }: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<void> {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let timer: NodeJS.Timeout | undefined
  let onAbort: (() => void) | undefined
  const stopped = new Promise<'aborted' | 'timeout'>((resolve) => {
    onAbort = () => resolve('aborted')
    signal?.addEventListener('abort', onAbort, { once: true })
    timer = setTimeout(() => resolve('timeout'), timeoutMs)
  })
  try {
    for (;;) {
      if (signal?.aborted) break
      const next = await Promise.race([reader.read(), stopped])
      if (next === 'aborted') break
      if (next === 'timeout') throw new Error(`the SSE body neither ended nor was aborted within ${timeoutMs} ms`)
      const { value, done } = next
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      let idx
      while ((idx = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, idx)
        buffer = buffer.slice(idx + 2)
        if (frame.startsWith('data: ')) onFrame(frame.slice(6))
      }
    }
  } catch (error: any) {
    if (error?.name !== 'AbortError') throw error
  } finally {
    clearTimeout(timer)
    if (onAbort) signal?.removeEventListener('abort', onAbort)
    reader.cancel().catch(() => {})
  }
}

/**
 * The real browser transport for turn 1 through the head-start route at `headStartUrl` and later
 * turns straight against the plane; it must never need a token refresh. Sessions it reports are
 * pushed to `sessions`.
 */
export function headStartTransport(plane: DevPlane, headStartUrl: string, sessions: any[]) {
  return new TriggerChatTransport({
    task: 'exp-agent',
    accessToken: async () => {
      throw new Error('no token refresh expected')
    },
    baseURL: plane.apiUrl,
    headStart: headStartUrl,
    onSessionChange: (chatId: string, session: any) => sessions.push({ chatId, ...session }),
  } as any)
}

/** Every value of a stream, in order (the UI chunks of one `sendMessages` turn). */
export async function readAll(stream: ReadableStream<unknown>): Promise<any[]> {
  const values: any[] = []
  const reader = stream.getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return values
    values.push(value)
  }
}
