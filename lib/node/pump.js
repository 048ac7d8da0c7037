// Bodies that stream: a web ReadableStream (peeked first when its length is unknown) or a native
// body source, pumped into res with backpressure.
import { watchClientGone } from './client-gone.js'
import { CoalescingWriter } from './coalescing-writer.js'
import { safeCancelSource } from './native-body.js'
import { concatChunks, peekBody } from './peek.js'
import { RESOLVED, noop } from './util.js'
import { failAfterHeaders, sendWhole, writeHead } from './write.js'

/**
 * HEAD (or a HEAD-like answer) whose body is a stream of unknown source: whatever the body has
 * ready gives its Content-Length (as a GET would get), then the body is cancelled.
 */
export async function sendHeadAfterPeek(ctx, stream, head) {
  let reader
  try {
    reader = stream.getReader()
  } catch {
    stream.cancel().catch(noop)
  }
  if (reader !== undefined) {
    try {
      await RESOLVED // readyOrNot needs a microtask
      const peeked = await peekBody(reader, undefined)
      if (peeked.done) head.flat.push('content-length', String(peeked.bytes))
    } catch {}
    reader.cancel().catch(noop)
  }
  const res = ctx.res
  if (res.destroyed || res.writableEnded) return
  writeHead(res, head.status, head.statusText, head.flat, ctx.h2)
  res.end()
}

/**
 * Web ReadableStream → res with backpressure; a stream error after the headers destroys the socket.
 * With `head` ({ status, statusText, flat, info }: the headers are not written yet) the body is
 * peeked first: if it ends within what it has ready, it goes out in one writeHead + end with a
 * Content-Length; otherwise the headers and the peeked chunks go out and the pump goes on.
 */
export async function pumpWebStream(ctx, stream, sse, head) {
  const res = ctx.res
  let reader
  try {
    reader = stream.getReader()
  } catch (err) {
    if (head !== undefined) writeHead(res, head.status, head.statusText, head.flat, ctx.h2)
    failAfterHeaders(ctx, err)
    return
  }
  ctx.cancelBody = (reason) => reader.cancel(reason).catch(noop)
  watchClientGone(ctx)
  if (ctx.gone) return
  const writer = new CoalescingWriter(res, sse && typeof res.flush === 'function')
  if (sse) writer.flushHeadersSoon()
  let pending // a read the peek started
  try {
    if (head !== undefined) {
      const peeked = await peekBody(reader, await reader.read())
      if (ctx.gone) return
      if (peeked.done) {
        ctx.cancelBody = undefined
        if (res.destroyed || res.writableEnded) return
        sendWhole(ctx, head.status, head.statusText, head.flat, head.info, concatChunks(peeked.chunks, peeked.bytes))
        return
      }
      writeHead(res, head.status, head.statusText, head.flat, ctx.h2)
      head = undefined
      for (const chunk of peeked.chunks) writer.write(chunk)
      if (peeked.failed) throw peeked.error
      pending = peeked.next
      if (writer.needDrain) {
        await writer.drained
        if (ctx.gone || res.destroyed) {
          ctx.cancelBody = undefined
          reader.cancel().catch(noop)
          writer.discard()
          return
        }
      }
    }
    for (;;) {
      const { done, value } = await (pending ?? reader.read())
      pending = undefined
      if (done || ctx.gone) break
      if (!(value instanceof Uint8Array)) throw new TypeError('Response body chunks must be Uint8Array')
      if (value.byteLength === 0) continue
      if (!writer.write(value)) {
        await writer.drained
        if (ctx.gone || res.destroyed) break
      }
    }
  } catch (err) {
    ctx.cancelBody = undefined
    if (!ctx.gone) {
      // A peek that failed: the status goes out, then the connection breaks like after the headers.
      if (head !== undefined && !res.headersSent) writeHead(res, head.status, head.statusText, head.flat, ctx.h2)
      writer.flush() // what the body produced before failing still goes out
      failAfterHeaders(ctx, err)
    }
    reader.cancel(err).catch(noop)
    return
  }
  ctx.cancelBody = undefined
  if (!ctx.gone && !res.destroyed) writer.end()
  else writer.discard()
}

/**
 * Pumps a NativeBodySource into res: chunks arrive through sink.write (false = pause until
 * resume(), which we call once res drained); chunks written in the same tick leave as one batch
 * (see CoalescingWriter); end/error finish the response; a client that goes away cancels the
 * source. Never touches response.body.
 */
export function pumpNativeBody(ctx, source, sse = false) {
  const res = ctx.res
  const writer = new CoalescingWriter(res, sse && typeof res.flush === 'function')
  return new Promise((resolve) => {
    let done = false
    let resumePending = false
    const finish = () => {
      if (done) return
      done = true
      ctx.cancelBody = undefined
      resolve()
    }
    const onDrain = () => {
      resumePending = false
      if (done || ctx.gone) return
      try {
        source.resume()
      } catch (err) {
        sink.error(err)
      }
    }
    const sink = {
      write(chunk) {
        if (done || ctx.gone) return false
        const ok = chunk.byteLength === 0 ? !writer.needDrain : writer.write(chunk)
        if (!ok && !resumePending) {
          resumePending = true
          writer.drained.then(onDrain)
        }
        return ok
      },
      end() {
        if (done) return
        if (!ctx.gone && !res.destroyed) writer.end()
        finish()
      },
      error(err) {
        if (done) return
        if (!ctx.gone) {
          writer.flush()
          failAfterHeaders(ctx, err)
        }
        finish()
      },
    }
    ctx.cancelBody = (reason) => {
      writer.discard()
      safeCancelSource(source, reason)
      finish()
    }
    watchClientGone(ctx)
    if (ctx.gone) return
    writer.flushHeadersSoon()
    try {
      source.start(sink)
    } catch (err) {
      sink.error(err)
    }
  })
}
