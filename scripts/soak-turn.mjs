// One browser turn of the soak (scripts/soak.mjs): a head-start POST over node:http that reads
// the SSE response, optionally leaving at a planned point, and the checks of what it saw against
// what the plane stored on the chat's session.out.
import http from 'node:http'

/** Where a leaving browser goes: before the response head (createSession in flight), during step
 * 1 after `after` data chunks, in the handover gap (step 1's `finish` seen, no agent chunk yet),
 * or in phase 2 after `after` agent chunks. */
export const ABORT_POINTS = ['head', 'step1', 'gap', 'phase2']

/** Step 1 of a turn (scripts/soak-handler.mjs picks the model's answer by it). */
export const KINDS = ['text', 'one-tool', 'two-tool']

export const pick = (xs) => xs[Math.floor(Math.random() * xs.length)]
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
export const mb = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10

/** A browser leaving at `point`: after `after` chunks (step 1) or agent chunks (phase 2, ≥ 1),
 * or `afterMs` after the request (head). */
export const plannedAbort = (point) => ({
  point,
  after: point === 'phase2' ? 1 + Math.floor(Math.random() * 4) : Math.floor(Math.random() * 8),
  afterMs: Math.random() * 60,
})

export function firstTurnBody(chatId, kind) {
  return JSON.stringify({
    chatId,
    trigger: 'submit-message',
    headStartMessages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: `soak:${kind} what is the weather?` }] }],
  })
}

/**
 * POSTs a first turn and reads its SSE body. Resolves (never rejects) with
 * `{ status, body?, chunks, ended: 'end' | 'aborted' | 'error' | 'timeout', error?, abortedAt? }`;
 * `abortedAt` is `now()` when the browser left (`now` = the caller's clock, e.g. the plane's).
 */
export function runTurn({ port, agent, chatId, kind, abort, timeoutMs, now }) {
  return new Promise((resolve) => {
    const chunks = []
    let status = 0
    let settled = false
    let stepOneDone = false
    let agentChunks = 0
    let abortedAt
    const done = (ended, extra = {}) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      clearTimeout(headTimer)
      resolve({ status, chunks, ended, abortedAt, ...extra })
    }
    const body = firstTurnBody(chatId, kind)
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/api/chat',
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    })
    const leave = () => {
      if (settled) return
      abortedAt = now()
      req.destroy()
      done('aborted')
    }
    const timer = setTimeout(() => {
      req.destroy()
      done('timeout')
    }, timeoutMs)
    const headTimer = abort?.point === 'head' ? setTimeout(leave, abort.afterMs) : undefined
    req.on('error', (e) => done('error', { error: e.code ?? e.message }))
    req.on('response', (res) => {
      status = res.statusCode
      if (status !== 200) {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d) => (text += d))
        res.on('end', () => done('end', { body: text }))
        res.on('error', (e) => done('error', { error: e.code ?? e.message }))
        return
      }
      if (abort?.point === 'step1' && abort.after === 0) return leave()
      let buf = ''
      res.setEncoding('utf8')
      res.on('data', (d) => {
        buf += d
        let i
        while (!settled && (i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i)
          buf = buf.slice(i + 2)
          if (!frame.startsWith('data: ')) continue
          const chunk = JSON.parse(frame.slice(6))
          chunks.push(chunk)
          if (stepOneDone) agentChunks++
          if (!stepOneDone && chunk.type === 'finish') stepOneDone = true
          if (!abort) continue
          if (abort.point === 'step1' && !stepOneDone && chunks.length >= abort.after) leave()
          else if (abort.point === 'step1' && stepOneDone) leave()
          else if (abort.point === 'gap' && stepOneDone && agentChunks === 0) leave()
          else if (abort.point === 'phase2' && agentChunks >= abort.after) leave()
        }
      })
      res.on('end', () => done('end'))
      res.on('error', (e) => done('error', { error: e.code ?? e.message }))
      res.on('aborted', () => done('error', { error: 'response aborted' }))
    })
    req.end(body)
  })
}

const isTrailer = (c) => c.type === 'trigger:turn-complete' || c.type === 'trigger:session-state'

