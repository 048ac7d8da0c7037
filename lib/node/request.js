// The Request a handler receives. Where undici keeps a Request's state in symbol keys (Node 22): a
// lazy Request (prototype chained to Request.prototype) that answers method / url / headers /
// signal / text() / json() / arrayBuffer() straight from the IncomingMessage and builds a genuine
// undici Request only when something spec-heavy is touched (clone, formData, cache, …, or
// `new Request(lazy, init)` / undici internals via their symbol keys). Where that state is private
// (Node 24): a genuine Request subclass (NodeBackedRequest) that still reads a body it is asked for
// whole from the IncomingMessage.
import { isDisturbed } from 'node:stream'
import { abortReason, watchClientGone } from './client-gone.js'
import {
  bodyConsumedError,
  bodyUnusableError,
  bufferToText,
  hasBodyMethod,
  incomingToWebStream,
  parseJsonBuffer,
  preParsedBody,
  readIncoming,
  readWebStream,
  streamAlreadyConsumed,
} from './request-body.js'
import { NodeRequestHeaders } from './request-headers.js'
import { REQUEST_INTERNAL_SYMBOLS, defineDelegates } from './undici.js'
import { EMPTY, noop } from './util.js'

/** The lazy Request over an IncomingMessage (see the top of this file). */
export class NodeRequest {
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
export class NodeBackedRequest extends Request {
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

// Self-check: on runtimes whose Request keeps its state in private fields (not symbol keys), a lazy
// request cannot stand in for a real one inside undici, so every request is a NodeBackedRequest.
export const LAZY_REQUEST_WORKS = (() => {
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
