// Types of `chat` (lib/chat.js). They borrow from the installed `ai` like the reference does.
import type { ModelMessage, StopCondition, StreamTextResult, ToolSet, UIMessage, streamText as aiStreamText } from 'ai'
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

/** `SessionTriggerConfig` options forwarded to createSession (protocol.md §2.3). */
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

/** `streamText` bound to the turn: it refuses `messages`, `prompt`, `stopWhen` and `abortSignal`. */
export type HeadStartStreamTextFn = <TOOLS extends ToolSet = ToolSet>(
  options: Omit<StreamTextParams, 'messages' | 'prompt' | 'stopWhen' | 'abortSignal' | 'tools'> & { tools?: TOOLS },
) => StreamTextResult<TOOLS, any>

/** A head-start session (the reference's `handle`). */
export interface HeadStartSession {
  readonly chatId: string
  /** True when createSession parked the chat on a pending version. */
  readonly pendingVersion: boolean
  /** Tees a UI chunk stream into `session.out`; returns the branch for the caller. */
  tee<T>(stream: ReadableStream<T>): ReadableStream<T>
  /** Awaits step 1, then dispatches `handover` (or `handover-skip`). */
  handoverWhenDone(result: StreamTextResult<any, any>): Promise<void>
  /** Appends a `handover` record to `session.in` directly. */
  handover(args: { partialAssistantMessage: ModelMessage[]; messageId: string; isFinal: boolean }): Promise<void>
  /** Appends `{"kind":"handover-skip"}` to `session.in`. */
  handoverSkip(): Promise<void>
  /** The stitched SSE Response for a `streamText` result. */
  handoverResponse(result: StreamTextResult<any, any>): Promise<Response>
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
  run: (args: HeadStartRunArgs) => StreamTextResult<any, any> | Promise<StreamTextResult<any, any>>
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
