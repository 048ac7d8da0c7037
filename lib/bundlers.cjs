'use strict'
// Bundler glue for lib/native.js: what lets a bundled chat-headstart load its addon and have it
// traced with no bundler configuration (no Next.js `serverExternalPackages`). Nothing here does
// anything in plain Node.
const fs = require('node:fs')
const path = require('node:path')

/**
 * webpack and rspack (`next build --webpack`) turn `__non_webpack_require__` into the emitted
 * server file's own `require`, which finds chat-headstart from .next/server up in node_modules.
 * The literal specifier is what Next's output tracing (@vercel/nft, run on webpack's output)
 * follows into lib/native.cjs, binding.cjs and the platform package with the `.node` file.
 * Returns null outside webpack, or when chat-headstart does not resolve from the output.
 */
exports.webpackRequireNative = function webpackRequireNative() {
  if (typeof __non_webpack_require__ !== 'function') return null
  try {
    return __non_webpack_require__('chat-headstart/lib/native.cjs')
  } catch (err) {
    // chat-headstart not found from the output, or a package.json without this export:
    // lib/native.js falls back to the path of the bundled module.
    const message = String(err && err.message)
    if (err && err.code === 'MODULE_NOT_FOUND' && message.includes("'chat-headstart/lib/native.cjs'")) return null
    if (err && err.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' && message.includes("'./lib/native.cjs'")) return null
    throw err
  }
}

/**
 * Never called. Turbopack's output tracing (Next's `.nft.json` files, which `output: "standalone"`
 * copies) lists the files that `fs` calls on `path.join(__dirname, '<literal>')` name, and skips
 * missing ones. These are the files lib/native.js then requires through Node: the loader, and each
 * napi target's platform package, next to chat-headstart in node_modules (npm, pnpm, yarn) or
 * nested in it (npm, on a version conflict), or a local build's addon next to binding.cjs.
 * Keep in step with `napi.targets` (__test__/loader.spec.ts checks).
 */
exports.traceNativeFiles = function traceNativeFiles() {
  return [
    fs.statSync(path.join(__dirname, 'native.cjs')),
    fs.statSync(path.join(__dirname, '../binding.cjs')),
    fs.statSync(path.join(__dirname, '../package.json')),
    fs.statSync(path.join(__dirname, '../../chat-headstart-linux-x64-gnu/package.json')),
    fs.statSync(path.join(__dirname, '../../chat-headstart-linux-x64-gnu/chat-headstart.linux-x64-gnu.node')),
    fs.statSync(path.join(__dirname, '../node_modules/chat-headstart-linux-x64-gnu/package.json')),
    fs.statSync(path.join(__dirname, '../node_modules/chat-headstart-linux-x64-gnu/chat-headstart.linux-x64-gnu.node')),
    fs.statSync(path.join(__dirname, '../chat-headstart.linux-x64-gnu.node')),
    fs.statSync(path.join(__dirname, '../../chat-headstart-linux-arm64-gnu/package.json')),
    fs.statSync(path.join(__dirname, '../../chat-headstart-linux-arm64-gnu/chat-headstart.linux-arm64-gnu.node')),
    fs.statSync(path.join(__dirname, '../node_modules/chat-headstart-linux-arm64-gnu/package.json')),
    fs.statSync(path.join(__dirname, '../node_modules/chat-headstart-linux-arm64-gnu/chat-headstart.linux-arm64-gnu.node')),
    fs.statSync(path.join(__dirname, '../chat-headstart.linux-arm64-gnu.node')),
    fs.statSync(path.join(__dirname, '../../chat-headstart-linux-x64-musl/package.json')),
    fs.statSync(path.join(__dirname, '../../chat-headstart-linux-x64-musl/chat-headstart.linux-x64-musl.node')),
    fs.statSync(path.join(__dirname, '../node_modules/chat-headstart-linux-x64-musl/package.json')),
    fs.statSync(path.join(__dirname, '../node_modules/chat-headstart-linux-x64-musl/chat-headstart.linux-x64-musl.node')),
    fs.statSync(path.join(__dirname, '../chat-headstart.linux-x64-musl.node')),
    fs.statSync(path.join(__dirname, '../../chat-headstart-darwin-x64/package.json')),
    fs.statSync(path.join(__dirname, '../../chat-headstart-darwin-x64/chat-headstart.darwin-x64.node')),
    fs.statSync(path.join(__dirname, '../node_modules/chat-headstart-darwin-x64/package.json')),
    fs.statSync(path.join(__dirname, '../node_modules/chat-headstart-darwin-x64/chat-headstart.darwin-x64.node')),
    fs.statSync(path.join(__dirname, '../chat-headstart.darwin-x64.node')),
    fs.statSync(path.join(__dirname, '../../chat-headstart-darwin-arm64/package.json')),
    fs.statSync(path.join(__dirname, '../../chat-headstart-darwin-arm64/chat-headstart.darwin-arm64.node')),
    fs.statSync(path.join(__dirname, '../node_modules/chat-headstart-darwin-arm64/package.json')),
    fs.statSync(path.join(__dirname, '../node_modules/chat-headstart-darwin-arm64/chat-headstart.darwin-arm64.node')),
    fs.statSync(path.join(__dirname, '../chat-headstart.darwin-arm64.node')),
    fs.statSync(path.join(__dirname, '../../chat-headstart-win32-x64-msvc/package.json')),
    fs.statSync(path.join(__dirname, '../../chat-headstart-win32-x64-msvc/chat-headstart.win32-x64-msvc.node')),
    fs.statSync(path.join(__dirname, '../node_modules/chat-headstart-win32-x64-msvc/package.json')),
    fs.statSync(path.join(__dirname, '../node_modules/chat-headstart-win32-x64-msvc/chat-headstart.win32-x64-msvc.node')),
    fs.statSync(path.join(__dirname, '../chat-headstart.win32-x64-msvc.node')),
  ]
}
