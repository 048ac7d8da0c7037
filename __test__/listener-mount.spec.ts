// toNodeListener under path-rewriting mounts (Express sub-routers, koa-mount), the Koa-middleware
// form of the listener, and repeated response headers.
import test from 'ava'
import http from 'node:http'
import { FastResponse, toNodeListener } from 'chat-headstart'
import { listen, RawConnection, completeResponses } from './listener.helpers.ts'
import { express, Koa, koaBodyParser as bodyParser, koaMount as mount, Router } from './frameworks.helpers.ts'

/** Answers what the handler saw: its URL and the body as text. */
const echo = async (req: Request) =>
  Response.json({ url: new URL(req.url).pathname + new URL(req.url).search, body: req.method === 'POST' ? await req.text() : null })

async function get(base: string, path: string, body?: string, contentType = 'application/json') {
  const r = await fetch(base + path, body === undefined ? {} : { method: 'POST', body, headers: { 'content-type': contentType } })
  return { status: r.status, json: r.status === 200 ? await r.json() : await r.text() }
}

test('Express: nested routers and app.use prefixes — the handler sees the full original URL', async (t) => {
  const app = express()
  const inner = express.Router()
  inner.post('/chat', toNodeListener(echo))
  inner.use('/deep', toNodeListener(echo))
  const outer = express.Router()
  outer.use('/v1', inner)
  app.use('/api', outer)
  const s = await listen(http.createServer(app))
  t.deepEqual(await get(s.base, '/api/v1/chat?x=1', '{"a":1}'), { status: 200, json: { url: '/api/v1/chat?x=1', body: '{"a":1}' } })
  t.deepEqual(await get(s.base, '/api/v1/deep/er/path'), { status: 200, json: { url: '/api/v1/deep/er/path', body: null } })
  await s.close()
})

test('koa-mount: the listener as Koa middleware sees ctx.originalUrl; (ctx.req, ctx.res) sees the rewritten one', async (t) => {
  const app = new Koa()
  const sub = new Koa()
  const router = new Router()
  const listener = toNodeListener(echo)
  router.post('/chat', listener) // Koa-middleware form: (ctx, next)
  router.post('/manual', async (ctx: any) => {
    // The (req, res) form only gets what koa-mount left on req.url: set originalUrl yourself.
    ctx.respond = false
    await listener(ctx.req, ctx.res)
  })
  router.post('/manual-fixed', async (ctx: any) => {
    ctx.respond = false
    ctx.req.originalUrl = ctx.originalUrl
    await listener(ctx.req, ctx.res)
  })
  sub.use(router.routes())
  app.use(mount('/api/v1', sub))
  app.use(mount('/whole', listener)) // a whole prefix served by the handler
  const s = await listen(http.createServer(app.callback()))
  t.deepEqual(await get(s.base, '/api/v1/chat?q=2', '{"a":1}'), { status: 200, json: { url: '/api/v1/chat?q=2', body: '{"a":1}' } })
  t.deepEqual(await get(s.base, '/api/v1/manual', 'x'), { status: 200, json: { url: '/manual', body: 'x' } })
  t.deepEqual(await get(s.base, '/api/v1/manual-fixed', 'y'), { status: 200, json: { url: '/api/v1/manual-fixed', body: 'y' } })
  t.deepEqual(await get(s.base, '/whole/any/thing'), { status: 200, json: { url: '/whole/any/thing', body: null } })
  // Koa did not try to answer after the listener (no "headers already sent" error, no 404 body appended).
  const conn = new RawConnection(s.port)
  conn.write('GET /whole/a HTTP/1.1\r\nHost: x\r\n\r\nGET /whole/b HTTP/1.1\r\nHost: x\r\n\r\n')
  const [a, b] = completeResponses(await conn.waitFor((x) => completeResponses(x).length === 2))
  t.true(a.endsWith('{"url":"/whole/a","body":null}'))
  t.true(b.endsWith('{"url":"/whole/b","body":null}'))
  conn.destroy()
  await s.close()
})

