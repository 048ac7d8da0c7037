// toNodeListener on the node:http2 compatibility API (h2c): the generic Fetch battery of
// listener-frameworks.spec.ts (which speaks HTTP/1.1) over HTTP/2 streams.
import test from 'ava'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { toNodeListener } from 'chat-headstart'
import { encoder } from './listener.helpers.ts'
import { eventually, settled, sleep } from './poll.ts'

async function h2Server(handler: (req: Request) => Response | Promise<Response>) {
  const listener = toNodeListener(handler)
  const server = http2.createServer((req, res) => void listener(req, res))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  client.on('error', () => {})
  return {
    client,
    close: () =>
      new Promise<void>((r) => {
        client.destroy()
        server.close(() => r())
      }),
  }
}

/** One request on the session; resolves with status, headers and the body text. */
function request(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string | Uint8Array) {
  return new Promise<{ status: number; headers: http2.IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const s = client.request(headers)
    let text = ''
    let responseHeaders: http2.IncomingHttpHeaders = {}
    s.setEncoding('utf8')
    s.on('response', (h) => (responseHeaders = h))
    s.on('data', (d: string) => (text += d))
    s.on('end', () => resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, text }))
    s.on('error', reject)
    s.end(body)
  })
}

test.serial('node:http2 compat: JSON, 4 MiB upload, HEAD, error without leak, slow reader', async (t) => {
  let pulled = 0
  const { client, close } = await h2Server(async (req) => {
    const path = new URL(req.url).pathname
    if (path === '/json') return Response.json({ got: await req.json() })
    if (path === '/upload') {
      let n = 0
      for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) n += chunk.byteLength
      return new Response(String(n))
    }
    if (path === '/head') return new Response('twelve bytes', { headers: { 'x-kind': 'head' } })
    if (path === '/boom') throw new Error('secret detail')
    return new Response(
      new ReadableStream<Uint8Array>({
        pull(c) {
          pulled += 65536
          c.enqueue(new Uint8Array(65536))
        },
      }),
    )
  })
  t.teardown(close)
  const j = await request(client, { ':method': 'POST', ':path': '/json', 'content-type': 'application/json' }, '{"a":[1,2]}')
  t.is(j.status, 200)
  t.deepEqual(JSON.parse(j.text), { got: { a: [1, 2] } })
  const up = await request(client, { ':method': 'POST', ':path': '/upload' }, new Uint8Array(4 * 1024 * 1024))
  t.is(up.text, String(4 * 1024 * 1024))
  const head = await request(client, { ':method': 'HEAD', ':path': '/head' })
  t.is(head.status, 200)
  t.is(head.headers['x-kind'], 'head')
  t.is(head.headers['content-length'], '12')
  t.is(head.text, '')
  const errorLog = console.error
  const logged: unknown[] = []
  console.error = (...args: unknown[]) => logged.push(...args)
  const boom = await request(client, { ':path': '/boom' }).finally(() => (console.error = errorLog))
  t.is(boom.status, 500)
  t.is(boom.text, '{"error":"Internal Server Error"}')
  t.true(logged.some((x) => x instanceof Error && x.message === 'secret detail'), 'the detail goes to the log')

  // A stream whose client stops reading: HTTP/2 flow control pushes back, the producer stops.
  const slow = client.request({ ':path': '/slow' })
  await new Promise((r) => slow.once('data', r))
  slow.pause()
  const held = await settled(() => pulled)
  t.true(held < 32 * 1024 * 1024, `pulled ${held}`)
  slow.close(http2.constants.NGHTTP2_CANCEL)
})

test('node:http2 compat: a client reset aborts the signal and cancels the body; a completed stream never aborts', async (t) => {
  const seen = { aborted: 0, cancelled: 0 }
  const listener = toNodeListener((req) => {
    req.signal.addEventListener('abort', () => seen.aborted++)
    const endless = new URL(req.url).pathname === '/endless'
    let i = 0
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(c) {
          await sleep(5)
          if (!endless && i === 3) return c.close()
          c.enqueue(encoder.encode(`data: ${i++}\n\n`))
        },
        cancel() {
          seen.cancelled++
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  })
  const server = http2.createServer((req, res) => void listener(req, res))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  const complete = client.request({ ':path': '/complete' })
  let text = ''
  complete.setEncoding('utf8').on('data', (d: string) => (text += d))
  await new Promise((r) => complete.on('end', r))
  t.is(text, 'data: 0\n\ndata: 1\n\ndata: 2\n\n')
  const reset = client.request({ ':path': '/endless' })
  await new Promise((r) => reset.once('data', r))
  reset.close(http2.constants.NGHTTP2_CANCEL)
  await eventually(() => seen.aborted === 1 && seen.cancelled === 1, 10_000, 'abort + cancel after the reset')
  await sleep(100)
  t.deepEqual(seen, { aborted: 1, cancelled: 1 }, 'the completed stream did not abort its signal')
  client.close()
  await new Promise<void>((r) => server.close(() => r()))
})
