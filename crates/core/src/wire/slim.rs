//! `slimSubmitMessageForWire` (docs/protocol.md §8.1): before a `submit-message` goes to `.in`, an
//! assistant message that carries client-advanced tool parts is reduced to exactly the fields the
//! agent's merge overlays, so large reasoning/tool inputs never hit the append cap.
//!
//! Input is `JSON.stringify(message)`; output is `JSON.stringify(slimmed)` (raw values copied).
//! Unchanged messages come back as the input bytes.

use indexmap::IndexMap;
use serde_json::value::RawValue;

use super::handover::{raw_is_str, raw_str, raw_truthy};
use super::WireError;

/// Tool states the client advances and ships back.
pub const WIRE_ADVANCEABLE_STATES: [&str; 4] = [
  "output-available",
  "output-error",
  "approval-responded",
  "output-denied",
];

fn is_tool_part_type(kind: &str) -> bool {
  kind.starts_with("tool-") || kind == "dynamic-tool"
}

/// A tool part the client advanced: its fields, JS semantics for repeated keys.
fn advanced_tool_part(part: &RawValue) -> Option<(IndexMap<String, &RawValue>, String, String)> {
  if !part.get().starts_with('{') {
    return None;
  }
  let fields: IndexMap<String, &RawValue> = serde_json::from_str(part.get()).ok()?;
  let kind = raw_str(fields.get("type")?)?.into_owned();
  if !is_tool_part_type(&kind) {
    return None;
  }
  let state = raw_str(fields.get("state")?)?.into_owned();
  if !WIRE_ADVANCEABLE_STATES.contains(&state.as_str()) {
    return None;
  }
  Some((fields, kind, state))
}

fn push_member(out: &mut Vec<u8>, key: &str, raw: &RawValue) {
  out.extend_from_slice(b",\"");
  out.extend_from_slice(key.as_bytes());
  out.extend_from_slice(b"\":");
  out.extend_from_slice(raw.get().as_bytes());
}

