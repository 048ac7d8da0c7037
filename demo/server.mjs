// The demo app: an Express 5 server that mounts the head-start handler at /api/chat and serves
// the chat page at /. `startDemo()` wires it to a backend (the local session plane started here,
// or Trigger.dev when TRIGGER_SECRET_KEY is set) and a model (the local one, or a provider).
import http from 'node:http'
import express from 'express'
import { jsonSchema, tool } from 'ai'
import { loadChatImpl, describeImpl } from './impl.mjs'
import { pageHtml, pageScript } from './page/bundle.mjs'
import { createProxy, supportsCors } from './proxy.mjs'
import { getWeatherInputSchema } from './weather.mjs'
import { startLocalBackend, triggerBackend } from './backend.mjs'
import { resolveModel } from './models.mjs'

export const AGENT_ID = 'demo-agent'

export const SYSTEM_PROMPT = 'You are a concise assistant. Use getWeather for weather questions.'

/** Step 1's tools: schema only. The agent executes them after the handover. */
export const schemaOnlyTools = {
  getWeather: tool({
    description: 'Get the current weather for a city',
    inputSchema: jsonSchema(getWeatherInputSchema),
  }),
}

/** The `chat.headStart` options the demo (and the examples) use. */
export function headStartOptions({ model, apiClient, agentId = AGENT_ID, idleTimeoutInSeconds = 60 }) {
  return {
    agentId,
    idleTimeoutInSeconds,
    ...(apiClient ? { apiClient } : {}),
    run: async ({ streamText }) => streamText({ model, system: SYSTEM_PROMPT, tools: schemaOnlyTools }),
  }
}

/**
 * Builds the Express app. `backend` = { apiUrl, secretKey, local }, `browserBaseURL` = where the
 * page sends turn 2+ (the session API, or '/trigger' for the proxy mounted here).
 */
export function createDemoApp({ chat, model, backend, browserBaseURL, label }) {
  const apiClient = { baseURL: backend.apiUrl, accessToken: backend.secretKey }
  const handler = chat.headStart(headStartOptions({ model, apiClient }))

  const app = express()
  app.disable('x-powered-by')

  // Mounted before any body parser: the handler reads the request body itself.
  app.post('/api/chat', chat.toNodeListener(handler))

  // Session route for the transport's `accessToken` (PAT refresh) and `startSession` callbacks:
  // creates the session if needed (idempotent on chatId) and returns its public access token.
  let startSessionAction
  app.post('/api/chat/session', express.json({ limit: '16kb' }), async (req, res) => {
    const chatId = req.body?.chatId
    if (typeof chatId !== 'string' || chatId.length === 0 || chatId.length > 256) {
      return res.status(400).json({ error: 'body must be {"chatId": "<1-256 chars>"}' })
    }
    try {
      startSessionAction ??= (await import('@trigger.dev/sdk/ai')).chat.createStartSessionAction(AGENT_ID, { apiClient })
      // Creating the session triggers the agent run (on the local plane: its scripted agent).
      const session = await startSessionAction({ chatId })
      res.json({ publicAccessToken: session.publicAccessToken, ...(session.pendingVersion ? { pendingVersion: true } : {}) })
    } catch (error) {
      console.error('session route:', error)
      res.status(502).json({ error: 'could not create the chat session' })
    }
  })

  // Same-origin access to the local plane for browsers (or plane builds) without CORS.
  if (backend.local || browserBaseURL === '/trigger') app.use('/trigger', createProxy(backend.apiUrl))

  app.get('/app.js', async (_req, res, next) => {
    try {
      const js = await pageScript()
      res.type('text/javascript').set('Cache-Control', 'no-cache').send(js)
    } catch (error) {
      next(error)
    }
  })
  app.get('/', (_req, res) => {
    res.type('html').send(pageHtml({ agentId: AGENT_ID, headStart: '/api/chat', sessionRoute: '/api/chat/session', baseURL: browserBaseURL, label }))
  })
  app.get('/healthz', (_req, res) => res.json({ ok: true }))
  return app
}

/**
 * Starts everything in this process: the backend, the agent, the app. Options: `port` (0 =
 * ephemeral), `host`, `impl` ('ours' | 'reference'), `env` (defaults to process.env),
 * `modelTiming`, `agentBootMs`, `controlPlaneLatencyMs`, `log`.
 * Resolves with { url, apiUrl, backend, impl, modelName, close() }.
 */
export async function startDemo(options = {}) {
  const env = options.env ?? process.env
  const log = options.log ?? (() => {})
  const impl = await loadChatImpl(options.impl)
  const { model, name: modelName } = await resolveModel({ env, timing: options.modelTiming })
  const backend = env.TRIGGER_SECRET_KEY
    ? triggerBackend(env)
    : await startLocalBackend({ model, agentBootMs: options.agentBootMs, controlPlaneLatencyMs: options.controlPlaneLatencyMs, log })

  const host = options.host ?? '127.0.0.1'
  const server = http.createServer()
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, resolve)
  })
  const { port } = server.address()
  const origin = `http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${port}`
  // The browser talks to the session API directly when it allows cross-origin calls (Trigger.dev
  // does); otherwise through this server.
  const direct = !backend.local || (await supportsCors(backend.apiUrl, origin))
  const browserBaseURL = direct ? backend.apiUrl : '/trigger'
  const handlerLabel = { ours: 'chat-headstart', reference: 'reference implementation' }[impl.name] ??
    `chat-headstart (headStart: ${impl.parts.headStart}, toNodeListener: ${impl.parts.toNodeListener})`
  const label = `${backend.local ? 'local session plane' : `Trigger.dev (${backend.apiUrl})`} · ${modelName} · ${handlerLabel}`
  const app = createDemoApp({ chat: impl.chat, model, backend, browserBaseURL, label })
  server.on('request', app)
  // Bundle the page now so the first visit is instant.
  pageScript().catch((error) => log(`page bundle failed: ${error.message}`))

  return {
    url: `${origin}/`,
    apiUrl: backend.apiUrl,
    secretKey: backend.secretKey,
    backend,
    impl,
    implDescription: describeImpl(impl),
    modelName,
    browserBaseURL,
    async close() {
      server.closeAllConnections?.()
      await new Promise((resolve) => server.close(() => resolve()))
      await backend.close?.()
    },
  }
}
