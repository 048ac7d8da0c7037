// @s2-dev/streamstore 0.25 (both transports) against the plane's S2 endpoint.
import test from 'ava'
import { AppendInput, AppendRecord, S2 } from '@s2-dev/streamstore'
import { startDevPlane, type DevPlane } from 'chat-headstart'

function client(plane: DevPlane) {
  return new S2({ accessToken: plane.s2AccessToken, endpoints: { account: plane.s2Url, basin: plane.s2Url } } as any)
}

/** Takes `n` items without closing the iterator (a `break` in for-await would). */
async function take<T>(iterator: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = []
  while (out.length < n) {
    const { value, done } = await iterator.next()
    if (done) break
    out.push(value)
  }
  return out
}

for (const transport of ['s2s', 'fetch'] as const) {
  test(`S2 SDK (${transport} transport): append session, unary appends, trim, reads`, async (t) => {
    const plane = await startDevPlane()
    const s2 = client(plane)
    t.teardown(() => plane.close())
    const stream = s2.basin(plane.basin).stream(`/sdk/${transport}`, { forceTransport: transport } as any)

    const session = await stream.appendSession()
    const first = await session.submit(
      AppendInput.create([AppendRecord.string({ body: 'a' }), AppendRecord.string({ body: 'b', headers: [['k', 'v']] })]),
    )
    const second = await session.submit(AppendInput.create([AppendRecord.string({ body: 'c' })]))
    const [ack1, ack2] = await Promise.all([first.ack(), second.ack()])
    t.is(ack1.start.seqNum, 0)
    t.is(ack1.end.seqNum, 2)
    t.is(ack2.start.seqNum, 2)
    t.is(ack2.end.seqNum, 3)
    t.true(ack2.end.timestamp.getTime() >= ack1.end.timestamp.getTime())
    await session.close()

    const unary = await stream.append(AppendInput.create([AppendRecord.string({ body: 'd' })]))
    t.is(unary.start.seqNum, 3)
    // A trim command record is bytes-typed: the SDK sends it as unary protobuf.
    const trimmed = await stream.append(AppendInput.create([AppendRecord.trim(1)]))
    t.is(trimmed.start.seqNum, 4)

    const batch = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 100 } } } as any)
    t.deepEqual(
      batch.records.map((r: any) => [r.seqNum, r.body]),
      [
        [1, 'b'],
        [2, 'c'],
        [3, 'd'],
        [4, batch.records[3].body],
      ],
    )
    t.deepEqual(batch.records[0].headers, [['k', 'v']])
    t.deepEqual(batch.records[3].headers, [['', 'trim']])
    const data = await stream.read({ start: { from: { seqNum: 0 } }, ignoreCommandRecords: true } as any)
    t.deepEqual(
      data.records.map((r: any) => r.seqNum),
      [1, 2, 3],
    )
    t.is((await stream.checkTail()).tail.seqNum, 5)

    // A read session catches up, then follows the tail.
    const reader = await stream.readSession({ start: { from: { seqNum: 2 } } } as any)
    const records = (reader as unknown as AsyncIterable<any>)[Symbol.asyncIterator]()
    const caughtUp = await take(records, 3)
    t.deepEqual(
      caughtUp.map((r) => r.seqNum),
      [2, 3, 4],
    )
    const live = take(records, 1)
    await stream.append(AppendInput.create([AppendRecord.string({ body: 'live' })]))
    const [liveRecord] = await live
    t.is(liveRecord.body, 'live')
    t.is(liveRecord.seqNum, 5)
    await records.return?.()

    // Preconditions: fencing token and match_seq_num.
    await stream.append(AppendInput.create([AppendRecord.fence('owner-1')]))
    const fenced = await t.throwsAsync(
      stream.append(AppendInput.create([AppendRecord.string({ body: 'x' })], { fencingToken: 'owner-2' } as any)),
    )
    t.regex(String(fenced?.message), /fenc/i)
    await t.throwsAsync(stream.append(AppendInput.create([AppendRecord.string({ body: 'x' })], { matchSeqNum: 0 } as any)))
    const ok = await stream.append(AppendInput.create([AppendRecord.string({ body: 'y' })], { matchSeqNum: 7, fencingToken: 'owner-1' } as any))
    t.is(ok.start.seqNum, 7)

    const appends = plane.requests().filter((r) => r.method === 'POST')
    t.is(appends[0].httpVersion, transport === 's2s' ? 'h2' : 'http/1.1')
    t.is(appends[0].headers['s2-basin'], plane.basin)
  })
}

test('S2 plane rejects a wrong token, an unknown basin and a start beyond the tail', async (t) => {
  const plane = await startDevPlane()
  t.teardown(() => plane.close())
  const url = `${plane.s2Url}/streams/${encodeURIComponent('/x')}/records`
  const auth = { authorization: `Bearer ${plane.s2AccessToken}` }
  let res = await fetch(url, { headers: { authorization: 'Bearer nope' } })
  t.is(res.status, 403)
  t.is((await res.json()).code, 'permission_denied')
  res = await fetch(url, { headers: { ...auth, 's2-basin': 'other-basin' } })
  t.is(res.status, 404)
  res = await fetch(`${url}?seq_num=5`, { headers: auth })
  t.is(res.status, 416)
  res = await fetch(`${url}?seq_num=5&clamp=true`, { headers: auth })
  t.is(res.status, 200)
  t.deepEqual(await res.json(), { records: [], tail: { seq_num: 0, timestamp: 0 } })
  res = await fetch(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"records":[]}' })
  t.is(res.status, 400)
  res = await fetch(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: 'nope' })
  t.is(res.status, 400)
  const big = 'x'.repeat(1024 * 1024)
  res = await fetch(url, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ records: [{ body: big }] }) })
  t.is(res.status, 400)
  t.regex((await res.json()).message, /metered size/)
})
