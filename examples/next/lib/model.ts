// The example's model: with AI_GATEWAY_API_KEY set, a real one through the Vercel AI Gateway
// (`ai`'s default provider: any "provider/model" id, CHAT_MODEL, default openai/gpt-4o-mini).
// Without a key, a scripted local model, so the app runs as is (and in the package's tests):
// weather questions get a `getWeather` tool call, which the agent run executes after the
// handover; anything else gets a short text.
import { simulateReadableStream, type LanguageModel } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } }

function lastUserText(prompt: Array<{ role: string; content: unknown }>): string {
  const user = prompt.findLast((m) => m.role === 'user')
  const parts = Array.isArray(user?.content) ? (user.content as Array<{ type: string; text?: string }>) : []
  return parts.map((p) => (p.type === 'text' ? p.text : '')).join('')
}

function scriptedModel(): LanguageModel {
  // A test double from `ai/test` (it also records every call it gets): fine for a demo, not for production.
  return new MockLanguageModelV4({
    doStream: async ({ prompt }) => {
      const city = /weather in ([A-Z][\w -]*)/i.exec(lastUserText(prompt))?.[1]?.trim()
      const text = city ? `Let me check the weather in ${city}.` : 'Hello from the local model.'
      return {
        stream: simulateReadableStream({
          chunks: [
            { type: 'text-start', id: 't1' },
            ...text.split(/(?<= )/).map((delta) => ({ type: 'text-delta' as const, id: 't1', delta })),
            { type: 'text-end', id: 't1' },
            ...(city ? [{ type: 'tool-call' as const, toolCallId: `call-${crypto.randomUUID()}`, toolName: 'getWeather', input: JSON.stringify({ city }) }] : []),
            { type: 'finish', finishReason: { unified: city ? 'tool-calls' : 'stop', raw: undefined }, usage },
          ],
          chunkDelayInMs: 5,
        }),
      }
    },
  })
}

export const model: LanguageModel = process.env.AI_GATEWAY_API_KEY ? (process.env.CHAT_MODEL ?? 'openai/gpt-4o-mini') : scriptedModel()
