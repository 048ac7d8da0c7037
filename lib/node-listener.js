// toNodeListener: mounts any Web Fetch handler `(req: Request) => Response | Promise<Response>` on
// node:http / node:http2 (compat API) and the frameworks built on them (Express, Fastify, Koa).
//
// Request side: a lazy Request (prototype chained to Request.prototype) that answers method / url /
// headers / signal / text() / json() / arrayBuffer() straight from the IncomingMessage and builds a
// genuine undici Request only when something spec-heavy is touched (clone, formData, cache, …, or
// `new Request(lazy, init)` / undici internals via their symbol keys). Where undici keeps that
// state in private fields (Node 24) the handler gets a genuine Request subclass instead
// (NodeBackedRequest), which still reads a body it is asked for whole from the IncomingMessage.
// Response side: a global Response built from a string / bytes / stream / null is a light object whose
// fields are written directly (undici's Response is built only if the handler touches more); else
// one writeHead + end for string / bytes / null bodies (undici's kept body source on
// Node 22, a bounded peek of the body stream where that source is private), a backpressured pump
// for streams, and a native fast path (`response[Symbol.for('chat-headstart.nativeBody')]`) for
// bodies produced by the Rust core.
//
// The parts live in lib/node/: listener.js (the listener), request.js / request-headers.js /
// request-body.js / url.js (the request side), light-response.js / globals.js (the global Response
// it installs unless overrideGlobalObjects is false), fast-response.js, send.js / write.js / pump.js /
// peek.js / coalescing-writer.js (the response side), native-body.js, client-gone.js, drain.js.
// This module is the public path of the listener (index.js, lib/chat.js).

export { toNodeListener, lazyRequestSupported } from './node/listener.js'
export { FastResponse } from './node/fast-response.js'
export { kNativeBody } from './node/native-body.js'
