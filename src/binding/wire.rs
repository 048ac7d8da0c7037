//! Node-API adapter over `chat_headstart_core::wire` that the package uses: the metered size of
//! an `.in` record (`lib/wire.js`). The other wire helpers are reached from JS only by the specs and
//! benches that compare them with the reference (src/binding/testing/wire.rs).

use chat_headstart_core::wire;
use napi::bindgen_prelude::{Either, Uint8Array};
use napi_derive::napi;

/// Metered size of the `.in` record the API would store for this raw body and part id.
#[napi]
pub fn wire_in_append_metered_size(raw_body: Either<String, Uint8Array>, part_id: String) -> f64 {
  let size = match &raw_body {
    Either::A(text) => wire::in_append_metered_size(text.as_bytes(), &part_id),
    Either::B(bytes) => wire::in_append_metered_size(bytes, &part_id),
  };
  size as f64
}
