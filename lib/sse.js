// createSseParser: a WHATWG-conformant SSE parser for users who read event streams themselves.
// The parsing is done by the Rust core (src/binding/sse.rs): a chunk of bytes is ONE native call
// that returns one string and writes a list of operations into an Int32Array (and the records
// that are not ASCII into a second string), which deliver() follows here: the data of the
// commonest event is a slice of that string at offsets the list gives, every other item a text
// record. A chunk given as a string crosses as its UTF-8 bytes, except the plain `data:` blocks
// met between native calls, which feedText() dispatches itself (a slice of the chunk costs less
// than a crossing and back).
import { native } from './native.js'

/** Ends every record and field of a native batch (src/binding/sse.rs). */
const END = '\r'
const LF = 10
/** The operations that deliver the next text record of the one-byte / wide string (src/binding/sse.rs). */
const NEXT_RECORD = -1
const NEXT_WIDE_RECORD = -2
/** The record that stands for the next one of the wide string, past a full operation list. */
const WIDE_MARK = 87
/** Integers of an operation list before its first operation: its length, where records start. */
const HEADER = 2
/** The first operation list of a parser, and the most it grows to when a chunk fills it. */
const OPS_FIRST = 1024
const OPS_MOST = 64 * 1024
const SPACE = 32
/** What extendHeldLine returns when the chunk only extended the held line. */
const EXTENDED = -2
/** The native parser's default cap on a line or pending event (crates/core/src/sse/parser.rs). */
const DEFAULT_MAX_BUFFER = 16 * 1024 * 1024
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
  // The native state is an external object: sseFeed and the others take it as their first argument.
  const parser = native.sseParserNew(maxBufferSize, onRetry !== undefined, onComment !== undefined)
  const maxBuffer = maxBufferSize ?? DEFAULT_MAX_BUFFER
  let lastEventId = ''

  // The operation list native feeds write into, reused. A feed made from a callback while
  // another feed's list is being delivered gets a list of its own.
  let spareOps = new Int32Array(OPS_FIRST)
  // Where a native feed puts its records that are not ASCII (read before any callback runs).
  const wideOut = ['']

  /**
   * Delivers the items of one native feed: its string, its operations and the string of its
   * records that are not ASCII (format: src/binding/sse.rs).
   */
  function deliver(text, ops, wide) {
    const stop = HEADER + ops[0]
    let record = ops[1]
    let wideRecord = 0
    for (let k = HEADER; k < stop; ) {
      const start = ops[k]
      if (start >= 0) {
        onEvent({ event: 'message', data: text.slice(start, ops[k + 1]), lastEventId })
        k += 2
      } else {
        if (start === NEXT_RECORD) record = deliverRecord(text, record)
        else if (start === NEXT_WIDE_RECORD) wideRecord = deliverRecord(wide, wideRecord)
        else throw corruptBatch()
        k++
      }
    }
    // The items past a full list, all records.
    while (record < text.length) {
      if (text.charCodeAt(record) === WIDE_MARK) {
        wideRecord = deliverRecord(wide, wideRecord)
        record += 2
      } else record = deliverRecord(text, record)
    }
  }

  /** Delivers the record at `i` of `batch`; returns where the next one starts. */
  function deliverRecord(batch, i) {
    const tag = batch.charCodeAt(i)
    let end = batch.indexOf(END, i + 1)
    if (end < 0) throw corruptBatch()
    switch (tag) {
      case 77: // M: message event, no own id
        onEvent({ event: 'message', data: batch.slice(i + 1, end), lastEventId })
        break
      case 109: // m: message event with its own id
        onEvent({ event: 'message', data: batch.slice(i + 1, end), id: lastEventId, lastEventId })
        break
      case 69: // E / e: typed event (type, then data)
      case 101: {
        const event = batch.slice(i + 1, end)
        const dataEnd = batch.indexOf(END, end + 1)
        if (dataEnd < 0) throw corruptBatch()
        const data = batch.slice(end + 1, dataEnd)
        end = dataEnd
        onEvent(tag === 69 ? { event, data, lastEventId } : { event, data, id: lastEventId, lastEventId })
        break
      }
      case 76: // L: the last event id changed
        lastEventId = batch.slice(i + 1, end)
        break
      case 82: // R: retry, in decimal digits
        onRetry(Number(batch.slice(i + 1, end)))
        break
      case 67: // C: comment
        onComment(batch.slice(i + 1, end))
        break
      case 88: // X: the parser failed here (after delivering the items before it)
        throw translateError(new Error(batch.slice(i + 1, end)))
      default:
        throw corruptBatch()
    }
    return end + 1
  }

  // Whether the native parser is between blocks: no partial line, block or CR pending, the BOM
  // check done. True after it was fed input ending in LF LF (a blank line ended by LF, so the
  // block is dispatched and no CR awaits its LF); unknown, so false, after anything else.
  let between = false

  /** One native call for the bytes of a chunk; delivers its items. */
  function feedNative(bytes) {
    between = false
    const ops = spareOps ?? new Int32Array(OPS_FIRST)
    spareOps = null
    let text
    try {
      text = native.sseFeed(parser, bytes, ops, wideOut)
    } catch (err) {
      spareOps = ops
      throw translateError(err)
    }
    const n = bytes.length
    between = n >= 2 && bytes[n - 1] === LF && bytes[n - 2] === LF
    try {
      if (ops[0] !== 0 || text.length !== 0) {
        // Taken (and let go) before any callback, which may feed this parser again.
        const wide = wideOut[0]
        if (wide !== '') wideOut[0] = ''
        deliver(text, ops, wide)
      }
    } finally {
      // A list the chunk filled is doubled for the next one (the rest came as records).
      spareOps = HEADER + ops[0] + 2 > ops.length && ops.length < OPS_MOST ? new Int32Array(ops.length * 2) : ops
    }
  }

  /** Parses `text` natively without delivering its items (see feedText). */
  function skipNative(text) {
    between = false
    const bytes = utf8(text)
    try {
      native.sseFeed(parser, bytes, spareOps ?? new Int32Array(HEADER), wideOut)
      wideOut[0] = ''
    } catch {
      return // the error is for the next feed to report
    }
    between = bytes.length >= 2 && bytes[bytes.length - 1] === LF && bytes[bytes.length - 2] === LF
  }

  /** `text` crosses as its UTF-8 bytes (TextEncoder's copy is cheaper than napi's string decoding). */
  function feedNativeText(text) {
    if (text.length === 0) return
    feedNative(utf8(text))
  }

  // The start of a plain `data:` block that a string chunk ended in, held back (the native parser
  // has not seen it: it is still between blocks) and put before the next chunk.
  let held = ''
  // Whether `held` holds all of `data:` and the character after it, and its line has not ended:
  // what a chunk may extend. `heldData` is then the held line's value, kept as its own string.
  let heldLineOpen = false
  let heldData = ''

  /** Hands the held text to the native parser (before input that must follow it). */
  function flushHeld() {
    if (held === '') return
    const text = held
    held = ''
    heldData = ''
    feedNativeText(text)
  }

  /**
   * Dispatches the blocks of one `data:` line and a blank line found in `text` from `i` on, and
   * returns where the first other block (or the end) is. `tail` is the input that follows
   * `text`: when a callback throws, both are parsed without delivery, then the error goes on.
   */
  function dispatchPlain(text, i, tail) {
    const length = text.length
    let cr = text.indexOf('\r', i)
    if (cr < 0) cr = length
    // No charCodeAt below reads past the end: once one returns NaN there, V8 stops inlining that
    // call for good, and the builtin call per character costs more than the parsing.
    while (i + 5 < length && isDataField(text, i)) {
      let value = i + 5
      if (text.charCodeAt(value) === SPACE) value++
      const lf = text.indexOf('\n', value)
      // The line must end in LF before any CR, be followed by a blank LF line, and fit the
      // buffer limit whatever its UTF-8 length (at most 3 bytes per UTF-16 unit).
      if (lf < 0 || lf > cr || lf + 1 === length || text.charCodeAt(lf + 1) !== LF || (lf - i) * 3 + 1 > maxBuffer) break
      i = lf + 2
      try {
        onEvent({ event: 'message', data: text.slice(value, lf), lastEventId })
      } catch (err) {
        // As when a callback throws while a native batch is delivered: the rest of the input is
        // parsed (the stream stays in step) and its items are dropped.
        const rest = text.slice(i) + tail
        if (rest !== '') skipNative(rest)
        throw err
      }
    }
    return i
  }

  /**
   * Strings: the blocks that are one `data:` line and a blank line, met while the native parser
   * is between blocks, are dispatched here without crossing (their data is a slice of the chunk),
   * and the start of such a block that ends the chunk is held for the next one. Whatever else
   * the chunk holds crosses, from the first block that is not of that shape (a CR, another
   * field, a comment) to the end of the chunk.
   */
  function feedText(chunk) {
    // A lone surrogate crosses as U+FFFD (its UTF-8 encoding); a slice would keep it.
    if (!chunk.isWellFormed?.()) {
      flushHeld()
      return feedNativeText(chunk)
    }
    let i = 0
    if (!between) {
      // Let the native parser finish what it holds, up to the first blank line.
      const blank = chunk.indexOf('\n\n')
      if (blank < 0) return feedNativeText(chunk)
      i = blank + 2
      feedNativeText(chunk.slice(0, i))
      if (!between) return feedNativeText(chunk.slice(i))
    } else if (held !== '') {
      i = heldLineOpen ? extendHeldLine(chunk) : -1
      if (i === EXTENDED) return
      if (i < 0) i = 0
    }
    if (held !== '') {
      const blank = chunk.indexOf('\n\n')
      if (blank < 0) {
        chunk = held + chunk
        held = ''
        heldData = ''
      } else {
        // The held block ends in this chunk: finish it on a short string of its own, so the
        // chunk stays flat (`held + chunk` would be copied whole at its first read, and every
        // read after it would go through the concatenation).
        const head = held + chunk.slice(0, blank + 2)
        held = ''
        heldData = ''
        i = blank + 2
        const stop = dispatchPlain(head, 0, chunk.slice(i))
        if (stop < head.length) {
          chunk = head.slice(stop) + chunk.slice(i)
          i = 0
        }
      }
    }
    i = dispatchPlain(chunk, i, '')
    const length = chunk.length
    if (i === length) return
    const rest = length - i
    if (chunk.indexOf('\r', i) < 0 && rest * 3 + 1 <= maxBuffer && startsPlainBlock(chunk, i)) {
      held = chunk.slice(i)
      // Open: all of `data:` and the character after it are held, and the line has not ended.
      heldLineOpen = rest >= 6 && chunk.charCodeAt(length - 1) !== LF
      if (heldLineOpen) heldData = chunk.slice(chunk.charCodeAt(i + 5) === SPACE ? i + 6 : i + 5)
    } else feedNativeText(i === 0 ? chunk : chunk.slice(i))
  }

  /**
   * A chunk after an open held line (`heldLineOpen`): when the chunk only extends the line (no CR,
   * no LF but a last one), it is appended and EXTENDED returned; when the line ends at the chunk's
   * first LF and a blank line follows, the event is dispatched, its data the held data and the
   * chunk's head joined (never copied here), and the index after the blank line returned; -1
   * otherwise (held unchanged). Either way the line stays within the buffer limit (3 UTF-8 bytes
   * per unit), as in dispatchPlain.
   */
  function extendHeldLine(chunk) {
    const lf = chunk.indexOf('\n')
    if ((held.length + (lf < 0 ? chunk.length : lf)) * 3 + 1 > maxBuffer) return -1
    if (lf < 0 || lf === chunk.length - 1) {
      if (chunk.indexOf('\r') >= 0) return -1
      held += chunk
      heldData += chunk
      heldLineOpen = lf < 0
      return EXTENDED
    }
    if (chunk.charCodeAt(lf + 1) !== LF || chunk.lastIndexOf('\r', lf) >= 0) return -1
    const data = heldData + chunk.slice(0, lf)
    held = ''
    heldData = ''
    try {
      onEvent({ event: 'message', data, lastEventId })
    } catch (err) {
      if (lf + 2 < chunk.length) skipNative(chunk.slice(lf + 2))
      throw err
    }
    return lf + 2
  }

  return {
    feed(chunk) {
      if (typeof chunk === 'string') feedText(chunk)
      else if (chunk instanceof Uint8Array) {
        flushHeld()
        feedNative(chunk)
      } else throw new TypeError('SseParser.feed(chunk): chunk must be a Uint8Array or a string')
    },
    end() {
      // A held block is unfinished: dropped at the end of the stream, as the native parser would.
      held = ''
      heldData = ''
      between = false
      try {
        native.sseEnd(parser)
      } catch (err) {
        throw translateError(err)
      }
    },
    reset() {
      held = ''
      heldData = ''
      between = false
      native.sseReset(parser)
      lastEventId = ''
    },
  }
}

