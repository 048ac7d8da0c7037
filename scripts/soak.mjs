// `npm run soak -- --minutes N --concurrency C`: C browsers run first turns back to back against
// one handler process (scripts/soak-handler.mjs) on the local plane for N minutes: mixed text /
// one-tool / two-tool turns, 5 % of them leaving at a random point, 2 % with an injected plane
// fault. Every finished turn's stream is checked against session.out; every 10 s the handler's
// RSS, fds and running turns are sampled. `npm run soak -- --aborts N`: N turns that all leave
// at a random point, each upstream request's end timed against the abort (scripts/soak-aborts.mjs).
// The last line printed is one JSON object; the exit code is 0 only when it passes.
import { fork } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'
import http from 'node:http'
import { startDevPlane } from '../index.js'
import { ABORT_POINTS, KINDS, classify, mb, pick, plannedAbort, runTurn, sleep } from './soak-turn.mjs'
import { runAborts } from './soak-aborts.mjs'

const HELP = `usage: npm run soak -- [--minutes N] [--concurrency C] [--warmup-seconds W] [--abort-rate R] [--fault-rate R] [--sample-seconds S]
       npm run soak -- --aborts N [--concurrency C]`
const args = process.argv.slice(2)
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  if (i < 0) return fallback
  const value = Number(args[i + 1])
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number ≥ 0\n${HELP}`)
  return value
}
if (args.includes('--help')) {
  console.log(HELP)
  process.exit(0)
}
const known = new Set(['--minutes', '--concurrency', '--warmup-seconds', '--abort-rate', '--fault-rate', '--sample-seconds', '--aborts'])
for (const a of args) if (a.startsWith('--') && !known.has(a)) throw new Error(`unknown option ${a}\n${HELP}`)

const abortsMode = args.includes('--aborts')
const options = {
  minutes: flag('minutes', 2),
  concurrency: Math.max(1, Math.floor(flag('concurrency', abortsMode ? 20 : 50))),
  abortRate: flag('abort-rate', 0.05),
  faultRate: flag('fault-rate', 0.02),
  sampleMs: flag('sample-seconds', 10) * 1000,
  // Full load before the first sample: V8's heap and the allocators grow in steps for the first
  // ~2 minutes of load (the 30-minute run is flat after them), which a short run must not count.
  warmupMs: flag('warmup-seconds', Math.max(15, flag('minutes', 2) * 60 * 0.05)) * 1000,
  aborts: Math.floor(flag('aborts', 0)),
}

const MARKER = 'soak-injected'
const TURN_TIMEOUT_MS = 60_000
/** The handler's keep-alive pool closes a connection idle for 30 s at its next 30 s eviction
 * tick (crates/core/src/session/http.rs), so within 60 s. */
const SETTLE_MS = 65_000

/** Injected faults (each fires once on whichever matching request comes next) and the outcome
 * the turn that meets it must end with: `complete` = the handler recovers and nothing shows. */
const FAULTS = {
  createSession422: { set: { createSession: { status: 422, message: MARKER, times: 1 } }, shows: 'fault:createSession' },
  createSession503: { set: { createSession: { status: 503, times: 1 } }, shows: 'complete' },
  s2AppendTerminal: { set: { s2Append: { terminalStatus: 503, code: 'unavailable', message: MARKER, afterFrames: 1, times: 1 } }, shows: 'complete' },
  sseEarlyClose: { set: { sse: { earlyClose: true, afterBatches: 1, times: 1 } }, shows: 'complete' },
  sse404: { set: { sse: { status: 404, times: 1 } }, shows: 'fault:sse404' },
  handover413: { set: { inAppend: { status: 413, message: MARKER, times: 1 } }, shows: 'fault:handover413' },
}

/** The process's fds by kind (`pipe`, `anon_inode:[eventfd]`, files by path); TCP sockets by
 * the port at their other end (`tcp→<port> <state>`), named by `ports` (e.g. the plane's). */
export function fdKinds(pid, ports = {}) {
  const tcp = new Map()
  for (const table of ['tcp', 'tcp6']) {
    let text = ''
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'latin1')
    } catch {}
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 10) continue
      const local = parseInt(f[1].split(':')[1], 16)
      const remote = parseInt(f[2].split(':')[1], 16)
      const state = { '01': 'established', '06': 'time-wait', '08': 'close-wait', '0A': 'listen' }[f[3]] ?? f[3]
      const peer = remote === 0 ? `listen:${local}` : (ports[remote] ?? ports[local] ?? remote)
      tcp.set(f[9], `tcp ${peer} ${state}`)
    }
  }
  const kinds = {}
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`)
    } catch {
      continue
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
    const kind = (inode && tcp.get(inode)) ?? target.replace(/:\[\d+\]$/, '')
    kinds[kind] = (kinds[kind] ?? 0) + 1
  }
  return kinds
}

