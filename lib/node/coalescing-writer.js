// Batches a body's chunks into few res.write calls, with backpressure.
import { Buffer } from 'node:buffer'
import { RESOLVED } from './util.js'

function waitDrainOrClose(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

/** A batch is written at once when it reaches this size (also bounds what a batch holds). */
const BATCH_MAX_BYTES = 64 * 1024

/**
 * Coalesces the chunks a body produces within one tick into ONE `res.write`: in chunked encoding
 * every res.write costs a size line, two CRLFs and four socket writes, which dwarfs the cost of
 * reading a chunk (50 small SSE events: 50 HTTP chunks → 1). The batch goes out on
 * process.nextTick, i.e. after the microtasks that produced it, so nothing waits for a later
 * event-loop turn; a batch reaching BATCH_MAX_BYTES goes out at once. Backpressure: once a write
 * returned false, `needDrain` stays true (and write() returns false) until 'drain' or 'close'.
 */
export class CoalescingWriter {
  constructor(res, flushCompression) {
    this.res = res
    this.flushCompression = flushCompression
    this.chunks = []
    this.bytes = 0
    this.scheduled = false
    this.needDrain = false
    this.drained = RESOLVED
    this.headersPending = false
    this.wrote = false
    this.flushScheduled = () => {
      this.scheduled = false
      if (this.chunks.length > 0) this.flush()
      // (res.headersSent is true as soon as writeHead ran; `wrote` tells whether they went out.)
      else if (this.headersPending && !this.wrote && !res.destroyed && !res.writableEnded) res.flushHeaders?.()
      this.headersPending = false
    }
  }
  /**
   * The headers must reach the client before the first chunk, however long that takes (an SSE
   * stream waiting for a model). They go out on the same tick as the first batch: together with
   * it when the body already has bytes (one syscall instead of two), alone otherwise.
   */
  flushHeadersSoon() {
    this.headersPending = true
    if (!this.scheduled) {
      this.scheduled = true
      process.nextTick(this.flushScheduled)
    }
  }
  /** Queues a chunk; false = the socket asked to wait for `this.drained`. */
  write(chunk) {
    this.chunks.push(chunk)
    this.bytes += chunk.byteLength
    if (this.bytes >= BATCH_MAX_BYTES) return this.flush()
    if (!this.scheduled) {
      this.scheduled = true
      process.nextTick(this.flushScheduled)
    }
    return !this.needDrain
  }
  /** Writes the pending batch now; returns false when res wants a 'drain' first. */
  flush() {
    if (this.chunks.length === 0) return !this.needDrain
    const data = this.take()
    const res = this.res
    if (res.destroyed || res.writableEnded) return false
    this.wrote = true
    const ok = res.write(data)
    if (this.flushCompression) res.flush()
    if (!ok && !this.needDrain) {
      this.needDrain = true
      this.drained = waitDrainOrClose(res).then(() => {
        this.needDrain = false
      })
    }
    return ok
  }
  /** Ends the response with whatever is pending (one write for the last batch and the end). */
  end() {
    const res = this.res
    if (res.destroyed || res.writableEnded) return
    if (this.chunks.length === 0) return void res.end()
    const data = this.take()
    if (this.flushCompression) {
      res.write(data)
      res.flush()
      res.end()
    } else res.end(data)
  }
  /** The pending batch as one chunk (emptied). */
  take() {
    const data = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.bytes)
    this.chunks = []
    this.bytes = 0
    return data
  }
  /** Drops what is pending (the client is gone). */
  discard() {
    this.chunks = []
    this.bytes = 0
  }
}
