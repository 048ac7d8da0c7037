// Head-start turns through every framework recipe of the README, against
// the local plane: the browser-visible bytes of a tool-call turn equal the reference's
// (`@trigger.dev/sdk` chat.headStart behind its own toNodeListener on plain node:http, ids
// normalised); a browser leaving in step 1 or in phase 2 stops the turn upstream and leaves the
// server healthy; 400 / 413 / 415 come out as documented behind each body parser; a stalled
// browser keeps the native body bounded; keep-alive comments get through compression middlewares.
import test from 'ava'
import { chat as refChat } from '@trigger.dev/sdk/chat-server'
import { chat, startDevPlane } from 'chat-headstart'
import type { NodeListener } from 'chat-headstart'
import { mockModel, oneToolCall, textParts, weatherTools, type StreamPart } from './headstart.helpers.ts'
import { mounts, startTurn, turn, type Frame, type Mount, type Target, type TurnOut } from './listener-headstart.helpers.ts'
import { eventually, settled, sleep } from './poll.ts'
import { privateModule } from './package.helpers.ts'

const { kNativeBody } = await privateModule<typeof import('../lib/node-listener.js')>('lib/node-listener.js')

/** Chats whose agent answers only after this long (phase 2 is silent meanwhile). */
const SLOW_AGENT_PREFIX = 'slow'
const SLOW_AGENT_MS = 1500
/** Chats whose agent streams a large step 2 (backpressure): 6 MB, more than loopback socket buffers take. */
const BIG_PREFIX = 'big'
const BIG_DELTAS = 3000
const BIG_DELTA = 'x'.repeat(2000)

const plane = await startDevPlane({
  agent: {
    recordsPerAppend: 50,
    toolOutputs: { getWeather: { city: 'Paris', tempC: 20 } },
    text: ['It is ', '20C.'],
    onTurn: async (input) => {
      if (input.chatId.startsWith(SLOW_AGENT_PREFIX)) await sleep(SLOW_AGENT_MS)
      if (input.chatId.startsWith(BIG_PREFIX)) return { text: Array.from({ length: BIG_DELTAS }, () => BIG_DELTA) }
      return null
    },
  },
})
test.after.always(() => plane.close())

/** What the model of a turn observed. */
interface ModelProbe {
  aborted: boolean
}

function model(parts: StreamPart[], probe: ModelProbe, chunkDelayInMs = 0) {
  return mockModel(parts, {
    chunkDelayInMs,
    onDoStream: (options) => options.abortSignal?.addEventListener('abort', () => (probe.aborted = true)),
  })
}

/** The `run` of every handler here: the chat id picks the step-1 script. */
function runFor(probe: ModelProbe) {
  return async ({ streamText, signal, chat: helper }: any) => {
    const chatId: string = helper.session.chatId
    signal.addEventListener('abort', () => (probe.aborted = true))
    if (chatId.includes('text')) return streamText({ model: model(textParts(), probe) })
    if (chatId.includes('slowstep1'))
      return streamText({ model: model(textParts(Array.from({ length: 40 }, (_, i) => `w${i} `)), probe, 50) })
    return streamText({ model: model(oneToolCall, probe), tools: await weatherTools() })
  }
}

const handlerOptions = (probe: ModelProbe, extra: Record<string, unknown> = {}) =>
  ({ agentId: 'exp-agent', apiClient: plane.apiClient as any, run: runFor(probe), ...extra }) as any

const firstTurn = (chatId: string, padding = '') =>
  JSON.stringify({
    headStartMessages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Weather in Paris?' + padding }] }],
    chatId,
    trigger: 'submit-message',
  })

let counter = 0
/** Chat ids of equal length for every side, so normalised bodies compare byte for byte. */
const chatId = (kind: string) => `${kind}-${String(++counter).padStart(3, '0')}`

/** The body with the turn's message ids and its chat id replaced by placeholders. */
function normalised(out: TurnOut, id: string): string {
  let text = out.text.split(id).join('<CHAT>')
  const ids = [...new Set(out.chunks.filter((c) => c.type === 'start' && c.messageId).map((c) => c.messageId as string))]
  ids.forEach((m, i) => (text = text.split(m).join(`<M${i + 1}>`)))
  return text
}

const inAppends = (id: string) =>
  (plane.requests() as any[]).filter((r) => r.origin === 'api' && r.path === `/realtime/v1/sessions/${id}/in/append`).map((r) => r.body)
