// The S2S append session at the wire level (node:http2, h2c prior knowledge): one ack per frame
// in order, terminal error frames for bad frames and injected failures, h1 and h2 on one port.
import test from 'ava'
import http2 from 'node:http2'
import { startDevPlane, type DevPlane } from 'chat-headstart'

/** Protobuf AppendInput with string bodies (field 1 → AppendRecord{ body = 3 }). */
function appendInput(bodies: string[]): Buffer {
  const records = bodies.map((b) => {
    const body = Buffer.from(b)
    const record = Buffer.concat([Buffer.from([0x1a, body.length]), body])
    return Buffer.concat([Buffer.from([0x0a, record.length]), record])
  })
  return Buffer.concat(records)
}

function frame(payload: Buffer, flag = 0): Buffer {
  const len = payload.length + 1
  return Buffer.concat([Buffer.from([(len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff, flag]), payload])
}

function parseFrames(buf: Buffer) {
  const frames: Array<{ terminal: boolean; payload: Buffer }> = []
  let i = 0
  while (i + 4 <= buf.length) {
    const len = (buf[i] << 16) | (buf[i + 1] << 8) | buf[i + 2]
    frames.push({ terminal: (buf[i + 3] & 0x80) !== 0, payload: buf.subarray(i + 4, i + 3 + len) })
    i += 3 + len
  }
  return frames
}

/** Varint fields of an AppendAck position: returns [start, end, tail] seq_nums. */
function ackSeqs(payload: Buffer): number[] {
  const seqs: number[] = []
  let i = 0
  while (i < payload.length) {
    i++ // field tag (1, 2, 3; length-delimited)
    const len = payload[i++]
    const pos = payload.subarray(i, i + len)
    seqs.push(pos[0] === 0x08 ? pos[1] : 0) // seq_num = field 1 (0 is omitted by proto3)
    i += len
  }
  return seqs
}

async function session(plane: DevPlane, frames: Buffer[], { pauseMs = 0 } = {}) {
  const client = http2.connect(plane.s2Url.replace('/v1', ''))
  // The plane may reset the connection when the test closes it: what matters is checked below.
  client.on('error', () => {})
  const req = client.request({
    ':method': 'POST',
    ':path': `/v1/streams/${encodeURIComponent('/raw')}/records`,
    authorization: `Bearer ${plane.s2AccessToken}`,
    'content-type': 's2s/proto',
  })
  const chunks: Buffer[] = []
  let status = 0
  req.on('response', (h) => (status = Number(h[':status'])))
  req.on('data', (c) => chunks.push(c))
  const ended = new Promise<void>((resolve) => req.on('close', () => resolve()))
  for (const f of frames) {
    req.write(f)
    if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs))
  }
  req.end()
  await ended
  client.close()
  return { status, frames: parseFrames(Buffer.concat(chunks)) }
}

test('S2S: one ack per frame, FIFO, end positions strictly increasing', async (t) => {
  const plane = await startDevPlane()
  t.teardown(() => plane.close())
  const res = await session(plane, [frame(appendInput(['a', 'b'])), frame(appendInput(['c'])), frame(appendInput(['d', 'e', 'f']))], { pauseMs: 5 })
  t.is(res.status, 200)
  t.deepEqual(
    res.frames.map((f) => [f.terminal, ...ackSeqs(f.payload)]),
    [
      [false, 0, 2, 2],
      [false, 2, 3, 3],
      [false, 3, 6, 6],
    ],
  )
})

test('S2S: a frame split across writes and several frames in one write are both handled', async (t) => {
  const plane = await startDevPlane()
  t.teardown(() => plane.close())
  const whole = Buffer.concat([frame(appendInput(['x'])), frame(appendInput(['y']))])
  const res = await session(plane, [whole.subarray(0, 3), whole.subarray(3, 9), whole.subarray(9)], { pauseMs: 10 })
  t.deepEqual(
    res.frames.map((f) => ackSeqs(f.payload)[1]),
    [1, 2],
  )
})

