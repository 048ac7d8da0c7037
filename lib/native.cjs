'use strict'
// The generated napi-rs loader (../binding.cjs, written by `napi build`, never edited here) behind
// one clear error. lib/native.js requires this file through Node's own `require`, in bundles too.
//
// On a platform with no binary, binding.cjs throws "Cannot find native binding" with a nested
// cause for every file and package it tried. That becomes one NativeBindingError naming the
// platform (process.platform, arch, libc) and the platform package binding.cjs looked for. napi's
// error stays available as `error.cause`, but off the printed error (Node would print each nested
// attempt with its loader stack).

/** The platform package binding.cjs asked for, in its "Cannot find module" messages. */
const LOOKED_FOR = /Cannot find module '(chat-headstart-[a-z0-9-]+)'/
/** The platform package in the path of a binary that failed to load. */
const FROM_PACKAGE = /[\\/](chat-headstart-[a-z0-9-]+)[\\/]/

const causes = new WeakMap()

class NativeBindingError extends Error {
  constructor(message, cause) {
    super(message)
    causes.set(this, cause)
  }

  /** The napi-rs loader's error (from binding.cjs), with a nested cause per path it tried. */
  get cause() {
    return causes.get(this)
  }
}
Object.defineProperty(NativeBindingError.prototype, 'name', { value: 'NativeBindingError' })
Object.defineProperty(NativeBindingError.prototype, 'code', { value: 'ERR_CHAT_HEADSTART_NATIVE_BINDING' })

/** Each message in an error's cause chain, outermost first. */
function messages(err) {
  const out = []
  for (let e = err, depth = 0; e != null && depth < 32; e = e.cause, depth++) out.push(String(e.message ?? e))
  return out
}

function libc() {
  if (process.platform !== 'linux') return null
  try {
    process.report.excludeNetwork = true
    const header = process.report.getReport().header
    return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'musl'
  } catch {
    return 'libc unknown'
  }
}

/** The platform packages chat-headstart publishes (the optional dependencies of an installed copy). */
function published() {
  try {
    return Object.keys(require('../package.json').optionalDependencies ?? {})
  } catch {
    return []
  }
}

function describe(err) {
  const platform = [process.platform, process.arch, libc()].filter(Boolean).join(' ')
  const tried = messages(err)
  const firstLine = (m) => m.split('\n')[0]
  const override = process.env.NAPI_RS_NATIVE_LIBRARY_PATH
  if (override) {
    return `chat-headstart: cannot load NAPI_RS_NATIVE_LIBRARY_PATH=${override} on ${platform}: ${firstLine(tried.at(-1))}`
  }
  // A binary was found but did not load (a broken or mismatched file), rather than none found.
  const failure = tried.find((m) => !/^(?:Cannot find (?:module|native binding)|Unsupported |WASI binding)/.test(m) || /valid "main" entry/.test(m))
  if (failure) {
    const from = LOOKED_FOR.exec(failure)?.[1] ?? FROM_PACKAGE.exec(failure)?.[1]
    return `chat-headstart: the native binary${from ? ` from ${from}` : ''} failed to load on ${platform}: ${firstLine(failure)}`
  }
  const name = tried.map((m) => LOOKED_FOR.exec(m)?.[1]).find((n) => n && !n.endsWith('-wasm32-wasi'))
  const packages = published()
  if (!name || (packages.length > 0 && !packages.includes(name))) {
    const prebuilt = packages.map((p) => p.replace(/^chat-headstart-/, '')).join(', ')
    return (
      `chat-headstart: no native binary is published for this platform (${platform})` +
      (name ? `: there is no package ${name}` : '') +
      (prebuilt ? `. Prebuilt: ${prebuilt}` : '') +
      '. Build one from source (napi build) and point NAPI_RS_NATIVE_LIBRARY_PATH at it.'
    )
  }
  return (
    `chat-headstart: no native binary for this platform (${platform}): the package ${name} is not installed. ` +
    'npm installs it as an optional dependency of chat-headstart: reinstall without --omit=optional / --no-optional ' +
    '(if npm still skips it, delete node_modules and package-lock.json and install again: https://github.com/npm/cli/issues/4828), ' +
    'or point NAPI_RS_NATIVE_LIBRARY_PATH at its .node file.'
  )
}

let binding
try {
  binding = require('../binding.cjs')
} catch (err) {
  // No stack: the message is the whole story, and the frames would all be module loading.
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  let error
  try {
    error = new NativeBindingError(describe(err), err)
  } finally {
    Error.stackTraceLimit = limit
  }
  throw error
}
module.exports = binding
