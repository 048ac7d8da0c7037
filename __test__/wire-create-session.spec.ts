// ORACLE: the create-session body built in Rust (wire::create_session_body) against the bytes
// the reference itself sends. The reference handler runs against a tiny HTTP server that
// records `POST /api/v1/sessions` and answers 422, so each call stops right after the request.
import test from 'ava'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

import { chat } from '@trigger.dev/sdk/chat-server'
import { chat as agentChat } from '@trigger.dev/sdk/ai'

// `wireCreateSessionBody` is an export of the `testing` build only (src/binding/testing/wire.rs), so
// this spec imports the repo's binding and is repo-only (scripts/prebuilt/specs.mjs): an installed
// release has no such export.
import { native } from '../lib/native.js'

const SKEW_ENV = ['TRIGGER_EXTERNAL_DEPLOYMENT_ID', 'TRIGGER_AUTOMATIC_SKEW_VERSION_PROTECTION', 'GITHUB_SHA', 'VERCEL_GIT_COMMIT_SHA']
for (const name of SKEW_ENV) delete process.env[name]

const captured: Buffer[] = []
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/api/v1/sessions') captured.push(Buffer.concat(chunks))
    res.writeHead(422, { 'content-type': 'application/json', 'x-should-retry': 'false' })
    res.end(JSON.stringify({ error: 'stopped by the oracle test' }))
  })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
const apiClient = { baseURL, accessToken: 'tr_dev_oracle' }
test.after.always(() => server.close())

/** Runs `start` (which must reach createSession and fail on the 422) and returns the body it sent. */
async function referenceBody(start: () => Promise<unknown>): Promise<string> {
  const before = captured.length
  await start().catch(() => undefined)
  if (captured.length !== before + 1) throw new Error(`expected one createSession call, saw ${captured.length - before}`)
  return captured[before].toString('utf8')
}

type Options = { agentId: string; idleTimeoutInSeconds?: number; triggerConfig?: Record<string, unknown>; tags?: string[] }

const userMessage = (text: string) => ({ id: `u-${text.length}`, role: 'user', parts: [{ type: 'text', text }] })

const HEAD_START_CASES: Array<{ name: string; options: Options; body: string }> = [
  {
    name: 'the observed §2.3 call',
    options: { agentId: 'exp-agent', idleTimeoutInSeconds: 20, triggerConfig: { tags: ['t1'], machine: 'small-1x' } },
    body: JSON.stringify({
      extra: 1,
      headStartMessages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Weather in Paris?' }] }],
      chatId: 'chat-1',
      trigger: 'submit-message',
      metadata: { userId: 'u-9' },
    }),
  },
  {
    name: 'every trigger option, session tags, overlapping basePayload',
    options: {
      agentId: 'agent-full',
      tags: ['session-tag'],
      triggerConfig: {
        basePayload: { fromConfig: true, chatId: 'overridden', metadata: 'cfg', 7: 'seven', trigger: 'cfg' },
        machine: 'medium-1x',
        queue: 'q-chat',
        concurrency: ['per-user', 'global_1'],
        concurrencyKey: 'user-9',
        tags: ['a', 'b'],
        maxAttempts: 3,
        maxDuration: 600,
        region: 'eu-central-1',
        lockToVersion: '20260101.1',
        ttl: 3600,
        externalDeploymentId: '  dep-123  ',
        idleTimeoutInSeconds: 45.5,
      },
    },
    body: JSON.stringify({ chatId: 'c-full', headStartMessages: [userMessage('hi')], trigger: 'regenerate-message', messageId: 'm-1' }),
  },
  {
    name: 'a hand-written body: whitespace, number forms, escapes, duplicate and array-index keys',
    options: { agentId: 'a', triggerConfig: { basePayload: { 10: 'ten', z: 0 } } },
    body:
      '{ "z" : 1.0, "2": "two", "headStartMessages" : [ {"id":"u","role":"user","parts":[ ]} ], "n": [1E3, -0, 1e21, 12345678901234567890, 0.000001, 1e-7, 2.50],\n' +
      ' "s": "\\u0041\\/\\u00e9\\ud83d\\ude00\\u001F\u2028", "o": {"b":1,"1":{"y":2,"0":3}}, "chatId": "first", "dup": 1, "chatId" : "chat-\\u0031", "dup": {"x":null} }',
  },
  {
    name: 'a 123-character chatId keeps the chat tag; run tags stop at ten',
    options: { agentId: 'a', triggerConfig: { tags: Array.from({ length: 12 }, (_, i) => `t${i}`) } },
    body: JSON.stringify({ chatId: 'x'.repeat(123), headStartMessages: [userMessage('hi')] }),
  },
  {
    name: 'a 124-character chatId drops the chat tag',
    options: { agentId: 'a', triggerConfig: { tags: Array.from({ length: 12 }, (_, i) => `t${i}`) } },
    body: JSON.stringify({ chatId: 'y'.repeat(124), metadata: null, headStartMessages: [userMessage('hi')] }),
  },
  {
    name: 'falsy optional values: omitted or sent as the reference does',
    options: {
      agentId: 'a',
      triggerConfig: { machine: '', queue: null, region: '', lockToVersion: '', concurrencyKey: null, maxAttempts: null, ttl: '', concurrency: 'solo' },
    },
    body: JSON.stringify({ chatId: 'falsy', headStartMessages: [userMessage('hi')] }),
  },
  {
    name: 'idle timeout only in triggerConfig; non-ASCII chat id with a quote',
    options: { agentId: 'a', triggerConfig: { idleTimeoutInSeconds: 5 } },
    body: JSON.stringify({ chatId: 'chät "1" 😀', headStartMessages: [userMessage('é')], metadata: { nested: { deep: [1, { a: 'b' }] } } }),
  },
  {
    name: 'externalDeploymentId: null opts out',
    options: { agentId: 'a', triggerConfig: { externalDeploymentId: null } },
    body: JSON.stringify({ chatId: 'pin-opt-out', headStartMessages: [userMessage('hi')] }),
  },
]

