// examples/next as a user deploys it, for `npm run test:prebuilt`: in an app folder where the
// tarballs are installed, `next build` with no bundler configuration for chat-headstart (Turbopack,
// then webpack), and for each build a text and a tool-call turn through app/api/chat/route.ts,
// first under `next start`, then under the standalone server (`output: "standalone"`, the Docker
// mode) copied out of the app folder, so it can only use what Next traced into it.
//
//   await testNextApp({ appDir, env: { ...env, ...plane.env }, log, record })
//
// `env` must hold TRIGGER_API_URL / TRIGGER_SECRET_KEY of a running `chat-headstart dev`.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { node22 } from '../node.mjs'
import { headStartTurns } from './turns.mjs'
import { run, startProcess } from './workspace.mjs'

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** The platform packages installed in the app that hold a binary: `[{ name, dir, binary }]`. */
function installedPlatformPackages(appDir) {
  const modules = path.join(appDir, 'node_modules')
  return fs
    .readdirSync(modules)
    .filter((entry) => entry.startsWith('chat-headstart-'))
    .map((name) => ({ name, dir: path.join(modules, name) }))
    .map((p) => ({ ...p, binary: fs.readdirSync(p.dir).find((f) => f.endsWith('.node')) }))
    .filter((p) => p.binary)
}

/** The chat-headstart `.node` files a process has mapped (Linux), or null where /proc is absent. */
function mappedAddons(pid) {
  try {
    const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8')
    return [...new Set(maps.split('\n').map((line) => line.split(/\s+/)[5]).filter((f) => f && /chat-headstart[^/]*\.node$/.test(f)))]
  } catch {
    return null
  }
}

/** The folder of the standalone server.js (the standalone root, or under it in a monorepo). */
function findServer(dir) {
  if (fs.existsSync(path.join(dir, 'server.js'))) return dir
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'node_modules') continue
    const found = findServer(path.join(dir, entry.name))
    if (found) return found
  }
  return null
}

/**
 * Runs the whole check, handing each result to `record(name, ok, detail)`. `log` is the file the
 * children's output is appended to. Options: `bundlers` (default both), `node` (default Node 22).
 */
export async function testNextApp({ appDir, env, log, record: recordResult, bundlers = ['turbopack', 'webpack'], node = node22() }) {
  const logFile = log
  const record = (name, ok, detail = '') => recordResult(`next: ${name}`, ok, detail)
  const nextEnv = { ...env, NEXT_TELEMETRY_DISABLED: '1' }
  const nextBin = path.join(appDir, 'node_modules', 'next', 'dist', 'bin', 'next')
  const platforms = installedPlatformPackages(appDir)
  const children = new Set()
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-headstart-next-'))

  /** Starts a server, runs the page and both turns against it, and checks where the addon came from. */
  async function serve(label, cmd, args, { cwd, env: serverEnv, port, addonUnder, addonPlace }) {
    const server = await startProcess(cmd, args, { cwd, env: serverEnv, log: logFile, ready: /Ready in/, timeoutMs: 90_000 })
    children.add(server)
    try {
      const base = `http://127.0.0.1:${port}`
      const page = await fetch(base, { signal: AbortSignal.timeout(30_000) })
      const html = await page.text()
      record(`${label}: GET / (the chat page)`, page.status === 200 && html.includes('chat-headstart'), `status ${page.status}`)
      for (const turn of await headStartTurns(`${base}/api/chat`)) record(`${label}: ${turn.name}`, turn.ok, turn.detail)
      const addons = mappedAddons(server.child.pid)
      if (addons !== null) {
        const ok = addons.length === 1 && addons[0].startsWith(addonUnder + path.sep)
        record(`${label}: the addon is loaded from ${addonPlace}`, ok, addons.join(', ') || 'no chat-headstart .node mapped')
      }
    } finally {
      await server.stop()
      children.delete(server)
    }
  }

  try {
    if (platforms.length === 0) throw new Error(`no chat-headstart-* platform package with a .node in ${appDir}/node_modules`)
    const config = ['next.config.mjs', 'next.config.js', 'next.config.ts'].map((f) => path.join(appDir, f)).find((f) => fs.existsSync(f))
    const source = config ? fs.readFileSync(config, 'utf8') : ''
    record('next.config leaves chat-headstart to the bundler (no serverExternalPackages)', !/serverExternalPackages\s*:/.test(source))

    for (const bundler of bundlers) {
      fs.rmSync(path.join(appDir, '.next'), { recursive: true, force: true })
      const build = await run(node, [nextBin, 'build', ...(bundler === 'webpack' ? ['--webpack'] : [])], { cwd: appDir, env: nextEnv, log: logFile, timeoutMs: 15 * 60_000 })
      const seconds = `${(build.ms / 1000).toFixed(1)} s`
      record(`next build (${bundler})`, build.code === 0, build.code === 0 ? seconds : `${seconds}\n${build.output.slice(-4000)}`)
      if (build.code !== 0) continue

      // What the standalone server will need, traced by Next into .next/standalone/node_modules.
      const standalone = path.join(appDir, '.next', 'standalone')
      const needed = [
        'node_modules/chat-headstart/package.json',
        'node_modules/chat-headstart/binding.cjs',
        'node_modules/chat-headstart/lib/native.cjs',
        ...platforms.flatMap((p) => [`node_modules/${p.name}/package.json`, `node_modules/${p.name}/${p.binary}`]),
      ]
      const missing = needed.filter((f) => !fs.existsSync(path.join(standalone, f)))
      record(`${bundler}: the addon and its platform package are traced into .next/standalone`, missing.length === 0, missing.length ? `missing: ${missing.join(', ')}` : platforms.map((p) => p.name).join(', '))

      const port = await freePort()
      await serve(`${bundler}, next start`, node, [nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], {
        cwd: appDir,
        env: nextEnv,
        port,
        addonUnder: fs.realpathSync(path.join(appDir, 'node_modules')),
        addonPlace: "the app's node_modules",
      })

      // The standalone output away from the app folder (a Docker image's layout): what Next did
      // not trace is not there. It needs .next/static (and public/) copied next to server.js.
      const copy = path.join(scratch, `standalone-${bundler}`)
      fs.cpSync(standalone, copy, { recursive: true, verbatimSymlinks: true })
      const serverDir = findServer(copy)
      if (!serverDir) throw new Error(`no server.js in ${standalone}`)
      fs.cpSync(path.join(appDir, '.next', 'static'), path.join(serverDir, '.next', 'static'), { recursive: true })
      if (fs.existsSync(path.join(appDir, 'public'))) fs.cpSync(path.join(appDir, 'public'), path.join(serverDir, 'public'), { recursive: true })
      const standalonePort = await freePort()
      await serve(`${bundler}, standalone server.js`, node, [path.join(serverDir, 'server.js')], {
        cwd: serverDir,
        env: { ...nextEnv, PORT: String(standalonePort), HOSTNAME: '127.0.0.1' },
        port: standalonePort,
        addonUnder: fs.realpathSync(copy),
        addonPlace: 'the standalone copy',
      })
      fs.rmSync(copy, { recursive: true, force: true })
    }
  } catch (err) {
    record(err.message.split('\n')[0], false, err.message.split('\n').slice(1, 30).join('\n'))
  } finally {
    await Promise.all([...children].map((c) => c.stop()))
    fs.rmSync(scratch, { recursive: true, force: true })
  }
}
