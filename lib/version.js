import { native } from './native.js'

/** Version of the native core, e.g. "0.1.0". */
export function nativeVersion() {
  return native.nativeVersion()
}
