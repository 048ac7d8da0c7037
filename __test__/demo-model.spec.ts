// The demo's deterministic local model and weather tool (no plane needed).
import test from 'ava'
import { jsonSchema, stepCountIs, streamText, tool } from 'ai'
import { createLocalModel, planReply, tokenize } from '../demo/model.mjs'
import { cityOf, getWeatherInputSchema, isWeatherQuestion, weatherAnswer, weatherFor } from '../demo/weather.mjs'

const schemaOnly = { getWeather: tool({ inputSchema: jsonSchema(getWeatherInputSchema) }) }

async function collect(result: { toUIMessageStream(): AsyncIterable<unknown> }) {
  const chunks: Array<Record<string, unknown>> = []
  for await (const chunk of result.toUIMessageStream()) chunks.push(chunk as Record<string, unknown>)
  return chunks
}

test('weather questions stream a short text, then a schema-only getWeather call (finishReason tool-calls)', async (t) => {
  const model = createLocalModel({ ttftMs: 20, minTokensPerSecond: 500, maxTokensPerSecond: 1000 })
  const result = streamText({ model, prompt: 'What is the weather in New York?', tools: schemaOnly, stopWhen: stepCountIs(1) })
  const chunks = await collect(result)
  t.is(await result.finishReason, 'tool-calls')
  const text = chunks.filter((c) => c.type === 'text-delta').map((c) => c.delta).join('')
  t.is(text, 'Let me check the current weather in New York.')
  const call = chunks.find((c) => c.type === 'tool-input-available')
  t.like(call, { toolName: 'getWeather', input: { city: 'New York' } })
  t.true(chunks.findIndex((c) => c.type === 'text-end') < chunks.findIndex((c) => c.type === 'tool-input-start'))
  t.falsy(chunks.find((c) => c.type === 'tool-output-available'), 'step 1 does not execute the tool')
})

test('other prompts get a plain text answer (finishReason stop)', async (t) => {
  const model = createLocalModel({ ttftMs: 10, minTokensPerSecond: 800, maxTokensPerSecond: 1000 })
  const result = streamText({ model, prompt: 'Hello there', tools: schemaOnly })
  const chunks = await collect(result)
  t.is(await result.finishReason, 'stop')
  const text = chunks.filter((c) => c.type === 'text-delta').map((c) => c.delta).join('')
  t.true(text.startsWith('You asked: "Hello there".'))
  t.falsy(chunks.find((c) => c.type === 'tool-input-start'))
})

test('asked to be brief, the model answers in one short sentence', (t) => {
  const plan = planReply([{ role: 'user', content: [{ type: 'text', text: 'Briefly: what is this?' }] }], new Set())
  t.is(plan.kind, 'text')
  t.true(tokenize(plan.text).length < 30)
})

test('with an executing tool the second step answers from the tool output', async (t) => {
  const model = createLocalModel({ ttftMs: 5, minTokensPerSecond: 800, maxTokensPerSecond: 1000 })
  const tools = { getWeather: tool({ inputSchema: jsonSchema<{ city: string }>(getWeatherInputSchema), execute: async ({ city }) => weatherFor(city) }) }
  const result = streamText({ model, prompt: 'weather in Oslo?', tools, stopWhen: stepCountIs(3) })
  await collect(result)
  t.is(await result.finishReason, 'stop')
  const steps = await result.steps
  t.is(steps.length, 2)
  t.is(steps[1].text, weatherAnswer(weatherFor('Oslo')))
})

test('the first token waits for the configured time to first token', async (t) => {
  const model = createLocalModel({ ttftMs: 150, minTokensPerSecond: 1000, maxTokensPerSecond: 1000 })
  const started = performance.now()
  const result = streamText({ model, prompt: 'Hi' })
  for await (const _delta of result.textStream) break
  t.true(performance.now() - started >= 145)
})

test('abort stops the stream', async (t) => {
  const model = createLocalModel({ ttftMs: 5000 })
  const abort = new AbortController()
  const result = streamText({ model, prompt: 'Hi', abortSignal: abort.signal })
  setTimeout(() => abort.abort(), 20)
  const started = performance.now()
  const chunks = await collect(result)
  t.true(performance.now() - started < 4000)
  t.truthy(chunks.find((c) => c.type === 'abort'))
})

test('weather is a deterministic function of the city; cities are found in questions', (t) => {
  t.deepEqual(weatherFor('Paris'), weatherFor('paris'.replace('p', 'P')))
  const w = weatherFor('Lisbon')
  t.true(Number.isInteger(w.tempC) && w.tempC >= -4 && w.tempC <= 31)
  t.is(cityOf('What is the weather in São Paulo today?'), 'São Paulo')
  t.is(cityOf('weather for Rome'), 'Rome')
  t.is(cityOf('what is the weather like?'), 'Paris')
  t.true(isWeatherQuestion('Will the FORECAST be good?'))
  t.false(isWeatherQuestion('Tell me a joke'))
})

test('tokenize keeps every character and splits long words', (t) => {
  const text = 'Internationalization is long, really.'
  const pieces = tokenize(text)
  t.is(pieces.join(''), text)
  t.true(pieces.every((p) => p.trim().length <= 6))
  const weatherPrompt = [{ role: 'user', content: [{ type: 'text', text: 'weather in Rome?' }] }]
  t.is(planReply(weatherPrompt, new Set()).kind, 'text', 'no getWeather tool offered: no tool call')
  t.like(planReply(weatherPrompt, new Set(['getWeather'])), { kind: 'tool-call', city: 'Rome' })
})
