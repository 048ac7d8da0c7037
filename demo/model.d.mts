import type { LanguageModelV4 } from '@ai-sdk/provider'

export interface LocalModelTiming {
  /** Time to first token in ms (default 400). */
  ttftMs?: number
  /** Token rate range; each token's gap is drawn in it (default 30-60). */
  minTokensPerSecond?: number
  maxTokensPerSecond?: number
  modelId?: string
}
export declare const DEFAULT_MODEL_TIMING: Readonly<Required<Omit<LocalModelTiming, 'modelId'>>>
export declare function tokenize(text: string): string[]
export declare function planReply(
  prompt: unknown[],
  toolNames: Set<string>,
): { kind: 'text'; text: string } | { kind: 'tool-call'; text: string; city: string }
export declare function createLocalModel(options?: LocalModelTiming): LanguageModelV4
