// The fixture's deterministic model: the only code that differs per `ai` major.
//
// ai 5 speaks LanguageModelV2 (`MockLanguageModelV2`), ai 6 LanguageModelV3, ai 7 LanguageModelV4
// (ai 7's `ai/test` also still exports V3; the newest one is used). The flavour is picked by what
// `ai/test` exports, so this file compiles and runs unchanged against each major. Stream parts are
// the same in V2–V4 except `finish`: V2 has `finishReason: "stop"` and flat token counts, V3/V4
// `finishReason: { unified, raw }` and per-kind token counts.
import type { LanguageModel } from 'ai'
import * as aiTest from 'ai/test'

type FinishReason = 'stop' | 'tool-calls'

/** The subset of the doStream call options the model reads (identical in V2, V3 and V4). */
interface DoStreamOptions {
  prompt: ReadonlyArray<{ role: string; content: unknown }>
}

interface MockSettings {
  provider?: string
  modelId?: string
  doStream: (options: DoStreamOptions) => PromiseLike<{ stream: ReadableStream<unknown> }>
}

type MockConstructor = new (settings: MockSettings) => LanguageModel

interface Flavour {
  /** The `ai/test` export in use, e.g. "MockLanguageModelV4". */
  mock: string
  /** `finish` stream part of this specification version. */
  finish(reason: FinishReason, inputTokens: number, outputTokens: number): Record<string, unknown>
}

const usageV2 = (input: number, output: number) => ({ inputTokens: input, outputTokens: output, totalTokens: input + output })
const usageV3 = (input: number, output: number) => ({
  inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: output, text: output, reasoning: 0 },
})

const FLAVOURS: Record<string, Flavour['finish']> = {
  MockLanguageModelV4: (reason, i, o) => ({ type: 'finish', finishReason: { unified: reason, raw: reason }, usage: usageV3(i, o) }),
  MockLanguageModelV3: (reason, i, o) => ({ type: 'finish', finishReason: { unified: reason, raw: reason }, usage: usageV3(i, o) }),
  MockLanguageModelV2: (reason, i, o) => ({ type: 'finish', finishReason: reason, usage: usageV2(i, o) }),
}

const testExports: Record<string, unknown> = { ...aiTest }
const mockName = Object.keys(FLAVOURS).find((name) => typeof testExports[name] === 'function')
if (!mockName) throw new Error(`ai/test exports none of ${Object.keys(FLAVOURS).join(', ')}`)
const Mock = testExports[mockName] as MockConstructor
const simulate = testExports.simulateReadableStream as <T>(options: {
  chunks: T[]
  initialDelayInMs?: number | null
  chunkDelayInMs?: number | null
}) => ReadableStream<T>

export const flavour: Flavour = { mock: mockName, finish: FLAVOURS[mockName]! }

/** Text of the last user message of a language-model prompt. */
function lastUserText(prompt: DoStreamOptions['prompt']): string {
  for (let i = prompt.length - 1; i >= 0; i--) {
    const message = prompt[i]!
    if (message.role !== 'user') continue
    if (typeof message.content === 'string') return message.content
    if (Array.isArray(message.content)) {
      return message.content
        .map((part: unknown) => (part && typeof part === 'object' && 'text' in part && typeof part.text === 'string' ? part.text : ''))
        .join('')
    }
  }
  return ''
}

export const TEXT_DELTAS = ['Hello', ' from', ' the', ' mock', ' model.']
export const WEATHER_TEXT = 'Let me check the weather.'

/** Step-1 stream parts: a weather question gets a short text and a `getWeather` call, anything else text. */
export function partsFor(userText: string): Array<Record<string, unknown>> {
  const parts: Array<Record<string, unknown>> = [
    { type: 'stream-start', warnings: [] },
    { type: 'response-metadata', id: 'resp_mock', modelId: 'mock-model', timestamp: new Date(0) },
  ]
  if (/weather/i.test(userText)) {
    const city = /\bin ([A-Z][\w-]*)/.exec(userText)?.[1] ?? 'Paris'
    const input = JSON.stringify({ city })
    parts.push(
      { type: 'text-start', id: 't1' },
      { type: 'text-delta', id: 't1', delta: WEATHER_TEXT },
      { type: 'text-end', id: 't1' },
      { type: 'tool-input-start', id: 'call_weather_1', toolName: 'getWeather' },
      { type: 'tool-input-delta', id: 'call_weather_1', delta: input },
      { type: 'tool-input-end', id: 'call_weather_1' },
      { type: 'tool-call', toolCallId: 'call_weather_1', toolName: 'getWeather', input },
      flavour.finish('tool-calls', 12, 9),
    )
  } else {
    parts.push(
      { type: 'text-start', id: 't1' },
      ...TEXT_DELTAS.map((delta) => ({ type: 'text-delta', id: 't1', delta })),
      { type: 'text-end', id: 't1' },
      flavour.finish('stop', 8, TEXT_DELTAS.length),
    )
  }
  return parts
}

/** A deterministic streaming model for the installed `ai` major (no network, no key). */
export function createMockModel({ chunkDelayInMs = 5 }: { chunkDelayInMs?: number } = {}): LanguageModel {
  return new Mock({
    provider: 'ai-app',
    modelId: 'mock-model',
    doStream: async ({ prompt }) => ({
      stream: simulate({ chunks: partsFor(lastUserText(prompt)), initialDelayInMs: 20, chunkDelayInMs }),
    }),
  })
}
