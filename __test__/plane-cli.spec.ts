// `chat-headstart dev`: prints the env to export, serves until SIGINT, rejects bad arguments.
import test from 'ava'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { packageUrl } from './package.helpers.ts'

const cli = fileURLToPath(new URL('bin/chat-headstart.js', packageUrl))

function run(args: string[]) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, exited, out: () => stdout, err: () => stderr }
}

test('dev prints TRIGGER_API_URL / TRIGGER_SECRET_KEY, serves, and stops on SIGINT', async (t) => {
  const proc = run(['dev', '--port', '0', '--secret-key', 'tr_dev_cli_test'])
  t.teardown(() => proc.child.kill('SIGKILL'))
  const deadline = Date.now() + 10_000
  while (!/TRIGGER_SECRET_KEY/.test(proc.out()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  const env = Object.fromEntries(
    proc
      .out()
      .trim()
      .split('\n')
      .map((line) => /^export (\w+)=(.*)$/.exec(line)!.slice(1, 3)),
  )
  t.regex(env.TRIGGER_API_URL, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.is(env.TRIGGER_SECRET_KEY, 'tr_dev_cli_test')
  const res = await fetch(`${env.TRIGGER_API_URL}/api/v1/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.TRIGGER_SECRET_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'chat.agent', externalId: 'cli', taskIdentifier: 'a', triggerConfig: { basePayload: {} } }),
  })
  t.is(res.status, 201)
  proc.child.kill('SIGINT')
  t.is(await proc.exited, 0)
})

test('dev rejects bad arguments with usage and exit code 2', async (t) => {
  for (const args of [['dev', '--port', 'abc'], ['dev', '--port', '70000'], ['serve'], ['dev', '--wat']]) {
    const proc = run(args)
    t.is(await proc.exited, 2, args.join(' '))
    t.regex(proc.err(), /Usage: chat-headstart dev/)
  }
})
