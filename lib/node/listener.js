// toNodeListener: the Node request listener around a Web Fetch handler.
import { Buffer } from 'node:buffer'
import { overrideGlobalResponse } from './globals.js'
import { DEFAULT_DRAIN_MAX_BYTES, DEFAULT_DRAIN_TIMEOUT_MS, discardUnreadBody } from './drain.js'
import { LAZY_REQUEST_WORKS, NodeBackedRequest, NodeRequest } from './request.js'
import { streamAlreadyConsumed } from './request-body.js'
import { sendResponse } from './send.js'
import { BadRequestError, buildUrl } from './url.js'
import { RESOLVED } from './util.js'
import { failAfterHeaders } from './write.js'

const GENERIC_500 = '{"error":"Internal Server Error"}'

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
  const overrideGlobalObjects = options.overrideGlobalObjects ?? true
  if (typeof overrideGlobalObjects !== 'boolean') {
    throw new TypeError('toNodeListener: options.overrideGlobalObjects must be a boolean')
  }
  overrideGlobalResponse(overrideGlobalObjects)

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

/** Whether this runtime serves requests lazily (false: every request is a genuine Request subclass). */
export const lazyRequestSupported = LAZY_REQUEST_WORKS
