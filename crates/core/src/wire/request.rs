//! The browser's head-start POST (docs/protocol.md §1.1), validated (docs/protocol.md §1.2).
//!
//! The reference accepts any JSON with a truthy `chatId` and answers everything else with a 500.
//! Here every bad input gets a precise 4xx and no session is created. What is accepted is kept
//! as the reference keeps it: the whole top-level object, key order and unknown keys included,
//! because it becomes `triggerConfig.basePayload` of the create-session call.

use std::borrow::Cow;

use indexmap::IndexMap;
use serde_json::value::RawValue;

use super::{json_type_name, WireError, JSON_WHITESPACE};

/// Longest accepted `chatId`, in UTF-16 code units (what the API's `externalId` schema counts).
pub const MAX_CHAT_ID_LENGTH: usize = 256;
/// Prefix the API reserves for its own session ids; an `externalId` may not start with it.
pub const RESERVED_CHAT_ID_PREFIX: &str = "session_";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
  /// Largest accepted request body; larger bodies get 413. Default 1 MiB.
  pub max_body_bytes: usize,
}

impl Default for RequestLimits {
  fn default() -> Self {
    Self {
      max_body_bytes: 1024 * 1024,
    }
  }
}

impl RequestLimits {
  /// The 413 check alone, so an HTTP layer can reject on `Content-Length` (or while buffering)
  /// before reading the whole body.
  pub fn check_body_length(&self, length: usize) -> Result<(), WireError> {
    if length > self.max_body_bytes {
      return Err(WireError::new(
        413,
        format!(
          "request body is {length} bytes; the limit is {} bytes",
          self.max_body_bytes
        ),
      ));
    }
    Ok(())
  }
}

/// A validated head-start request: the `chatId` and the full body (`wirePayload`), top-level
/// keys in JavaScript order with their raw JSON values.
#[derive(Debug, Clone)]
pub struct HeadStartRequest {
  chat_id: String,
  /// Top-level entries as `JSON.parse` would hold them: a repeated key keeps its first position
  /// and its last value. Values are the raw JSON text from the request.
  entries: IndexMap<String, Box<RawValue>>,
}

const EMPTY_MESSAGES: &str = "[]";

impl HeadStartRequest {
  pub fn chat_id(&self) -> &str {
    &self.chat_id
  }

  /// `headStartMessages` as raw JSON text: a non-empty array (checked when the request was built).
  pub fn head_start_messages_json(&self) -> &str {
    self
      .entries
      .get("headStartMessages")
      .map_or(EMPTY_MESSAGES, |raw| raw.get())
  }

  /// A body as parsed but not validated: for unit tests of what is built from the entries
  /// (the createSession body), independent of the request rules.
  #[cfg(test)]
  pub(crate) fn unvalidated(body: &str) -> Self {
    let entries: IndexMap<String, Box<RawValue>> =
      serde_json::from_str(body).expect("a JSON object");
    let chat_id = serde_json::from_str(entries["chatId"].get()).expect("a string chatId");
    HeadStartRequest { chat_id, entries }
  }

  /// A top-level value of the body, as raw JSON text.
  pub fn get(&self, key: &str) -> Option<&RawValue> {
    self.entries.get(key).map(|raw| &**raw)
  }

  /// Every top-level `(key, raw JSON value)` in the order the reference would spread them.
  pub fn entries(&self) -> impl Iterator<Item = (&str, &RawValue)> {
    self.entries.iter().map(|(k, v)| (k.as_str(), &**v))
  }

  /// The request `chat.startHeadStart` builds from server-side arguments:
  /// `{chatId, trigger: "handover-prepare", headStartMessages: messages, metadata?}`.
  /// `messages_json` / `metadata_json` are `JSON.stringify` output.
  pub fn detached(
    chat_id: &str,
    messages_json: &[u8],
    metadata_json: Option<&[u8]>,
  ) -> Result<Self, WireError> {
    validate_chat_id(chat_id)?;
    let parse = |name: &str, bytes: &[u8]| -> Result<Box<RawValue>, WireError> {
      let text = std::str::from_utf8(bytes)
        .map_err(|e| WireError::bad_request(format!("`{name}` is not UTF-8: {e}")))?;
      serde_json::from_str::<Box<RawValue>>(text)
        .map_err(|e| WireError::bad_request(format!("`{name}` is not valid JSON: {e}")))
    };
    let messages = parse("messages", messages_json)?;
    require_message_array("messages", messages.get())?;
    let mut entries = IndexMap::with_capacity(4);
    entries.insert("chatId".to_owned(), string_raw(chat_id));
    entries.insert("trigger".to_owned(), string_raw("handover-prepare"));
    entries.insert("headStartMessages".to_owned(), messages);
    if let Some(metadata) = metadata_json {
      entries.insert("metadata".to_owned(), parse("metadata", metadata)?);
    }
    Ok(Self {
      chat_id: chat_id.to_owned(),
      entries,
    })
  }
}

