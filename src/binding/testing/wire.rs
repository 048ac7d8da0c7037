//! Wire helpers for the specs and benches that compare them with the reference (__test__/wire*.spec.ts,
//! bench/wire): bytes in, bytes out, one call per message/body.

use chat_headstart_core::wire::{
  self, CreateSessionOptions, HeadStartRequest, RequestLimits, SessionPayload, WireError,
};
use napi::bindgen_prelude::Buffer;
use napi::{Error, Result, Status};
use napi_derive::napi;
use serde_json::value::RawValue;

/// A `WireError` as a JS `Error` whose message is `"<status> <message>"`; `lib/wire.js` splits it
/// back into `{ status, message }`.
fn to_js_error(err: WireError) -> Error {
  Error::new(
    Status::InvalidArg,
    format!("{} {}", err.status, err.message),
  )
}

/// `reshapeForHandoverResume` over `JSON.stringify(responseMessages)` bytes.
#[napi]
pub fn wire_reshape_for_handover_resume(messages_json: &[u8]) -> Result<Buffer> {
  wire::reshape_for_handover_resume(messages_json)
    .map(Buffer::from)
    .map_err(to_js_error)
}

/// The `handover` `.in` record for step 1's messages.
#[napi]
pub fn wire_handover_body(
  messages_json: &[u8],
  message_id: String,
  is_final: bool,
) -> Result<Buffer> {
  wire::handover_body(messages_json, &message_id, is_final)
    .map(Buffer::from)
    .map_err(to_js_error)
}

/// Result of validating a head-start POST: `status` 0 on success.
#[napi(object)]
pub struct WireHeadStartRequest {
  pub status: u16,
  pub error: Option<String>,
  pub chat_id: Option<String>,
  pub messages_json: Option<String>,
}

/// `parse_head_start_request` for JS callers and tests.
#[napi]
pub fn wire_parse_head_start_request(
  method: String,
  content_type: Option<String>,
  body: &[u8],
  max_body_bytes: Option<u32>,
) -> WireHeadStartRequest {
  let limits = max_body_bytes.map_or_else(RequestLimits::default, |max| RequestLimits {
    max_body_bytes: max as usize,
  });
  match wire::parse_head_start_request(&method, content_type.as_deref(), body, &limits) {
    Ok(req) => WireHeadStartRequest {
      status: 0,
      error: None,
      chat_id: Some(req.chat_id().to_owned()),
      messages_json: Some(req.head_start_messages_json().to_owned()),
    },
    Err(err) => WireHeadStartRequest {
      status: err.status,
      error: Some(err.message),
      chat_id: None,
      messages_json: None,
    },
  }
}

fn raw_field(
  fields: &serde_json::Map<String, serde_json::Value>,
  key: &str,
) -> Option<Box<RawValue>> {
  let value = fields.get(key)?;
  let mut out = Vec::new();
  wire::jsjson::write_js_value(&mut out, value);
  RawValue::from_string(String::from_utf8(out).ok()?).ok()
}

/// The create-session body. `options_json` = `JSON.stringify({agentId, idleTimeoutInSeconds?,
/// triggerConfig?, tags?, clientExternalDeploymentId?})`; `descriptor_json` picks the payload:
/// `{"kind":"headStart"}` (uses `request_body`, the browser's raw body),
/// `{"kind":"detached","chatId","messages","metadata"?}` (startHeadStart) or
/// `{"kind":"preload","chatId","clientData"?,"metadata"?}`.
#[napi]
pub fn wire_create_session_body(
  options_json: String,
  descriptor_json: String,
  request_body: Option<&[u8]>,
) -> Result<Buffer> {
  let opts =
    CreateSessionOptions::from_json(options_json.as_bytes(), |name| std::env::var(name).ok())
      .map_err(to_js_error)?;
  let descriptor: serde_json::Map<String, serde_json::Value> =
    serde_json::from_str(&descriptor_json).map_err(|e| {
      Error::new(
        Status::InvalidArg,
        format!("400 descriptor is not a JSON object: {e}"),
      )
    })?;
  let chat_id = descriptor
    .get("chatId")
    .and_then(|v| v.as_str())
    .unwrap_or_default()
    .to_owned();
  let body = match descriptor.get("kind").and_then(|v| v.as_str()) {
    Some("headStart") => {
      let body =
        request_body.ok_or_else(|| Error::new(Status::InvalidArg, "400 request body required"))?;
      let req = wire::parse_head_start_request(
        "POST",
        Some("application/json"),
        body,
        &RequestLimits::default(),
      )
      .map_err(to_js_error)?;
      wire::create_session_body(SessionPayload::HeadStart(&req), &opts)
    }
    Some("detached") => {
      let messages =
        raw_field(&descriptor, "messages").map_or_else(|| "[]".to_owned(), |r| r.get().to_owned());
      let metadata = raw_field(&descriptor, "metadata");
      let req = HeadStartRequest::detached(
        &chat_id,
        messages.as_bytes(),
        metadata.as_ref().map(|m| m.get().as_bytes()),
      )
      .map_err(to_js_error)?;
      wire::create_session_body(SessionPayload::HeadStart(&req), &opts)
    }
    Some("preload") => {
      let client_data = raw_field(&descriptor, "clientData");
      let metadata = raw_field(&descriptor, "metadata");
      let payload = SessionPayload::Preload {
        chat_id: &chat_id,
        client_data_json: client_data.as_deref(),
        metadata_json: metadata.as_deref(),
      };
      wire::create_session_body(payload, &opts)
    }
    other => {
      return Err(Error::new(
        Status::InvalidArg,
        format!("400 unknown payload kind {other:?}"),
      ))
    }
  };
  body.map(Buffer::from).map_err(to_js_error)
}

/// Ids: `"part"` (nanoid 21), `"envelope"` (nanoid 7), `"message"` (AI SDK generateId, 16),
/// `"uuid"` (v4).
#[napi]
pub fn wire_generate_id(kind: String) -> Result<String> {
  Ok(match kind.as_str() {
    "part" => wire::ids::part_id(),
    "envelope" => wire::ids::envelope_id(),
    "message" => wire::ids::generate_message_id(),
    "uuid" => wire::ids::uuid_v4(),
    other => {
      return Err(Error::new(
        Status::InvalidArg,
        format!("unknown id kind {other:?}"),
      ))
    }
  })
}
