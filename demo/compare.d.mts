export interface TurnResult {
  ttftMs: number
  totalMs: number
  text: string
  toolOutputs: unknown[]
}
export interface CompareTiming {
  llmTtftMs: number
  minTokensPerSecond: number
  maxTokensPerSecond: number
  agentBootMs: number
  controlPlaneLatencyMs: number
}
export declare const COMPARE_TIMING: Readonly<CompareTiming>
export declare const SCENARIOS: Record<string, { prompt: string; expectTool: boolean }>
export declare function measureFirstTurn(options: {
  demoUrl: string
  apiUrl: string
  headStart: boolean
  prompt: string
  timeoutMs?: number
}): Promise<TurnResult>
export declare function formatTable(
  name: string,
  prompt: string,
  results: { without: TurnResult[]; with: TurnResult[] },
): string
export declare function runCompare(options?: {
  runs?: number
  impl?: 'ours' | 'reference'
  scenarios?: string[]
  print?: (line: string) => void
  timing?: CompareTiming
}): Promise<Record<string, { without: TurnResult[]; with: TurnResult[] }>>
