// The plane's Trigger API contract (docs/protocol.md §2, §4, §5, §11) exercised with raw fetch:
// validation and status codes, upsert, credentials, appends (dedupe, metered 413), the SSE
// read format, records, HEAD, channels, faults, the agent knobs and close().
import test from 'ava'
import net from 'node:net'
import { startDevPlane, type DevPlane } from 'chat-headstart'
import { eventually, sleep } from './poll.ts'

function api(plane: DevPlane, token = plane.secretKey) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${plane.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
    const text = method === 'HEAD' ? '' : await res.text()
    let json: any
    try {
      json = JSON.parse(text)
    } catch {}
    return { status: res.status, headers: res.headers, text, json }
  }
}

const sessionBody = (externalId: string, trigger = 'preload', extra: Record<string, unknown> = {}) => ({
  type: 'chat.agent',
  externalId,
  taskIdentifier: 'exp-agent',
  triggerConfig: { basePayload: { chatId: externalId, trigger, idleTimeoutInSeconds: 5 }, tags: [`chat:${externalId}`] },
  ...extra,
})

/** Parses an S2-format SSE body into events. */
function sseEvents(raw: string) {
  return raw
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const e: Record<string, string> = {}
      for (const line of block.split('\n')) {
        const i = line.indexOf(': ')
        e[line.slice(0, i)] = line.slice(i + 2)
      }
      return e
    })
}

test('createSession: 201 with every required field, then 200 cached for the same externalId', async (t) => {
  const plane = await startDevPlane()
  t.teardown(() => plane.close())
  const call = api(plane)
  const first = await call('POST', '/api/v1/sessions', sessionBody('c1', 'preload', { tags: ['x'], metadata: { a: 1 } }))
  t.is(first.status, 201)
  for (const key of ['id', 'externalId', 'type', 'taskIdentifier', 'currentRunId', 'tags', 'metadata', 'closedAt', 'closedReason', 'expiresAt', 'createdAt', 'updatedAt', 'runId', 'publicAccessToken', 'isCached', 'pendingVersion']) {
    t.true(key in first.json, `missing ${key}`)
  }
  t.regex(first.json.id, /^session_/)
  t.is(first.json.externalId, 'c1')
  t.deepEqual(first.json.tags, ['x'])
  t.deepEqual(first.json.metadata, { a: 1 })
  t.is(first.json.isCached, false)
  t.is(first.json.pendingVersion, false)
  t.is(new Date(first.json.createdAt).toISOString(), first.json.createdAt)
  const second = await call('POST', '/api/v1/sessions', sessionBody('c1'))
  t.is(second.status, 200)
  t.is(second.json.id, first.json.id)
  t.is(second.json.isCached, true)
  t.not(second.json.publicAccessToken, first.json.publicAccessToken)
  // Closed sessions answer 409 without retries.
  t.is((await call('POST', `/api/v1/sessions/${first.json.id}/close`, { reason: 'done' })).status, 200)
  const closed = await call('POST', '/api/v1/sessions', sessionBody('c1'))
  t.is(closed.status, 409)
  t.is(closed.headers.get('x-should-retry'), 'false')
  const append = await call('POST', '/realtime/v1/sessions/c1/in/append', '{"kind":"stop"}')
  t.is(append.status, 409)
  t.like(append.json, { ok: false, code: 'session_closed', closedReason: 'done' })
})

