// Shared helpers for the listener specs: start servers on ephemeral ports, speak raw HTTP/1.1.
import net from 'node:net'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { eventually } from './poll.ts'

export async function listen(server: Server | net.Server): Promise<{ base: string; port: number; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        ;(server as Server).closeAllConnections?.()
        server.close(() => resolve())
      }),
  }
}

export function deferred<T = void>() {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/**
 * A raw HTTP/1.1 connection: write request text, read until a predicate on the received text
 * holds or the socket closes. Lets tests send duplicate headers and inspect the exact bytes.
 */
export class RawConnection {
  socket: net.Socket
  received = ''
  /** Bytes seen in total (also counted when `discard` is set). */
  receivedBytes = 0
  /** Stop accumulating `received` (for tests that stream a lot through the connection). */
  discard = false
  closed = false
  private waiters: Array<() => void> = []
  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1')
    this.socket.setEncoding('latin1')
    this.socket.on('data', (d: string) => {
      this.receivedBytes += d.length
      if (!this.discard) this.received += d
      this.wake()
    })
    this.socket.on('close', () => {
      this.closed = true
      this.wake()
    })
    this.socket.on('error', () => {})
  }
  private wake() {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }
  write(text: string | Uint8Array) {
    this.socket.write(text)
  }
  async waitFor(pred: (text: string) => boolean, ms = 10_000): Promise<string> {
    const end = Date.now() + ms
    while (!pred(this.received)) {
      if (this.closed) throw new Error(`connection closed; received:\n${this.received}`)
      const left = end - Date.now()
      if (left <= 0) throw new Error(`timed out; received:\n${this.received}`)
      await new Promise<void>((r) => {
        const t = setTimeout(r, left)
        this.waiters.push(() => {
          clearTimeout(t)
          r()
        })
      })
    }
    return this.received
  }
  async waitClosed(ms = 10_000): Promise<void> {
    await eventually(() => this.closed, ms, 'the connection to close')
  }
  destroy() {
    this.socket.destroy()
  }
}

/** Index of the end of the first complete HTTP/1.1 response with a Content-Length body, or -1. */
export function completeResponses(text: string): string[] {
  const out: string[] = []
  let rest = text
  for (;;) {
    const headEnd = rest.indexOf('\r\n\r\n')
    if (headEnd === -1) return out
    const head = rest.slice(0, headEnd)
    const m = /content-length: (\d+)/i.exec(head)
    const len = m ? Number(m[1]) : 0
    if (rest.length < headEnd + 4 + len) return out
    out.push(rest.slice(0, headEnd + 4 + len))
    rest = rest.slice(headEnd + 4 + len)
  }
}

export const encoder = new TextEncoder()
