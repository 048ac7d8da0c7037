//! The head-start request-body parser (and the create-session body built from what it accepts),
//! plus the byte-level wire helpers, on arbitrary input. Invariants live in
//! `chat_headstart_core::wire::fuzzing` (also run deterministically by `cargo test`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
  chat_headstart_core::wire::fuzzing::request_body(data);
  if let Some((_, rest)) = data.split_first() {
    chat_headstart_core::wire::fuzzing::model_messages(rest);
  }
});