test('createSession validation and credentials give the real status codes', async (t) => {
  const plane = await startDevPlane()
  t.teardown(() => plane.close())
  const call = api(plane)
  const bad = async (body: unknown) => {
    const res = await call('POST', '/api/v1/sessions', body)
    t.is(res.status, 400, JSON.stringify(body))
    t.is(typeof res.json.error, 'string')
    return res.json.error as string
  }
  t.regex(await bad('{not json'), /Invalid JSON/)
  t.regex(await bad({ ...sessionBody('v'), taskIdentifier: undefined }), /taskIdentifier/)
  t.regex(await bad({ ...sessionBody('v'), externalId: 'session_abc' }), /externalId/)
  t.regex(await bad({ ...sessionBody('v'), type: '' }), /type/)
  t.regex(await bad({ ...sessionBody('v'), tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }), /tags/)
  t.regex(await bad({ ...sessionBody('v'), triggerConfig: { basePayload: [] } }), /basePayload/)
  t.regex(await bad({ ...sessionBody('v'), triggerConfig: { basePayload: {}, machine: 'huge' } }), /machine/)
  t.regex(await bad({ ...sessionBody('v'), triggerConfig: { basePayload: {}, idleTimeoutInSeconds: 0 } }), /idleTimeoutInSeconds/)
  t.regex(await bad({ ...sessionBody('v'), triggerConfig: { basePayload: {}, maxAttempts: 11 } }), /maxAttempts/)
  t.is((await api(plane, 'wrong')('POST', '/api/v1/sessions', sessionBody('v'))).status, 401)
  const anonymous = await fetch(`${plane.apiUrl}/api/v1/sessions`, { method: 'POST', body: JSON.stringify(sessionBody('v')) })
  t.is(anonymous.status, 401)
  t.deepEqual(await anonymous.json(), { error: 'Invalid or Missing API key' })
  t.is((await call('GET', '/api/v1/nope')).status, 404)
  t.is((await call('DELETE', '/api/v1/sessions')).status, 405)
  t.is(plane.sessions().length, 0, 'no session was created by a rejected request')
})

test('unknown sessions get 404 on every realtime route', async (t) => {
  const plane = await startDevPlane()
  t.teardown(() => plane.close())
  const call = api(plane)
  for (const [method, path] of [
    ['PUT', '/realtime/v1/sessions/ghost/out'],
    ['GET', '/realtime/v1/sessions/ghost/out'],
    ['HEAD', '/realtime/v1/sessions/ghost/out'],
    ['POST', '/realtime/v1/sessions/ghost/in/append'],
    ['GET', '/realtime/v1/sessions/ghost/in/records'],
    ['PUT', '/realtime/v1/sessions/ghost/channels/x/out'],
  ]) {
    const res = await call(method, path, method === 'POST' ? '{}' : undefined)
    t.is(res.status, 404, `${method} ${path}`)
    if (method !== 'HEAD') t.deepEqual(res.json, { error: 'Session not found' })
  }
  t.is((await call('PUT', '/realtime/v1/sessions/ghost/sideways')).status, 404)
})

test('PUT hands out S2 credentials; channels get their own stream', async (t) => {
  const plane = await startDevPlane()
  t.teardown(() => plane.close())
  const call = api(plane)
  const { json: created } = await call('POST', '/api/v1/sessions', sessionBody('p1'))
  const res = await call('PUT', '/realtime/v1/sessions/p1/out')
  t.is(res.status, 202)
  t.deepEqual(res.json, { version: 'v2' })
  t.is(res.headers.get('x-s2-access-token'), plane.s2AccessToken)
  t.regex(res.headers.get('x-s2-basin')!, /^[a-z0-9][a-z0-9-]{6,46}[a-z0-9]$/)
  t.is(res.headers.get('x-s2-stream-name'), `/sessions/${created.id}/out`)
  t.is(res.headers.get('x-s2-endpoint'), plane.s2Url)
  t.is(res.headers.get('x-s2-flush-interval-ms'), '200')
  t.is(res.headers.get('x-s2-max-retries'), '10')
  const byId = await call('PUT', `/realtime/v1/sessions/${created.id}/in`)
  t.is(byId.headers.get('x-s2-stream-name'), `/sessions/${created.id}/in`)
  const channel = await call('PUT', '/realtime/v1/sessions/p1/channels/tools/out')
  t.is(channel.headers.get('x-s2-stream-name'), `/sessions/${created.id}/channels/tools/out`)
  await call('POST', '/realtime/v1/sessions/p1/channels/tools/in/append', '{"n":1}')
  const records = await call('GET', '/realtime/v1/sessions/p1/channels/tools/in/records')
  t.deepEqual(records.json, { records: [{ data: '{"n":1}', id: records.json.records[0].id, seqNum: 0 }] })
  const head = await call('HEAD', '/realtime/v1/sessions/p1/out')
  t.is(head.status, 200)
  t.is(head.headers.get('x-last-chunk-index'), '0')
})