for (const { name, options, body } of HEAD_START_CASES) {
  test.serial(`createSession body for chat.headStart is byte-identical: ${name}`, async (t) => {
    const handler = chat.headStart({
      ...(options as never as { agentId: string }),
      apiClient,
      run: async () => {
        throw new Error('run must not be reached')
      },
    })
    const expected = await referenceBody(() =>
      handler(new Request('http://localhost/api/chat', { method: 'POST', headers: { 'content-type': 'application/json' }, body })),
    )
    const ours = native.wireCreateSessionBody(JSON.stringify(options), '{"kind":"headStart"}', Buffer.from(body))
    t.is(Buffer.from(ours).toString('utf8'), expected)
  })
}

test.serial('externalDeploymentId from the environment, with and without an explicit opt-out', async (t) => {
  process.env.TRIGGER_EXTERNAL_DEPLOYMENT_ID = ' env-dep '
  try {
    for (const triggerConfig of [{}, { externalDeploymentId: null }, { externalDeploymentId: 'explicit' }]) {
      const options = { agentId: 'a', triggerConfig }
      const body = JSON.stringify({ chatId: 'env', headStartMessages: [userMessage('hi')] })
      const handler = chat.headStart({ ...(options as never as { agentId: string }), apiClient, run: async () => null as never })
      const expected = await referenceBody(() => handler(new Request('http://l/', { method: 'POST', body })))
      const ours = native.wireCreateSessionBody(JSON.stringify(options), '{"kind":"headStart"}', Buffer.from(body))
      t.is(Buffer.from(ours).toString('utf8'), expected, JSON.stringify(triggerConfig))
    }
  } finally {
    delete process.env.TRIGGER_EXTERNAL_DEPLOYMENT_ID
  }
})

test.serial('createSession body for chat.startHeadStart (detached) is byte-identical', async (t) => {
  const cases = [
    { chatId: 'detached-1', messages: [userMessage('hello')], metadata: { plan: 'pro' } },
    { chatId: 'detached-2', messages: [userMessage('hi'), { id: 'a-1', role: 'assistant', parts: [] }], metadata: undefined },
  ]
  for (const { chatId, messages, metadata } of cases) {
    const options: Options = { agentId: 'agent-d', tags: ['s'], triggerConfig: { basePayload: { trigger: 'x', k: 1 }, tags: ['r'] } }
    const expected = await referenceBody(() =>
      chat.startHeadStart({
        ...(options as never as { agentId: string }),
        chatId,
        messages: messages as never,
        ...(metadata !== undefined ? { metadata } : {}),
        apiClient,
        run: async () => null as never,
      }),
    )
    const descriptor = JSON.stringify({ kind: 'detached', chatId, messages, metadata })
    const ours = native.wireCreateSessionBody(JSON.stringify(options), descriptor)
    t.is(Buffer.from(ours).toString('utf8'), expected, chatId)
  }
})

test.serial('createSession body for a server-side preload matches chat.createStartSessionAction', async (t) => {
  const cases = [
    { triggerConfig: { basePayload: { messages: ['cfg'], extra: true }, machine: 'micro', idleTimeoutInSeconds: 30 }, clientData: { userId: 'u' }, metadata: { plan: 'pro' }, tags: ['s'] },
    { triggerConfig: {}, clientData: undefined, metadata: undefined, tags: undefined },
  ]
  for (const { triggerConfig, clientData, metadata, tags } of cases) {
    const start = agentChat.createStartSessionAction('agent-p' as never, { triggerConfig, apiClient } as never)
    const expected = await referenceBody(() =>
      start({ chatId: 'pre-1', ...(clientData ? { clientData } : {}), ...(metadata ? { metadata } : {}), ...(tags ? { tags } : {}) } as never),
    )
    const options = { agentId: 'agent-p', triggerConfig, ...(tags ? { tags } : {}) }
    const descriptor = JSON.stringify({ kind: 'preload', chatId: 'pre-1', clientData, metadata })
    const ours = native.wireCreateSessionBody(JSON.stringify(options), descriptor)
    t.is(Buffer.from(ours).toString('utf8'), expected)
  }
})

test('configuration errors surface with the reference texts', (t) => {
  const err = t.throws(() =>
    native.wireCreateSessionBody(JSON.stringify({ agentId: 'a', triggerConfig: { concurrency: ['a', 'b', 'c'] } }), '{"kind":"preload","chatId":"c"}'),
  )
  t.is(err?.message, '500 The concurrency option accepts at most two named limits.')
  const bad = t.throws(() =>
    native.wireCreateSessionBody(JSON.stringify({ agentId: 'a', triggerConfig: { concurrency: 'bad name' } }), '{"kind":"preload","chatId":"c"}'),
  )
  t.is(bad?.message, '500 Concurrency limit "bad name": names are 1-122 characters using only letters, numbers, underscores and hyphens.')
})
