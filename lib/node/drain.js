// After the response: discard what the handler left unread (bounded), so keep-alive goes on.

export const DEFAULT_DRAIN_TIMEOUT_MS = 500
export const DEFAULT_DRAIN_MAX_BYTES = 16 * 1024 * 1024

export function discardUnreadBody(ctx) {
  const req = ctx.req
  ctx.detachBody?.()
  if (req.readableEnded || req.destroyed) return
  if (req.complete) {
    // Everything has arrived already: release it.
    req.resume()
    return
  }
  const { drainMaxBytes, drainTimeoutMs } = ctx.options
  let bytes = 0
  const onData = (chunk) => {
    bytes += chunk.length
    if (bytes > drainMaxBytes) giveUp()
  }
  const cleanup = () => {
    clearTimeout(timer)
    req.off('data', onData)
    req.off('end', cleanup)
    req.off('close', cleanup)
  }
  const giveUp = () => {
    cleanup()
    const socket = req.socket
    if (!ctx.h2 && socket && typeof socket.destroySoon === 'function') socket.destroySoon()
    else req.destroy()
  }
  const timer = setTimeout(giveUp, drainTimeoutMs)
  timer.unref?.()
  req.on('data', onData)
  req.on('end', cleanup)
  req.on('close', cleanup)
  req.resume()
}
