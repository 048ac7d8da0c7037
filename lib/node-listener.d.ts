import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'

/** Any Web Fetch handler. */
export type FetchHandler = (request: Request) => Response | Promise<Response>

export interface NodeListenerOptions {
  /**
   * Called with every error the listener catches: the handler threw / rejected, returned something
   * that is not a Response, or its body stream failed. Before the headers went out it may return a
   * Response to send instead of the generic `500 {"error":"Internal Server Error"}`; after the headers
   * the connection is destroyed whatever it returns. Without it errors go to `console.error`
   * (or to Express's `next(err)` with `passErrorsToNext`).
   * The error's message never reaches the client unless you put it in the returned Response.
   */
  onError?: (error: unknown, request: Request) => Response | void | Promise<Response | void>
  /**
   * Build the request URL from `X-Forwarded-Proto` / `X-Forwarded-Host` (first value) instead of the
   * socket's TLS state and `Host`. Only enable behind a proxy that overwrites these headers.
   * Default false.
   */
  trustProxy?: boolean
  /**
   * Express: hand errors that happen before the headers to `next(err)` (your error middleware)
   * instead of answering the generic 500. Off by default because Express's built-in error handler
   * prints the stack (with the message) unless NODE_ENV=production. Ignored when `onError` is set.
   */
  passErrorsToNext?: boolean
  /**
   * After the response, request-body bytes the handler did not read are discarded for at most this
   * long before the connection is closed (so keep-alive connections don't stall). Default 500 ms.
   */
  drainTimeoutMs?: number
  /** …and at most this many bytes. Default 16 MiB. */
  drainMaxBytes?: number
  /**
   * Replace `globalThis.Response` with a lightweight class while serving (default true; the
   * replacement happens when `toNodeListener` is called, never on import). It behaves as undici's
   * `Response` (`instanceof Response` holds both ways, subclassing works, the statics are undici's),
   * but `new Response(string | Uint8Array | ReadableStream | null, init)` and `Response.json()` keep
   * their status, headers and body as plain fields the listener writes directly; a real Response is
   * built the moment anything else is used (`body`, `headers`, `clone()`, `text()`, `bodyUsed`…).
   * Process-wide, like every global: the last `toNodeListener` call decides, and `false` puts
   * undici's `Response` back (a `Response` some other library installed is left alone).
   */
  overrideGlobalObjects?: boolean
}

/**
 * A Node request listener: `(req, res, next?) => Promise<void>`. Mount it on `node:http` /
 * `node:http2` (compat API) servers, as an Express route / middleware (the URL keeps the mount path:
 * `req.originalUrl`), in Fastify after `reply.hijack()` (`listener(request.raw, reply.raw)`), or in
 * Koa as middleware: `router.post('/api/chat', listener)` / `app.use(listener)` (it sets
 * `ctx.respond = false`, uses `ctx.originalUrl` so koa-mount prefixes are kept, and koa-bodyparser's
 * `ctx.request.rawBody`). The promise never rejects.
 */
export interface NodeListener {
  (
    req: IncomingMessage | Http2ServerRequest,
    res: ServerResponse | Http2ServerResponse,
    next?: (err?: unknown) => void,
  ): Promise<void>
  (ctx: KoaContextLike, next?: () => Promise<unknown>): Promise<void>
}

/** The parts of a Koa context the listener uses. */
export interface KoaContextLike {
  req: IncomingMessage
  res: ServerResponse
  originalUrl?: string
  respond?: boolean
  request?: { body?: unknown; rawBody?: unknown }
}

/**
 * Adapts a Web Fetch handler to Node. The handler receives a lazy `Request` (a real
 * `instanceof Request`; a genuine undici Request is built only when something beyond method / url /
 * headers / signal / text / json / arrayBuffer / bytes / blob / body is used). If an earlier body
 * parser consumed the request stream, what it left on `req.rawBody` (exact bytes) or `req.body`
 * (parsed value) is used as the body.
 */
export declare function toNodeListener(handler: FetchHandler, options?: NodeListenerOptions): NodeListener

/**
 * A `Response` (`instanceof Response`, every member works) that toNodeListener sends without building
 * an undici Response when its body is a string / Uint8Array / ArrayBuffer / null: cheaper small
 * responses. Use it like `Response`: `new FastResponse(body, init)`, `FastResponse.json(data, init)`.
 */
export declare const FastResponse: {
  // `Response`'s own parameter types: `BodyInit` is a DOM-lib name that @types/node does not declare.
  new (body?: ConstructorParameters<typeof Response>[0], init?: ResponseInit): Response
  prototype: Response
  json(data: unknown, init?: ResponseInit): Response
  error(): Response
  redirect(url: string | URL, status?: number): Response
}

/** What a native-body source hands chunks to. `write` returning false asks the source to pause. */
export interface NativeBodySink {
  write(chunk: Uint8Array): boolean
  end(): void
  error(err: Error): void
}

/**
 * A response body produced outside JS streams (the Rust core). Attach it to a Response as
 * `response[kNativeBody] = source`; toNodeListener then pumps it straight into the socket
 * (headers flushed first for SSE, `resume()` on 'drain', `cancel()` when the client goes away)
 * and never touches `response.body`.
 */
export interface NativeBodySource {
  /** Starts the flow. sink.write returns false to ask for a pause; the source calls nothing more until resume(). */
  start(sink: NativeBodySink): void
  resume(): void
  cancel(reason?: unknown): void
}

/** `Symbol.for('chat-headstart.nativeBody')`. */
export declare const kNativeBody: unique symbol
/**
 * False on runtimes where a lazy Request cannot stand in for undici's (Node 24: undici's private
 * `#state`); the handler then gets a genuine Request subclass, built per request.
 */
export declare const lazyRequestSupported: boolean
