// The writes onto a ServerResponse: the head, a whole body in one writeHead + end, and a failure
// after the head went out.
import { Buffer } from 'node:buffer'
import { noop, toBuffer } from './util.js'

export function writeHead(res, status, statusText, flat, h2) {
  if (statusText && !h2) res.writeHead(status, statusText, flat)
  else res.writeHead(status, flat)
}

export function noBodyStatus(status) {
  return status === 204 || status === 205 || status === 304
}

/** Sends a body that is fully known (or absent) in one writeHead + end. */
export function sendWhole(ctx, status, statusText, flat, info, body) {
  const res = ctx.res
  if (body !== null && !info.hasContentLength && !noBodyStatus(status)) {
    flat.push('content-length', String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength))
  }
  writeHead(res, status, statusText, flat, ctx.h2)
  if (body === null || ctx.isHead || noBodyStatus(status)) res.end()
  else res.end(typeof body === 'string' ? body : toBuffer(body))
}

/**
 * The body failed after the status line went out: report it and break the connection, so the
 * client sees a truncated response instead of a clean end. What was already written goes out
 * first (Node corks the socket until the next tick).
 */
export function failAfterHeaders(ctx, err) {
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