test('append: envelope, X-Part-Id dedupe, seq, metered 413 at the exact boundary', async (t) => {
  const plane = await startDevPlane()
  t.teardown(() => plane.close())
  const call = api(plane)
  await call('POST', '/api/v1/sessions', sessionBody('a1'))
  const partId = 'V1StGXR8_Z5jdHi6B-myT'
  const r1 = await call('POST', '/realtime/v1/sessions/a1/in/append', '{"kind":"stop"}', { 'x-part-id': partId })
  t.deepEqual(r1.json, { ok: true, seq: 0 })
  const again = await call('POST', '/realtime/v1/sessions/a1/in/append', '{"kind":"stop"}', { 'x-part-id': partId })
  t.is(again.status, 200)
  t.true(again.json.ok)
  const r2 = await call('POST', '/realtime/v1/sessions/a1/in/append', '{"kind":"x"}')
  t.deepEqual(r2.json, { ok: true, seq: 1 })
  const stored = plane.records('a1', 'in')!.records
  t.is(stored.length, 2)
  t.is(stored[0].body, `{"data":"{\\"kind\\":\\"stop\\"}","id":"${partId}"}`)
  // metered = 8 + len({"data":"<raw>","id":"<partId>"}); raw of "a" chars has no escapes.
  const overhead = 8 + '{"data":"","id":""}'.length + partId.length
  const fits = 'a'.repeat(1024 * 1024 - overhead)
  const ok = await call('POST', '/realtime/v1/sessions/a1/in/append', fits, { 'x-part-id': partId.replace('V', 'W') })
  t.is(ok.status, 200)
  const over = await call('POST', '/realtime/v1/sessions/a1/in/append', fits + 'a', { 'x-part-id': partId.replace('V', 'X') })
  t.is(over.status, 413)
  t.is(over.json.ok, false)
  t.regex(over.json.error, /Record metered size 1048577 bytes exceeds the S2 per-record limit of 1048576 bytes/)
  // Quotes cost two bytes once embedded as a JSON string.
  const quoted = await call('POST', '/realtime/v1/sessions/a1/in/append', '"'.repeat(600_000))
  t.is(quoted.status, 413)
  const huge = await call('POST', '/realtime/v1/sessions/a1/in/append', 'a'.repeat(1024 * 1024 + 1))
  t.is(huge.status, 413)
  t.is(plane.records('a1', 'in')!.records.length, 3)
})

test('public access tokens: own session only, never session.out appends', async (t) => {
  const plane = await startDevPlane()
  t.teardown(() => plane.close())
  const call = api(plane)
  const { json: one } = await call('POST', '/api/v1/sessions', sessionBody('t1'))
  await call('POST', '/api/v1/sessions', sessionBody('t2'))
  const asOne = api(plane, one.publicAccessToken)
  t.is((await asOne('POST', '/realtime/v1/sessions/t1/in/append', '{"kind":"stop"}')).status, 200)
  t.is((await asOne('POST', '/realtime/v1/sessions/t1/out/append', '{}')).status, 403)
  t.is((await asOne('POST', '/realtime/v1/sessions/t2/in/append', '{}')).status, 403)
  t.is((await asOne('POST', '/api/v1/sessions', sessionBody('t3'))).status, 401)
  t.is((await api(plane, 'forged')('GET', '/realtime/v1/sessions/t1/in/records')).status, 401)
})

