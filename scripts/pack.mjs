// `npm run pack`: writes into dist/ exactly what `npm publish` would publish, from the binaries
// the builds left (`npm run build`, `npm run build:targets`):
//   dist/chat-headstart-<version>.tgz             the JS package: no .node inside; its package.json
//                                                  names every platform package of package.json
//                                                  `napi.targets` as an optional dependency at the
//                                                  same version (what `napi prepublish` writes)
//   dist/chat-headstart-<platform>-<version>.tgz  one per binary found, from npm/<platform>/
// A binary is taken from its platform folder, npm/<platform>/chat-headstart.<platform>.node, where
// `npm run build:targets` puts it (the root's `npm run build` output is the tests' and benches'
// addon, possibly a debug one, and is never packed). The repo's own package.json and npm/ folders
// are not modified: everything is staged under dist/stage/.
//
//   node scripts/pack.mjs [--require <platform>]...   (fails when a required binary is missing)
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseTriple } from '@napi-rs/cli'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Lifecycle scripts npm runs on install: a published package must have none. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare']

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'))
const writeJson = (file, value) => fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)

/** The platform packages of package.json `napi.targets`: `{ triple, platform, name, dir }`. */
export function platformPackages(pkg = readJson(path.join(root, 'package.json'))) {
  return pkg.napi.targets.map((triple) => {
    const platform = parseTriple(triple).platformArchABI
    return { triple, platform, name: `${pkg.name}-${platform}`, dir: path.join(root, 'npm', platform) }
  })
}

/** The root package.json as published: the platform packages as optional dependencies. */
export function publishedManifest(pkg) {
  const optionalDependencies = { ...pkg.optionalDependencies }
  for (const { name } of platformPackages(pkg)) optionalDependencies[name] = pkg.version
  return { ...pkg, optionalDependencies }
}

/** Throws when a manifest would run code on `npm install`. */
function assertNoInstallScripts(manifest, where) {
  const found = INSTALL_SCRIPTS.filter((s) => manifest.scripts?.[s] !== undefined)
  if (found.length > 0) throw new Error(`${where}: install scripts (${found.join(', ')}) are not allowed in a published package`)
}

/** `npm pack` of `dir` into `dist`; returns the tarball's path and its file list. */
function npmPack(dir, dist) {
  const npm = process.env.npm_execpath?.endsWith('.js') ? [process.execPath, process.env.npm_execpath] : ['npm']
  const result = spawnSync(npm[0], [...npm.slice(1), 'pack', '--json', '--pack-destination', dist], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  if (result.status !== 0) throw new Error(`npm pack in ${dir} failed (exit ${result.status})`)
  const [info] = JSON.parse(result.stdout)
  return { file: path.join(dist, info.filename), files: info.files.map((f) => f.path), size: info.size }
}

/** The files napi generates next to a binary: the loader and the types of the binding's exports. */
const LOADER = ['binding.cjs', 'binding.d.ts']

/**
 * Where `npm run build:targets` left the loader of its release builds (target/napi-build/<platform>/,
 * one per target, identical across targets: scripts/build-targets.mjs checks it).
 */
function releaseLoaderDir(pkg) {
  for (const { platform, dir: platformDir } of platformPackages(pkg)) {
    if (!fs.existsSync(path.join(platformDir, `${pkg.napi.binaryName}.${platform}.node`))) continue
    const dir = path.join(root, 'target', 'napi-build', platform)
    if (LOADER.every((name) => fs.existsSync(path.join(dir, name)))) return dir
  }
  throw new Error('no release build of the loader in target/napi-build/ (npm run build:targets)')
}

function copyInto(from, to) {
  fs.cpSync(from, to, { recursive: true, filter: (src) => !src.endsWith('.node') })
}

/**
 * Packs into `dist` (default: the repo's dist/), replacing what was there. `binaryDir` takes every
 * binary, and the loader built with them, from that one folder instead of the platform folders.
 */
export function pack({ required = [], dist = path.join(root, 'dist'), binaryDir } = {}) {
  const pkg = readJson(path.join(root, 'package.json'))
  const stage = path.join(dist, 'stage')
  // Earlier tarballs go; what else dist/ holds (the builds' timings) stays.
  fs.mkdirSync(dist, { recursive: true })
  for (const f of fs.readdirSync(dist)) if (f.endsWith('.tgz')) fs.rmSync(path.join(dist, f))
  fs.rmSync(stage, { recursive: true, force: true })
  fs.mkdirSync(stage, { recursive: true })
  const packed = []

  // The JS package: its `files`, README and the published manifest; never a .node.
  const mainDir = path.join(stage, pkg.name)
  fs.mkdirSync(mainDir)
  for (const entry of [...pkg.files, 'README.md']) copyInto(path.join(root, entry), path.join(mainDir, entry))
  // The loader and its types from the build of the binaries packed: the root ones may come from a
  // build with the `testing` feature (`npm test`, the benches), whose extra exports do not ship.
  const loaderDir = binaryDir ?? releaseLoaderDir(pkg)
  for (const name of LOADER) fs.copyFileSync(path.join(loaderDir, name), path.join(mainDir, name))
  const manifest = publishedManifest(pkg)
  assertNoInstallScripts(manifest, pkg.name)
  writeJson(path.join(mainDir, 'package.json'), manifest)
  const main = npmPack(mainDir, dist)
  const natives = main.files.filter((f) => f.endsWith('.node') || f === 'binding.gyp')
  if (natives.length > 0) throw new Error(`${pkg.name} must not ship ${natives.join(', ')}`)
  packed.push({ name: pkg.name, ...main })

  // One platform package per binary found.
  const missing = []
  for (const target of platformPackages(pkg)) {
    const binaryName = `${pkg.napi.binaryName}.${target.platform}.node`
    const binary = path.join(binaryDir ?? target.dir, binaryName)
    if (!fs.existsSync(binary)) {
      missing.push(target.platform)
      continue
    }
    const platformManifest = readJson(path.join(target.dir, 'package.json'))
    if (platformManifest.version !== pkg.version) {
      throw new Error(`${target.name} is at ${platformManifest.version}, ${pkg.name} at ${pkg.version}: run \`napi version\``)
    }
    assertNoInstallScripts(platformManifest, target.name)
    const dir = path.join(stage, target.platform)
    copyInto(target.dir, dir)
    fs.copyFileSync(binary, path.join(dir, binaryName))
    packed.push({ name: target.name, platform: target.platform, binary, ...npmPack(dir, dist) })
  }
  fs.rmSync(stage, { recursive: true, force: true })

  const absent = required.filter((p) => missing.includes(p))
  if (absent.length > 0) throw new Error(`no binary built for ${absent.join(', ')} (npm run build:targets -- --target …)`)
  return { version: pkg.version, packed, missing }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const required = args.flatMap((a, i) => (args[i - 1] === '--require' ? [a] : []))
  const { packed, missing } = pack({ required })
  for (const p of packed) console.log(`${path.relative(root, p.file)}  ${(p.size / 1024).toFixed(0)} KiB`)
  if (missing.length > 0) console.log(`no binary built for: ${missing.join(', ')} (not packed)`)
}
