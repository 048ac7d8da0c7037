// `chat`: Trigger.dev Head Start for any Web Fetch server, with the protocol work in Rust.
//
// JS owns only what must be JS: converting UI messages, calling the customer's `run`, pumping
// the AI SDK UI chunk stream into Rust in batches, reading `finishReason` / `response`, and
// building the `Response`. Rust (HeadStartEngine) parses and validates the request, creates
// the session, writes step 1 to S2, hands over, splices phase 2 and produces the SSE bytes.
import { convertToModelMessages, stepCountIs, streamText as aiStreamText } from 'ai'
import { native } from './native.js'
import { toNodeListener } from './node-listener.js'
import { kNativeBody as NATIVE_BODY } from './node/native-body.js'
import { observeTurn } from './telemetry.js'

const JSON_HEADERS = { 'content-type': 'application/json' }
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024
const EMPTY = new Uint8Array(0)

// What the engine's notifications report and how step 1 ended: enums generated from Rust
// (src/binding/headstart/seam.rs, typed in binding.d.ts).
const { TurnEvent, StepOneEnd } = native

/** Keys the bound `streamText` owns (the handover depends on them). */
const OWNED_OPTIONS = ['messages', 'prompt', 'stopWhen', 'abortSignal']

// ---------------------------------------------------------------------------------------------
// Configuration (docs/protocol.md §2.1): option, then `configure()`, then environment, exactly like
// the reference's apiClientManager.

function env(name) {
  const v = process.env[name]
  return v === undefined || v === '' ? undefined : v
}

function devBranch() {
  const v = env('TRIGGER_DEV_BRANCH')
  return v && v !== 'default' ? v : undefined
}

/** Where @trigger.dev/core's registerGlobal keeps what the SDK's `configure()` stored. */
const TRIGGER_GLOBALS = Symbol.for('dev.trigger.ts.api')

/** The SDK's global `configure({ baseURL, accessToken, previewBranch, … })`, if it was called (no import needed). */
function sdkConfigured() {
  const config = globalThis[TRIGGER_GLOBALS]?.['api-client']
  return config && typeof config === 'object' ? config : undefined
}

/**
 * Resolves base URL, credential and branch. Throws when no credential is configured.
 * With `apiClient` the reference runs the request in `runWithConfig({ ...configure(), ...apiClient })`
 * (the option wins key by key, env fills the gaps); without it the `configure()` values and then
 * the environment apply — note the credential order differs between the two, as in the reference.
 */
export function resolveApiConfig(apiClient) {
  const configured = sdkConfigured()
  const source = apiClient ? { ...configured, ...apiClient } : configured
  const envKey = () => env('TRIGGER_SECRET_KEY') ?? env('TRIGGER_ACCESS_TOKEN')
  // (TRIGGER_RUN_TOKEN alone gets the reference no credential outside a task run: not read.)
  const secretKey = apiClient
    ? (source.accessToken ?? source.secretKey ?? envKey())
    : (source?.secretKey ?? source?.accessToken ?? envKey())
  const baseURL = (source?.baseURL ?? env('TRIGGER_API_URL') ?? 'https://api.trigger.dev').replace(/\/+$/, '')
  if (!secretKey) {
    throw new Error(
      'chat-headstart: no Trigger.dev secret key. Set TRIGGER_SECRET_KEY (or pass `apiClient: { secretKey }`, or call configure() of @trigger.dev/sdk).',
    )
  }
  const branch =
    source?.previewBranch ?? env('TRIGGER_PREVIEW_BRANCH') ?? env('VERCEL_GIT_COMMIT_REF') ?? devBranch()
  const v1 = ['0', 'false']
  const streamsV1 =
    source?.future?.v2RealtimeStreams === false ||
    v1.includes(process.env.TRIGGER_V2_REALTIME_STREAMS) ||
    v1.includes(process.env.TRIGGER_REALTIME_STREAMS_V2)
  return {
    baseURL,
    secretKey,
    branch: branch || undefined,
    realtimeStreamsVersion: streamsV1 ? 'v1' : 'v2',
    externalDeploymentId: source?.externalDeploymentId,
  }
}

// ---------------------------------------------------------------------------------------------
// Engines: one per distinct configuration, each with ONE threadsafe notification function.

const engines = new Map()

/** The engine's `HeadStartError` (a refused request or a failed API call) as a JS Error. */
function toError({ status, message }) {
  return Object.assign(new Error(message), { status: status ?? undefined })
}

