//! The `session.in` records that end the handler's step 1 (protocol.md §4.2) and the reshape of
//! step 1's model messages into an approved-tool round (§8.4).
//!
//! Inputs are `JSON.stringify(result.response.messages)` from the JS glue. Messages, parts and
//! values are copied as raw bytes; only the appended approval parts are written here, so the output
//! equals `JSON.stringify(<the reference's object>)` for such input.
//!
//! Robustness: where the reference would throw a `TypeError` on malformed messages (a `null`
//! message or part, a tool message whose `content` is neither a string nor an array), these
//! functions leave the offending element unchanged instead.

use std::collections::HashSet;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::jsjson::write_js_string;
use super::WireError;

/// `{"kind":"handover-skip"}`: tells the agent to exit without running the turn.
pub const HANDOVER_SKIP_BODY: &[u8] = br#"{"kind":"handover-skip"}"#;

/// Prefix of the synthesized approval ids: `handover-approval-1`, `-2`, ….
pub const APPROVAL_ID_PREFIX: &str = "handover-approval-";

fn internal(message: impl Into<String>) -> WireError {
  WireError::new(500, message)
}

/// Whether raw JSON `raw` is the string `expected`.
pub(crate) fn raw_is_str(raw: &RawValue, expected: &str) -> bool {
  let text = raw.get();
  if text.len() == expected.len() + 2
    && text.starts_with('"')
    && text.ends_with('"')
    && &text[1..text.len() - 1] == expected
  {
    return true;
  }
  text.starts_with('"')
    && text.contains('\\')
    && serde_json::from_str::<String>(text).is_ok_and(|s| s == expected)
}

/// The decoded string value of raw JSON, if it is a string.
pub(crate) fn raw_str(raw: &RawValue) -> Option<std::borrow::Cow<'_, str>> {
  let text = raw.get();
  if !text.starts_with('"') {
    return None;
  }
  if !text.contains('\\') {
    return Some(std::borrow::Cow::Borrowed(&text[1..text.len() - 1]));
  }
  serde_json::from_str::<String>(text)
    .ok()
    .map(std::borrow::Cow::Owned)
}

/// JavaScript truthiness of a raw JSON value.
pub(crate) fn raw_truthy(raw: &RawValue) -> bool {
  match raw.get().as_bytes().first() {
    Some(b'"') => raw.get().len() > 2,
    Some(b'n' | b'f') => false,
    Some(b't' | b'{' | b'[') => true,
    _ => raw.get().parse::<f64>().is_ok_and(|n| n != 0.0),
  }
}

/// Only the fields the reshape looks at; everything else is skipped by serde.
#[derive(Deserialize)]
struct PartHead<'a> {
  #[serde(rename = "type", borrow, default)]
  kind: Option<&'a RawValue>,
  #[serde(rename = "toolCallId", borrow, default)]
  tool_call_id: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct MessageHead<'a> {
  #[serde(borrow, default)]
  role: Option<&'a RawValue>,
  #[serde(borrow, default)]
  content: Option<&'a RawValue>,
}

fn parse_array(json: &[u8]) -> Result<Vec<&RawValue>, WireError> {
  serde_json::from_slice(json)
    .map_err(|e| internal(format!("response messages must be a JSON array: {e}")))
}

fn parts_of(content: Option<&RawValue>) -> Option<Vec<&RawValue>> {
  let content = content?;
  if !content.get().starts_with('[') {
    return None;
  }
  serde_json::from_str(content.get()).ok()
}

fn parse_head<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Option<T> {
  if !raw.get().starts_with('{') {
    return None;
  }
  serde_json::from_str(raw.get()).ok()
}

/// §8.4: for every assistant `tool-call` without a matching `tool-result`, append a
/// `tool-approval-request` to that assistant message's content, and append one `role:"tool"`
/// message approving them all (it must stay last: the AI SDK only scans the last message).
pub fn reshape_for_handover_resume(response_messages_json: &[u8]) -> Result<Vec<u8>, WireError> {
  let messages = parse_array(response_messages_json)?;
  let mut out = Vec::with_capacity(response_messages_json.len() + 256);
  reshape_into(&mut out, &messages, response_messages_json)?;
  Ok(out)
}

