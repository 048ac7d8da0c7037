// toNodeListener: mounts any Web Fetch handler `(req: Request) => Response | Promise<Response>` on
// node:http / node:http2 (compat API) and the frameworks built on them (Express, Fastify, Koa).
//
// Request side: a lazy Request (prototype chained to Request.prototype) that answers method / url /
// headers / signal / text() / json() / arrayBuffer() straight from the IncomingMessage and builds a
// genuine undici Request only when something spec-heavy is touched (clone, formData, cache, …, or
// `new Request(lazy, init)` / undici internals via their symbol keys). Where undici keeps that
// state in private fields (Node 24) the handler gets a genuine Request subclass instead
// (NodeBackedRequest), which still reads a body it is asked for whole from the IncomingMessage.
// Response side: one writeHead + end for string / bytes / null bodies (undici's kept body source on
// Node 22, a bounded peek of the body stream where that source is private), a backpressured pump
// for streams, and a native fast path (`response[Symbol.for('chat-headstart.nativeBody')]`) for
// bodies produced by the Rust core.

import { Buffer } from 'node:buffer'
import { isDisturbed } from 'node:stream'

/** A Response carrying this symbol has its body produced outside JS streams (see NativeBodySource). */
export const kNativeBody = Symbol.for('chat-headstart.nativeBody')