class Engine {
  /** @param {import('../binding.d.ts').EngineConfig} config */
  constructor(config) {
    /** @type {Map<number, { turn: number, onNotify: Function }>} */
    this.turns = new Map()
    this.native = new native.HeadStartEngine(config, (turn, event, bytes, detail) => this.turns.get(turn)?.onNotify(event, bytes, detail))
  }

  track(state) {
    this.turns.set(state.turn, state)
    keepAlive(+1)
  }

  /** One `session.in` append outside the turn machinery (resolves when the API accepted it). */
  appendIn(chatId, body) {
    return new Promise((resolve, reject) => {
      const pending = {
        turn: this.native.appendIn(chatId, Buffer.from(body)),
        onNotify: (event, _bytes, error) => {
          if (event !== TurnEvent.AppendDone) return
          this.forget(pending)
          if (error) reject(toError(error))
          else resolve()
        },
      }
      this.track(pending)
    })
  }

  /** Stops routing notifications to `state` (Rust forgets a turn itself when it ends). */
  forget(state) {
    if (this.turns.delete(state.turn)) keepAlive(-1)
  }
}

// The notification function is weak (it must not pin the process forever); while turns are
// in flight one ref'd timer keeps the event loop alive so detached completions still finish.
let activeTurns = 0
let keepAliveTimer
function keepAlive(delta) {
  activeTurns += delta
  if (activeTurns > 0 && !keepAliveTimer) keepAliveTimer = setInterval(() => {}, 1 << 30)
  if (activeTurns === 0 && keepAliveTimer) {
    clearInterval(keepAliveTimer)
    keepAliveTimer = undefined
  }
}

function engineFor(opts, { withSessionTags }) {
  const api = resolveApiConfig(opts.apiClient)
  // The createSession body is built in Rust (wire::create_session_body) from these options.
  /** @type {import('../binding.d.ts').EngineConfig} */
  const config = {
    baseUrl: api.baseURL,
    secretKey: api.secretKey,
    branch: api.branch,
    realtimeStreamsVersion: api.realtimeStreamsVersion,
    extraCaPem: opts.tls?.ca,
    sessionOptionsJson: JSON.stringify({
      agentId: opts.agentId,
      idleTimeoutInSeconds: opts.idleTimeoutInSeconds,
      triggerConfig: opts.triggerConfig,
      tags: withSessionTags ? opts.tags : undefined,
      clientExternalDeploymentId: api.externalDeploymentId,
    }),
    maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    handoverTimeoutMs: Math.round((opts.handoverTimeoutInSeconds ?? 120) * 1000),
    keepAliveMs: opts.keepAliveIntervalMs ?? 15_000,
    teeBufferMaxBytes: opts.teeBufferMaxBytes,
  }
  // One engine per distinct configuration (keyed by all of it, in a fixed key order).
  const key = JSON.stringify(config)
  let engine = engines.get(key)
  if (!engine) {
    engine = new Engine(config)
    engines.set(key, engine)
  }
  return engine
}

// ---------------------------------------------------------------------------------------------
// The response body: fed by Rust in batches, read either as a WHATWG stream or through the
// listener's native fast path — whichever consumer comes first.

const PAUSE_ABOVE_BYTES = 64 * 1024
/** Consumed phase-2 body bytes are reported to Rust in batches of at least this. */
const REPORT_CONSUMED_EVERY = 64 * 1024

class BodyPipe {
  constructor({ onPause, onResume, onCancel, onConsumed }) {
    this.onPause = onPause
    this.onResume = onResume
    this.onCancel = onCancel
    this.onConsumed = onConsumed
    this.queue = []
    this.queued = 0
    // Rust bounds the phase-2 bytes it has handed over and not seen consumed; the pipe mixes
    // them with step-1 bytes, so it reports a lower bound: body bytes received minus whatever
    // is still queued (exact once the queue is empty).
    this.bodyReceived = 0
    this.bodyReported = 0
    this.done = false
    this.failure = undefined
    this.consumer = undefined // 'stream' | 'native'
    this.sink = undefined
    this.pendingPull = undefined
    this.paused = false
    this.cancelled = false
    this.finishedNative = false
  }

