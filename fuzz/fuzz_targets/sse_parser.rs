//! `cargo +nightly fuzz run sse_parser` (from the repository root): the SSE parser never panics
//! and yields the same items and outcome however the input is chunked. The property itself is
//! `chat_headstart_core::sse::fuzzing::check_input`, which `cargo test` also replays over a
//! deterministic corpus (`fuzz_property_replays_deterministic_inputs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
  chat_headstart_core::sse::fuzzing::check_input(data);
});
