// Which language model the demo uses: the deterministic local model by default, or a hosted
// provider when its API key is set AND its AI SDK provider package is installed (it is not a
// dependency of this repo: `npm install @ai-sdk/openai` or `@ai-sdk/anthropic` to use one).
import { createLocalModel } from './model.mjs'

const PROVIDERS = [
  { key: 'OPENAI_API_KEY', pkg: '@ai-sdk/openai', factory: 'openai', modelEnv: 'DEMO_OPENAI_MODEL', fallback: 'gpt-4o-mini' },
  { key: 'ANTHROPIC_API_KEY', pkg: '@ai-sdk/anthropic', factory: 'anthropic', modelEnv: 'DEMO_ANTHROPIC_MODEL', fallback: 'claude-3-5-haiku-latest' },
]

/** Resolves { model, name }; `timing` configures the local model (see model.mjs). */
export async function resolveModel({ env = process.env, timing } = {}) {
  if (env.DEMO_MODEL !== 'local') {
    for (const provider of PROVIDERS) {
      if (!env[provider.key]) continue
      let mod
      try {
        mod = await import(provider.pkg)
      } catch {
        console.warn(`${provider.key} is set but ${provider.pkg} is not installed; using the local model (npm install ${provider.pkg} to use it).`)
        continue
      }
      const id = env[provider.modelEnv] ?? provider.fallback
      return { model: mod[provider.factory](id), name: `${provider.pkg} ${id}` }
    }
  }
  const model = createLocalModel(timing)
  const t = { ...(timing ?? {}) }
  return { model, name: `local model (TTFT ${t.ttftMs ?? 400} ms, ${t.minTokensPerSecond ?? 30}-${t.maxTokensPerSecond ?? 60} tokens/s)` }
}
