// Types of the diagnostics_channel messages (lib/telemetry.js). The channels are named by
// string; subscribe with node:diagnostics_channel:
//
//   diagnostics_channel.tracingChannel('chat-headstart:turn').subscribe({ start, end, asyncStart, asyncEnd, error })
//   diagnostics_channel.subscribe('chat-headstart:handover', (message) => …)
//
// Every key documented here is stable; keys may be added. Times are ms (µs resolution); `…Ms`
// timings count from `startTime`.

/** How a turn ended. */
export type HeadStartTurnOutcome =
  /** The agent's turn-complete reached the response (phase 2 ended normally). */
  | 'complete'
  /** Handed over with no phase 2 here: `chat.startHeadStart`, or your code dispatched through `session.handover()` / `handoverSkip()`. */
  | 'dispatched'
  /** `handover-skip` was sent: step 1 aborted (idle timeout, provider abort), `run()` threw, or the handover failed (see `handover.reason`). */
  | 'skipped'
  /** The browser went away (during step 1 or phase 2). */
  | 'cancelled'
  /** No agent output for `handoverTimeoutInSeconds` after the handover (the response ends with an `error` chunk). */
  | 'timeout'
  /** createSession failed, the phase-2 read failed for good, or the handler failed unexpectedly (see `error`). */
  | 'failed'
  /** The request never became a turn: bad input (`status` 400 / 405 / 413 / 415), nothing was sent to Trigger.dev. */
  | 'rejected'

/** The handover decision (also the message of `chat-headstart:handover`, see {@link HeadStartHandoverMessage}). */
export interface HeadStartHandover {
  /** `handover`: the agent continues the turn; `skip`: `handover-skip`, the agent exits. */
  decision: 'handover' | 'skip'
  /** `handover` only: false when the agent runs step 1's tool calls, true when step 1 was the whole answer. */
  isFinal?: boolean
  /** Step 1's `finishReason`, when it finished. */
  finishReason?: string
  /** `skip` only: why. */
  reason?: 'aborted' | 'runFailed' | 'buildFailed' | 'appendFailed'
  /** The API accepted the append (false: it failed after its retries). */
  ok: boolean
  /** When step 1 ended (the decision), ms since the turn's start. */
  step1EndMs: number
  /** When the append was answered, ms since the turn's start. */
  handoverMs: number
  /** `handoverMs − step1EndMs`: flushing step 1 to S2, then the `session.in` append. */
  durationMs: number
}

export interface HeadStartTurnTimings {
  /** createSession answered (retries included). */
  createSessionMs?: number
  /** The first step-1 chunk came out of `run()`'s stream (the response's first event for `chat.headStart`). */
  firstChunkMs?: number
  /** Step 1 ended (finished, aborted or failed). */
  step1EndMs?: number
  /** The handover (or skip) append was answered. */
  handoverMs?: number
  /** The agent's first chunk reached the response (phase 2). */
  firstAgentChunkMs?: number
  /** The agent's turn-complete reached the response. */
  turnCompleteMs?: number
  /** The turn was over (last byte handed to the response, or the failure). Always set at `asyncEnd`. */
  endMs?: number
}

/**
 * The message of every `chat-headstart:turn` event (`start`, `end`, `asyncStart`, `asyncEnd`,
 * `error`): one object per turn, filled in as the turn goes. At `start` only `api`, `agentId`,
 * `startTime` and an empty `timings` are set (the request is not parsed yet); at `asyncEnd`
 * everything the turn reached. Never holds a key or token.
 */
export interface HeadStartTurnMessage {
  /** The entry point that ran the turn. */
  api: 'headStart' | 'openSession' | 'startHeadStart'
  agentId: string
  /** Set once the request was parsed (absent on a rejected request). */
  chatId?: string
  /** The step-1 assistant message id (the `start` chunk's `messageId`). */
  messageId?: string
  /** Epoch ms (`performance.timeOrigin + performance.now()`) when the turn started. */
  startTime: number
  /** `chat.headStart`: the HTTP status it answered with (200 for a streamed turn). */
  status?: number
  /** Set at `asyncEnd`. */
  outcome?: HeadStartTurnOutcome
  timings: HeadStartTurnTimings
  /** The Trigger API's createSession call. */
  createSession?: {
    attempts: number
    /** HTTP status of the last attempt (absent: no response). */
    status?: number
    durationMs: number
  }
  /** The step-1 tee to the durable `session.out` stream (S2). */
  tee?: {
    records: number
    bytes: number
    /** S2 append batches sent. */
    batches: number
    /** Append sessions reopened after a retryable failure. */
    retries: number
    /** Slowest batch from send to ack. */
    maxAckMs: number
    /** From the end of step 1 until everything was acked (what the handover waited for). */
    flushMs: number
    /** Seq of the last acked record. */
    lastAckedSeq?: number
    /** Why the tee failed (phase 2 then resumes from the last acked record). */
    error?: string
  }
  handover?: HeadStartHandover
  /** Phase 2: the agent's output spliced into the response (`chat.headStart` / `openSession` only). */
  phase2?: {
    /** Agent chunks forwarded. */
    records: number
    /** Response bytes phase 2 produced (keep-alive comments included). */
    bytes: number
    /** Subscriptions reopened (after an error, or when a long-poll window closed). */
    reconnects: number
  }
  /** With `error`: what failed (`run()`'s own error, or an Error describing createSession / phase-2 / timeout failures). */
  error?: unknown
}

/** The message of `chat-headstart:handover`: the decision, with the turn it belongs to. */
export interface HeadStartHandoverMessage extends HeadStartHandover {
  /** The turn's `chat-headstart:turn` message (the same object its events carry). */
  turn: HeadStartTurnMessage
  chatId: string
  agentId: string
  messageId: string
}