test('S2S: invalid protobuf, compressed frames and injected failures end with a terminal frame', async (t) => {
  const plane = await startDevPlane()
  t.teardown(() => plane.close())
  const terminalOf = (f: { payload: Buffer }) => ({ status: f.payload.readUInt16BE(0), body: JSON.parse(f.payload.subarray(2).toString()) })

  let res = await session(plane, [frame(Buffer.from([0xff, 0xff, 0xff]))])
  t.true(res.frames[0].terminal)
  t.like(terminalOf(res.frames[0]), { status: 400, body: { code: 'invalid' } })

  res = await session(plane, [frame(appendInput(['z']), 0x40)])
  t.like(terminalOf(res.frames[0]), { status: 400 })

  plane.setFaults({ s2Append: { terminalStatus: 503, code: 'unavailable', message: 'try later', afterFrames: 1, times: 1 } })
  res = await session(plane, [frame(appendInput(['1'])), frame(appendInput(['2']))], { pauseMs: 10 })
  t.is(res.frames.length, 2)
  t.false(res.frames[0].terminal)
  t.deepEqual(terminalOf(res.frames[1]), { status: 503, body: { code: 'unavailable', message: 'try later' } })

  plane.setFaults({ s2Append: { status: 429, times: 1 } })
  res = await session(plane, [frame(appendInput(['3']))])
  t.is(res.status, 429)

  // A batch over the record limit is rejected atomically with a terminal 400.
  const big = 'x'.repeat(127)
  const tooMany = Array.from({ length: 1001 }, () => big.slice(0, 1))
  res = await session(plane, [frame(appendInput(tooMany))])
  t.like(terminalOf(res.frames[0]), { status: 400 })
  t.is(plane.requests().filter((r) => r.origin === 's2').length, 5)
})

test('S2S: s2AckLatencyMs holds every ack for that long', async (t) => {
  const plane = await startDevPlane({ faults: { s2AckLatencyMs: 300 } })
  t.teardown(() => plane.close())
  const started = performance.now()
  const res = await session(plane, [frame(appendInput(['slow'])), frame(appendInput(['acks']))])
  const elapsed = performance.now() - started
  t.deepEqual(
    res.frames.map((f) => ackSeqs(f.payload)),
    [
      [0, 1, 1],
      [1, 2, 2],
    ],
  )
  // A lower bound only: the two acks were each held, however slow the machine.
  t.true(elapsed >= 600, `both acks after ${elapsed.toFixed(0)} ms`)
})

test('one S2 port serves HTTP/1.1 and h2c', async (t) => {
  const plane = await startDevPlane()
  t.teardown(() => plane.close())
  const res = await fetch(`${plane.s2Url}/streams/${encodeURIComponent('/raw')}/records`, {
    method: 'POST',
    headers: { authorization: `Bearer ${plane.s2AccessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ records: [{ body: 'h1' }] }),
  })
  t.is(res.status, 200)
  const h2 = await session(plane, [frame(appendInput(['h2']))])
  t.deepEqual(ackSeqs(h2.frames[0].payload), [1, 2, 2])
  t.deepEqual(
    plane.requests().map((r) => r.httpVersion),
    ['http/1.1', 'h2'],
  )
})

test('tls: both ports speak HTTPS (h2 + http/1.1 via ALPN) with the self-signed certificate', async (t) => {
  const plane = await startDevPlane({ tls: true })
  t.teardown(() => plane.close())
  t.regex(plane.apiUrl, /^https:\/\/127\.0\.0\.1:\d+$/)
  t.regex(plane.s2Url, /^https:\/\/127\.0\.0\.1:\d+\/v1$/)
  t.regex(plane.certPem!, /BEGIN CERTIFICATE/)
  const https = await import('node:https')
  const status = await new Promise<number>((resolve, reject) => {
    const req = https.request(`${plane.apiUrl}/api/v1/sessions`, {
      method: 'POST',
      ca: plane.certPem!,
      agent: false, // no pooled socket left for the plane's close to reset
      headers: { authorization: `Bearer ${plane.secretKey}`, 'content-type': 'application/json' },
    })
    req.on('response', (res) => {
      res.resume()
      resolve(res.statusCode!)
    })
    req.on('error', reject)
    req.end(JSON.stringify({ type: 'chat.agent', externalId: 'tls', taskIdentifier: 'a', triggerConfig: { basePayload: {} } }))
  })
  t.is(status, 201)
  const client = http2.connect(plane.s2Url.replace('/v1', ''), { ca: plane.certPem! })
  // A reset when the plane closes at teardown must not surface as an uncaught socket error.
  client.on('error', () => {})
  const req = client.request({
    ':method': 'POST',
    ':path': `/v1/streams/${encodeURIComponent('/tls')}/records`,
    authorization: `Bearer ${plane.s2AccessToken}`,
    'content-type': 's2s/proto',
  })
  const chunks: Buffer[] = []
  req.on('data', (c) => chunks.push(c))
  const closed = new Promise((resolve) => req.on('close', resolve))
  req.end(frame(appendInput(['secure'])))
  await closed
  client.close()
  t.deepEqual(ackSeqs(parseFrames(Buffer.concat(chunks))[0].payload), [0, 1, 1])
  t.deepEqual(
    plane.requests().map((r) => r.httpVersion),
    ['http/1.1', 'h2'],
  )
})
