// What every part of `npm run test:prebuilt` shares: fresh folders outside the repo, an
// environment with no Rust toolchain on PATH, `npm install` of the packed tarballs, child
// processes that are always stopped, and the local plane started from the installed package.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { node22 } from '../node.mjs'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const dist = path.join(root, 'dist')

/** Programs whose presence on PATH would mean the test could build the addon itself. */
const TOOLCHAIN = ['cargo', 'rustc', 'rustup']

/**
 * The environment of everything the prebuilt test runs: Node 22 first on PATH, and no folder
 * that holds cargo, rustc or rustup. Throws if `cargo` can still be found.
 */
export function toolchainFreeEnv() {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((dir) => dir && !TOOLCHAIN.some((bin) => fs.existsSync(path.join(dir, bin))))
  const env = { ...process.env, PATH: [path.dirname(node22()), ...dirs].join(path.delimiter) }
  for (const key of Object.keys(env)) if (/^(CARGO|RUSTUP|RUSTC)/.test(key) || key.startsWith('npm_')) delete env[key]
  const probe = spawnSync('cargo', ['--version'], { env })
  if (!probe.error) throw new Error('cargo is still on PATH after removing the toolchain folders')
  return env
}

/** The packed tarballs in dist/: `{ main, platforms: { [platform]: file } }`. */
export function distTarballs() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const file = (name) => path.join(dist, `${name}-${pkg.version}.tgz`)
  if (!fs.existsSync(file(pkg.name))) throw new Error(`${path.relative(root, file(pkg.name))} is missing: run \`npm run pack\` first`)
  const platforms = {}
  for (const entry of fs.readdirSync(dist)) {
    const match = entry.match(new RegExp(`^${pkg.name}-(.+)-${pkg.version.replaceAll('.', '\\.')}\\.tgz$`))
    if (match) platforms[match[1]] = path.join(dist, entry)
  }
  return { version: pkg.version, main: file(pkg.name), platforms }
}

/** A new, empty folder for one part of the test, outside the repo. */
export function freshDir(base, name) {
  const dir = path.join(base, name)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

/** Copies an app or fixture folder into a fresh folder, leaving out what a build left. */
export function copyApp(from, base, name) {
  const dir = freshDir(base, name)
  const skip = new Set(['node_modules', 'dist', '.next', 'next-env.d.ts', 'package-lock.json'])
  fs.cpSync(from, dir, { recursive: true, filter: (src) => !skip.has(path.basename(src)) })
  return dir
}

/**
 * Runs a command to its end with output captured; resolves `{ code, output, ms }`. The output is
 * also appended to `log` (a file path) so a failure can be read in full afterwards.
 */
export function run(cmd, args, { cwd, env, log, timeoutMs = 10 * 60_000 } = {}) {
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const onData = (d) => {
      output += d
      if (log) fs.appendFileSync(log, d)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    if (log) fs.appendFileSync(log, `\n$ ${cmd} ${args.join(' ')}   (in ${cwd})\n`)
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs} ms]`
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', (err) => onData(`\n[${err.message}]`))
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: code ?? (signal ? 1 : 0), output, ms: performance.now() - started })
    })
  })
}

/**
 * `npm install` in `dir` of the given specs (tarball paths, `name@range`) with extra `flags` (e.g.
 * `--cpu=arm64`); throws on failure.
 */
export async function npmInstall(dir, specs, { env, log, flags = [] } = {}) {
  const args = ['install', '--no-audit', '--no-fund', '--loglevel', 'warn', ...flags, ...specs]
  const result = await run('npm', args, { cwd: dir, env, log })
  if (result.code !== 0) throw new Error(`npm install in ${dir} failed (exit ${result.code}):\n${result.output.slice(-3000)}`)
  // npm 11 lists the packages whose install scripts it wants approved: ours must never be one.
  const asked = result.output.split('\n').filter((line) => /install-scripts/.test(line) && /chat-headstart/.test(line))
  if (asked.length > 0) throw new Error(`npm install in ${dir} asked to approve install scripts of ours:\n${asked.join('\n')}`)
  return result
}

/**
 * Spawns a long-running process and resolves once its output matches `ready`:
 * `{ child, match, output(), stop() }`. `stop()` ends it (SIGTERM, then SIGKILL) and waits.
 */
export function startProcess(cmd, args, { cwd, env, ready, timeoutMs = 60_000, log }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let output = ''
    let done = false
    const stop = () =>
      new Promise((res) => {
        if (child.exitCode !== null || child.signalCode !== null) return res()
        child.once('exit', () => res())
        try {
          process.kill(-child.pid, 'SIGTERM')
        } catch {}
        setTimeout(() => {
          try {
            process.kill(-child.pid, 'SIGKILL')
          } catch {}
        }, 5000).unref()
      })
    const timer = setTimeout(() => {
      if (done) return
      done = true
      stop()
      reject(new Error(`${cmd} ${args.join(' ')}: not ready after ${timeoutMs} ms; output:\n${output}`))
    }, timeoutMs)
    const onData = (d) => {
      output += d
      if (log) fs.appendFileSync(log, d)
      const match = output.match(ready)
      if (match && !done) {
        done = true
        clearTimeout(timer)
        resolve({ child, match, output: () => output, stop })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code, signal) => {
      if (done) return
      done = true
      clearTimeout(timer)
      reject(new Error(`${cmd} ${args.join(' ')} exited (${code ?? signal}) before it was ready; output:\n${output}`))
    })
  })
}

/**
 * `chat-headstart dev` from the package installed in `appDir` (its own bin, as `npx` runs it);
 * resolves `{ env: { TRIGGER_API_URL, TRIGGER_SECRET_KEY }, stop() }`.
 */
export async function startPlane(appDir, { env, log, node = [node22()] } = {}) {
  const bin = path.join(appDir, 'node_modules', 'chat-headstart', 'bin', 'chat-headstart.js')
  const plane = await startProcess(node[0], [...node.slice(1), bin, 'dev'], {
    cwd: appDir,
    env,
    log,
    ready: /export TRIGGER_API_URL=(\S+)\s+export TRIGGER_SECRET_KEY=(\S+)/,
  })
  return { env: { TRIGGER_API_URL: plane.match[1], TRIGGER_SECRET_KEY: plane.match[2] }, stop: plane.stop }
}

/** A folder under the OS temp dir for one prebuilt run. */
export function runBase() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'chat-headstart-prebuilt-'))
}
