// toNodeListener on raw node:http and node:http2: request and response semantics, errors,
// backpressure, abort, drain, and the native-body fast path (with a JS fake source).
import test from 'ava'
import http from 'node:http'
import http2 from 'node:http2'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { toNodeListener, FastResponse } from 'chat-headstart'
import { privateModule } from './package.helpers.ts'
import type { FetchHandler, NodeListenerOptions, NativeBodySink, NativeBodySource } from '../lib/node-listener.js'
import { listen, deferred, RawConnection, completeResponses, encoder } from './listener.helpers.ts'
import { eventually, settled, sleep } from './poll.ts'

const { kNativeBody, lazyRequestSupported } = await privateModule<typeof import('../lib/node-listener.js')>('lib/node-listener.js')

async function serve(handler: FetchHandler, options?: NodeListenerOptions, wrap?: (req: IncomingMessage, res: ServerResponse) => void) {
  const listener = toNodeListener(handler, options)
  const server = http.createServer((req, res) => {
    wrap?.(req, res)
    void listener(req, res)
  })
  return { server, ...(await listen(server)) }
}

test('lazy requests are used where undici keeps its Request state in symbol keys (Node 22), not on Node 24', (t) => {
  const symbolState = Object.getOwnPropertySymbols(new Request('http://probe.invalid/')).length > 0
  t.is(lazyRequestSupported, symbolState)
  const major = Number(process.versions.node.split('.')[0])
  if (major === 22) t.true(lazyRequestSupported)
  if (major >= 24) t.false(lazyRequestSupported)
})

test('JSON round trip: a lazy Request in, one writeHead + end with Content-Length out', async (t) => {
  let seen: any
  const s = await serve(async (req) => {
    const body = await req.json()
    seen = { isRequest: req instanceof Request, method: req.method, url: req.url, ct: req.headers.get('content-type'), used: req.bodyUsed }
    return Response.json({ got: body })
  })
  const conn = new RawConnection(s.port)
  conn.write('POST /echo?x=1 HTTP/1.1\r\nHost: example.test:8080\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}')
  const text = await conn.waitFor((x) => completeResponses(x).length === 1)
  t.regex(text, /^HTTP\/1\.1 200 OK\r\n/)
  t.regex(text, /\r\ncontent-length: 15\r\n/i)
  t.notRegex(text, /transfer-encoding/i)
  t.true(text.endsWith('{"got":{"a":1}}'))
  t.deepEqual(seen, { isRequest: true, method: 'POST', url: 'http://example.test:8080/echo?x=1', ct: 'application/json', used: true })
  conn.destroy()
  await s.close()
})

test('a synchronous handler return value is sent too', async (t) => {
  const s = await serve(() => new Response('sync'))
  const r = await fetch(s.base)
  t.is(await r.text(), 'sync')
  await s.close()
})

test('FastResponse is a Response, sends in one shot, and materialises when touched', async (t) => {
  const fast = FastResponse.json({ a: 1 }, { status: 201, headers: { 'x-a': 'b' } })
  t.true(fast instanceof Response)
  t.is(fast.status, 201)
  t.is(fast.headers.get('content-type'), 'application/json')
  const copy = new FastResponse('hello', { status: 202, statusText: 'Fine' })
  t.is(await copy.text(), 'hello')
  t.true(copy.bodyUsed)
  t.is(await new FastResponse(new Uint8Array([104, 105])).text(), 'hi')
  t.throws(() => new FastResponse('x', { status: 99 }), { instanceOf: RangeError })
  const s = await serve(async (req) => {
    const path = new URL(req.url).pathname
    if (path === '/json') return FastResponse.json({ ok: true }, { headers: [['set-cookie', 'a=1'], ['set-cookie', 'b=2']] })
    if (path === '/bytes') return new FastResponse(new Uint8Array([1, 2, 3]), { status: 203, statusText: 'Custom Text' })
    if (path === '/stream') return new FastResponse(new ReadableStream({ start: (c) => (c.enqueue(encoder.encode('streamed')), c.close()) }))
    if (path === '/sse') {
      return new FastResponse(new ReadableStream({ start: (c) => (c.enqueue(encoder.encode('data: x\n\n')), c.close()) }), {
        headers: { 'content-type': 'text/event-stream' },
      })
    }
    return new FastResponse('plain')
  })
  const conn = new RawConnection(s.port)
  conn.write('GET /json HTTP/1.1\r\nHost: a\r\n\r\nGET /bytes HTTP/1.1\r\nHost: a\r\n\r\nGET /plain HTTP/1.1\r\nHost: a\r\n\r\n')
  const [json, bytes, plain] = completeResponses(await conn.waitFor((x) => completeResponses(x).length === 3))
  t.regex(json, /set-cookie: a=1\r\nset-cookie: b=2\r\n/)
  t.regex(json, /content-length: 11\r\n/)
  t.regex(bytes, /^HTTP\/1\.1 203 Custom Text\r\n/)
  t.regex(bytes, /content-length: 3\r\n/)
  t.regex(plain, /content-type: text\/plain;charset=UTF-8\r\n/)
  t.is(await (await fetch(s.base + '/stream')).text(), 'streamed')
  const sse = await fetch(s.base + '/sse')
  t.is(sse.headers.get('cache-control'), 'no-transform')
  t.is(await sse.text(), 'data: x\n\n')
  t.is((await fetch(s.base + '/stream', { method: 'HEAD' })).status, 200)
  conn.destroy()
  await s.close()
})

