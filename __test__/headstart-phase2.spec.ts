// Phase 2 under a misbehaving browser: the upstream `session.out` read closes promptly
// when the browser goes away (§10.5, ours and the reference side by side), and a browser that
// stops reading holds the agent's output back to the plane instead of buffering it in the handler.
// Both rely on the plane's request log following each response (`responseEnd`, `responseBytes`).
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import test from 'ava'
import { chat, startDevPlane, type DevPlane, type LoggedRequest } from 'chat-headstart'
import { firstTurnBody, mockModel, oneToolCall, postTurn, serve, weatherTools } from './headstart.helpers.ts'
import { eventually, sleep } from './poll.ts'

function headStartOptions(plane: DevPlane) {
  return {
    agentId: 'exp-agent',
    apiClient: plane.apiClient,
    run: async ({ streamText }: any) => streamText({ model: mockModel(oneToolCall), tools: await weatherTools() }),
  }
}

async function mount(kind: 'ref' | 'ours', plane: DevPlane) {
  const { chat: refChat } = await import('@trigger.dev/sdk/chat-server')
  const listener =
    kind === 'ref'
      ? refChat.toNodeListener(refChat.headStart(headStartOptions(plane) as any))
      : chat.toNodeListener(chat.headStart(headStartOptions(plane) as any))
  return serve(listener as any)
}

const outReads = (plane: DevPlane, chatId: string): LoggedRequest[] =>
  plane.requests().filter((r) => r.method === 'GET' && r.path === `/realtime/v1/sessions/${chatId}/out`)

/** Whether the newest record of the chat's `session.out` is the turn-complete control record (reads one record). */
function turnComplete(plane: DevPlane, chatId: string) {
  const tail = plane.records(chatId, 'out', { fromSeq: Number.MAX_SAFE_INTEGER })?.tail.seq_num ?? 0
  const [last] = plane.records(chatId, 'out', { fromSeq: tail - 1 })?.records ?? []
  return last?.headers?.some(([n, v]) => n === 'trigger-control' && v === 'turn-complete') ?? false
}

/**
 * §10.5 with a slow agent: the browser leaves after the first step-2 text delta. Returns how
 * long the handler's `session.out` read stayed open after the abort, and the reads opened.
 */
async function abortDuringPhaseTwo(kind: 'ref' | 'ours', plane: DevPlane, planeEpoch: number, chatId: string) {
  const server = await mount(kind, plane)
  try {
    let abortedAt = 0
    const result = await postTurn(server.url, firstTurnBody(chatId), {
      abortAfter: (chunks) => {
        const stepTwoText = chunks.some((c) => c.type === 'text-delta' && c.id === 'a1')
        if (stepTwoText) abortedAt = performance.now()
        return stepTwoText
      },
    })
    const closed = await eventually(() => outReads(plane, chatId).find((r) => r.responseEnd !== null), 10_000)
    // On the plane's clock (not when this poll noticed): `responseEndMs` counts from the plane's start.
    const closedAfterMs = planeEpoch + closed!.responseEndMs! - abortedAt
    // The agent keeps writing after the abort and finishes the turn unobserved (§6.6).
    await eventually(() => turnComplete(plane, chatId), 15_000)
    await sleep(500)
    return { result, closed, closedAfterMs, reads: outReads(plane, chatId) }
  } finally {
    await server.close()
  }
}