/** The data chunks the plane stored on session.out (control records left out), as JSON texts. */
export function storedChunks(plane, chatId) {
  const out = plane.records(chatId, 'out')?.records ?? []
  const data = []
  let turnComplete = false
  for (const r of out) {
    if (r.headers?.some(([n, v]) => n === 'trigger-control' && v === 'turn-complete')) turnComplete = true
    if (r.headers?.some(([n]) => n === 'trigger-control')) continue
    data.push(JSON.stringify(JSON.parse(r.body).data))
  }
  return { data, turnComplete }
}

/**
 * Compares the browser's data chunks (trailer left out) with session.out's, in order:
 * `lost` = stored chunks the browser never got, `duplicated` = chunks the browser got more often
 * than they were stored (both as multisets), `reordered` = same multiset, other order.
 */
export function compareStreams(browser, stored) {
  const seen = browser.map((c) => JSON.stringify(c))
  if (seen.length === stored.length && seen.every((c, i) => c === stored[i])) return { lost: 0, duplicated: 0, reordered: false }
  const counts = new Map()
  for (const c of stored) counts.set(c, (counts.get(c) ?? 0) + 1)
  let duplicated = 0
  for (const c of seen) {
    const n = counts.get(c) ?? 0
    if (n > 0) counts.set(c, n - 1)
    else duplicated++
  }
  const lost = [...counts.values()].reduce((a, b) => a + b, 0)
  return { lost, duplicated, reordered: lost === 0 && duplicated === 0 }
}

/**
 * What a finished (not aborted) turn's outcome means. Returns `{ outcome, expected, mismatch? }`:
 * - `complete`: 200, turn-complete reached the browser and its stream equals session.out;
 * - `fault:createSession`: the injected createSession failure, answered 502 naming it;
 * - `fault:sse404`: the injected phase-2 404, an `error` chunk naming it after an intact step 1;
 * - `fault:handover413`: the injected handover rejection, step 1 only (handover-skip sent);
 * anything else is unexpected (`expected: false`). A turn with neither the handover nor the skip
 * stored also carries `ifSkipRejected`: its verdict when the handler says the skip was rejected.
 */
export function classify(result, plane, chatId, marker) {
  const { status, chunks, ended } = result
  if (ended !== 'end') return { outcome: `transport:${ended}${result.error ? `:${result.error}` : ''}`, expected: false }
  if (status === 502 && result.body?.includes(marker)) return { outcome: 'fault:createSession', expected: true }
  if (status !== 200) return { outcome: `status:${status}`, expected: false, detail: result.body?.slice(0, 200) }
  const stored = storedChunks(plane, chatId)
  const data = chunks.filter((c) => !isTrailer(c))
  const last = chunks.at(-1)
  if (last?.type === 'trigger:session-state' && chunks.at(-2)?.type === 'trigger:turn-complete') {
    const mismatch = compareStreams(data, stored.data)
    const clean = intact(mismatch)
    return { outcome: clean ? 'complete' : 'complete:mismatch', expected: clean, mismatch }
  }
  if (last?.type === 'error' && /404/.test(last.errorText ?? '')) {
    const stepOne = data.slice(0, data.findIndex((c) => c.type === 'finish') + 1)
    const mismatch = compareStreams(stepOne, stored.data.slice(0, stepOne.length))
    return { outcome: 'fault:sse404', expected: stepOne.length > 0 && intact(mismatch), mismatch }
  }
  const inRecords = (plane.records(chatId, 'in')?.records ?? []).map((r) => JSON.parse(JSON.parse(r.body).data).kind)
  let rejected
  if (last?.type === 'finish' && !inRecords.includes('handover')) {
    const mismatch = compareStreams(data, stored.data)
    rejected = { outcome: 'fault:handover413', expected: intact(mismatch), mismatch }
    if (inRecords.includes('handover-skip')) return rejected
  }
  // Neither stored: the skip may have been rejected too, by a 413 another turn armed in between
  // (faults are plane-wide). Only the handler's warnings can tell; soak.mjs looks once it is over.
  const verdict = { outcome: `incomplete:${last?.type ?? 'empty'}`, expected: false, detail: JSON.stringify(chunks.slice(-3)).slice(0, 300), inRecords }
  if (rejected) verdict.ifSkipRejected = rejected
  return verdict
}

/** Nothing lost, duplicated or reordered. */
const intact = (mismatch) => !mismatch.lost && !mismatch.duplicated && !mismatch.reordered