  /** `fromBody`: the bytes came through a body notification (phase 2), not from `push`. */
  write(bytes, fromBody = false) {
    if (this.cancelled || this.done || bytes.byteLength === 0) return
    if (fromBody) this.bodyReceived += bytes.byteLength
    if (this.consumer === 'native' && this.sink && !this.paused) {
      if (!this.sink.write(bytes)) this.#pause()
      this.#reportConsumed()
      return
    }
    this.queue.push(bytes)
    this.queued += bytes.byteLength
    if (this.pendingPull) this.#deliver()
    else if (this.queued > PAUSE_ABOVE_BYTES) this.#pause()
  }

  #reportConsumed() {
    const consumed = Math.max(0, this.bodyReceived - this.queued)
    const unreported = consumed - this.bodyReported
    // Reporting only in batches cannot stall Rust: its window (512 KiB) is far above a batch.
    if (unreported >= REPORT_CONSUMED_EVERY) {
      this.bodyReported = consumed
      this.onConsumed(unreported)
    }
  }

  end(error) {
    if (this.done) return
    this.done = true
    this.failure = error
    if (this.consumer === 'native' && this.sink && this.queue.length === 0 && !this.paused) this.#finishNative()
    else if (this.pendingPull) this.#deliver()
  }

  #pause() {
    if (this.paused) return
    this.paused = true
    this.onPause()
  }

  #resume() {
    if (!this.paused) return
    this.paused = false
    this.onResume()
  }

  #finishNative() {
    if (this.finishedNative) return
    this.finishedNative = true
    if (this.failure) this.sink.error(this.failure)
    else this.sink.end()
  }

  /** Writes queued bytes to the native sink until it pushes back; finishes when all is out. */
  #drainNative() {
    while (this.queue.length > 0) {
      const chunk = this.queue.shift()
      this.queued -= chunk.byteLength
      if (!this.sink.write(chunk)) {
        this.#pause()
        this.#reportConsumed()
        return
      }
    }
    this.#reportConsumed()
    this.#resume()
    if (this.done) this.#finishNative()
  }

  #deliver() {
    const { controller, resolve } = this.pendingPull
    if (this.queue.length > 0) {
      const chunk = this.queue.length === 1 ? this.queue[0] : Buffer.concat(this.queue, this.queued)
      this.queue = []
      this.queued = 0
      this.pendingPull = undefined
      controller.enqueue(chunk)
      this.#reportConsumed()
      this.#resume()
      resolve()
      return
    }
    if (this.done) {
      this.pendingPull = undefined
      if (this.failure) controller.error(this.failure)
      else controller.close()
      resolve()
    }
  }

  readable() {
    return new ReadableStream(
      {
        pull: (controller) => {
          if (this.consumer === 'native') return new Promise(() => {})
          this.consumer = 'stream'
          return new Promise((resolve) => {
            this.pendingPull = { controller, resolve }
            this.#deliver()
          })
        },
        cancel: (reason) => this.#cancel(reason),
      },
      // highWaterMark 0: nothing is pulled until a reader asks, so the native path can still
      // claim the body after the Response was built.
      { highWaterMark: 0 },
    )
  }

  nativeSource() {
    return {
      start: (sink) => {
        if (this.consumer === 'stream') throw new Error('the response body is already being read as a stream')
        this.consumer = 'native'
        this.sink = sink
        this.#drainNative()
      },
      resume: () => {
        if (this.consumer === 'native' && !this.cancelled) this.#drainNative()
      },
      cancel: (reason) => this.#cancel(reason),
    }
  }

  #cancel(reason) {
    if (this.cancelled) return
    this.cancelled = true
    this.queue = []
    this.queued = 0
    // A reader that cancels during a pending pull closes the stream: nothing may be delivered to it.
    const pull = this.pendingPull
    this.pendingPull = undefined
    pull?.resolve()
    this.onCancel(reason)
  }
}

// ---------------------------------------------------------------------------------------------
// One turn on the JS side.