export function processStats(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1')
  return { rss: Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024, fds: readdirSync(`/proc/${pid}/fd`).length }
}

async function startHandler(plane) {
  const child = fork(fileURLToPath(new URL('./soak-handler.mjs', import.meta.url)), {
    env: { ...process.env, SOAK_API_CLIENT: JSON.stringify(plane.apiClient) },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  })
  // Its warnings (`[chat.handover] …`) are counted, the first few shown, and kept by chat id.
  const warnings = { lines: 0, byChat: new Map() }
  let partial = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (d) => {
    const lines = (partial + d).split('\n')
    partial = lines.pop()
    for (const line of lines) {
      if (!line.trim()) continue
      if (warnings.lines++ < 10) process.stderr.write(`[handler] ${line}\n`)
      const chatId = /\(chatId "([^"]+)"\)/.exec(line)?.[1]
      if (chatId !== undefined) warnings.byChat.set(chatId, [...(warnings.byChat.get(chatId) ?? []), line])
    }
  })
  const { port } = (await once(child, 'message'))[0]
  const portOf = (url) => Number(new URL(url).port)
  const ports = { [portOf(plane.apiUrl)]: 'plane-api', [portOf(plane.s2Url)]: 'plane-s2', [port]: 'browser' }
  const stats = async () => {
    const reply = new Promise((resolve) => {
      const on = (m) => m.stats && (child.off('message', on), resolve(m.stats))
      child.on('message', on)
    })
    child.send('stats')
    return reply
  }
  return { child, port, ports, stats, warnings }
}

/** The handler's resources once every browser connection is gone: waits (up to SETTLE_MS) for
 * its fds to fall back to `baseline` and its running turns to 0. */
async function settle(handler, plane, baseline) {
  const until = performance.now() + SETTLE_MS
  for (;;) {
    const now = processStats(handler.child.pid)
    const turns = await handler.stats()
    const traffic = plane.traffic()
    const back = now.fds <= baseline.fds && turns.activeTurns === 0 && traffic.inFlightRequests === 0
    if (back || performance.now() > until) return { ...now, fdKinds: fdKinds(handler.child.pid, handler.ports), turns, traffic }
    await sleep(1000)
  }
}

/** Mean of the first and last third of the samples' RSS. */
function rssThirds(samples) {
  const n = Math.floor(samples.length / 3)
  const mean = (xs) => xs.reduce((a, s) => a + s.rss, 0) / xs.length
  if (n === 0) return { first: NaN, last: NaN, drift: NaN }
  const first = mean(samples.slice(0, n))
  const last = mean(samples.slice(-n))
  return { first, last, drift: last / first - 1 }
}

/** RSS drift, fds, running turns and plane traffic: at the baseline and once settled. */
function resourceFigures(rss, baseline, end) {
  return {
    rssFirstThirdMB: mb(rss.first),
    rssLastThirdMB: mb(rss.last),
    rssDrift: Math.round(rss.drift * 1000) / 1000,
    fdsStart: baseline.fds,
    fdsEnd: end.fds,
    ...(end.fds > baseline.fds ? { fdKindsStart: baseline.fdKinds, fdKindsEnd: end.fdKinds } : {}),
    handlerTurnsLeft: end.turns.activeTurns,
    handlerOutcomes: end.turns.outcomes,
    planeInFlightStart: baseline.traffic.inFlightRequests,
    planeInFlightEnd: end.traffic.inFlightRequests,
    planeConnectionsStart: baseline.traffic.openConnections,
    planeConnectionsEnd: end.traffic.openConnections,
  }
}

