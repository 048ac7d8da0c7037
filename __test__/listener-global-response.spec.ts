// The light global Response toNodeListener installs (lib/node/light-response.js, globals.js):
// undici's behaviour for user code, plain fields for the listener, and the opt-out. Serial: the
// global is process-wide, and one test turns the override off.
import test from 'ava'
import http from 'node:http'
import { toNodeListener } from 'chat-headstart'
import type { FetchHandler } from '../lib/node-listener.js'
import { listen, RawConnection, completeResponses, encoder } from './listener.helpers.ts'

// Taken before any toNodeListener call: importing the package must replace nothing.
const Undici = globalThis.Response
const kOriginalResponse = Symbol.for('chat-headstart.originalResponse')

async function serve(handler: FetchHandler) {
  const listener = toNodeListener(handler)
  const server = http.createServer((req, res) => void listener(req, res))
  return { server, ...(await listen(server)) }
}

test.serial('importing the package leaves the global Response alone; toNodeListener installs the light one', (t) => {
  t.false(kOriginalResponse in Undici)
  toNodeListener(() => new Response(null))
  t.not(globalThis.Response, Undici)
  t.is((globalThis.Response as any)[kOriginalResponse], Undici)
  t.is(Response.name, 'Response')
})

test.serial('instanceof holds both ways; subclasses keep their own check', async (t) => {
  toNodeListener(() => new Response(null))
  const light = new Response('x')
  const native = new Undici('x')
  t.true(light instanceof Undici)
  t.true(native instanceof Response)
  t.is(Object.prototype.toString.call(light), '[object Response]')
  class Tagged extends Response {
    get tag() {
      return 'tagged'
    }
  }
  const tagged = new Tagged('body', { status: 202 })
  t.true(tagged instanceof Tagged)
  t.true(tagged instanceof Response)
  t.true(tagged instanceof Undici)
  t.false(native instanceof Tagged)
  t.false(light instanceof Tagged)
  t.is(tagged.tag, 'tagged')
  t.is(tagged.status, 202)
  t.is(await tagged.text(), 'body')
})

test.serial('every member answers as undici’s Response would (built on first use)', async (t) => {
  toNodeListener(() => new Response(null))
  const pairs = [
    () => ['hello', { status: 201, statusText: 'Made', headers: { 'X-A': 'b' } }],
    () => [new Uint8Array([104, 105]), undefined],
    () => [null, { status: 204 }],
    () => [new ReadableStream({ start: (c) => (c.enqueue(encoder.encode('streamed')), c.close()) }), { headers: [['set-cookie', 'a=1'], ['set-cookie', 'b=2']] }],
  ] as const
  for (const make of pairs) {
    const [body, init] = make()
    const [body2, init2] = make()
    const light = new Response(body as any, init as any)
    const native = new Undici(body2 as any, init2 as any)
    t.is(light.status, native.status)
    t.is(light.statusText, native.statusText)
    t.is(light.ok, native.ok)
    t.is(light.type, native.type)
    t.deepEqual([...light.headers], [...native.headers])
    t.deepEqual(light.headers.getSetCookie(), native.headers.getSetCookie())
    t.is(light.bodyUsed, false)
    t.is(light.body === null, native.body === null)
    const copy = light.clone()
    t.is(await light.text(), await native.text())
    t.is(light.bodyUsed, native.bodyUsed)
    t.is(await copy.text(), await new Undici(make()[0] as any).text())
  }
  // The bytes are copied at construction, as undici copies them.
  const bytes = new Uint8Array([1, 2])
  const light = new Response(bytes)
  bytes[0] = 9
  t.deepEqual([...new Uint8Array(await light.arrayBuffer())], [1, 2])
  // Other body types are undici's at once.
  t.is(await new Response(new URLSearchParams('a=1&b=2')).text(), 'a=1&b=2')
  t.is(new Response(new URLSearchParams('a=1')).headers.get('content-type'), 'application/x-www-form-urlencoded;charset=UTF-8')
  t.is(await new Response(new Blob(['blob'])).text(), 'blob')
  // Headers read after a mutation see it.
  const mutated = new Response('m', { headers: { 'x-a': '1' } })
  mutated.headers.set('x-b', '2')
  t.is(mutated.headers.get('x-b'), '2')
})