class TurnState {
  constructor(engine, opened, uiMessages, { idleTimeoutInSeconds, requestSignal, detached, diagnostics }) {
    this.engine = engine
    /** lib/telemetry.js's record of this turn; undefined when no diagnostics_channel listens. */
    this.diagnostics = diagnostics
    this.turn = opened.turn
    this.chatId = opened.chatId
    this.messageId = opened.messageId
    this.uiMessages = uiMessages
    /** The engine's handle of this turn (`TurnHandle`), from `begin` on. */
    this.native = undefined
    this.idleTimeoutInSeconds = idleTimeoutInSeconds
    this.detached = detached
    this.abort = new AbortController()
    this.pendingVersion = false
    this.ended = false
    this.step1Ended = false
    this.idleTimer = undefined
    this.session = new Promise((resolve, reject) => {
      this.resolveSession = resolve
      this.rejectSession = reject
    })
    this.session.catch(() => {})
    this.dispatched = new Promise((resolve) => (this.resolveDispatched = resolve))
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve))
    this.pipe = new BodyPipe({
      onPause: () => this.native.setPaused(true),
      onResume: () => this.native.setPaused(false),
      onConsumed: (bytes) => this.native.bodyConsumed(bytes),
      onCancel: () => this.browserGone(),
    })
    if (requestSignal) {
      if (requestSignal.aborted) this.browserGone()
      else requestSignal.addEventListener('abort', () => this.browserGone(), { once: true })
    }
    engine.track(this)
  }

  browserGone() {
    if (this.ended) return
    this.abort.abort()
    // Before `begin` there is nothing to cancel in Rust: the aborted signal ends step 1.
    this.native?.cancel()
  }

  /**
   * Starts the turn in Rust (createSession first). `notifyDispatched`: the caller awaits the
   * dispatch. An observed turn also asks for it when `chat-headstart:handover` has subscribers,
   * and for Rust's reports with the notifications.
   */
  begin(detached, notifyDispatched) {
    const d = this.diagnostics
    d?.began(this.chatId, this.messageId)
    this.native = this.engine.native.begin(this.turn, detached, notifyDispatched || Boolean(d?.handovers), d !== undefined)
  }

  /** A notification of the engine: `detail` is typed by `event` (see `TurnEvent` in binding.d.ts). */
  onNotify(event, bytes, detail) {
    switch (event) {
      case TurnEvent.SessionOk: {
        const s = detail
        this.pendingVersion = s.pendingVersion
        // Bounds step 1, like the reference; cleared when step 1 ends (`endStep1`), and not
        // armed when it already has (run() starts before createSession returns). The S2
        // flush and the dispatch after it are bounded in Rust (ack timeout, retry schedules),
        // which an abort of this signal would not reach anyway.
        if (!this.step1Ended) {
          this.idleTimer = setTimeout(
            () => this.abort.abort(new Error('chat.handover: idle timeout')),
            this.idleTimeoutInSeconds * 1000,
          )
          this.idleTimer.unref?.()
        }
        this.resolveSession(s)
        break
      }
      case TurnEvent.SessionError: {
        const err = toError(detail)
        this.abort.abort(err)
        this.rejectSession(err)
        break
      }
      case TurnEvent.Body:
        this.pipe.write(bytes, true)
        break
      case TurnEvent.Dispatched:
        // (The idle timer is already cleared: Rust dispatches only after `endStep1`.)
        if (detail) this.diagnostics?.handover(detail)
        this.resolveDispatched()
        break
      case TurnEvent.End:
        // The response's last bytes (if any) come with the end: one wake-up, not two.
        if (bytes) this.pipe.write(bytes, true)
        this.ended = true
        clearTimeout(this.idleTimer)
        this.resolveDispatched()
        this.pipe.end()
        this.engine.forget(this)
        this.resolveFinished()
        this.diagnostics?.ended(detail)
        break
      case TurnEvent.Warn:
        console.warn(detail)
        break
    }
  }

  /** Pumps the UI chunk stream into Rust: one native call per batch of chunks. */
  async pump(stream, { forward }) {
    const native = this.native
    const reader = stream.getReader()
    let batch = []
    let scheduled = false
    const flush = () => {
      scheduled = false
      if (batch.length === 0) return
      const joined = batch.join('\n')
      batch = []
      const bytes = native.push(Buffer.from(joined))
      this.diagnostics?.firstChunk()
      if (forward) this.pipe.write(bytes)
    }
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        batch.push(JSON.stringify(value))
        if (!scheduled) {
          // A tick callback runs once the microtask queue is drained, i.e. after every chunk
          // the stream already had was read: one batch per burst without waiting for the next
          // event-loop turn (setImmediate cost up to a whole loop iteration per chunk under load).
          scheduled = true
          process.nextTick(flush)
        }
      }
    } catch {
      // A failed UI stream still ends step 1; finishReason tells how.
    }
    flush()
  }

  /**
   * Step 1 is over (a `StepOneEnd`; `Finished` with `finishReason` + `response.messages`). Rust
   * takes it from here.
   */
  endStep1(end, finishReason = null, messagesJson = null) {
    this.step1Ended = true
    clearTimeout(this.idleTimer)
    this.native.finish(end, finishReason, messagesJson)
  }

  /** Reports how step 1 ended (after the UI stream was fully consumed). */
  async finishStep1(result) {
    try {
      const finishReason = await result.finishReason
      const response = await result.response
      this.endStep1(StepOneEnd.Finished, String(finishReason), JSON.stringify(response.messages))
    } catch {
      this.endStep1(StepOneEnd.Aborted)
    }
  }

  runFailed() {
    this.endStep1(StepOneEnd.RunFailed)
  }

  responseHeaders(token) {
    const headers = {
      'Content-Type': 'text/event-stream',
      'X-Vercel-AI-UI-Message-Stream': 'v1',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Trigger-Chat-Id': this.chatId,
      'X-Trigger-Chat-Access-Token': token,
    }
    if (this.pendingVersion) headers['X-Trigger-Chat-Pending-Version'] = '1'
    return headers
  }

  /** The stitched SSE response (phase 1 from the pump, phase 2 from Rust). */
  response(token) {
    const res = new Response(this.pipe.readable(), { status: 200, headers: this.responseHeaders(token) })
    res[NATIVE_BODY] = this.pipe.nativeSource()
    return res
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by headStart / openSession / startHeadStart.

function jsonError(status, message) {
  return new Response(JSON.stringify({ error: message }), { status, headers: JSON_HEADERS })
}

async function readBodyCapped(req, max) {
  if (!req.body) return EMPTY
  const lengthHeader = req.headers.get('content-length')
  const declared = lengthHeader === null || lengthHeader === '' ? NaN : Number(lengthHeader)
  if (Number.isFinite(declared) && declared > max) {
    // Rejected without reading: one byte over the cap is enough for the 413 decision.
    req.body.cancel().catch(() => {})
    return new Uint8Array(max + 1)
  }
  if (Number.isFinite(declared)) {
    // HTTP framing bounds the body by its declared length, so it is read whole: no stream
    // reader (fewer promises, createSession leaves sooner). Rust still checks the size.
    return new Uint8Array(await req.arrayBuffer())
  }
  const reader = req.body.getReader()
  const parts = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    parts.push(value)
    size += value.byteLength
    if (size > max) {
      reader.cancel().catch(() => {})
      break
    }
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts, size)
}