const subscriptions = (id: string) =>
  (plane.requests() as any[]).filter((r) => r.origin === 'api' && r.method === 'GET' && r.path.startsWith(`/realtime/v1/sessions/${id}/out`))
const turnCompleted = (id: string) =>
  plane.records(id, 'out')?.records.some((r: any) => r.headers?.some((h: string[]) => h[1] === 'turn-complete'))

const types = (chunks: any[]) => chunks.map((c) => c.type)

// The reference turn every framework is compared with: its handler behind its own listener on node:http.
let referenceTurn: Promise<{ text: string; headers: Record<string, string> }> | undefined
function reference() {
  referenceTurn ??= (async () => {
    const probe = { aborted: false }
    const server = await mounts[0].start(refChat.toNodeListener(refChat.headStart(handlerOptions(probe))) as any, null as any)
    try {
      const id = chatId('tool')
      const out = await turn(server, { body: firstTurn(id) })
      if (out.status !== 200 || types(out.chunks).at(-2) !== 'trigger:turn-complete') throw new Error(`reference turn failed: ${out.text}`)
      return { text: normalised(out, id), headers: out.headers }
    } finally {
      await server.close()
    }
  })()
  return referenceTurn
}

/** Our handler mounted by `m`, plus what the test can observe of it. */
async function mountOurs(m: Mount, extra: Record<string, unknown> = {}, compress = false) {
  const probe: ModelProbe = { aborted: false }
  const handler = chat.headStart(handlerOptions(probe, extra))
  const listener = chat.toNodeListener(handler)
  const target = await m.start(listener, handler, { compress })
  return { target, probe }
}

const quiet = async <T>(fn: () => Promise<T>): Promise<T> => {
  const orig = console.error
  console.error = () => {}
  try {
    return await fn()
  } finally {
    console.error = orig
  }
}

