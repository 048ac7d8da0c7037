// The mock model's stream parts for the scripts that drive head-start turns without a hosted model
// (scripts/soak-handler.mjs, scripts/memcheck-drive.mjs): text, getWeather tool calls, a finish.
import { tool } from 'ai'
import { z } from 'zod'

const usage = { inputTokens: { total: 3, noCache: 3 }, outputTokens: { total: 5, text: 5 } }

export const finish = (unified) => ({ type: 'finish', finishReason: { unified, raw: unified }, usage })

/** A text block `id` streamed as the given deltas. */
export const text = (id, deltas) => [
  { type: 'text-start', id },
  ...deltas.map((delta) => ({ type: 'text-delta', id, delta })),
  { type: 'text-end', id },
]

/** Tool call `call_<n>` of getWeather for `city`, its input streamed first. */
export const call = (n, city) => [
  { type: 'tool-input-start', id: `call_${n}`, toolName: 'getWeather' },
  { type: 'tool-input-delta', id: `call_${n}`, delta: JSON.stringify({ city }) },
  { type: 'tool-input-end', id: `call_${n}` },
  { type: 'tool-call', toolCallId: `call_${n}`, toolName: 'getWeather', input: JSON.stringify({ city }) },
]

export const tools = { getWeather: tool({ description: 'weather of a city', inputSchema: z.object({ city: z.string() }) }) }