function createBoundStreamText(build) {
  return (options = {}) => {
    const { tools, ...rest } = options
    const owned = OWNED_OPTIONS.filter((key) => key in rest)
    if (owned.length > 0) {
      throw new Error(
        `chat.headStart: the \`streamText\` passed to run() owns ${owned.map((k) => `\`${k}\``).join(', ')}, ` +
          'so it cannot be set at the call site. The handover depends on them: `messages` is the converted ' +
          'request payload, `stopWhen: stepCountIs(1)` stops after step 1 so the agent run executes the tools, ' +
          'and `abortSignal` combines the request lifecycle with the idle timeout. Pass `model`, `system`, ' +
          '`providerOptions` and your own keys instead.',
      )
    }
    return aiStreamText({ ...build({ tools }), ...rest })
  }
}

/**
 * Parses + validates the request and converts the messages. Returns either `{ error: Response }`
 * or `{ state, modelMessages }` with the turn registered (createSession not yet started).
 */
async function openTurn(engine, req, opts, diagnostics) {
  const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const contentType = req.headers.get('content-type')
  const body = req.method === 'POST' ? await readBodyCapped(req, max) : EMPTY
  const opened = engine.native.open(req.method, contentType, body)
  if (!('turn' in opened)) {
    diagnostics?.rejected(opened.status)
    return { error: jsonError(opened.status, opened.message) }
  }
  const uiMessages = JSON.parse(opened.messagesJson)
  let modelMessages
  try {
    modelMessages = await convertToModelMessages(uiMessages)
  } catch (err) {
    engine.native.release(opened.turn)
    diagnostics?.rejected(400)
    return { error: jsonError(400, `headStartMessages are not valid UI messages: ${err?.message ?? err}`) }
  }
  if (req.signal?.aborted) {
    // The browser left while the body was read or converted: no session is created (it would
    // boot an agent run whose chat id and token nobody receives).
    engine.native.release(opened.turn)
    diagnostics?.rejected(499)
    return { error: jsonError(499, 'the client closed the request before the turn began') }
  }
  const state = new TurnState(engine, opened, uiMessages, {
    idleTimeoutInSeconds: idleSeconds(opts),
    requestSignal: req.signal,
    detached: false,
    diagnostics,
  })
  return { state, modelMessages }
}

function idleSeconds(opts) {
  return opts.idleTimeoutInSeconds ?? opts.triggerConfig?.idleTimeoutInSeconds ?? 60
}

function buildOptions(state, modelMessages) {
  return ({ tools } = {}) => ({
    messages: modelMessages,
    tools,
    stopWhen: stepCountIs(1),
    abortSignal: state.abort.signal,
  })
}

/** What `run()` gets: the request's messages, the turn's signal, the bound `streamText`, the session. */
function runArgs(state) {
  return {
    messages: state.uiMessages,
    signal: state.abort.signal,
    chat: { toStreamTextOptions: state.build, session: state.handle },
    streamText: createBoundStreamText(state.build),
  }
}

function sessionHandle(state, build) {
  const handle = {
    chatId: state.chatId,
    get pendingVersion() {
      return state.pendingVersion
    },
    /** Tees a UI chunk stream into session.out; returns the branch for the caller. */
    tee(stream) {
      const [mine, persisted] = stream.tee()
      state.pump(persisted, { forward: false })
      return mine
    },
    /** Awaits step 1 and dispatches handover / handover-skip. */
    async handoverWhenDone(result) {
      await state.finishStep1(result)
      await state.dispatched
    },
    /** Appends a `handover` record to session.in (`isFinal` false ⇒ the agent resumes the tools). */
    handover({ partialAssistantMessage, messageId, isFinal }) {
      const chunk = { kind: 'handover', partialAssistantMessage, messageId, isFinal }
      state.endStep1(StepOneEnd.External)
      return state.engine.appendIn(state.chatId, JSON.stringify(chunk))
    },
    /** Appends `{"kind":"handover-skip"}`: the agent exits without running the turn. */
    handoverSkip() {
      state.endStep1(StepOneEnd.External)
      return state.engine.appendIn(state.chatId, '{"kind":"handover-skip"}')
    },
    /** The stitched SSE Response for a StreamTextResult. */
    handoverResponse(result) {
      return startResponse(state, result).then(() => state.response(state.token))
    },
  }
  state.handle = handle
  state.build = build
  return handle
}

async function startResponse(state, result) {
  const stream = result.toUIMessageStream({ generateMessageId: () => state.messageId })
  state
    .pump(stream, { forward: true })
    .then(() => state.finishStep1(result))
    .catch(() => state.endStep1(StepOneEnd.Aborted))
  state.token = (await state.session).token
}

function logRunFailure(err) {
  console.error('[chat-headstart] run() threw; answering 500 and sending handover-skip:', err)
}

/** One `chat.headStart` request. */
async function headStartTurn(opts, req, diagnostics) {
  let engine
  try {
    engine = engineFor(opts, { withSessionTags: true })
  } catch (err) {
    console.error(String(err?.message ?? err))
    diagnostics?.failed(err)
    return jsonError(500, 'chat-headstart is not configured (see the server log)')
  }
  const opened = await openTurn(engine, req, opts, diagnostics)
  if (opened.error) return opened.error
  const { state, modelMessages } = opened
  sessionHandle(state, buildOptions(state, modelMessages))
  // createSession and run() (the LLM call) start together (docs/protocol.md §2.7). Nothing here
  // awaits the dispatch, so Rust does not report it (one JS wake-up less per turn).
  state.begin(false, false)
  const running = (async () => opts.run(runArgs(state)))()
  // Step-1 chunks flow into Rust (and the tee) as soon as run() returns.
  const pumping = running.then((result) => startResponse(state, result))
  pumping.catch(() => {})
  try {
    await state.session
  } catch (err) {
    running.catch(() => {})
    return jsonError(502, `Trigger.dev createSession failed: ${err.message}`)
  }
  try {
    await pumping
  } catch (err) {
    logRunFailure(err)
    diagnostics?.failed(err)
    state.runFailed()
    return jsonError(500, 'the chat handler failed before streaming (see the server log)')
  }
  return state.response(state.token)
}

/** `chat.openSession`. */
async function openSessionTurn(opts, diagnostics) {
  const engine = engineFor(opts, { withSessionTags: false })
  const opened = await openTurn(engine, opts.req, opts, diagnostics)
  if (opened.error) {
    const { error } = await opened.error.json()
    const err = new Error(error)
    err.status = opened.error.status
    throw err
  }
  const { state, modelMessages } = opened
  const handle = sessionHandle(state, buildOptions(state, modelMessages))
  // `handoverWhenDone` awaits the dispatch.
  state.begin(false, true)
  await state.session
  const { messages, signal, chat, streamText } = runArgs(state)
  return Object.assign(handle, { toStreamTextOptions: chat.toStreamTextOptions, signal, messages, streamText })
}

/** `chat.startHeadStart`. */
async function startHeadStartTurn(opts, diagnostics) {
  const engine = engineFor(opts, { withSessionTags: true })
  const opened = engine.native.openDetached(
    String(opts.chatId),
    Buffer.from(JSON.stringify(opts.messages ?? [])),
    opts.metadata !== undefined ? Buffer.from(JSON.stringify(opts.metadata)) : null,
  )
  if (!('turn' in opened)) {
    diagnostics?.rejected(opened.status)
    throw new Error(opened.message)
  }
  const uiMessages = JSON.parse(opened.messagesJson)
  const modelMessages = await convertToModelMessages(uiMessages)
  const state = new TurnState(engine, opened, uiMessages, { idleTimeoutInSeconds: idleSeconds(opts), detached: true, diagnostics })
  sessionHandle(state, buildOptions(state, modelMessages))
  state.begin(true, true)
  await state.session
  const completion = (async () => {
    let result
    try {
      result = await opts.run(runArgs(state))
    } catch (err) {
      diagnostics?.failed(err)
      state.runFailed()
      await state.dispatched
      throw err
    }
    const stream = result.toUIMessageStream({ generateMessageId: () => state.messageId })
    await state.pump(stream, { forward: false })
    await state.finishStep1(result)
    await state.dispatched
  })()
  completion.catch(() => {})
  return { chatId: opts.chatId, pendingVersion: state.pendingVersion, completion }
}

// ---------------------------------------------------------------------------------------------
// Public API.

export const chat = {
  /**
   * A Web Fetch handler for the first message of a new chat: creates the session (booting the
   * agent), streams step 1 from `run()` and splices the agent's step 2+ into the same response.
   */
  headStart(opts) {
    if (!opts || typeof opts.agentId !== 'string' || typeof opts.run !== 'function') {
      throw new TypeError('chat.headStart({ agentId, run }) needs a string `agentId` and a `run` function')
    }
    return function headStartHandler(req) {
      return observeTurn('headStart', opts.agentId, (diagnostics) => headStartTurn(opts, req, diagnostics))
    }
  },

  /** Lower-level: parse the request and create the session; returns the session handle. */
  openSession(opts) {
    return observeTurn('openSession', opts?.agentId, (diagnostics) => openSessionTurn(opts, diagnostics))
  },

  /**
   * Detached head start: creates the session, then drains step 1 to session.out and
   * dispatches the handover as `completion` (no HTTP response).
   */
  startHeadStart(opts) {
    return observeTurn('startHeadStart', opts?.agentId, (diagnostics) => startHeadStartTurn(opts, diagnostics))
  },

  /**
   * Server-side preload: creates the session with `basePayload.trigger = "preload"` so the agent
   * boots before the first message. Returns the session token for the browser transport.
   */
  async preload(opts) {
    const engine = engineFor(opts, { withSessionTags: true })
    const turn = engine.native.preload(
      opts.chatId,
      opts.clientData !== undefined ? JSON.stringify(opts.clientData) : null,
      opts.metadata !== undefined ? JSON.stringify(opts.metadata) : null,
    )
    const session = await new Promise((resolve, reject) => {
      const pending = {
        turn,
        onNotify(event, _bytes, detail) {
          if (event === TurnEvent.SessionOk) resolve(detail)
          else if (event === TurnEvent.SessionError) reject(toError(detail))
          else if (event === TurnEvent.End) engine.forget(pending)
        },
      }
      engine.track(pending)
    })
    return { chatId: opts.chatId, publicAccessToken: session.token, pendingVersion: session.pendingVersion }
  },

  /** Mounts any Web Fetch handler (e.g. `chat.headStart(...)`) on node:http / Express / Fastify / Koa. */
  toNodeListener,
}
