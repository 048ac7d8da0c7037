// A Fastify 5 app with a Head Start route.
//   npx chat-headstart dev   (or use Trigger.dev) and export the TRIGGER_API_URL and
//                            TRIGGER_SECRET_KEY it prints
//   npm start                → POST http://127.0.0.1:3002/api/chat
import Fastify from 'fastify'
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

const app = Fastify()
// The handler reads the raw body: a scope without Fastify's body parsers, and reply.hijack()
// hands the raw Node req/res over.
app.register(async (scope) => {
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser('*', (_request, _payload, done) => done(null))
  scope.post('/api/chat', (request, reply) => {
    reply.hijack()
    return listener(request.raw, reply.raw)
  })
})

const address = await app.listen({ port: Number(process.env.PORT ?? 3002), host: '127.0.0.1' })
console.log(`listening on ${address}/api/chat`)