test('SSE: S2 batch format, Last-Event-ID, pings, idle [DONE], Timeout-Seconds validation', async (t) => {
  const plane = await startDevPlane({ heartbeatMs: 200 })
  t.teardown(() => plane.close())
  const call = api(plane)
  await call('POST', '/api/v1/sessions', sessionBody('s1'))
  for (const n of [0, 1, 2]) await call('POST', '/realtime/v1/sessions/s1/in/append', `{"n":${n}}`)
  t.is((await call('GET', '/realtime/v1/sessions/s1/in', undefined, { 'timeout-seconds': '0' })).status, 400)
  t.is((await call('GET', '/realtime/v1/sessions/s1/in', undefined, { 'timeout-seconds': '601' })).status, 400)
  const started = Date.now()
  const res = await call('GET', '/realtime/v1/sessions/s1/in', undefined, { 'timeout-seconds': '1', 'last-event-id': '0' })
  const elapsed = Date.now() - started
  t.is(res.status, 200)
  t.is(res.headers.get('content-type'), 'text/event-stream')
  t.is(res.headers.get('x-stream-version'), 'v2')
  t.true(elapsed >= 950 && elapsed < 3000, `idle window ${elapsed} ms`)
  const events = sseEvents(res.text)
  t.is(events[0].event, 'batch')
  const batch = JSON.parse(events[0].data)
  t.deepEqual(
    batch.records.map((r: any) => [r.seq_num, JSON.parse(r.body).data]),
    [
      [1, '{"n":1}'],
      [2, '{"n":2}'],
    ],
  )
  t.is(batch.tail.seq_num, 3)
  t.is(events[0].id.split(',')[0], '2')
  t.is(events[0].id.split(',')[1], '2')
  const pings = events.filter((e) => e.event === 'ping')
  t.true(pings.length >= 2, 'a ping when caught up and while idle')
  t.is(JSON.parse(pings[0].data).tail.seq_num, 3)
  t.deepEqual(events.at(-1), { data: '[DONE]' })
})

test('SSE: X-Peek-Settled answers at once with X-Session-Settled after a turn-complete', async (t) => {
  const plane = await startDevPlane({ agent: { text: 'hi' } })
  t.teardown(() => plane.close())
  const call = api(plane)
  await call('POST', '/api/v1/sessions', sessionBody('k1'))
  const unsettled = await call('GET', '/realtime/v1/sessions/k1/out', undefined, { 'timeout-seconds': '1', 'x-peek-settled': '1' })
  t.is(unsettled.headers.get('x-session-settled'), null)
  await call('POST', '/realtime/v1/sessions/k1/in/append', JSON.stringify({ kind: 'message', payload: { message: { id: 'u', role: 'user', parts: [] } } }))
  // The agent answers in its own time; peek once its turn-complete is on the stream.
  const turnComplete = (r: any) => r.headers?.[0]?.[0] === 'trigger-control' && r.headers[0][1] === 'turn-complete'
  await eventually(
    async () => (await call('GET', '/realtime/v1/sessions/k1/out/records?afterEventId=0')).json?.records?.some(turnComplete),
    10_000,
    "the agent's turn-complete",
  )
  // At once: a peek that waited would hold this request open for the whole 600 s.
  const settled = await call('GET', '/realtime/v1/sessions/k1/out', undefined, { 'timeout-seconds': '600', 'x-peek-settled': '1', 'last-event-id': '100' })
  t.is(settled.headers.get('x-session-settled'), 'true')
  t.deepEqual(sseEvents(settled.text).at(-1), { data: '[DONE]' })
  const records = await call('GET', '/realtime/v1/sessions/k1/out/records?afterEventId=0')
  const control = records.json.records.at(-1)
  t.deepEqual(control.data, '')
  t.deepEqual(control.headers[0], ['trigger-control', 'turn-complete'])
  t.deepEqual(control.headers.slice(2), [
    ['session-in-event-id', '0'],
    ['session-in-consumed-id', '0'],
  ])
  t.is(records.json.records[0].seqNum, 1)
  t.is((await call('GET', '/realtime/v1/sessions/k1/out/records?afterEventId=x')).status, 400)
})

