import test from 'ava'
import { createParser } from 'eventsource-parser'
import { createSseParser, type SseEvent } from 'chat-headstart'
import { privateModule } from './package.helpers.ts'
const { native } = await privateModule<typeof import('../lib/native.js')>('lib/native.js')

// The private native binding (not public API), to count native calls.
const __native = native as unknown as { sseFeed(parser: unknown, chunk: Uint8Array, ops: Int32Array, wide: [string]): string }

type Item = SseEvent | { retry: number } | { comment: string }

/** A parser that records everything it reports, with every callback set. */
function recorder(options: { maxBufferSize?: number } = {}) {
  const items: Item[] = []
  const parser = createSseParser({
    onEvent: (e) => items.push(e),
    onRetry: (ms) => items.push({ retry: ms }),
    onComment: (text) => items.push({ comment: text }),
    ...options,
  })
  return { items, parser }
}

const enc = new TextEncoder()
const msg = (data: string, lastEventId = ''): SseEvent => ({ event: 'message', data, lastEventId })

test('parses AI SDK UI message stream frames from bytes', (t) => {
  const { items, parser } = recorder()
  parser.feed(enc.encode('data: {"type":"start"}\n\ndata: {"type":"text-delta","id":"t1","delta":"Hi"}\n\ndata: [DONE]\n\n'))
  t.deepEqual(items, [msg('{"type":"start"}'), msg('{"type":"text-delta","id":"t1","delta":"Hi"}'), msg('[DONE]')])
})

test('strings and Uint8Arrays (and Buffers) can be mixed in one stream', (t) => {
  const { items, parser } = recorder()
  parser.feed('data: a')
  parser.feed(enc.encode('b\r'))
  parser.feed(Buffer.from('\ndata: c\r\n'))
  parser.feed('\r\n')
  t.deepEqual(items, [msg('ab\nc')])
})

test('event types, ids and lastEventId follow the spec', (t) => {
  const { items, parser } = recorder()
  parser.feed('event: batch\nid: 3,0,0\ndata: x\n\ndata: y\n\nid: 4\0\nevent:\ndata: z\n\nid\nevent: ping\ndata: w\n\n')
  t.deepEqual(items, [
    { event: 'batch', data: 'x', id: '3,0,0', lastEventId: '3,0,0' },
    { event: 'message', data: 'y', lastEventId: '3,0,0' },
    { event: 'message', data: 'z', lastEventId: '3,0,0' },
    { event: 'ping', data: 'w', id: '', lastEventId: '' },
  ])
  t.false('id' in items[1]!, 'an event whose block had no id has no id key')
})

test('non-ASCII text, split UTF-8 and invalid bytes arrive intact or as U+FFFD', (t) => {
  const { items, parser } = recorder()
  const text = 'héllo € 😀 𝄞 — 中文'
  const bytes = enc.encode(`event: ✓ü😀\nid: 😀é\ndata: ${text}\n: ç😀\n\n`)
  for (const byte of bytes) parser.feed(bytes.subarray(0, 0)), parser.feed(Uint8Array.of(byte))
  parser.feed(Uint8Array.of(0x64, 0x61, 0x74, 0x61, 0x3a, 0x20, 0xe2, 0x82, 0x61, 0xff, 0x0a, 0x0a))
  t.deepEqual(items, [
    { comment: 'ç😀' },
    { event: '✓ü😀', data: text, id: '😀é', lastEventId: '😀é' },
    msg('\ufffda\ufffd', '😀é'),
  ])
})

test('a large non-ASCII event split into many chunks arrives intact', (t) => {
  const { items, parser } = recorder()
  const text = 'ab€😀é\u2028'.repeat(20_000)
  const bytes = enc.encode(`event: big\ndata: ${text}\ndata: ${text}\n\n`)
  for (let i = 0; i < bytes.length; i += 997) parser.feed(bytes.subarray(i, i + 997))
  t.is(items.length, 1)
  const event = items[0] as SseEvent
  t.is(event.event, 'big')
  t.is(event.data.length, text.length * 2 + 1)
  t.true(event.data === `${text}\n${text}`)
})

