//! The `session.in` records that end the handler's step 1 (docs/protocol.md §4.2) and the reshape of
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

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::jsjson::write_js_string;
use super::{WireError, JSON_WHITESPACE};

/// `{"kind":"handover-skip"}`: tells the agent to exit without running the turn.
pub const HANDOVER_SKIP_BODY: &[u8] = br#"{"kind":"handover-skip"}"#;

/// Prefix of the synthesized approval ids: `handover-approval-1`, `-2`, ….
pub const APPROVAL_ID_PREFIX: &str = "handover-approval-";

fn internal(message: impl Into<String>) -> WireError {
  WireError::new(500, message)
}

/// Whether raw JSON `raw` is the string `expected`.
fn raw_is_str(raw: &RawValue, expected: &str) -> bool {
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

/// JavaScript truthiness of a raw JSON value.
fn raw_truthy(raw: &RawValue) -> bool {
  match raw.get().as_bytes().first() {
    Some(b'"') => raw.get().len() > 2,
    Some(b'n' | b'f') => false,
    Some(b't' | b'{' | b'[') => true,
    _ => raw.get().parse::<f64>().is_ok_and(|n| n != 0.0),
  }
}

/// What the reshape needs from one JSON value of the messages array or of a `content` array:
/// `role`/`type`, `content`/`toolCallId` as raw JSON (last occurrence wins, like `JSON.parse`).
/// Anything that is not an object yields empty fields. One serde pass, no allocation per key.
#[derive(Default)]
struct Fields<'a> {
  /// `role` of a message, `type` of a part.
  kind: Option<&'a RawValue>,
  /// `content` of a message, `toolCallId` of a part.
  payload: Option<&'a RawValue>,
}

struct FieldsSeed {
  kind_key: &'static str,
  payload_key: &'static str,
}

impl<'de> DeserializeSeed<'de> for FieldsSeed {
  type Value = Fields<'de>;

  fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
    deserializer.deserialize_any(FieldsVisitor(self))
  }
}

struct FieldsVisitor(FieldsSeed);

/// Which of the two wanted keys a map key is, decided without allocating (escaped keys included).
struct KeySeed<'s>(&'s FieldsSeed);

enum Key {
  Kind,
  Payload,
  Other,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
  type Value = Key;

  fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
    deserializer.deserialize_str(self)
  }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
  type Value = Key;

  fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
    f.write_str("an object key")
  }

  fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
    Ok(if key == self.0.kind_key {
      Key::Kind
    } else if key == self.0.payload_key {
      Key::Payload
    } else {
      Key::Other
    })
  }
}

impl<'de> Visitor<'de> for FieldsVisitor {
  type Value = Fields<'de>;

  fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
    f.write_str("any JSON value")
  }

  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
    let mut fields = Fields::default();
    while let Some(key) = map.next_key_seed(KeySeed(&self.0))? {
      match key {
        Key::Kind => fields.kind = Some(map.next_value()?),
        Key::Payload => fields.payload = Some(map.next_value()?),
        Key::Other => {
          map.next_value::<IgnoredAny>()?;
        }
      }
    }
    Ok(fields)
  }

  fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(Fields::default())
  }

  fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
    Ok(Fields::default())
  }
  fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
    Ok(Fields::default())
  }
  fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
    Ok(Fields::default())
  }
  fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
    Ok(Fields::default())
  }
  fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
    Ok(Fields::default())
  }
  fn visit_unit<E>(self) -> Result<Self::Value, E> {
    Ok(Fields::default())
  }
}

/// A JSON array whose elements are read with `seed` (all of them, in order).
struct ArraySeed {
  kind_key: &'static str,
  payload_key: &'static str,
}

impl<'de> DeserializeSeed<'de> for ArraySeed {
  type Value = Vec<Fields<'de>>;

  fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
    deserializer.deserialize_seq(self)
  }
}

impl<'de> Visitor<'de> for ArraySeed {
  type Value = Vec<Fields<'de>>;

  fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
    f.write_str("a JSON array")
  }

  fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
    let mut items = Vec::new();
    while let Some(item) = seq.next_element_seed(FieldsSeed {
      kind_key: self.kind_key,
      payload_key: self.payload_key,
    })? {
      items.push(item);
    }
    Ok(items)
  }
}

fn read_array<'a>(
  text: &'a str,
  kind_key: &'static str,
  payload_key: &'static str,
) -> Result<Vec<Fields<'a>>, serde_json::Error> {
  let mut deserializer = serde_json::Deserializer::from_str(text);
  let items = ArraySeed {
    kind_key,
    payload_key,
  }
  .deserialize(&mut deserializer)?;
  deserializer.end()?;
  Ok(items)
}

/// `(type, toolCallId)` of each part of a `content` array; `None` when `content` is not an array.
fn parts_of<'a>(content: Option<&'a RawValue>) -> Option<Vec<Fields<'a>>> {
  let content = content.filter(|c| c.get().starts_with('['))?;
  read_array(content.get(), "type", "toolCallId").ok()
}

fn messages_of(json: &[u8]) -> Result<(&str, Vec<Fields<'_>>), WireError> {
  let text = std::str::from_utf8(json)
    .map_err(|e| internal(format!("response messages must be a JSON array: {e}")))?;
  let messages = read_array(text, "role", "content")
    .map_err(|e| internal(format!("response messages must be a JSON array: {e}")))?;
  Ok((text, messages))
}

