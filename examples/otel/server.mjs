// A Head Start route whose turns show up as OpenTelemetry spans (bridge.mjs), printed to the
// console by the SDK's ConsoleSpanExporter. Swap in your exporter (OTLP, …) in production.
//
//   node examples/otel/server.mjs          → POST http://127.0.0.1:3004/api/chat
//
// With TRIGGER_API_URL / TRIGGER_SECRET_KEY set it talks to that session API (your Trigger.dev
// project, or `npx chat-headstart dev`); without, it starts the local session plane in-process.
// No package.json of its own: inside this repository `chat-headstart` resolves to the repository
// itself (a package can import itself by its name) and @opentelemetry/* from its devDependencies.
// Outside, `npm install chat-headstart ai @opentelemetry/api @opentelemetry/sdk-trace-base`.
import http from 'node:http'
import { trace } from '@opentelemetry/api'
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { jsonSchema, simulateReadableStream, tool } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
import { chat, startDevPlane } from 'chat-headstart'
import { bridgeToOpenTelemetry } from './bridge.mjs'

const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] })
trace.setGlobalTracerProvider(provider)
bridgeToOpenTelemetry() // uses the global provider's tracer

const plane = process.env.TRIGGER_SECRET_KEY
  ? undefined
  : await startDevPlane({ agent: { toolOutputs: { getWeather: { city: 'Paris', tempC: 20 } }, text: ['It is ', '20C in Paris.'] } })

// A scripted model so the app runs without a provider key: weather questions get a tool call
// (the agent runs it after the handover), anything else a short text.
const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } }
const model = new MockLanguageModelV4({
  doStream: async ({ prompt }) => {
    const weather = /weather/i.test(JSON.stringify(prompt))
    const text = weather ? 'Let me check.' : 'Hello from the local model.'
    return {
      stream: simulateReadableStream({
        chunks: [
          { type: 'text-start', id: 't1' },
          ...text.split(/(?<= )/).map((delta) => ({ type: 'text-delta', id: 't1', delta })),
          { type: 'text-end', id: 't1' },
          ...(weather ? [{ type: 'tool-call', toolCallId: 'call-1', toolName: 'getWeather', input: '{"city":"Paris"}' }] : []),
          { type: 'finish', finishReason: { unified: weather ? 'tool-calls' : 'stop', raw: undefined }, usage },
        ],
        initialDelayInMs: 200,
        chunkDelayInMs: 20,
      }),
    }
  },
})

const listener = chat.toNodeListener(
  chat.headStart({
    agentId: 'demo-agent', // the id of your chat.agent task
    ...(plane ? { apiClient: plane.apiClient } : {}),
    run: ({ streamText }) =>
      streamText({
        model,
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
server.listen(Number(process.env.PORT ?? 3004), '127.0.0.1', () => {
  const url = `http://127.0.0.1:${server.address().port}/api/chat`
  console.log(`listening on ${url}`)
  console.log(`try: curl -N ${url} -H 'content-type: application/json' -d '{"chatId":"otel-1","trigger":"submit-message","headStartMessages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"Weather in Paris?"}]}]}'`)
})
