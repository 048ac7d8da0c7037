// toNodeListener mounted in the real frameworks (Express 5, Fastify 5, Koa 3 + @koa/router, with and
// without their body parsers) and raw node:http, running the same battery of generic Fetch handlers.
// Hono on @hono/node-server mounts the same handler directly as a peer sanity check.
import test from 'ava'
import type { ExecutionContext } from 'ava'
import http from 'node:http'
import type { Server } from 'node:http'
import { toNodeListener } from 'chat-headstart'
import type { NodeListener } from 'chat-headstart'
import { listen, RawConnection, completeResponses, encoder } from './listener.helpers.ts'
import { eventually, settled, sleep } from './poll.ts'
import { express, Fastify, honoServe, Koa, koaBodyParser as bodyParser, Router } from './frameworks.helpers.ts'

/** Observations the handlers record, per server. */
interface Probe {
  /** The SSE case sends its first event only once the test saw the headers. */
  releaseSse: Promise<void>
  release: () => void
  abortedSignals: number
  cancelledBodies: number
  slowPulled: number
}

/** One generic Fetch handler covering every case of the battery (routes by the last path segment). */
function makeHandler(probe: Probe) {
  return async (req: Request): Promise<Response> => {
    const url = new URL(req.url)
    const name = url.pathname.slice(url.pathname.lastIndexOf('/') + 1)
    switch (name) {
      case 'json': {
        const body = await req.json()
        return Response.json({ got: body, path: url.pathname, isRequest: req instanceof Request })
      }
      case 'text':
        return new Response(await req.text())
      case 'sse': {
        let i = 0
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(c) {
              if (i === 0) await probe.releaseSse // headers must be out before the first chunk exists
              if (i < 3) c.enqueue(encoder.encode(`data: ${i++}\n\n`))
              else c.close()
            },
          }),
          { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } },
        )
      }
      case 'upload': {
        let n = 0
        for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) n += chunk.byteLength
        return new Response(String(n))
      }
      case 'cookies': {
        const headers = new Headers({ 'content-type': 'text/plain' })
        headers.append('set-cookie', 'a=1; Path=/')
        headers.append('set-cookie', 'b=2; Path=/')
        return new Response('cookies!', { status: 200, statusText: 'Cookie Time', headers })
      }
      case 'abort': {
        req.signal.addEventListener('abort', () => probe.abortedSignals++)
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(c) {
              await sleep(5)
              c.enqueue(encoder.encode('data: tick\n\n'))
            },
            cancel() {
              probe.cancelledBodies++
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        )
      }
      case 'slow':
        return new Response(
          new ReadableStream<Uint8Array>({
            pull(c) {
              probe.slowPulled += 65536
              c.enqueue(new Uint8Array(65536))
            },
          }),
        )
      case 'boom':
        throw new Error('internal detail that must not leak')
      default:
        return new Response('not found', { status: 404 })
    }
  }
}

interface Mounted {
  base: string
  port: number
  probe: Probe
  close: () => Promise<void>
}

