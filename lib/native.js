// The generated napi-rs loader is private: everything public goes through index.js.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/** @type {import('../binding.d.ts')} */
export const native = require('../binding.cjs')

// The log switch, read once when the package loads: CHAT_HEADSTART_LOG (tracing-subscriber's
// EnvFilter syntax) installs a subscriber writing the Rust spans and events to stderr, as text or
// (CHAT_HEADSTART_LOG_FORMAT=json) one JSON object per line; see crates/core/src/logging.rs.
// Unset, no subscriber exists and the Rust side's tracing costs nothing measurable.
const logFilter = process.env.CHAT_HEADSTART_LOG
if (logFilter) {
  try {
    native.initLogging(logFilter, process.env.CHAT_HEADSTART_LOG_FORMAT || null)
  } catch (err) {
    console.warn(`[chat-headstart] logging stays off: ${err?.message ?? err}`)
  }
}