test('long data lines held over many string chunks arrive whole, and the limit still holds', (t) => {
  // Fed as strings, a plain `data:` line that runs over many chunks is held in JS until its block
  // ends (lib/sse.js): the result and the buffer limit must be what the bytes give.
  const line = 'xyz{"a":1}é'.repeat(3_000)
  const stream = `data: ${line}\n\ndata: short\n\ndata: ${line}\n\n: c\ndata: after\n\n`
  for (const size of [1, 7, 500, 4096]) {
    const pieces: string[] = []
    for (let i = 0; i < stream.length; i += size) pieces.push(stream.slice(i, i + size))
    for (const maxBufferSize of [undefined, 20_000, 40_000]) {
      const run = (feed: (parser: ReturnType<typeof createSseParser>, piece: string) => void) => {
        const { items, parser } = recorder({ maxBufferSize })
        try {
          for (const piece of pieces) feed(parser, piece)
          parser.end()
          return { items }
        } catch (err) {
          return { items, error: (err as Error).message }
        }
      }
      const asStrings = run((parser, piece) => parser.feed(piece))
      t.deepEqual(asStrings, run((parser, piece) => parser.feed(enc.encode(piece))), `chunks of ${size}, limit ${maxBufferSize}`)
      if (maxBufferSize === undefined) t.deepEqual(asStrings.items, [msg(line), msg('short'), msg(line), { comment: 'c' }, msg('after')])
      else if (maxBufferSize === 20_000) t.regex(String(asStrings.error), /SSE buffer limit exceeded/)
    }
  }
})

test('a leading BOM is stripped once, even split across chunks', (t) => {
  const { items, parser } = recorder()
  parser.feed(new Uint8Array(0))
  parser.feed(Uint8Array.of(0xef))
  parser.feed(Uint8Array.of(0xbb, 0xbf))
  parser.feed('data: a\n\n\ufeffdata: hidden\n\ndata: b\n\n')
  t.deepEqual(items, [msg('a'), msg('b')])
})

test('events of one feed are delivered from ONE native call', (t) => {
  const original = __native.sseFeed
  let calls = 0
  __native.sseFeed = (parser, chunk, ops, wide) => {
    calls += 1
    return original(parser, chunk, ops, wide)
  }
  try {
    const { items, parser } = recorder()
    let body = ''
    for (let i = 0; i < 1000; i++) body += `data: {"type":"text-delta","id":"t1","delta":"${i}"}\n\n`
    parser.feed(enc.encode(body))
    t.is(calls, 1)
    t.is(items.length, 1000)
    t.deepEqual(items[999], msg('{"type":"text-delta","id":"t1","delta":"999"}'))
  } finally {
    __native.sseFeed = original
  }
})

test('a chunk of thousands of mixed items arrives whole and in order, again after the first', (t) => {
  // More items than the first operation list holds (src/binding/sse.rs): the ones past it come
  // as text records, and the next chunk gets a longer list.
  const blocks = [
    'data: {"type":"text-delta","id":"t1","delta":"x"}\n\n',
    'data:\n\n',
    'data: café\n\n',
    'event: ping\ndata: p\n\n',
    'id: 7\ndata: seven\n\n',
    'data: a\ndata: b\n\n',
    ': note\n',
    'data: ok\r\n\r\n',
  ]
  let body = ''
  for (let i = 0; i < 3000; i++) body += blocks[i % 7 === 6 ? 6 : (i * 5) % blocks.length]
  const expected: Item[] = []
  const reference = createParser({
    onEvent: (e) => expected.push({ event: e.event ?? 'message', data: e.data, ...(e.id === undefined ? {} : { id: e.id }), lastEventId: '' }),
    onComment: (c) => expected.push({ comment: c.startsWith(' ') ? c.slice(1) : c }),
  })
  reference.feed(body + body)
  const { items, parser } = recorder()
  parser.feed(enc.encode(body))
  parser.feed(enc.encode(body))
  t.true(expected.length > 4000)
  t.deepEqual(
    items.map((e) => ('lastEventId' in e ? { ...e, lastEventId: '' } : e)),
    expected,
  )
  // The persistent last event ID follows the ids in the stream.
  t.is((items.at(-1) as SseEvent).lastEventId, '7')
})

test('a callback may feed the same parser (the outer feed finishes delivering after it)', (t) => {
  const seen: string[] = []
  const parser = createSseParser({
    onEvent(e) {
      seen.push(e.data)
      if (e.data === 'a') parser.feed(enc.encode('data: n1\n\ndata: n2\n\ndata: n3\n\n'))
    },
  })
  parser.feed(enc.encode('data: a\n\ndata: b\n\ndata: c\n\n'))
  t.deepEqual(seen, ['a', 'n1', 'n2', 'n3', 'b', 'c'])
})

