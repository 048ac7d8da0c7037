// Types of startDevPlane (the local session plane).

/** What the scripted agent is told about a turn (the `agent.onTurn` hook input). */
export interface AgentTurnInput {
  kind: 'handover' | 'message'
  chatId: string
  sessionId: string
  runId: string
  /** 1-based turn number of this agent run. */
  turn: number
  /** Seq of the triggering record on `session.in`. */
  inSeq: number
  /** The assistant message id the turn's `start` chunk carries. */
  messageId: string
  /** handover only. */
  isFinal?: boolean
  /** handover only: the pending tool calls the agent must answer (in call order). */
  toolCalls?: Array<{ toolCallId: string; toolName: string; input: unknown }>
  /** handover only: the handover record's `partialAssistantMessage` (ModelMessage[]). */
  partialAssistantMessage?: unknown[]
  /** message only: `payload.message` of the `.in` record (the slimmed UIMessage). */
  message?: unknown
  /** message only: the whole `.in` payload. */
  payload?: unknown
}

/** The hook's answer; every field optional (absent ones fall back to the agent knobs). */
export interface AgentTurnPlan {
  /** Outputs by toolCallId (or toolName); an array fixes the emission order (completion order). */
  toolOutputs?:
    | Record<string, unknown>
    | Array<{ toolCallId: string; output: unknown } | { toolCallId: string; errorText: string }>
  /** `tool-output-error` texts by toolCallId (or toolName). */
  toolErrors?: Record<string, string>
  /** Step-2 text: one delta, or the list of deltas. */
  text?: string | string[]
  /** Id of the step-2 text part (default "a1"). */
  textId?: string
  /** Replace the turn's data chunks entirely (turn-complete is still written). */
  chunks?: unknown[]
  /** Write nothing for this turn (not even turn-complete). */
  silent?: boolean
  /** `finish.finishReason` (default "stop"). */
  finishReason?: string
}

/** Scripted agent knobs (docs/protocol.md §7.4). Changeable per test with `plane.setAgent(patch)`. */
export interface AgentKnobs {
  /** Time from createSession (the run trigger) until the agent reads `session.in`. Default 0. */
  bootDelayMs?: number
  /** Pause between data records (each then goes out in its own append). Default 0. */
  recordDelayMs?: number
  /** Records per S2 append (default: the whole turn in one append unless recordDelayMs is set). */
  recordsPerAppend?: number
  /** Tool outputs by toolCallId or toolName (default: the call's input echoed back). */
  toolOutputs?: Record<string, unknown>
  /** Tool errors (`tool-output-error.errorText`) by toolCallId or toolName. */
  toolErrors?: Record<string, string>
  /** Step-2 / message-turn text: one delta or a list of deltas. Default ["Done."]. */
  text?: string | string[]
  /** Text part id. Default "a1". */
  textId?: string
  /** Write nothing after the handover (not even turn-complete). */
  silent?: boolean
  /** Write the legacy data record `{"type":"trigger:turn-complete"}` instead of the control record. */
  legacyTurnComplete?: boolean
  /** Answer the handover with an `upgrade-required` control record and exit. */
  upgradeRequired?: boolean
  /** Put a fresh `public-access-token` header on turn-complete records. Default true. */
  refreshToken?: boolean
  /** Compute tool outputs / step-2 text per turn (called once per turn, may be async). */
  onTurn?: (input: AgentTurnInput) => AgentTurnPlan | null | undefined | Promise<AgentTurnPlan | null | undefined>
}

export interface CreateSessionFault {
  status?: number
  message?: string
  /** Sent as `x-should-retry`. */
  shouldRetry?: boolean
  delayMs?: number
  pendingVersion?: boolean
  times?: number
  then?: CreateSessionFault
}

export interface AppendFault {
  io?: 'in' | 'out'
  status: number
  message?: string
  shouldRetry?: boolean
  times?: number
  then?: AppendFault
}

export interface SseFault {
  io?: 'in' | 'out'
  status?: number
  errorEvent?: string
  earlyClose?: boolean
  afterBatches?: number
  times?: number
  then?: SseFault
}

export interface S2AppendFault {
  status?: number
  terminalStatus?: number
  code?: string
  message?: string
  afterFrames?: number
  times?: number
  then?: S2AppendFault
}

/**
 * Failure and latency injection. `setFaults` replaces the whole set; `times` = fire N times then
 * disarm, arming `then` (a fault of the same kind) if given — "fail once this way, then that way"
 * without racing the client.
 */
export interface DevPlaneFaults {
  /** Extra latency before every control-plane (Trigger API) response, in ms. */
  latencyMs?: number
  /** Extra latency before every S2S append ack (the records are stored first), in ms. */
  s2AckLatencyMs?: number
  createSession?: CreateSessionFault
  /** `…/{io}/append` failure (io defaults to "in"). */
  inAppend?: AppendFault
  /** `GET …/{io}` SSE (io defaults to "out"): a status, an `event: error`, or an abrupt close after N batches. */
  sse?: SseFault
  /** S2 appends: an HTTP status before any frame, or a terminal S2S frame after `afterFrames` acks. */
  s2Append?: S2AppendFault
  /** At most N records per SSE batch on the session SSE route. */
  sseBatchRecords?: number
}

