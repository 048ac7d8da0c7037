// A client that closes the connection before the response is complete: abort the request's signal
// and cancel the body being pumped.

export function abortReason() {
  return new DOMException('The client closed the connection before the response was complete', 'AbortError')
}

/** Registers (once) the res 'close' watcher that turns a premature close into abort + cancel. */
export function watchClientGone(ctx) {
  if (ctx.watching) return
  ctx.watching = true
  const res = ctx.res
  if (res.destroyed || res.closed) {
    onResClose(ctx)
    return
  }
  res.once('close', () => onResClose(ctx))
}

function onResClose(ctx) {
  if (isFinished(ctx.res)) return
  ctx.gone = true
  const reason = abortReason()
  ctx.controller?.abort(reason)
  const cancel = ctx.cancelBody
  ctx.cancelBody = undefined
  cancel?.(reason)
}

function isFinished(res) {
  // node:http2 compat: a stream the client reset reports writableFinished too; what counts there is
  // whether we ended the response.
  if (res.stream !== undefined) return res.writableEnded === true
  return res.writableFinished === true || (res.writableFinished === undefined && res.finished === true)
}