fn string_raw(s: &str) -> Box<RawValue> {
  let mut out = Vec::with_capacity(s.len() + 2);
  super::jsjson::write_js_string(&mut out, s);
  RawValue::from_string(String::from_utf8(out).expect("escaped UTF-8 stays UTF-8"))
    .expect("a string literal is JSON")
}

/// Validates and parses the head-start POST. Checks run in this order: 405 (method), 415
/// (content type present and not JSON), 413 (size), then 400 (JSON, object, `chatId`,
/// `headStartMessages`). A 405 answer should carry `Allow: POST`.
pub fn parse_head_start_request(
  method: &str,
  content_type: Option<&str>,
  body: &[u8],
  limits: &RequestLimits,
) -> Result<HeadStartRequest, WireError> {
  if method != "POST" {
    return Err(WireError::new(
      405,
      format!("method {method} is not allowed; the head-start endpoint accepts POST"),
    ));
  }
  if let Some(content_type) = content_type {
    if !is_json_media_type(content_type) {
      return Err(WireError::new(
        415,
        format!(
          "content type \"{content_type}\" is not supported; send the body as application/json"
        ),
      ));
    }
  }
  limits.check_body_length(body.len())?;

  let text = decode_body_text(body);
  let entries: IndexMap<String, Box<RawValue>> = serde_json::from_str(&text).map_err(|e| {
    if e.classify() == serde_json::error::Category::Data {
      let kind = json_type_name(text.trim_start_matches(JSON_WHITESPACE));
      WireError::bad_request(format!("request body must be a JSON object, got {kind}"))
    } else if text.trim_matches(JSON_WHITESPACE).is_empty() {
      WireError::bad_request("request body is empty; expected a JSON object with a `chatId`")
    } else {
      WireError::bad_request(format!("request body is not valid JSON: {e}"))
    }
  })?;

  let chat_id = match entries.get("chatId") {
    None => return Err(WireError::bad_request("request body is missing `chatId`")),
    Some(raw) if !raw.get().starts_with('"') => {
      return Err(WireError::bad_request(format!(
        "`chatId` must be a string, got {}",
        json_type_name(raw.get())
      )))
    }
    Some(raw) => serde_json::from_str::<String>(raw.get())
      .map_err(|e| WireError::bad_request(format!("`chatId` is not a valid string: {e}")))?,
  };
  validate_chat_id(&chat_id)?;

  match entries.get("headStartMessages").map(|raw| raw.get()) {
    None | Some("null") => {
      // The reference reads these as `?? []` and goes on to create the session, boot the
      // agent and fail inside streamText ("messages must not be empty"): a wasted run.
      return Err(WireError::bad_request(
        "request body is missing `headStartMessages` (the new chat's UI messages, at least the user's first one)",
      ));
    }
    Some(text) => require_message_array("headStartMessages", text)?,
  }

  Ok(HeadStartRequest { chat_id, entries })
}

/// `name` (raw JSON) must be a non-empty array: step 1 has nothing to answer otherwise.
fn require_message_array(name: &str, text: &str) -> Result<(), WireError> {
  let Some(inner) = text.strip_prefix('[') else {
    return Err(WireError::bad_request(format!(
      "`{name}` must be an array of UI messages, got {}",
      json_type_name(text)
    )));
  };
  let elements = inner.strip_suffix(']').unwrap_or(inner);
  if elements.trim_matches(JSON_WHITESPACE).is_empty() {
    return Err(WireError::bad_request(format!(
      "`{name}` is empty; a head start needs the new chat's UI messages, at least the user's first one"
    )));
  }
  Ok(())
}

/// `Request.json()` decodes with the WHATWG UTF-8 decoder: a leading BOM is dropped and invalid
/// sequences become U+FFFD. Doing the same keeps such bodies accepted exactly as the reference does.
fn decode_body_text(body: &[u8]) -> Cow<'_, str> {
  let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
  String::from_utf8_lossy(body)
}