export interface DevPlaneOptions {
  /** Interface to bind. Default 127.0.0.1. */
  host?: string
  /** Trigger API port (0 = ephemeral, the default). */
  port?: number
  /** S2 port (0 = ephemeral, the default). */
  s2Port?: number
  /** Secret key clients must send (generated when absent). */
  secretKey?: string
  /** Reject unknown credentials (default true); false accepts any Bearer token. */
  strictAuth?: boolean
  /** `X-S2-Flush-Interval-Ms` handed to writers. Default 200. */
  flushIntervalMs?: number
  /** Idle heartbeat (`event: ping`) period of streaming reads. Default 10000. */
  heartbeatMs?: number
  /** Idle wait (s) of the session SSE route when the client sends no Timeout-Seconds. Default 60 (like S2). */
  sseDefaultWaitSeconds?: number
  /** Record requests for `requests()`. Default true. */
  logRequests?: boolean
  /** Oldest entries are dropped beyond this. Default 100000. */
  maxLoggedRequests?: number
  /** Threads of the plane's own runtime. Default 2. */
  workerThreads?: number
  /** Serve both ports over HTTPS (h2 + http/1.1 via ALPN) with a fresh self-signed certificate (`certPem`). */
  tls?: boolean
  agent?: AgentKnobs
  faults?: DevPlaneFaults
}

export interface LoggedRequest {
  index: number
  /** ms since the plane started. */
  timeMs: number
  origin: 'api' | 's2'
  method: string
  /** Path and query as sent. */
  path: string
  httpVersion: 'http/1.1' | 'http/1.0' | 'h2'
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>
  /** Body as UTF-8 text ("" for streaming S2S bodies). */
  body: string
  streaming: boolean
  /** Status the plane answered with; null while the route is still working on it. */
  status: number | null
  /**
   * Response body bytes handed to the HTTP connection so far (live: it grows while a stream is
   * being read). hyper's write buffer and the kernel's socket buffers come after this point, so
   * against a client that stops reading it stays bounded by those buffers.
   */
  responseBytes: number
  /**
   * How the response body ended; null while it is still open (a long-lived SSE / S2 read in
   * progress). `'aborted'`: dropped unfinished — the client closed the request or its
   * connection; `'failed'`: the body itself failed (an injected early close cut the connection).
   */
  responseEnd: 'complete' | 'aborted' | 'failed' | null
  /** When the response ended, in the same clock as `timeMs`; null while open. */
  responseEndMs: number | null
}

/** `plane.traffic()`: what is open right now, and what was ever opened. */
export interface PlaneTraffic {
  /** Client connections (either port) still open. */
  openConnections: number
  /**
   * Requests the plane is still working on or still sending a response body for (a live read,
   * an open S2S append session). A request the client abandons ends here when hyper drops it:
   * before the response head, its log entry then ends as `'aborted'` too.
   */
  inFlightRequests: number
  connectionsTotal: number
  requestsTotal: number
  /** Now, in the request log's clock (`LoggedRequest.timeMs` / `responseEndMs`). */
  nowMs: number
}

export interface PlaneRecord {
  seq_num: number
  timestamp: number
  headers?: Array<[string, string]>
  body?: string
}

export interface DevPlane {
  /** Trigger API base URL (TRIGGER_API_URL). */
  readonly apiUrl: string
  /** TRIGGER_SECRET_KEY. */
  readonly secretKey: string
  /** S2 endpoint handed out in X-S2-Endpoint, e.g. http://127.0.0.1:PORT/v1. */
  readonly s2Url: string
  readonly s2AccessToken: string
  readonly basin: string
  /** PEM of the self-signed certificate when started with `tls: true` (trust it as a CA), else null. */
  readonly certPem: string | null
  readonly env: { TRIGGER_API_URL: string; TRIGGER_SECRET_KEY: string }
  /** Pass as `apiClient` to chat.headStart (reference or ours). */
  readonly apiClient: { baseURL: string; accessToken: string }
  /** Every request so far, in arrival order (with its response's progress, see `LoggedRequest`). */
  requests(): LoggedRequest[]
  /** The requests whose response body is still open (`responseEnd === null`): live reads. */
  openResponses(): LoggedRequest[]
  /** Open connections and in-flight requests now, and the request log's clock. */
  traffic(): PlaneTraffic
  clearRequests(): void
  setLogRequests(enabled: boolean): void
  /** Merge agent knobs (and/or swap `onTurn`); `null` restores the start options. */
  setAgent(patch: AgentKnobs | null): void
  resetAgent(): void
  /** Replace the whole fault set. */
  setFaults(faults: DevPlaneFaults | null): void
  resetFaults(): void
  /** Every session, with the public access tokens minted for it (createSession, token refreshes). */
  sessions(): Array<{
    id: string
    externalId: string | null
    runId: string
    closed: boolean
    streams: { in: string; out: string }
    publicAccessTokens: string[]
  }>
  /**
   * The records of a session stream (by chatId or session id), all of them or those from seq
   * `fromSeq` on (past the tail: none, just the tail — a cheap poll); undefined for an unknown session.
   */
  records(
    session: string,
    io?: 'in' | 'out',
    options?: { channel?: string; fromSeq?: number },
  ): { records: PlaneRecord[]; tail: { seq_num: number; timestamp: number } } | undefined
  /** Stops every task and frees both ports. Idempotent. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/** Starts a local session plane on 127.0.0.1 (ephemeral ports by default). */
export declare function startDevPlane(options?: DevPlaneOptions): Promise<DevPlane>
