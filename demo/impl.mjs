// Which `chat` implementation the demo mounts: ours (`chat-headstart`) or the reference
// (`@trigger.dev/sdk/chat-server` 4.8.3). Both expose `chat.headStart(options)` and
// `chat.toNodeListener(handler)`; the demo never depends on anything else.

/** The default when no `--impl` is given. */
export const DEFAULT_IMPL = 'ours'

/**
 * Resolves `{ name, chat: { headStart, toNodeListener }, parts }` for `impl` ('ours' | 'reference').
 * While one of our functions is not built yet, 'ours' fills that function in from the reference
 * and says so in `parts` (printed at startup), so the demo always runs.
 */
export async function loadChatImpl(impl = DEFAULT_IMPL) {
  const reference = (await import('@trigger.dev/sdk/chat-server')).chat
  if (impl === 'reference') {
    return { name: 'reference', chat: reference, parts: { headStart: 'reference', toNodeListener: 'reference' } }
  }
  if (impl !== 'ours') throw new Error(`--impl must be "ours" or "reference", got ${JSON.stringify(impl)}`)
  const mod = await import('../index.js')
  // Ours live on `chat` (like the reference) or as top-level exports of chat-headstart.
  const ours = (name) => (typeof mod.chat?.[name] === 'function' ? mod.chat[name].bind(mod.chat) : typeof mod[name] === 'function' ? mod[name] : undefined)
  const pick = (name) => (ours(name) ? ['ours', ours(name)] : ['reference', reference[name].bind(reference)])
  const [headStartFrom, headStart] = pick('headStart')
  const [listenerFrom, toNodeListener] = pick('toNodeListener')
  return {
    name: headStartFrom === 'ours' && listenerFrom === 'ours' ? 'ours' : 'mixed',
    chat: { headStart, toNodeListener },
    parts: { headStart: headStartFrom, toNodeListener: listenerFrom },
  }
}

/** One line for the startup banner, e.g. "chat.headStart: ours, chat.toNodeListener: reference". */
export function describeImpl({ parts }) {
  const from = (p) => (p === 'ours' ? 'chat-headstart' : '@trigger.dev/sdk/chat-server (reference)')
  return `chat.headStart from ${from(parts.headStart)}; chat.toNodeListener from ${from(parts.toNodeListener)}`
}