test('Koa middleware form behind koa-bodyparser: the exact bytes it read are used (json, form); other types stream', async (t) => {
  const app = new Koa()
  app.use(bodyParser())
  const router = new Router()
  router.post('/api/chat', toNodeListener(echo))
  app.use(router.routes())
  const s = await listen(http.createServer(app.callback()))
  const exact = '{ "spaced" :  [1, 2] }'
  t.deepEqual(await get(s.base, '/api/chat', exact), { status: 200, json: { url: '/api/chat', body: exact } })
  t.deepEqual(await get(s.base, '/api/chat', 'a=1&b=%20', 'application/x-www-form-urlencoded'), {
    status: 200,
    json: { url: '/api/chat', body: 'a=1&b=%20' },
  })
  t.deepEqual(await get(s.base, '/api/chat', 'plain text', 'text/plain'), { status: 200, json: { url: '/api/chat', body: 'plain text' } })
  await s.close()
})

test('the listener refuses a call that is neither (req, res) nor a Koa context', (t) => {
  const listener = toNodeListener(echo) as any
  t.throws(() => listener({}), { message: /\(req, res\[, next\]\) or with a Koa context/ })
})

test('repeated response headers: FastResponse keeps each line as appended', async (t) => {
  const routes: Record<string, () => Response> = {
    '/pairs': () =>
      new FastResponse('ok', {
        headers: [
          ['Link', '</a.css>; rel=preload'],
          ['Link', '</b.js>; rel=preload'],
          ['WWW-Authenticate', 'Basic realm="a, b"'],
          ['WWW-Authenticate', 'Bearer'],
        ],
      }),
    // A record with array values (Node style) is an extension of FastResponse: one line per item.
    '/record': () => new FastResponse('ok', { headers: { link: ['</a.css>; rel=preload', '</b.js>; rel=preload'] } as any }),
    '/touched': () => {
      const res = new FastResponse('ok', { headers: [['link', '</a.css>; rel=preload']] })
      res.headers.append('Link', ' </b.js>; rel=preload ')
      res.headers.append('vary', 'accept')
      res.headers.set('vary', 'origin')
      res.headers.append('x-gone', '1')
      res.headers.delete('X-Gone')
      return res
    },
  }
  const listener = toNodeListener((req) => routes[new URL(req.url).pathname]())
  const s = await listen(http.createServer((req, res) => void listener(req, res)))
  const conn = new RawConnection(s.port)
  const fetchRaw = async (path: string) => {
    const before = completeResponses(conn.received).length
    conn.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
    const all = completeResponses(await conn.waitFor((x) => completeResponses(x).length === before + 1))
    return all[before].toLowerCase()
  }
  const lines = (head: string, name: string) => head.split('\r\n').filter((l) => l.startsWith(`${name}: `))
  const pairs = await fetchRaw('/pairs')
  t.deepEqual(lines(pairs, 'link'), ['link: </a.css>; rel=preload', 'link: </b.js>; rel=preload'])
  t.deepEqual(lines(pairs, 'www-authenticate'), ['www-authenticate: basic realm="a, b"', 'www-authenticate: bearer'])
  t.deepEqual(lines(await fetchRaw('/record'), 'link'), ['link: </a.css>; rel=preload', 'link: </b.js>; rel=preload'])
  const touched = await fetchRaw('/touched')
  t.deepEqual(lines(touched, 'link'), ['link: </a.css>; rel=preload', 'link: </b.js>; rel=preload'], 'trimmed like Headers does')
  t.deepEqual(lines(touched, 'vary'), ['vary: origin'])
  t.deepEqual(lines(touched, 'x-gone'), [])
  t.deepEqual(lines(touched, 'content-type'), ['content-type: text/plain;charset=utf-8'])
  // (A plain Response's Fetch Headers stores them combined, except Set-Cookie: see listener.spec.ts.)
  // FastResponse headers read like any Headers.
  const fr = routes['/touched']()
  t.is(fr.headers.get('link'), '</a.css>; rel=preload, </b.js>; rel=preload')
  t.true(fr.headers instanceof Headers)
  t.throws(() => fr.headers.append('bad name', 'x'), { instanceOf: TypeError })
  t.is((await new Response('x', { headers: fr.headers }).headers.get('vary')), 'origin')
  conn.destroy()
  await s.close()
})