test('§10.5 browser aborts while the agent writes slowly: the upstream read closes within 1 s, no read after it', async (t) => {
  // 24 step-2 deltas, one append every 150 ms: the agent is still writing when the browser leaves.
  const deltas = Array.from({ length: 24 }, (_, i) => `d${i} `)
  // The plane's clock starts inside startDevPlane: taking its start as the call's start can only
  // overstate the measured delay (by the start-up time).
  const planeEpoch = performance.now()
  const plane = await startDevPlane({ agent: { text: deltas, recordDelayMs: 150 } })
  t.teardown(() => plane.close())

  const ours = await abortDuringPhaseTwo('ours', plane, planeEpoch, 'p2-abort-ours')
  const ref = await abortDuringPhaseTwo('ref', plane, planeEpoch, 'p2-abort-ref')

  for (const [name, run] of [
    ['ours', ours],
    ['reference', ref],
  ] as const) {
    const texts = run.result.chunks.filter((c) => c.type === 'text-delta' && c.id === 'a1')
    t.true(texts.length >= 1 && texts.length < deltas.length, `${name}: the abort came mid phase 2 (${texts.length} deltas)`)
    t.is(run.reads.length, 1, `${name}: no session.out read opened after the abort`)
    t.is(run.closed!.responseEnd, 'aborted', `${name}: the read was closed by the handler, not ended by the plane`)
    t.is(run.reads[0].responseEnd, 'aborted')
    t.log(`${name}: session.out read closed ${run.closedAfterMs.toFixed(0)} ms after the browser aborted`)
  }
  // The correctness bound of §10.5 ("within ~1 s"); the reference is held to the observed trace.
  t.true(ours.closedAfterMs < 1000, `ours closed after ${ours.closedAfterMs.toFixed(0)} ms`)
  t.true(ref.closedAfterMs < 3000, `reference closed after ${ref.closedAfterMs.toFixed(0)} ms`)
  t.deepEqual(plane.openResponses().filter((r) => r.path.includes('/p2-abort-')), [], 'nothing of either chat still open')
})

// ---------------------------------------------------------------------------------------------
// Backpressure: a browser that stops reading in phase 2 while the agent writes ~48 MB.

const BIG_DELTAS = 3000
const DELTA_BYTES = 16 * 1024
const bigDeltas = Array.from({ length: BIG_DELTAS }, (_, i) => `${String(i).padStart(5, '0')}:${'x'.repeat(DELTA_BYTES - 6)}`)

/** A minimal Web-Fetch mount that reads `response.body` as a WHATWG stream and pipes it with backpressure. */
function webBodyListener(handler: (req: Request) => Promise<Response>) {
  return async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const abort = new AbortController()
    res.on('close', () => abort.abort())
    const response = await handler(
      new Request(`http://${req.headers.host}${req.url}`, {
        method: req.method,
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks),
        signal: abort.signal,
      }),
    )
    res.writeHead(response.status, Object.fromEntries(response.headers))
    res.flushHeaders()
    if (!response.body) return void res.end()
    await pipeline(Readable.fromWeb(response.body as any), res).catch(() => {})
  }
}

interface StalledBrowser {
  /** Resolves once step 1's `finish` arrived; the browser stops reading right after it. */
  paused: Promise<void>
  /** Bytes the browser's socket has taken off the kernel so far. */
  bytesRead(): number
  /** Starts reading again; resolves with the whole body. */
  resume(): Promise<string>
}

/**
 * Bytes queued in the kernel on the loopback TCP connections to or from `port` (Linux
 * /proc/net/tcp: the sender's unsent/unacked `tx_queue` plus the receiver's unread
 * `rx_queue`); undefined where that view does not exist.
 */
function kernelQueuedBytes(port: number): number | undefined {
  let table: string
  try {
    table = readFileSync('/proc/net/tcp', 'utf8')
  } catch {
    return undefined
  }
  let queued = 0
  for (const line of table.split('\n').slice(1)) {
    const [, local, remote, state, queues] = line.trim().split(/\s+/)
    if (state !== '01' || !queues) continue // ESTABLISHED only
    const [tx, rx] = queues.split(':').map((h) => parseInt(h, 16))
    if (parseInt(local.split(':')[1], 16) === port) queued += tx
    if (parseInt(remote.split(':')[1], 16) === port) queued += rx
  }
  return queued
}

