// LightResponse: the global `Response` while toNodeListener serves (see globals.js). Building an
// undici Response costs several µs per request (a ReadableStream, a Headers, their garbage), most
// of a small JSON request's budget; a handler that answers `new Response(text, init)` only needs
// its status, headers and text sent. So the common constructions are kept as plain fields the
// listener writes directly (send.js), and the real Response is built the moment anything else is
// used — body, headers, clone(), text(), bodyUsed, undici's internal symbols — so user code sees
// the behaviour of undici's class. Whatever the fields cannot represent exactly (other body types,
// a Headers or Map init, a value undici would normalise or reject) is built by undici at once.
import { isDisturbed } from 'node:stream'
import { NativeResponse, RESPONSE_INTERNAL_SYMBOLS, defineDelegates, kOriginalResponse } from './undici.js'

const TEXT_TYPE = 'text/plain;charset=UTF-8'
const JSON_TYPE = 'application/json'
// A header name undici accepts as is (RFC 9110 token).
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// A header value undici keeps unchanged: Latin-1 without CR / LF / NUL and nothing to trim.
const HEADER_VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/
// A reason phrase undici accepts (RFC 9112 reason-phrase).
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/

/** Thrown inside the constructor when the init is one only undici can take (never escapes). */
const NOT_LIGHT = Symbol('not light')

function isPlainObject(value) {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function pushLine(lines, name, value) {
  if (typeof name !== 'string' || typeof value !== 'string' || !HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) {
    throw NOT_LIGHT
  }
  const lower = name.toLowerCase()
  // undici combines a repeated name into one line (Set-Cookie apart): left to undici.
  if (lower !== 'set-cookie' && hasLine(lines, lower)) throw NOT_LIGHT
  lines.push(lower, value)
}

/** init.headers as [lower-case name, value, …], copied now as undici copies them; throws NOT_LIGHT. */
function headerLines(init) {
  const lines = []
  if (init === undefined || init === null) return lines
  if (Array.isArray(init)) {
    for (const pair of init) {
      if (!Array.isArray(pair) || pair.length !== 2) throw NOT_LIGHT
      pushLine(lines, pair[0], pair[1])
    }
  } else if (typeof init === 'object' && isPlainObject(init)) {
    for (const name of Object.keys(init)) pushLine(lines, name, init[name])
  } else {
    throw NOT_LIGHT
  }
  return lines
}

function hasLine(lines, lower) {
  for (let i = 0; i < lines.length; i += 2) if (lines[i] === lower) return true
  return false
}

function nullBodyStatus(status) {
  return status === 101 || status === 103 || status === 204 || status === 205 || status === 304
}

/** The body as kept: a string, a private copy of the bytes (undici copies too), a stream, or null. */
function lightBody(body) {
  if (body === undefined || body === null) return null
  if (typeof body === 'string') return body
  if (body instanceof Uint8Array) return new Uint8Array(body)
  if (body instanceof ReadableStream && !body.locked && !isDisturbed(body)) return body
  throw NOT_LIGHT
}

export class LightResponse {
  constructor(body = null, init = undefined) {
    this._native = undefined
    try {
      if (init !== undefined && init !== null && typeof init !== 'object') throw NOT_LIGHT
      const status = init?.status === undefined ? 200 : init.status
      const statusText = init?.statusText === undefined ? '' : init.statusText
      if (!Number.isInteger(status) || status < 200 || status > 599) throw NOT_LIGHT
      if (typeof statusText !== 'string' || !REASON_PHRASE.test(statusText)) throw NOT_LIGHT
      const kept = lightBody(body)
      if (kept !== null && nullBodyStatus(status)) throw NOT_LIGHT
      const lines = headerLines(init?.headers)
      if (typeof kept === 'string' && !hasLine(lines, 'content-type')) lines.push('content-type', TEXT_TYPE)
      this._status = status
      this._statusText = statusText
      this._lines = lines
      this._body = kept
    } catch (err) {
      if (err !== NOT_LIGHT) throw err
      // undici validates, converts or rejects it exactly as `new Response` does.
      this._native = new NativeResponse(body, init)
    }
  }
  static json(data, init = undefined) {
    const text = JSON.stringify(data)
    const lines = text === undefined || (init !== undefined && init !== null && typeof init !== 'object') ? undefined : tryHeaderLines(init?.headers)
    // undici's own errors (a value JSON cannot represent, an init it rejects) and conversions.
    if (lines === undefined) return NativeResponse.json(data, init)
    if (!hasLine(lines, 'content-type')) lines.push('content-type', JSON_TYPE)
    return new LightResponse(text, { status: init?.status, statusText: init?.statusText, headers: pairs(lines) })
  }
  static error() {
    return NativeResponse.error()
  }
  static redirect(url, status) {
    return NativeResponse.redirect(url, status)
  }
  // `instanceof Response` holds for undici's Responses as well as for light ones (whose prototype
  // chain reaches undici's); a subclass keeps the ordinary check.
  static [Symbol.hasInstance](value) {
    if (this === LightResponse) return value instanceof NativeResponse
    return Function.prototype[Symbol.hasInstance].call(this, value)
  }
  get status() {
    return this._native ? this._native.status : this._status
  }
  get statusText() {
    return this._native ? this._native.statusText : this._statusText
  }
  get ok() {
    const s = this.status
    return s >= 200 && s <= 299
  }
  get type() {
    return this._native ? this._native.type : 'default'
  }
  get url() {
    return this._native ? this._native.url : ''
  }
  get redirected() {
    return this._native ? this._native.redirected : false
  }
}
Object.defineProperty(LightResponse, kOriginalResponse, { value: NativeResponse })
Object.defineProperty(LightResponse, 'name', { value: 'Response' })
Object.setPrototypeOf(LightResponse, NativeResponse)
Object.setPrototypeOf(LightResponse.prototype, NativeResponse.prototype)
Object.defineProperty(LightResponse.prototype, Symbol.toStringTag, { value: 'Response', configurable: true })

function tryHeaderLines(init) {
  try {
    return headerLines(init)
  } catch (err) {
    if (err !== NOT_LIGHT) throw err
    return undefined
  }
}

function pairs(lines) {
  const out = []
  for (let i = 0; i < lines.length; i += 2) out.push([lines[i], lines[i + 1]])
  return out
}

/** The undici Response a LightResponse stands for, built on first need. */
export function materializeLight(light) {
  if (light._native) return light._native
  light._native = new NativeResponse(light._body, { status: light._status, statusText: light._statusText, headers: pairs(light._lines) })
  return light._native
}
defineDelegates(LightResponse.prototype, NativeResponse.prototype, RESPONSE_INTERNAL_SYMBOLS, materializeLight)

/** A LightResponse of exactly this class (a subclass may override what send.js reads) not yet built. */
export function isUntouchedLight(response) {
  return response !== null && typeof response === 'object' && Object.getPrototypeOf(response) === LightResponse.prototype && response._native === undefined
}