/** Whether a `data:` field name starts at `i` (character codes: cheaper than startsWith). */
const isDataField = (text, i) =>
  text.charCodeAt(i) === 100 &&
  text.charCodeAt(i + 1) === 97 &&
  text.charCodeAt(i + 2) === 116 &&
  text.charCodeAt(i + 3) === 97 &&
  text.charCodeAt(i + 4) === 58

/** Whether `text` from `i` on (no CR in it) can be the start of a block of one `data:` line. */
function startsPlainBlock(text, i) {
  if (text.length - i < 5) return 'data:'.startsWith(text.slice(i))
  if (!isDataField(text, i)) return false
  const lf = text.indexOf('\n', i)
  return lf < 0 || lf === text.length - 1
}

const encoder = new TextEncoder()
/** Scratch space for encoding strings; chunks over 1 MiB get their own. */
let scratch = new Uint8Array(16 * 1024)

/** The UTF-8 bytes of `text`, in the shared scratch space (valid until the next call). */
function utf8(text) {
  const most = text.length * 3
  if (most > 1024 * 1024) return encoder.encode(text)
  if (most > scratch.length) scratch = new Uint8Array(Math.max(most, scratch.length * 2))
  return scratch.subarray(0, encoder.encodeInto(text, scratch).written)
}

const corruptBatch = () => new Error('chat-headstart: corrupt SSE batch from the native parser')

/** Native errors carry Node-API's generic code; give the buffer limit a stable one. */
function translateError(err) {
  if (err instanceof Error && err.message.startsWith(BUFFER_LIMIT_PREFIX)) {
    const error = new Error(err.message)
    error.code = 'ERR_SSE_BUFFER_LIMIT'
    return error
  }
  return err
}
