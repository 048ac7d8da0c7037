// Response → ServerResponse: picks the cheapest way to send what the handler returned.
import { Buffer } from 'node:buffer'
import { isDisturbed } from 'node:stream'
import { FastResponse, kHeaderLines, materializeResponse } from './fast-response.js'
import { isUntouchedLight } from './light-response.js'
import { kNativeBody, safeCancelSource } from './native-body.js'
import { pumpNativeBody, pumpWebStream, sendHeadAfterPeek } from './pump.js'
import { kResponseState, plainResponseHeaders, plainResponseState, sortedHeaderEntries } from './undici.js'
import { RESOLVED, noop } from './util.js'
import { noBodyStatus, sendWhole, writeHead } from './write.js'

// Headers HTTP/2 forbids (RFC 9113 §8.2.2); node:http2 throws on them.
const H2_FORBIDDEN_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'])

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
    const entries = sortedHeaderEntries(headersLike)
    if (entries !== undefined) {
      for (let i = 0; i < entries.length; i++) addHeader(flat, info, h2, entries[i][0], entries[i][1])
    } else {
      for (const [name, value] of headersLike) addHeader(flat, info, h2, name, value)
    }
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

function bodyTypeIsWhole(b) {
  return b === null || b === undefined || typeof b === 'string' || b instanceof Uint8Array || b instanceof ArrayBuffer
}

function wholeBody(b) {
  if (b === undefined || b === null) return null
  if (b instanceof ArrayBuffer) return new Uint8Array(b)
  return b
}

/**
 * A global Response built from a string / bytes (or no body) on Node 22: sent from the state undici
 * keeps (see plainResponseState), as the general path below would send it, minus the getters' brand
 * checks. False (nothing sent) for anything else: HEAD, no-body statuses, a native body, a body
 * stream already touched, or where that state is private.
 */
function sendPlainWhole(ctx, response, info) {
  if (ctx.isHead) return false
  const state = plainResponseState(response)
  if (state === undefined || noBodyStatus(state.status) || response[kNativeBody] !== undefined) return false
  const body = state.body
  let whole = null
  if (body !== null && body !== undefined) {
    const source = body.source
    if ((typeof source !== 'string' && !(source instanceof Uint8Array)) || body.stream.locked || isDisturbed(body.stream)) return false
    whole = source
  }
  const flat = collectHeaders(plainResponseHeaders(response), info, ctx.h2)
  if (isEventStream(info.contentType)) ensureNoTransform(flat, info)
  sendWhole(ctx, state.status, state.statusText, flat, info, whole)
  return true
}

export function sendResponse(ctx, response) {
  const res = ctx.res
  if (res.destroyed || res.writableEnded) {
    cancelResponseBody(response)
    return RESOLVED
  }
  const h2 = ctx.h2
  const info = { contentType: undefined, hasContentLength: false, cacheControlIndex: undefined }

  if (isUntouchedLight(response)) return sendLight(ctx, response, info)
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
  } else if (sendPlainWhole(ctx, response, info)) {
    return RESOLVED
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
  if (nativeSource && !response.bodyUsed) return sendNativeBody(ctx, status, statusText, flat, info, nativeSource)
  const stream = response.body
  if (stream === null) {
    sendWhole(ctx, status, statusText, flat, info, null)
    return RESOLVED
  }
  // undici (Node 22) keeps the init body as `source`: a string / bytes body can go out without its
  // stream. Where its state is private (Node 24), the body is peeked instead (see peekBody).
  const source = kResponseState && !response.bodyUsed && !stream.locked ? response[kResponseState]?.body?.source : undefined
  return sendStream(ctx, status, statusText, flat, info, sse, stream, typeof source === 'string' || source instanceof Uint8Array ? source : undefined)
}

/**
 * A LightResponse (the global Response while toNodeListener serves) nothing has touched: its kept
 * status, header lines and body go out as undici's Response would send them, without building it.
 */
function sendLight(ctx, light, info) {
  const flat = []
  const lines = light._lines
  for (let i = 0; i < lines.length; i += 2) addHeader(flat, info, ctx.h2, lines[i], lines[i + 1])
  const sse = isEventStream(info.contentType)
  if (sse) ensureNoTransform(flat, info)
  const status = light._status
  const statusText = light._statusText
  const nativeSource = light[kNativeBody]
  if (nativeSource) return sendNativeBody(ctx, status, statusText, flat, info, nativeSource)
  const body = light._body
  if (body instanceof ReadableStream) return sendStream(ctx, status, statusText, flat, info, sse, body, undefined)
  sendWhole(ctx, status, statusText, flat, info, body)
  return RESOLVED
}

/** A body the Rust core produces (lib/chat.js): pumped straight into the socket. */
function sendNativeBody(ctx, status, statusText, flat, info, nativeSource) {
  if (ctx.isHead || noBodyStatus(status)) {
    safeCancelSource(nativeSource)
    sendWhole(ctx, status, statusText, flat, info, null)
    return RESOLVED
  }
  writeHead(ctx.res, status, statusText, flat, ctx.h2)
  return pumpNativeBody(ctx, nativeSource, isEventStream(info.contentType))
}

/** A body stream (`source`: the string / bytes it was built from, when known). */
function sendStream(ctx, status, statusText, flat, info, sse, stream, source) {
  const res = ctx.res
  const h2 = ctx.h2
  const sourceIsWhole = source !== undefined
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
