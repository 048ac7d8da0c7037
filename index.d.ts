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
