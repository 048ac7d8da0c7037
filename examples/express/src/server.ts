// An Express 5 app with a Head Start route, in TypeScript.
//   npx chat-headstart dev      (or use Trigger.dev) and export the TRIGGER_API_URL and
//                               TRIGGER_SECRET_KEY it prints
//   npm run build && npm start  → POST http://127.0.0.1:3001/api/chat
// Point the browser's TriggerChatTransport at it with `headStart: "/api/chat"`.
import express from 'express'
import type { AddressInfo } from 'node:net'
import { jsonSchema, tool } from 'ai'
import { chat } from 'chat-headstart'
import { chooseModel } from './model.js'

const model = await chooseModel()

const headStart = chat.headStart({
  agentId: 'demo-agent', // the id of your chat.agent task
  run: async ({ streamText }) =>
    streamText({
      model,
      system: 'You are a concise assistant.',
      // Schema only: the agent run executes the tool after the handover.
      tools: {
        getWeather: tool({
          description: 'Get the current weather for a city',
          inputSchema: jsonSchema<{ city: string }>({
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
          }),
        }),
      },
    }),
})

const app = express()
// Before any body parser: the handler reads the request body itself.
app.post('/api/chat', chat.toNodeListener(headStart))

const server = app.listen(Number(process.env.PORT ?? 3001), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  console.log(`listening on http://127.0.0.1:${port}/api/chat`)
})