test('URL: Host header, X-Forwarded-* only with trustProxy, absolute-form target, bad Host → 400', async (t) => {
  const urls: string[] = []
  const handler: FetchHandler = (req) => {
    urls.push(req.url)
    return new Response('ok')
  }
  const plain = await serve(handler)
  const trusting = await serve(handler, { trustProxy: true })
  const fwd = { 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'public.example, inner' }
  await fetch(plain.base + '/a?b', { headers: fwd })
  await fetch(trusting.base + '/a?b', { headers: fwd })
  const conn = new RawConnection(plain.port)
  conn.write('GET http://abs.example/x/y HTTP/1.1\r\nHost: ignored\r\n\r\n')
  await conn.waitFor((x) => completeResponses(x).length === 1)
  const bad = new RawConnection(plain.port)
  bad.write('GET /x HTTP/1.1\r\nHost: evil/host\r\n\r\n')
  const badText = await bad.waitFor((x) => completeResponses(x).length === 1)
  t.deepEqual(urls, [`${plain.base}/a?b`, 'https://public.example/a?b', 'http://abs.example/x/y'])
  t.regex(badText, /^HTTP\/1\.1 400 /)
  t.true(badText.endsWith('{"error":"invalid Host header"}'))
  conn.destroy()
  bad.destroy()
  await plain.close()
  await trusting.close()
})

test('request headers come from rawHeaders: duplicates Node drops are kept, cookies joined with "; "', async (t) => {
  let seen: any
  const s = await serve((req) => {
    seen = {
      ua: req.headers.get('user-agent'),
      auth: req.headers.get('Authorization'),
      multi: req.headers.get('x-multi'),
      cookie: req.headers.get('cookie'),
      hasMissing: req.headers.has('x-missing'),
      iterated: [...req.headers].filter(([k]) => k === 'x-multi'),
    }
    return new Response(null, { status: 204 })
  })
  const conn = new RawConnection(s.port)
  conn.write(
    'GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: one\r\nUser-Agent: two\r\nAuthorization: A\r\nAuthorization: B\r\n' +
      'X-Multi: 1\r\nX-Multi: 2\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n',
  )
  await conn.waitFor((x) => x.includes('\r\n\r\n'))
  t.deepEqual(seen, { ua: 'one, two', auth: 'A, B', multi: '1, 2', cookie: 'a=1; b=2', hasMissing: false, iterated: [['x-multi', '1, 2']] })
  conn.destroy()
  await s.close()
})

test('spec-heavy use materialises a genuine Request: new Request(req, init), clone(), formData(), headers mutation', async (t) => {
  const results: any[] = []
  const s = await serve(async (req) => {
    const path = new URL(req.url).pathname
    if (path === '/copy') {
      const copy = new Request(req, { headers: { 'x-new': '1' } })
      results.push({ method: copy.method, url: copy.url, body: await copy.text(), h: copy.headers.get('x-new'), used: req.bodyUsed })
    } else if (path === '/clone') {
      const c = req.clone()
      results.push({ a: await c.text(), b: await req.text() })
    } else if (path === '/form') {
      const form = await req.formData()
      results.push({ name: form.get('name') })
    } else if (path === '/mutate') {
      req.headers.set('x-added', 'yes')
      results.push({ added: req.headers.get('x-added'), kept: req.headers.get('x-kept'), signal: req.signal instanceof AbortSignal })
    } else if (path === '/twice') {
      await req.text()
      const second = await req.text().then(
        () => 'read twice',
        (e: Error) => e.constructor.name,
      )
      results.push({ second })
    }
    return new Response('ok')
  })
  await fetch(s.base + '/copy', { method: 'PUT', body: 'payload' })
  await fetch(s.base + '/clone', { method: 'POST', body: 'twin' })
  await fetch(s.base + '/form', { method: 'POST', body: new URLSearchParams({ name: 'Ada' }) })
  await fetch(s.base + '/mutate', { headers: { 'x-kept': 'k' } })
  await fetch(s.base + '/twice', { method: 'POST', body: 'once' })
  t.deepEqual(results, [
    { method: 'PUT', url: s.base + '/copy', body: 'payload', h: '1', used: true },
    { a: 'twin', b: 'twin' },
    { name: 'Ada' },
    { added: 'yes', kept: 'k', signal: true },
    { second: 'TypeError' },
  ])
  await s.close()
})

test('upload: the body is streamed to the handler (first chunk before the client finished), 8 MiB intact', async (t) => {
  const firstChunkSeen = deferred()
  let total = 0
  const s = await serve(async (req) => {
    const reader = req.body!.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (total === 0) firstChunkSeen.resolve()
      total += value.byteLength
    }
    return new Response(String(total))
  })
  const chunk = new Uint8Array(1024 * 1024).fill(7)
  let sent = 0
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (sent === 1) {
        // Only continue once the handler saw data: a buffering adapter would deadlock here.
        let timer: NodeJS.Timeout | undefined
        await Promise.race([
          firstChunkSeen.promise,
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('body was not streamed')), 10_000))),
        ]).finally(() => clearTimeout(timer))
      }
      if (sent === 8) return c.close()
      sent++
      c.enqueue(chunk)
    },
  })
  const r = await fetch(s.base + '/up', { method: 'POST', body, duplex: 'half' } as RequestInit)
  t.is(await r.text(), String(8 * 1024 * 1024))
  await s.close()
})

test('upload via json()/arrayBuffer() fast paths and a 0-byte POST', async (t) => {
  const s = await serve(async (req) => {
    const path = new URL(req.url).pathname
    if (path === '/ab') return new Response(String((await req.arrayBuffer()).byteLength))
    if (path === '/bytes') return new Response(String((await req.bytes()).length))
    if (path === '/blob') {
      const b = await req.blob()
      return new Response(`${b.size} ${b.type}`)
    }
    return new Response(JSON.stringify(await req.text()))
  })
  t.is(await (await fetch(s.base + '/ab', { method: 'POST', body: new Uint8Array(300_000) })).text(), '300000')
  t.is(await (await fetch(s.base + '/bytes', { method: 'POST', body: 'abc' })).text(), '3')
  t.is(await (await fetch(s.base + '/blob', { method: 'POST', body: 'abcd', headers: { 'content-type': 'text/x' } })).text(), '4 text/x')
  t.is(await (await fetch(s.base + '/empty', { method: 'POST' })).text(), '""')
  t.is(await (await fetch(s.base + '/bom', { method: 'POST', body: '\uFEFFhi' })).text(), '"hi"')
  await s.close()
})

