// Headers of the incoming request, answered from rawHeaders until something needs a real Headers.

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
export class NodeRequestHeaders {
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
