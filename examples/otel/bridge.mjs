// chat-headstart's diagnostics channels → OpenTelemetry spans (only @opentelemetry/api).
//
//   import { bridgeToOpenTelemetry } from './bridge.mjs'
//   const bridge = bridgeToOpenTelemetry()        // or ({ tracer: provider.getTracer('my-app') })
//   …
//   bridge.unsubscribe()
//
// Every head-start turn becomes one span `chat-headstart.turn` (kind INTERNAL), started when the
// handler is called — so under whatever span is active there, e.g. the HTTP server span of
// @opentelemetry/instrumentation-http — and ended when the turn is over (the response's last
// byte, not when the Response was returned). Its children are the turn's phases, with the times
// the turn measured:
//
//   chat-headstart.create_session   the Trigger API call that boots the agent (retries included)
//   chat-headstart.step1            run(): your streamText call, until step 1 ended
//   chat-headstart.handover         from the end of step 1 to the handover (or skip) being accepted
//   chat-headstart.phase2           the agent's output spliced into the response, until turn-complete
//
// A failed turn (createSession failed, run() threw, the agent timed out…) gets status ERROR and
// the exception. Attributes are under `chat_headstart.*`; the HTTP status is
// `http.response.status_code`. The payloads are documented in chat-headstart's README
// ("Debugging and telemetry").
import diagnostics_channel from 'node:diagnostics_channel'
import { ROOT_CONTEXT, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api'

const TURN = 'chat-headstart:turn'
const HANDOVER = 'chat-headstart:handover'

/** @param {{ tracer?: import('@opentelemetry/api').Tracer }} [options] */
export function bridgeToOpenTelemetry({ tracer = trace.getTracer('chat-headstart') } = {}) {
  /** turn message → its span */
  const spans = new WeakMap()
  /** turn messages whose handover span exists already (from the handover channel) */
  const handedOver = new WeakSet()
  const at = (message, ms) => message.startTime + ms
  /** A finished child span of `parent`; `error`: its status message (status ERROR). */
  const child = (parent, name, start, end, attributes, error) => {
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: start, attributes }, trace.setSpan(ROOT_CONTEXT, parent))
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error })
    span.end(Math.max(start, end))
  }
  const handoverSpan = (parent, message, h) => {
    handedOver.add(message)
    const attributes = defined({
      'chat_headstart.handover.decision': h.decision,
      'chat_headstart.handover.is_final': h.isFinal,
      'chat_headstart.handover.finish_reason': h.finishReason,
      'chat_headstart.handover.skip_reason': h.reason,
      'chat_headstart.handover.ok': h.ok,
    })
    const error = h.ok ? undefined : 'the session.in append failed'
    child(parent, 'chat-headstart.handover', at(message, h.step1EndMs), at(message, h.handoverMs), attributes, error)
  }

  const turnHandlers = {
    start(message) {
      // The active context here is the caller's: the turn nests under the request's span.
      const span = tracer.startSpan('chat-headstart.turn', {
        kind: SpanKind.INTERNAL,
        startTime: message.startTime,
        attributes: { 'chat_headstart.agent_id': message.agentId, 'chat_headstart.api': message.api },
      })
      spans.set(message, span)
    },
    end() {},
    asyncStart() {},
    error(message) {
      const span = spans.get(message)
      if (!span) return
      const error = message.error instanceof Error ? message.error : new Error(String(message.error))
      span.recordException(error)
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
    },
    asyncEnd(message) {
      const span = spans.get(message)
      if (!span) return
      spans.delete(message)
      const t = message.timings
      span.setAttributes(defined({
        'chat_headstart.chat_id': message.chatId,
        'chat_headstart.message_id': message.messageId,
        'chat_headstart.outcome': message.outcome,
        'http.response.status_code': message.status,
        'chat_headstart.first_chunk_ms': t.firstChunkMs,
        'chat_headstart.handover_ms': t.handoverMs,
        'chat_headstart.turn_complete_ms': t.turnCompleteMs,
      }))
      if (message.outcome === 'timeout' || message.outcome === 'failed') {
        span.setStatus({ code: SpanStatusCode.ERROR, message: `turn ${message.outcome}` })
      }
      const cs = message.createSession
      if (cs && t.createSessionMs !== undefined) {
        const attributes = defined({ 'chat_headstart.attempts': cs.attempts, 'http.response.status_code': cs.status })
        const failed = cs.status === undefined || cs.status >= 400
        const error = failed ? `createSession failed (${cs.status ?? 'no response'})` : undefined
        child(span, 'chat-headstart.create_session', at(message, t.createSessionMs - cs.durationMs), at(message, t.createSessionMs), attributes, error)
      }
      if (t.step1EndMs !== undefined) {
        const tee = message.tee ?? {}
        const step1 = tracer.startSpan('chat-headstart.step1', {
          kind: SpanKind.INTERNAL,
          startTime: message.startTime,
          attributes: defined({
            'chat_headstart.tee.records': tee.records,
            'chat_headstart.tee.bytes': tee.bytes,
            'chat_headstart.tee.retries': tee.retries,
            'chat_headstart.tee.max_ack_ms': tee.maxAckMs,
            'chat_headstart.tee.error': tee.error,
          }),
        }, trace.setSpan(ROOT_CONTEXT, span))
        if (t.firstChunkMs !== undefined) step1.addEvent('first_chunk', at(message, t.firstChunkMs))
        step1.end(at(message, t.step1EndMs))
      }
      if (message.handover && !handedOver.has(message)) handoverSpan(span, message, message.handover)
      if (message.phase2 && t.handoverMs !== undefined) {
        const phase2 = tracer.startSpan('chat-headstart.phase2', {
          kind: SpanKind.INTERNAL,
          startTime: at(message, t.handoverMs),
          attributes: {
            'chat_headstart.phase2.records': message.phase2.records,
            'chat_headstart.phase2.bytes': message.phase2.bytes,
            'chat_headstart.phase2.reconnects': message.phase2.reconnects,
          },
        }, trace.setSpan(ROOT_CONTEXT, span))
        if (t.firstAgentChunkMs !== undefined) phase2.addEvent('first_agent_chunk', at(message, t.firstAgentChunkMs))
        if (t.turnCompleteMs !== undefined) phase2.addEvent('turn_complete', at(message, t.turnCompleteMs))
        phase2.end(at(message, t.endMs))
      }
      span.end(at(message, t.endMs))
    },
  }
  // The handover span is made when the handover happens (its times come with it).
  const onHandover = (message) => {
    const parent = spans.get(message.turn)
    if (parent) handoverSpan(parent, message.turn, message)
  }

  const turn = diagnostics_channel.tracingChannel(TURN)
  turn.subscribe(turnHandlers)
  diagnostics_channel.subscribe(HANDOVER, onHandover)
  return {
    unsubscribe() {
      turn.unsubscribe(turnHandlers)
      diagnostics_channel.unsubscribe(HANDOVER, onHandover)
    },
  }
}

/** Attributes without the undefined ones (OpenTelemetry drops them with a warning). */
function defined(attributes) {
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined))
}
