// examples/next: `next build && next start` on an ephemeral port, then a head-start turn against
// the local plane through the example's app/api/chat/route.ts. Slow (a production build on 2
// cores): this file gets a long timeout.
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
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', CI: '1' }
  const link = await runToEnd([path.join(app, 'link-chat-headstart.mjs')], { cwd: app, env, timeoutMs: 30_000 })
  if (link.code !== 0) throw new Error(`linking chat-headstart failed:\n${link.output}`)
  const build = await runToEnd([nextBin, 'build'], { cwd: app, env, timeoutMs: 10 * 60_000 })
  if (build.code !== 0) throw new Error(`next build failed (${build.code}):\n${build.output}`)

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
