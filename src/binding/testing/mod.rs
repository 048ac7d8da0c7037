//! Exports for the specs and benches only, compiled with the `testing` cargo feature (`npm test`,
//! `npm run bench`) and absent from the release addon that ships.

mod allocator;
mod sse;
mod wire;

/// `CHAT_HEADSTART_BENCH_S2_LINGER_MS`: the S2 writer's linger for the engines of this process.
/// The product never lingers; bench/headstart sets it to measure what batching step 1 into one
/// append would save.
pub(crate) fn s2_linger() -> Option<std::time::Duration> {
  let ms = std::env::var("CHAT_HEADSTART_BENCH_S2_LINGER_MS").ok()?;
  Some(std::time::Duration::from_millis(ms.parse().ok()?))
}
