// `chat-headstart dev` under hostile local input that needs its own process: 10,000 idle
// connections held open at once (the plane keeps serving other sessions, and drops nothing it
// should not), and a non-loopback bind, where the well-known local key must not open any route.
// The per-request cases (oversized bodies, slow-loris, malformed JSON/protobuf, bad keys, path
// traversal) are cargo tests: crates/plane/tests/hostile_input.rs.
import test from 'ava'
import { spawn } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { packageUrl } from './package.helpers.ts'

const cli = fileURLToPath(new URL('bin/chat-headstart.js', packageUrl))

/** Starts `chat-headstart dev …` and resolves with the environment it prints. */
async function startDev(args: string[]) {
  const child = spawn(process.execPath, [cli, 'dev', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const deadline = Date.now() + 15_000
  while (!/TRIGGER_SECRET_KEY=.+\n/.test(stdout)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`dev did not start: ${stderr}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  const env = Object.fromEntries([...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]))
  return { child, exited, url: env.TRIGGER_API_URL, key: env.TRIGGER_SECRET_KEY }
}

async function createSession(url: string, key: string, externalId: string) {
  return fetch(`${url}/api/v1/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'chat.agent', externalId, taskIdentifier: 'a', triggerConfig: { basePayload: {} } }),
  })
}

function openIdle(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket))
    socket.once('error', reject)
  })
}

test('10,000 idle connections: the plane stays up and serves other sessions', async (t) => {
  const dev = await startDev([])
  const sockets: Socket[] = []
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    dev.child.kill('SIGKILL')
  })
  const port = Number(new URL(dev.url).port)
  // A session before the flood, with one chunk on its output stream.
  const before = await (await createSession(dev.url, dev.key, 'before')).json()
  const auth = { authorization: `Bearer ${dev.key}`, 'content-type': 'application/json' }
  const append = await fetch(`${dev.url}/realtime/v1/sessions/${before.id}/out/append`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ data: { type: 'text-delta', delta: 'kept' }, id: 'c1' }),
  })
  t.is(append.status, 200)

  for (let opened = 0; opened < 10_000; opened += 500) {
    sockets.push(...(await Promise.all(Array.from({ length: 500 }, () => openIdle(port)))))
  }
  t.is(sockets.length, 10_000)
  const closedEarly = sockets.filter((s) => s.destroyed || s.readableEnded).length
  t.is(closedEarly, 0, 'idle connections within the header timeout are kept')

  // With all of them open: new sessions are created, the old one still reads back its chunk.
  const during = await createSession(dev.url, dev.key, 'during')
  t.is(during.status, 201)
  const records = await fetch(`${dev.url}/realtime/v1/sessions/${before.id}/out/records`, { headers: auth })
  t.is(records.status, 200)
  const body = await records.json()
  t.is(body.records.length, 1)
  t.is(dev.child.exitCode, null)

  for (const s of sockets) s.destroy()
  sockets.length = 0
  t.is((await createSession(dev.url, dev.key, 'after')).status, 201)
  dev.child.kill('SIGINT')
  t.is(await dev.exited, 0)
})

test('off loopback the well-known local key opens nothing: dev picks a random key', async (t) => {
  const dev = await startDev(['--host', '0.0.0.0'])
  t.teardown(() => dev.child.kill('SIGKILL'))
  t.not(dev.key, 'tr_dev_chat_headstart_local')
  t.regex(dev.key, /^tr_dev_\w{20}$/)
  const url = dev.url.replace('0.0.0.0', '127.0.0.1')
  const refused = await createSession(url, 'tr_dev_chat_headstart_local', 'x')
  t.is(refused.status, 401)
  t.deepEqual(await refused.json(), { error: 'Invalid or Missing API key' })
  t.is((await fetch(`${url}/api/v1/sessions/x`)).status, 401)
  t.is((await createSession(url, dev.key, 'x')).status, 201)
  dev.child.kill('SIGINT')
  t.is(await dev.exited, 0)
})
