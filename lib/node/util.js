// Small values and helpers shared by the listener's modules.
import { Buffer } from 'node:buffer'

export const EMPTY = Buffer.alloc(0)
export const RESOLVED = Promise.resolve()
export const noop = () => {}

export function toBuffer(u8) {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength)
}

