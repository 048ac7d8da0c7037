// `npm run soak -- --aborts N`: N first turns whose browser leaves at a random point (before the
// response head, in step 1, in the handover gap, in phase 2), in batches. After each batch the
// plane's request log says, for every upstream request of an aborted turn that was still open
// when the browser left (createSession, the S2 append session, the phase-2 read) or that the
// handler started afterwards (a handover-skip), when it ended: the latency from the abort (both
// clocks are the plane's). Requests still open a second after their batch are hung. Pass: none
// hung, every cancellation within 100 ms, and once the browsers have gone the handler's fds, RSS
// and running turns back at their warm baseline, nothing in flight at the plane.
import http from 'node:http'
import { ABORT_POINTS, KINDS, mb, pick, plannedAbort, runTurn, sleep } from './soak-turn.mjs'

const BATCH = 500
const BATCH_SETTLE_MS = 1000
const LIMIT_MS = 100

/** The chat a logged request belongs to: by the path (Trigger routes), the createSession body, or
 * the S2 stream name (`/sessions/{sessionId}/…`) through the plane's sessions. */
function chatOfRequest(request, chatBySession) {
  const route = /^\/realtime\/v1\/sessions\/([^/?]+)/.exec(request.path)
  if (route) return decodeURIComponent(route[1])
  if (request.path.startsWith('/api/v1/sessions')) {
    try {
      return JSON.parse(request.body).externalId
    } catch {
      return undefined
    }
  }
  const stream = /\/streams\/([^/?]+)/.exec(request.path)
  if (stream) {
    const session = /^\/sessions\/([^/]+)\//.exec(decodeURIComponent(stream[1]))
    return session && chatBySession.get(session[1])
  }
  return undefined
}

const percentile = (xs, p) => {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] * 10) / 10
}