for (const m of mounts) {
  test.serial(`${m.name}: tool-call turn byte-identical to the reference; browser leaves in step 1 / phase 2`, async (t) => {
    const ref = await reference()
    const { target, probe } = await mountOurs(m)
    t.teardown(() => target.close())

    // A full tool-call turn: step 1 from the model, phase 2 spliced from the agent.
    const id = chatId('tool')
    const out = await turn(target, { body: firstTurn(id) })
    t.is(out.status, 200)
    t.is(out.error, undefined)
    t.is(normalised(out, id), ref.text, 'browser-visible bytes equal the reference (ids normalised)')
    for (const name of ['content-type', 'x-vercel-ai-ui-message-stream']) t.is(out.headers[name], ref.headers[name], name)
    t.regex(out.headers['cache-control'], /no-transform/)
    t.truthy(out.headers['x-trigger-chat-access-token'])
    t.is(types(out.chunks).filter((x) => x === 'start').length, 2)
    t.true(types(out.chunks).includes('tool-output-available'))

    if (!m.referenceWorks) {
      // The reference in the same recipe: its listener reads the exhausted stream and fails.
      const refListener = refChat.toNodeListener(refChat.headStart(handlerOptions({ aborted: false }))) as any
      const refServer = await m.start(refListener, null as any, { nodeStyle: true })
      const refOut = await quiet(() => turn(refServer, { body: firstTurn(chatId('tool')) }))
      await refServer.close()
      t.is(refOut.status, 500, 'the reference breaks behind this body parser (the documented improvement)')
      t.regex(refOut.text, /JSON/, `reference: ${refOut.text}`) // its JSON.parse message leaks, too
    }

    // The browser leaves during step 1: the model is aborted, the agent is told to skip, no phase 2.
    const s1 = chatId('slowstep1')
    const left1 = await turn(target, {
      body: firstTurn(s1),
      abortWhen: (frames: Frame[]) => frames.some((f) => f.chunk?.type === 'text-delta'),
    })
    t.true(left1.aborted)
    await eventually(() => probe.aborted, 20_000, 'the model aborted')
    // The plane logs a request when its headers arrive and adds the body once it has read it.
    await eventually(() => inAppends(s1).length === 1 && inAppends(s1)[0] !== '', 20_000, 'handover-skip, body read')
    t.deepEqual(inAppends(s1), ['{"kind":"handover-skip"}'])
    t.deepEqual(subscriptions(s1), [], 'no phase-2 subscription after the browser left')

    // The browser leaves in phase 2 (handed over, the agent silent, keep-alive comments flowing):
    // the turn is cancelled.
    const p2 = await mountOurs(m, { keepAliveIntervalMs: 100 })
    t.teardown(() => p2.target.close())
    const s2 = chatId(`${SLOW_AGENT_PREFIX}p2`)
    const left2 = await turn(p2.target, {
      body: firstTurn(s2),
      abortWhen: (frames: Frame[]) => frames.some((f) => f.comment),
    })
    t.true(left2.aborted)
    t.true(types(left2.chunks).includes('finish'), 'step 1 was over')
    t.false(types(left2.chunks).includes('tool-output-available'), 'the agent had not answered')
    t.deepEqual(inAppends(s2).map((b) => JSON.parse(b).kind), ['handover'])
    await eventually(() => p2.probe.aborted, 20_000, 'the turn signal aborted (engine cancelled)')
    // The agent still finishes the turn on session.out, unobserved (as with the reference).
    await eventually(() => Boolean(turnCompleted(s2)), 20_000, 'agent turn complete')

    // The server is healthy: the next turn on it completes.
    const after = chatId('text')
    const next = await turn(target, { body: firstTurn(after) })
    t.is(next.status, 200)
    t.deepEqual(types(next.chunks).slice(-2), ['trigger:turn-complete', 'trigger:session-state'])
  })

  test.serial(`${m.name}: 400 / 413 / 415 as the README says for this recipe`, async (t) => {
    const { target } = await mountOurs(m, { maxBodyBytes: 64 * 1024 })
    t.teardown(() => target.close())
    const isOurs = (out: TurnOut, status: number, message: RegExp) => {
      t.is(out.status, status, out.text)
      t.is(out.headers['content-type'], 'application/json')
      t.regex(JSON.parse(out.text).error, message)
    }

    // Valid JSON without chatId reaches our handler behind every parser.
    isOurs(await turn(target, { body: '{"headStartMessages":[]}' }), 400, /missing `chatId`/)
    // Over our maxBodyBytes (64 KiB) but under every parser's limit: ours.
    isOurs(await turn(target, { body: firstTurn(chatId('over413'), 'p'.repeat(80 * 1024)) }), 413, /limit is 65536 bytes/)
    // Not JSON: parsers let text/plain through unread, we answer 415.
    isOurs(await turn(target, { body: 'hello', contentType: 'text/plain' }), 415, /send the body as application\/json/)

    // Malformed JSON and bodies over the parser's own limit are answered by the parser, before us.
    const malformed = await quiet(() => turn(target, { body: '{"chatId":' }))
    const huge = await quiet(() => turn(target, { body: firstTurn(chatId('huge'), 'p'.repeat(1536 * 1024)) }))
    if (m.parser === undefined) {
      isOurs(malformed, 400, /not valid JSON/)
      isOurs(huge, 413, /limit is 65536 bytes/)
    } else {
      // express.json(): Express's final handler, an HTML page (with the stack outside
      // NODE_ENV=production), 413 above its 100 kB limit. Fastify: JSON with its error code, 413
      // above bodyLimit (1 MiB). koa-bodyparser: Koa's plain-text error, 413 above jsonLimit (1 MB).
      const expected = {
        'express.json': { 400: /text\/html/, 413: /text\/html/ },
        fastify: { 400: 'FST_ERR_CTP_INVALID_JSON_BODY', 413: 'FST_ERR_CTP_BODY_TOO_LARGE' },
        'koa-bodyparser': { 400: /text\/plain/, 413: /text\/plain/ },
      }[m.parser]
      for (const [out, status] of [
        [malformed, 400],
        [huge, 413],
      ] as const) {
        t.is(out.status, status, `${m.parser} answers ${status} itself`)
        const want = expected[status]
        if (typeof want === 'string') t.is(JSON.parse(out.text).code, want)
        else t.regex(out.headers['content-type'], want)
      }
    }
  })
}

// ---- a stalled browser: the native body is paused, nothing piles up in the listener

/** Counts what the listener takes from the head-start response's native body. */
function observeNativeBody(handler: (req: Request) => Promise<Response>) {
  const seen = { written: 0, refused: 0, started: false }
  const wrapped = async (req: Request) => {
    const res = await handler(req)
    const source = (res as any)[kNativeBody]
    if (source) {
      const start = source.start.bind(source)
      source.start = (sink: any) => {
        seen.started = true
        start({
          write(chunk: Uint8Array) {
            seen.written += chunk.byteLength
            const ok = sink.write(chunk)
            if (!ok) seen.refused++
            return ok
          },
          end: () => sink.end(),
          error: (e: Error) => sink.error(e),
        })
      }
    }
    return res
  }
  return { wrapped, seen }
}

