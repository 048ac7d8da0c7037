// Types of bridge.mjs.
import type { Tracer } from '@opentelemetry/api'

/**
 * Subscribes to chat-headstart's diagnostics channels and turns every head-start turn into a
 * `chat-headstart.turn` span with its phases as children. `tracer` defaults to the global
 * provider's `chat-headstart` tracer.
 */
export declare function bridgeToOpenTelemetry(options?: { tracer?: Tracer }): { unsubscribe(): void }