/// Slims one message (`JSON.stringify` text). Not an assistant message, or no advanced tool
/// part → the input bytes unchanged.
pub fn slim_submit_message_for_wire(message_json: &[u8]) -> Result<Vec<u8>, WireError> {
  let message: &RawValue = serde_json::from_slice(message_json)
    .map_err(|e| WireError::bad_request(format!("message is not valid JSON: {e}")))?;
  let unchanged = || Ok(message_json.to_vec());
  // `if (!message) return message` and `message.role !== "assistant"`.
  if !raw_truthy(message) || !message.get().starts_with('{') {
    return unchanged();
  }
  let fields: IndexMap<String, &RawValue> = serde_json::from_str(message.get())
    .map_err(|e| WireError::bad_request(format!("message is not valid JSON: {e}")))?;
  if !fields
    .get("role")
    .is_some_and(|r| raw_is_str(r, "assistant"))
  {
    return unchanged();
  }
  // `message.parts ?? []`; a non-array `parts` has nothing to slim (the reference would throw).
  let parts: Vec<&RawValue> = match fields.get("parts") {
    Some(raw) if raw.get().starts_with('[') => serde_json::from_str(raw.get()).unwrap_or_default(),
    _ => Vec::new(),
  };
  let advanced: Vec<_> = parts.iter().filter_map(|p| advanced_tool_part(p)).collect();
  if advanced.is_empty() {
    return unchanged();
  }

  let mut out = Vec::with_capacity(256);
  out.push(b'{');
  // `{ id: message.id, role: message.role, parts }`: an absent id is dropped by JSON.stringify.
  if let Some(id) = fields.get("id") {
    out.extend_from_slice(b"\"id\":");
    out.extend_from_slice(id.get().as_bytes());
    out.push(b',');
  }
  out.extend_from_slice(b"\"role\":");
  out.extend_from_slice(fields["role"].get().as_bytes());
  out.extend_from_slice(b",\"parts\":[");
  for (i, (part, kind, state)) in advanced.iter().enumerate() {
    if i > 0 {
      out.push(b',');
    }
    out.extend_from_slice(b"{\"type\":");
    out.extend_from_slice(part["type"].get().as_bytes());
    if let Some(id) = part.get("toolCallId") {
      push_member(&mut out, "toolCallId", id);
    }
    push_member(&mut out, "state", part["state"]);
    if kind == "dynamic-tool" {
      if let Some(name) = part.get("toolName").filter(|n| n.get().starts_with('"')) {
        push_member(&mut out, "toolName", name);
      }
    }
    let kept: &[&str] = match state.as_str() {
      "output-available" => &["output", "approval"],
      "output-error" => &["errorText", "approval"],
      _ => &["approval"], // approval-responded, output-denied
    };
    for key in kept {
      if let Some(value) = part.get(*key) {
        push_member(&mut out, key, value);
      }
    }
    out.push(b'}');
  }
  out.extend_from_slice(b"]}");
  Ok(out)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn slim(json: &str) -> String {
    String::from_utf8(slim_submit_message_for_wire(json.as_bytes()).unwrap()).unwrap()
  }

  #[test]
  fn non_assistant_or_missing_messages_are_unchanged() {
    for json in [
      "null",
      "false",
      "0",
      "\"\"",
      "[1]",
      r#"{"id":"u1","role":"user","parts":[{"type":"tool-x","toolCallId":"c","state":"output-available","output":1}]}"#,
      r#"{"id":"a1","parts":[]}"#,
    ] {
      assert_eq!(slim(json), json);
    }
  }

  #[test]
  fn assistant_without_advanced_tool_parts_is_unchanged() {
    for json in [
      r#"{"id":"a1","role":"assistant","parts":[{"type":"text","text":"hi"}],"metadata":{"m":1}}"#,
      r#"{"id":"a1","role":"assistant"}"#,
      r#"{"id":"a1","role":"assistant","parts":null}"#,
      r#"{"id":"a1","role":"assistant","parts":{"0":1}}"#,
      r#"{"id":"a1","role":"assistant","parts":[{"type":"tool-x","toolCallId":"c","state":"input-available","input":{}},{"type":"tool-y","state":"approval-requested"},{"type":"reasoning","state":"output-available"},null,5]}"#,
    ] {
      assert_eq!(slim(json), json);
    }
  }

  #[test]
  fn every_advanceable_state_keeps_exactly_its_fields() {
    let json = concat!(
      r#"{"id":"a1","role":"assistant","metadata":{"big":true},"parts":["#,
      r#"{"type":"step-start"},{"type":"reasoning","text":"long","providerMetadata":{"x":1}},{"type":"text","text":"t"},"#,
      r#"{"type":"tool-getWeather","toolCallId":"c1","state":"output-available","input":{"city":"Paris"},"output":{"t":20},"providerExecuted":false,"callProviderMetadata":{},"title":"T","preliminary":false},"#,
      r#"{"type":"tool-ask","toolCallId":"c2","state":"output-available","input":{},"output":null,"approval":{"id":"ap","approved":true}},"#,
      r#"{"type":"tool-fail","toolCallId":"c3","state":"output-error","input":{},"errorText":"boom","approval":{"id":"a3"}},"#,
      r#"{"type":"tool-fail2","toolCallId":"c4","state":"output-error","input":{}},"#,
      r#"{"type":"tool-ok","toolCallId":"c5","state":"approval-responded","input":{},"approval":{"id":"a5","approved":true,"reason":"r"}},"#,
      r#"{"type":"tool-no","toolCallId":"c6","state":"output-denied","input":{},"approval":{"id":"a6","approved":false},"output":1},"#,
      r#"{"type":"dynamic-tool","toolName":"mcp_x","toolCallId":"c7","state":"output-available","input":{},"output":"o"},"#,
      r#"{"type":"dynamic-tool","toolName":7,"toolCallId":"c8","state":"approval-responded"},"#,
      r#"{"type":"tool-pending","toolCallId":"c9","state":"input-available","input":{}}"#,
      r#"]}"#
    );
    let expected = concat!(
      r#"{"id":"a1","role":"assistant","parts":["#,
      r#"{"type":"tool-getWeather","toolCallId":"c1","state":"output-available","output":{"t":20}},"#,
      r#"{"type":"tool-ask","toolCallId":"c2","state":"output-available","output":null,"approval":{"id":"ap","approved":true}},"#,
      r#"{"type":"tool-fail","toolCallId":"c3","state":"output-error","errorText":"boom","approval":{"id":"a3"}},"#,
      r#"{"type":"tool-fail2","toolCallId":"c4","state":"output-error"},"#,
      r#"{"type":"tool-ok","toolCallId":"c5","state":"approval-responded","approval":{"id":"a5","approved":true,"reason":"r"}},"#,
      r#"{"type":"tool-no","toolCallId":"c6","state":"output-denied","approval":{"id":"a6","approved":false}},"#,
      r#"{"type":"dynamic-tool","toolCallId":"c7","state":"output-available","toolName":"mcp_x","output":"o"},"#,
      r#"{"type":"dynamic-tool","toolCallId":"c8","state":"approval-responded"}"#,
      r#"]}"#
    );
    assert_eq!(slim(json), expected);
  }

  #[test]
  fn missing_id_and_tool_call_id_are_dropped_like_undefined() {
    let json = r#"{"role":"assistant","parts":[{"type":"tool-x","state":"output-denied"}]}"#;
    assert_eq!(
      slim(json),
      r#"{"role":"assistant","parts":[{"type":"tool-x","state":"output-denied"}]}"#
    );
  }

  #[test]
  fn invalid_json_is_a_400() {
    let err = slim_submit_message_for_wire(b"{").unwrap_err();
    assert_eq!(err.status, 400);
    assert!(err.message.starts_with("message is not valid JSON"));
  }
}
