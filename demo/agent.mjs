// The demo agent's "brain", plugged into the local plane's scripted agent through its `onTurn`
// hook. The plane owns the run (boot delay, reading `session.in`, the turn-complete control
// record with its cursors and token); this hook produces the turn's data chunks the way the real
// `chat.agent` would, streaming them to `session.out` itself (unary S2 appends of
// `{"data":chunk,"id":…}` records, as the agent's writer does) so the browser sees realistic
// timing, then tells the plane it wrote them (`chunks: []`):
//   - after a handover (isFinal false): `start`, the executed tool outputs, then step 2 from the
//     model (its time to first token, then tokens at its pace) — docs/protocol.md §7.2;
//   - on a `message` record (turn 2+, or any turn without Head Start): the AI SDK `streamText`
//     with the same model and an executing `getWeather` tool, steps included.
// History is what this agent saw plus its own answers (the local model only reads the last user
// message and tool results, so the head-start turn it did not see does not change its answers).
import { convertToModelMessages, jsonSchema, stepCountIs, streamText, tool } from 'ai'
import { getWeatherInputSchema, weatherFor } from './weather.mjs'

const NANOID = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'
const partId = () => Array.from(crypto.getRandomValues(new Uint8Array(7)), (b) => NANOID[b & 63]).join('')

/** The demo's tool with an `execute`: what the agent runs. */
export const executingTools = {
  getWeather: tool({
    description: 'Get the current weather for a city',
    inputSchema: jsonSchema(getWeatherInputSchema),
    execute: async ({ city }) => weatherFor(city),
  }),
}

/** Appends UI chunks to one S2 stream, batching whatever accumulates while an append is in flight. */
function chunkWriter(appendRecords) {
  let queue = []
  let flushing = null
  let failure = null
  const drain = async () => {
    while (queue.length > 0) {
      const batch = queue
      queue = []
      await appendRecords(batch.map((chunk) => ({ body: JSON.stringify({ data: chunk, id: partId() }) })))
    }
  }
  return {
    write(chunk) {
      if (failure) throw failure
      queue.push(chunk)
      flushing ??= drain()
        .catch((error) => {
          failure = error
        })
        .finally(() => {
          flushing = null
        })
    },
    async done() {
      while (flushing) await flushing
      if (failure) throw failure
      await drain()
    },
  }
}

/**
 * @param {object} options
 * @param {import('../index.js').DevPlane} options.plane the started local plane
 * @param {import('ai').LanguageModel} options.model the model the agent calls (step 2, own turns)
 * @param {(line: string) => void} [options.log]
 * @returns {(input: import('../index.js').AgentTurnInput) => Promise<object | undefined>} the `onTurn` hook
 */
export function createAgentHook({ plane, model, log = () => {} }) {
  const histories = new Map()
  const s2Base = plane.s2Url.replace(/\/+$/, '')

  function outStream(input) {
    const session = plane.sessions().find((s) => s.id === input.sessionId || s.externalId === input.chatId)
    if (!session) throw new Error(`agent hook: unknown session ${input.chatId}`)
    const url = `${s2Base}/streams/${encodeURIComponent(session.streams.out)}/records`
    return chunkWriter(async (records) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${plane.s2AccessToken}`, 's2-basin': plane.basin, 'Content-Type': 'application/json' },
        body: JSON.stringify({ records }),
      })
      if (!res.ok) throw new Error(`S2 append failed: ${res.status} ${await res.text()}`)
      await res.arrayBuffer()
    })
  }

  /** Step 2 after a handover: tool outputs now, then the model's answer (with its TTFT). */
  async function handover(input) {
    const out = outStream(input)
    out.write({ type: 'start', messageId: input.messageId })
    const results = []
    for (const call of input.toolCalls ?? []) {
      if (call.toolName !== 'getWeather') {
        out.write({ type: 'tool-output-error', toolCallId: call.toolCallId, errorText: `unknown tool ${call.toolName}` })
        continue
      }
      const output = weatherFor(String(call.input?.city ?? 'Paris'))
      out.write({ type: 'tool-output-available', toolCallId: call.toolCallId, output })
      results.push({ type: 'tool-result', toolCallId: call.toolCallId, toolName: call.toolName, output: { type: 'json', value: output } })
    }
    out.write({ type: 'start-step' })
    const { stream } = await model.doStream({ prompt: [{ role: 'tool', content: results }], tools: [] })
    for await (const part of stream) {
      if (part.type === 'text-start') out.write({ type: 'text-start', id: part.id })
      else if (part.type === 'text-delta') out.write({ type: 'text-delta', id: part.id, delta: part.delta })
      else if (part.type === 'text-end') out.write({ type: 'text-end', id: part.id })
      else if (part.type === 'error') throw part.error
    }
    out.write({ type: 'finish-step' })
    out.write({ type: 'finish', finishReason: 'stop' })
    await out.done()
  }

  /** An ordinary turn: the agent's own streamText call over its history. */
  async function message(input) {
    const history = histories.get(input.chatId) ?? []
    histories.set(input.chatId, history)
    const incoming = input.message
    if (incoming && typeof incoming === 'object') {
      const at = history.findIndex((m) => m.id === incoming.id)
      if (at >= 0) history[at] = incoming
      else history.push(incoming)
    }
    const out = outStream(input)
    const result = streamText({
      model,
      messages: await convertToModelMessages(history),
      tools: executingTools,
      stopWhen: stepCountIs(5),
    })
    const ui = result.toUIMessageStream({
      originalMessages: history,
      generateMessageId: () => input.messageId,
      onFinish: ({ responseMessage }) => {
        if (!history.includes(responseMessage)) history.push(responseMessage)
      },
    })
    for await (const chunk of ui) out.write(chunk)
    await out.done()
  }

  return async function onTurn(input) {
    try {
      if (input.kind === 'handover') {
        // isFinal: the agent only closes the turn (the plane writes turn-complete).
        if (input.isFinal) return undefined
        await handover(input)
      } else if (input.kind === 'message') {
        await message(input)
      } else {
        return undefined
      }
      // The chunks are on session.out already: the plane adds only the turn-complete record.
      return { chunks: [] }
    } catch (error) {
      log(`agent: ${input.chatId} turn ${input.turn} failed: ${error?.message ?? error}`)
      throw error
    }
  }
}