test('SSE: headers reach the client before the first chunk; no-transform added or kept', async (t) => {
  const release = deferred()
  const s = await serve((req) => {
    const keep = new URL(req.url).pathname === '/keep'
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        await release.promise
        c.enqueue(encoder.encode('data: 1\n\n'))
        c.close()
      },
    })
    return new Response(body, {
      headers: { 'content-type': 'text/event-stream', ...(keep ? { 'cache-control': 'no-cache' } : {}) },
    })
  })
  const conn = new RawConnection(s.port)
  conn.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n')
  const head = await conn.waitFor((x) => x.includes('\r\n\r\n'))
  t.regex(head, /cache-control: no-transform\r\n/)
  t.false(head.includes('data: 1'))
  release.resolve()
  await conn.waitFor((x) => x.includes('data: 1\n\n') && x.endsWith('0\r\n\r\n'))
  conn.destroy()
  const r = await fetch(s.base + '/keep', { method: 'POST' })
  t.is(r.headers.get('cache-control'), 'no-cache, no-transform')
  t.is(await r.text(), 'data: 1\n\n')
  await s.close()
})

test('SSE: res.flush() (added by compression middlewares) is called after each chunk', async (t) => {
  let flushes = 0
  const s = await serve(
    () => {
      let i = 0
      // One event per timer tick, like tokens from a model: each leaves (and is flushed) on its own.
      const tick = () => new Promise((r) => setTimeout(r, 5))
      return new Response(
        new ReadableStream<Uint8Array>({
          pull: async (c) => {
            await tick()
            if (i++ < 3) c.enqueue(encoder.encode(`data: ${i}\n\n`))
            else c.close()
          },
        }),
        { headers: { 'content-type': 'text/event-stream; charset=utf-8' } },
      )
    },
    undefined,
    (_req, res) => {
      ;(res as any).flush = () => flushes++
    },
  )
  t.is(await (await fetch(s.base)).text(), 'data: 1\n\ndata: 2\n\ndata: 3\n\n')
  t.is(flushes, 3)
  await s.close()
})

test('Set-Cookie values stay separate; other repeated headers arrive as the Fetch Headers combine them', async (t) => {
  const s = await serve(() => {
    const headers = new Headers()
    headers.append('set-cookie', 'a=1; Path=/')
    headers.append('set-cookie', 'b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT')
    headers.append('x-dup', 'one')
    headers.append('x-dup', 'two')
    return new Response('x', { headers })
  })
  const conn = new RawConnection(s.port)
  conn.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
  const text = await conn.waitFor((x) => completeResponses(x).length === 1)
  t.regex(text, /set-cookie: a=1; Path=\/\r\nset-cookie: b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT\r\n/)
  t.regex(text, /x-dup: one, two\r\n/)
  conn.destroy()
  await s.close()
})

test('statusText is kept; HEAD sends headers only and cancels the body stream', async (t) => {
  let cancelled = 0
  const s = await serve((req) => {
    if (new URL(req.url).pathname === '/stream') {
      return new Response(new ReadableStream({ pull: (c) => c.enqueue(encoder.encode('x')), cancel: () => void cancelled++ }), {
        status: 202,
        statusText: 'Accepted Custom',
      })
    }
    return new Response('hello, world!', { status: 202, statusText: 'Accepted Custom' })
  })
  const conn = new RawConnection(s.port)
  conn.write('HEAD / HTTP/1.1\r\nHost: a\r\n\r\nHEAD /stream HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n')
  const text = await conn.waitFor((x) => x.includes('hello, world!'))
  const parts = text.split('HTTP/1.1 ').slice(1)
  t.is(parts.length, 3)
  t.regex(parts[0], /^202 Accepted Custom\r\n/)
  t.regex(parts[0], /content-length: 13\r\n/)
  t.true(parts[0].endsWith('\r\n\r\n'))
  t.true(parts[1].endsWith('\r\n\r\n'))
  t.regex(parts[2], /^202 Accepted Custom\r\n[\s\S]*\r\n\r\nhello, world!$/)
  await eventually(() => cancelled === 1, 10_000, 'HEAD body cancel')
  t.pass()
  conn.destroy()
  await s.close()
})

