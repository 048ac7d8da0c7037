// bench/headstart: our chat.headStart vs the reference (@trigger.dev/sdk 4.8.3) on the same local
// plane with the same mock model — 400 ms model TTFB, 100 ms control-plane latency, 500 ms agent
// boot — in one run, printing ratios. `npm run bench -- headstart [--quick]`.
//
// Processes: this one is the browser (client + orchestration); the plane runs in a child
// process and each handler implementation in its own child, so CPU and RSS are the handler's
// alone (process.cpuUsage / resourceUsage reported over IPC).
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'

const self = fileURLToPath(import.meta.url)
const role = process.argv.find((a) => a.startsWith('--role='))?.slice(7) ?? 'main'
const quick = process.argv.includes('--quick')

const STAMP = '[stamp]'
/** Wall-clock ms with sub-ms precision, comparable across the bench's processes. */
const epochMs = () => performance.timeOrigin + performance.now()

const MODEL_TTFB_MS = 400
const API_LATENCY_MS = 100
const AGENT_BOOT_MS = 500

// ---------------------------------------------------------------------------------------------
// Role: plane.

if (role === 'plane') {
  const { startDevPlane } = await import('../../index.js')
  const plane = await startDevPlane({
    logRequests: false,
    agent: { bootDelayMs: AGENT_BOOT_MS, toolOutputs: { getWeather: { city: 'Paris', tempC: 20 } }, text: ['It is ', '20C.'] },
    faults: { latencyMs: API_LATENCY_MS },
  })
  process.send({ apiUrl: plane.apiUrl, secretKey: plane.secretKey })
  process.on('message', (m) => {
    // Long turns go out in appends of ≤ 500 records (S2 caps a batch at 1000).
    if (m.agentText) plane.setAgent({ text: m.agentText, recordsPerAppend: 500 })
    if (m.bootDelayMs !== undefined) plane.setAgent({ bootDelayMs: m.bootDelayMs })
    if (m.outTimestamps) {
      // Arrival time (epoch ms) of every session.out record of each chat, for the chunk delays.
      const out = {}
      for (const chatId of m.outTimestamps) out[chatId] = plane.records(chatId, 'out')?.records.map((r) => r.timestamp) ?? []
      return process.send({ outTimestamps: out })
    }
    process.send({ ok: true })
  })
}

// ---------------------------------------------------------------------------------------------
// Role: server (one handler implementation).

