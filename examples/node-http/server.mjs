// A plain node:http server with a Head Start route, no framework.
//   npx chat-headstart dev   (or use Trigger.dev) and export the TRIGGER_API_URL and
//                            TRIGGER_SECRET_KEY it prints
//   npm start                → POST http://127.0.0.1:3003/api/chat
import http from 'node:http'
import { jsonSchema, tool } from 'ai'
import { chat } from 'chat-headstart'
import { chooseModel } from './model.mjs'

const model = await chooseModel()

const listener = chat.toNodeListener(
  chat.headStart({
    agentId: 'demo-agent', // the id of your chat.agent task
    run: async ({ streamText }) =>
      streamText({
        model,
        system: 'You are a concise assistant.',
        // Schema only: the agent run executes the tool after the handover.
        tools: {
          getWeather: tool({
            description: 'Get the current weather for a city',
            inputSchema: jsonSchema({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
          }),
        },
      }),
  }),
)

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && new URL(req.url ?? '/', 'http://localhost').pathname === '/api/chat') return void listener(req, res)
  res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
})
server.listen(Number(process.env.PORT ?? 3003), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/api/chat`)
})
