// Minimal Express 5 server with a Head Start route.
//   1. npx chat-headstart dev          (or use Trigger.dev) and export the two variables it prints:
//      TRIGGER_API_URL, TRIGGER_SECRET_KEY
//   2. node examples/express/server.mjs   → POST http://127.0.0.1:3001/api/chat
// Point the browser's TriggerChatTransport at it with `headStart: "/api/chat"`.
import express from 'express'
import { jsonSchema, tool } from 'ai'
// chat-headstart's `chat` is a drop-in for `chat` from '@trigger.dev/sdk/chat-server'.
import { chat } from 'chat-headstart'
// A deterministic local model so the example runs without API keys; use your provider instead,
// e.g. `import { openai } from '@ai-sdk/openai'` and `model: openai('gpt-4o-mini')`.
import { createLocalModel } from '../../demo/model.mjs'

const model = createLocalModel()

const headStart = chat.headStart({
  agentId: 'demo-agent', // the id of your chat.agent task
  run: async ({ streamText }) =>
    streamText({
      model,
      system: 'You are a concise assistant.',
      // Schema only: the agent run executes tools after the handover.
      tools: {
        getWeather: tool({
          description: 'Get the current weather for a city',
          inputSchema: jsonSchema({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
        }),
      },
    }),
})

const app = express()
// Mount the handler before any body parser that would consume the request body.
app.post('/api/chat', chat.toNodeListener(headStart))

const port = Number(process.env.PORT ?? 3001)
const server = app.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/api/chat`)
})
