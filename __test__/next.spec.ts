// examples/next: `next build && next start` on an ephemeral port, then a head-start turn against
// the local plane through the example's app/api/chat/route.ts. chat-headstart is put into the
// example's node_modules as npm unpacks it (the package's files, and the host's platform package
// with this build's binary), and the example's next.config has no bundler setting for it. Slow (a
// production build on 2 cores): this file gets a long timeout.
import test from 'ava'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { randomUUID } from 'node:crypto'
import { startLocalBackend } from '../demo/backend.mjs'
import { weatherAnswer, weatherFor } from '../demo/weather.mjs'
import { postFirstMessage, readUiStream, runToEnd, spawnUntil, stop, textOf } from './demo-helpers.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const app = path.join(root, 'examples/next')
const nextBin = path.join(root, 'node_modules/next/dist/bin/next')

/** What `npm install` of the tarballs leaves in examples/next/node_modules, from this checkout. */
function installPackage(): { platformPackage: string; binary: string } {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  const modules = path.join(app, 'node_modules')
  const dest = path.join(modules, pkg.name)
  fs.rmSync(dest, { recursive: true, force: true })
  fs.mkdirSync(dest, { recursive: true })
  for (const entry of ['package.json', 'README.md', ...pkg.files]) {
    const from = path.join(root, entry)
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dest, entry), { recursive: true, filter: (f) => !f.endsWith('.node') })
  }
  const binary = fs.readdirSync(root).find((f) => f.startsWith(`${pkg.name}.`) && f.endsWith('.node'))
  if (!binary) throw new Error('no built addon in the repo root: npm run build')
  const platform = binary.slice(pkg.name.length + 1, -'.node'.length)
  const platformPackage = `${pkg.name}-${platform}`
  const platformDest = path.join(modules, platformPackage)
  fs.rmSync(platformDest, { recursive: true, force: true })
  fs.mkdirSync(platformDest, { recursive: true })
  fs.copyFileSync(path.join(root, 'npm', platform, 'package.json'), path.join(platformDest, 'package.json'))
  fs.copyFileSync(path.join(root, binary), path.join(platformDest, binary))
  return { platformPackage, binary }
}

// The example resolves next/react from the repository's node_modules, which may itself be a
// symlink (git worktrees): the build root (the example's CHAT_HEADSTART_EXAMPLE_ROOT) must contain both.
function workspaceRoot(): string {
  let modules = path.join(root, 'node_modules')
  try {
    modules = fs.realpathSync(modules)
  } catch {}
  let dir = root
  while (!(modules + path.sep).startsWith(dir + path.sep) && path.dirname(dir) !== dir) dir = path.dirname(dir)
  return dir
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

// Next.js type-checks TypeScript apps and needs @types/react for it; without it `next build`
// would try to npm-install it. It is a dev dependency of this repository.
const hasReactTypes = (() => {
  try {
    createRequire(path.join(app, 'package.json')).resolve('@types/react/package.json')
    return true
  } catch {
    return false
  }
})()
if (!hasReactTypes) console.warn('next.spec: @types/react is not installed (devDependency missing): skipping the Next.js build test')

;(hasReactTypes ? test : test.skip)('next build && next start, then a head-start turn through app/api/chat/route.ts', async (t) => {
  t.timeout(12 * 60_000)
  const tracingRoot = workspaceRoot()
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', CI: '1', CHAT_HEADSTART_EXAMPLE_ROOT: tracingRoot }
  const { platformPackage, binary } = installPackage()
  const build = await runToEnd([nextBin, 'build'], { cwd: app, env, timeoutMs: 10 * 60_000 })
  if (build.code !== 0) throw new Error(`next build failed (${build.code}):\n${build.output}`)
  // output: "standalone" traced the addon's platform package (what a Docker image of the app needs).
  const standaloneModules = path.join(app, '.next/standalone', path.relative(tracingRoot, app), 'node_modules')
  t.true(fs.existsSync(path.join(standaloneModules, platformPackage, binary)), `${platformPackage}/${binary} in .next/standalone`)

  const backend = await startLocalBackend()
  const port = await freePort()
  const server = await spawnUntil([nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: app,
    env: { ...env, TRIGGER_API_URL: backend.apiUrl, TRIGGER_SECRET_KEY: backend.secretKey },
    ready: /Ready in|✓ Ready/,
    timeoutMs: 60_000,
  })
  try {
    const base = `http://127.0.0.1:${port}`
    const page = await fetch(base)
    t.is(page.status, 200)
    t.regex(await page.text(), /chat-headstart · Next\.js/)

    const res = await postFirstMessage(`${base}/api/chat`, `next-${randomUUID()}`, 'What is the weather in Lisbon?')
    t.is(res.status, 200)
    t.truthy(res.headers.get('x-trigger-chat-access-token'))
    const chunks = await readUiStream(res)
    t.like(chunks.find((c) => c.type === 'tool-input-available'), { toolName: 'getWeather', input: { city: 'Lisbon' } })
    t.deepEqual(chunks.find((c) => c.type === 'tool-output-available')?.output, weatherFor('Lisbon'))
    t.true(textOf(chunks).endsWith(weatherAnswer(weatherFor('Lisbon'))))
    t.deepEqual(chunks.slice(-2).map((c) => c.type), ['trigger:turn-complete', 'trigger:session-state'])

    const session = await fetch(`${base}/api/chat/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })
    t.is(session.status, 400)
  } finally {
    await stop(server.child)
    await backend.close()
  }
})
