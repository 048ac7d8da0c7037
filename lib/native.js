// The private native addon (the generated napi-rs loader, binding.cjs, behind lib/native.cjs),
// loaded by Node's own `require` at run time, never by a bundler.
//
// Servers that bundle node_modules (Next.js with Turbopack or webpack) cannot put a `.node` addon
// into a chunk ("… (node addon) is not placeable in ESM chunks"). So lib/native.cjs is required
// through a `require` the bundler leaves to run time, and lib/bundlers.cjs tells each bundler's
// output tracing which files that needs (what `output: "standalone"` copies): no bundler
// configuration (Next's `serverExternalPackages`) is needed.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { webpackRequireNative } from './bundlers.cjs'

function loadNative() {
  // Inside a webpack / rspack bundle (`next build --webpack`): the emitted file's own require.
  const bundled = webpackRequireNative()
  if (bundled) return bundled
  // Plain Node, and Turbopack, whose `import.meta.url` is this file's path at run time (in
  // node_modules, or .next/standalone/node_modules). The path is computed, not a literal, so a
  // bundler that follows `createRequire` leaves the call to Node instead of bundling the addon.
  const url = import.meta.url
  const here = typeof url === 'string' && url.startsWith('file:') ? fileURLToPath(url) : ''
  if (here.endsWith('native.js')) {
    const loader = `${here.slice(0, -'native.js'.length)}native.cjs`
    try {
      return createRequire(here)(loader)
    } catch (err) {
      if (err?.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes(loader)) throw err
    }
  }
  throw new Error(
    `chat-headstart: cannot find its native loader (lib/native.cjs${here ? ` next to ${here}` : ''}): a bundler has ` +
      'moved chat-headstart into its output. Leave chat-headstart to Node instead: in Next.js add ' +
      '`serverExternalPackages: ["chat-headstart"]` to next.config, with other bundlers mark it as external.',
  )
}

/** @type {import('../binding.d.ts')} */
export const native = loadNative()

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
