// The handler process of `npm run soak` (scripts/soak.mjs forks it): chat.headStart mounted on
// node:http with a mock model whose step 1 is a text answer, one tool call or two, picked by the
// user message (`soak:text`, `soak:one-tool`, `soak:two-tool`). It reports over IPC how many
// turns it is running (the `chat-headstart:turn` tracing channel) and how they ended, so the
// soak sees turns that never end; RSS and fds are read by the parent from /proc.
import http from 'node:http'
import diagnostics_channel from 'node:diagnostics_channel'
import { simulateReadableStream } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { chat } from '../index.js'
import { call, finish, text, tools } from './mock-parts.mjs'

const apiClient = JSON.parse(process.env.SOAK_API_CLIENT ?? '')

/** `word0 `, `word1 `, …: every delta of a turn distinct, so a duplicated one shows. */
const numbered = (words) => words.map((w, i) => `${w}${i} `)
const STEP_ONE = {
  text: [...text('s1', numbered(Array(12).fill('word'))), finish('stop')],
  'one-tool': [...text('s1', numbered(['Checking', 'the', 'weather'])), ...call(1, 'Paris'), finish('tool-calls')],
  'two-tool': [...text('s1', numbered(['Two', 'cities'])), ...call(1, 'Paris'), ...call(2, 'Rome'), finish('tool-calls')],
}

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
