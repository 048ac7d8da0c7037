// FastResponse: a Response whose string / bytes body and headers the listener reads directly.
import { NativeResponse, RESPONSE_INTERNAL_SYMBOLS, defineDelegates } from './undici.js'

const STATUS_MIN = 200
const STATUS_MAX = 599

/** Where a HeaderLines keeps its lines: [lower-case name, value, …]. */
export const kHeaderLines = Symbol('chat-headstart.headerLines')
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
    return NativeResponse.error()
  }
  static redirect(url, status) {
    return NativeResponse.redirect(url, status)
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
Object.setPrototypeOf(FastResponse.prototype, NativeResponse.prototype)
Object.defineProperty(FastResponse.prototype, Symbol.toStringTag, { value: 'Response' })

export function materializeResponse(fast) {
  if (fast._native) return fast._native
  const init = fast._init
  fast._native = new NativeResponse(fast._body, {
    status: init?.status,
    statusText: init?.statusText,
    headers: fast.headers,
  })
  return fast._native
}
defineDelegates(FastResponse.prototype, NativeResponse.prototype, RESPONSE_INTERNAL_SYMBOLS, materializeResponse)
