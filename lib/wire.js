// Wire helpers of chat-headstart (docs/protocol.md §4.4, §8.1, §8.3, §8.4).
//
// Which side implements each public helper was decided by measurement (`npm run bench -- wire`):
// helpers that take JS objects stay in JS, because crossing into Rust costs a JSON.stringify plus
// a JSON.parse of the result, which is more work than the helper itself (and would turn values
// JSON cannot hold, such as a file part's Uint8Array, into something else). Slimming exists only
// here. The reshape also exists over bytes in crates/core/src/wire/handover.rs, where the
// head-start handler builds the handover record from data that already is bytes;
// __test__/wire.spec.ts holds the two to the same output.
import { native } from './native.js'

/** S2's per-record limit in metered bytes; the API answers 413 above it (inclusive limit). */
export const S2_RECORD_LIMIT = 1_048_576

/**
 * Part id length assumed when none is given: a `crypto.randomUUID()` (36 chars), the longest id
 * any client sends (the transport and AgentChat use UUIDs, the head-start handler nanoid(21)).
 */
const DEFAULT_PART_ID = '00000000-0000-0000-0000-000000000000'

const WIRE_ADVANCEABLE_STATES = new Set(['output-available', 'output-error', 'approval-responded', 'output-denied'])

function isToolPartType(type) {
  return typeof type === 'string' && (type.startsWith('tool-') || type === 'dynamic-tool')
}

/**
 * Slims the last message of a `submit-message` before it is appended to `session.in`: an
 * assistant message carrying client-advanced tool parts (`output-available`, `output-error`,
 * `approval-responded`, `output-denied`) becomes `{ id, role, parts }` with only those parts,
 * reduced to the fields the agent merges. Anything else is returned unchanged (same object).
 */
export function slimSubmitMessageForWire(message) {
  if (!message || message.role !== 'assistant') return message
  const parts = message.parts ?? []
  // The reference throws on a non-array `parts`; there is nothing to slim, so pass it through.
  if (!Array.isArray(parts)) return message
  const slimParts = []
  for (const part of parts) {
    if (!part || typeof part !== 'object') continue
    const { type, state } = part
    if (!isToolPartType(type) || !WIRE_ADVANCEABLE_STATES.has(state)) continue
    const slim = { type, toolCallId: part.toolCallId, state }
    if (type === 'dynamic-tool' && typeof part.toolName === 'string') slim.toolName = part.toolName
    if (state === 'output-available') {
      slim.output = part.output
    } else if (state === 'output-error' && part.errorText !== undefined) {
      slim.errorText = part.errorText
    }
    if (part.approval !== undefined) slim.approval = part.approval
    slimParts.push(slim)
  }
  if (slimParts.length === 0) return message
  return { id: message.id, role: message.role, parts: slimParts }
}

/**
 * For `hydrateMessages` hooks: pushes the last incoming message onto `stored` (mutating it) and
 * returns `true`, unless the trigger is not `submit-message`, there is no incoming message, or a
 * message with the same id is already stored (a tool-result continuation the runtime merges).
 */
export function upsertIncomingMessage(stored, { trigger, incomingMessages }) {
  if (trigger !== 'submit-message' || !incomingMessages || incomingMessages.length === 0) return false
  const incoming = incomingMessages[incomingMessages.length - 1]
  if (!incoming) return false
  if (incoming.id && stored.some((message) => message.id === incoming.id)) return false
  stored.push(incoming)
  return true
}

/**
 * Turns step 1's pending tool calls into an approved tool round so the agent executes them
 * before its step 2: every assistant `tool-call` without a `tool-result` gets a
 * `tool-approval-request` (`handover-approval-<n>`) appended to its message, and one final
 * `role: "tool"` message approves them all. Returns a new array; inputs are not mutated.
 */
export function reshapeForHandoverResume(responseMessages) {
  const completed = new Set()
  for (const message of responseMessages) {
    if (message?.role !== 'tool' || !Array.isArray(message.content)) continue
    for (const part of message.content) {
      if (part?.type === 'tool-result' && part.toolCallId) completed.add(part.toolCallId)
    }
  }
  const approvals = []
  const reshaped = responseMessages.map((message) => {
    if (message?.role !== 'assistant' || !Array.isArray(message.content)) return message
    let content
    for (const part of message.content) {
      if (part?.type !== 'tool-call' || !part.toolCallId || completed.has(part.toolCallId)) continue
      content ??= [...message.content]
      const approvalId = `handover-approval-${approvals.length + 1}`
      content.push({ type: 'tool-approval-request', approvalId, toolCallId: part.toolCallId })
      approvals.push({ type: 'tool-approval-response', approvalId, approved: true })
    }
    return content ? { ...message, content } : message
  })
  if (approvals.length > 0) reshaped.push({ role: 'tool', content: approvals })
  return reshaped
}

/**
 * Metered size of the `session.in` record the API stores for an `.in/append` with this raw body:
 * `8 + utf8Length(JSON.stringify({ data: rawBody, id: partId }))`. The API answers 413 when it
 * exceeds `S2_RECORD_LIMIT`. `partId` defaults to a UUID-length id.
 *
 * @param {string | Uint8Array} rawBody the request body, as text or as the UTF-8 bytes sent
 * @param {string} [partId] the `X-Part-Id` of the append
 */
export function inAppendMeteredSize(rawBody, partId = DEFAULT_PART_ID) {
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) {
    throw new TypeError('inAppendMeteredSize: rawBody must be a string or a Uint8Array')
  }
  if (typeof partId !== 'string') throw new TypeError('inAppendMeteredSize: partId must be a string')
  // Rust for both forms (bench/wire: 0.3-0.7x the time of the best pure-JS count, even with the
  // string copied across). A string's lone surrogates cross as U+FFFD, exactly what a fetch body
  // carries; bytes' invalid UTF-8 counts as U+FFFD like the API's decoder.
  return native.wireInAppendMeteredSize(rawBody, partId)
}
