// A deterministic local language model (AI SDK LanguageModelV4, the spec `ai@7` calls) that
// behaves like a hosted model on the wire: a time to first token, then tokens at a realistic
// rate. No network, no API key. Weather questions get a short text and a `getWeather` tool call
// (finishReason `tool-calls`); a prompt that ends in a getWeather result gets the answer; any
// other prompt gets a plain text answer.
import { randomUUID } from 'node:crypto'
import { checkingText, cityOf, isWeatherQuestion, weatherAnswer } from './weather.mjs'

export const DEFAULT_MODEL_TIMING = Object.freeze({ ttftMs: 400, minTokensPerSecond: 30, maxTokensPerSecond: 60 })

/** Splits text into token-sized pieces (a word with its leading space; long words in 4-char bits). */
export function tokenize(text) {
  const pieces = []
  for (const word of text.match(/\s*\S+/g) ?? []) {
    for (let i = 0; i < word.length; i += 6) pieces.push(word.slice(i, i + 6))
  }
  return pieces
}

/** Small seeded PRNG (mulberry32) so the token cadence is reproducible per prompt. */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function textOf(message) {
  if (typeof message.content === 'string') return message.content
  return message.content
    .filter((part) => part.type === 'text')
    .map((part) => part.text)
    .join('')
}

function plainAnswer(question) {
  const q = question.trim().replace(/\s+/g, ' ')
  // Asked to be brief: one short sentence (the --compare "text" scenario, a typical chat reply).
  if (/\b(brief|briefly|short|one sentence)\b/i.test(q)) {
    return 'Head Start streams the first answer from your warm server while the agent run boots, so text arrives sooner.'
  }
  const quoted = q.length > 80 ? `${q.slice(0, 77)}...` : q
  return `You asked: "${quoted}". This reply comes from the demo's local model, which streams ` +
    'tokens at a realistic pace after a realistic time to first token, so the timings you see are ' +
    'those of the protocol, not of a provider. Ask about the weather in a city to see a tool call ' +
    'that the agent executes after the handover.'
}

/** What the model will say for a prompt: { kind: 'text', text } | { kind: 'tool-call', text, city }. */
export function planReply(prompt, toolNames) {
  const last = prompt[prompt.length - 1]
  if (last?.role === 'tool') {
    const result = last.content.find((part) => part.type === 'tool-result' && part.toolName === 'getWeather')
    const value = result?.output?.type === 'json' ? result.output.value : undefined
    if (value && typeof value === 'object' && 'tempC' in value) return { kind: 'text', text: weatherAnswer(value) }
    return { kind: 'text', text: 'The weather service did not answer, so I cannot tell you the weather right now.' }
  }
  const lastUser = [...prompt].reverse().find((m) => m.role === 'user')
  const question = lastUser ? textOf(lastUser) : ''
  if (isWeatherQuestion(question) && toolNames.has('getWeather')) {
    const city = cityOf(question)
    return { kind: 'tool-call', text: checkingText(city), city }
  }
  return { kind: 'text', text: plainAnswer(question) }
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

const usage = (input, output) => ({
  inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: output, text: output, reasoning: 0 },
})

/**
 * Creates the local model. Options: `ttftMs` (time to first token, default 400),
 * `minTokensPerSecond` / `maxTokensPerSecond` (default 30-60; each token's gap is drawn in that
 * range from a PRNG seeded by the prompt), `modelId`.
 * @returns {import('@ai-sdk/provider').LanguageModelV4}
 */
export function createLocalModel(options = {}) {
  const timing = { ...DEFAULT_MODEL_TIMING, ...options }
  if (!(timing.ttftMs >= 0) || !(timing.minTokensPerSecond > 0) || !(timing.maxTokensPerSecond >= timing.minTokensPerSecond)) {
    throw new Error(`createLocalModel: invalid timing ${JSON.stringify(timing)}`)
  }
  return {
    specificationVersion: 'v4',
    provider: 'chat-headstart-demo',
    modelId: options.modelId ?? 'local-demo',
    supportedUrls: {},
    async doGenerate() {
      throw new Error('The local demo model only streams (use streamText).')
    },
    async doStream({ prompt, tools = [], abortSignal }) {
      const plan = planReply(prompt, new Set(tools.map((t) => t.name)))
      const seedText = JSON.stringify(prompt.at(-1) ?? '')
      let seed = 0
      for (const ch of seedText) seed = (Math.imul(seed, 31) + ch.charCodeAt(0)) | 0
      const random = prng(seed)
      const gap = () => 1000 / (timing.minTokensPerSecond + random() * (timing.maxTokensPerSecond - timing.minTokensPerSecond))
      const inputTokens = Math.ceil(JSON.stringify(prompt).length / 4)

      const textId = `txt_${randomUUID().replaceAll('-', '').slice(0, 12)}`
      const stream = new ReadableStream({
        async start(controller) {
          try {
            controller.enqueue({ type: 'stream-start', warnings: [] })
            await sleep(timing.ttftMs, abortSignal)
            controller.enqueue({ type: 'response-metadata', id: `resp_${randomUUID()}`, modelId: 'local-demo', timestamp: new Date() })
            const tokens = tokenize(plan.text)
            controller.enqueue({ type: 'text-start', id: textId })
            for (let i = 0; i < tokens.length; i++) {
              if (i > 0) await sleep(gap(), abortSignal)
              controller.enqueue({ type: 'text-delta', id: textId, delta: tokens[i] })
            }
            controller.enqueue({ type: 'text-end', id: textId })
            let outputTokens = tokens.length
            if (plan.kind === 'tool-call') {
              const toolCallId = `call_${randomUUID().replaceAll('-', '').slice(0, 12)}`
              const input = JSON.stringify({ city: plan.city })
              await sleep(gap(), abortSignal)
              controller.enqueue({ type: 'tool-input-start', id: toolCallId, toolName: 'getWeather' })
              controller.enqueue({ type: 'tool-input-delta', id: toolCallId, delta: input })
              controller.enqueue({ type: 'tool-input-end', id: toolCallId })
              controller.enqueue({ type: 'tool-call', toolCallId, toolName: 'getWeather', input })
              outputTokens += 6
            }
            controller.enqueue({
              type: 'finish',
              finishReason: { unified: plan.kind === 'tool-call' ? 'tool-calls' : 'stop', raw: undefined },
              usage: usage(inputTokens, outputTokens),
            })
            controller.close()
          } catch (error) {
            controller.error(error)
          }
        },
      })
      return { stream }
    },
  }
}
