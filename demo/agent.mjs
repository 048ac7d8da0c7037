// The demo's stand-in for a deployed `chat.agent` run, for the turns the plane's scripted agent
// does not answer: `message` records on `session.in` (turn 2+, and every turn of a chat started
// without Head Start). It speaks only the public protocol, like a real agent:
//   - tails `session.in` over the Trigger API's SSE route (secret key, `Timeout-Seconds`),
//   - runs the AI SDK `streamText` with the same model and an executing `getWeather` tool,
//   - writes each UI chunk to `session.out` as an S2 record `{"data":chunk,"id":…}` with unary S2
//     appends (credentials from `PUT /realtime/v1/sessions/{id}/out`), then the header-only
//     `turn-complete` control record carrying the `.in` cursor it consumed (protocol §7.3).
// History is what this agent saw on `.in` plus its own answers (the local model only looks at
// the last user message and tool results, so a head-start turn 1 it did not see does not matter).
import { createParser } from 'eventsource-parser'
import { convertToModelMessages, generateId, jsonSchema, stepCountIs, streamText, tool } from 'ai'
import { getWeatherInputSchema, weatherFor } from './weather.mjs'

const NANOID = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'
const partId = () => Array.from(crypto.getRandomValues(new Uint8Array(7)), (b) => NANOID[b & 63]).join('')

/** The demo's tool with an `execute`: what the agent runs after a handover or in its own turns. */
export const executingTools = {
  getWeather: tool({
    description: 'Get the current weather for a city',
    inputSchema: jsonSchema(getWeatherInputSchema),
    execute: async ({ city }) => weatherFor(city),
  }),
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve()
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    }, { once: true })
  })
}

/**
 * @param {object} options
 * @param {string} options.apiUrl Trigger API base URL (the local plane).
 * @param {string} options.secretKey Secret key for the API.
 * @param {import('ai').LanguageModel} options.model
 * @param {number} [options.idleTimeoutSeconds] How long a run waits for the next message (default 600).
 * @param {(line: string) => void} [options.log]
 */
