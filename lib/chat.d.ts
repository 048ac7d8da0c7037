// Types of `chat` (lib/chat.js). They borrow from the installed `ai` like the reference does, and
// follow its major (5, 6 or 7): nothing here names `StreamTextResult` with a fixed number of type
// arguments (ai 5: <TOOLS, PARTIAL_OUTPUT>, ai 6: <TOOLS, OUTPUT>, ai 7: <TOOLS, RUNTIME_CONTEXT, OUTPUT>).
import type { ModelMessage, StopCondition, ToolSet, UIMessage, streamText as aiStreamText } from 'ai'
import type { FetchHandler, NodeListener, NodeListenerOptions } from './node-listener.js'

/**
 * Trigger.dev API client configuration. Resolved like the reference: these keys merged over the
 * SDK's global `configure()` (when @trigger.dev/sdk is installed and it was called), then the
 * environment for what is still absent.
 */
export interface HeadStartApiClient {
  /** Default `TRIGGER_API_URL`, then `https://api.trigger.dev`. */
  baseURL?: string
  /** Secret key (or access token). Default `TRIGGER_SECRET_KEY`, then `TRIGGER_ACCESS_TOKEN`. */
  accessToken?: string
  secretKey?: string
  /** `x-trigger-branch`. Default `TRIGGER_PREVIEW_BRANCH` / `VERCEL_GIT_COMMIT_REF` / `TRIGGER_DEV_BRANCH`. */
  previewBranch?: string
  /** Skew-protection pin used when `triggerConfig.externalDeploymentId` is absent. */
  externalDeploymentId?: string
  future?: { v2RealtimeStreams?: boolean }
}

/** `SessionTriggerConfig` options forwarded to createSession (docs/protocol.md §2.3). */
export interface HeadStartTriggerConfig {
  basePayload?: Record<string, unknown>
  machine?: 'micro' | 'small-1x' | 'small-2x' | 'medium-1x' | 'medium-2x' | 'large-1x' | 'large-2x'
  queue?: string
  concurrency?: string | string[]
  concurrencyKey?: string
  /** Run tags (after `chat:<chatId>`, max 10 in total). */
  tags?: string[]
  maxAttempts?: number
  maxDuration?: number
  region?: string
  lockToVersion?: string
  ttl?: string | number
  /** `null` opts out of skew protection. */
  externalDeploymentId?: string | null
  idleTimeoutInSeconds?: number
}

/** The options `chat.toStreamTextOptions()` / the bound `streamText` set for the handover. */
export interface HeadStartStreamTextOptions<TOOLS extends ToolSet = ToolSet> {
  messages: ModelMessage[]
  tools: TOOLS | undefined
  stopWhen: StopCondition<TOOLS>
  abortSignal: AbortSignal
}

type StreamTextParams = Parameters<typeof aiStreamText>[0]

// `streamText` instantiated as <TOOLS, any, any>: ai 5 and 7 declare three type parameters, ai 6
// two. An instantiation expression keeps only the signatures whose arity fits the arguments, so
// `streamTextAnyOutput<TOOLS, any, any>` drops ai 6's own signature and falls back to the first one
// (`streamText<TOOLS, any>`, valid in every major); on ai 5 / 7 both remain and ReturnType takes the
// last, `streamText`'s own. Type-level only: nothing of that name exists at run time.
declare const streamTextAnyOutput: (<TOOLS extends ToolSet, _A, _B>(
  options: unknown,
) => ReturnType<typeof aiStreamText<TOOLS, any>>) &
  typeof aiStreamText

/**
 * What `streamText` returns for these tools, whatever the output / runtime-context types:
 * `StreamTextResult<TOOLS, any>` on ai 5 and 6, `StreamTextResult<TOOLS, any, any>` on ai 7.
 */
type StreamTextResultOf<TOOLS extends ToolSet> = ReturnType<typeof streamTextAnyOutput<TOOLS, any, any>>

/** Any `streamText` result (`StreamTextResult<any, any>` on ai 5 / 6, `<any, any, any>` on ai 7). */
type AnyStreamTextResult = StreamTextResultOf<any>

/** `streamText` bound to the turn: it refuses `messages`, `prompt`, `stopWhen` and `abortSignal`. */
export type HeadStartStreamTextFn = <TOOLS extends ToolSet = ToolSet>(
  options: Omit<StreamTextParams, 'messages' | 'prompt' | 'stopWhen' | 'abortSignal' | 'tools'> & { tools?: TOOLS },
) => StreamTextResultOf<TOOLS>

