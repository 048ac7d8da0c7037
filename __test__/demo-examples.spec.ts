// examples/express and examples/fastify, started as a user would (node examples/<x>/server.mjs
// with TRIGGER_API_URL / TRIGGER_SECRET_KEY from the local plane), complete a head-start turn.
import test from 'ava'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { startLocalBackend, type Backend } from '../demo/backend.mjs'
import { weatherAnswer, weatherFor } from '../demo/weather.mjs'
import { localEnv, postFirstMessage, readUiStream, spawnUntil, stop, textOf } from './demo-helpers.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
let backend: Backend

test.before(async () => {
  backend = await startLocalBackend()
})
test.after.always(async () => {
  await backend?.close()
})

for (const framework of ['express', 'fastify']) {
  test(`examples/${framework}: a weather question gets step 1, the tool output and step 2`, async (t) => {
    const server = await spawnUntil([path.join(root, `examples/${framework}/server.mjs`)], {
      cwd: root,
      env: localEnv({ PORT: '0', TRIGGER_API_URL: backend.apiUrl, TRIGGER_SECRET_KEY: backend.secretKey }),
      ready: /listening on (http:\/\/\S+\/api\/chat)/,
      timeoutMs: 60_000,
    })
    try {
      const res = await postFirstMessage(server.match[1], `${framework}-${randomUUID()}`, 'What is the weather in Rome?')
      t.is(res.status, 200)
      t.truthy(res.headers.get('x-trigger-chat-access-token'))
      const chunks = await readUiStream(res)
      t.like(chunks.find((c) => c.type === 'finish'), { finishReason: 'tool-calls' })
      t.deepEqual(chunks.find((c) => c.type === 'tool-output-available')?.output, weatherFor('Rome'))
      t.true(textOf(chunks).endsWith(weatherAnswer(weatherFor('Rome'))))
      t.deepEqual(chunks.slice(-2).map((c) => c.type), ['trigger:turn-complete', 'trigger:session-state'])
    } finally {
      await stop(server.child)
    }
  })
}
