// bench/headstart: our chat.headStart vs the reference (@trigger.dev/sdk 4.8.3) on the same local
// plane with the same mock model — 400 ms model TTFB, 100 ms control-plane latency, 500 ms agent
// boot — in one run, printing ratios. `npm run bench -- headstart [--quick] [--only=<sections>]
// [--concurrency=N] [--concurrent-rounds=N] [--s2-ack-latency=MS]`: sections (comma-separated)
// ttfc, wall, cpu, concurrent; all by default. `--s2-ack-latency` holds each of the plane's S2
// acks that long (0 by default: loopback S2 acks in well under a millisecond, a hosted S2 does
// not).
//
// Processes: this one is the browser (client + orchestration); the plane runs in a child
// process and each handler implementation in its own child, so CPU and RSS are the handler's
// alone (process.cpuUsage / resourceUsage reported over IPC).
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const self = fileURLToPath(import.meta.url)
const role = process.argv.find((a) => a.startsWith('--role='))?.slice(7) ?? 'main'
const quick = process.argv.includes('--quick')
const flag = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const SECTIONS = ['ttfc', 'wall', 'cpu', 'concurrent']
const only = flag('only')?.split(',') ?? SECTIONS
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section ${s} (${SECTIONS.join(', ')})`)
const runs = (section) => only.includes(section)

const STAMP = '[stamp]'
/** Wall-clock ms with sub-ms precision, comparable across the bench's processes. */
const epochMs = () => performance.timeOrigin + performance.now()

const MODEL_TTFB_MS = 400
const API_LATENCY_MS = 100
const AGENT_BOOT_MS = 500
const S2_ACK_LATENCY_MS = Number(flag('s2-ack-latency') ?? 0)

// ---------------------------------------------------------------------------------------------
// Role: plane.

if (role === 'plane') {
  const { startDevPlane } = await import('../../index.js')
  const plane = await startDevPlane({
    logRequests: false,
    agent: { bootDelayMs: AGENT_BOOT_MS, toolOutputs: { getWeather: { city: 'Paris', tempC: 20 } }, text: ['It is ', '20C.'] },
    faults: { latencyMs: API_LATENCY_MS, s2AckLatencyMs: S2_ACK_LATENCY_MS },
  })
  process.send({ apiUrl: plane.apiUrl, secretKey: plane.secretKey })
  process.on('message', (m) => {
    // Long turns go out in appends of ≤ 500 records (S2 caps a batch at 1000).
    if (m.agentText) plane.setAgent({ text: m.agentText, recordsPerAppend: 500 })
    if (m.bootDelayMs !== undefined) plane.setAgent({ bootDelayMs: m.bootDelayMs })
    if (m.cpu) return process.send({ cpu: process.cpuUsage() })
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
  const { native } = await import('../../lib/native.js')
  // The linger hook of the batched row, like allocatorStats, exists only in the testing build.
  if (process.env.CHAT_HEADSTART_BENCH_S2_LINGER_MS && typeof native.allocatorStats !== 'function') {
    throw new Error('bench/headstart needs the addon built with the testing feature (npm run bench builds it)')
  }
  const { readFileSync, readdirSync } = await import('node:fs')
  let peakRss = 0
  // Where the memory is at the peak (concurrent section only): process.memoryUsage() for V8's
  // heap and the external / ArrayBuffer memory it is told about, mimalloc's committed bytes for
  // the addon's Rust code, and the transparent-huge-page share of the RSS.
  let memoryDetail = false
  let peakDetail
  const detailNow = () => {
    const mem = process.memoryUsage()
    const rust = native.allocatorStats()
    let anonHuge = NaN
    try {
      anonHuge = Number(/AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'latin1'))?.[1]) * 1024
    } catch {}
    return { ...mem, rustCommitted: rust.committed ?? NaN, anonHuge }
  }
  // The RSS is sampled only while `memoryDetail` is on (the concurrent bursts). Each sample is
  // a timer wake-up of the main thread, and on a VM a wake-up costs ~0.1-0.3 ms CPU however
  // little it does: sampling every 50 ms during the CPU rounds billed the handlers several ms
  // per turn, more to whichever has the longer turns. memoryUsage.rss() reads /proc only;
  // memoryUsage() also walks the V8 heap spaces, so the split is taken only when the RSS grew
  // 2 MiB past the last one.
  const sampleRss = () => {
    const rss = process.memoryUsage.rss()
    if (rss <= peakRss) return
    peakRss = rss
    if (memoryDetail && (!peakDetail || rss > peakDetail.rss + 2 * 2 ** 20)) peakDetail = detailNow()
  }
  let sampler
  // CPU time and run count (times put on a CPU, ≈ wake-ups) of this process's threads, grouped:
  // the JS main thread, the addon's I/O thread, and the rest (V8 platform workers: GC, JIT;
  // libuv). Linux only (schedstat); empty elsewhere.
  const threadTimes = () => {
    const groups = {}
    try {
      for (const tid of readdirSync('/proc/self/task')) {
        try {
          const comm = readFileSync(`/proc/self/task/${tid}/comm`, 'latin1').trim()
          const [runNs, , runs] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1').trim().split(' ').map(Number)
          const group = Number(tid) === process.pid ? 'main' : comm === 'chat-headstart' ? 'io' : 'other'
          groups[group] ??= { ms: 0, runs: 0 }
          groups[group].ms += runNs / 1e6
          groups[group].runs += runs
        } catch {}
      }
    } catch {}
    return groups
  }
  process.on('message', async (m) => {
    // A clean exit (flushes a --cpu-prof profile).
    if (m === 'exit') process.exit(0)
    if (m === 'memory') {
      globalThis.gc?.()
      return process.send(process.memoryUsage())
    }
    if (m?.memoryDetail !== undefined) {
      memoryDetail = m.memoryDetail
      clearInterval(sampler)
      sampler = memoryDetail ? setInterval(sampleRss, 50).unref() : undefined
      return process.send({ ok: true })
    }
    if (m?.wakeProbe) {
      // What one timer wake-up that does nothing costs this process in CPU (the machine's
      // price of waking a thread from idle, paid by every handler per event it waits for).
      const before = process.cpuUsage()
      for (let i = 0; i < m.wakeProbe; i++) await new Promise((resolve) => setTimeout(resolve, 50))
      const used = process.cpuUsage(before)
      return process.send({ usPerWake: (used.user + used.system) / m.wakeProbe })
    }
    if (m === 'stats') {
      sampleRss()
      process.send({ cpu: process.cpuUsage(), threads: threadTimes(), rss: process.memoryUsage.rss(), peakRss, gcs: { ...gcs }, peakDetail, now: memoryDetail ? detailNow() : undefined })
      peakRss = process.memoryUsage.rss()
      peakDetail = undefined
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
 *   the model before createSession returns (ours, docs/protocol.md §2.7) produces deltas before it may
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
  const plane = child(['--role=plane', `--s2-ack-latency=${S2_ACK_LATENCY_MS}`])
  const planeInfo = (await once(plane, 'message'))[0]
  const apiClient = JSON.stringify({ baseURL: planeInfo.apiUrl, accessToken: planeInfo.secretKey })
  // `<impl>-nmr`: the same handler in a process with V8's memory reducer off, for the CPU rows
  // that separate per-turn work from idle-time heap shrinking (see the report).
  // `ours-batched-nmr`: ours with a linger longer than step 1, so step 1 goes to S2 in one
  // append. The product never lingers (docs/protocol.md §3.4); the row shows what batching the
  // step-1 records would save, through a hook only the `testing` build reads.
  const startServer = async (name) => {
    const parts = name.split('-')
    const [impl, nmr, batched] = [parts[0], parts.includes('nmr'), parts.includes('batched')]
    const env = { BENCH_API_CLIENT: apiClient, ...(batched ? { CHAT_HEADSTART_BENCH_S2_LINGER_MS: '5000' } : {}) }
    // --expose-gc: only for the live-heap row after the concurrent section (no GC otherwise).
    const c = child(['--role=server', `--impl=${impl}`], env, ['--expose-gc', ...(nmr ? ['--no-memory-reducer'] : [])])
    const { port } = (await once(c, 'message'))[0]
    return { c, port }
  }
  const servers = {}
  for (const name of ['plain', 'ours', 'ref', 'plain-nmr', 'ours-nmr', 'ref-nmr', 'ours-batched-nmr']) servers[name] = await startServer(name)
  const rounds = quick ? 5 : 15
  const results = {}
  const record = (k, v) => (results[k] = v)

  // Warm-up (JIT, connection pools).
  for (const impl of ['plain', 'ours', 'ref']) for (let i = 0; i < 2; i++) await turn(servers[impl].port, { tool: impl !== 'plain' })

  // 1. TTFC, rotated rounds.
  const ttfc = { plain: [], ours: [], ref: [] }
  for (let r = 0; r < (runs('ttfc') ? rounds : 0); r++) {
    for (const impl of ['plain', 'ours', 'ref']) ttfc[impl].push((await turn(servers[impl].port)).ttfc)
  }
  record('ttfc', ttfc)

  // 2. Tool-call turn wall time.
  // Also when the agent appended its last session.out record (the turn-complete), relative to the
  // request: the agent boots at createSession, so no handler can end the turn before that.
  const wall = { ours: [], ref: [] }
  const agentDone = { ours: [], ref: [] }
  for (let r = 0; r < (runs('wall') ? rounds : 0); r++) {
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
    const out = Object.fromEntries(impls.map((impl) => [impl, { cpu: 0, chunks: 0, minorGcs: 0, majorGcs: 0, threads: {} }]))
    for (let r = 0; r < cpuRounds; r++) {
      for (let k = 0; k < impls.length; k++) {
        const impl = impls[(k + r) % impls.length]
        const before = await request(servers[impl].c, 'stats')
        for (let i = 0; i < turnsPerRound; i++) out[impl].chunks = (await turn(servers[impl].port, { tool: true })).chunks
        const after = await request(servers[impl].c, 'stats')
        out[impl].cpu += cpuMs(before, after)
        out[impl].minorGcs += after.gcs.minor - before.gcs.minor
        out[impl].majorGcs += after.gcs.major - before.gcs.major
        for (const [group, v] of Object.entries(after.threads)) {
          const was = before.threads[group] ?? { ms: 0, runs: 0 }
          const sum = (out[impl].threads[group] ??= { ms: 0, runs: 0 })
          sum.ms += v.ms - was.ms
          sum.runs += v.runs - was.runs
        }
      }
    }
    const turns = cpuRounds * turnsPerRound
    for (const o of Object.values(out)) {
      o.cpu /= turns
      for (const v of Object.values(o.threads)) {
        v.ms /= turns
        v.runs /= turns
      }
    }
    return out
  }
  const cpuRounds = quick ? 2 : 8
  const turnsPerRound = 5
  let cpu200, cpuLong, wakeCost
  if (runs('cpu')) {
    cpu200 = await cpuPerTurn(193, ['ours', 'ref', 'ours-nmr', 'ref-nmr', 'plain-nmr', 'ours-batched-nmr'])
    // Per phase-2 chunk: the 10,000 − 200 chunk difference, both rows from the same processes
    // (memory reducer off, so idle-time GCs do not blur a difference of a few ms per turn).
    const LONG_DELTAS = 9993
    cpuLong = await cpuPerTurn(LONG_DELTAS, ['ours-nmr', 'ref-nmr'])
    await request(plane, { agentText: ['It is ', '20C.'], bootDelayMs: AGENT_BOOT_MS })
    wakeCost = await request(servers.plain.c, { wakeProbe: 40 })
  }

  // 5. Concurrent turns.
  const concurrency = Number(flag('concurrency') ?? (quick ? 200 : 1000))
  // Every round starts a fresh process per handler (warmed up with a few turns), so the peak RSS
  // is the burst's alone — not the heap an earlier section grew — and the two handlers take
  // turns going first. Medians over the rounds: one burst's peak RSS is V8's heap high-water
  // mark (mostly garbage awaiting a major GC) and swings between ~300 and ~700 MiB with when
  // V8 runs that GC, for either handler.
  const concurrentRounds = Number(flag('concurrent-rounds') ?? (quick ? 1 : 3))
  const burst = async (server) => {
    await request(server.c, { memoryDetail: true })
    const before = await request(server.c, 'stats')
    // This process is every browser: its own load shows in the chunk delays it measures, so it
    // is reported beside them (event-loop delay and CPU while the burst runs).
    const clientLag = monitorEventLoopDelay({ resolution: 5 })
    clientLag.enable()
    const clientCpuBefore = process.cpuUsage()
    const planeBefore = await request(plane, { cpu: true })
    const t0 = performance.now()
    const all = await Promise.allSettled(
      Array.from({ length: concurrency }, (_, i) => turn(server.port, { tool: i % 2 === 0, stamp: true })),
    )
    const elapsed = performance.now() - t0
    const clientCpu = process.cpuUsage(clientCpuBefore)
    clientLag.disable()
    const planeAfter = await request(plane, { cpu: true })
    const after = await request(server.c, 'stats')
    await request(server.c, { memoryDetail: false })
    // What is still reachable once every turn ended (the client's keep-alive sockets stay open).
    const live = await request(server.c, 'memory')
    const ok = all.filter((r) => r.status === 'fulfilled').map((r) => r.value)
    const { outTimestamps } = await request(plane, { outTimestamps: ok.map((r) => r.chatId) })
    const delays = chunkDelays(ok, outTimestamps)
    return {
      ok: ok.length,
      p99delay: pct(delays.all, 99),
      p50delay: pct(delays.all, 50),
      p99stepOneStreaming: pct(delays.stepOneStreaming, 99),
      p99phaseTwo: pct(delays.phaseTwo, 99),
      chunks: delays.all.length,
      p99ttfc: pct(ok.map((r) => r.ttfc), 99),
      p99total: pct(ok.map((r) => r.total), 99),
      elapsed,
      cpu: cpuMs(before, after),
      clientLagP99: clientLag.percentile(99) / 1e6,
      clientCpu: (clientCpu.user + clientCpu.system) / 1000,
      planeCpu: cpuMs(planeBefore, planeAfter),
      peakRssMiB: after.peakRss / 2 ** 20,
      rssBeforeMiB: before.rss / 2 ** 20,
      peakDetail: after.peakDetail,
      afterDetail: after.now,
      live,
    }
  }
  const concurrent = { ours: [], ref: [] }
  for (let r = 0; r < (runs('concurrent') ? concurrentRounds : 0); r++) {
    for (const impl of r % 2 === 0 ? ['ours', 'ref'] : ['ref', 'ours']) {
      const server = await startServer(impl)
      for (let i = 0; i < 3; i++) await turn(server.port, { tool: i % 2 === 0 })
      concurrent[impl].push(await burst(server))
      server.c.kill()
    }
  }

  // Report.
  const m = (xs) => median(xs)
  console.log(`setup: model TTFB ${MODEL_TTFB_MS} ms, control-plane latency ${API_LATENCY_MS} ms, S2 ack latency ${S2_ACK_LATENCY_MS} ms, agent boot ${AGENT_BOOT_MS} ms, ${rounds} rounds`)
  if (runs('ttfc')) {
  console.log('\nTTFC (ms to first text-delta, median)')
  console.log(`  plain streamText ${fmt(m(ttfc.plain))}   ours ${fmt(m(ttfc.ours))}   reference ${fmt(m(ttfc.ref))}`)
  console.log(`  ours / plain = ${fmt(m(ttfc.ours) / m(ttfc.plain), 3)} (target <= 1.02)   reference / plain = ${fmt(m(ttfc.ref) / m(ttfc.plain), 3)}`)
  }
  if (runs('wall')) {
  console.log('\ntool-call turn wall time (ms, median)')
  console.log(`  ours ${fmt(m(wall.ours))}   reference ${fmt(m(wall.ref))}   difference ${fmt(m(wall.ours) - m(wall.ref))} ms (target <= -150)`)
  console.log(
    `  agent's turn-complete appended at (ms after the request, 1 ms resolution): ours ${fmt(m(agentDone.ours))}   reference ${fmt(m(agentDone.ref))}` +
      `   (floor for any handler: control-plane latency + agent boot = ${API_LATENCY_MS + AGENT_BOOT_MS} ms)`,
  )
  }
  if (runs('cpu')) {
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
  const bn = cpu200['ours-batched-nmr']
  console.log(
    `    ours with step 1 in one S2 append (a bench-only linger; the product sends each batch at once): ${fmt(bn.cpu, 2)}, above the floor ${fmt(bn.cpu - pn.cpu, 2)}   ratio ${fmt((bn.cpu - pn.cpu) / (rn.cpu - pn.cpu), 3)}`,
  )
  // Per thread group, and how often each thread was put on a CPU: on a VM a wake-up from idle
  // costs far more than the little work most of them do (the probe line), so the count of
  // events a turn waits for (model chunks, HTTP responses, notifications) drives these numbers.
  const threadText = (o) => {
    const g = (name) => o.threads[name] ?? { ms: NaN, runs: NaN }
    const part = (label, name) => `${label} ${fmt(g(name).ms, 2)} ms / ${fmt(g(name).runs)} runs`
    return o.threads.main ? `${part('JS main thread', 'main')}   ${o.threads.io ? `${part('Rust I/O thread', 'io')}   ` : ''}${part('other threads (V8 GC/JIT, libuv)', 'other')}` : 'n/a (no /proc)'
  }
  console.log('  where it goes, per turn (thread CPU and times put on a CPU, from /proc/self/task/*/schedstat):')
  for (const [label, name] of [['ours', 'ours'], ['reference', 'ref'], ['ours, memory reducer off', 'ours-nmr'], ['reference, memory reducer off', 'ref-nmr'], ['ours, step 1 in one S2 append', 'ours-batched-nmr'], ['AI SDK floor', 'plain-nmr']]) {
    console.log(`    ${label.padEnd(29)} ${threadText(cpu200[name])}`)
  }
  console.log(`  one timer wake-up that does nothing costs ${fmt(wakeCost.usPerWake, 0)} µs of CPU in these processes (40 wake-ups 50 ms apart, idle server)`)
  const [ol, rl] = [cpuLong['ours-nmr'], cpuLong['ref-nmr']]
  console.log(`  ${ol.chunks} chunks, memory reducer off: ours ${fmt(ol.cpu, 2)}   reference ${fmt(rl.cpu, 2)}`)
  const extraChunks = ol.chunks - on.chunks
  const ourPer = ((ol.cpu - on.cpu) * 1000) / extraChunks
  const refPer = ((rl.cpu - rn.cpu) * 1000) / extraChunks
  console.log(`\nphase-2 CPU per chunk (µs, from the ${ol.chunks} − ${on.chunks} chunk difference, memory reducer off)`)
  console.log(`  ours ${fmt(ourPer, 2)}   reference ${fmt(refPer, 2)}   ratio ${fmt(ourPer / refPer, 3)} (target <= 0.1)`)
  }
  if (runs('concurrent')) {
  console.log(`\n${concurrency} concurrent turns (half tool-call), ${concurrentRounds} rounds, a fresh server process per handler and round; medians`)
  const med = (impl, key) => median(concurrent[impl].map((c) => c[key]))
  for (const impl of ['ours', 'ref']) {
    const ok = concurrent[impl].map((c) => c.ok).join('+')
    console.log(
      `  ${impl.padEnd(4)} ok ${ok}   chunk delay p50 ${fmt(med(impl, 'p50delay'))} / p99 ${fmt(med(impl, 'p99delay'))} ms (${med(impl, 'chunks')} chunks)   p99 TTFC ${fmt(med(impl, 'p99ttfc'))} ms   p99 turn ${fmt(med(impl, 'p99total'))} ms   wall ${fmt(med(impl, 'elapsed'))} ms   CPU ${fmt(med(impl, 'cpu'))} ms   peak RSS ${fmt(med(impl, 'peakRssMiB'))} MiB`,
    )
    console.log(
      `       per round: peak RSS ${concurrent[impl].map((c) => fmt(c.peakRssMiB)).join(' / ')} MiB   CPU ${concurrent[impl].map((c) => fmt(c.cpu, 0)).join(' / ')} ms   p99 chunk delay ${concurrent[impl].map((c) => fmt(c.p99delay)).join(' / ')} ms`,
    )
  }
  console.log(
    '  (chunk delay: client arrival − production; step-1 text deltas vs the mock model\'s emission stamp, phase-2 chunks vs the agent\'s session.out append)',
  )
  // The plane shares this box's two cores with the handler and the client, so what a handler
  // makes the plane do (S2 appends, reads) competes with the handler and the browsers here;
  // in production that work runs on Trigger.dev's and S2's machines.
  for (const impl of ['ours', 'ref']) {
    console.log(
      `  ${impl.padEnd(4)} client (this process: every browser) during the burst: event-loop delay p99 ${fmt(med(impl, 'clientLagP99'))} ms   CPU ${fmt(med(impl, 'clientCpu'))} ms   plane process CPU ${fmt(med(impl, 'planeCpu'))} ms`,
    )
  }
  for (const impl of ['ours', 'ref']) {
    console.log(
      `  ${impl.padEnd(4)} p99 by group: step 1 produced after the headers ${fmt(med(impl, 'p99stepOneStreaming'))} ms   phase 2 ${fmt(med(impl, 'p99phaseTwo'))} ms`,
    )
  }
  const ratio = (key) => fmt(med('ours', key) / med('ref', key), 3)
  console.log(
    `  ratios ours/ref (of the medians): p99 chunk delay ${ratio('p99delay')} (after headers ${ratio('p99stepOneStreaming')}, phase 2 ${ratio('p99phaseTwo')})   p99 TTFC ${ratio('p99ttfc')}   p99 turn ${ratio('p99total')}   CPU ${ratio('cpu')}   peak RSS ${ratio('peakRssMiB')}`,
  )
  // RSS = V8 heap (committed) + external (ArrayBuffers / Buffers and other memory V8 is told
  // about) + the addon's Rust allocations (mimalloc committed) + the rest: Node's and V8's own
  // C++ allocations, code, thread stacks, glibc malloc's free lists, V8 pages not yet unmapped.
  const mib = (b) => fmt(b / 2 ** 20)
  const split = (d) => {
    const rest = d.rss - d.heapTotal - d.external - (Number.isFinite(d.rustCommitted) ? d.rustCommitted : 0)
    return (
      `RSS ${mib(d.rss)} = V8 heap ${mib(d.heapTotal)} (used ${mib(d.heapUsed)}) + external ${mib(d.external)} (ArrayBuffers ${mib(d.arrayBuffers)})` +
      ` + Rust/mimalloc ${mib(d.rustCommitted)} + rest ${mib(rest)}   [THP ${mib(d.anonHuge)}]`
    )
  }
  console.log('  memory (MiB) per round: at the peak (the split is sampled when the RSS grew 2 MiB), and live after a forced full GC once all turns ended')
  for (const impl of ['ours', 'ref']) {
    for (const c of concurrent[impl]) {
      console.log(`  ${impl.padEnd(4)} before ${fmt(c.rssBeforeMiB)}   peak ${c.peakDetail ? split(c.peakDetail) : 'n/a'}`)
      console.log(`       live after the burst: V8 heap used ${mib(c.live.heapUsed)} of ${mib(c.live.heapTotal)}   RSS ${mib(c.live.rss)}`)
    }
  }
  }
  for (const s of Object.values(servers)) s.c.kill()
  plane.kill()
  process.exit(0)
}
