//! Wire formats of a head-start turn: the browser's request body (validated), the
//! `POST /api/v1/sessions` body, the `session.in` handover records, the metered-size rule of
//! `.in` appends, and id generation. Pure functions over bytes. (Submit-message slimming works on
//! the caller's message objects, so it lives in `lib/wire.js`.)
//!
//! Byte-exactness: wherever the reference sends `JSON.stringify(value)`, these functions produce
//! the same bytes (see [`jsjson`]). Inputs that came from `JSON.stringify` (model messages handed
//! over by the JS glue) are copied verbatim, never re-encoded.

use std::fmt;

pub mod create_session;
pub mod handover;
pub mod ids;
pub mod jsjson;
pub mod metered;
pub mod request;

#[cfg(any(test, feature = "testing"))]
pub mod fuzzing;

pub use create_session::{
  create_session_body, resolve_external_deployment_id, CreateSessionOptions, ExternalDeploymentId,
  SessionPayload, SessionTrigger, SessionTriggerConfig,
};
pub use handover::{handover_body, reshape_for_handover_resume, HANDOVER_SKIP_BODY};
pub use metered::{in_append_metered_size, S2_RECORD_LIMIT};
pub use request::{parse_head_start_request, HeadStartRequest, RequestLimits};

/// A rejected input. `status` is the HTTP status the handler answers with; the body is
/// [`WireError::json_body`] (`{"error": message}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
  pub status: u16,
  pub message: String,
}

impl WireError {
  pub fn new(status: u16, message: impl Into<String>) -> Self {
    Self {
      status,
      message: message.into(),
    }
  }

  pub fn bad_request(message: impl Into<String>) -> Self {
    Self::new(400, message)
  }

  /// `{"error":"<message>"}`, the response body for this error.
  pub fn json_body(&self) -> Vec<u8> {
    let mut out = Vec::with_capacity(self.message.len() + 12);
    out.extend_from_slice(b"{\"error\":");
    jsjson::write_js_string(&mut out, &self.message);
    out.push(b'}');
    out
  }
}

impl fmt::Display for WireError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(&self.message)
  }
}

impl std::error::Error for WireError {}

/// The four characters JSON allows between tokens (RFC 8259 §2); `str::trim` would take more.
pub(crate) const JSON_WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// Name of a JSON value's type, for error messages ("got a number").
pub(crate) fn json_type_name(raw: &str) -> &'static str {
  match raw.as_bytes().first() {
    Some(b'{') => "an object",
    Some(b'[') => "an array",
    Some(b'"') => "a string",
    Some(b't' | b'f') => "a boolean",
    Some(b'n') => "null",
    _ => "a number",
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn error_body_is_json_with_the_message() {
    let err = WireError::bad_request("`chatId` is \"bad\"\n");
    assert_eq!(err.to_string(), "`chatId` is \"bad\"\n");
    assert_eq!(
      err.json_body(),
      br#"{"error":"`chatId` is \"bad\"\n"}"#.to_vec()
    );
  }
}
