// `npm start -- --compare`: first turns WITHOUT Head Start (the browser starts the session, the
// agent run boots, then the agent makes the LLM call) against first turns WITH Head Start (the
// warm server makes the step-1 LLM call while the agent boots), on the local plane, with the same
// emulated delays on both sides. Each turn is driven by the real TriggerChatTransport (the same
// code the browser runs) and timed from `sendMessages` to the first text delta (TTFT) and to the
// end of the turn's stream (the agent's turn-complete).
import { randomUUID } from 'node:crypto'
import { TriggerChatTransport } from '@trigger.dev/sdk/chat'
import { AGENT_ID, startDemo } from './server.mjs'

/** The emulated situation (see README): a hosted LLM, a cold agent run, a cloud control plane. */
export const COMPARE_TIMING = Object.freeze({
  llmTtftMs: 1000, // model time to first token (each LLM call: step 1 and step 2)
  minTokensPerSecond: 30,
  maxTokensPerSecond: 60,
  agentBootMs: 1600, // run triggered → agent ready: queue, cold start, onChatStart/onTurnStart hooks
  controlPlaneLatencyMs: 100, // added to every control-plane response (the cloud round trip)
})

export const SCENARIOS = {
  text: { prompt: 'In one sentence: what does Head Start change for the first turn?', expectTool: false },
  weather: { prompt: 'What is the weather in Paris?', expectTool: true },
}

const sessionCallbacks = (demoUrl) => {
  const route = new URL('api/chat/session', demoUrl).href
  const start = async ({ chatId }) => {
    const res = await fetch(route, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ chatId }) })
    if (!res.ok) throw new Error(`session route: ${res.status} ${await res.text()}`)
    return res.json()
  }
  return { startSession: start, accessToken: async (p) => (await start(p)).publicAccessToken }
}

/** Runs one first turn; resolves { ttftMs, totalMs, text, toolOutputs }. */
export async function measureFirstTurn({ demoUrl, apiUrl, headStart, prompt, timeoutMs = 60_000 }) {
  const transport = new TriggerChatTransport({
    task: AGENT_ID,
    baseURL: apiUrl,
    ...sessionCallbacks(demoUrl),
    ...(headStart ? { headStart: new URL('api/chat', demoUrl).href } : {}),
  })
  const chatId = `compare-${headStart ? 'hs' : 'direct'}-${randomUUID()}`
  const signal = AbortSignal.timeout(timeoutMs)
  const t0 = performance.now()
  const stream = await transport.sendMessages({
    chatId,
    trigger: 'submit-message',
    messageId: undefined,
    messages: [{ id: randomUUID(), role: 'user', parts: [{ type: 'text', text: prompt }] }],
    abortSignal: signal,
  })
  let ttftMs
  let text = ''
  const toolOutputs = []
  for await (const chunk of stream) {
    if (chunk.type === 'text-delta') {
      ttftMs ??= performance.now() - t0
      text += chunk.delta
    } else if (chunk.type === 'tool-output-available') {
      toolOutputs.push(chunk.output)
    } else if (chunk.type === 'error') {
      throw new Error(`turn failed: ${chunk.errorText}`)
    }
  }
  const totalMs = performance.now() - t0
  transport.dispose?.()
  if (ttftMs === undefined) throw new Error('the turn produced no text')
  return { ttftMs, totalMs, text, toolOutputs }
}

const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
const ms = (x) => `${Math.round(x)} ms`
const stat = (xs) => `${ms(avg(xs))} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})`
const delta = (without, withHs) => {
  const d = Math.round(((avg(withHs) - avg(without)) / avg(without)) * 100)
  return `${d > 0 ? '+' : d < 0 ? '−' : ''}${Math.abs(d)}%`
}

/** Formats the comparison as a Markdown table (what the seed's headline table shows). */
export function formatTable(name, prompt, results) {
  const rows = [
    ['TTFT avg (range)', stat(results.without.map((r) => r.ttftMs)), stat(results.with.map((r) => r.ttftMs)), delta(results.without.map((r) => r.ttftMs), results.with.map((r) => r.ttftMs))],
    ['Total turn avg (range)', stat(results.without.map((r) => r.totalMs)), stat(results.with.map((r) => r.totalMs)), delta(results.without.map((r) => r.totalMs), results.with.map((r) => r.totalMs))],
  ]
  const header = ['', `Without Head Start (n=${results.without.length})`, `With Head Start (n=${results.with.length})`, 'Δ']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`
  return [
    `Scenario "${name}": ${JSON.stringify(prompt)}`,
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n')
}

/**
 * Starts a demo with the compare timings, runs `runs` turns per mode and scenario (alternating
 * the modes so drift affects both equally), prints the tables and resolves with the results.
 */
export async function runCompare({ runs = 5, impl, scenarios = Object.keys(SCENARIOS), print = console.log, timing = COMPARE_TIMING } = {}) {
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer')
  // The comparison is only meaningful on the local plane with the deterministic model.
  const env = { ...process.env, DEMO_MODEL: 'local' }
  delete env.TRIGGER_SECRET_KEY
  const demo = await startDemo({
    port: 0,
    impl,
    env,
    modelTiming: { ttftMs: timing.llmTtftMs, minTokensPerSecond: timing.minTokensPerSecond, maxTokensPerSecond: timing.maxTokensPerSecond },
    agentBootMs: timing.agentBootMs,
    controlPlaneLatencyMs: timing.controlPlaneLatencyMs,
  })
  const all = {}
  try {
    print(`chat-headstart compare: ${runs} first turns without and ${runs} with Head Start per scenario`)
    print(`emulated: LLM TTFT ${timing.llmTtftMs} ms per call, ${timing.minTokensPerSecond}–${timing.maxTokensPerSecond} tokens/s; agent boot ${timing.agentBootMs} ms; control-plane latency +${timing.controlPlaneLatencyMs} ms per call`)
    print(`${demo.implDescription}; local session plane ${demo.apiUrl}`)
    // One unmeasured warm-up turn per mode: module loading and first connections are not the protocol.
    for (const headStart of [false, true]) {
      await measureFirstTurn({ demoUrl: demo.url, apiUrl: demo.apiUrl, headStart, prompt: SCENARIOS.text.prompt })
    }
    for (const name of scenarios) {
      const scenario = SCENARIOS[name]
      if (!scenario) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`)
      const results = { without: [], with: [] }
      for (let i = 0; i < runs; i++) {
        for (const headStart of i % 2 === 0 ? [false, true] : [true, false]) {
          const r = await measureFirstTurn({ demoUrl: demo.url, apiUrl: demo.apiUrl, headStart, prompt: scenario.prompt })
          if (scenario.expectTool && r.toolOutputs.length !== 1) {
            throw new Error(`${name} turn ${headStart ? 'with' : 'without'} Head Start: expected one tool output, got ${r.toolOutputs.length}`)
          }
          ;(headStart ? results.with : results.without).push(r)
        }
      }
      all[name] = results
      print('')
      print(formatTable(name, scenario.prompt, results))
    }
  } finally {
    await demo.close()
  }
  return all
}