test('faults: createSession status/x-should-retry/delay/pendingVersion, .in append status, SSE status/error/early close, latency', async (t) => {
  const plane = await startDevPlane()
  t.teardown(() => plane.close())
  const call = api(plane)
  plane.setFaults({ createSession: { status: 500, shouldRetry: false, times: 1 } })
  const failed = await call('POST', '/api/v1/sessions', sessionBody('f1'))
  t.is(failed.status, 500)
  t.is(failed.headers.get('x-should-retry'), 'false')
  plane.setFaults({ createSession: { delayMs: 300, pendingVersion: true } })
  let started = Date.now()
  const slow = await call('POST', '/api/v1/sessions', sessionBody('f1'))
  t.true(Date.now() - started >= 280)
  t.is(slow.json.pendingVersion, true)
  plane.setFaults({ inAppend: { status: 503, times: 1 } })
  t.is((await call('POST', '/realtime/v1/sessions/f1/in/append', '{}')).status, 503)
  t.is((await call('POST', '/realtime/v1/sessions/f1/in/append', '{}')).status, 200)
  plane.setFaults({ sse: { io: 'in', status: 503 } })
  t.is((await call('GET', '/realtime/v1/sessions/f1/in')).status, 503)
  plane.setFaults({ sse: { io: 'in', errorEvent: 'boom', afterBatches: 1 } })
  const errored = await call('GET', '/realtime/v1/sessions/f1/in', undefined, { 'timeout-seconds': '5' })
  const events = sseEvents(errored.text)
  t.deepEqual(
    events.map((e) => e.event ?? e.data),
    ['batch', 'error'],
  )
  t.is(events[1].data, 'boom')
  plane.setFaults({ sse: { io: 'in', earlyClose: true, afterBatches: 1 } })
  await t.throwsAsync(call('GET', '/realtime/v1/sessions/f1/in', undefined, { 'timeout-seconds': '5' }))
  plane.setFaults({ latencyMs: 150 })
  started = Date.now()
  await call('GET', '/realtime/v1/sessions/f1/in/records')
  t.true(Date.now() - started >= 140)
  plane.resetFaults()
  t.throws(() => plane.setFaults({ latencyMS: 1 } as any), { message: /invalid faults/ })
})

async function handoverTurn(plane: DevPlane, chatId: string, isFinal = false) {
  const call = api(plane)
  await call('POST', '/api/v1/sessions', sessionBody(chatId, 'handover-prepare'))
  const partial = [
    {
      role: 'assistant',
      content: [
        { type: 'tool-call', toolCallId: 'call_1', toolName: 'getWeather', input: { city: 'Paris' } },
        { type: 'tool-approval-request', approvalId: 'handover-approval-1', toolCallId: 'call_1' },
      ],
    },
    { role: 'tool', content: [{ type: 'tool-approval-response', approvalId: 'handover-approval-1', approved: true }] },
  ]
  await call('POST', `/realtime/v1/sessions/${chatId}/in/append`, JSON.stringify({ kind: 'handover', partialAssistantMessage: partial, messageId: 'MSG', isFinal }))
  const res = await call('GET', `/realtime/v1/sessions/${chatId}/out`, undefined, { 'timeout-seconds': '1' })
  const batches = sseEvents(res.text).filter((e) => e.event === 'batch')
  const records = batches.flatMap((b) => JSON.parse(b.data).records)
  return { batches, records, chunks: records.filter((r: any) => r.body).map((r: any) => JSON.parse(r.body).data) }
}

