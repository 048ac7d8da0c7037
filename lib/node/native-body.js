// The native fast path: how a body produced by the Rust core (lib/chat.js) reaches the listener,
// which pumps it straight into the socket (lib/node/pump.js).

/** A Response carrying this symbol has its body produced outside JS streams (see NativeBodySource). */
export const kNativeBody = Symbol.for('chat-headstart.nativeBody')

/** Cancels a NativeBodySource; a source that throws while cancelling has nothing left to report. */
export function safeCancelSource(source, reason) {
  try {
    source.cancel(reason)
  } catch {}
}
