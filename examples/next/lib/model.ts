// A deterministic local model so the example runs without API keys (the repository demo's).
// Use your provider instead, e.g. `import { openai } from '@ai-sdk/openai'; export const model = openai('gpt-4o-mini')`.
import { createLocalModel } from '../../../demo/model.mjs'
import type { LanguageModel } from 'ai'

export const model: LanguageModel = createLocalModel()
