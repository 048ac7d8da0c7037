// Minimal Fastify 5 server with a Head Start route.
//   1. npx chat-headstart dev          (or use Trigger.dev) and export the two variables it prints:
//      TRIGGER_API_URL, TRIGGER_SECRET_KEY
//   2. node examples/fastify/server.mjs   → POST http://127.0.0.1:3002/api/chat
import Fastify from 'fastify'
import { jsonSchema, tool } from 'ai'
// chat-headstart's `chat` is a drop-in for `chat` from '@trigger.dev/sdk/chat-server'.
import { chat } from 'chat-headstart'
// A deterministic local model so the example runs without API keys; use your provider instead.
import { createLocalModel } from '../../demo/model.mjs'

const model = createLocalModel()

const listener = chat.toNodeListener(
  chat.headStart({
    agentId: 'demo-agent',
    run: async ({ streamText }) =>
      streamText({
        model,
        system: 'You are a concise assistant.',
        tools: {
          getWeather: tool({
            description: 'Get the current weather for a city',
            inputSchema: jsonSchema({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
          }),
        },
      }),
  }),
)

const app = Fastify()
// Let the handler read the raw body: register this route in a scope whose JSON parser leaves
// the request stream untouched, then hand the raw Node req/res over with reply.hijack().
app.register(async (scope) => {
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser('*', (_req, _payload, done) => done(null))
  scope.post('/api/chat', (request, reply) => {
    reply.hijack()
    return listener(request.raw, reply.raw)
  })
})

const port = Number(process.env.PORT ?? 3002)
const address = await app.listen({ port, host: '127.0.0.1' })
console.log(`listening on ${address}/api/chat`)
