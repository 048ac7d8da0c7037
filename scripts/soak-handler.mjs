// The handler process of `npm run soak` (scripts/soak.mjs forks it): chat.headStart mounted on
// node:http with a mock model whose step 1 is a text answer, one tool call or two, picked by the
// user message (`soak:text`, `soak:one-tool`, `soak:two-tool`). It reports over IPC how many
// turns it is running (the `chat-headstart:turn` tracing channel) and how they ended, so the
// soak sees turns that never end; RSS and fds are read by the parent from /proc.
import http from 'node:http'
import diagnostics_channel from 'node:diagnostics_channel'
import { simulateReadableStream, tool } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { z } from 'zod'
import { chat } from '../index.js'

const apiClient = JSON.parse(process.env.SOAK_API_CLIENT ?? '')

const usage = { inputTokens: { total: 3, noCache: 3 }, outputTokens: { total: 5, text: 5 } }
const finish = (unified) => ({ type: 'finish', finishReason: { unified, raw: unified }, usage })
const text = (id, words) => [
  { type: 'text-start', id },
  ...words.map((w, i) => ({ type: 'text-delta', id, delta: `${w}${i} ` })),
  { type: 'text-end', id },
]
const call = (n, city) => [
  { type: 'tool-input-start', id: `call_${n}`, toolName: 'getWeather' },
  { type: 'tool-input-delta', id: `call_${n}`, delta: JSON.stringify({ city }) },
  { type: 'tool-input-end', id: `call_${n}` },
  { type: 'tool-call', toolCallId: `call_${n}`, toolName: 'getWeather', input: JSON.stringify({ city }) },
]
const STEP_ONE = {
  text: [...text('s1', Array(12).fill('word')), finish('stop')],
  'one-tool': [...text('s1', ['Checking', 'the', 'weather']), ...call(1, 'Paris'), finish('tool-calls')],
  'two-tool': [...text('s1', ['Two', 'cities']), ...call(1, 'Paris'), ...call(2, 'Rome'), finish('tool-calls')],
}
const tools = { getWeather: tool({ description: 'weather of a city', inputSchema: z.object({ city: z.string() }) }) }

// A hosted model's shape, shortened: a time to first token, then a steady chunk rate.
const model = (parts) =>
  new MockLanguageModelV4({
    doStream: async () => ({
      stream: simulateReadableStream({
        chunks: [{ type: 'stream-start', warnings: [] }, ...parts],
        initialDelayInMs: 20 + Math.floor(Math.random() * 130),
        chunkDelayInMs: 2 + Math.floor(Math.random() * 8),
      }),
    }),
  })

const run = ({ streamText, messages }) => {
  const said = JSON.stringify(messages)
  const kind = Object.keys(STEP_ONE).find((k) => said.includes(`soak:${k}`)) ?? 'text'
  return streamText({ model: model(STEP_ONE[kind]), tools })
}

const turns = { started: 0, ended: 0, outcomes: {} }
diagnostics_channel.tracingChannel('chat-headstart:turn').subscribe({
  start() {
    turns.started++
  },
  asyncEnd(message) {
    turns.ended++
    turns.outcomes[message.outcome] = (turns.outcomes[message.outcome] ?? 0) + 1
  },
})

const handler = chat.headStart({ agentId: 'soak-agent', apiClient, run, idleTimeoutInSeconds: 60 })
const server = http.createServer(chat.toNodeListener(handler))
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))

process.on('message', (m) => {
  if (m === 'stats') {
    const { heapUsed, external } = process.memoryUsage()
    process.send({ stats: { activeTurns: turns.started - turns.ended, ...turns, outcomes: { ...turns.outcomes }, heapUsed, external } })
  }
  if (m === 'exit') server.close(() => process.exit(0))
})
process.on('disconnect', () => process.exit(0))
