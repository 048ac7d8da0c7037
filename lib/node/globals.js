// The global objects toNodeListener may replace: `Response` becomes LightResponse while the
// listener serves (light-response.js), unless the caller opts out with overrideGlobalObjects: false.
import { LightResponse } from './light-response.js'
import { NativeResponse } from './undici.js'

/**
 * Installs LightResponse as `globalThis.Response` (`override` true) or puts undici's back (false).
 * A `Response` some other code installed is left alone: it is not ours to replace or restore.
 */
export function overrideGlobalResponse(override) {
  const current = globalThis.Response
  if (override && current === NativeResponse) globalThis.Response = LightResponse
  else if (!override && current === LightResponse) globalThis.Response = NativeResponse
}
