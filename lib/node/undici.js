// undici internals, discovered by probing (never by name imports): the symbol keys undici reads on
// a Request / Response it receives. Our lazy objects answer them by materialising a real instance,
// so `new Request(lazy, init)`, `fetch(lazy)` and friends work (remix-run/remix#11627).
export const REQUEST_INTERNAL_SYMBOLS = Object.getOwnPropertySymbols(new Request('http://probe.invalid/'))
export const RESPONSE_INTERNAL_SYMBOLS = Object.getOwnPropertySymbols(new Response(null))
export const kResponseState = RESPONSE_INTERNAL_SYMBOLS.find((s) => s.description === 'state')

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