/** The battery every mount must pass. `prefix` is where the handler is mounted. */
async function battery(t: ExecutionContext, m: Mounted, prefix = '/api', { head = true, slow = true } = {}) {
  // JSON in, JSON out (through whatever body parser the mount has).
  const j = await fetch(`${m.base}${prefix}/json`, {
    method: 'POST',
    body: JSON.stringify({ hello: 'world', n: [1, 2] }),
    headers: { 'content-type': 'application/json' },
  })
  t.is(j.status, 200)
  t.deepEqual(await j.json(), { got: { hello: 'world', n: [1, 2] }, path: `${prefix}/json`, isRequest: true })

  // SSE: headers arrive before the first event, which comes 100 ms later.
  const conn = new RawConnection(m.port)
  conn.write(`POST ${prefix}/sse HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n`)
  const head1 = await conn.waitFor((x) => x.includes('\r\n\r\n'))
  t.false(head1.includes('data: 0'), 'headers flushed before the first chunk')
  t.regex(head1, /content-type: text\/event-stream/i)
  t.regex(head1, /cache-control: no-cache, no-transform/i)
  m.probe.release()
  await conn.waitFor((x) => x.includes('data: 2\n\n'))
  conn.destroy()

  // A 4 MiB upload, streamed to the handler.
  const up = await fetch(`${m.base}${prefix}/upload`, {
    method: 'POST',
    body: new Uint8Array(4 * 1024 * 1024),
    headers: { 'content-type': 'application/octet-stream' },
  })
  t.is(await up.text(), String(4 * 1024 * 1024))

  // Set-Cookie separate + statusText; HEAD without a body.
  const cc = new RawConnection(m.port)
  cc.write(`GET ${prefix}/cookies HTTP/1.1\r\nHost: localhost\r\n\r\n`)
  const cookies = completeResponses(await cc.waitFor((x) => completeResponses(x).length === 1))[0]
  t.regex(cookies, /^HTTP\/1\.1 200 Cookie Time\r\n/)
  t.regex(cookies, /set-cookie: a=1; Path=\/\r\nset-cookie: b=2; Path=\/\r\n/i)
  t.true(cookies.endsWith('cookies!'))
  if (head) {
    cc.write(`HEAD ${prefix}/cookies HTTP/1.1\r\nHost: localhost\r\n\r\nGET ${prefix}/cookies HTTP/1.1\r\nHost: localhost\r\n\r\n`)
    const after = await cc.waitFor((x) => x.split('HTTP/1.1 ').length === 4 && x.endsWith('cookies!'))
    const headResponse = after.split('HTTP/1.1 ')[2]
    t.true(headResponse.endsWith('\r\n\r\n'), 'HEAD carries no body')
  }
  cc.destroy()

  // Client abort: the signal fires and the body is cancelled.
  const ac = new AbortController()
  const r = await fetch(`${m.base}${prefix}/abort`, { signal: ac.signal })
  const reader = r.body!.getReader()
  await reader.read()
  ac.abort()
  await eventually(() => m.probe.abortedSignals === 1 && m.probe.cancelledBodies === 1, 10_000, 'abort + cancel')

  // Errors never leak their message.
  const boom = await fetch(`${m.base}${prefix}/boom`)
  t.is(boom.status, 500)
  t.false((await boom.text()).includes('internal detail'))

  // Slow reader: the producer stops while the client does not read.
  if (slow) {
    const sc = new RawConnection(m.port)
    sc.write(`GET ${prefix}/slow HTTP/1.1\r\nHost: localhost\r\n\r\n`)
    await sc.waitFor((x) => x.length > 0)
    sc.socket.pause()
    const pulled = await settled(() => m.probe.slowPulled) // the producer pauses while the client does not read
    t.true(pulled < 32 * 1024 * 1024, `pulled ${pulled}`)
    sc.destroy()
  }
}

const quiet = <T>(fn: () => Promise<T>): Promise<T> => {
  const orig = console.error
  console.error = () => {}
  return fn().finally(() => (console.error = orig))
}

async function mountNode(server: Server, probe: Probe): Promise<Mounted> {
  const l = await listen(server)
  return { ...l, probe }
}

const newProbe = (): Probe => {
  let release!: () => void
  const releaseSse = new Promise<void>((r) => (release = r))
  return { releaseSse, release, abortedSignals: 0, cancelledBodies: 0, slowPulled: 0 }
}

test.serial('raw node:http', async (t) => {
  const probe = newProbe()
  const listener = toNodeListener(makeHandler(probe))
  const m = await mountNode(http.createServer((req, res) => void listener(req, res)), probe)
  await quiet(() => battery(t, m))
  await m.close()
})

test.serial('Express 5, no body parser, mounted with app.use("/api", listener) (URL keeps the mount path)', async (t) => {
  const probe = newProbe()
  const app = express()
  app.use('/api', toNodeListener(makeHandler(probe)))
  const m = await mountNode(http.createServer(app), probe)
  await quiet(() => battery(t, m))
  await m.close()
})

test.serial('Express 5 with express.json() before the route: the parsed body is used', async (t) => {
  const probe = newProbe()
  const app = express()
  app.use(express.json())
  app.use(express.text())
  app.post('/api/:name', toNodeListener(makeHandler(probe)))
  app.all('/api/:name', toNodeListener(makeHandler(probe)))
  const m = await mountNode(http.createServer(app), probe)
  await quiet(() => battery(t, m))
  const text = await fetch(`${m.base}/api/text`, { method: 'POST', body: 'plain words', headers: { 'content-type': 'text/plain' } })
  t.is(await text.text(), 'plain words')
  await m.close()
})

test('Express 5: errors go to next(err) with passErrorsToNext', async (t) => {
  const app = express()
  const seen: string[] = []
  app.get('/boom', toNodeListener(() => Promise.reject(new Error('to express')), { passErrorsToNext: true }))
  app.use((err: Error, _req: unknown, res: any, _next: unknown) => {
    seen.push(err.message)
    res.status(503).json({ error: 'handled by express' })
  })
  const m = await mountNode(http.createServer(app), newProbe())
  const r = await fetch(`${m.base}/boom`)
  t.is(r.status, 503)
  t.deepEqual(await r.json(), { error: 'handled by express' })
  t.deepEqual(seen, ['to express'])
  await m.close()
})

