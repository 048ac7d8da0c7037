// undici internals, discovered by probing (never by name imports): the symbol keys undici reads on
// a Request / Response it receives, and the state it keeps under them where that state is not
// private (Node 22; on Node 24 it is, and every reader here returns undefined there).
/** Where the lightweight global Response (light-response.js) keeps the class it stands in for. */
export const kOriginalResponse = Symbol.for('chat-headstart.originalResponse')
/** undici's Response, even when this module loads after toNodeListener replaced the global one. */
export const NativeResponse = globalThis.Response[kOriginalResponse] ?? globalThis.Response
export const REQUEST_INTERNAL_SYMBOLS = Object.getOwnPropertySymbols(new Request('http://probe.invalid/'))
export const RESPONSE_INTERNAL_SYMBOLS = Object.getOwnPropertySymbols(new NativeResponse(null))
export const kResponseState = RESPONSE_INTERNAL_SYMBOLS.find((s) => s.description === 'state')
const kResponseHeaders = RESPONSE_INTERNAL_SYMBOLS.find((s) => s.description === 'headers')
/** undici's own Response.prototype (whatever later replaces the global `Response`). */
const UNDICI_RESPONSE_PROTOTYPE = NativeResponse.prototype

/**
 * The state undici (Node 22) keeps under a symbol key for a Response of exactly its own class
 * ({ status, statusText, body: { stream, source } | null, … }), or undefined (Node 24,
 * where that state is private; subclasses, which may override the getters; anything else). Reading it
 * skips the public getters, each of which runs a brand check.
 */
export function plainResponseState(response) {
  if (kResponseState === undefined || kResponseHeaders === undefined) return undefined
  if (response === null || typeof response !== 'object' || Object.getPrototypeOf(response) !== UNDICI_RESPONSE_PROTOTYPE) return undefined
  const state = response[kResponseState]
  return state !== null && typeof state === 'object' ? state : undefined
}

/** The Headers of a Response whose plainResponseState() is defined. */
export function plainResponseHeaders(response) {
  return response[kResponseHeaders]
}

/**
 * The sorted, combined list a Headers iterator walks ([[name, value], …], each Set-Cookie on its own),
 * which undici (Node 22) keeps ready behind this getter; reading it skips the iterator objects. Absent
 * on Node 24 (there the iterator it is).
 */
const kHeadersSorted = Object.getOwnPropertySymbols(Headers.prototype).find((s) => s.description === 'headers map sorted')

/** `headers`' entries as iteration yields them, or undefined where only iteration can tell. */
export function sortedHeaderEntries(headers) {
  if (kHeadersSorted === undefined) return undefined
  try {
    const list = headers[kHeadersSorted]
    return Array.isArray(list) ? list : undefined
  } catch {
    // Not a genuine undici Headers (e.g. a request's lazy headers): no list to read.
    return undefined
  }
}

/**
 * Gives `proto` every member of `nativeProto` (and the internal `symbols`) as a delegate to the real
 * instance `materialize(this)` returns: our lazy objects answer undici's own reads by materialising
 * one, so `new Request(lazy, init)`, `fetch(lazy)` and friends work (remix-run/remix#11627).
 */
export function defineDelegates(proto, nativeProto, symbols, materialize) {
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