test('agent knobs: tool errors, batches split, legacy turn-complete, upgrade-required, silent, boot delay', async (t) => {
  const plane = await startDevPlane({ agent: { toolErrors: { getWeather: 'no weather' }, text: [] } })
  t.teardown(() => plane.close())
  let turn = await handoverTurn(plane, 'k-errors')
  t.deepEqual(
    turn.chunks.map((c: any) => c.type),
    ['start', 'tool-output-error', 'start-step', 'finish-step', 'finish'],
  )
  t.deepEqual(turn.chunks[1], { type: 'tool-output-error', toolCallId: 'call_1', errorText: 'no weather' })
  t.deepEqual(turn.records.at(-1).headers[0], ['trigger-control', 'turn-complete'])

  plane.setAgent({ toolErrors: {}, text: ['a', 'b'], recordDelayMs: 20 })
  plane.setFaults({ sseBatchRecords: 1 })
  turn = await handoverTurn(plane, 'k-split')
  t.is(turn.batches.length, turn.records.length)
  t.is(turn.records.length, 10)
  plane.resetFaults()

  plane.setAgent({ recordDelayMs: 0, legacyTurnComplete: true })
  turn = await handoverTurn(plane, 'k-legacy')
  t.deepEqual(turn.chunks.at(-1), { type: 'trigger:turn-complete' })
  t.false(turn.records.some((r: any) => r.headers))

  plane.setAgent({ legacyTurnComplete: false, upgradeRequired: true })
  turn = await handoverTurn(plane, 'k-upgrade')
  t.deepEqual(turn.records.map((r: any) => r.headers), [[['trigger-control', 'upgrade-required']]])

  plane.setAgent({ upgradeRequired: false, silent: true })
  turn = await handoverTurn(plane, 'k-silent')
  t.deepEqual(turn.records, [])

  plane.setAgent({ silent: false })
  turn = await handoverTurn(plane, 'k-final', true)
  t.is(turn.records.length, 1, 'isFinal: only the control record')

  plane.setAgent({ bootDelayMs: 400 })
  const started = Date.now()
  const call = api(plane)
  await call('POST', '/api/v1/sessions', sessionBody('k-boot', 'handover-prepare'))
  await call('POST', '/realtime/v1/sessions/k-boot/in/append', JSON.stringify({ kind: 'handover', partialAssistantMessage: [], messageId: 'M', isFinal: true }))
  const res = await call('GET', '/realtime/v1/sessions/k-boot/out', undefined, { 'timeout-seconds': '5' , 'x-peek-settled': '0'})
  t.true(res.text.includes('turn-complete'))
  t.true(Date.now() - started >= 380, 'the agent answered only after booting')
})

test('agent hook: errors become an error chunk; handover-skip makes the agent exit silently', async (t) => {
  const plane = await startDevPlane({
    agent: {
      onTurn: () => {
        throw new Error('hook exploded')
      },
    },
  })
  t.teardown(() => plane.close())
  const turn = await handoverTurn(plane, 'h1')
  t.deepEqual(turn.chunks, [
    { type: 'start', messageId: 'MSG' },
    { type: 'error', errorText: 'hook exploded' },
    { type: 'finish', finishReason: 'error' },
  ])
  const call = api(plane)
  await call('POST', '/api/v1/sessions', sessionBody('h2', 'handover-prepare'))
  await call('POST', '/realtime/v1/sessions/h2/in/append', '{"kind":"handover-skip"}')
  await sleep(100)
  t.deepEqual(plane.records('h2', 'out')!.records, [])
})

test('close() frees both ports and is idempotent', async (t) => {
  const plane = await startDevPlane()
  const apiPort = Number(new URL(plane.apiUrl).port)
  const s2Port = Number(new URL(plane.s2Url).port)
  // An open SSE read must not keep the plane alive.
  const call = api(plane)
  await call('POST', '/api/v1/sessions', sessionBody('z'))
  const pending = fetch(`${plane.apiUrl}/realtime/v1/sessions/z/out`, { headers: { authorization: `Bearer ${plane.secretKey}` } })
    .then((r) => r.text())
    .catch(() => 'closed')
  await sleep(50)
  await plane.close()
  await plane.close()
  t.is(typeof (await pending), 'string')
  for (const port of [apiPort, s2Port]) {
    await new Promise<void>((resolve, reject) => {
      const server = net.createServer().once('error', reject)
      server.listen(port, '127.0.0.1', () => server.close(() => resolve()))
    })
  }
  await t.throwsAsync(fetch(`${plane.apiUrl}/api/v1/sessions`))
})
