// Public types of chat-headstart (hand-written; the generated binding.d.ts stays private).

/** Version of the native core, e.g. "0.1.0". */
export declare function nativeVersion(): string

// ---- wire helpers (lib/wire.js) ----

/** S2's per-record limit in metered bytes (1,048,576); `.in/append` answers 413 above it. */
export declare const S2_RECORD_LIMIT: 1048576

/**
 * Metered size of the `session.in` record the API stores for an `.in/append` with this raw body:
 * `8 + utf8Length(JSON.stringify({ data: rawBody, id: partId }))`; compare with `S2_RECORD_LIMIT`.
 * `partId` (the `X-Part-Id`) defaults to a UUID-length id (36 characters).
 */
export declare function inAppendMeteredSize(rawBody: string | Uint8Array, partId?: string): number

/**
 * Slims the last message of a `submit-message` for `session.in`: an assistant message with
 * client-advanced tool parts becomes `{ id, role, parts }` holding only those parts' wire fields;
 * anything else is returned unchanged.
 */
export declare function slimSubmitMessageForWire<M extends import('ai').UIMessage | undefined>(message: M): M

/**
 * For `hydrateMessages` hooks: pushes the last incoming message onto `stored` (mutates it) and
 * returns `true`, unless the trigger is not `submit-message`, there is no incoming message, or its
 * id is already stored.
 */
export declare function upsertIncomingMessage<M extends import('ai').UIMessage = import('ai').UIMessage>(
  stored: M[],
  event: { trigger: 'submit-message' | 'regenerate-message' | 'action' | (string & {}); incomingMessages: readonly M[] },
): boolean

/**
 * Step 1's model messages → an approved tool round: `tool-approval-request` parts
 * (`handover-approval-<n>`) appended for every pending `tool-call`, plus one final `role: "tool"`
 * message approving them. Returns a new array.
 */
export declare function reshapeForHandoverResume(
  responseMessages: readonly import('ai').ModelMessage[],
): import('ai').ModelMessage[]
/** An event dispatched by {@link createSseParser}. */
export interface SseEvent {
  /** The event type: `"message"` when the block had no (or an empty) `event` field. */
  event: string
  /** The block's `data` lines joined with `\n` (one trailing `\n` removed). */
  data: string
  /** The `id` field of this event's own block (the last accepted one); absent if it had none. */
  id?: string
  /** The persistent last event ID (what `EventSource.lastEventId` would say). */
  lastEventId: string
}

export interface SseParserCallbacks {
  onEvent(event: SseEvent): void
  /** A valid `retry` field (ASCII digits only), in milliseconds. */
  onRetry?(ms: number): void
  /** A comment line, without the leading `:` and one following space (`: ping` → `"ping"`). */
  onComment?(text: string): void
  /**
   * Cap in bytes on one line and on one pending event (default 16 MiB). Going over makes
   * `feed` throw an Error with `code: "ERR_SSE_BUFFER_LIMIT"`; the parser then keeps throwing
   * until `reset()`.
   */
  maxBufferSize?: number
}

export interface SseParser {
  /**
   * Parses the next chunk of the stream. Bytes are decoded as UTF-8 (split sequences are
   * re-joined; invalid ones become U+FFFD); a string is taken as the stream's text and parsed
   * via its UTF-8 encoding (so a U+FEFF at the very start is stripped like a BOM). The callbacks run synchronously, in order, before `feed` returns;
   * if one throws, `feed` rethrows and the rest of that chunk's items are not delivered.
   */
  feed(chunk: Uint8Array | string): void
  /**
   * Ends the stream: a trailing CR terminates its line; a partial line or undispatched block is
   * dropped. The parser can then take a new stream (a reconnection); `lastEventId` is kept.
   */
  end(): void
  /** Forgets all state, including `lastEventId` and a buffer-limit error. */
  reset(): void
}

/**
 * A WHATWG-conformant, incremental server-sent-events parser (Rust core). Events of one `feed`
 * cross the native boundary as one batch.
 */
export declare function createSseParser(callbacks: SseParserCallbacks): SseParser
export * from './lib/plane.js'
export { toNodeListener, FastResponse } from './lib/node-listener.js'
export type { FetchHandler, KoaContextLike, NodeListener, NodeListenerOptions } from './lib/node-listener.js'
export * from './lib/chat.js'
export type {
  HeadStartHandover,
  HeadStartHandoverMessage,
  HeadStartTurnMessage,
  HeadStartTurnOutcome,
  HeadStartTurnTimings,
} from './lib/telemetry.js'