async function soak(plane, handler, baseline) {
  const warmupMs = options.warmupMs
  const start = performance.now()
  const measureFrom = start + warmupMs
  const deadline = measureFrom + options.minutes * 60_000
  const agent = new http.Agent({ keepAlive: true })
  const counts = { turns: 0, aborted: {}, outcomes: {}, faultsArmed: {}, errors: 0, lostOrDuplicated: 0, checkedTurns: 0 }
  const unexpected = []
  let active = 0
  let chatSeq = 0

  const oneTurn = async () => {
    const chatId = `soak-${process.pid}-${++chatSeq}`
    let kind = pick(KINDS)
    let abort
    if (Math.random() < options.abortRate) {
      const point = pick(ABORT_POINTS)
      if (point === 'phase2' && kind === 'text') kind = 'one-tool'
      abort = plannedAbort(point)
    }
    if (Math.random() < options.faultRate) {
      const name = pick(Object.keys(FAULTS))
      plane.setFaults(FAULTS[name].set)
      counts.faultsArmed[name] = (counts.faultsArmed[name] ?? 0) + 1
    }
    active++
    const result = await runTurn({ port: handler.port, agent, chatId, kind, abort, timeoutMs: TURN_TIMEOUT_MS, now: () => 0 })
    active--
    counts.turns++
    if (result.ended === 'aborted') {
      counts.aborted[abort.point] = (counts.aborted[abort.point] ?? 0) + 1
      return
    }
    const verdict = classify(result, plane, chatId, MARKER)
    // Decided once the run is over, when the handler's warnings have all arrived.
    if (verdict.ifSkipRejected) pendingSkips.push({ chatId, kind, verdict })
    else count(chatId, kind, verdict)
  }
  const pendingSkips = []
  const count = (chatId, kind, verdict) => {
    counts.outcomes[verdict.outcome] = (counts.outcomes[verdict.outcome] ?? 0) + 1
    if (verdict.mismatch) {
      counts.checkedTurns++
      counts.lostOrDuplicated += verdict.mismatch.lost + verdict.mismatch.duplicated + (verdict.mismatch.reordered ? 1 : 0)
    }
    if (!verdict.expected) {
      counts.errors++
      if (unexpected.length < 20) unexpected.push({ chatId, kind, ...verdict, handlerLines: handler.warnings.byChat.get(chatId) })
    }
  }
  const browser = async () => {
    while (performance.now() < deadline) await oneTurn()
  }

  const samples = []
  const sample = async () => {
    const t = Math.round((performance.now() - measureFrom) / 1000)
    const proc = processStats(handler.child.pid)
    const turns = await handler.stats()
    const traffic = plane.traffic()
    const s = { t, rss: proc.rss, fds: proc.fds, activeTurns: turns.activeTurns, browsers: active, turns: counts.turns, errors: counts.errors, planeConnections: traffic.openConnections, planeInFlight: traffic.inFlightRequests }
    samples.push(s)
    console.log(`[soak] t=${t}s turns=${s.turns} errors=${s.errors} rss=${mb(s.rss)}MB fds=${s.fds} handlerTurns=${s.activeTurns} browsers=${s.browsers} planeConnections=${s.planeConnections} planeInFlight=${s.planeInFlight}`)
  }
  // The first sample when the warm-up ends, then one every sampleMs.
  let sampler
  const firstSample = setTimeout(() => {
    void sample()
    sampler = setInterval(() => void sample(), options.sampleMs)
  }, warmupMs)
  await Promise.all(Array.from({ length: options.concurrency }, browser))
  clearTimeout(firstSample)
  clearInterval(sampler)
  agent.destroy()
  plane.resetFaults()
  const end = await settle(handler, plane, baseline)
  for (const { chatId, kind, verdict } of pendingSkips) {
    const lines = handler.warnings.byChat.get(chatId) ?? []
    const skipRejected = lines.some((l) => l.includes('handover-skip append failed') && l.includes(MARKER))
    count(chatId, kind, skipRejected ? verdict.ifSkipRejected : verdict)
  }
  const faultOutcomes = Object.fromEntries(Object.entries(FAULTS).filter(([, f]) => f.shows !== 'complete').map(([name, f]) => [f.shows, name]))
  // A fault outcome is expected only as often as that fault was armed.
  for (const [outcome, name] of Object.entries(faultOutcomes)) {
    const excess = (counts.outcomes[outcome] ?? 0) - (counts.faultsArmed[name] ?? 0)
    if (excess > 0) {
      counts.errors += excess
      unexpected.push({ outcome, excess, armed: counts.faultsArmed[name] ?? 0 })
    }
  }
  if (end.turns.activeTurns !== 0) unexpected.push({ leakedTurns: end.turns.activeTurns })
  for (const u of unexpected) console.error(`[soak] unexpected: ${JSON.stringify(u)}`)
  const rss = rssThirds(samples)
  const fdsBack = end.fds <= baseline.fds
  const rssOk = Math.abs(rss.drift) <= 0.1
  const pass = counts.errors === 0 && counts.lostOrDuplicated === 0 && rssOk && fdsBack && end.turns.activeTurns === 0 && end.traffic.inFlightRequests === 0
  return {
    minutes: options.minutes,
    concurrency: options.concurrency,
    warmupSeconds: warmupMs / 1000,
    turns: counts.turns,
    errors: counts.errors,
    lostOrDuplicated: counts.lostOrDuplicated,
    streamsChecked: counts.checkedTurns,
    rssStartMB: mb(samples[0]?.rss ?? NaN),
    rssEndMB: mb(samples.at(-1)?.rss ?? NaN),
    rssMaxMB: mb(Math.max(...samples.map((s) => s.rss))),
    ...resourceFigures(rss, baseline, end),
    fdsMaxLoad: Math.max(...samples.map((s) => s.fds)),
    outcomes: counts.outcomes,
    aborted: counts.aborted,
    faultsArmed: counts.faultsArmed,
    handlerStderrLines: handler.warnings.lines,
    samples: samples.map((s) => ({ t: s.t, rssMB: mb(s.rss), fds: s.fds, activeTurns: s.activeTurns, turns: s.turns, errors: s.errors })),
    pass,
  }
}

