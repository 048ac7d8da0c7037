// createSseParser: a WHATWG-conformant SSE parser for users who read event streams themselves.
// The parsing is done by the Rust core (src/binding/sse.rs); each feed() is ONE native call that
// returns every item of the chunk packed into one string, which unpack() slices apart here.
import { native } from './native.js'

const SEMICOLON = 59
const BUFFER_LIMIT_PREFIX = 'SSE buffer limit exceeded'

/**
 * @param {import('../index.d.ts').SseParserCallbacks} callbacks
 * @returns {import('../index.d.ts').SseParser}
 */
export function createSseParser(callbacks) {
  if (callbacks === null || typeof callbacks !== 'object') {
    throw new TypeError('createSseParser(callbacks): callbacks must be an object with an onEvent function')
  }
  const { onEvent, onRetry, onComment, maxBufferSize } = callbacks
  if (typeof onEvent !== 'function') {
    throw new TypeError('createSseParser(callbacks): callbacks.onEvent must be a function')
  }
  if (onRetry !== undefined && typeof onRetry !== 'function') {
    throw new TypeError('createSseParser(callbacks): callbacks.onRetry must be a function when given')
  }
  if (onComment !== undefined && typeof onComment !== 'function') {
    throw new TypeError('createSseParser(callbacks): callbacks.onComment must be a function when given')
  }
  if (maxBufferSize !== undefined && !(Number.isInteger(maxBufferSize) && maxBufferSize >= 1)) {
    throw new TypeError('createSseParser(callbacks): maxBufferSize must be a positive integer (bytes)')
  }
  const parser = new native.NativeSseParser(maxBufferSize, onRetry !== undefined, onComment !== undefined)
  let lastEventId = ''

  /** Delivers the packed items of one feed (format: src/binding/sse.rs). */
  function unpack(packed) {
    const end = packed.length
    let i = 0
    while (i < end) {
      const tag = packed.charCodeAt(i++)
      let len = 0
      let c
      while ((c = packed.charCodeAt(i++)) !== SEMICOLON) len = len * 10 + (c - 48)
      switch (tag) {
        case 77: // M: message event, no own id
          onEvent({ event: 'message', data: packed.slice(i, (i += len)), lastEventId })
          break
        case 109: // m: message event with its own id
          onEvent({ event: 'message', data: packed.slice(i, (i += len)), id: lastEventId, lastEventId })
          break
        case 69: // E / e: typed event (type, then data)
        case 101: {
          const event = packed.slice(i, (i += len))
          let dataLen = 0
          while ((c = packed.charCodeAt(i++)) !== SEMICOLON) dataLen = dataLen * 10 + (c - 48)
          const data = packed.slice(i, (i += dataLen))
          onEvent(tag === 69 ? { event, data, lastEventId } : { event, data, id: lastEventId, lastEventId })
          break
        }
        case 76: // L: the last event id changed
          lastEventId = packed.slice(i, (i += len))
          break
        case 82: // R: retry; the digits were the "length"
          onRetry(len)
          break
        case 67: // C: comment
          onComment(packed.slice(i, (i += len)))
          break
        case 88: // X: the parser failed here (after delivering the items before it)
          throw translateError(new Error(packed.slice(i, (i += len))))
        default:
          throw new Error(`chat-headstart: corrupt SSE batch from the native parser (tag ${tag})`)
      }
    }
  }

  return {
    feed(chunk) {
      let packed
      try {
        if (typeof chunk === 'string') packed = parser.feedString(chunk)
        else if (chunk instanceof Uint8Array) packed = parser.feed(chunk)
        else throw new TypeError('SseParser.feed(chunk): chunk must be a Uint8Array or a string')
      } catch (err) {
        throw translateError(err)
      }
      if (packed.length !== 0) unpack(packed)
    },
    end() {
      try {
        parser.end()
      } catch (err) {
        throw translateError(err)
      }
    },
    reset() {
      parser.reset()
      lastEventId = ''
    },
  }
}

/** Native errors carry Node-API's generic code; give the buffer limit a stable one. */
function translateError(err) {
  if (err instanceof Error && err.message.startsWith(BUFFER_LIMIT_PREFIX)) {
    const error = new Error(err.message)
    error.code = 'ERR_SSE_BUFFER_LIMIT'
    return error
  }
  return err
}