if (role === 'server') {
  const impl = process.argv.find((a) => a.startsWith('--impl=')).slice(7)
  const apiClient = JSON.parse(process.env.BENCH_API_CLIENT)
  const http = await import('node:http')
  const { simulateReadableStream, streamText, convertToModelMessages, tool, stepCountIs } = await import('ai')
  const { MockLanguageModelV4 } = await import('ai/test')
  const { z } = await import('zod')
  const { chat } = await import('../../index.js')
  const { chat: refChat } = await import('@trigger.dev/sdk/chat-server')
  const usage = { inputTokens: { total: 3, noCache: 3 }, outputTokens: { total: 5, text: 5 } }
  const finish = (unified) => ({ type: 'finish', finishReason: { unified, raw: unified }, usage })
  const textParts = [
    { type: 'stream-start', warnings: [] },
    { type: 'text-start', id: 's1' },
    ...Array.from({ length: 20 }, (_, i) => ({ type: 'text-delta', id: 's1', delta: `w${i} ` })),
    { type: 'text-end', id: 's1' },
    finish('stop'),
  ]
  const toolParts = [
    { type: 'stream-start', warnings: [] },
    { type: 'text-start', id: 's1' },
    { type: 'text-delta', id: 's1', delta: 'Checking.' },
    { type: 'text-end', id: 's1' },
    { type: 'tool-call', toolCallId: 'call_1', toolName: 'getWeather', input: '{"city":"Paris"}' },
    finish('tool-calls'),
  ]
  // A stamped turn (message text contains STAMP) appends `@<epoch ms>` to each text delta as the
  // model emits it: the production time the client measures chunk delay against.
  const stampDeltas = () =>
    new TransformStream({
      transform(part, c) {
        c.enqueue(part.type === 'text-delta' ? { ...part, delta: `${part.delta}@${epochMs()} ` } : part)
      },
    })
  const model = (parts, stamp) =>
    new MockLanguageModelV4({
      doStream: async () => {
        const stream = simulateReadableStream({ chunks: parts, initialDelayInMs: MODEL_TTFB_MS, chunkDelayInMs: 5 })
        return { stream: stamp ? stream.pipeThrough(stampDeltas()) : stream }
      },
    })
  const tools = { getWeather: tool({ description: 'weather', inputSchema: z.object({ city: z.string() }) }) }
  const run = async ({ streamText: bound, messages }) => {
    const text = JSON.stringify(messages)
    return bound({ model: model(text.includes('weather') ? toolParts : textParts, text.includes(STAMP)), tools })
  }
  let listener
  if (impl === 'ours') listener = chat.toNodeListener(chat.headStart({ agentId: 'bench-agent', apiClient, run, idleTimeoutInSeconds: 120 }))
  if (impl === 'ref') listener = refChat.toNodeListener(refChat.headStart({ agentId: 'bench-agent', apiClient, run, idleTimeoutInSeconds: 120 }))
  if (impl === 'plain') {
    // Plain AI SDK streamText (no head start, no session): the TTFC floor, and for a tool-call
    // turn the CPU floor — the same step 1 as run() produces, which any handler calling run() pays.
    listener = chat.toNodeListener(async (req) => {
      const body = await req.json()
      const messages = await convertToModelMessages(body.headStartMessages)
      const result = JSON.stringify(body.headStartMessages).includes('weather')
        ? streamText({ model: model(toolParts), messages, tools, stopWhen: stepCountIs(1) })
        : streamText({ model: model(textParts), messages })
      return result.toUIMessageStreamResponse()
    })
  }
  const server = http.createServer(listener)
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
  // Garbage collections by kind, reported with the CPU (why: see the memory-reducer rows).
  const { PerformanceObserver, constants } = await import('node:perf_hooks')
  const gcs = { minor: 0, major: 0 }
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcs.major++
      else if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) gcs.minor++
    }
  }).observe({ entryTypes: ['gc'] })
  let peakRss = 0
  // memoryUsage.rss() reads /proc only; memoryUsage() also walks the V8 heap spaces, which
  // would bill measurable sampling CPU to whichever handler has the longer turns.
  setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 50).unref()
  process.on('message', (m) => {
    // A clean exit (flushes a --cpu-prof profile).
    if (m === 'exit') process.exit(0)
    if (m === 'memory') {
      globalThis.gc?.()
      return process.send(process.memoryUsage())
    }
    if (m === 'stats') {
      peakRss = Math.max(peakRss, process.memoryUsage.rss())
      process.send({ cpu: process.cpuUsage(), rss: process.memoryUsage.rss(), peakRss, gcs: { ...gcs } })
      peakRss = process.memoryUsage.rss()
    }
  })
}

// ---------------------------------------------------------------------------------------------
// Role: main (the browser side).

