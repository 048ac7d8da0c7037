// Public types of chat-headstart (hand-written; the generated binding.d.ts stays private).

/** Version of the native core, e.g. "0.1.0". */
export declare function nativeVersion(): string

export { toNodeListener, FastResponse } from './lib/node-listener.js'
export type { FetchHandler, NodeListener, NodeListenerOptions } from './lib/node-listener.js'
export * from './lib/plane.js'
