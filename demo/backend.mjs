// Where sessions live: the local session plane started in this process (default), or
// Trigger.dev when TRIGGER_SECRET_KEY is set (then your deployed chat.agent answers).
import { weatherAnswer, weatherFor } from './weather.mjs'
import { tokenize } from './model.mjs'

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
 * Starts the local session plane with its scripted agent answering head-start handovers:
 * after `agentBootMs` it executes the `getWeather` calls of step 1 (deterministic output from the
 * city) and streams the step-2 answer after an emulated LLM time to first token (`stepTwoTtftMs`).
 */
export async function startLocalBackend({ agentBootMs = 0, controlPlaneLatencyMs = 0, stepTwoTtftMs = 400, log = () => {} } = {}) {
  const { startDevPlane } = await import('../index.js')
  if (typeof startDevPlane !== 'function') {
    throw new Error('the local session plane (startDevPlane from chat-headstart) is not built in this checkout')
  }
  const plane = await startDevPlane({
    latencyMs: controlPlaneLatencyMs,
    agent: {
      bootDelayMs: agentBootMs,
      async onHandover({ toolCalls }) {
        const toolOutputs = toolCalls.map((call) => ({ toolCallId: call.toolCallId, output: weatherFor(String(call.input?.city ?? 'Paris')) }))
        await new Promise((resolve) => setTimeout(resolve, stepTwoTtftMs))
        const text = toolOutputs.map((t) => weatherAnswer(t.output)).join(' ')
        return { toolOutputs, textDeltas: tokenize(text) }
      },
    },
  })
  log(`local session plane at ${plane.apiUrl}`)
  return { local: true, apiUrl: plane.apiUrl, secretKey: plane.secretKey, plane, close: () => plane.close() }
}