/** A head-start session (the reference's `handle`). */
export interface HeadStartSession {
  readonly chatId: string
  /** True when createSession parked the chat on a pending version. */
  readonly pendingVersion: boolean
  /** Tees a UI chunk stream into `session.out`; returns the branch for the caller. */
  tee<T>(stream: ReadableStream<T>): ReadableStream<T>
  /** Awaits step 1, then dispatches `handover` (or `handover-skip`). */
  handoverWhenDone(result: AnyStreamTextResult): Promise<void>
  /** Appends a `handover` record to `session.in` directly. */
  handover(args: { partialAssistantMessage: ModelMessage[]; messageId: string; isFinal: boolean }): Promise<void>
  /** Appends `{"kind":"handover-skip"}` to `session.in`. */
  handoverSkip(): Promise<void>
  /** The stitched SSE Response for a `streamText` result. */
  handoverResponse(result: AnyStreamTextResult): Promise<Response>
}

export interface HeadStartRunArgs {
  /** The browser's UI messages (`headStartMessages`). */
  messages: UIMessage[]
  /** Aborted when the browser goes away, on the idle timeout, or when createSession fails. */
  signal: AbortSignal
  chat: {
    toStreamTextOptions<TOOLS extends ToolSet = ToolSet>(options?: { tools?: TOOLS }): HeadStartStreamTextOptions<TOOLS>
    session: HeadStartSession
  }
  streamText: HeadStartStreamTextFn
}

export interface HeadStartOptions {
  /** The `chat.agent` task id. */
  agentId: string
  /** Calls `streamText` for step 1 and returns its result. */
  run: (args: HeadStartRunArgs) => AnyStreamTextResult | Promise<AnyStreamTextResult>
  /** Handler idle timer and the agent's wait for the handover. Default 60. */
  idleTimeoutInSeconds?: number
  triggerConfig?: HeadStartTriggerConfig
  /** Session-level tags. */
  tags?: string[]
  apiClient?: HeadStartApiClient
  /** Phase 2 ends with an `error` chunk after this long without agent output. Default 120. */
  handoverTimeoutInSeconds?: number
  /** SSE comment keep-alive while phase 2 is silent, in ms (0 disables). Default 15000. */
  keepAliveIntervalMs?: number
  /** Request body cap (413 above it). Default 1 MiB. */
  maxBodyBytes?: number
  /** Bound on step-1 bytes queued for `session.out` before S2 accepts them. Default 32 MiB. */
  teeBufferMaxBytes?: number
  /** Extra trusted CA certificates (PEM) for the Trigger API and S2 (NODE_EXTRA_CA_CERTS also works). */
  tls?: { ca?: string }
}

export interface OpenSessionOptions extends Omit<HeadStartOptions, 'run' | 'tags'> {
  req: Request
}

export interface OpenedSession extends HeadStartSession {
  toStreamTextOptions<TOOLS extends ToolSet = ToolSet>(options?: { tools?: TOOLS }): HeadStartStreamTextOptions<TOOLS>
  streamText: HeadStartStreamTextFn
  signal: AbortSignal
  messages: UIMessage[]
}

export interface StartHeadStartOptions extends Omit<HeadStartOptions, 'maxBodyBytes'> {
  chatId: string
  /** The chat's UI messages, at least the user's first one (an empty array is rejected). */
  messages: UIMessage[]
  metadata?: unknown
}

export interface PreloadOptions {
  agentId: string
  chatId: string
  /** Becomes `basePayload.metadata` (the transport's `clientData`). */
  clientData?: Record<string, unknown>
  /** The session's own metadata. */
  metadata?: Record<string, unknown>
  idleTimeoutInSeconds?: number
  triggerConfig?: HeadStartTriggerConfig
  tags?: string[]
  apiClient?: HeadStartApiClient
  tls?: { ca?: string }
}

export interface PreloadedSession {
  chatId: string
  /** Session-scoped token for the browser transport (`accessToken` / session state). */
  publicAccessToken: string
  pendingVersion: boolean
}

export declare const chat: {
  /** A Web Fetch POST handler for the first message of a new chat. */
  headStart(options: HeadStartOptions): (req: Request) => Promise<Response>
  /** Parses the request and creates the session; you drive `streamText` and the response. */
  openSession(options: OpenSessionOptions): Promise<OpenedSession>
  /** Detached head start: no HTTP response; `completion` settles after the handover. */
  startHeadStart(options: StartHeadStartOptions): Promise<{ chatId: string; pendingVersion: boolean; completion: Promise<void> }>
  /** Server-side preload: creates the session with `trigger: "preload"` so the agent boots early. */
  preload(options: PreloadOptions): Promise<PreloadedSession>
  /** Mounts a Web Fetch handler on node:http, Express, Fastify or Koa. */
  toNodeListener(handler: FetchHandler, options?: NodeListenerOptions): NodeListener
}

// Only the declarations marked `export` above are public.
export {}
