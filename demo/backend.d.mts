export interface Backend {
  local: boolean
  apiUrl: string
  secretKey: string
  close(): Promise<void>
}
export declare function triggerBackend(env: Record<string, string | undefined>): Backend
export declare function startLocalBackend(options?: {
  model?: import('@ai-sdk/provider').LanguageModelV4
  agentBootMs?: number
  controlPlaneLatencyMs?: number
  log?: (line: string) => void
}): Promise<Backend>