for (const name of ['Express 5 + express.json()', 'Fastify 5 (hijack, default JSON parser)']) {
  const m = mounts.find((x) => x.name === name)!
  test.serial(`${m.name}: a stalled browser pauses the native body (about one S2 batch held), all bytes arrive on resume`, async (t) => {
    const probe = { aborted: false }
    const { wrapped, seen } = observeNativeBody(chat.headStart(handlerOptions(probe)))
    const sockets: any[] = []
    const inner = chat.toNodeListener(wrapped)
    const listener = ((req: any, res: any, next: any) => {
      sockets.push((req.req ?? req).socket)
      return inner(req, res, next)
    }) as NodeListener
    const target: Target = await m.start(listener, wrapped)
    t.teardown(() => target.close())

    const id = chatId(BIG_PREFIX)
    const live = startTurn(target, { body: firstTurn(id) })
    await live.headers
    live.pause() // the browser stops reading
    await eventually(() => seen.refused > 0, 60_000, 'the socket pushed back')
    await settled(() => seen.written, 500, 60_000)
    const socket = sockets.at(-1)
    const acceptedByKernel = socket.bytesWritten - socket.writableLength
    const held = seen.written - acceptedByKernel
    // The phase-2 body arrives in S2 read batches (≤ 1 MiB of records each, one sink.write per batch):
    // what the listener holds past the socket is at most about one batch plus Node's high-water mark.
    t.true(held <= 2 * 1024 * 1024, `held in the listener: ${held} bytes`)
    const total = BIG_DELTAS * BIG_DELTA.length
    t.true(seen.written < total, `paused before the end: ${seen.written} of > ${total} bytes`)
    t.log(`stalled: ${seen.written} bytes taken from the native body, ${held} held by the listener`)
    live.resume()
    const out = await live.done
    t.is(out.error, undefined)
    t.is(out.status, 200)
    const deltas = out.chunks.filter((c) => c.type === 'text-delta' && c.id === 'a1')
    t.is(deltas.length, BIG_DELTAS)
    t.true(deltas.every((c) => c.delta === BIG_DELTA))
    t.deepEqual(types(out.chunks).slice(-2), ['trigger:turn-complete', 'trigger:session-state'])
  })
}

// ---- keep-alive comments of phase 2 behind compression middlewares

for (const name of ['Express 5', 'Fastify 5 (hijack, default JSON parser)', 'Koa 3 + @koa/router']) {
  const m = mounts.find((x) => x.name === name)!
  test.serial(`${m.name} behind its compression middleware: keep-alive comments arrive while phase 2 is silent`, async (t) => {
    const { target } = await mountOurs(m, { keepAliveIntervalMs: 100 }, true)
    t.teardown(() => target.close())
    const id = chatId(`${SLOW_AGENT_PREFIX}ka`)
    const out = await turn(target, { body: firstTurn(id), headers: { 'accept-encoding': 'gzip, br' } })
    t.is(out.status, 200)
    t.false('content-encoding' in out.headers, 'the event stream is not compressed')
    t.regex(out.headers['cache-control'], /no-transform/)
    const stepOneEnd = out.frames.find((f) => f.chunk?.type === 'finish')!
    const phase2Start = out.frames.filter((f) => f.chunk?.type === 'start')[1]
    const firstComment = out.frames.find((f) => f.comment)
    t.truthy(firstComment, 'a keep-alive comment was sent')
    // Delivered in its own read, after step 1 and before the agent's first chunk: nothing buffered it.
    t.true(firstComment!.read > stepOneEnd.read && firstComment!.read < phase2Start.read, JSON.stringify(out.frames.map((f) => f.read)))
    t.deepEqual(types(out.chunks).slice(-2), ['trigger:turn-complete', 'trigger:session-state'])

    // Other answers of the route: Express's compression() compresses them; Fastify's hijacked reply
    // and Koa's `respond = false` bypass their compressors.
    const bad = await turn(target, { body: '{"headStartMessages":[]}', headers: { 'accept-encoding': 'gzip' } })
    t.is(bad.status, 400)
    t.is(bad.headers['content-encoding'] ?? 'identity', name === 'Express 5' ? 'gzip' : 'identity')
    t.regex(JSON.parse(bad.text).error, /missing `chatId`/)
  })
}
