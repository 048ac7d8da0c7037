// Head-start turns on node:diagnostics_channel, for APM tools (OpenTelemetry: examples/otel):
//
// - the TracingChannel `chat-headstart:turn`: `start` when a turn begins (the handler is called),
//   `end` when its synchronous part returned, `asyncStart` + `asyncEnd` when the turn is over —
//   after the response's last byte, not when the Response was returned — and `error` before them
//   when it failed. All five get the same message object (`HeadStartTurnMessage` in
//   lib/telemetry.d.ts), filled in as the turn goes and complete at `asyncEnd`;
// - the channel `chat-headstart:handover`: one `HeadStartHandoverMessage` when the turn's
//   handover or handover-skip was accepted (or finally failed).
//
// Cost: a turn checks `hasSubscribers` once, when it starts; with no subscriber it builds
// nothing and asks Rust for nothing. An observed turn crosses into Rust no more often than an
// unobserved one: Rust hands its measurements (createSession, the S2 tee, the handover, phase 2)
// over as JSON with the end notification that every turn already gets, and the handover's with
// the dispatch notification (requested only when `chat-headstart:handover` has subscribers).
import diagnostics_channel from 'node:diagnostics_channel'

const TURN_CHANNEL = 'chat-headstart:turn'
const HANDOVER_CHANNEL = 'chat-headstart:handover'

const turnChannel = diagnostics_channel.tracingChannel(TURN_CHANNEL)
const handoverChannel = diagnostics_channel.channel(HANDOVER_CHANNEL)
const turnEvents = [turnChannel.start, turnChannel.end, turnChannel.asyncStart, turnChannel.asyncEnd, turnChannel.error]

/** TracingChannel#hasSubscribers exists from Node 20.13 / 22.0; the package supports 18.20. */
const observingTurns = () => turnEvents.some((c) => c.hasSubscribers)

const round = (ms) => Math.round(ms * 1000) / 1000

/**
 * Runs `fn(diagnostics)` for one turn of entry point `api` ('headStart' | 'openSession' |
 * 'startHeadStart'): `diagnostics` is undefined when neither channel has subscribers. `fn`
 * returns a promise: for 'headStart' its Response (the status goes into the message), for the
 * others whatever the entry point returns.
 */
export function observeTurn(api, agentId, fn) {
  const turns = observingTurns()
  const handovers = handoverChannel.hasSubscribers
  if (!turns && !handovers) return fn(undefined)
  const diagnostics = new TurnDiagnostics(api, agentId, turns, handovers)
  const run = () => {
    let promise
    try {
      promise = fn(diagnostics)
    } finally {
      if (turns) turnChannel.end.publish(diagnostics.message)
    }
    return promise.then(
      (result) => {
        diagnostics.returned(result)
        return result
      },
      (err) => {
        diagnostics.threw(err)
        throw err
      },
    )
  }
  // runStores: a subscriber that bound a store (an AsyncLocalStorage) to `start` sees it set
  // while the turn's code runs, run() included.
  return turns ? turnChannel.start.runStores(diagnostics.message, run) : run()
}

class TurnDiagnostics {
  constructor(api, agentId, turns, handovers) {
    this.turns = turns
    this.handovers = handovers
    this.t0 = performance.now()
    /** ms from the start to `native.begin` (Rust's report counts from there). */
    this.beginOffset = undefined
    this.done = false
    // The message is finished when the turn ended in Rust (or never reached it) and, for the
    // handler, its Response was returned too.
    this.waiting = { rust: false, returned: true }
    /** @type {import('./telemetry.d.ts').HeadStartTurnMessage} */
    this.message = {
      api,
      agentId,
      chatId: undefined,
      messageId: undefined,
      startTime: round(performance.timeOrigin + this.t0),
      status: undefined,
      outcome: undefined,
      timings: {},
    }
  }

  elapsed() {
    return round(performance.now() - this.t0)
  }

  /** Rust is about to run the turn (`native.begin`); its end notification will finish it. */
  began(chatId, messageId) {
    this.message.chatId = chatId
    this.message.messageId = messageId
    this.beginOffset = performance.now() - this.t0
    this.waiting.rust = true
  }

  /** The first step-1 chunk left run()'s stream. */
  firstChunk() {
    this.message.timings.firstChunkMs ??= this.elapsed()
  }

  /** The request never became a turn (bad input, no configuration): nothing was sent. */
  rejected(status) {
    this.message.outcome = 'rejected'
    this.message.status = status
  }

  /** Something of the application's failed the turn (e.g. run() threw). */
  failed(error) {
    this.message.error ??= error
  }

  /** From Rust's ms-since-begin to ms since the turn's start. */
  shift(ms) {
    return ms === null || ms === undefined ? undefined : round(ms + this.beginOffset)
  }

  /** Rust's dispatch notification: `json` is its HandoverReport (crates/core/src/handover/report.rs). */
  handover(json) {
    this.#recordHandover(JSON.parse(json))
  }

  #recordHandover(h) {
    const handover = {
      decision: h.decision,
      isFinal: h.isFinal ?? undefined,
      finishReason: h.finishReason ?? undefined,
      reason: h.reason ?? undefined,
      ok: h.ok,
      step1EndMs: this.shift(h.step1EndMs),
      handoverMs: this.shift(h.handoverMs),
      durationMs: h.durationMs,
    }
    this.message.handover = handover
    if (this.handovers && handoverChannel.hasSubscribers) {
      const { chatId, agentId, messageId } = this.message
      handoverChannel.publish({ turn: this.message, chatId, agentId, messageId, ...handover })
    }
  }

  /** Rust's end notification: `json` is its TurnReport (crates/core/src/handover/report.rs). */
  ended(json) {
    if (json) {
      const r = JSON.parse(json)
      const m = this.message
      m.outcome = r.outcome ?? m.outcome
      const t = r.timings
      Object.assign(m.timings, {
        createSessionMs: this.shift(t.createSessionMs),
        step1EndMs: this.shift(t.step1EndMs),
        handoverMs: this.shift(t.handoverMs),
        firstAgentChunkMs: this.shift(t.firstAgentChunkMs),
        turnCompleteMs: this.shift(t.turnCompleteMs),
      })
      if (r.createSession) m.createSession = { ...r.createSession, status: r.createSession.status ?? undefined }
      if (r.tee) {
        const { lastAckedSeq, error, ...tee } = r.tee
        m.tee = { ...tee, lastAckedSeq: lastAckedSeq ?? undefined, error: error ?? undefined }
      }
      if (r.handover && !m.handover) this.#recordHandover(r.handover)
      if (r.phase2) m.phase2 = r.phase2
      if (r.error) this.failed(new Error(`chat-headstart: ${r.error}`))
    }
    this.waiting.rust = false
    this.settle()
  }

  /** The entry point's promise resolved. */
  returned(result) {
    if (this.message.api === 'headStart' && result instanceof Response) this.message.status ??= result.status
    this.waiting.returned = false
    this.settle()
  }

  threw(err) {
    this.message.outcome ??= 'failed'
    if (this.message.outcome !== 'rejected') this.failed(err)
    this.waiting.returned = false
    this.settle()
  }

  settle() {
    if (this.done || this.waiting.rust || this.waiting.returned) return
    this.done = true
    const m = this.message
    m.outcome ??= 'failed'
    m.timings.endMs = this.elapsed()
    for (const key of Object.keys(m.timings)) if (m.timings[key] === undefined) delete m.timings[key]
    if (!this.turns) return
    if (m.error !== undefined) turnChannel.error.publish(m)
    turnChannel.asyncStart.publish(m)
    turnChannel.asyncEnd.publish(m)
  }
}