/// `application/json` or any `type/subtype+json`, parameters allowed, case-insensitive.
fn is_json_media_type(content_type: &str) -> bool {
  let essence = content_type.split(';').next().unwrap_or("").trim();
  let Some((kind, subtype)) = essence.split_once('/') else {
    return false;
  };
  let valid_token = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace);
  if !valid_token(kind) || !valid_token(subtype) {
    return false;
  }
  (kind.eq_ignore_ascii_case("application") && subtype.eq_ignore_ascii_case("json"))
    || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json")
}

/// The `chatId` rules: non-empty, ≤ 256 UTF-16 code units, no control characters, and not the
/// `session_` prefix the API reserves (it would be read as a session id, not an external id).
pub fn validate_chat_id(chat_id: &str) -> Result<(), WireError> {
  if chat_id.is_empty() {
    return Err(WireError::bad_request("`chatId` is empty"));
  }
  let length = chat_id.encode_utf16().count();
  if length > MAX_CHAT_ID_LENGTH {
    return Err(WireError::bad_request(format!(
      "`chatId` is {length} characters long; the limit is {MAX_CHAT_ID_LENGTH}"
    )));
  }
  if let Some((index, c)) = chat_id.chars().enumerate().find(|(_, c)| c.is_control()) {
    return Err(WireError::bad_request(format!(
      "`chatId` contains the control character U+{:04X} at position {index}",
      c as u32
    )));
  }
  if chat_id.starts_with(RESERVED_CHAT_ID_PREFIX) {
    return Err(WireError::bad_request(format!(
      "`chatId` must not start with \"{RESERVED_CHAT_ID_PREFIX}\" (reserved for Trigger.dev session ids)"
    )));
  }
  Ok(())
}

#[cfg(test)]
mod tests {
  use super::*;

  const BROWSER_BODY: &str = r#"{"extra":1,"headStartMessages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"Weather in Paris?"}]}],"chatId":"chat-1","trigger":"submit-message","metadata":{"userId":"u-9"}}"#;

  fn parse(body: &str) -> Result<HeadStartRequest, WireError> {
    parse_head_start_request(
      "POST",
      Some("application/json"),
      body.as_bytes(),
      &RequestLimits::default(),
    )
  }

  fn rejects(body: &str, status: u16, message: &str) {
    let err = parse(body).expect_err(body);
    assert_eq!(
      (err.status, err.message.as_str()),
      (status, message),
      "{body}"
    );
  }

