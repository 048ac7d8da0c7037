// Configuration resolves exactly like the reference's (docs/protocol.md §2.1): the
// `apiClient` option, @trigger.dev/sdk's global `configure()`, then the environment — read
// through the same global the SDK writes, without importing the SDK.
import test from 'ava'
import { configure } from '@trigger.dev/sdk'
import { apiClientManager } from '@trigger.dev/core/v3'
import { chat, startDevPlane, type DevPlane } from 'chat-headstart'
import { privateModule } from './package.helpers.ts'
import { firstTurnBody, mockModel, postTurn, serve, textParts } from './headstart.helpers.ts'

const ENV_NAMES = [
  'TRIGGER_API_URL',
  'TRIGGER_SECRET_KEY',
  'TRIGGER_ACCESS_TOKEN',
  'TRIGGER_RUN_TOKEN',
  'TRIGGER_PREVIEW_BRANCH',
  'VERCEL_GIT_COMMIT_REF',
  'TRIGGER_DEV_BRANCH',
]

/** Runs `fn` with exactly `env` among ENV_NAMES and `configured` as the SDK's global configuration. */
async function withConfig<T>(env: Record<string, string>, configured: object | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(ENV_NAMES.map((n) => [n, process.env[n]]))
  for (const n of ENV_NAMES) delete process.env[n]
  Object.assign(process.env, env)
  apiClientManager.disable()
  if (configured) configure(configured as any)
  try {
    return await fn()
  } finally {
    apiClientManager.disable()
    for (const n of ENV_NAMES) {
      if (saved[n] === undefined) delete process.env[n]
      else process.env[n] = saved[n]
    }
  }
}

/** What the reference's chat-server would use: its own resolution (`runWithConfig` + `clientOrThrow`). */
async function referenceResolves(apiClient: object | undefined) {
  const resolve = async () => {
    try {
      const client = apiClientManager.clientOrThrow()
      return {
        baseURL: client.baseUrl,
        token: client.getAuthenticationHeaders('createSession', false).Authorization.slice('Bearer '.length),
        branch: client.previewBranch || undefined,
      }
    } catch {
      return 'missing credential'
    }
  }
  return apiClient ? apiClientManager.runWithConfig(apiClient as any, resolve) : resolve()
}

// Internal export of lib/chat.js (not part of the public types).
const { resolveApiConfig } = (await privateModule('lib/chat.js')) as {
  resolveApiConfig(apiClient?: object): { baseURL: string; secretKey: string; branch?: string }
}

function oursResolves(apiClient: object | undefined) {
  try {
    const { baseURL, secretKey, branch } = resolveApiConfig(apiClient)
    return { baseURL, token: secretKey, branch }
  } catch {
    return 'missing credential'
  }
}

const cases: Array<[string, Record<string, string>, object | undefined, object | undefined]> = [
  ['env only', { TRIGGER_API_URL: 'http://env.test', TRIGGER_SECRET_KEY: 'tr_env' }, undefined, undefined],
  ['configure only', {}, { baseURL: 'http://configured.test', accessToken: 'tr_conf', previewBranch: 'feat-a' }, undefined],
  ['configure beats env', { TRIGGER_API_URL: 'http://env.test', TRIGGER_SECRET_KEY: 'tr_env', TRIGGER_PREVIEW_BRANCH: 'env-b' }, { baseURL: 'http://configured.test', accessToken: 'tr_conf' }, undefined],
  ['configure secretKey beats its accessToken', {}, { baseURL: 'http://c.test', accessToken: 'tr_access', secretKey: 'tr_secret' }, undefined],
  ['configure fills what env lacks', { TRIGGER_SECRET_KEY: 'tr_env' }, { baseURL: 'http://configured.test' }, undefined],
  ['option beats configure', {}, { baseURL: 'http://configured.test', accessToken: 'tr_conf', previewBranch: 'b1' }, { baseURL: 'http://option.test', accessToken: 'tr_opt', previewBranch: 'b2' }],
  ['option merges key by key with configure', { TRIGGER_API_URL: 'http://env.test' }, { accessToken: 'tr_conf' }, { baseURL: 'http://option.test' }],
  ["configure's accessToken beats the option's secretKey (reference merge quirk)", {}, { baseURL: 'http://c.test', accessToken: 'tr_conf' }, { secretKey: 'tr_opt' }],
  ['option with env fallback', { TRIGGER_SECRET_KEY: 'tr_env', VERCEL_GIT_COMMIT_REF: 'vercel-branch' }, undefined, { baseURL: 'http://option.test/' }],
  ['a run token alone is no credential outside a run', { TRIGGER_RUN_TOKEN: 'tr_run' }, { baseURL: 'http://c.test' }, undefined],
  ['dev branch sentinel ignored', { TRIGGER_SECRET_KEY: 'k', TRIGGER_DEV_BRANCH: 'default' }, undefined, undefined],
  ['nothing configured', {}, undefined, undefined],
]

test.serial('precedence: ours resolves URL, credential and branch exactly like the reference in every case', async (t) => {
  for (const [name, env, configured, apiClient] of cases) {
    const [ref, ours] = await withConfig(env, configured, async () => [await referenceResolves(apiClient), oursResolves(apiClient)])
    t.deepEqual(ours, ref, name)
  }
})

async function turnOnPlane(kind: 'ref' | 'ours', plane: DevPlane, chatId: string) {
  const opts = { agentId: 'exp-agent', run: async ({ streamText }: any) => streamText({ model: mockModel(textParts()) }) }
  const { chat: refChat } = await import('@trigger.dev/sdk/chat-server')
  const listener = kind === 'ref' ? refChat.toNodeListener(refChat.headStart(opts as any)) : chat.toNodeListener(chat.headStart(opts as any))
  const server = await serve(listener as any)
  try {
    return await postTurn(server.url, firstTurnBody(chatId))
  } finally {
    await server.close()
  }
}

test.serial('configure() alone points both handlers at the plane; configure() beats the environment', async (t) => {
  const configured = await startDevPlane()
  const fromEnv = await startDevPlane()
  t.teardown(async () => {
    await configured.close()
    await fromEnv.close()
  })
  for (const env of [{}, fromEnv.env]) {
    const label = Object.keys(env).length ? 'with env pointing elsewhere' : 'without env'
    await withConfig(env, { baseURL: configured.apiUrl, accessToken: configured.secretKey }, async () => {
      for (const kind of ['ref', 'ours'] as const) {
        const chatId = `cfg-${kind}-${Object.keys(env).length}`
        const turn = await turnOnPlane(kind, configured, chatId)
        t.is(turn.status, 200, `${kind} ${label}`)
        t.is(turn.chunks.at(-1)?.type, 'trigger:session-state', `${kind} ${label}`)
        const create = configured.requests().find((r) => r.path === '/api/v1/sessions' && r.body.includes(chatId))
        t.truthy(create, `${kind} ${label}: session created on the configured plane`)
        t.is(create!.headers.authorization, `Bearer ${configured.secretKey}`)
        t.false(fromEnv.requests().some((r) => r.body.includes(chatId)), `${kind} ${label}: nothing sent to the env plane`)
      }
    })
  }
})
