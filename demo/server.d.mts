import type { LocalModelTiming } from './model.mjs'

export declare const AGENT_ID: string
export declare const SYSTEM_PROMPT: string

export interface DemoOptions {
  /** 0 = an ephemeral port. */
  port?: number
  host?: string
  impl?: 'ours' | 'reference'
  env?: Record<string, string | undefined>
  modelTiming?: LocalModelTiming
  /** Emulated agent boot (run triggered → ready), ms. */
  agentBootMs?: number
  /** Extra latency on every control-plane response of the local plane, ms. */
  controlPlaneLatencyMs?: number
  log?: (line: string) => void
}

export interface Demo {
  /** The chat page, e.g. http://127.0.0.1:3000/ */
  url: string
  apiUrl: string
  secretKey: string
  backend: { local: boolean; apiUrl: string; secretKey: string }
  impl: { name: string; parts: { headStart: string; toNodeListener: string } }
  implDescription: string
  modelName: string
  /** Where the page sends turn 2+ ('/trigger' = proxied through the demo server). */
  browserBaseURL: string
  close(): Promise<void>
}

export declare function startDemo(options?: DemoOptions): Promise<Demo>