/**
 * The most the kernel may queue on the two loopback hops (plane→handler, handler→browser): per
 * hop one sender's autotuned `tcp_wmem` ceiling plus one receiver's `tcp_rmem` ceiling. Hosts
 * tuned for throughput raise these to tens of MiB, enough to take the whole agent output while
 * the browser is stalled; undefined where /proc/sys is not readable.
 */
function kernelBufferCeiling(): number | undefined {
  try {
    const max = (name: string) => Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8').trim().split(/\s+/)[2])
    const perHop = max('tcp_rmem') + max('tcp_wmem')
    return Number.isFinite(perHop) ? 2 * perHop : undefined
  } catch {
    return undefined
  }
}

/** A browser on node:http that reads phase 1, then stops reading (socket backpressure). */
function stallingBrowser(url: string, body: unknown): StalledBrowser {
  let text = ''
  let ended: Promise<string>
  let response: http.IncomingMessage | undefined
  const paused = new Promise<void>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      response = res
      ended = new Promise((done, fail) => {
        res.on('end', () => done(text))
        res.on('error', fail)
      })
      res.setEncoding('utf8')
      const onData = (s: string) => {
        text += s
        if (text.includes('"finishReason":"tool-calls"}')) {
          res.off('data', onData)
          res.pause()
          resolve()
        }
      }
      res.on('data', onData)
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
  return {
    paused,
    bytesRead: () => response?.socket?.bytesRead ?? 0,
    resume() {
      response!.on('data', (s: string) => (text += s))
      response!.resume()
      return ended
    },
  }
}

/** Polls `read()` until it stops changing for `quietMs` (or `maxMs` passed). */
async function settledValue(read: () => number, quietMs = 600, maxMs = 15_000) {
  const end = Date.now() + maxMs
  let last = read()
  let since = Date.now()
  while (Date.now() < end) {
    await sleep(50)
    const now = read()
    if (now !== last) {
      last = now
      since = Date.now()
    } else if (Date.now() - since >= quietMs) break
  }
  return last
}

/** The raw `data` JSON of every data record the agent wrote (`{"data":<chunk>,"id":…}`), after step 1's. */
function agentChunkTexts(plane: DevPlane, chatId: string): string[] {
  const data = plane
    .records(chatId, 'out')!
    .records.filter((r) => r.body?.startsWith('{"data":'))
    .map((r) => r.body!.slice('{"data":'.length, r.body!.lastIndexOf(',"id":')))
  return data.slice(data.indexOf('{"type":"finish","finishReason":"tool-calls"}') + 1)
}