fn reshape_into(
  out: &mut Vec<u8>,
  messages: &[&RawValue],
  original: &[u8],
) -> Result<(), WireError> {
  // Pass 1: tool calls that already have a result.
  let mut completed: HashSet<&str> = HashSet::new();
  let heads: Vec<Option<MessageHead<'_>>> = messages.iter().map(|m| parse_head(m)).collect();
  for head in heads.iter().flatten() {
    if !head.role.is_some_and(|r| raw_is_str(r, "tool")) {
      continue;
    }
    for part in parts_of(head.content).unwrap_or_default() {
      if let Some(part) = parse_head::<PartHead<'_>>(part) {
        if part.kind.is_some_and(|k| raw_is_str(k, "tool-result")) {
          if let Some(id) = part.tool_call_id.filter(|id| raw_truthy(id)) {
            completed.insert(id.get());
          }
        }
      }
    }
  }

  // Pass 2: which assistant messages gain approval requests, and for which call ids.
  let mut pending_per_message: Vec<Vec<&RawValue>> = Vec::with_capacity(messages.len());
  let mut any_pending = false;
  for head in &heads {
    let mut pending = Vec::new();
    if let Some(head) = head
      .as_ref()
      .filter(|h| h.role.is_some_and(|r| raw_is_str(r, "assistant")))
    {
      for part in parts_of(head.content).unwrap_or_default() {
        if let Some(part) = parse_head::<PartHead<'_>>(part) {
          if part.kind.is_some_and(|k| raw_is_str(k, "tool-call")) {
            if let Some(id) = part
              .tool_call_id
              .filter(|id| raw_truthy(id) && !completed.contains(id.get()))
            {
              pending.push(id);
            }
          }
        }
      }
    }
    any_pending |= !pending.is_empty();
    pending_per_message.push(pending);
  }
  if !any_pending {
    // Nothing to approve: the reference's copy serializes to the same text.
    out.extend_from_slice(original);
    return Ok(());
  }

  let mut approval_number = 0usize;
  out.push(b'[');
  for (index, (message, pending)) in messages.iter().zip(&pending_per_message).enumerate() {
    if index > 0 {
      out.push(b',');
    }
    if pending.is_empty() {
      out.extend_from_slice(message.get().as_bytes());
      continue;
    }
    // `{...message, content: [...content, ...approvalRequests]}`: same keys, same order.
    let fields: IndexMap<String, &RawValue> = serde_json::from_str(message.get())
      .map_err(|e| internal(format!("response message is not a JSON object: {e}")))?;
    out.push(b'{');
    for (i, (key, value)) in fields.iter().enumerate() {
      if i > 0 {
        out.push(b',');
      }
      write_js_string(out, key);
      out.push(b':');
      if key != "content" {
        out.extend_from_slice(value.get().as_bytes());
        continue;
      }
      let content = value.get();
      // Re-open the array: everything before the closing bracket, then the new parts.
      let inner = content[1..content.len() - 1].trim_matches([' ', '\t', '\n', '\r']);
      out.push(b'[');
      out.extend_from_slice(inner.as_bytes());
      for (n, id) in pending.iter().enumerate() {
        if n > 0 || !inner.is_empty() {
          out.push(b',');
        }
        approval_number += 1;
        out.extend_from_slice(br#"{"type":"tool-approval-request","approvalId":""#);
        out.extend_from_slice(APPROVAL_ID_PREFIX.as_bytes());
        out.extend_from_slice(approval_number.to_string().as_bytes());
        out.extend_from_slice(br#"","toolCallId":"#);
        out.extend_from_slice(id.get().as_bytes());
        out.push(b'}');
      }
      out.push(b']');
    }
    out.push(b'}');
  }
  out.extend_from_slice(br#",{"role":"tool","content":["#);
  for n in 1..=approval_number {
    if n > 1 {
      out.push(b',');
    }
    out.extend_from_slice(br#"{"type":"tool-approval-response","approvalId":""#);
    out.extend_from_slice(APPROVAL_ID_PREFIX.as_bytes());
    out.extend_from_slice(n.to_string().as_bytes());
    out.extend_from_slice(br#"","approved":true}"#);
  }
  out.extend_from_slice(b"]}]");
  Ok(())
}

/// The `handover` record: `{"kind":"handover","partialAssistantMessage":…,"messageId":…,"isFinal":…}`.
/// `is_final == false` (finish reason `tool-calls`) ⇒ the reshaped messages; otherwise the raw
/// step-1 messages.
pub fn handover_body(
  response_messages_json: &[u8],
  message_id: &str,
  is_final: bool,
) -> Result<Vec<u8>, WireError> {
  let messages = parse_array(response_messages_json)?;
  let mut out = Vec::with_capacity(response_messages_json.len() + 128 + message_id.len());
  out.extend_from_slice(br#"{"kind":"handover","partialAssistantMessage":"#);
  if is_final {
    out.extend_from_slice(response_messages_json.trim_ascii());
  } else {
    reshape_into(&mut out, &messages, response_messages_json.trim_ascii())?;
  }
  out.extend_from_slice(br#","messageId":"#);
  write_js_string(&mut out, message_id);
  out.extend_from_slice(if is_final {
    br#","isFinal":true}"#
  } else {
    br#","isFinal":false}"#
  });
  Ok(out)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn reshape(json: &str) -> String {
    String::from_utf8(reshape_for_handover_resume(json.as_bytes()).unwrap()).unwrap()
  }

  const TEXT: &str = r#"{"type":"text","text":"Checking."}"#;
  const CALL_1: &str = r#"{"type":"tool-call","toolCallId":"call_1","toolName":"getWeather","input":{"city":"Paris"}}"#;
  const CALL_2: &str =
    r#"{"type":"tool-call","toolCallId":"call_2","toolName":"getWeather","input":{"city":"Rome"}}"#;

  #[test]
  fn no_tool_calls_leaves_messages_unchanged() {
    for json in [
      "[]",
      r#"[{"role":"assistant","content":[{"type":"text","text":"Hello world"}]}]"#,
      r#"[{"role":"assistant","content":"just text"}]"#,
      r#"[{"role":"user","content":[{"type":"tool-call","toolCallId":"x"}]}]"#,
    ] {
      assert_eq!(reshape(json), json);
    }
  }

  #[test]
  fn one_call_matches_the_observed_handover_byte_for_byte() {
    let messages = format!(r#"[{{"role":"assistant","content":[{TEXT},{CALL_1}]}}]"#);
    let body = handover_body(messages.as_bytes(), "678AAAKUrnJvZUmk", false).unwrap();
    let expected = concat!(
      r#"{"kind":"handover","partialAssistantMessage":["#,
      r#"{"role":"assistant","content":[{"type":"text","text":"Checking."},"#,
      r#"{"type":"tool-call","toolCallId":"call_1","toolName":"getWeather","input":{"city":"Paris"}},"#,
      r#"{"type":"tool-approval-request","approvalId":"handover-approval-1","toolCallId":"call_1"}]},"#,
      r#"{"role":"tool","content":[{"type":"tool-approval-response","approvalId":"handover-approval-1","approved":true}]}],"#,
      r#""messageId":"678AAAKUrnJvZUmk","isFinal":false}"#
    );
    assert_eq!(String::from_utf8(body).unwrap(), expected);
  }

  #[test]
  fn two_calls_append_requests_after_all_parts_in_call_order() {
    let got = reshape(&format!(
      r#"[{{"role":"assistant","content":[{CALL_1},{CALL_2}]}}]"#
    ));
    let expected = format!(
      concat!(
        r#"[{{"role":"assistant","content":[{},{},"#,
        r#"{{"type":"tool-approval-request","approvalId":"handover-approval-1","toolCallId":"call_1"}},"#,
        r#"{{"type":"tool-approval-request","approvalId":"handover-approval-2","toolCallId":"call_2"}}]}},"#,
        r#"{{"role":"tool","content":[{{"type":"tool-approval-response","approvalId":"handover-approval-1","approved":true}},"#,
        r#"{{"type":"tool-approval-response","approvalId":"handover-approval-2","approved":true}}]}}]"#
      ),
      CALL_1, CALL_2
    );
    assert_eq!(got, expected);
  }

  #[test]
  fn completed_calls_are_left_alone_and_numbering_spans_messages() {
    let result = r#"{"role":"tool","content":[{"type":"tool-result","toolCallId":"call_1","toolName":"getWeather","output":{"type":"json","value":1}}]}"#;
    let call_3 = r#"{"type":"tool-call","toolCallId":"call_3","toolName":"x","input":{}}"#;
    let json = format!(
      r#"[{{"role":"assistant","content":[{CALL_1},{CALL_2}],"providerOptions":{{"a":{{"b":1}}}}}},{result},{{"role":"assistant","content":[{call_3}]}}]"#
    );
    let got = reshape(&json);
    let expected = format!(
      concat!(
        r#"[{{"role":"assistant","content":[{},{},{{"type":"tool-approval-request","approvalId":"handover-approval-1","toolCallId":"call_2"}}],"providerOptions":{{"a":{{"b":1}}}}}},"#,
        r#"{},"#,
        r#"{{"role":"assistant","content":[{},{{"type":"tool-approval-request","approvalId":"handover-approval-2","toolCallId":"call_3"}}]}},"#,
        r#"{{"role":"tool","content":[{{"type":"tool-approval-response","approvalId":"handover-approval-1","approved":true}},"#,
        r#"{{"type":"tool-approval-response","approvalId":"handover-approval-2","approved":true}}]}}]"#
      ),
      CALL_1, CALL_2, result, call_3
    );
    assert_eq!(got, expected);
    // Every call completed → unchanged.
    let all_done = format!(r#"[{{"role":"assistant","content":[{CALL_1}]}},{result}]"#);
    assert_eq!(reshape(&all_done), all_done);
  }

  #[test]
  fn string_content_and_malformed_elements_pass_through() {
    let json = format!(
      r#"[null,{{"role":"assistant","content":"text"}},{{"role":"tool","content":null}},{{"role":"assistant","content":[null,7,{CALL_1}]}}]"#
    );
    let got = reshape(&json);
    assert!(got.starts_with(r#"[null,{"role":"assistant","content":"text"},{"role":"tool","content":null},{"role":"assistant","content":[null,7,"#));
    assert!(got.ends_with(r#"{"role":"tool","content":[{"type":"tool-approval-response","approvalId":"handover-approval-1","approved":true}]}]"#));
  }

  #[test]
  fn falsy_tool_call_ids_are_not_approved() {
    let json = r#"[{"role":"assistant","content":[{"type":"tool-call","toolCallId":""},{"type":"tool-call","toolCallId":0},{"type":"tool-call"}]}]"#;
    assert_eq!(reshape(json), json);
  }

  #[test]
  fn final_handover_carries_the_raw_messages() {
    let messages = r#"[{"role":"assistant","content":[{"type":"text","text":"Hello world"}]}]"#;
    let body = handover_body(messages.as_bytes(), "qN3uH4EBHSWh7ar1", true).unwrap();
    assert_eq!(
      String::from_utf8(body).unwrap(),
      r#"{"kind":"handover","partialAssistantMessage":[{"role":"assistant","content":[{"type":"text","text":"Hello world"}]}],"messageId":"qN3uH4EBHSWh7ar1","isFinal":true}"#
    );
    // A final handover with pending tool calls is NOT reshaped (finish reason was not tool-calls).
    let with_call = format!(r#"[{{"role":"assistant","content":[{CALL_1}]}}]"#);
    let body = String::from_utf8(handover_body(with_call.as_bytes(), "m", true).unwrap()).unwrap();
    assert!(body.contains(&with_call) && !body.contains("approval"));
  }

  #[test]
  fn bad_input_is_an_error_not_a_panic() {
    for bad in ["", "{}", "[", "null", "\"x\""] {
      let err = reshape_for_handover_resume(bad.as_bytes()).unwrap_err();
      assert_eq!(err.status, 500);
      assert!(
        err
          .message
          .starts_with("response messages must be a JSON array"),
        "{bad}: {err}"
      );
      assert!(handover_body(bad.as_bytes(), "m", true).is_err());
    }
    assert_eq!(HANDOVER_SKIP_BODY, br#"{"kind":"handover-skip"}"#);
  }

  #[test]
  fn truthiness() {
    let t = |s: &str| raw_truthy(&serde_json::from_str::<Box<RawValue>>(s).unwrap());
    assert!(t("\"a\"") && t("1") && t("-0.5") && t("true") && t("{}") && t("[]"));
    assert!(!t("\"\"") && !t("0") && !t("-0") && !t("0.0") && !t("false") && !t("null"));
  }
}
