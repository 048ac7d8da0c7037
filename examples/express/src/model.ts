// The example's model: a provider when its key is set, else a scripted local model so the app
// runs with no key (and in the package's tests). Weather questions get a `getWeather` tool call,
// which the agent run executes after the handover; anything else gets a short text.
import { simulateReadableStream, type LanguageModel } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } }

function lastUserText(prompt: Array<{ role: string; content: unknown }>): string {
  const user = prompt.findLast((m) => m.role === 'user')
  const parts = Array.isArray(user?.content) ? (user.content as Array<{ type: string; text?: string }>) : []
  return parts.map((p) => (p.type === 'text' ? p.text : '')).join('')
}

function scriptedModel(): LanguageModel {
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
            ...(city ? [{ type: 'tool-call' as const, toolCallId: 'call-1', toolName: 'getWeather', input: JSON.stringify({ city }) }] : []),
            { type: 'finish', finishReason: { unified: city ? 'tool-calls' : 'stop', raw: undefined }, usage },
          ],
          chunkDelayInMs: 5,
        }),
      }
    },
  })
}

export async function chooseModel(): Promise<LanguageModel> {
  if (process.env.OPENAI_API_KEY) {
    // `npm install @ai-sdk/openai` to use it.
    const { openai } = await import('@ai-sdk/openai' as string)
    return openai(process.env.OPENAI_MODEL ?? 'gpt-4o-mini')
  }
  return scriptedModel()
}