const EMPTY = Buffer.alloc(0)
const RESOLVED = Promise.resolve()
const noop = () => {}
const GENERIC_500 = '{"error":"Internal Server Error"}'
const DEFAULT_DRAIN_TIMEOUT_MS = 500
const DEFAULT_DRAIN_MAX_BYTES = 16 * 1024 * 1024
/** Request body stream queue: the socket is paused once this many bytes wait unread. */
const REQUEST_BODY_HIGH_WATER_MARK = 64 * 1024
// Headers HTTP/2 forbids (RFC 9113 §8.2.2); node:http2 throws on them.
const H2_FORBIDDEN_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'])
const HOST_RE = /^(?:[A-Za-z0-9._~!$&'()*+,;=%-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/

// ---------------------------------------------------------------------------------------------
// undici internals, discovered by probing (never by name imports): the symbol keys undici reads on
// a Request / Response it receives. Our lazy objects answer them by materialising a real instance,
// so `new Request(lazy, init)`, `fetch(lazy)` and friends work (remix-run/remix#11627).
const REQUEST_INTERNAL_SYMBOLS = Object.getOwnPropertySymbols(new Request('http://probe.invalid/'))
const RESPONSE_INTERNAL_SYMBOLS = Object.getOwnPropertySymbols(new Response(null))
const kResponseState = RESPONSE_INTERNAL_SYMBOLS.find((s) => s.description === 'state')

function defineDelegates(proto, nativeProto, symbols, materialize) {
  for (const key of [...Object.getOwnPropertyNames(nativeProto), ...symbols]) {
    if (key === 'constructor' || Object.prototype.hasOwnProperty.call(proto, key)) continue
    const desc = Object.getOwnPropertyDescriptor(nativeProto, key)
    if (desc && typeof desc.value === 'function') {
      Object.defineProperty(proto, key, {
        configurable: true,
        writable: true,
        value(...args) {
          const target = materialize(this)
          return target[key](...args)
        },
      })
    } else if (desc === undefined || desc.get || typeof key === 'symbol') {
      Object.defineProperty(proto, key, {
        configurable: true,
        get() {
          return materialize(this)[key]
        },
        set(value) {
          materialize(this)[key] = value
        },
      })
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Errors

class BadRequestError extends Error {
  constructor(message) {
    super(message)
    this.name = 'BadRequestError'
  }
}

function bodyConsumedError() {
  return new TypeError(
    'The request body was already read by an earlier body parser and it left nothing usable ' +
      '(no req.body / req.rawBody). Mount the listener before the body parser, or copy what it parsed ' +
      'onto the Node request: `req.raw.body = request.body` (Fastify), `ctx.req.body = ctx.request.body` (Koa).',
  )
}

function bodyUnusableError() {
  return new TypeError('Body is unusable: Body has already been read')
}

// ---------------------------------------------------------------------------------------------
// Request headers

/** Lower-cased name → value map built once from rawHeaders (keeps what Node's `req.headers` drops). */
function parseRawHeaders(rawHeaders) {
  const map = Object.create(null)
  const order = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase()
    if (name.charCodeAt(0) === 58 /* ':' */) continue // HTTP/2 pseudo-header
    const value = rawHeaders[i + 1]
    const prev = map[name]
    if (prev === undefined) {
      map[name] = value
      order.push(name)
    } else if (name === 'set-cookie') {
      map[name] = Array.isArray(prev) ? [...prev, value] : [prev, value]
    } else {
      map[name] = prev + (name === 'cookie' ? '; ' : ', ') + value
    }
  }
  return { map, order }
}

function rawHeadersOf(incoming) {
  if (Array.isArray(incoming.rawHeaders)) return incoming.rawHeaders
  const flat = []
  for (const [k, v] of Object.entries(incoming.headers ?? {})) {
    if (Array.isArray(v)) for (const item of v) flat.push(k, String(item))
    else if (v != null) flat.push(k, String(v))
  }
  return flat
}

/**
 * Headers of the incoming request. Reads answer from rawHeaders; the first mutation or iteration
 * builds a real Headers that serves every later call.
 */
class NodeRequestHeaders {
  constructor(incoming) {
    this._incoming = incoming
    this._parsed = undefined
    this._native = undefined
  }
  _map() {
    return (this._parsed ??= parseRawHeaders(rawHeadersOf(this._incoming))).map
  }
  _pairs() {
    const { map, order } = this._parsed ?? (this._parsed = parseRawHeaders(rawHeadersOf(this._incoming)))
    const pairs = []
    for (const name of order) {
      const v = map[name]
      if (Array.isArray(v)) for (const item of v) pairs.push([name, item])
      else pairs.push([name, v])
    }
    return pairs
  }
  _toNative() {
    return (this._native ??= new Headers(this._pairs()))
  }
  get(name) {
    if (this._native) return this._native.get(name)
    const v = this._map()[String(name).toLowerCase()]
    if (v === undefined) return null
    return Array.isArray(v) ? v.join(', ') : v
  }
  has(name) {
    if (this._native) return this._native.has(name)
    return this._map()[String(name).toLowerCase()] !== undefined
  }
  getSetCookie() {
    if (this._native) return this._native.getSetCookie()
    const v = this._map()['set-cookie']
    return v === undefined ? [] : Array.isArray(v) ? [...v] : [v]
  }
  set(name, value) {
    this._toNative().set(name, value)
  }
  append(name, value) {
    this._toNative().append(name, value)
  }
  delete(name) {
    this._toNative().delete(name)
  }
  forEach(callback, thisArg) {
    this._toNative().forEach((value, key) => callback.call(thisArg, value, key, this))
  }
  entries() {
    return this._toNative().entries()
  }
  keys() {
    return this._toNative().keys()
  }
  values() {
    return this._toNative().values()
  }
  [Symbol.iterator]() {
    return this._toNative().entries()
  }
}
Object.setPrototypeOf(NodeRequestHeaders.prototype, Headers.prototype)
Object.defineProperty(NodeRequestHeaders.prototype, Symbol.toStringTag, { value: 'Headers' })

// ---------------------------------------------------------------------------------------------
// Request body

function hasBodyMethod(method) {
  return method !== 'GET' && method !== 'HEAD'
}

function toBuffer(u8) {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength)
}

/** Whether someone other than us already read from the IncomingMessage. */
function streamAlreadyConsumed(incoming) {
  return incoming.readableDidRead === true || incoming.readableEnded === true
}

/**
 * What an earlier body parser left: `{ bytes }` (exact bytes), `{ value, bytes }` (a parsed value)
 * or undefined when nothing usable is there.
 */
function preParsedBody(incoming, contentType) {
  const raw = incoming.rawBody
  if (typeof raw === 'string') return { bytes: Buffer.from(raw) }
  if (raw instanceof Uint8Array) return { bytes: toBuffer(raw) }
  const body = incoming.body
  if (body === undefined || body === null) return undefined
  if (typeof body === 'string') return { bytes: Buffer.from(body) }
  if (body instanceof Uint8Array) return { bytes: toBuffer(body) }
  if (body instanceof ArrayBuffer) return { bytes: Buffer.from(body) }
  if (typeof body === 'object') {
    const ct = (contentType ?? '').toLowerCase()
    const text = ct.startsWith('application/x-www-form-urlencoded')
      ? new URLSearchParams(body).toString()
      : JSON.stringify(body)
    return { value: body, bytes: Buffer.from(text), json: !ct.startsWith('application/x-www-form-urlencoded') }
  }
  return { bytes: Buffer.from(String(body)) }
}

/**
 * Reads the rest of an IncomingMessage into one Buffer from 'data' events (no web stream) and
 * resolves with `transform(buffer)`: json() / text() settle in the same promise instead of
 * chaining another one (one microtask less on every small request).
 */
function readIncoming(incoming, transform) {
  return new Promise((resolve, reject) => {
    let first
    let chunks
    let size = 0
    const onData = (chunk) => {
      if (first === undefined) first = chunk
      else (chunks ??= [first]).push(chunk)
      size += chunk.length
    }
    const cleanup = () => {
      incoming.off('data', onData)
      incoming.off('end', onEnd)
      incoming.off('error', onError)
      incoming.off('close', onClose)
    }
    const onEnd = () => {
      // The message is finished: its remaining listeners go away with it ('close' checks readableEnded).
      const buf = chunks !== undefined ? Buffer.concat(chunks, size) : (first ?? EMPTY)
      if (transform === undefined) return resolve(buf)
      try {
        resolve(transform(buf))
      } catch (err) {
        reject(err)
      }
    }
    const onError = (err) => {
      cleanup()
      reject(err)
    }
    const onClose = () => {
      if (incoming.readableEnded) return
      cleanup()
      reject(new Error('The request was aborted before its body was complete'))
    }
    incoming.on('data', onData)
    incoming.on('end', onEnd)
    incoming.on('error', onError)
    incoming.on('close', onClose)
    incoming.resume()
  })
}

/**
 * A ReadableStream over an IncomingMessage with backpressure: the message is paused while the
 * queue holds REQUEST_BODY_HIGH_WATER_MARK bytes and resumed on pull. `detach()` stops feeding it
 * (used once the response is over).
 */
function incomingToWebStream(incoming, ctx) {
  let controller
  let closed = false
  const onData = (chunk) => {
    if (closed) return
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    if (controller.desiredSize <= 0) incoming.pause()
  }
  const onEnd = () => {
    if (closed) return
    detach()
    controller.close()
  }
  const onError = (err) => {
    if (closed) return
    detach()
    controller.error(err)
  }
  const onClose = () => {
    if (closed || incoming.readableEnded) return
    detach()
    controller.error(new Error('The request was aborted before its body was complete'))
  }
  function detach() {
    if (closed) return
    closed = true
    incoming.off('data', onData)
    incoming.off('end', onEnd)
    incoming.off('error', onError)
    incoming.off('close', onClose)
    ctx.detachBody = undefined
  }
  ctx.detachBody = () => {
    if (closed) return
    detach()
    try {
      controller.error(new Error('The response was already sent; the request body is being discarded'))
    } catch {}
  }
  return new ReadableStream(
    {
      start(c) {
        controller = c
        if (incoming.readableEnded) {
          closed = true
          c.close()
          return
        }
        incoming.on('data', onData)
        incoming.on('end', onEnd)
        incoming.on('error', onError)
        incoming.on('close', onClose)
      },
      pull() {
        if (!closed) incoming.resume()
      },
      cancel() {
        detach()
        // Leave the rest on the wire: the post-response drain discards it (bounded).
        incoming.pause()
      },
    },
    { highWaterMark: REQUEST_BODY_HIGH_WATER_MARK, size: (chunk) => chunk.byteLength },
  )
}

function parseJsonBuffer(buf) {
  return JSON.parse(bufferToText(buf))
}

function bufferToText(buf) {
  const text = buf.toString('utf8')
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

async function readWebStream(stream) {
  const reader = stream.getReader()
  const chunks = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.byteLength
  }
  return Buffer.concat(chunks, size)
}

// ---------------------------------------------------------------------------------------------
// Request URL

function firstToken(value) {
  if (value === undefined) return undefined
  const s = Array.isArray(value) ? value[0] : value
  const comma = s.indexOf(',')
  return (comma === -1 ? s : s.slice(0, comma)).trim()
}

/** The last Host value that passed HOST_RE: most servers see one Host, so the regex runs once. */
let lastValidHost

function buildUrl(incoming, trustProxy, originalUrl) {
  const headers = incoming.headers
  // The URL before any mount rewrote req.url: Express's req.originalUrl, Koa's ctx.originalUrl.
  let path = originalUrl ?? (typeof incoming.originalUrl === 'string' ? incoming.originalUrl : incoming.url)
  if (typeof path !== 'string' || path === '') path = '/'
  const first = path.charCodeAt(0)
  if (first !== 47 /* '/' */) {
    if (path === '*') path = '/'
    else if (/^https?:\/\//i.test(path)) {
      // absolute-form request target (RFC 9112 §3.2.2)
      try {
        return new URL(path).href
      } catch {
        throw new BadRequestError('invalid request target')
      }
    } else throw new BadRequestError('invalid request target')
  }
  const h2 = incoming.httpVersionMajor === 2
  let proto = incoming.socket?.encrypted || (h2 && headers[':scheme'] === 'https') ? 'https' : 'http'
  let host = (h2 && headers[':authority']) || headers.host
  if (trustProxy) {
    const fwdProto = firstToken(headers['x-forwarded-proto'])
    if (fwdProto === 'http' || fwdProto === 'https') proto = fwdProto
    const fwdHost = firstToken(headers['x-forwarded-host'])
    if (fwdHost) host = fwdHost
  }
  if (host === undefined || host === '') host = 'localhost'
  else if (host !== lastValidHost) {
    if (!HOST_RE.test(host)) throw new BadRequestError('invalid Host header')
    lastValidHost = host
  }
  return `${proto}://${host}${path}`
}

// ---------------------------------------------------------------------------------------------
// The lazy request

function abortReason() {
  return new DOMException('The client closed the connection before the response was complete', 'AbortError')
}

/** Registers (once) the res 'close' watcher that turns a premature close into abort + cancel. */
function watchClientGone(ctx) {
  if (ctx.watching) return
  ctx.watching = true
  const res = ctx.res
  if (res.destroyed || res.closed) {
    onResClose(ctx)
    return
  }
  res.once('close', () => onResClose(ctx))
}

function onResClose(ctx) {
  if (isFinished(ctx.res)) return
  ctx.gone = true
  const reason = abortReason()
  ctx.controller?.abort(reason)
  const cancel = ctx.cancelBody
  ctx.cancelBody = undefined
  cancel?.(reason)
}

function isFinished(res) {
  // node:http2 compat: a stream the client reset reports writableFinished too; what counts there is
  // whether we ended the response.
  if (res.stream !== undefined) return res.writableEnded === true
  return res.writableFinished === true || (res.writableFinished === undefined && res.finished === true)
}

class NodeRequest {
  constructor(incoming, ctx, url) {
    this._incoming = incoming
    this._ctx = ctx
    this._url = url
    this._method = incoming.method ?? 'GET'
    this._headers = undefined
    this._native = undefined
    this._bodyUsed = false
    this._bodyStream = undefined
  }
  get method() {
    return this._method
  }
  get url() {
    return this._url
  }
  get headers() {
    if (this._native) return this._native.headers
    return (this._headers ??= new NodeRequestHeaders(this._incoming))
  }
  get signal() {
    const ctx = this._ctx
    if (!ctx.controller) {
      ctx.controller = new AbortController()
      watchClientGone(ctx)
      if (ctx.gone) ctx.controller.abort(abortReason())
    }
    return ctx.controller.signal
  }
  get duplex() {
    return 'half'
  }
  get bodyUsed() {
    if (this._native) return this._native.bodyUsed
    // Read through json() & co., or through the body stream itself (Fetch: body is disturbed).
    return this._bodyUsed || (this._bodyStream !== undefined && isDisturbed(this._bodyStream))
  }
  get body() {
    if (this._native) return this._native.body
    if (!hasBodyMethod(this._method)) return null
    if (this._bodyStream) return this._bodyStream
    const incoming = this._incoming
    if (streamAlreadyConsumed(incoming)) {
      const pre = preParsedBody(incoming, this.headers.get('content-type'))
      const err = pre ? undefined : bodyConsumedError()
      this._bodyStream = new ReadableStream({
        start(c) {
          if (err) c.error(err)
          else {
            if (pre.bytes.length) c.enqueue(new Uint8Array(pre.bytes))
            c.close()
          }
        },
      })
    } else {
      this._bodyStream = incomingToWebStream(incoming, this._ctx)
    }
    return this._bodyStream
  }
  /**
   * The body as one Buffer, read from 'data' events (or what a body parser left). Plain promise
   * chains rather than async functions: the small-JSON path is a few promises shorter.
   */
  /** The body bytes through `transform` (applied in the same promise), or the bytes themselves. */
  _bytes(transform) {
    try {
      if (this._bodyUsed) throw bodyUnusableError()
      if (this._bodyStream) {
        if (this._bodyStream.locked || isDisturbed(this._bodyStream)) throw bodyUnusableError()
        this._bodyUsed = true
        const read = readWebStream(this._bodyStream)
        return transform === undefined ? read : read.then(transform)
      }
      this._bodyUsed = true
      if (!hasBodyMethod(this._method)) return Promise.resolve(transform === undefined ? EMPTY : transform(EMPTY))
      const incoming = this._incoming
      if (streamAlreadyConsumed(incoming)) {
        const pre = preParsedBody(incoming, this.headers.get('content-type'))
        if (!pre) throw bodyConsumedError()
        return Promise.resolve(transform === undefined ? pre.bytes : transform(pre.bytes))
      }
      return readIncoming(incoming, transform)
    } catch (err) {
      return Promise.reject(err)
    }
  }
  text() {
    if (this._native) return this._native.text()
    return this._bytes(bufferToText)
  }
  json() {
    if (this._native) return this._native.json()
    if (!this._bodyUsed && this._bodyStream === undefined && hasBodyMethod(this._method)) {
      const incoming = this._incoming
      if (!streamAlreadyConsumed(incoming)) {
        // The common case, checked once here rather than again in _bytes().
        this._bodyUsed = true
        return readIncoming(incoming, parseJsonBuffer)
      }
      // A JSON body parser already produced the value: hand it over instead of re-parsing.
      const pre = preParsedBody(incoming, this.headers.get('content-type'))
      if (pre && pre.json && pre.value !== undefined) {
        this._bodyUsed = true
        return Promise.resolve(pre.value)
      }
    }
    return this._bytes(parseJsonBuffer)
  }
  arrayBuffer() {
    if (this._native) return this._native.arrayBuffer()
    return this._bytes().then((buf) => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength))
  }
  bytes() {
    if (this._native) return this._native.bytes()
    return this.arrayBuffer().then((ab) => new Uint8Array(ab))
  }
  blob() {
    if (this._native) return this._native.blob()
    return this._bytes().then((buf) => new Blob([buf], { type: this.headers.get('content-type') ?? '' }))
  }
}
Object.setPrototypeOf(NodeRequest.prototype, Request.prototype)
Object.defineProperty(NodeRequest.prototype, Symbol.toStringTag, { value: 'Request' })

/** Builds (once) the genuine undici Request behind a NodeRequest. */
function materializeRequest(lazy) {
  if (lazy._native) return lazy._native
  const init = { method: lazy._method, headers: undefined, signal: lazy.signal }
  const headers = lazy._headers
  init.headers = headers?._native ?? (headers ?? new NodeRequestHeaders(lazy._incoming))._pairs()
  let consumedAlready = false
  if (hasBodyMethod(lazy._method)) {
    const stream = lazy._bodyStream
    if ((lazy._bodyUsed && !stream) || (stream && (stream.locked || isDisturbed(stream)))) {
      // Already read (directly, or through a reader the handler holds): a used, empty body.
      consumedAlready = true
      init.body = new ReadableStream({ start: (c) => c.close() })
    } else {
      init.body = lazy.body
    }
    init.duplex = 'half'
  }
  const native = new Request(lazy._url, init)
  if (consumedAlready) native.body.getReader().read().catch(noop) // disturbed, like the original
  lazy._native = native
  return native
}

defineDelegates(NodeRequest.prototype, Request.prototype, REQUEST_INTERNAL_SYMBOLS, materializeRequest)

/**
 * A body stream that touches the IncomingMessage only once it is read (pulled), through the
 * NodeRequest's own body stream (highWaterMark 0: nothing is pulled up front).
 */
function deferredBody(lazy) {
  let reader
  return new ReadableStream(
    {
      async pull(c) {
        reader ??= lazy.body.getReader()
        const { done, value } = await reader.read()
        if (done) c.close()
        else c.enqueue(value)
      },
      cancel(reason) {
        return reader?.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
}

/**
 * Where undici keeps a Request's state in private fields (Node 24) no stand-in passes for a Request
 * inside undici (`new Request(req, init)`, `fetch(req)`, clone(), formData() …), so the handler gets a
 * genuine one: this subclass. Its body stream reads the IncomingMessage only when pulled, and
 * json() / text() / arrayBuffer() / bytes() / blob() on an untouched body read the IncomingMessage
 * directly (through the NodeRequest behind it: body-parser leftovers included) and leave the
 * genuine body disturbed, so bodyUsed and every later read behave as the Fetch spec says.
 */
class NodeBackedRequest extends Request {
  constructor(lazy) {
    const method = lazy._method
    const init = { method, headers: new NodeRequestHeaders(lazy._incoming)._pairs(), signal: lazy.signal }
    if (hasBodyMethod(method)) {
      init.body = deferredBody(lazy)
      init.duplex = 'half'
    }
    super(lazy._url, init)
    this._lazy = lazy
    this._initialBody = init.body
  }
  /** Whether the body may be read from the IncomingMessage directly (then marks the body used). */
  _direct() {
    const body = this._initialBody
    // (After clone() the body is a tee branch: both branches must come from the stream.)
    if (body === undefined || super.body !== body || body.locked || isDisturbed(body)) return false
    body.cancel().catch(noop) // disturbed: the genuine body now counts as read
    return true
  }
  text() {
    return this._direct() ? this._lazy.text() : super.text()
  }
  json() {
    return this._direct() ? this._lazy.json() : super.json()
  }
  arrayBuffer() {
    return this._direct() ? this._lazy.arrayBuffer() : super.arrayBuffer()
  }
  bytes() {
    return this._direct() ? this._lazy.bytes() : super.bytes()
  }
  blob() {
    return this._direct() ? this._lazy.blob() : super.blob()
  }
}

// ---------------------------------------------------------------------------------------------
// FastResponse: a Response whose string / bytes body and headers the listener reads directly.

const STATUS_MIN = 200
const STATUS_MAX = 599

/** Where a HeaderLines keeps its lines: [lower-case name, value, …]. */
const kHeaderLines = Symbol('chat-headstart.headerLines')
const HTTP_WHITESPACE_EDGES = /^[\t\n\r ]+|[\t\n\r ]+$/g

/**
 * The Headers of a FastResponse: a real Headers (reads, validation and iteration as the Fetch spec
 * says, repeated names combined) that also remembers each appended line, so the listener can send
 * repeated headers (Link, WWW-Authenticate, …) as separate lines like they were set.
 */
class HeaderLines extends Headers {
  constructor(init) {
    super()
    this[kHeaderLines] = []
    if (init === undefined || init === null) return
    if (init instanceof Headers) for (const [name, value] of init) this.append(name, value)
    else if (typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) {
        if (pair.length !== 2) throw new TypeError('Headers constructor: expected name/value pair to be length 2')
        this.append(pair[0], pair[1])
      }
    } else {
      for (const name of Object.keys(init)) {
        const value = init[name]
        if (Array.isArray(value)) for (const item of value) this.append(name, item)
        else this.append(name, value)
      }
    }
  }
  append(name, value) {
    super.append(name, value) // validates
    this[kHeaderLines].push(String(name).toLowerCase(), String(value).replace(HTTP_WHITESPACE_EDGES, ''))
  }
  set(name, value) {
    super.set(name, value)
    this.#remove(String(name).toLowerCase())
    this[kHeaderLines].push(String(name).toLowerCase(), String(value).replace(HTTP_WHITESPACE_EDGES, ''))
  }
  delete(name) {
    super.delete(name)
    this.#remove(String(name).toLowerCase())
  }
  #remove(lower) {
    const list = this[kHeaderLines]
    const kept = []
    for (let i = 0; i < list.length; i += 2) if (list[i] !== lower) kept.push(list[i], list[i + 1])
    this[kHeaderLines] = kept
  }
}

/**
 * A drop-in `Response` for handlers served through toNodeListener: `instanceof Response` holds and
 * every Response member works (a real Response is built on first use), but when the listener sends
 * it untouched, a string / Uint8Array / null body goes out in one writeHead + end without building
 * the undici Response (which costs several µs per request).
 */
export class FastResponse {
  constructor(body = null, init = undefined) {
    if (init !== undefined && init !== null && init.status !== undefined) {
      const s = init.status
      if (!Number.isInteger(s) || s < STATUS_MIN || s > STATUS_MAX) {
        throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`)
      }
    }
    this._body = body
    this._init = init ?? undefined
    this._headers = undefined
    this._native = undefined
    // The Content-Type the Fetch spec gives this body when init.headers has none.
    this._defaultType = typeof body === 'string' ? 'text/plain;charset=UTF-8' : undefined
  }
  static json(data, init = undefined) {
    const text = JSON.stringify(data)
    if (text === undefined) throw new TypeError('Value is not JSON serializable')
    const res = new FastResponse(text, init)
    res._defaultType = 'application/json'
    return res
  }
  static error() {
    return Response.error()
  }
  static redirect(url, status) {
    return Response.redirect(url, status)
  }
  get status() {
    return this._native ? this._native.status : (this._init?.status ?? 200)
  }
  get statusText() {
    return this._native ? this._native.statusText : (this._init?.statusText ?? '')
  }
  get ok() {
    const s = this.status
    return s >= 200 && s <= 299
  }
  get headers() {
    if (this._native) return this._native.headers
    if (!this._headers) {
      this._headers = new HeaderLines(this._init?.headers)
      if (this._defaultType && !this._headers.has('content-type')) this._headers.set('content-type', this._defaultType)
    }
    return this._headers
  }
  get type() {
    return 'default'
  }
  get url() {
    return ''
  }
  get redirected() {
    return false
  }
}
Object.setPrototypeOf(FastResponse.prototype, Response.prototype)
Object.defineProperty(FastResponse.prototype, Symbol.toStringTag, { value: 'Response' })

function materializeResponse(fast) {
  if (fast._native) return fast._native
  const init = fast._init
  fast._native = new Response(fast._body, {
    status: init?.status,
    statusText: init?.statusText,
    headers: fast.headers,
  })
  return fast._native
}
defineDelegates(FastResponse.prototype, Response.prototype, RESPONSE_INTERNAL_SYMBOLS, materializeResponse)

// ---------------------------------------------------------------------------------------------
// Response → ServerResponse

/** Flattens Headers (or a HeadersInit) into Node's raw [name, value, …] array; notes a few headers. */
function collectHeaders(headersLike, info, h2) {
  const flat = []
  if (headersLike === undefined || headersLike === null) return flat
  if (headersLike instanceof Headers) {
    const list = headersLike[kHeaderLines]
    if (list !== undefined) {
      // FastResponse headers: every line as it was appended (repeated names stay separate).
      for (let i = 0; i < list.length; i += 2) addHeader(flat, info, h2, list[i], list[i + 1])
      return flat
    }
    // Headers iteration yields each Set-Cookie separately; other names arrive combined (Fetch spec).
    for (const [name, value] of headersLike) addHeader(flat, info, h2, name, value)
  } else if (Array.isArray(headersLike)) {
    for (const [name, value] of headersLike) addHeader(flat, info, h2, String(name).toLowerCase(), String(value))
  } else {
    for (const name of Object.keys(headersLike)) {
      const value = headersLike[name]
      if (Array.isArray(value)) for (const item of value) addHeader(flat, info, h2, name.toLowerCase(), String(item))
      else addHeader(flat, info, h2, name.toLowerCase(), String(value))
    }
  }
  return flat
}

function addHeader(flat, info, h2, name, value) {
  if (h2 && H2_FORBIDDEN_HEADERS.has(name)) return
  if (name === 'content-type') info.contentType = value
  else if (name === 'content-length') info.hasContentLength = true
  else if (name === 'cache-control') info.cacheControlIndex = flat.length + 1
  flat.push(name, value)
}

function isEventStream(contentType) {
  return contentType !== undefined && contentType.toLowerCase().startsWith('text/event-stream')
}

/** Proxies and compression middlewares must not buffer or transform an event stream. */
function ensureNoTransform(flat, info) {
  if (info.cacheControlIndex === undefined) flat.push('cache-control', 'no-transform')
  else if (!/no-transform/i.test(flat[info.cacheControlIndex])) flat[info.cacheControlIndex] += ', no-transform'
}

function writeHead(res, status, statusText, flat, h2) {
  if (statusText && !h2) res.writeHead(status, statusText, flat)
  else res.writeHead(status, flat)
}

function noBodyStatus(status) {
  return status === 204 || status === 205 || status === 304
}

/** Sends a body that is fully known (or absent) in one writeHead + end. */
function sendWhole(ctx, status, statusText, flat, info, body) {
  const res = ctx.res
  if (body !== null && !info.hasContentLength && !noBodyStatus(status)) {
    flat.push('content-length', String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength))
  }
  writeHead(res, status, statusText, flat, ctx.h2)
  if (body === null || ctx.isHead || noBodyStatus(status)) res.end()
  else res.end(typeof body === 'string' ? body : toBuffer(body))
}

function bodyTypeIsWhole(b) {
  return b === null || b === undefined || typeof b === 'string' || b instanceof Uint8Array || b instanceof ArrayBuffer
}

function wholeBody(b) {
  if (b === undefined || b === null) return null
  if (b instanceof ArrayBuffer) return new Uint8Array(b)
  return b
}

function sendResponse(ctx, response) {
  const res = ctx.res
  if (res.destroyed || res.writableEnded) {
    cancelResponseBody(response)
    return RESOLVED
  }
  const h2 = ctx.h2
  const info = { contentType: undefined, hasContentLength: false, cacheControlIndex: undefined }

  if (response instanceof FastResponse && !response._native && response[kNativeBody] === undefined) {
    const status = response._init?.status ?? 200
    const statusText = response._init?.statusText
    const body = response._body
    if (bodyTypeIsWhole(body)) {
      const flat = collectHeaders(response._headers ?? response._init?.headers, info, h2)
      if (info.contentType === undefined && response._defaultType !== undefined) {
        flat.push('content-type', response._defaultType)
      }
      sendWhole(ctx, status, statusText, flat, info, wholeBody(body))
      return RESOLVED
    }
    if (body instanceof ReadableStream && !body.locked) {
      // A stream body is pumped as is: no undici Response needed either.
      const flat = collectHeaders(response._headers ?? response._init?.headers, info, h2)
      const sse = isEventStream(info.contentType)
      if (sse) ensureNoTransform(flat, info)
      if (ctx.isHead || noBodyStatus(status)) {
        body.cancel().catch(noop)
        writeHead(res, status, statusText, flat, h2)
        res.end()
        return RESOLVED
      }
      writeHead(res, status, statusText, flat, h2)
      return pumpWebStream(ctx, body, sse)
    }
    response = materializeResponse(response)
  }

  if (typeof response?.status !== 'number' || !(response.headers instanceof Headers)) {
    throw new TypeError('The handler did not return a Response')
  }
  const status = response.status
  const statusText = response.statusText
  const flat = collectHeaders(response.headers, info, h2)
  const sse = isEventStream(info.contentType)
  if (sse) ensureNoTransform(flat, info)

  const nativeSource = response[kNativeBody]
  if (nativeSource && !response.bodyUsed) {
    if (ctx.isHead || noBodyStatus(status)) {
      safeCancelSource(nativeSource)
      sendWhole(ctx, status, statusText, flat, info, null)
      return RESOLVED
    }
    writeHead(res, status, statusText, flat, h2)
    return pumpNativeBody(ctx, nativeSource, sse)
  }

  const stream = response.body
  if (stream === null) {
    sendWhole(ctx, status, statusText, flat, info, null)
    return RESOLVED
  }
  // undici (Node 22) keeps the init body as `source`: a string / bytes body can go out without its
  // stream. Where its state is private (Node 24), the body is peeked instead (see peekBody).
  const source = kResponseState && !response.bodyUsed && !stream.locked ? response[kResponseState]?.body?.source : undefined
  const sourceIsWhole = typeof source === 'string' || source instanceof Uint8Array
  if (ctx.isHead || noBodyStatus(status)) {
    if (!sourceIsWhole && !info.hasContentLength && !noBodyStatus(status) && !sse && !stream.locked) {
      return sendHeadAfterPeek(ctx, stream, { status, statusText, flat, info })
    }
    if (sourceIsWhole && !info.hasContentLength && !noBodyStatus(status)) {
      flat.push('content-length', String(typeof source === 'string' ? Buffer.byteLength(source) : source.byteLength))
    }
    if (!stream.locked) stream.cancel().catch(noop)
    writeHead(res, status, statusText, flat, h2)
    res.end()
    return RESOLVED
  }
  if (sourceIsWhole) {
    sendWhole(ctx, status, statusText, flat, info, source)
    return RESOLVED
  }
  if (sse) {
    // An event stream is never held back by a peek: its headers go out at once.
    writeHead(res, status, statusText, flat, h2)
    return pumpWebStream(ctx, stream, true)
  }
  return pumpWebStream(ctx, stream, false, { status, statusText, flat, info })
}

function cancelResponseBody(response) {
  try {
    const source = response?.[kNativeBody]
    if (source) safeCancelSource(source)
    else if (response?.body && !response.body.locked) response.body.cancel().catch(noop)
  } catch {}
}

function safeCancelSource(source, reason) {
  try {
    source.cancel(reason)
  } catch {}
}

function waitDrainOrClose(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

/** A batch is written at once when it reaches this size (also bounds what a batch holds). */
const BATCH_MAX_BYTES = 64 * 1024

/**
 * Coalesces the chunks a body produces within one tick into ONE `res.write`: in chunked encoding
 * every res.write costs a size line, two CRLFs and four socket writes, which dwarfs the cost of
 * reading a chunk (50 small SSE events: 50 HTTP chunks → 1). The batch goes out on
 * process.nextTick, i.e. after the microtasks that produced it, so nothing waits for a later
 * event-loop turn; a batch reaching BATCH_MAX_BYTES goes out at once. Backpressure: once a write
 * returned false, `needDrain` stays true (and write() returns false) until 'drain' or 'close'.
 */
class CoalescingWriter {
  constructor(res, flushCompression) {
    this.res = res
    this.flushCompression = flushCompression
    this.chunks = []
    this.bytes = 0
    this.scheduled = false
    this.needDrain = false
    this.drained = RESOLVED
    this.headersPending = false
    this.wrote = false
    this.flushScheduled = () => {
      this.scheduled = false
      if (this.chunks.length > 0) this.flush()
      // (res.headersSent is true as soon as writeHead ran; `wrote` tells whether they went out.)
      else if (this.headersPending && !this.wrote && !res.destroyed && !res.writableEnded) res.flushHeaders?.()
      this.headersPending = false
    }
  }
  /**
   * The headers must reach the client before the first chunk, however long that takes (an SSE
   * stream waiting for a model). They go out on the same tick as the first batch: together with
   * it when the body already has bytes (one syscall instead of two), alone otherwise.
   */
  flushHeadersSoon() {
    this.headersPending = true
    if (!this.scheduled) {
      this.scheduled = true
      process.nextTick(this.flushScheduled)
    }
  }
  /** Queues a chunk; false = the socket asked to wait for `this.drained`. */
  write(chunk) {
    this.chunks.push(chunk)
    this.bytes += chunk.byteLength
    if (this.bytes >= BATCH_MAX_BYTES) return this.flush()
    if (!this.scheduled) {
      this.scheduled = true
      process.nextTick(this.flushScheduled)
    }
    return !this.needDrain
  }
  /** Writes the pending batch now; returns false when res wants a 'drain' first. */
  flush() {
    if (this.chunks.length === 0) return !this.needDrain
    const data = this.take()
    const res = this.res
    if (res.destroyed || res.writableEnded) return false
    this.wrote = true
    const ok = res.write(data)
    if (this.flushCompression) res.flush()
    if (!ok && !this.needDrain) {
      this.needDrain = true
      this.drained = waitDrainOrClose(res).then(() => {
        this.needDrain = false
      })
    }
    return ok
  }
  /** Ends the response with whatever is pending (one write for the last batch and the end). */
  end() {
    const res = this.res
    if (res.destroyed || res.writableEnded) return
    if (this.chunks.length === 0) return void res.end()
    const data = this.take()
    if (this.flushCompression) {
      res.write(data)
      res.flush()
      res.end()
    } else res.end(data)
  }
  /** The pending batch as one chunk (emptied). */
  take() {
    const data = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.bytes)
    this.chunks = []
    this.bytes = 0
    return data
  }
  /** Drops what is pending (the client is gone). */
  discard() {
    this.chunks = []
    this.bytes = 0
  }
}

/** The peek reads at most this many bytes / chunks of what a body has ready before streaming it. */
const PEEK_MAX_BYTES = 64 * 1024
const PEEK_MAX_READS = 64
const NOT_READY = Symbol('not ready')

/**
 * `promise`'s result if it settles before the microtask queue drains, else NOT_READY. Must be
 * called from a microtask (after an await): a nextTick queued there runs only once the queue is empty.
 */
function readyOrNot(promise) {
  return new Promise((resolve, reject) => {
    let settled = false
    promise.then(
      (v) => {
        settled = true
        resolve(v)
      },
      (e) => {
        settled = true
        reject(e)
      },
    )
    process.nextTick(() => {
      if (!settled) resolve(NOT_READY)
    })
  })
}

/**
 * Reads what the body has ready without waiting for I/O (bounded by PEEK_MAX_BYTES / _READS).
 * `first` is the first read's result when the caller awaited it already (else it is read like the
 * rest). Resolves with { done, chunks, bytes, next }: done = the body ended within the peek; next =
 * a read still pending, to be awaited before any further read.
 */
async function peekBody(reader, first) {
  const peeked = { done: false, chunks: [], bytes: 0, next: undefined, failed: false, error: undefined }
  let result = first
  try {
    for (let reads = 0; ; reads++) {
      if (result === undefined) {
        const next = reader.read()
        result = await readyOrNot(next)
        if (result === NOT_READY) {
          peeked.next = next
          return peeked
        }
      }
      if (result.done) {
        peeked.done = true
        return peeked
      }
      const value = result.value
      if (!(value instanceof Uint8Array)) throw new TypeError('Response body chunks must be Uint8Array')
      if (value.byteLength > 0) {
        peeked.chunks.push(value)
        peeked.bytes += value.byteLength
      }
      // Past the bounds a body still gets the chance to end on its next read (one big chunk).
      if (peeked.bytes > PEEK_MAX_BYTES || reads >= PEEK_MAX_READS) {
        const next = reader.read()
        result = await readyOrNot(next)
        if (result === NOT_READY) peeked.next = next
        else if (result.done) peeked.done = true
        else peeked.next = Promise.resolve(result)
        return peeked
      }
      result = undefined
    }
  } catch (err) {
    // What was read before the failure still goes out (the caller reports the error).
    peeked.failed = true
    peeked.error = err
    return peeked
  }
}

function concatChunks(chunks, bytes) {
  if (chunks.length === 0) return EMPTY
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes)
}

/**
 * HEAD (or a HEAD-like answer) whose body is a stream of unknown source: whatever the body has
 * ready gives its Content-Length (as a GET would get), then the body is cancelled.
 */
async function sendHeadAfterPeek(ctx, stream, head) {
  let reader
  try {
    reader = stream.getReader()
  } catch {
    stream.cancel().catch(noop)
  }
  if (reader !== undefined) {
    try {
      await RESOLVED // readyOrNot needs a microtask
      const peeked = await peekBody(reader, undefined)
      if (peeked.done) head.flat.push('content-length', String(peeked.bytes))
    } catch {}
    reader.cancel().catch(noop)
  }
  const res = ctx.res
  if (res.destroyed || res.writableEnded) return
  writeHead(res, head.status, head.statusText, head.flat, ctx.h2)
  res.end()
}

/**
 * Web ReadableStream → res with backpressure; a stream error after the headers destroys the socket.
 * With `head` ({ status, statusText, flat, info }: the headers are not written yet) the body is
 * peeked first: if it ends within what it has ready, it goes out in one writeHead + end with a
 * Content-Length; otherwise the headers and the peeked chunks go out and the pump goes on.
 */
async function pumpWebStream(ctx, stream, sse, head) {
  const res = ctx.res
  let reader
  try {
    reader = stream.getReader()
  } catch (err) {
    if (head !== undefined) writeHead(res, head.status, head.statusText, head.flat, ctx.h2)
    failAfterHeaders(ctx, err)
    return
  }
  ctx.cancelBody = (reason) => reader.cancel(reason).catch(noop)
  watchClientGone(ctx)
  if (ctx.gone) return
  const writer = new CoalescingWriter(res, sse && typeof res.flush === 'function')
  if (sse) writer.flushHeadersSoon()
  let pending // a read the peek started
  try {
    if (head !== undefined) {
      const peeked = await peekBody(reader, await reader.read())
      if (ctx.gone) return
      if (peeked.done) {
        ctx.cancelBody = undefined
        if (res.destroyed || res.writableEnded) return
        sendWhole(ctx, head.status, head.statusText, head.flat, head.info, concatChunks(peeked.chunks, peeked.bytes))
        return
      }
      writeHead(res, head.status, head.statusText, head.flat, ctx.h2)
      head = undefined
      for (const chunk of peeked.chunks) writer.write(chunk)
      if (peeked.failed) throw peeked.error
      pending = peeked.next
      if (writer.needDrain) {
        await writer.drained
        if (ctx.gone || res.destroyed) {
          ctx.cancelBody = undefined
          reader.cancel().catch(noop)
          writer.discard()
          return
        }
      }
    }
    for (;;) {
      const { done, value } = await (pending ?? reader.read())
      pending = undefined
      if (done || ctx.gone) break
      if (!(value instanceof Uint8Array)) throw new TypeError('Response body chunks must be Uint8Array')
      if (value.byteLength === 0) continue
      if (!writer.write(value)) {
        await writer.drained
        if (ctx.gone || res.destroyed) break
      }
    }
  } catch (err) {
    ctx.cancelBody = undefined
    if (!ctx.gone) {
      // A peek that failed: the status goes out, then the connection breaks like after the headers.
      if (head !== undefined && !res.headersSent) writeHead(res, head.status, head.statusText, head.flat, ctx.h2)
      writer.flush() // what the body produced before failing still goes out
      failAfterHeaders(ctx, err)
    }
    reader.cancel(err).catch(noop)
    return
  }
  ctx.cancelBody = undefined
  if (!ctx.gone && !res.destroyed) writer.end()
  else writer.discard()
}

/**
 * Pumps a NativeBodySource into res: chunks arrive through sink.write (false = pause until
 * resume(), which we call once res drained); chunks written in the same tick leave as one batch
 * (see CoalescingWriter); end/error finish the response; a client that goes away cancels the
 * source. Never touches response.body.
 */
function pumpNativeBody(ctx, source, sse = false) {
  const res = ctx.res
  const writer = new CoalescingWriter(res, sse && typeof res.flush === 'function')
  return new Promise((resolve) => {
    let done = false
    let resumePending = false
    const finish = () => {
      if (done) return
      done = true
      ctx.cancelBody = undefined
      resolve()
    }
    const onDrain = () => {
      resumePending = false
      if (done || ctx.gone) return
      try {
        source.resume()
      } catch (err) {
        sink.error(err)
      }
    }
    const sink = {
      write(chunk) {
        if (done || ctx.gone) return false
        const ok = chunk.byteLength === 0 ? !writer.needDrain : writer.write(chunk)
        if (!ok && !resumePending) {
          resumePending = true
          writer.drained.then(onDrain)
        }
        return ok
      },
      end() {
        if (done) return
        if (!ctx.gone && !res.destroyed) writer.end()
        finish()
      },
      error(err) {
        if (done) return
        if (!ctx.gone) {
          writer.flush()
          failAfterHeaders(ctx, err)
        }
        finish()
      },
    }
    ctx.cancelBody = (reason) => {
      writer.discard()
      safeCancelSource(source, reason)
      finish()
    }
    watchClientGone(ctx)
    if (ctx.gone) return
    writer.flushHeadersSoon()
    try {
      source.start(sink)
    } catch (err) {
      sink.error(err)
    }
  })
}

/**
 * The body failed after the status line went out: report it and break the connection, so the
 * client sees a truncated response instead of a clean end. What was already written goes out
 * first (Node corks the socket until the next tick).
 */
function failAfterHeaders(ctx, err) {
  report(ctx, err)
  ctx.gone = true
  const res = ctx.res
  setImmediate(() => res.destroy())
}

function report(ctx, err) {
  const onError = ctx.options.onError
  if (onError) {
    try {
      const r = onError(err, ctx.request)
      if (r && typeof r.then === 'function') r.then(noop, (e) => console.error('[chat-headstart] onError threw:', e))
    } catch (e) {
      console.error('[chat-headstart] onError threw:', e)
    }
  } else {
    console.error('[chat-headstart] toNodeListener:', err)
  }
}

// ---------------------------------------------------------------------------------------------
// After the response: discard what the handler left unread (bounded), so keep-alive goes on.

function discardUnreadBody(ctx) {
  const req = ctx.req
  ctx.detachBody?.()
  if (req.readableEnded || req.destroyed) return
  if (req.complete) {
    // Everything has arrived already: release it.
    req.resume()
    return
  }
  const { drainMaxBytes, drainTimeoutMs } = ctx.options
  let bytes = 0
  const onData = (chunk) => {
    bytes += chunk.length
    if (bytes > drainMaxBytes) giveUp()
  }
  const cleanup = () => {
    clearTimeout(timer)
    req.off('data', onData)
    req.off('end', cleanup)
    req.off('close', cleanup)
  }
  const giveUp = () => {
    cleanup()
    const socket = req.socket
    if (!ctx.h2 && socket && typeof socket.destroySoon === 'function') socket.destroySoon()
    else req.destroy()
  }
  const timer = setTimeout(giveUp, drainTimeoutMs)
  timer.unref?.()
  req.on('data', onData)
  req.on('end', cleanup)
  req.on('close', cleanup)
  req.resume()
}

// ---------------------------------------------------------------------------------------------
// The listener

function sendGeneric(res, status, body) {
  if (res.headersSent || res.destroyed || res.writableEnded) return
  res.writeHead(status, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body))])
  res.end(body)
}

/**
 * Adapts a Web Fetch handler to a Node request listener (node:http, node:http2 compat, Express,
 * Fastify via `reply.hijack()`, Koa via `ctx.respond = false`). See index.d.ts for the options.
 */
export function toNodeListener(handler, options = {}) {
  if (typeof handler !== 'function') throw new TypeError('toNodeListener(handler): handler must be a function')
  const opts = {
    onError: options.onError,
    trustProxy: options.trustProxy === true,
    passErrorsToNext: options.passErrorsToNext === true,
    drainTimeoutMs: options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
    drainMaxBytes: options.drainMaxBytes ?? DEFAULT_DRAIN_MAX_BYTES,
  }
  if (opts.onError !== undefined && typeof opts.onError !== 'function') {
    throw new TypeError('toNodeListener: options.onError must be a function')
  }

  // Returns undefined when the response went out synchronously: a promise returned from a `then`
  // callback would be adopted through two more microtasks on every request.
  const finish = (ctx, pending) => {
    if (pending === RESOLVED) {
      discardUnreadBody(ctx)
      return undefined
    }
    return pending.then(() => discardUnreadBody(ctx))
  }

  const respond = (ctx, response) => {
    let pending
    try {
      pending = sendResponse(ctx, response)
    } catch (err) {
      return fail(ctx, err)
    }
    return finish(ctx, pending)
  }

  const fail = async (ctx, err) => {
    const res = ctx.res
    if (res.headersSent) {
      failAfterHeaders(ctx, err)
      return
    }
    if (opts.onError) {
      let replacement
      try {
        replacement = await opts.onError(err, ctx.request)
      } catch (e) {
        console.error('[chat-headstart] onError threw:', e)
      }
      if (replacement instanceof Response && !res.headersSent) {
        try {
          await finish(ctx, sendResponse(ctx, replacement))
          return
        } catch (e) {
          console.error('[chat-headstart] the Response returned by onError could not be sent:', e)
        }
      }
    } else if (ctx.next && opts.passErrorsToNext) {
      // Express: its error-handling middleware decides (note: Express's default one shows the
      // stack outside NODE_ENV=production, hence opt-in).
      ctx.detachBody?.()
      ctx.next(err)
      return
    } else {
      console.error('[chat-headstart] toNodeListener: the handler failed:', err)
    }
    sendGeneric(res, 500, GENERIC_500)
    discardUnreadBody(ctx)
  }

  return function nodeListener(req, res, next) {
    let originalUrl
    if (typeof res !== 'object' || res === null) {
      // Called as Koa middleware `(ctx, next)` (or `listener(ctx)`): unwrap the context.
      const koa = fromKoaContext(req)
      req = koa.req
      res = koa.res
      originalUrl = koa.originalUrl
      next = undefined
    }
    const ctx = {
      req,
      res,
      next: typeof next === 'function' ? next : undefined,
      options: opts,
      h2: req.httpVersionMajor === 2,
      isHead: req.method === 'HEAD',
      request: undefined,
      controller: undefined,
      watching: false,
      gone: false,
      cancelBody: undefined,
      detachBody: undefined,
    }
    let url
    try {
      url = buildUrl(req, opts.trustProxy, originalUrl)
    } catch (err) {
      if (err instanceof BadRequestError) {
        sendGeneric(res, 400, JSON.stringify({ error: err.message }))
        discardUnreadBody(ctx)
        return RESOLVED
      }
      return fail(ctx, err)
    }
    // Where undici keeps a Request's state in private fields (Node 24), no stand-in can pass
    // through `new Request(req, init)` / `fetch(req)`: the handler gets a genuine Request.
    const lazy = new NodeRequest(req, ctx, url)
    let request = lazy
    ctx.request = lazy
    let result
    try {
      if (!LAZY_REQUEST_WORKS) ctx.request = request = new NodeBackedRequest(lazy)
      result = handler(request)
    } catch (err) {
      return fail(ctx, err)
    }
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
      return result.then(
        (response) => respond(ctx, response),
        (err) => fail(ctx, err),
      )
    }
    return respond(ctx, result) ?? RESOLVED
  }
}

/**
 * A Koa context handed to the listener directly: Koa must not answer for us (`ctx.respond = false`),
 * the URL is the one before koa-mount rewrote `req.url`, and a body parser's result (koa-bodyparser's
 * `ctx.request.rawBody` / `ctx.request.body`) is used when it consumed the stream.
 */
function fromKoaContext(koa) {
  const req = koa?.req
  const res = koa?.res
  if (typeof req?.on !== 'function' || typeof res?.writeHead !== 'function') {
    throw new TypeError('toNodeListener: call the listener with (req, res[, next]) or with a Koa context')
  }
  koa.respond = false
  if (streamAlreadyConsumed(req) && req.rawBody === undefined && req.body === undefined) {
    const request = koa.request
    if (typeof request?.rawBody === 'string' || request?.rawBody instanceof Uint8Array) req.rawBody = request.rawBody
    else if (request?.body !== undefined) req.body = request.body
  }
  return { req, res, originalUrl: typeof koa.originalUrl === 'string' ? koa.originalUrl : undefined }
}

// Self-check: on runtimes whose Request keeps its state in private fields (not symbol keys), a lazy
// request cannot stand in for a real one inside undici, so every request is a NodeBackedRequest.
const LAZY_REQUEST_WORKS = (() => {
  try {
    const fake = {
      method: 'POST',
      url: '/probe',
      headers: { host: 'probe.invalid' },
      rawHeaders: ['Host', 'probe.invalid', 'X-Probe', '1'],
      socket: {},
      readableEnded: false,
      readableDidRead: false,
      on() {},
      off() {},
      once() {},
      pause() {},
      resume() {},
    }
    const lazy = new NodeRequest(fake, { res: { once() {}, destroyed: false }, options: {} }, 'http://probe.invalid/probe')
    const copy = new Request(lazy, { method: 'PUT', body: 'x' })
    return copy.url === 'http://probe.invalid/probe' && copy.headers.get('x-probe') === '1' && copy.method === 'PUT'
  } catch {
    return false
  }
})()

/** Whether this runtime serves requests lazily (false: every request is a genuine Request subclass). */
export const lazyRequestSupported = LAZY_REQUEST_WORKS