test('client abort: the request signal fires and the response body is cancelled; never on normal completion', async (t) => {
  const signals: AbortSignal[] = []
  let cancelReason: unknown
  const firstSent = deferred()
  const s = await serve((req) => {
    signals.push(req.signal)
    if (new URL(req.url).pathname === '/done') return new Response('done')
    let i = 0
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(c) {
          if (i++ === 1) firstSent.resolve()
          await sleep(10)
          c.enqueue(encoder.encode('data: tick\n\n'))
        },
        cancel(reason) {
          cancelReason = reason
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  })
  const r = await fetch(s.base + '/done')
  t.is(await r.text(), 'done')
  const conn = new RawConnection(s.port)
  conn.write('GET /sse HTTP/1.1\r\nHost: a\r\n\r\n')
  await conn.waitFor((x) => x.includes('data: tick'))
  await firstSent.promise
  conn.destroy()
  await eventually(() => signals[1]?.aborted === true && cancelReason !== undefined, 10_000, 'abort + cancel')
  t.false(signals[0].aborted, 'a finished response never aborts its request signal')
  t.is((signals[1].reason as DOMException).name, 'AbortError')
  t.is((cancelReason as DOMException).name, 'AbortError')
  await s.close()
})

test('a signal first read after the client left is already aborted', async (t) => {
  const gone = deferred()
  const started = deferred()
  let aborted: boolean | undefined
  const s = await serve(async (req) => {
    started.resolve()
    await gone.promise
    await sleep(50)
    aborted = req.signal.aborted
    return new Response('late')
  })
  const conn = new RawConnection(s.port)
  conn.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
  await started.promise
  conn.destroy()
  await sleep(50)
  gone.resolve()
  await eventually(() => aborted !== undefined, 10_000, 'handler to finish')
  t.true(aborted)
  await s.close()
})

test.serial('errors before headers → generic 500, details to onError (or its Response), never err.message', async (t) => {
  const logged: unknown[] = []
  const origError = console.error
  console.error = (...args: unknown[]) => void logged.push(args)
  try {
    const plain = await serve(async () => {
      throw new Error('secret database password in message')
    })
    const r = await fetch(plain.base)
    t.is(r.status, 500)
    t.is(r.headers.get('content-type'), 'application/json')
    const text = await r.text()
    t.is(text, '{"error":"Internal Server Error"}')
    t.false(text.includes('secret'))
    t.is(logged.length, 1)

    const notAResponse = await serve((() => ({ nope: true })) as unknown as FetchHandler)
    t.is((await fetch(notAResponse.base)).status, 500)

    const seen: Array<[unknown, string]> = []
    const withHook = await serve(
      (req) => {
        if (new URL(req.url).pathname === '/custom') throw new Error('custom')
        throw new Error('hooked')
      },
      {
        onError: (err, req) => {
          seen.push([(err as Error).message, req.url])
          if ((err as Error).message === 'custom') return new Response('teapot', { status: 418 })
        },
      },
    )
    const h1 = await fetch(withHook.base + '/x')
    t.is(h1.status, 500)
    t.is(await h1.text(), '{"error":"Internal Server Error"}')
    const h2 = await fetch(withHook.base + '/custom')
    t.is(h2.status, 418)
    t.is(await h2.text(), 'teapot')
    t.deepEqual(seen, [
      ['hooked', withHook.base + '/x'],
      ['custom', withHook.base + '/custom'],
    ])
    await plain.close()
    await notAResponse.close()
    await withHook.close()
  } finally {
    console.error = origError
  }
})

test('a body stream that errors after the headers destroys the connection (no clean chunked end)', async (t) => {
  const errors: unknown[] = []
  const s = await serve(
    () => {
      let i = 0
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            if (i++ === 0) c.enqueue(encoder.encode('part1\n'))
            else c.error(new Error('upstream broke'))
          },
        }),
      )
    },
    { onError: (err) => void errors.push(err) },
  )
  const conn = new RawConnection(s.port)
  conn.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
  await conn.waitClosed()
  t.true(conn.received.includes('part1\n'))
  t.false(conn.received.endsWith('0\r\n\r\n'), 'must not look like a complete response')
  await t.throwsAsync(async () => {
    const r = await fetch(s.base)
    await r.text()
  })
  t.is((errors[0] as Error).message, 'upstream broke')
  await s.close()
})

test('stalled reader: what the listener holds stays ≤ 1 MiB and the producer is cancelled when the client leaves', async (t) => {
  let pulled = 0
  let cancelled = false
  let socket: any
  const s = await serve(
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            pulled += 65536
            c.enqueue(new Uint8Array(65536))
          },
          cancel() {
            cancelled = true
          },
        }),
      ),
    undefined,
    (req) => {
      socket = req.socket
    },
  )
  const conn = new RawConnection(s.port)
  conn.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
  await conn.waitFor((x) => x.length > 0)
  conn.socket.pause()
  await settled(() => pulled) // the producer pauses while the client does not read
  const acceptedByKernel = socket.bytesWritten - socket.writableLength
  const held = pulled - acceptedByKernel
  t.true(held <= 1024 * 1024, `held ${held} bytes`)
  t.true(pulled < 64 * 1024 * 1024, `pulled ${pulled} bytes`)
  conn.destroy()
  await eventually(() => cancelled, 10_000, 'cancel')
  t.pass()
  await s.close()
})

test('keep-alive survives an unread request body; a huge unread body closes the connection after the response', async (t) => {
  const s = await serve((req) => new Response(new URL(req.url).pathname), { drainMaxBytes: 256 * 1024 })
  const conn = new RawConnection(s.port)
  const body = 'x'.repeat(100_000)
  conn.write(`POST /first HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
  conn.write('GET /second HTTP/1.1\r\nHost: a\r\n\r\n')
  const text = await conn.waitFor((x) => completeResponses(x).length === 2)
  const [a, b] = completeResponses(text)
  t.true(a.endsWith('/first'))
  t.true(b.endsWith('/second'))
  conn.destroy()

  // Announces 64 MiB, sends 1 MiB of it: the listener answers, discards ≤ 256 KiB, then closes.
  const big = new RawConnection(s.port)
  big.write(`POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`)
  big.write(Buffer.alloc(1024 * 1024, 120))
  await big.waitFor((x) => completeResponses(x).length === 1)
  await big.waitClosed()
  t.true(big.received.endsWith('/big'))
  await s.close()
})

test('a partly read, then abandoned upload is drained so the next keep-alive request is served', async (t) => {
  const s = await serve(
    async (req) => {
      if (req.method === 'POST') {
        const reader = req.body!.getReader()
        await reader.read()
        await reader.cancel()
      }
      return new Response(req.method)
    },
    { drainTimeoutMs: 10_000 }, // generous: a loaded CI box must not turn this into a timeout test
  )
  const conn = new RawConnection(s.port)
  const body = Buffer.alloc(512 * 1024, 97)
  conn.write(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`)
  conn.write(body)
  conn.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
  const text = await conn.waitFor((x) => completeResponses(x).length === 2)
  t.true(completeResponses(text)[1].endsWith('GET'))
  conn.destroy()
  await s.close()
})