test('end(): a trailing CR terminates its line; an unfinished block is dropped', (t) => {
  const { items, parser } = recorder()
  parser.feed('data: x\r')
  parser.feed('\r')
  parser.feed('id: 9\ndata: never')
  parser.end()
  t.deepEqual(items, [msg('x')])
  // The stream after end() is a new one (a reconnection): the partial line does not leak into it.
  parser.feed('\n\ndata: y\n\n')
  t.deepEqual(items, [msg('x'), msg('y')])
})

test('end() keeps lastEventId for a reconnection; reset() forgets it and any partial input', (t) => {
  const { items, parser } = recorder()
  parser.feed('id: 7\ndata: a\n\ndata: partial')
  parser.end()
  parser.feed('data: b\n\n')
  parser.feed('data: partial')
  parser.reset()
  parser.feed('\n\ndata: c\n\n')
  t.deepEqual(items, [
    { event: 'message', data: 'a', id: '7', lastEventId: '7' },
    msg('b', '7'),
    msg('c'),
  ])
})

test('retry and comments reach their callbacks; retry accepts only ASCII digits', (t) => {
  const { items, parser } = recorder()
  parser.feed(': keep-alive\n\nretry: 02500\nretry: 1.5\nretry: -1\nretry: 10 \nretry\n:\n')
  t.deepEqual(items, [{ comment: 'keep-alive' }, { retry: 2500 }, { comment: '' }])
})

test('onRetry and onComment are optional', (t) => {
  const events: SseEvent[] = []
  const parser = createSseParser({ onEvent: (e) => events.push(e) })
  parser.feed(': ping\nretry: 5\ndata: only\n\n')
  parser.end()
  t.deepEqual(events, [msg('only')])
})

test('the buffer limit throws a clear error instead of growing, until reset()', (t) => {
  const events: SseEvent[] = []
  const parser = createSseParser({ onEvent: (e) => events.push(e), maxBufferSize: 64 })
  parser.feed('data: small\n\n')
  const error = t.throws(() => {
    for (let i = 0; i < 10; i++) parser.feed('data: 0123456789')
  })
  t.regex(error!.message, /SSE buffer limit exceeded.*64 bytes/)
  t.is((error as NodeJS.ErrnoException).code, 'ERR_SSE_BUFFER_LIMIT')
  t.throws(() => parser.feed('\n\n'), { code: 'ERR_SSE_BUFFER_LIMIT' } as never)
  t.throws(() => parser.end(), { code: 'ERR_SSE_BUFFER_LIMIT' } as never)
  parser.reset()
  parser.feed('data: again\n\n')
  t.deepEqual(events, [msg('small'), msg('again')])
  // One long line inside a single chunk is refused too, after the events before it.
  const before: string[] = []
  const strict = createSseParser({ onEvent: (e) => before.push(e.data), maxBufferSize: 8 })
  t.throws(() => strict.feed(`data: ok\n\ndata: ${'x'.repeat(100)}\n\ndata: after\n\n`), {
    code: 'ERR_SSE_BUFFER_LIMIT',
    message: /8 bytes/,
  } as never)
  t.deepEqual(before, ['ok'])
})

test('bad arguments fail with clear TypeErrors', (t) => {
  t.throws(() => createSseParser(undefined as never), { instanceOf: TypeError, message: /onEvent/ })
  t.throws(() => createSseParser({} as never), { instanceOf: TypeError, message: /onEvent must be a function/ })
  t.throws(() => createSseParser({ onEvent() {}, onRetry: 1 } as never), { instanceOf: TypeError })
  t.throws(() => createSseParser({ onEvent() {}, maxBufferSize: 0 }), { instanceOf: TypeError })
  const parser = createSseParser({ onEvent() {} })
  t.throws(() => parser.feed(42 as never), { instanceOf: TypeError, message: /Uint8Array or a string/ })
})

test('a throwing callback propagates out of feed', (t) => {
  const parser = createSseParser({
    onEvent() {
      throw new Error('user bug')
    },
  })
  t.throws(() => parser.feed('data: a\n\n'), { message: 'user bug' })
})

