// Where sessions live: the local session plane started in this process (default), or
// Trigger.dev when TRIGGER_SECRET_KEY is set (then your deployed chat.agent answers).
import { createAgentHook } from './agent.mjs'
import { createLocalModel } from './model.mjs'

/** Trigger.dev (cloud or self-hosted): nothing to start. */
export function triggerBackend(env) {
  return {
    local: false,
    apiUrl: (env.TRIGGER_API_URL ?? 'https://api.trigger.dev').replace(/\/+$/, ''),
    secretKey: env.TRIGGER_SECRET_KEY,
    close: async () => {},
  }
}

/**
 * Starts the local session plane. Its scripted agent runs every turn the way a deployed
 * chat.agent would: it boots `agentBootMs` after the run is triggered (session created, or a
 * message for a session without a live run), then the demo agent hook (agent.mjs) executes the
 * tools and calls `model` for step 2 / its own turns. `controlPlaneLatencyMs` is added to every
 * Trigger API response (the cloud round trip).
 */
export async function startLocalBackend({ model = createLocalModel(), agentBootMs = 0, controlPlaneLatencyMs = 0, log = () => {} } = {}) {
  const { startDevPlane } = await import('../index.js')
  if (typeof startDevPlane !== 'function') {
    throw new Error('the local session plane (startDevPlane from chat-headstart) is not built in this checkout')
  }
  let hook
  const plane = await startDevPlane({
    agent: { bootDelayMs: agentBootMs, onTurn: (input) => hook(input) },
    faults: controlPlaneLatencyMs > 0 ? { latencyMs: controlPlaneLatencyMs } : undefined,
  })
  hook = createAgentHook({ plane, model, log })
  return { local: true, apiUrl: plane.apiUrl, secretKey: plane.secretKey, plane, close: () => plane.close() }
}