test('body-parser leftovers on raw node:http: rawBody, parsed body, and a consumed stream fails fast', async (t) => {
  const listener = toNodeListener(async (req) => {
    const path = new URL(req.url).pathname
    try {
      if (path === '/json') return Response.json({ v: await req.json() })
      if (path === '/json-text') return new Response(await req.text())
      return new Response(await req.text())
    } catch (err) {
      return Response.json({ error: (err as Error).message }, { status: 400 })
    }
  })
  // Emulates a parser that read the whole stream before the listener ran.
  const server = http.createServer((req: any, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      if (req.url === '/raw') req.rawBody = raw
      if (req.url.startsWith('/json')) req.body = JSON.parse(raw.toString())
      void listener(req, res)
    })
  })
  const s = await listen(server)
  t.is(await (await fetch(s.base + '/raw', { method: 'POST', body: 'exact bytes' })).text(), 'exact bytes')
  t.deepEqual(await (await fetch(s.base + '/json', { method: 'POST', body: '{"a":[1,2]}' })).json(), { v: { a: [1, 2] } })
  t.is(await (await fetch(s.base + '/json-text', { method: 'POST', body: '{"a": 1}', headers: { 'content-type': 'application/json' } })).text(), '{"a":1}')
  const consumed = await fetch(s.base + '/none', { method: 'POST', body: 'lost' })
  t.is(consumed.status, 400)
  t.regex((await consumed.json()).error, /already read by an earlier body parser/)
  await s.close()
})

// ---- native body fast path (a JS fake of the Rust source)

class FakeNativeSource implements NativeBodySource {
  sink: NativeBodySink | undefined
  pauses = 0
  resumes = 0
  cancelled: unknown = undefined
  written = 0
  private i = 0
  constructor(
    private chunks: number,
    private chunkSize = 16,
    private failAt = -1,
  ) {}
  start(sink: NativeBodySink) {
    this.sink = sink
    this.pump()
  }
  resume() {
    this.resumes++
    this.pump()
  }
  cancel(reason?: unknown) {
    this.cancelled = reason ?? 'cancelled'
  }
  private pump() {
    while (this.cancelled === undefined && this.i < this.chunks) {
      if (this.i === this.failAt) return this.sink!.error(new Error('native source failed'))
      const chunk = encoder.encode(`data: ${String(this.i++).padStart(this.chunkSize - 8, '0')}\n\n`)
      this.written += chunk.byteLength
      if (!this.sink!.write(chunk)) {
        this.pauses++
        return
      }
    }
    if (this.cancelled === undefined) this.sink!.end()
  }
}

function nativeResponse(source: NativeBodySource, headers: HeadersInit = { 'content-type': 'text/event-stream' }) {
  const res = new Response(null, { headers })
  let bodyTouched = false
  Object.defineProperty(res, 'body', {
    get() {
      bodyTouched = true
      return null
    },
  })
  ;(res as any)[kNativeBody] = source
  return { res, touched: () => bodyTouched }
}

test('native body: chunks pumped in order, SSE headers flushed first, response.body never touched', async (t) => {
  const source = new FakeNativeSource(100)
  const { res, touched } = nativeResponse(source)
  const s = await serve(() => res)
  const r = await fetch(s.base)
  t.is(r.headers.get('cache-control'), 'no-transform')
  const text = await r.text()
  const events = text.split('\n\n').filter(Boolean)
  t.is(events.length, 100)
  t.is(events[99], `data: ${'99'.padStart(8, '0')}`)
  t.false(touched())
  await s.close()
})

test('native body on a FastResponse is pumped too', async (t) => {
  const source = new FakeNativeSource(3)
  const s = await serve(() => {
    const res = new FastResponse(null, { headers: { 'content-type': 'text/event-stream' } })
    ;(res as any)[kNativeBody] = source
    return res
  })
  t.is((await (await fetch(s.base)).text()).split('\n\n').filter(Boolean).length, 3)
  await s.close()
})

/** The sizes of the HTTP/1.1 chunks in a complete chunked response. */
function chunkSizes(raw: string): number[] {
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4)
  const sizes: number[] = []
  for (let i = 0; ; ) {
    const eol = body.indexOf('\r\n', i)
    const n = parseInt(body.slice(i, eol), 16)
    if (!(n > 0)) return sizes
    sizes.push(n)
    i = eol + 2 + n + 2
  }
}