test.serial('bad input throws what undici throws', (t) => {
  toNodeListener(() => new Response(null))
  const cases: [unknown, unknown][] = [
    ['x', { status: 204 }],
    ['x', { status: 99 }],
    ['x', { status: 600 }],
    ['x', { statusText: 'bad\ntext' }],
    ['x', { headers: { 'bad name': 'v' } }],
    ['x', { headers: { 'x-a': 'line\r\nbreak' } }],
    ['x', { headers: [['only-name']] }],
  ]
  for (const [body, init] of cases) {
    let expected: any
    try {
      new Undici(body as any, init as any)
    } catch (err) {
      expected = err
    }
    t.truthy(expected, JSON.stringify(init))
    const actual = t.throws(() => new Response(body as any, init as any))
    t.is(actual?.constructor, expected.constructor)
    t.is(actual?.message, expected.message)
  }
  const locked = new ReadableStream()
  locked.getReader()
  t.throws(() => new Response(locked), { instanceOf: TypeError })
  t.throws(() => Response.json(undefined), { instanceOf: TypeError })
})

test.serial('statics: json, error and redirect', async (t) => {
  toNodeListener(() => new Response(null))
  const json = Response.json({ a: 1 }, { status: 201, headers: { 'x-a': 'b' } })
  t.true(json instanceof Response)
  t.is(json.status, 201)
  t.is(json.headers.get('content-type'), 'application/json')
  t.deepEqual(await json.json(), { a: 1 })
  t.is(Response.json('x', { headers: { 'content-type': 'application/vnd.x+json' } }).headers.get('content-type'), 'application/vnd.x+json')
  const error = Response.error()
  t.is(error.type, 'error')
  t.true(error instanceof Response)
  const redirect = Response.redirect('http://example.test/next', 307)
  t.is(redirect.status, 307)
  t.is(redirect.headers.get('location'), 'http://example.test/next')
})

test.serial('served: fields go out as undici’s Response would send them; touched or subclassed ones too', async (t) => {
  class Renamed extends Response {
    get status() {
      return 203
    }
  }
  const s = await serve(async (req) => {
    const path = new URL(req.url).pathname
    if (path === '/json') return Response.json({ ok: true }, { headers: [['set-cookie', 'a=1'], ['set-cookie', 'b=2']] })
    if (path === '/bytes') return new Response(new Uint8Array([1, 2, 3]), { status: 202, statusText: 'Custom Text' })
    if (path === '/touched') {
      const res = new Response('touched', { headers: { 'x-a': '1' } })
      res.headers.set('x-b', '2')
      return res
    }
    if (path === '/subclass') return new Renamed('sub')
    if (path === '/stream') return new Response(new ReadableStream({ start: (c) => (c.enqueue(encoder.encode('streamed')), c.close()) }))
    if (path === '/empty') return new Response(null, { status: 204 })
    return new Response('plain')
  })
  const conn = new RawConnection(s.port)
  const paths = ['/json', '/bytes', '/touched', '/subclass', '/stream', '/empty', '/plain']
  conn.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join(''))
  const [json, bytes, touched, subclass, stream, empty, plain] = completeResponses(await conn.waitFor((x) => completeResponses(x).length === paths.length))
  t.regex(json, /set-cookie: a=1\r\nset-cookie: b=2\r\n/)
  t.regex(json, /content-type: application\/json\r\n/)
  t.regex(json, /content-length: 11\r\n/)
  t.true(json.endsWith('{"ok":true}'))
  t.regex(bytes, /^HTTP\/1\.1 202 Custom Text\r\n/)
  t.regex(bytes, /content-length: 3\r\n/)
  t.regex(touched, /x-a: 1\r\n/)
  t.regex(touched, /x-b: 2\r\n/)
  t.regex(subclass, /^HTTP\/1\.1 203 /)
  t.true(subclass.endsWith('sub'))
  // A short stream gets its Content-Length from the bounded peek, as undici's Response does.
  t.regex(stream, /content-length: 8\r\n/)
  t.true(stream.endsWith('streamed'))
  t.regex(empty, /^HTTP\/1\.1 204 /)
  t.regex(plain, /content-type: text\/plain;charset=UTF-8\r\n/)
  const head = await fetch(s.base + '/plain', { method: 'HEAD' })
  t.is(head.headers.get('content-length'), '5')
  conn.destroy()
  await s.close()
})

test.serial('overrideGlobalObjects: false puts undici’s Response back; anything but a boolean is refused', async (t) => {
  toNodeListener(() => new Response(null))
  t.not(globalThis.Response, Undici)
  const listener = toNodeListener(() => new Response('undici'), { overrideGlobalObjects: false })
  t.is(globalThis.Response, Undici)
  const server = http.createServer((req, res) => void listener(req, res))
  const s = await listen(server)
  t.is(await (await fetch(s.base)).text(), 'undici')
  await s.close()
  t.throws(() => toNodeListener(() => new Response(null), { overrideGlobalObjects: 'yes' as any }), { instanceOf: TypeError })
  toNodeListener(() => new Response(null), { overrideGlobalObjects: true })
  t.not(globalThis.Response, Undici)
})
