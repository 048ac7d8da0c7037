// examples/otel/bridge.mjs (the example's own module: diagnostics channels → OpenTelemetry spans)
// against head-start turns on the local plane, its spans collected by the OpenTelemetry SDK's
// in-memory exporter: the turn span and its phase children, their parent/child relation, times
// and attributes; a failed turn's error status; and that a turn nests under the span active where
// the handler is called (the HTTP request's span in an instrumented app).
import test from 'ava'
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { chat, startDevPlane } from 'chat-headstart'
import { bridgeToOpenTelemetry } from '../examples/otel/bridge.mjs'
import { firstTurnBody, mockModel, oneToolCall, postTurn, serve, weatherTools } from './headstart.helpers.ts'
import { eventually } from './poll.ts'

// What an instrumented app registers (the SDK's NodeTracerProvider does it): without a context
// manager there is no active span to nest under.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const tracer = provider.getTracer('otel-spec')
const bridge = bridgeToOpenTelemetry({ tracer })
test.after.always(() => bridge.unsubscribe())

let plane: Awaited<ReturnType<typeof startDevPlane>>
let handler: (req: Request) => Promise<Response>
test.before(async () => {
  plane = await startDevPlane({ agent: { toolOutputs: { getWeather: { city: 'Paris', tempC: 20 } }, text: ['It is ', '20C.'] } } as any)
  const tools = await weatherTools()
  handler = chat.headStart({
    agentId: 'otel-agent',
    apiClient: plane.apiClient,
    run: ({ streamText }: any) => streamText({ model: mockModel(oneToolCall, { chunkDelayInMs: 5 }), tools }),
  } as any)
})
test.after.always(() => plane?.close())

const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6
/** The turn span of `chatId` and its children, once the turn span ended and `children` of them did. */
async function spansOf(chatId: string, children = 0) {
  const found = await eventually(() => {
    const all = exporter.getFinishedSpans()
    const turn = all.find((s) => s.name === 'chat-headstart.turn' && s.attributes['chat_headstart.chat_id'] === chatId)
    if (!turn) return undefined
    const kids = all.filter((s) => s.parentSpanContext?.spanId === turn.spanContext().spanId)
    return kids.length >= children ? { turn, children: kids } : undefined
  })
  const { turn, children: kids } = found!
  const byName: Record<string, ReadableSpan | undefined> = Object.fromEntries(kids.map((s) => [s.name, s]))
  return { turn, children: kids, byName }
}

test.serial('a tool-call turn: one turn span with its phases as children, in order, with the documented attributes', async (t) => {
  const server = await serve(chat.toNodeListener(handler) as any)
  t.teardown(() => server.close())
  const result = await postTurn(server.url, firstTurnBody('otel-tool'))
  t.is(result.status, 200)
  const { turn, children, byName } = await spansOf('otel-tool', 4)
  t.deepEqual(children.map((s) => s.name).sort(), [
    'chat-headstart.create_session',
    'chat-headstart.handover',
    'chat-headstart.phase2',
    'chat-headstart.step1',
  ])
  t.like(turn.attributes, {
    'chat_headstart.agent_id': 'otel-agent',
    'chat_headstart.api': 'headStart',
    'chat_headstart.chat_id': 'otel-tool',
    'chat_headstart.outcome': 'complete',
    'http.response.status_code': 200,
  })
  t.is(turn.attributes['chat_headstart.message_id'], result.chunks.find((c: any) => c.type === 'start').messageId)
  t.is(turn.status.code, 0)
  for (const child of children) t.is(child.spanContext().traceId, turn.spanContext().traceId)
  t.like(byName['chat-headstart.create_session']!.attributes, { 'chat_headstart.attempts': 1, 'http.response.status_code': 201 })
  t.like(byName['chat-headstart.handover']!.attributes, {
    'chat_headstart.handover.decision': 'handover',
    'chat_headstart.handover.is_final': false,
    'chat_headstart.handover.finish_reason': 'tool-calls',
    'chat_headstart.handover.ok': true,
  })
  t.true((byName['chat-headstart.step1']!.attributes['chat_headstart.tee.records'] as number) > 0)
  t.true((byName['chat-headstart.phase2']!.attributes['chat_headstart.phase2.records'] as number) > 0)
  t.deepEqual(byName['chat-headstart.step1']!.events.map((e) => e.name), ['first_chunk'])
  t.deepEqual(byName['chat-headstart.phase2']!.events.map((e) => e.name), ['first_agent_chunk', 'turn_complete'])
  // Times: the phases follow each other inside the turn (1 µs of rounding allowed).
  const start = (s: ReadableSpan) => ms(s.startTime)
  const end = (s: ReadableSpan) => ms(s.endTime)
  const eps = 0.01
  t.true(start(turn) <= start(byName['chat-headstart.create_session']!) + eps)
  t.true(end(byName['chat-headstart.step1']!) <= start(byName['chat-headstart.handover']!) + eps)
  t.true(end(byName['chat-headstart.handover']!) <= start(byName['chat-headstart.phase2']!) + eps)
  t.true(end(byName['chat-headstart.phase2']!) <= end(turn) + eps)
  // The turn ends with the response's last byte, after the handler returned its Response.
  t.true(end(turn) - start(turn) >= end(byName['chat-headstart.handover']!) - start(turn))
})

test.serial('a turn whose createSession fails: error status and the exception on the turn span, no handover', async (t) => {
  plane.setFaults({ createSession: { status: 422, message: 'injected createSession failure' } })
  t.teardown(() => plane.resetFaults())
  const server = await serve(chat.toNodeListener(handler) as any)
  t.teardown(() => server.close())
  const result = await postTurn(server.url, firstTurnBody('otel-fail'))
  t.is(result.status, 502)
  const { turn, byName } = await spansOf('otel-fail', 1)
  t.is(turn.status.code, 2) // ERROR
  t.like(turn.attributes, { 'chat_headstart.outcome': 'failed', 'http.response.status_code': 502 })
  const exception = turn.events.find((e) => e.name === 'exception')
  t.regex(String(exception?.attributes?.['exception.message']), /createSession failed: injected createSession failure/)
  t.like(byName['chat-headstart.create_session']!.attributes, { 'http.response.status_code': 422 })
  t.is(byName['chat-headstart.create_session']!.status.code, 2)
  t.is(byName['chat-headstart.step1'], undefined, 'no step 1 reached Rust: the turn ended at createSession')
  t.is(byName['chat-headstart.handover'], undefined)
  t.is(byName['chat-headstart.phase2'], undefined)
})

test.serial('the turn span nests under the span active where the handler is called', async (t) => {
  const parent = tracer.startSpan('http.request')
  const response = await context.with(trace.setSpan(context.active(), parent), () =>
    handler(
      new Request('http://localhost/api/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(firstTurnBody('otel-nested')),
      }),
    ),
  )
  await response.text()
  parent.end()
  const { turn } = await spansOf('otel-nested')
  t.is(turn.parentSpanContext?.spanId, parent.spanContext().spanId)
  t.is(turn.spanContext().traceId, parent.spanContext().traceId)
})
