// Waiting in specs for what another party (a server, the plane, a socket, a model) does in its own
// time: one home for sleeping and polling, so every spec waits the same way.

/** How often a poll looks again. */
const POLL_MS = 10

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Polls `check()` (which may be async) until it gives a truthy value and resolves with it; rejects
 * after `ms`, naming `what`.
 */
export async function eventually<T>(check: () => T | Promise<T>, ms = 5000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(POLL_MS)
  }
}

/**
 * Waits until `read()` stops changing for `quietMs` (a producer that paused), then returns its value;
 * throws if it is still changing after `ms`.
 */
export async function settled(read: () => number, quietMs = 300, ms = 10_000): Promise<number> {
  const end = Date.now() + ms
  let last = read()
  let since = Date.now()
  while (Date.now() - since < quietMs) {
    if (Date.now() > end) throw new Error(`still changing after ${ms} ms (at ${last})`)
    await sleep(20)
    const now = read()
    if (now !== last) {
      last = now
      since = Date.now()
    }
  }
  return last
}
