//! Exports for the specs and benches only, compiled with the `testing` cargo feature (`npm test`,
//! `npm run bench`) and absent from the release addon that ships.

mod allocator;
mod sse;
mod wire;
