// The main job end to end over HTTP (no browser): `startDemo` = local plane + agent + Express app.
// Turn 1 goes through the head-start route, turn 2 straight to the plane with the session token,
// both driven by the real TriggerChatTransport (the code the browser runs).
import test from 'ava'
import { randomUUID } from 'node:crypto'
import { TriggerChatTransport } from '@trigger.dev/sdk/chat'
import { startDemo, AGENT_ID, type Demo } from '../demo/server.mjs'
import { formatTable, runCompare } from '../demo/compare.mjs'
import { weatherAnswer, weatherFor } from '../demo/weather.mjs'
import { localEnv, postFirstMessage, readUiStream, textOf, type Chunk } from './demo-helpers.ts'

const fast = { ttftMs: 30, minTokensPerSecond: 400, maxTokensPerSecond: 800 }

const impls = ['reference', 'ours'] as const
const demos = new Map<string, Demo>()

test.before(async () => {
  for (const impl of impls) demos.set(impl, await startDemo({ port: 0, impl, env: localEnv(), modelTiming: fast }))
})
test.after.always(async () => {
  for (const demo of demos.values()) await demo.close()
})

function transportFor(demo: Demo, baseURL: string) {
  const session = async ({ chatId }: { chatId: string }) => {
    const res = await fetch(new URL('api/chat/session', demo.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ chatId }),
    })
    if (!res.ok) throw new Error(`session route ${res.status}`)
    return (await res.json()) as { publicAccessToken: string }
  }
  return new TriggerChatTransport({
    task: AGENT_ID,
    headStart: new URL('api/chat', demo.url).href,
    baseURL,
    accessToken: async (p) => (await session(p)).publicAccessToken,
    startSession: session,
  })
}

async function collect(stream: ReadableStream<unknown>): Promise<Chunk[]> {
  const chunks: Chunk[] = []
  for await (const chunk of stream as unknown as AsyncIterable<Chunk>) chunks.push(chunk)
  return chunks
}

