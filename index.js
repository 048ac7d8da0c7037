// Public entry of chat-headstart. The generated native loader (binding.cjs) is private;
// each area of the API lives in its own module under lib/.
export { nativeVersion } from './lib/version.js'
export { createSseParser } from './lib/sse.js'
export { toNodeListener, FastResponse } from './lib/node-listener.js'
export { chat } from './lib/chat.js'
export { startDevPlane } from './lib/plane.js'
export { S2_RECORD_LIMIT, inAppendMeteredSize, reshapeForHandoverResume, slimSubmitMessageForWire, upsertIncomingMessage } from './lib/wire.js'