test('agrees with eventsource-parser on randomly chunked streams', (t) => {
  // Streams without the edge cases where eventsource-parser deviates from WHATWG (BOM, CR at EOF).
  let seed = 12345
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  const pieces = ['a', 'é', '😀', ' ', ':', '"', '\\', '{', '中', '\u2028', '\0']
  for (let round = 0; round < 50; round++) {
    let body = ''
    for (let e = 0; e < 30; e++) {
      if (rand(4) === 0) body += `event: t${rand(3)}\n`
      if (rand(5) === 0) body += `id: ${rand(100)}\n`
      if (rand(6) === 0) body += ': c\n'
      const lines = 1 + rand(3)
      for (let l = 0; l < lines; l++) {
        let text = ''
        for (let k = rand(12); k > 0; k--) text += pieces[rand(pieces.length)]
        body += `data:${text}${['\n', '\r\n', '\r'][rand(3)]}`
      }
      body += ['\n', '\r\n', '\r\n'][rand(3)]
    }
    const bytes = enc.encode(body)
    const ours: SseEvent[] = []
    const theirs: SseEvent[] = []
    const parser = createSseParser({ onEvent: (e) => ours.push(e) })
    const reference = createParser({
      onEvent: (e) => theirs.push({ event: e.event ?? 'message', data: e.data, ...(e.id === undefined ? {} : { id: e.id }), lastEventId: '' }),
    })
    const decoder = new TextDecoder()
    for (let i = 0; i < bytes.length; ) {
      const size = rand(40)
      parser.feed(bytes.subarray(i, i + size))
      reference.feed(decoder.decode(bytes.subarray(i, i + size), { stream: true }))
      i += size
    }
    parser.end()
    // eventsource-parser does not report the persistent lastEventId; compare the rest.
    t.deepEqual(
      ours.map((e) => ({ ...e, lastEventId: '' })),
      theirs,
      `round ${round}`,
    )
  }
})

test('fed as strings, any stream gives exactly what its bytes give', (t) => {
  // Strings take a JS path for plain `data:` blocks between native calls (lib/sse.js): every shape
  // that path must hand back (ids, types, comments, retry, CR and CRLF, a BOM, blocks across
  // chunks, lone surrogates, the buffer limit) against the same stream fed as bytes.
  let seed = 777
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  const pieces = ['a', 'é', '😀', ' ', ':', 'data:', '\u2028', '\0', 'x'.repeat(40)]
  const lines = ['data: §', 'data:§', 'data', 'id: §', 'id', 'event: §', ': §', 'retry: 15', 'data:  §', '§']
  for (let round = 0; round < 60; round++) {
    let text = rand(8) === 0 ? '\ufeff' : ''
    for (let e = 0; e < 25; e++) {
      for (let l = 1 + rand(3); l > 0; l--) {
        let value = ''
        for (let k = rand(6); k > 0; k--) value += pieces[rand(pieces.length)]
        const line = rand(3) === 0 ? lines[rand(lines.length)]! : 'data: §'
        text += line.replace('§', value) + ['\n', '\n', '\r\n', '\r'][rand(4)]
      }
      text += ['\n', '\n', '\r\n', '\r'][rand(4)]
    }
    if (round % 10 === 9) text = text.replace('a', '\ud800') // a lone surrogate crosses as U+FFFD
    const maxBufferSize = round % 5 === 4 ? 48 : undefined
    const run = (feed: (parser: ReturnType<typeof createSseParser>, piece: string) => void) => {
      const items: Item[] = []
      const parser = createSseParser({
        onEvent: (e) => items.push(e),
        onRetry: (ms) => items.push({ retry: ms }),
        onComment: (c) => items.push({ comment: c }),
        maxBufferSize,
      })
      let error: unknown
      let chunkSeed = round
      try {
        for (let i = 0; i < text.length; ) {
          chunkSeed = (chunkSeed * 1103515245 + 12345) & 0x7fffffff
          const size = 1 + (chunkSeed % 120)
          feed(parser, text.slice(i, i + size))
          i += size
        }
        parser.end()
      } catch (err) {
        error = (err as Error).message
      }
      return { items, error }
    }
    const asStrings = run((parser, piece) => parser.feed(piece))
    const asBytes = run((parser, piece) => parser.feed(enc.encode(piece)))
    const mixed = run((parser, piece) => parser.feed(piece.length % 3 === 0 ? enc.encode(piece) : piece))
    t.deepEqual(asStrings, asBytes, `round ${round}`)
    t.deepEqual(mixed, asBytes, `round ${round}, strings and bytes mixed`)
  }
})