for (const path of ['toNodeListener (native pump)', 'Web body stream'] as const) {
  test.serial(`phase-2 backpressure through ${path}: a stalled browser holds the agent's 48 MB back at the plane`, async (t) => {
    const plane = await startDevPlane({ agent: { text: bigDeltas, recordsPerAppend: 40, bootDelayMs: 300 } })
    t.teardown(() => plane.close())
    const handler = chat.headStart(headStartOptions(plane) as any)
    const server = await serve(path === 'Web body stream' ? webBodyListener(handler) : (chat.toNodeListener(handler) as any))
    t.teardown(() => server.close())
    const chatId = path === 'Web body stream' ? 'bp-web' : 'bp-native'

    const browser = stallingBrowser(server.url, firstTurnBody(chatId))
    await browser.paused
    await eventually(() => turnComplete(plane, chatId), 30_000)
    const read = () => outReads(plane, chatId)[0]?.responseBytes ?? 0
    // Phase 2 has started flowing (the kernel buffers alone take MBs), then it stops.
    await eventually(() => read() > 2 ** 20, 30_000)
    const handedWhileStalled = await settledValue(read, 1000)
    // Where the handed bytes are while the browser is stalled: in the kernel on the plane→handler
    // hop, past the handler (kernel on the handler→browser hop, or read by the browser), or held
    // by the handler process itself (Rust + JS). Only the last one is ours to bound.
    const planeHop = kernelQueuedBytes(Number(new URL(plane.apiUrl).port))
    const browserHop = kernelQueuedBytes(Number(new URL(server.url).port))
    const browserRead = browser.bytesRead()
    const agentChunks = agentChunkTexts(plane, chatId)
    const agentBytes = agentChunks.reduce((n, s) => n + Buffer.byteLength(s), 0)

    const text = await browser.resume()
    // The browser seeing its response end and the plane seeing its read closed happen on two
    // different sockets, in either order (on a loaded host the second came later): wait for both.
    await eventually(() => outReads(plane, chatId)[0]?.responseEnd != null, 10_000).catch(() => undefined)
    const reads = outReads(plane, chatId)
    const handedTotal = reads.reduce((n, r) => n + r.responseBytes, 0)
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`
    t.true(agentBytes > 45 * 2 ** 20, `the agent wrote ${agentBytes} bytes`)
    // That the plane still held part of the output is only certain where the kernel buffers cannot
    // take all of it (a CI host had them large enough); the handler-held bound below holds anywhere.
    const kernelCeiling = kernelBufferCeiling()
    if (kernelCeiling === undefined || agentBytes > kernelCeiling + 10 * 2 ** 20) {
      t.true(handedWhileStalled < handedTotal, 'the plane still held part of the output while the browser was stalled')
    } else {
      t.log(`${path}: the kernel may queue up to ${mib(kernelCeiling)} on the two hops, so the plane need not hold anything back`)
    }
    if (planeHop === undefined || browserHop === undefined) {
      t.log(`${path}: plane handed ${mib(handedWhileStalled)} of ${mib(handedTotal)} while stalled (no /proc/net/tcp: kernel queues unknown)`)
    } else {
      // The two SSE encodings differ by a few dozen bytes per record (the plane's batch JSON
      // escapes the record body): a rounding error next to the bound.
      const heldByHandler = handedWhileStalled - planeHop - browserHop - browserRead
      t.log(
        `${path}: while stalled the plane handed ${mib(handedWhileStalled)} of ${mib(handedTotal)}: ` +
          `${mib(planeHop)} in the kernel plane→handler, ${mib(browserHop)} in the kernel handler→browser, ` +
          `${mib(browserRead)} read by the browser, ${mib(heldByHandler)} held by the handler process`,
      )
      // What the handler may hold by design: the 512 KiB body window (notification queue + JS
      // pipe), the subscription's two-event channel, hyper's read buffer and body slot (each up
      // to one ~400 KiB network read), the chunk past Node's write high-water mark, and on the
      // Web path the stream reader's read-ahead. Without backpressure it was everything (48 MiB).
      t.true(heldByHandler < 10 * 2 ** 20, `the handler process held ${mib(heldByHandler)} while the browser was stalled`)
    }
    t.is(reads.length, 1, 'one session.out read, no reconnect')
    t.not(reads[0].responseEnd, null, 'the read is closed once the turn completed')

    // After resuming: every agent chunk exactly once, in order, byte for byte.
    const frames = text.split('\n\n').filter((f) => f.startsWith('data: ')).map((f) => f.slice('data: '.length))
    const stepOneEnd = frames.indexOf('{"type":"finish","finishReason":"tool-calls"}')
    const phaseTwo = frames.slice(stepOneEnd + 1).filter((f) => !f.startsWith('{"type":"trigger:'))
    t.is(phaseTwo.length, agentChunks.length)
    t.true(
      phaseTwo.every((f, i) => f === agentChunks[i]),
      'phase-2 frames are the agent records verbatim',
    )
    const deltas = phaseTwo.map((f) => JSON.parse(f)).filter((c) => c.type === 'text-delta').map((c) => c.delta)
    t.deepEqual(deltas.length, BIG_DELTAS)
    t.true(deltas.every((d, i) => d === bigDeltas[i]), 'each delta once, in order')
    t.is(JSON.parse(frames.at(-1)!).type, 'trigger:session-state')
  })
}