for (const impl of impls) {
  test(`${impl}: the page and its bundle are served`, async (t) => {
    const demo = demos.get(impl)!
    const html = await (await fetch(demo.url)).text()
    t.regex(html, /window\.__DEMO__ = \{"agentId":"demo-agent","headStart":"\/api\/chat"/)
    const js = await fetch(new URL('app.js', demo.url))
    t.is(js.status, 200)
    t.regex(js.headers.get('content-type') ?? '', /javascript/)
    t.true((await js.text()).length > 100_000)
  })

  test(`${impl}: a weather question streams step 1, the agent's tool output and step 2 in one response`, async (t) => {
    const demo = demos.get(impl)!
    const res = await postFirstMessage(new URL('api/chat', demo.url).href, `t-${randomUUID()}`, 'What is the weather in Paris?')
    t.is(res.status, 200)
    t.truthy(res.headers.get('x-trigger-chat-access-token'))
    const chunks = await readUiStream(res)
    const types = chunks.map((c) => c.type)
    const firstFinish = types.indexOf('finish')
    t.like(chunks[firstFinish], { finishReason: 'tool-calls' })
    t.is(textOf(chunks.slice(0, firstFinish)), 'Let me check the current weather in Paris.')
    const call = chunks.find((c) => c.type === 'tool-input-available')
    t.like(call, { toolName: 'getWeather', input: { city: 'Paris' } })
    const phase2 = chunks.slice(firstFinish + 1)
    t.like(phase2[0], { type: 'start', messageId: chunks[0].messageId })
    t.deepEqual(phase2.find((c) => c.type === 'tool-output-available'), {
      type: 'tool-output-available',
      toolCallId: call!.toolCallId,
      output: weatherFor('Paris'),
    })
    t.is(textOf(phase2), weatherAnswer(weatherFor('Paris')))
    t.deepEqual(types.slice(-2), ['trigger:turn-complete', 'trigger:session-state'])
  })

  test(`${impl}: a plain question completes with the agent's turn-complete`, async (t) => {
    const demo = demos.get(impl)!
    const res = await postFirstMessage(new URL('api/chat', demo.url).href, `t-${randomUUID()}`, 'Hello!')
    const chunks = await readUiStream(res)
    t.true(textOf(chunks).startsWith('You asked: "Hello!".'))
    t.like(chunks.find((c) => c.type === 'finish'), { finishReason: 'stop' })
    t.deepEqual(chunks.slice(-2).map((c) => c.type), ['trigger:turn-complete', 'trigger:session-state'])
  })

  test(`${impl}: turn 1 via head start, turn 2 direct to the session with the transport`, async (t) => {
    const demo = demos.get(impl)!
    // The page's own setting: direct to the plane when it allows CORS, else the demo's proxy.
    const baseURL = new URL(demo.browserBaseURL, demo.url).href
    const transport = transportFor(demo, baseURL)
    const chatId = `t-${randomUUID()}`
    const u1 = { id: 'u1', role: 'user' as const, parts: [{ type: 'text' as const, text: 'What is the weather in Paris?' }] }
    const turn1 = await collect(await transport.sendMessages({ chatId, trigger: 'submit-message', messageId: undefined, messages: [u1], abortSignal: undefined }))
    t.is(turn1.filter((c) => c.type === 'tool-output-available').length, 1)
    t.falsy(turn1.find((c) => c.type.startsWith('trigger:')), 'the transport drops the private chunks')
    const u2 = { id: 'u2', role: 'user' as const, parts: [{ type: 'text' as const, text: 'And the weather in Tokyo?' }] }
    const turn2 = await collect(await transport.sendMessages({ chatId, trigger: 'submit-message', messageId: undefined, messages: [u1, u2], abortSignal: undefined }))
    t.deepEqual(turn2.find((c) => c.type === 'tool-output-available')?.output, weatherFor('Tokyo'))
    t.true(textOf(turn2).endsWith(weatherAnswer(weatherFor('Tokyo'))))
    t.falsy(turn2.find((c) => c.type === 'tool-output-available' && (c.output as { city: string }).city === 'Paris'), 'turn 1 is not replayed')
  })
}

test('turn 2 also works through the demo\'s same-origin proxy of the plane (/trigger)', async (t) => {
  const demo = demos.get('ours')!
  const transport = transportFor(demo, new URL('trigger', demo.url).href)
  const chatId = `t-${randomUUID()}`
  const u1 = { id: 'u1', role: 'user' as const, parts: [{ type: 'text' as const, text: 'Hi!' }] }
  const turn1 = await collect(await transport.sendMessages({ chatId, trigger: 'submit-message', messageId: undefined, messages: [u1], abortSignal: undefined }))
  t.true(textOf(turn1).startsWith('You asked: "Hi!".'))
  const u2 = { id: 'u2', role: 'user' as const, parts: [{ type: 'text' as const, text: 'Weather in Madrid?' }] }
  const turn2 = await collect(await transport.sendMessages({ chatId, trigger: 'submit-message', messageId: undefined, messages: [u1, u2], abortSignal: undefined }))
  t.deepEqual(turn2.find((c) => c.type === 'tool-output-available')?.output, weatherFor('Madrid'))
})

test('the session route validates its body', async (t) => {
  const demo = demos.get('reference')!
  const res = await fetch(new URL('api/chat/session', demo.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"chatId": 5}' })
  t.is(res.status, 400)
  t.regex((await res.json()).error, /chatId/)
})

test('a turn started without Head Start is answered by the agent after its boot', async (t) => {
  const demo = demos.get('reference')!
  const transport = new TriggerChatTransport({
    task: AGENT_ID,
    baseURL: new URL(demo.browserBaseURL, demo.url).href,
    accessToken: () => 'unused',
    startSession: async ({ chatId }) => (await fetch(new URL('api/chat/session', demo.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ chatId }) })).json(),
  })
  const chunks = await collect(await transport.sendMessages({
    chatId: `t-${randomUUID()}`,
    trigger: 'submit-message',
    messageId: undefined,
    messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'weather in Berlin?' }] }],
    abortSignal: undefined,
  }))
  t.deepEqual(chunks.find((c) => c.type === 'tool-output-available')?.output, weatherFor('Berlin'))
  t.true(textOf(chunks).endsWith(weatherAnswer(weatherFor('Berlin'))))
})

test('--compare measures both modes and prints the table', async (t) => {
  const lines: string[] = []
  const results = await runCompare({
    runs: 1,
    scenarios: ['weather'],
    print: (line) => lines.push(line),
    timing: { llmTtftMs: 60, minTokensPerSecond: 400, maxTokensPerSecond: 800, agentBootMs: 300, controlPlaneLatencyMs: 10 },
  })
  const out = lines.join('\n')
  t.log(out)
  t.regex(out, /\| TTFT avg \(range\)\s+\| \d+ ms \(\d+–\d+\)\s+\| \d+ ms \(\d+–\d+\)\s+\| [−+]?\d+%/)
  t.regex(out, /\| Total turn avg \(range\)/)
  // Without Head Start the agent boot (300 ms) precedes the LLM call; with it they overlap.
  t.true(results.weather.without[0].ttftMs > results.weather.with[0].ttftMs)
})

test('formatTable computes averages, ranges and deltas', (t) => {
  const r = (ttftMs: number, totalMs: number) => ({ ttftMs, totalMs, text: '', toolOutputs: [] })
  const table = formatTable('x', 'q', { without: [r(2800, 4000), r(2802, 4100)], with: [r(1200, 2200), r(1236, 2300)] })
  t.regex(table, /\| TTFT avg \(range\)\s+\| 2801 ms \(2800–2802\)\s+\| 1218 ms \(1200–1236\)\s+\| −57%/)
  t.regex(table, /\| Total turn avg \(range\)\s+\| 4050 ms \(4000–4100\)\s+\| 2250 ms \(2200–2300\)\s+\| −44%/)
})