  #[test]
  fn accepts_the_transport_body_and_keeps_it_whole() {
    let req = parse(BROWSER_BODY).unwrap();
    assert_eq!(req.chat_id(), "chat-1");
    assert_eq!(
      req.head_start_messages_json(),
      r#"[{"id":"u1","role":"user","parts":[{"type":"text","text":"Weather in Paris?"}]}]"#
    );
    let keys: Vec<&str> = req.entries().map(|(k, _)| k).collect();
    assert_eq!(
      keys,
      [
        "extra",
        "headStartMessages",
        "chatId",
        "trigger",
        "metadata"
      ]
    );
    assert_eq!(req.get("metadata").unwrap().get(), r#"{"userId":"u-9"}"#);
  }

  #[test]
  fn messages_must_be_present_and_non_empty() {
    let missing = "request body is missing `headStartMessages` (the new chat's UI messages, at least the user's first one)";
    rejects(r#"{"chatId":"c"}"#, 400, missing);
    rejects(r#"{"chatId":"c","headStartMessages":null}"#, 400, missing);
    let empty = "`headStartMessages` is empty; a head start needs the new chat's UI messages, at least the user's first one";
    rejects(r#"{"chatId":"c","headStartMessages":[]}"#, 400, empty);
    rejects(
      "{\"chatId\":\"c\",\"headStartMessages\":[ \n\t ]}",
      400,
      empty,
    );
    for ok in ["[{}]", "[[]]", "[ {} ]"] {
      let body = format!(r#"{{"chatId":"c","headStartMessages":{ok}}}"#);
      assert_eq!(parse(&body).unwrap().head_start_messages_json(), ok);
    }
  }

  #[test]
  fn method_must_be_post() {
    for method in ["GET", "PUT", "post", "OPTIONS"] {
      let err =
        parse_head_start_request(method, None, b"{}", &RequestLimits::default()).unwrap_err();
      assert_eq!(err.status, 405);
      assert_eq!(
        err.message,
        format!("method {method} is not allowed; the head-start endpoint accepts POST")
      );
    }
  }

  #[test]
  fn content_type_must_be_json_when_present() {
    let body = br#"{"chatId":"c","headStartMessages":[{}]}"#;
    let limits = RequestLimits::default();
    for ok in [
      None,
      Some("application/json"),
      Some("Application/JSON; charset=utf-8"),
      Some(" application/json ;charset=UTF-8"),
      Some("application/vnd.api+json"),
      Some("application/merge-patch+JSON"),
    ] {
      assert!(
        parse_head_start_request("POST", ok, body, &limits).is_ok(),
        "{ok:?}"
      );
    }
    for bad in [
      "text/plain",
      "text/plain;charset=UTF-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "json",
      "",
      "application/+json",
      "application/jsonp",
    ] {
      let err = parse_head_start_request("POST", Some(bad), body, &limits).unwrap_err();
      assert_eq!(err.status, 415, "{bad}");
      assert_eq!(
        err.message,
        format!("content type \"{bad}\" is not supported; send the body as application/json")
      );
    }
  }

  #[test]
  fn body_size_limit_is_inclusive() {
    let limits = RequestLimits { max_body_bytes: 44 };
    let fits = br#"{"chatId":"c","headStartMessages":[{}],"p":1}"#; // 45 bytes
    assert!(parse_head_start_request(
      "POST",
      None,
      &fits[..],
      &RequestLimits { max_body_bytes: 45 }
    )
    .is_ok());
    let err = parse_head_start_request("POST", None, &fits[..], &limits).unwrap_err();
    assert_eq!(
      (err.status, err.message.as_str()),
      (413, "request body is 45 bytes; the limit is 44 bytes")
    );
    assert_eq!(RequestLimits::default().max_body_bytes, 1_048_576);
  }

  #[test]
  fn order_of_checks_is_405_415_413_400() {
    let limits = RequestLimits { max_body_bytes: 1 };
    assert_eq!(
      parse_head_start_request("GET", Some("text/plain"), b"xx", &limits)
        .unwrap_err()
        .status,
      405
    );
    assert_eq!(
      parse_head_start_request("POST", Some("text/plain"), b"xx", &limits)
        .unwrap_err()
        .status,
      415
    );
    assert_eq!(
      parse_head_start_request("POST", None, b"xx", &limits)
        .unwrap_err()
        .status,
      413
    );
    assert_eq!(
      parse_head_start_request("POST", None, b"x", &limits)
        .unwrap_err()
        .status,
      400
    );
  }

  #[test]
  fn body_must_be_a_json_object() {
    rejects(
      "",
      400,
      "request body is empty; expected a JSON object with a `chatId`",
    );
    rejects(
      "  \n",
      400,
      "request body is empty; expected a JSON object with a `chatId`",
    );
    rejects(
      "{",
      400,
      "request body is not valid JSON: EOF while parsing an object at line 1 column 1",
    );
    rejects(
      "{\"chatId\":\"c\"} x",
      400,
      "request body is not valid JSON: trailing characters at line 1 column 16",
    );
    rejects(
      "chatId=c",
      400,
      "request body is not valid JSON: expected value at line 1 column 1",
    );
    rejects(
      "[1]",
      400,
      "request body must be a JSON object, got an array",
    );
    rejects(
      " \"s\"",
      400,
      "request body must be a JSON object, got a string",
    );
    rejects("null", 400, "request body must be a JSON object, got null");
    rejects(
      "12",
      400,
      "request body must be a JSON object, got a number",
    );
    rejects(
      "true",
      400,
      "request body must be a JSON object, got a boolean",
    );
  }

  #[test]
  fn chat_id_rules() {
    rejects("{}", 400, "request body is missing `chatId`");
    rejects(
      r#"{"chatId":1}"#,
      400,
      "`chatId` must be a string, got a number",
    );
    rejects(
      r#"{"chatId":null}"#,
      400,
      "`chatId` must be a string, got null",
    );
    rejects(
      r#"{"chatId":["a"]}"#,
      400,
      "`chatId` must be a string, got an array",
    );
    rejects(r#"{"chatId":""}"#, 400, "`chatId` is empty");
    rejects(
      r#"{"chatId":"a\nb"}"#,
      400,
      "`chatId` contains the control character U+000A at position 1",
    );
    rejects(
      r#"{"chatId":"ab\u0000"}"#,
      400,
      "`chatId` contains the control character U+0000 at position 2",
    );
    rejects(
      "{\"chatId\":\"é\u{85}\"}",
      400,
      "`chatId` contains the control character U+0085 at position 1",
    );
    rejects(
      r#"{"chatId":"x\u007f"}"#,
      400,
      "`chatId` contains the control character U+007F at position 1",
    );
    rejects(
      r#"{"chatId":"session_abc"}"#,
      400,
      "`chatId` must not start with \"session_\" (reserved for Trigger.dev session ids)",
    );
    let err = parse(r#"{"chatId":"\ud800"}"#).unwrap_err();
    assert_eq!(err.status, 400);
    assert!(
      err.message.starts_with("`chatId` is not a valid string: "),
      "{err}"
    );
    let max = "a".repeat(256);
    assert!(parse(&format!(
      r#"{{"chatId":"{max}","headStartMessages":[{{}}]}}"#
    ))
    .is_ok());
    rejects(
      &format!(r#"{{"chatId":"{max}b"}}"#),
      400,
      "`chatId` is 257 characters long; the limit is 256",
    );
    // Counted in UTF-16 code units like the API: 128 emoji = 256 units fit, 129 do not.
    assert!(parse(&format!(
      r#"{{"chatId":"{}","headStartMessages":[{{}}]}}"#,
      "😀".repeat(128)
    ))
    .is_ok());
    rejects(
      &format!(r#"{{"chatId":"{}"}}"#, "😀".repeat(129)),
      400,
      "`chatId` is 258 characters long; the limit is 256",
    );
    assert!(parse(r#"{"chatId":"Session_x","headStartMessages":[{}]}"#).is_ok());
    assert_eq!(
      parse(r#"{"chatId":"\u0063hat","headStartMessages":[{}]}"#)
        .unwrap()
        .chat_id(),
      "chat"
    );
  }

  #[test]
  fn head_start_messages_must_be_an_array() {
    rejects(
      r#"{"chatId":"c","headStartMessages":{}}"#,
      400,
      "`headStartMessages` must be an array of UI messages, got an object",
    );
    rejects(
      r#"{"chatId":"c","headStartMessages":"[]"}"#,
      400,
      "`headStartMessages` must be an array of UI messages, got a string",
    );
    rejects(
      r#"{"chatId":"c","headStartMessages":0}"#,
      400,
      "`headStartMessages` must be an array of UI messages, got a number",
    );
    rejects(
      r#"{"chatId":"c","headStartMessages":false}"#,
      400,
      "`headStartMessages` must be an array of UI messages, got a boolean",
    );
  }

  #[test]
  fn duplicate_keys_behave_like_json_parse() {
    let req =
      parse(r#"{"chatId":"first","a":1,"headStartMessages":[{}],"chatId":"second"}"#).unwrap();
    assert_eq!(req.chat_id(), "second");
    let keys: Vec<&str> = req.entries().map(|(k, _)| k).collect();
    assert_eq!(keys, ["chatId", "a", "headStartMessages"]);
  }

  #[test]
  fn bom_and_invalid_utf8_are_decoded_like_request_json() {
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(br#"{"chatId":"c","headStartMessages":[{}],"x":"a"#);
    body.push(0xff);
    body.extend_from_slice(br#""}"#);
    let req = parse_head_start_request("POST", None, &body, &RequestLimits::default()).unwrap();
    assert_eq!(req.get("x").unwrap().get(), "\"a\u{FFFD}\"");
  }

  #[test]
  fn detached_request_has_the_start_head_start_shape() {
    let req = HeadStartRequest::detached("c-1", b"[{}]", Some(br#"{"u":1}"#)).unwrap();
    let keys: Vec<(&str, &str)> = req.entries().map(|(k, v)| (k, v.get())).collect();
    assert_eq!(
      keys,
      [
        ("chatId", "\"c-1\""),
        ("trigger", "\"handover-prepare\""),
        ("headStartMessages", "[{}]"),
        ("metadata", r#"{"u":1}"#)
      ]
    );
    assert_eq!(
      HeadStartRequest::detached("c", b"{}", None)
        .unwrap_err()
        .message,
      "`messages` must be an array of UI messages, got an object"
    );
    assert_eq!(
      HeadStartRequest::detached("c", b"[]", None)
        .unwrap_err()
        .message,
      "`messages` is empty; a head start needs the new chat's UI messages, at least the user's first one"
    );
    assert_eq!(
      HeadStartRequest::detached("", b"[]", None)
        .unwrap_err()
        .message,
      "`chatId` is empty"
    );
    assert!(HeadStartRequest::detached("c", b"[", None)
      .unwrap_err()
      .message
      .starts_with("`messages` is not valid JSON"));
  }
}