test('chunks produced in the same tick leave as one HTTP chunk (web stream and native); later ones as they come', async (t) => {
  const s = await serve((req) => {
    const path = new URL(req.url).pathname
    if (path === '/native') return nativeResponse(new FakeNativeSource(50)).res
    let i = 0
    const body =
      path === '/slow'
        ? new ReadableStream<Uint8Array>({
            pull: async (c) => {
              await new Promise((r) => setTimeout(r, 5))
              if (i++ < 3) c.enqueue(encoder.encode(`data: ${i}\n\n`))
              else c.close()
            },
          })
        : new ReadableStream<Uint8Array>({ pull: (c) => (i++ < 50 ? c.enqueue(encoder.encode(`data: ${i}\n\n`)) : c.close()) })
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
  })
  for (const [path, chunks, events] of [['/web', 1, 50], ['/native', 1, 50], ['/slow', 3, 3]] as const) {
    const conn = new RawConnection(s.port)
    conn.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`)
    await conn.waitFor((x) => x.endsWith('\r\n0\r\n\r\n'))
    t.is(chunkSizes(conn.received).length, chunks, path)
    t.is(conn.received.split('data: ').length - 1, events, path)
    conn.destroy()
  }
  await s.close()
})

test('native body: headers go out before the source writes anything', async (t) => {
  let sink: NativeBodySink | undefined
  const source: NativeBodySource = {
    start: (s) => void (sink = s),
    resume() {},
    cancel() {},
  }
  const s = await serve(() => nativeResponse(source).res)
  const conn = new RawConnection(s.port)
  conn.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
  await conn.waitFor((x) => x.includes('\r\n\r\n'))
  t.truthy(sink)
  sink!.write(encoder.encode('data: late\n\n'))
  sink!.end()
  await conn.waitFor((x) => x.endsWith('0\r\n\r\n'))
  t.true(conn.received.includes('data: late'))
  conn.destroy()
  await s.close()
})

test('native body: write() → false pauses the source until drain; a stalled client keeps it bounded; leaving cancels', async (t) => {
  const source = new FakeNativeSource(4096, 64 * 1024) // 256 MiB if nothing held it back
  let socket: any
  const s = await serve(
    () => nativeResponse(source, { 'content-type': 'application/octet-stream' }).res,
    undefined,
    (req) => {
      socket = req.socket
    },
  )
  const conn = new RawConnection(s.port)
  conn.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
  await conn.waitFor((x) => x.length > 0)
  conn.socket.pause()
  await settled(() => source.written)
  t.true(source.pauses >= 1)
  const held = source.written - (socket.bytesWritten - socket.writableLength)
  t.true(held <= 1024 * 1024, `held ${held}`)
  t.true(source.written < 64 * 1024 * 1024, `written ${source.written}`)
  const resumesBefore = source.resumes
  conn.discard = true
  conn.socket.resume()
  await eventually(() => source.resumes > resumesBefore, 10_000, 'resume after drain')
  conn.destroy()
  await eventually(() => source.cancelled !== undefined, 10_000, 'cancel')
  t.is((source.cancelled as DOMException).name, 'AbortError')
  await s.close()
})

test('native body: error() after headers destroys the connection; HEAD cancels the source', async (t) => {
  const errors: unknown[] = []
  const failing = new FakeNativeSource(10, 16, 3)
  const s = await serve(() => nativeResponse(failing).res, { onError: (e) => void errors.push(e) })
  const conn = new RawConnection(s.port)
  conn.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
  await conn.waitClosed()
  t.true(conn.received.includes('data: '))
  t.false(conn.received.endsWith('0\r\n\r\n'))
  t.is((errors[0] as Error).message, 'native source failed')
  await s.close()

  const headSource = new FakeNativeSource(10)
  const h = await serve(() => nativeResponse(headSource).res)
  const r = await fetch(h.base, { method: 'HEAD' })
  t.is(r.status, 200)
  t.is(await r.text(), '')
  t.truthy(headSource.cancelled)
  t.is(headSource.written, 0)
  await h.close()
})

// ---- node:http2 compatibility API

test('node:http2 compat: pseudo-headers filtered, URL from :authority, connection headers dropped, cookies separate', async (t) => {
  let seen: any
  const listener = toNodeListener(async (req) => {
    seen = {
      url: req.url,
      names: [...req.headers.keys()],
      method: req.method,
      body: req.method === 'POST' ? await req.text() : null,
    }
    const headers = new Headers([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['connection', 'keep-alive'],
      ['content-type', 'text/event-stream'],
    ])
    let i = 0
    return new Response(new ReadableStream({ pull: (c) => (i++ < 2 ? c.enqueue(encoder.encode(`data: ${i}\n\n`)) : c.close()) }), {
      status: 201,
      statusText: 'Created Custom',
      headers,
    })
  })
  const server = http2.createServer((req, res) => void listener(req, res))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as any).port
  const client = http2.connect(`http://127.0.0.1:${port}`)
  const stream = client.request({ ':method': 'POST', ':path': '/h2?q=1', 'x-test': 'yes' })
  stream.end('h2 body')
  const responseHeaders = await new Promise<any>((r) => stream.once('response', r))
  let data = ''
  stream.setEncoding('utf8')
  stream.on('data', (d) => (data += d))
  await new Promise((r) => stream.once('end', r))
  client.close()
  server.close()
  t.is(seen.url, `http://127.0.0.1:${port}/h2?q=1`)
  t.is(seen.method, 'POST')
  t.is(seen.body, 'h2 body')
  t.true(seen.names.includes('x-test'))
  t.false(seen.names.some((n: string) => n.startsWith(':')))
  t.is(responseHeaders[':status'], 201)
  t.deepEqual(responseHeaders['set-cookie'], ['a=1', 'b=2'])
  t.is(responseHeaders.connection, undefined)
  t.is(responseHeaders['cache-control'], 'no-transform')
  t.is(data, 'data: 1\n\ndata: 2\n\n')
})

// ---- side by side with the reference (@trigger.dev/sdk 4.8.3 chat.toNodeListener) as an oracle

test.serial('vs the reference: same bytes for a plain JSON answer; ours fixes its leak, masked stream error and body-parser failure', async (t) => {
  const { chat } = (await import('@trigger.dev/sdk/chat-server')) as any
  const handler: FetchHandler = async (req) => {
    const path = new URL(req.url).pathname
    if (path === '/leak') throw new Error('secret-internal-detail')
    if (path === '/midstream') {
      let i = 0
      return new Response(new ReadableStream({ pull: (c) => (i++ === 0 ? c.enqueue(encoder.encode('part1\n')) : c.error(new Error('boom'))) }))
    }
    return Response.json({ echo: await req.json() })
  }
  const parsed = (listener: (req: any, res: any) => unknown) =>
    http.createServer((req: any, res) => {
      // an express.json()-like parser in front
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        if (chunks.length) req.body = JSON.parse(Buffer.concat(chunks).toString())
        void listener(req, res)
      })
    })
  const origError = console.error
  console.error = () => {}
  try {
    const ref = await listen(http.createServer(chat.toNodeListener(handler)))
    const ours = await listen(http.createServer(toNodeListener(handler)))
    for (const s of [ref, ours]) {
      const r = await fetch(s.base + '/json', { method: 'POST', body: '{"a":1}' })
      t.is(r.status, 200)
      t.deepEqual(await r.json(), { echo: { a: 1 } })
    }
    const refLeak = await (await fetch(ref.base + '/leak')).text()
    const ourLeak = await (await fetch(ours.base + '/leak')).text()
    t.true(refLeak.includes('secret-internal-detail'), 'the reference leaks err.message')
    t.false(ourLeak.includes('secret-internal-detail'))

    const refConn = new RawConnection(ref.port)
    refConn.write('GET /midstream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    await refConn.waitClosed()
    t.true(refConn.received.endsWith('0\r\n\r\n'), 'the reference ends a failed stream cleanly')
    const ourConn = new RawConnection(ours.port)
    ourConn.write('GET /midstream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    await ourConn.waitClosed()
    t.false(ourConn.received.endsWith('0\r\n\r\n'))

    const refParsed = await listen(parsed(chat.toNodeListener(handler)))
    const ourParsed = await listen(parsed(toNodeListener(handler)))
    t.is((await fetch(refParsed.base + '/json', { method: 'POST', body: '{"b":2}' })).status, 500, 'the reference sees an empty body')
    const ok = await fetch(ourParsed.base + '/json', { method: 'POST', body: '{"b":2}' })
    t.deepEqual(await ok.json(), { echo: { b: 2 } })
    for (const s of [ref, ours, refParsed, ourParsed]) await s.close()
  } finally {
    console.error = origError
  }
})

test('a streamed response that completes normally never aborts its request signal', async (t) => {
  const signals: AbortSignal[] = []
  const s = await serve((req) => {
    signals.push(req.signal)
    let i = 0
    return new Response(new ReadableStream({ pull: (c) => (i++ < 3 ? c.enqueue(encoder.encode(`data: ${i}\n\n`)) : c.close()) }), {
      headers: { 'content-type': 'text/event-stream' },
    })
  })
  for (let k = 0; k < 3; k++) t.is(await (await fetch(s.base)).text(), 'data: 1\n\ndata: 2\n\ndata: 3\n\n')
  await s.close() // closes the keep-alive sockets too: 'close' after 'finish' must not abort
  await sleep(50)
  t.is(signals.length, 3)
  t.true(signals.every((sig) => !sig.aborted))
})

/** One request on a fresh connection: status, the framing headers and the body bytes. */
function rawRequest(port: number, path: string, method = 'GET') {
  return new Promise<{ status: number; length: string | undefined; chunked: boolean; body: Buffer }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (d: Buffer) => chunks.push(d))
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          length: res.headers['content-length'],
          chunked: res.headers['transfer-encoding'] === 'chunked',
          body: Buffer.concat(chunks),
        }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