/** A few plain turns of each kind (JIT, pools, the addon's runtime), every one checked. */
async function warmUp(plane, handler) {
  const agent = new http.Agent({ keepAlive: true })
  for (let i = 0; i < 6; i++) {
    const chatId = `soak-warm-${process.pid}-${i}`
    const kind = KINDS[i % KINDS.length]
    const verdict = classify(await runTurn({ port: handler.port, agent, chatId, kind, timeoutMs: TURN_TIMEOUT_MS, now: () => 0 }), plane, chatId, MARKER)
    if (verdict.outcome !== 'complete') throw new Error(`warm-up turn ${chatId} (${kind}) ended ${JSON.stringify(verdict)}`)
  }
  agent.destroy()
  await sleep(500)
}

const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
})()

const plane = await startDevPlane({
  logRequests: abortsMode,
  maxLoggedRequests: 1_000_000,
  // Step 2 streams as separate appends, so phase 2 lasts long enough to be left and cut.
  agent: { bootDelayMs: 150, recordDelayMs: 3, text: ['The ', 'weather ', 'is ', 'fine ', 'in ', 'both ', 'cities.'] },
  faults: {},
})
const handler = await startHandler(plane)
let result
try {
  await warmUp(plane, handler)
  const baseline = { ...processStats(handler.child.pid), fdKinds: fdKinds(handler.child.pid, handler.ports), traffic: plane.traffic() }
  result = abortsMode
    ? await runAborts({ plane, handler, baseline, options, settle, processStats, rssThirds, resourceFigures })
    : await soak(plane, handler, baseline)
} finally {
  handler.child.kill()
  await plane.close()
}
result = { ...result, command: `npm run soak -- ${args.join(' ')}`.trim(), date: new Date().toISOString(), commit, node: process.version }
console.log(JSON.stringify(result))
process.exit(result.pass ? 0 : 1)