function child(args, env = {}, execArgv = []) {
  return fork(self, args, { env: { ...process.env, ...env }, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
}

async function request(c, msg) {
  const reply = once(c, 'message')
  c.send(msg)
  return (await reply)[0]
}

let chatCounter = 0
async function turn(port, { tool = false, stamp = false } = {}) {
  const chatId = `bench-${process.pid}-${++chatCounter}`
  const text = (tool ? 'weather in Paris?' : 'hello there') + (stamp ? ` ${STAMP}` : '')
  // Stamped turns: production (the model's stamp) and arrival times of step-1 text deltas, and
  // arrival times of the chunks after step 1's `finish` (matched to the agent's session.out
  // records later).
  const stepOneDeltaTimes = []
  const phaseTwoArrivals = []
  let stepOneChunks = 0
  let inPhaseTwo = false
  const t0 = performance.now()
  const startEpoch = epochMs()
  const res = await fetch(`http://127.0.0.1:${port}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ headStartMessages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text }] }], chatId, trigger: 'submit-message' }),
  })
  if (!res.ok) throw new Error(`turn failed: ${res.status} ${await res.text()}`)
  const headersEpoch = epochMs()
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let buf = ''
  let ttfc = NaN
  let chunks = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    buf += decoder.decode(value, { stream: true })
    let i
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, i)
      buf = buf.slice(i + 2)
      if (!frame.startsWith('data: ')) continue
      chunks++
      if (Number.isNaN(ttfc) && frame.includes('"text-delta"')) ttfc = performance.now() - t0
      if (!stamp) continue
      if (inPhaseTwo) {
        phaseTwoArrivals.push(epochMs())
        continue
      }
      stepOneChunks++
      const stamped = /@(\d+(?:\.\d+)?) /.exec(frame)
      if (stamped && frame.includes('"text-delta"')) stepOneDeltaTimes.push({ produced: Number(stamped[1]), arrival: epochMs() })
      if (frame.includes('"type":"finish"')) inPhaseTwo = true
    }
  }
  return { chatId, startEpoch, headersEpoch, ttfc, total: performance.now() - t0, chunks, stepOneDeltaTimes, phaseTwoArrivals, stepOneChunks }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
const cpuMs = (a, b) => (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1000
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x))

/**
 * Chunk delay = arrival at the client − production, in three groups:
 * - `stepOne`: step-1 text deltas against the mock model's emission stamp. A handler that starts
 *   the model before createSession returns (ours, improvement 1) produces deltas before it may
 *   answer, so those wait for the response headers: counted here in full.
 * - `stepOneStreaming`: only the step-1 deltas produced after the client had the response
 *   headers — the pure streaming lateness, comparable between the two designs.
 * - `phaseTwo`: every chunk after step 1's `finish` against the arrival (ms resolution) of the
 *   agent's session.out record it came from (the i-th chunk after step 1 ↔ the i-th record after
 *   the step-1 records; the synthesized trailer chunks ↔ the last record, the agent's turn-complete).
 */
function chunkDelays(turns, outTimestamps) {
  const delays = { stepOne: [], stepOneStreaming: [], phaseTwo: [] }
  for (const t of turns) {
    for (const { produced, arrival } of t.stepOneDeltaTimes) {
      delays.stepOne.push(arrival - produced)
      if (produced >= t.headersEpoch) delays.stepOneStreaming.push(arrival - produced)
    }
    const ts = outTimestamps[t.chatId] ?? []
    t.phaseTwoArrivals.forEach((arrival, i) => {
      const produced = ts[Math.min(t.stepOneChunks + i, ts.length - 1)]
      if (produced !== undefined) delays.phaseTwo.push(arrival - produced)
    })
  }
  delays.all = [...delays.stepOne, ...delays.phaseTwo]
  return delays
}

if (role === 'main') {
  const plane = child(['--role=plane'])
  const planeInfo = (await once(plane, 'message'))[0]
  const apiClient = JSON.stringify({ baseURL: planeInfo.apiUrl, accessToken: planeInfo.secretKey })
  // `<impl>-nmr`: the same handler in a process with V8's memory reducer off, for the CPU rows
  // that separate per-turn work from idle-time heap shrinking (see the report).
  const servers = {}
  for (const name of ['plain', 'ours', 'ref', 'plain-nmr', 'ours-nmr', 'ref-nmr']) {
    const [impl, nmr] = name.split('-')
    const c = child(['--role=server', `--impl=${impl}`], { BENCH_API_CLIENT: apiClient }, nmr ? ['--no-memory-reducer'] : [])
    const { port } = (await once(c, 'message'))[0]
    servers[name] = { c, port }
  }
  const rounds = quick ? 5 : 15
  const results = {}
  const record = (k, v) => (results[k] = v)

  // Warm-up (JIT, connection pools).
  for (const impl of ['plain', 'ours', 'ref']) for (let i = 0; i < 2; i++) await turn(servers[impl].port, { tool: impl !== 'plain' })

  // 1. TTFC, rotated rounds.
  const ttfc = { plain: [], ours: [], ref: [] }
  for (let r = 0; r < rounds; r++) {
    for (const impl of ['plain', 'ours', 'ref']) ttfc[impl].push((await turn(servers[impl].port)).ttfc)
  }
  record('ttfc', ttfc)

  // 2. Tool-call turn wall time.
  // Also when the agent appended its last session.out record (the turn-complete), relative to the
  // request: the agent boots at createSession, so no handler can end the turn before that.
  const wall = { ours: [], ref: [] }
  const agentDone = { ours: [], ref: [] }
  for (let r = 0; r < rounds; r++) {
    for (const impl of ['ours', 'ref']) {
      const t = await turn(servers[impl].port, { tool: true })
      wall[impl].push(t.total)
      const { outTimestamps } = await request(plane, { outTimestamps: [t.chatId] })
      agentDone[impl].push(outTimestamps[t.chatId].at(-1) - t.startEpoch)
    }
  }

  // 3./4. Handler CPU per tool-call turn with 200 and with 10,000 phase-2 chunks.
  // Rotated rounds (the implementations take turns, a few turns each, the order shifting every
  // round): a shared box's load drifts, and every handler should see the same drift. Per-turn
  // CPU = all rounds' CPU / all rounds' turns, so the garbage collections a handler causes are
  // billed to it (a median round could skip them).
  const cpuPerTurn = async (deltas, impls) => {
    await request(plane, { agentText: Array.from({ length: deltas }, (_, i) => `t${i} `), bootDelayMs: 0 })
    // Warm-up of this exact scenario first (JIT of the phase-2 path), then the measured rounds.
    for (const impl of impls) for (let i = 0; i < 3; i++) await turn(servers[impl].port, { tool: true })
    const out = Object.fromEntries(impls.map((impl) => [impl, { cpu: 0, chunks: 0, minorGcs: 0, majorGcs: 0 }]))
    for (let r = 0; r < cpuRounds; r++) {
      for (let k = 0; k < impls.length; k++) {
        const impl = impls[(k + r) % impls.length]
        const before = await request(servers[impl].c, 'stats')
        for (let i = 0; i < turnsPerRound; i++) out[impl].chunks = (await turn(servers[impl].port, { tool: true })).chunks
        const after = await request(servers[impl].c, 'stats')
        out[impl].cpu += cpuMs(before, after)
        out[impl].minorGcs += after.gcs.minor - before.gcs.minor
        out[impl].majorGcs += after.gcs.major - before.gcs.major
      }
    }
    const turns = cpuRounds * turnsPerRound
    for (const o of Object.values(out)) o.cpu /= turns
    return out
  }
  const cpuRounds = quick ? 2 : 8
  const turnsPerRound = 5
  const cpu200 = await cpuPerTurn(193, ['ours', 'ref', 'ours-nmr', 'ref-nmr', 'plain-nmr'])
  // Per phase-2 chunk: the 10,000 − 200 chunk difference, both rows from the same processes
  // (memory reducer off, so idle-time GCs do not blur a difference of a few ms per turn).
  const LONG_DELTAS = 9993
  const cpuLong = await cpuPerTurn(LONG_DELTAS, ['ours-nmr', 'ref-nmr'])
  await request(plane, { agentText: ['It is ', '20C.'], bootDelayMs: AGENT_BOOT_MS })

  // 5. Concurrent turns.
  const concurrency = quick ? 200 : 1000
  const concurrent = {}
  for (const impl of ['ours', 'ref']) {
    const before = await request(servers[impl].c, 'stats')
    const t0 = performance.now()
    const all = await Promise.allSettled(
      Array.from({ length: concurrency }, (_, i) => turn(servers[impl].port, { tool: i % 2 === 0, stamp: true })),
    )
    const elapsed = performance.now() - t0
    const after = await request(servers[impl].c, 'stats')
    const ok = all.filter((r) => r.status === 'fulfilled').map((r) => r.value)
    const { outTimestamps } = await request(plane, { outTimestamps: ok.map((r) => r.chatId) })
    concurrent[impl] = {
      ok: ok.length,
      delays: chunkDelays(ok, outTimestamps),
      p99ttfc: pct(ok.map((r) => r.ttfc), 99),
      p99total: pct(ok.map((r) => r.total), 99),
      elapsed,
      cpu: cpuMs(before, after),
      peakRssMiB: after.peakRss / 2 ** 20,
    }
  }

  // Report.
  const m = (xs) => median(xs)
  console.log(`setup: model TTFB ${MODEL_TTFB_MS} ms, control-plane latency ${API_LATENCY_MS} ms, agent boot ${AGENT_BOOT_MS} ms, ${rounds} rounds`)
  console.log('\nTTFC (ms to first text-delta, median)')
  console.log(`  plain streamText ${fmt(m(ttfc.plain))}   ours ${fmt(m(ttfc.ours))}   reference ${fmt(m(ttfc.ref))}`)
  console.log(`  ours / plain = ${fmt(m(ttfc.ours) / m(ttfc.plain), 3)} (target <= 1.02)   reference / plain = ${fmt(m(ttfc.ref) / m(ttfc.plain), 3)}`)
  console.log('\ntool-call turn wall time (ms, median)')
  console.log(`  ours ${fmt(m(wall.ours))}   reference ${fmt(m(wall.ref))}   difference ${fmt(m(wall.ours) - m(wall.ref))} ms (target <= -150)`)
  console.log(
    `  agent's turn-complete appended at (ms after the request, 1 ms resolution): ours ${fmt(m(agentDone.ours))}   reference ${fmt(m(agentDone.ref))}` +
      `   (floor for any handler: control-plane latency + agent boot = ${API_LATENCY_MS + AGENT_BOOT_MS} ms)`,
  )
  const turnsMeasured = cpuRounds * turnsPerRound
  const gcText = (o) => `${o.majorGcs} major + ${o.minorGcs} minor GCs`
  console.log(`\nhandler CPU per tool-call turn (ms, server process; ${cpuRounds} rotated rounds of ${turnsPerRound} turns each, ${turnsMeasured} turns per row)`)
  console.log(
    `  ${cpu200.ours.chunks} chunks: ours ${fmt(cpu200.ours.cpu, 2)}   reference ${fmt(cpu200.ref.cpu, 2)}   ratio ${fmt(cpu200.ours.cpu / cpu200.ref.cpu, 3)} (target <= 0.3)` +
      `   [${gcText(cpu200.ours)} / ${gcText(cpu200.ref)}]`,
  )
  // Sequential turns leave a server idle most of the time; V8's memory reducer then runs
  // heap-shrinking major GCs (and shrinks the young generation, so more minor GCs follow) when
  // the allocation rate is low, so the handler that does less per turn can pay them more often.
  // The same handlers with `--no-memory-reducer` show the per-turn work without that.
  const [on, rn, pn] = [cpu200['ours-nmr'], cpu200['ref-nmr'], cpu200['plain-nmr']]
  console.log(
    `  ${on.chunks} chunks, V8 memory reducer off in both (--no-memory-reducer): ours ${fmt(on.cpu, 2)}   reference ${fmt(rn.cpu, 2)}   ratio ${fmt(on.cpu / rn.cpu, 3)}` +
      `   [${gcText(on)} / ${gcText(rn)}]`,
  )
  console.log(
    `  AI SDK floor: the same step 1 from plain streamText + toUIMessageStreamResponse, no session (${pn.chunks} chunks, memory reducer off): ${fmt(pn.cpu, 2)}`,
  )
  console.log(
    `    above that floor: ours ${fmt(on.cpu - pn.cpu, 2)}   reference ${fmt(rn.cpu - pn.cpu, 2)}   ratio ${fmt((on.cpu - pn.cpu) / (rn.cpu - pn.cpu), 3)}` +
      `   (0.3 × reference = ${fmt(0.3 * rn.cpu, 2)} ms ${0.3 * rn.cpu < pn.cpu ? '<' : '>='} the floor: ${0.3 * rn.cpu < pn.cpu ? 'no handler whose run() calls streamText can reach 0.3' : 'reachable in principle'})`,
  )
  const [ol, rl] = [cpuLong['ours-nmr'], cpuLong['ref-nmr']]
  console.log(`  ${ol.chunks} chunks, memory reducer off: ours ${fmt(ol.cpu, 2)}   reference ${fmt(rl.cpu, 2)}`)
  const extraChunks = ol.chunks - on.chunks
  const ourPer = ((ol.cpu - on.cpu) * 1000) / extraChunks
  const refPer = ((rl.cpu - rn.cpu) * 1000) / extraChunks
  console.log(`\nphase-2 CPU per chunk (µs, from the ${ol.chunks} − ${on.chunks} chunk difference, memory reducer off)`)
  console.log(`  ours ${fmt(ourPer, 2)}   reference ${fmt(refPer, 2)}   ratio ${fmt(ourPer / refPer, 3)} (target <= 0.1)`)
  console.log(`\n${concurrency} concurrent turns (half tool-call)`)
  for (const impl of ['ours', 'ref']) {
    const c = concurrent[impl]
    console.log(
      `  ${impl.padEnd(4)} ok ${c.ok}/${concurrency}   chunk delay p50 ${fmt(pct(c.delays.all, 50))} / p99 ${fmt(pct(c.delays.all, 99))} ms (${c.delays.all.length} chunks)   p99 TTFC ${fmt(c.p99ttfc)} ms   p99 turn ${fmt(c.p99total)} ms   wall ${fmt(c.elapsed)} ms   CPU ${fmt(c.cpu)} ms   peak RSS ${fmt(c.peakRssMiB)} MiB`,
    )
  }
  console.log(
    '  (chunk delay: client arrival − production; step-1 text deltas vs the mock model\'s emission stamp, phase-2 chunks vs the agent\'s session.out append)',
  )
  for (const impl of ['ours', 'ref']) {
    const d = concurrent[impl].delays
    const group = (xs) => `p50 ${fmt(pct(xs, 50))} / p99 ${fmt(pct(xs, 99))} ms (${xs.length})`
    console.log(
      `  ${impl.padEnd(4)} p99 by group: step 1 ${group(d.stepOne)}   step 1 produced after the headers ${group(d.stepOneStreaming)}   phase 2 ${group(d.phaseTwo)}`,
    )
  }
  const co = concurrent.ours
  const cr = concurrent.ref
  console.log(
    `  ratios ours/ref: p99 chunk delay ${fmt(pct(co.delays.all, 99) / pct(cr.delays.all, 99), 3)} (after headers ${fmt(pct(co.delays.stepOneStreaming, 99) / pct(cr.delays.stepOneStreaming, 99), 3)}, phase 2 ${fmt(pct(co.delays.phaseTwo, 99) / pct(cr.delays.phaseTwo, 99), 3)})   p99 TTFC ${fmt(co.p99ttfc / cr.p99ttfc, 3)}   p99 turn ${fmt(co.p99total / cr.p99total, 3)}   CPU ${fmt(co.cpu / cr.cpu, 3)}   peak RSS ${fmt(co.peakRssMiB / cr.peakRssMiB, 3)}`,
  )
  for (const s of Object.values(servers)) s.c.kill()
  plane.kill()
  process.exit(0)
}