/// §8.4: for every assistant `tool-call` without a matching `tool-result`, append a
/// `tool-approval-request` to that assistant message's content, and append one `role:"tool"`
/// message approving them all (it must stay last: the AI SDK only scans the last message).
pub fn reshape_for_handover_resume(response_messages_json: &[u8]) -> Result<Vec<u8>, WireError> {
  let (text, messages) = messages_of(response_messages_json)?;
  let mut out = Vec::with_capacity(text.len() + 256);
  reshape_into(&mut out, text, &messages);
  Ok(out)
}

/// Writes the reshaped array. The output is the input text with insertions: approval requests
/// just before the closing bracket of each affected `content`, and the approving tool message
/// before the closing bracket of the array; every original byte is kept.
fn reshape_into(out: &mut Vec<u8>, text: &str, messages: &[Fields<'_>]) {
  // Pass 1: tool calls that already have a result.
  let mut completed: HashSet<&str> = HashSet::new();
  for message in messages {
    if message.kind.is_some_and(|r| raw_is_str(r, "tool")) {
      for part in parts_of(message.payload).unwrap_or_default() {
        if part.kind.is_some_and(|k| raw_is_str(k, "tool-result")) {
          if let Some(id) = part.payload.filter(|id| raw_truthy(id)) {
            completed.insert(id.get());
          }
        }
      }
    }
  }

  // Pass 2: insertion points (offset of an assistant content's closing bracket) and call ids.
  let mut insertions: Vec<(usize, bool, Vec<&RawValue>)> = Vec::new();
  for message in messages {
    if !message.kind.is_some_and(|r| raw_is_str(r, "assistant")) {
      continue;
    }
    let Some(content) = message.payload else {
      continue;
    };
    let Some(parts) = parts_of(Some(content)) else {
      continue;
    };
    let pending: Vec<&RawValue> = parts
      .iter()
      .filter(|p| p.kind.is_some_and(|k| raw_is_str(k, "tool-call")))
      .filter_map(|p| {
        p.payload
          .filter(|id| raw_truthy(id) && !completed.contains(id.get()))
      })
      .collect();
    if !pending.is_empty() {
      // `content` borrows from `text`: its closing bracket's offset in the input.
      let close =
        content.get().as_ptr() as usize - text.as_ptr() as usize + content.get().len() - 1;
      insertions.push((close, !parts.is_empty(), pending));
    }
  }
  let trimmed = text.trim_end_matches(JSON_WHITESPACE);
  if insertions.is_empty() {
    // Nothing to approve: the reference's copy serializes to the same text.
    out.extend_from_slice(trimmed.trim_start_matches(JSON_WHITESPACE).as_bytes());
    return;
  }

  let bytes = text.as_bytes();
  let start = text.len() - text.trim_start_matches(JSON_WHITESPACE).len();
  let mut copied = start;
  let mut approval_number = 0usize;
  for (close, has_parts, pending) in &insertions {
    out.extend_from_slice(&bytes[copied..*close]);
    copied = *close;
    for (n, id) in pending.iter().enumerate() {
      if n > 0 || *has_parts {
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
  }
  // The array's own closing bracket is the last byte of the trimmed text.
  let array_close = trimmed.len() - 1;
  out.extend_from_slice(&bytes[copied..array_close]);
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
}

/// The `handover` record: `{"kind":"handover","partialAssistantMessage":…,"messageId":…,"isFinal":…}`.
/// `is_final == false` (finish reason `tool-calls`) ⇒ the reshaped messages; otherwise the raw
/// step-1 messages.
pub fn handover_body(
  response_messages_json: &[u8],
  message_id: &str,
  is_final: bool,
) -> Result<Vec<u8>, WireError> {
  let (text, messages) = messages_of(response_messages_json)?;
  let mut out = Vec::with_capacity(text.len() + 128 + message_id.len());
  out.extend_from_slice(br#"{"kind":"handover","partialAssistantMessage":"#);
  if is_final {
    out.extend_from_slice(text.trim_matches(JSON_WHITESPACE).as_bytes());
  } else {
    reshape_into(&mut out, text, &messages);
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
  fn pretty_printed_input_is_spliced_into_valid_json() {
    let json = format!(
      "  [\n  {{ \"role\" : \"assistant\", \"content\" : [ {CALL_1} , {CALL_2}\n ] }} ,\n 1 ]\n"
    );
    let got = reshape(&json);
    let value: serde_json::Value = serde_json::from_str(&got).unwrap();
    let compact = reshape(
      &serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&json).unwrap()).unwrap(),
    );
    assert_eq!(
      value,
      serde_json::from_str::<serde_json::Value>(&compact).unwrap()
    );
    assert_eq!(value[2]["content"][1]["approvalId"], "handover-approval-2");
    assert_eq!(value[0]["content"][3]["toolCallId"], "call_2");
  }

  #[test]
  fn escaped_keys_and_repeated_keys_follow_json_parse() {
    // `\u0072ole` is `role`; the last `content` wins.
    let json = format!(r#"[{{"\u0072ole":"assistant","content":[],"content":[{CALL_1}]}}]"#);
    let got = reshape(&json);
    assert!(got.contains(r#""toolCallId":"call_1"}]}"#), "{got}");
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