async function fastifyApp(probe: Probe, { passBody = true, rawScope = false } = {}) {
  const app = Fastify()
  const listener = toNodeListener(makeHandler(probe))
  await app.register(async (scope: any) => {
    // rawScope: no parser at all in this scope, the listener reads every body itself.
    if (rawScope) scope.removeAllContentTypeParsers()
    // Let content types Fastify has no parser for through unread: the listener streams them.
    scope.addContentTypeParser('*', (_request: unknown, _payload: unknown, done: (err: null) => void) => done(null))
    scope.all('/api/:name', async (request: any, reply: any) => {
      reply.hijack()
      // Fastify's default JSON parser already consumed the stream: hand its result over.
      if (passBody && !rawScope) request.raw.body = request.body
      await listener(request.raw, reply.raw)
    })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = app.server.address().port
  return { base: `http://127.0.0.1:${port}`, port, probe, close: () => app.close() } as Mounted
}

test.serial('Fastify 5, reply.hijack() recipe with the default JSON parser active', async (t) => {
  const m = await fastifyApp(newProbe())
  await quiet(() => battery(t, m))
  await m.close()
})

test.serial('Fastify 5, reply.hijack() in a scope without body parsers (the listener reads the stream)', async (t) => {
  const m = await fastifyApp(newProbe(), { rawScope: true })
  await quiet(() => battery(t, m))
  await m.close()
})

test.serial('Fastify 5 without passing request.body: a clear error, never a hang or an empty body', async (t) => {
  const m = await fastifyApp(newProbe(), { passBody: false })
  const r = await quiet(async () => {
    const res = await fetch(`${m.base}/api/json`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } })
    return { status: res.status, body: await res.text() }
  })
  t.is(r.status, 500, 'the handler did not catch, so the generic 500')
  t.is(r.body, '{"error":"Internal Server Error"}')
  await m.close()
})

async function koaApp(probe: Probe, { parser = false, middleware = false } = {}) {
  const app = new Koa()
  app.silent = true // Koa logs the ECONNRESET of the abort case otherwise
  const router = new Router()
  if (parser) app.use(bodyParser())
  const listener = toNodeListener(makeHandler(probe))
  if (middleware) {
    // The listener as Koa middleware: respond = false, originalUrl and rawBody are its business.
    router.all('/api/:name', listener)
  } else {
    router.all('/api/:name', async (ctx: any) => {
      ctx.respond = false
      // koa-bodyparser keeps the exact bytes on ctx.request.rawBody (json/form/text only).
      if (parser) ctx.req.rawBody = ctx.request.rawBody
      await listener(ctx.req, ctx.res)
    })
  }
  app.use(router.routes())
  return mountNode(http.createServer(app.callback()), probe)
}

test.serial('Koa 3 + @koa/router, no body parser (ctx.respond = false)', async (t) => {
  const m = await koaApp(newProbe())
  await quiet(() => battery(t, m))
  await m.close()
})

test.serial('Koa 3 + @koa/router behind koa-bodyparser (ctx.req.rawBody = ctx.request.rawBody)', async (t) => {
  const m = await koaApp(newProbe(), { parser: true })
  await quiet(() => battery(t, m))
  const text = await fetch(`${m.base}/api/text`, { method: 'POST', body: 'koa words', headers: { 'content-type': 'text/plain' } })
  t.is(await text.text(), 'koa words')
  await m.close()
})

test.serial('Koa 3 + @koa/router + koa-bodyparser, the listener as Koa middleware (router.all(path, listener))', async (t) => {
  const m = await koaApp(newProbe(), { parser: true, middleware: true })
  await quiet(() => battery(t, m))
  await m.close()
})

test('peer sanity: the same handler mounted directly on Hono @hono/node-server answers alike', async (t) => {
  const probe = newProbe()
  const server = honoServe({ fetch: makeHandler(probe), port: 0, hostname: '127.0.0.1', overrideGlobalObjects: false })
  await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())))
  const port = server.address().port
  const m: Mounted = {
    base: `http://127.0.0.1:${port}`,
    port,
    probe,
    close: () => new Promise<void>((r) => (server.closeAllConnections?.(), server.close(() => r()))),
  }
  // Hono keeps SSE cache-control as given (no no-transform), so only the common subset is compared.
  const ours = newProbe()
  const oursListener: NodeListener = toNodeListener(makeHandler(ours))
  const o = await mountNode(http.createServer((req, res) => void oursListener(req, res)), ours)
  probe.release()
  ours.release()
  for (const base of [m.base, o.base]) {
    const j = await fetch(`${base}/api/json`, { method: 'POST', body: '{"x":1}', headers: { 'content-type': 'application/json' } })
    t.deepEqual(await j.json(), { got: { x: 1 }, path: '/api/json', isRequest: true })
    const s = await fetch(`${base}/api/sse`, { method: 'POST' })
    t.is(await s.text(), 'data: 0\n\ndata: 1\n\ndata: 2\n\n')
    const up = await fetch(`${base}/api/upload`, { method: 'POST', body: new Uint8Array(1 << 20) })
    t.is(await up.text(), String(1 << 20))
    const c = await fetch(`${base}/api/cookies`)
    t.deepEqual(c.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/'])
  }
  await m.close()
  await o.close()
})
