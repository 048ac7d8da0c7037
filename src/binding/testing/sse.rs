//! The Rust core's SSE parser alone, for bench/sse: what the public `createSseParser` adds on top
//! of it is the crossing into JS.

use chat_headstart_core::sse::{SseItem, SseParser, DEFAULT_MAX_BUFFER};
use napi::bindgen_prelude::Uint8Array;
use napi::{Error, Result};
use napi_derive::napi;

/// Parses `chunks` as one stream with the Rust core alone and returns the number of events
/// dispatched (their data is decoded and checked as for any caller).
#[napi]
pub fn sse_count_events(chunks: Vec<Uint8Array>) -> Result<u32> {
  let mut parser = SseParser::new(DEFAULT_MAX_BUFFER);
  let mut events: u32 = 0;
  let mut sink = |item: SseItem<'_>| {
    if let SseItem::Event { data, .. } = item {
      std::hint::black_box(data);
      events += 1;
    }
  };
  for chunk in &chunks {
    parser
      .feed(chunk, &mut sink)
      .map_err(|err| Error::from_reason(err.to_string()))?;
  }
  parser
    .finish()
    .map_err(|err| Error::from_reason(err.to_string()))?;
  Ok(events)
}