export async function runAborts({ plane, handler, baseline, options, settle, processStats, rssThirds, resourceFigures }) {
  const agent = new http.Agent({ keepAlive: true })
  // A little control-plane latency keeps createSession in flight long enough to be left.
  plane.setFaults({ latencyMs: 20 })
  const byPoint = Object.fromEntries(ABORT_POINTS.map((p) => [p, { turns: 0, requestsOpenAtAbort: 0, latencies: [] }]))
  const figures = { aborted: 0, finishedBeforeAbort: 0, transportErrors: 0, requestsOpenAtAbort: 0, requestsStartedAfterAbort: 0, hung: 0, over100ms: 0 }
  const latencies = []
  const afterAbort = []
  const afterAbortKinds = {}
  const slowSamples = []
  const hungSamples = []
  const samples = []
  let chatSeq = 0
  let done = 0
  while (done < options.aborts) {
    const batch = Math.min(BATCH, options.aborts - done)
    plane.clearRequests()
    const turns = []
    let next = 0
    const browser = async () => {
      while (next < batch) {
        next++
        const chatId = `abort-${process.pid}-${++chatSeq}`
        const point = pick(ABORT_POINTS)
        const kind = point === 'phase2' ? pick(['one-tool', 'two-tool']) : pick(KINDS)
        const result = await runTurn({ port: handler.port, agent, chatId, kind, abort: plannedAbort(point), timeoutMs: 60_000, now: () => plane.traffic().nowMs })
        turns.push({ chatId, point, result })
      }
    }
    await Promise.all(Array.from({ length: Math.min(options.concurrency, batch) }, browser))
    await sleep(BATCH_SETTLE_MS)
    const chatBySession = new Map(plane.sessions().map((s) => [s.id, s.externalId]))
    const requestsByChat = new Map()
    for (const r of plane.requests()) {
      const chatId = chatOfRequest(r, chatBySession)
      if (!chatId) continue
      if (!requestsByChat.has(chatId)) requestsByChat.set(chatId, [])
      requestsByChat.get(chatId).push(r)
    }
    for (const { chatId, point, result } of turns) {
      if (result.ended !== 'aborted') {
        // The turn ended (or failed) before its planned point: nothing was left open by a browser.
        if (result.ended === 'end') figures.finishedBeforeAbort++
        else figures.transportErrors++
        continue
      }
      figures.aborted++
      byPoint[point].turns++
      for (const r of requestsByChat.get(chatId) ?? []) {
        const openAtAbort = r.timeMs <= result.abortedAt && (r.responseEndMs === null || r.responseEndMs > result.abortedAt)
        const startedAfter = r.timeMs > result.abortedAt
        if (!openAtAbort && !startedAfter) continue
        if (openAtAbort) {
          figures.requestsOpenAtAbort++
          byPoint[point].requestsOpenAtAbort++
        } else figures.requestsStartedAfterAbort++
        if (r.responseEndMs === null) {
          figures.hung++
          if (hungSamples.length < 10) hungSamples.push({ chatId, point, request: `${r.origin} ${r.method} ${r.path}`, status: r.status })
          continue
        }
        const latency = r.responseEndMs - result.abortedAt
        if (startedAfter) {
          // Not a cancellation: what the handler sends after the browser left (a handover-skip).
          afterAbort.push(latency)
          const what = `${r.method} ${r.path.replace(/\/sessions\/[^/]+/, '/sessions/{id}').replace(/\/streams\/[^/]+/, '/streams/{name}')}`
          afterAbortKinds[what] = (afterAbortKinds[what] ?? 0) + 1
          continue
        }
        latencies.push(latency)
        byPoint[point].latencies.push(latency)
        if (latency > LIMIT_MS) {
          figures.over100ms++
          if (slowSamples.length < 50) slowSamples.push({ chatId, point, request: `${r.origin} ${r.method} ${r.path}`, latency: Math.round(latency), responseEnd: r.responseEnd })
        }
      }
    }
    done += batch
    const proc = processStats(handler.child.pid)
    const traffic = plane.traffic()
    samples.push({ done, rss: proc.rss, fds: proc.fds })
    console.log(
      `[aborts] ${done}/${options.aborts} aborted=${figures.aborted} hung=${figures.hung} over${LIMIT_MS}ms=${figures.over100ms} p99=${percentile(latencies, 99)}ms rss=${mb(proc.rss)}MB fds=${proc.fds} planeInFlight=${traffic.inFlightRequests}`,
    )
  }
  agent.destroy()
  plane.resetFaults()
  const end = await settle(handler, plane, baseline)
  for (const h of hungSamples) console.error(`[aborts] hung: ${JSON.stringify(h)}`)
  for (const h of slowSamples) console.error(`[aborts] over ${LIMIT_MS} ms: ${JSON.stringify(h)}`)
  // Reported: the drift between batches while turns run (V8's heap grows into its limits).
  // Held: once the browsers have gone, the RSS is back within 10 % of the warm baseline.
  const rss = samples.length >= 3 ? rssThirds(samples) : { first: samples[0]?.rss, last: samples.at(-1)?.rss, drift: samples.length ? samples.at(-1).rss / samples[0].rss - 1 : NaN }
  const rssOk = end.rss <= baseline.rss * 1.1
  const fdsBack = end.fds <= baseline.fds
  const pass =
    figures.aborted > 0 && figures.hung === 0 && figures.over100ms === 0 && figures.transportErrors === 0 && fdsBack && rssOk &&
    end.turns.activeTurns === 0 && end.traffic.inFlightRequests === 0
  return {
    aborts: options.aborts,
    concurrency: options.concurrency,
    ...figures,
    // Abort → the plane saw the request end, for the requests open when the browser left.
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100), count: latencies.length },
    // Requests the handler started after the browser left, abort → their end.
    afterAbort: { kinds: afterAbortKinds, p50: percentile(afterAbort, 50), p99: percentile(afterAbort, 99), max: percentile(afterAbort, 100) },
    slowest: slowSamples,
    byPoint: Object.fromEntries(
      Object.entries(byPoint).map(([p, v]) => [p, { turns: v.turns, requestsOpenAtAbort: v.requestsOpenAtAbort, p99: percentile(v.latencies, 99), max: percentile(v.latencies, 100) }]),
    ),
    rssStartMB: mb(baseline.rss),
    rssEndMB: mb(end.rss),
    ...resourceFigures(rss, baseline, end),
    pass,
  }
}
