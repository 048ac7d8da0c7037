// bench/plane: how many records per second the local session plane sustains for append + SSE
// read, so later benchmarks can show the plane is not their bottleneck.
//
//   npm run bench -- plane            (release build, then this file on Node >= 22)
//
// Every scenario measures end to end: from the first append until an SSE reader on the Trigger
// API route (`GET /realtime/v1/sessions/{id}/{io}`, the phase-2 path of chat.headStart) has
// received every record. Writers and the reader run in this Node process; the plane runs on its
// own native threads in the same process, so "cpu" is the whole process (clients included).
import { readdirSync, readFileSync } from 'node:fs'
import http from 'node:http'
import { AppendInput, AppendRecord, S2 } from '@s2-dev/streamstore'
import { startDevPlane } from '../../index.js'

const quick = process.argv.includes('--quick')
const scale = quick ? 0.1 : 1

/** A UI-chunk-sized envelope, like the handler's step-1 records (~90 bytes). */
const body = (i) => JSON.stringify({ data: { type: 'text-delta', id: 's1', delta: `token ${i} ` }, id: `e${i}`.padStart(7, '0') })

async function createSession(plane, chatId) {
  const res = await fetch(`${plane.apiUrl}/api/v1/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${plane.secretKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'chat.agent', externalId: chatId, taskIdentifier: 'bench', triggerConfig: { basePayload: { chatId } } }),
  })
  if (res.status !== 201) throw new Error(`createSession: ${res.status}`)
  return res.json()
}

async function initialize(plane, chatId, io) {
  const res = await fetch(`${plane.apiUrl}/realtime/v1/sessions/${chatId}/${io}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${plane.secretKey}` },
  })
  return { stream: res.headers.get('x-s2-stream-name'), token: res.headers.get('x-s2-access-token') }
}

/** Reads the session SSE route until `total` records arrived; resolves with the arrival time. */
function readAll(plane, chatId, io, total) {
  const abort = new AbortController()
  const done = (async () => {
    const res = await fetch(`${plane.apiUrl}/realtime/v1/sessions/${chatId}/${io}`, {
      headers: { authorization: `Bearer ${plane.secretKey}`, 'timeout-seconds': '60' },
      signal: abort.signal,
    })
    const reader = res.body.getReader()
    const decoder = new TextDecoder()
    let buffer = ''
    let seen = 0
    for (;;) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`SSE ended after ${seen}/${total} records`)
      buffer += decoder.decode(value, { stream: true })
      let idx
      while ((idx = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, idx)
        buffer = buffer.slice(idx + 2)
        if (!event.startsWith('event: batch')) continue
        const data = event.slice(event.indexOf('\ndata: ') + 7)
        seen += JSON.parse(data).records.length
      }
      if (seen >= total) {
        const at = performance.now()
        abort.abort()
        return at
      }
    }
  })()
  return done
}

/**
 * CPU µs used so far by the plane's own runtime threads (named "chat-headstart-plane", which
 * Linux truncates to "chat-headstart-"), from /proc; undefined where /proc is missing.
 */
function planeCpuUs() {
  try {
    const ticksPerSecond = 100 // USER_HZ on Linux
    let ticks = 0
    for (const tid of readdirSync('/proc/self/task')) {
      if (!readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('chat-headstart-')) continue
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12]) // utime, stime
    }
    return (ticks / ticksPerSecond) * 1e6
  } catch {
    return undefined
  }
}

function measure() {
  return { cpu: process.cpuUsage(), plane: planeCpuUs() }
}

function report(name, records, startedAt, endedAt, before) {
  const seconds = (endedAt - startedAt) / 1000
  const cpu = process.cpuUsage(before.cpu)
  const cpuUsPerRecord = (cpu.user + cpu.system) / records
  const plane = before.plane === undefined ? undefined : (planeCpuUs() - before.plane) / records
  const rate = records / seconds
  console.log(
    `${name.padEnd(52)} ${String(records).padStart(7)} records  ${seconds.toFixed(2).padStart(6)} s  ${Math.round(rate)
      .toLocaleString('en-US')
      .padStart(10)} records/s  ${cpuUsPerRecord.toFixed(1).padStart(6)} µs cpu/record (process)` +
      (plane === undefined ? '' : `  ${plane.toFixed(1).padStart(5)} µs (plane threads)`),
  )
  return rate
}

let sessionCounter = 0

async function s2sBatches(plane, { total, batch, label }) {
  const chatId = `s2s-${batch}-${++sessionCounter}`
  await createSession(plane, chatId)
  const { stream: streamName, token } = await initialize(plane, chatId, 'out')
  const s2 = new S2({ accessToken: token, endpoints: { account: plane.s2Url, basin: plane.s2Url } })
  const stream = s2.basin(plane.basin).stream(streamName)
  const session = await stream.appendSession({ maxInflightBytes: 8 * 1024 * 1024 })
  const cpuBefore = measure()
  const startedAt = performance.now()
  const arrived = readAll(plane, chatId, 'out', total)
  const acks = []
  for (let i = 0; i < total; i += batch) {
    const records = []
    for (let j = i; j < Math.min(total, i + batch); j++) records.push(AppendRecord.string({ body: body(j) }))
    const ticket = await session.submit(AppendInput.create(records))
    acks.push(ticket.ack())
  }
  await Promise.all(acks)
  await session.close()
  const endedAt = await arrived
  return report(label, total, startedAt, endedAt, cpuBefore)
}

async function apiAppends(plane, { total, concurrency }) {
  const chatId = 'api-appends'
  await createSession(plane, chatId)
  const cpuBefore = measure()
  const startedAt = performance.now()
  const arrived = readAll(plane, chatId, 'in', total)
  let next = 0
  const worker = async () => {
    while (next < total) {
      const i = next++
      const res = await fetch(`${plane.apiUrl}/realtime/v1/sessions/${chatId}/in/append`, {
        method: 'POST',
        headers: { authorization: `Bearer ${plane.secretKey}`, 'content-type': 'application/json', 'x-part-id': `p${i}` },
        body: JSON.stringify({ kind: 'bench', payload: { n: i } }),
      })
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`append: ${res.status}`)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const endedAt = await arrived
  return report(`Trigger API .in/append (${concurrency} clients) + SSE read`, total, startedAt, endedAt, cpuBefore)
}

/** The client-side ceiling: the same fetch loop against a node:http server that does nothing. */
async function nodeHttpBaseline({ total, concurrency }) {
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true,"seq":0}')
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${server.address().port}/append`
  const cpuBefore = measure()
  const startedAt = performance.now()
  let next = 0
  const worker = async () => {
    while (next < total) {
      next++
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"bench"}' })
      await res.arrayBuffer()
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const rate = report(`baseline: same clients against an empty node:http`, total, startedAt, performance.now(), cpuBefore)
  server.closeAllConnections()
  server.close()
  return rate
}

const plane = await startDevPlane({ logRequests: false })
try {
  console.log(`bench/plane — Node ${process.version}, ${quick ? 'quick' : 'full'} run\n`)
  // Warm-up (connections, JIT).
  await s2sBatches(plane, { total: 2000, batch: 100, label: 'warm-up' })
  const results = {
    batched: await s2sBatches(plane, { total: Math.round(200_000 * scale), batch: 100, label: 'S2S append session, 100 records/frame + SSE read' }),
    single: await s2sBatches(plane, { total: Math.round(20_000 * scale), batch: 1, label: 'S2S append session, 1 record/frame + SSE read' }),
    api: await apiAppends(plane, { total: Math.round(10_000 * scale), concurrency: 16 }),
    baseline: await nodeHttpBaseline({ total: Math.round(10_000 * scale), concurrency: 16 }),
  }
  console.log(
    `\nplane sustains ≈ ${Math.round(results.batched).toLocaleString('en-US')} records/s batched, ` +
      `${Math.round(results.single).toLocaleString('en-US')} records/s one record per frame, ` +
      `${Math.round(results.api).toLocaleString('en-US')} records/s through .in/append ` +
      `(one HTTP request per record; the same clients reach ${Math.round(results.baseline).toLocaleString('en-US')} req/s against an empty node:http)`,
  )
} finally {
  await plane.close()
}
