// What a body stream has ready without waiting for I/O: lets a small body go out with a
// Content-Length where undici keeps its source private.
import { EMPTY } from './util.js'

/** The peek reads at most this many bytes / chunks of what a body has ready before streaming it. */
const PEEK_MAX_BYTES = 64 * 1024
const PEEK_MAX_READS = 64
const NOT_READY = Symbol('not ready')

/**
 * `promise`'s result if it settles before the microtask queue drains, else NOT_READY. Must be
 * called from a microtask (after an await): a nextTick queued there runs only once the queue is empty.
 */
function readyOrNot(promise) {
  return new Promise((resolve, reject) => {
    let settled = false
    promise.then(
      (v) => {
        settled = true
        resolve(v)
      },
      (e) => {
        settled = true
        reject(e)
      },
    )
    process.nextTick(() => {
      if (!settled) resolve(NOT_READY)
    })
  })
}

/**
 * Reads what the body has ready without waiting for I/O (bounded by PEEK_MAX_BYTES / _READS).
 * `first` is the first read's result when the caller awaited it already (else it is read like the
 * rest). Resolves with { done, chunks, bytes, next }: done = the body ended within the peek; next =
 * a read still pending, to be awaited before any further read.
 */
export async function peekBody(reader, first) {
  const peeked = { done: false, chunks: [], bytes: 0, next: undefined, failed: false, error: undefined }
  let result = first
  try {
    for (let reads = 0; ; reads++) {
      if (result === undefined) {
        const next = reader.read()
        result = await readyOrNot(next)
        if (result === NOT_READY) {
          peeked.next = next
          return peeked
        }
      }
      if (result.done) {
        peeked.done = true
        return peeked
      }
      const value = result.value
      if (!(value instanceof Uint8Array)) throw new TypeError('Response body chunks must be Uint8Array')
      if (value.byteLength > 0) {
        peeked.chunks.push(value)
        peeked.bytes += value.byteLength
      }
      // Past the bounds a body still gets the chance to end on its next read (one big chunk).
      if (peeked.bytes > PEEK_MAX_BYTES || reads >= PEEK_MAX_READS) {
        const next = reader.read()
        result = await readyOrNot(next)
        if (result === NOT_READY) peeked.next = next
        else if (result.done) peeked.done = true
        else peeked.next = Promise.resolve(result)
        return peeked
      }
      result = undefined
    }
  } catch (err) {
    // What was read before the failure still goes out (the caller reports the error).
    peeked.failed = true
    peeked.error = err
    return peeked
  }
}

export function concatChunks(chunks, bytes) {
  if (chunks.length === 0) return EMPTY
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes)
}