test('global Response: string / bytes / ready bodies go out with Content-Length on every runtime (peeked where undici hides its source)', async (t) => {
  const big = 'x'.repeat(1024 * 1024)
  const bodies: Record<string, () => Response> = {
    '/string': () => new Response('hello'),
    '/empty': () => new Response(''),
    '/bytes': () => new Response(new Uint8Array([1, 2, 3])),
    '/arraybuffer': () => new Response(new ArrayBuffer(4)),
    '/params': () => new Response(new URLSearchParams({ a: '1' })),
    '/json': () => Response.json({ a: 1 }),
    '/big': () => new Response(big),
    '/ready': () =>
      new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(encoder.encode('ab'))
            c.enqueue(encoder.encode('cd'))
            c.close()
          },
        }),
      ),
  }
  const s = await serve((req) => {
    const path = new URL(req.url).pathname
    if (path.startsWith('/async')) return Promise.resolve().then(bodies[path.slice('/async'.length)])
    return bodies[path]() // synchronous handler: the peek must see the body end here too
  })
  const expected: Array<[string, string]> = [
    ['/string', 'hello'],
    ['/empty', ''],
    ['/bytes', '\x01\x02\x03'],
    ['/arraybuffer', '\0\0\0\0'],
    ['/params', 'a=1'],
    ['/json', '{"a":1}'],
    ['/big', big],
    ['/ready', 'abcd'],
  ]
  for (const prefix of ['', '/async']) {
    for (const [path, body] of expected) {
      const r = await rawRequest(s.port, prefix + path)
      t.is(r.status, 200, prefix + path)
      t.is(r.length, String(Buffer.byteLength(body)), prefix + path)
      t.false(r.chunked, prefix + path)
      t.is(r.body.toString('latin1'), body, prefix + path)
    }
  }
  for (const path of ['/string', '/ready']) {
    const r = await rawRequest(s.port, path, 'HEAD')
    t.is(r.length, path === '/string' ? '5' : '4', `HEAD ${path}`)
    t.is(r.body.length, 0)
  }
  await s.close()
})

test('a Response subclass is sent through its own getters (status, statusText, headers), not undici\'s state', async (t) => {
  class Tagged extends Response {
    get status() {
      return 203
    }
    get statusText() {
      return 'Tagged'
    }
    get headers() {
      const headers = new Headers(super.headers)
      headers.set('x-tagged', '1')
      return headers
    }
  }
  const s = await serve(() => new Tagged('tagged body', { headers: { 'content-type': 'text/plain' } }))
  const r = await fetch(s.base)
  t.is(r.status, 203)
  t.is(r.statusText, 'Tagged')
  t.is(r.headers.get('x-tagged'), '1')
  t.is(await r.text(), 'tagged body')
  await s.close()
})