export function createDemoAgent({ apiUrl, secretKey, model, idleTimeoutSeconds = 600, log = () => {} }) {
  const base = apiUrl.replace(/\/+$/, '')
  const runs = new Map()
  const shutdown = new AbortController()
  const auth = { Authorization: `Bearer ${secretKey}` }

  async function openOut(chatId) {
    const res = await fetch(`${base}/realtime/v1/sessions/${encodeURIComponent(chatId)}/out`, {
      method: 'PUT',
      headers: { ...auth, 'Content-Type': 'application/json' },
      signal: shutdown.signal,
    })
    if (!res.ok) throw new Error(`PUT session.out failed: ${res.status} ${await res.text()}`)
    await res.arrayBuffer()
    let endpoint = res.headers.get('x-s2-endpoint') ?? 'https://a.s2.dev/v1'
    if (!/^https?:\/\//.test(endpoint)) endpoint = `https://${endpoint}`
    if (!/^https?:\/\/[^/]+\/./.test(endpoint)) endpoint = `${endpoint.replace(/\/$/, '')}/v1`
    const stream = res.headers.get('x-s2-stream-name')
    const basin = res.headers.get('x-s2-basin')
    const token = res.headers.get('x-s2-access-token')
    if (!stream || !basin || !token) throw new Error('PUT session.out answered without S2 credentials')
    const url = `${endpoint.replace(/\/$/, '')}/streams/${encodeURIComponent(stream)}/records`
    /** Appends records (one unary S2 append) and resolves with the first seq number. */
    return async function append(records) {
      const r = await fetch(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 's2-basin': basin, 'Content-Type': 'application/json' },
        body: JSON.stringify({ records }),
        signal: shutdown.signal,
      })
      if (!r.ok) throw new Error(`S2 append failed: ${r.status} ${await r.text()}`)
      const ack = await r.json()
      return ack.start?.seq_num
    }
  }

  /** Writes UI chunks as they come, batching whatever accumulated while an append was in flight. */
  function chunkWriter(append) {
    let queue = []
    let flushing = null
    let failure = null
    const flush = async () => {
      while (queue.length > 0) {
        const batch = queue
        queue = []
        await append(batch.map((chunk) => ({ body: JSON.stringify({ data: chunk, id: partId() }) })))
      }
    }
    return {
      write(chunk) {
        if (failure) throw failure
        queue.push(chunk)
        flushing ??= flush()
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
        await flush()
      },
    }
  }

  async function runTurn(state, payload, inSeq) {
    const message = payload?.message
    if (message && typeof message === 'object') {
      const at = state.history.findIndex((m) => m.id === message.id)
      if (at >= 0) state.history[at] = message
      else state.history.push(message)
    }
    const messageId = generateId()
    const abort = new AbortController()
    state.currentTurn = abort
    const writer = chunkWriter(state.append)
    try {
      const result = streamText({
        model,
        messages: await convertToModelMessages(state.history),
        tools: executingTools,
        stopWhen: stepCountIs(5),
        abortSignal: AbortSignal.any([abort.signal, shutdown.signal]),
      })
      const ui = result.toUIMessageStream({
        originalMessages: state.history,
        generateMessageId: () => messageId,
        onFinish: ({ responseMessage }) => {
          state.history.push(responseMessage)
        },
      })
      for await (const chunk of ui) writer.write(chunk)
      await writer.done()
    } finally {
      state.currentTurn = undefined
    }
    await state.append([
      {
        body: '',
        headers: [
          ['trigger-control', 'turn-complete'],
          ['session-in-event-id', String(inSeq)],
          ['session-in-consumed-id', String(inSeq)],
        ],
      },
    ])
    log(`agent: ${state.chatId} turn done (.in seq ${inSeq})`)
  }

  /** Reads `.in` records after `cursor` until the idle window passes; yields { seq, record }. */
  async function* tailIn(chatId, state) {
    while (!shutdown.signal.aborted) {
      const headers = { ...auth, Accept: 'text/event-stream', 'Timeout-Seconds': String(Math.min(600, idleTimeoutSeconds)) }
      if (state.cursor !== undefined) headers['Last-Event-ID'] = String(state.cursor)
      const res = await fetch(`${base}/realtime/v1/sessions/${encodeURIComponent(chatId)}/in`, { headers, signal: shutdown.signal })
      if (!res.ok || !res.body) throw new Error(`session.in subscription failed: ${res.status}`)
      const pending = []
      let sawRecord = false
      const parser = createParser({
        onEvent(event) {
          if (event.event !== 'batch') return
          const batch = JSON.parse(event.data)
          for (const record of batch.records ?? []) pending.push(record)
        },
      })
      const decoder = new TextDecoder()
      for await (const bytes of res.body) {
        parser.feed(decoder.decode(bytes, { stream: true }))
        while (pending.length > 0) {
          const record = pending.shift()
          state.cursor = record.seq_num
          sawRecord = true
          yield record
        }
      }
      // A clean end with nothing new means the idle window passed: the run exits.
      if (!sawRecord) return
    }
  }

  async function run(chatId, { bootDelayMs }) {
    const state = { chatId, history: [], cursor: undefined, currentTurn: undefined, append: undefined }
    await sleep(bootDelayMs, shutdown.signal)
    if (shutdown.signal.aborted) return
    state.append = await openOut(chatId)
    const turns = []
    for await (const record of tailIn(chatId, state)) {
      if ((record.headers ?? []).some(([name]) => name === '')) continue // S2 command record
      let chunk
      try {
        chunk = JSON.parse(JSON.parse(record.body).data)
      } catch {
        continue
      }
      if (chunk?.kind === 'stop') state.currentTurn?.abort(new Error('stopped by the user'))
      if (chunk?.kind !== 'message') continue // handover / handover-skip belong to the plane's agent
      // Turns run one after another, in .in order, while the reader keeps watching for `stop`.
      const previous = turns.at(-1) ?? Promise.resolve()
      turns.push(
        previous
          .then(() => runTurn(state, chunk.payload, record.seq_num))
          .catch((error) => log(`agent: ${chatId} turn failed: ${error?.message ?? error}`)),
      )
    }
    await Promise.allSettled(turns)
  }

  return {
    /**
     * Emulates the platform triggering a run for a session: after `bootDelayMs` (dequeue + cold
     * start + hooks) the run starts reading `.in`. At most one run per chat at a time.
     */
    dispatch(chatId, { bootDelayMs = 0 } = {}) {
      if (runs.has(chatId)) return runs.get(chatId)
      const done = run(chatId, { bootDelayMs })
        .catch((error) => {
          if (!shutdown.signal.aborted) log(`agent: ${chatId} run failed: ${error?.message ?? error}`)
        })
        .finally(() => runs.delete(chatId))
      runs.set(chatId, done)
      return done
    },
    async close() {
      shutdown.abort()
      await Promise.allSettled([...runs.values()])
    },
  }
}