test('global Response: a body that is not all ready streams (chunked), the peeked chunks first and in order', async (t) => {
  const s = await serve((req) => {
    const path = new URL(req.url).pathname
    if (path === '/late') {
      let step = 0
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(c) {
            if (step === 1) await sleep(30)
            if (step++ < 2) c.enqueue(encoder.encode(step === 1 ? 'first,' : 'second'))
            else c.close()
          },
        }),
      )
    }
    // 100 ready chunks: more than the peek reads (64 reads / 64 KiB), so it gives up and streams.
    const size = path === '/many-small' ? 100 : 1000
    let i = 0
    return new Response(
      new ReadableStream<Uint8Array>({
        pull(c) {
          if (i < 100) c.enqueue(new Uint8Array(size).fill(48 + (i++ % 10)))
          else c.close()
        },
      }),
    )
  })
  const late = await rawRequest(s.port, '/late')
  t.true(late.chunked)
  t.is(late.length, undefined)
  t.is(late.body.toString(), 'first,second')
  for (const [path, size] of [['/many', 1000], ['/many-small', 100]] as const) {
    const r = await rawRequest(s.port, path)
    t.true(r.chunked, path)
    t.is(r.body.length, 100 * size, path)
    for (let i = 0; i < 100; i++) t.is(r.body[i * size + size - 1], 48 + (i % 10))
  }
  // HEAD of a body that never ends: no Content-Length, the body is cancelled, no hang.
  const head = await rawRequest(s.port, '/many', 'HEAD')
  t.is(head.length, undefined)
  t.is(head.body.length, 0)
  await s.close()
})

/** What a used request body answers: another text(), and `new Request(req)` (both must fail with TypeError). */
async function afterUse(req: Request) {
  const again = await req.text().then(
    () => 'read again',
    (e: Error) => e.constructor.name,
  )
  let copy: string
  try {
    new Request(req)
    copy = 'copied'
  } catch (e) {
    copy = (e as Error).constructor.name
  }
  return { again, copy }
}

test('request bodyUsed: true once the handler read req.body as a stream; later reads and new Request(req) fail', async (t) => {
  const seen: any[] = []
  const s = await serve(async (req) => {
    t.false(req.bodyUsed)
    const reader = req.body!.getReader()
    const first = await reader.read()
    reader.releaseLock()
    seen.push({ got: first.done === false, used: req.bodyUsed, ...(await afterUse(req)) })
    return new Response('ok')
  })
  t.is(await (await fetch(s.base, { method: 'POST', body: 'payload' })).text(), 'ok')
  t.deepEqual(seen, [{ got: true, used: true, again: 'TypeError', copy: 'TypeError' }])
  await s.close()
})

test('request json() / text() / arrayBuffer() / bytes() read the upload once; then bodyUsed, a used body and no copy', async (t) => {
  const seen: any[] = []
  const s = await serve(async (req) => {
    const kind = new URL(req.url).pathname.slice(1)
    const value =
      kind === 'json'
        ? await req.json()
        : kind === 'text'
          ? await req.text()
          : kind === 'arrayBuffer'
            ? new TextDecoder().decode(await req.arrayBuffer())
            : new TextDecoder().decode(await req.bytes())
    const used = req.bodyUsed
    seen.push({ kind, value, used, ...(await afterUse(req)) })
    return new Response('ok')
  })
  for (const kind of ['json', 'text', 'arrayBuffer', 'bytes']) {
    await (await fetch(`${s.base}/${kind}`, { method: 'POST', body: '{"v":1}' })).text()
  }
  t.deepEqual(seen, [
    { kind: 'json', value: { v: 1 }, used: true, again: 'TypeError', copy: 'TypeError' },
    { kind: 'text', value: '{"v":1}', used: true, again: 'TypeError', copy: 'TypeError' },
    { kind: 'arrayBuffer', value: '{"v":1}', used: true, again: 'TypeError', copy: 'TypeError' },
    { kind: 'bytes', value: '{"v":1}', used: true, again: 'TypeError', copy: 'TypeError' },
  ])
  await s.close()
})

test('request clone(): the original read first, then the clone, both get the whole body; signal and copies stay genuine', async (t) => {
  const seen: any[] = []
  const s = await serve(async (req) => {
    const c = req.clone()
    const a = await req.text()
    const b = await c.text()
    const copy = new Request(c.url, { method: 'POST', body: a, headers: req.headers })
    seen.push({ a, b, copy: await copy.text(), clone: c instanceof Request, signal: req.signal instanceof AbortSignal, aborted: req.signal.aborted })
    return new Response('ok')
  })
  t.is(await (await fetch(s.base, { method: 'POST', body: 'twins' })).text(), 'ok')
  t.deepEqual(seen, [{ a: 'twins', b: 'twins', copy: 'twins', clone: true, signal: true, aborted: false }])
  await s.close()
})

test('a request undici cannot represent (a NUL in a header value) answers 500 through onError, never throws out of the listener', async (t) => {
  const seen: string[] = []
  const s = await serve(
    (req) => {
      new Request(req) // Node 22: materialising here fails; Node 24: building the Request for the handler fails
      return new Response('ok')
    },
    { onError: (err, req) => void seen.push(`${(err as Error).name} ${req.url}`) },
    (req) => void req.rawHeaders.push('x-bad', 'a\0b'),
  )
  const r = await rawRequest(s.port, '/bad')
  t.is(r.status, 500)
  t.is(r.body.toString(), '{"error":"Internal Server Error"}')
  t.deepEqual(seen, [`TypeError ${s.base}/bad`])
  await s.close()
})
