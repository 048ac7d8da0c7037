//! The browser's head-start POST (protocol.md §1) and the bodies built from it: the
//! createSession body (§2.3, byte-compatible with the reference's `JSON.stringify`), the
//! handover / handover-skip chunks (§4.2) and `reshapeForHandoverResume` (§8.4).

use super::raw::{raw, raw_str, RawObject};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Default cap on the request body (improvement 6).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// A rejected request: HTTP status + the `error` text of the JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
  pub status: u16,
  pub message: String,
}

impl RequestError {
  fn new(status: u16, message: impl Into<String>) -> Self {
    RequestError {
      status,
      message: message.into(),
    }
  }
  /// `{"error":"…"}`
  pub fn body(&self) -> String {
    format!(
      "{{\"error\":{}}}",
      serde_json::to_string(&self.message).expect("string serializes")
    )
  }
}

#[derive(Debug)]
pub struct HeadStartRequest {
  pub chat_id: String,
  /// The whole browser body, in order (it becomes the basePayload).
  pub wire_payload: RawObject,
  /// Raw JSON of `headStartMessages` (`[]` when absent or null).
  pub messages_json: String,
}

/// Whether a `Content-Type` value is JSON (`application/json`, `…+json`, with parameters).
fn is_json_content_type(ct: &str) -> bool {
  let essence = ct
    .split(';')
    .next()
    .unwrap_or("")
    .trim()
    .to_ascii_lowercase();
  essence == "application/json"
    || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Validates and parses the head-start POST (improvement 6: 405/415/413/400, never a 500).
pub fn parse_head_start_request(
  method: &str,
  content_type: Option<&str>,
  body: &[u8],
  max_body_bytes: usize,
) -> Result<HeadStartRequest, RequestError> {
  if !method.eq_ignore_ascii_case("POST") {
    return Err(RequestError::new(
      405,
      format!("method {method} is not allowed; POST the chat's first message"),
    ));
  }
  if let Some(ct) = content_type.filter(|c| !c.trim().is_empty()) {
    if !is_json_content_type(ct) {
      return Err(RequestError::new(
        415,
        format!("content type {ct:?} is not JSON; send application/json"),
      ));
    }
  }
  if body.len() > max_body_bytes {
    return Err(RequestError::new(
      413,
      format!("request body exceeds the {max_body_bytes}-byte limit"),
    ));
  }
  let wire_payload: RawObject = serde_json::from_slice(body)
    .map_err(|e| RequestError::new(400, format!("request body is not a JSON object: {e}")))?;
  let chat_id = match wire_payload.get("chatId") {
    None => return Err(RequestError::new(400, "request body is missing `chatId`")),
    Some(raw) => match serde_json::from_str::<String>(raw.get()) {
      Ok(s) => s,
      Err(_) => return Err(RequestError::new(400, "`chatId` must be a string")),
    },
  };
  validate_chat_id(&chat_id)?;
  let messages_json = match wire_payload.get("headStartMessages") {
    None => "[]".to_string(),
    Some(raw) if raw.get() == "null" => "[]".to_string(),
    Some(raw) if raw.get().trim_start().starts_with('[') => raw.get().to_string(),
    Some(_) => {
      return Err(RequestError::new(
        400,
        "`headStartMessages` must be an array of UI messages",
      ))
    }
  };
  Ok(HeadStartRequest {
    chat_id,
    wire_payload,
    messages_json,
  })
}

pub fn validate_chat_id(chat_id: &str) -> Result<(), RequestError> {
  if chat_id.is_empty() {
    return Err(RequestError::new(400, "`chatId` must not be empty"));
  }
  if chat_id.chars().count() > 256 {
    return Err(RequestError::new(
      400,
      "`chatId` must be at most 256 characters",
    ));
  }
  if chat_id.chars().any(|c| c.is_control()) {
    return Err(RequestError::new(
      400,
      "`chatId` must not contain control characters",
    ));
  }
  if chat_id.starts_with("session_") {
    return Err(RequestError::new(
      400,
      "`chatId` must not start with `session_`",
    ));
  }
  Ok(())
}

/// Per-handler pieces of the createSession body, resolved once in JS with `JSON.stringify`
/// (so option values serialize exactly as the reference does).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionTemplate {
  pub agent_id: String,
  pub idle_timeout_in_seconds: u32,
  /// `triggerConfig.basePayload` option (defaults under the browser's body).
  #[serde(default)]
  pub base_payload_defaults: Option<RawObject>,
  /// `"machine":…,"queue":…,"concurrency":…,"concurrencyKey":…` (those set), no braces.
  #[serde(default)]
  pub before_tags: String,
  /// Customer run tags (`triggerConfig.tags`).
  #[serde(default)]
  pub run_tags: Vec<String>,
  /// `"maxAttempts":…,"maxDuration":…,"region":…,"lockToVersion":…,"ttl":…` (those set).
  #[serde(default)]
  pub after_tags: String,
  /// Resolved `externalDeploymentId` (appended last, as `withResolvedExternalDeploymentId` does).
  #[serde(default)]
  pub external_deployment_id: Option<String>,
  /// Session-level `tags` (top level), only when the option was given.
  #[serde(default)]
  pub session_tags: Option<Box<RawValue>>,
}

/// `chat:{chatId}` first when it is ≤ 128 UTF-16 units, then the customer's tags, max 10.
pub fn chat_run_tags(chat_id: &str, user: &[String]) -> Vec<String> {
  let chat_tag = format!("chat:{chat_id}");
  let mut tags = Vec::with_capacity(user.len() + 1);
  if chat_tag.encode_utf16().count() <= 128 {
    tags.push(chat_tag);
  }
  tags.extend(user.iter().cloned());
  tags.truncate(10);
  tags
}

/// The createSession body (§2.3).
pub fn create_session_body(t: &SessionTemplate, chat_id: &str, wire_payload: &RawObject) -> String {
  let mut base = RawObject::default();
  if let Some(defaults) = &t.base_payload_defaults {
    for (k, v) in &defaults.0 {
      base.set(k, v.clone());
    }
  }
  for (k, v) in &wire_payload.0 {
    base.set(k, v.clone());
  }
  base.set("chatId", raw_str(chat_id));
  base.set("trigger", raw_str("handover-prepare"));
  base.set(
    "idleTimeoutInSeconds",
    raw(t.idle_timeout_in_seconds.to_string()),
  );

  let js = |s: &str| serde_json::to_string(s).expect("string serializes");
  let mut out = String::with_capacity(
    256
      + wire_payload
        .0
        .iter()
        .map(|(k, v)| k.len() + v.get().len() + 4)
        .sum::<usize>(),
  );
  out.push_str("{\"type\":\"chat.agent\",\"externalId\":");
  out.push_str(&js(chat_id));
  out.push_str(",\"taskIdentifier\":");
  out.push_str(&js(&t.agent_id));
  out.push_str(",\"triggerConfig\":{\"basePayload\":");
  base.write_json(&mut out);
  if !t.before_tags.is_empty() {
    out.push(',');
    out.push_str(&t.before_tags);
  }
  out.push_str(",\"tags\":");
  out.push_str(
    &serde_json::to_string(&chat_run_tags(chat_id, &t.run_tags)).expect("strings serialize"),
  );
  if !t.after_tags.is_empty() {
    out.push(',');
    out.push_str(&t.after_tags);
  }
  out.push_str(",\"idleTimeoutInSeconds\":");
  out.push_str(&t.idle_timeout_in_seconds.to_string());
  if let Some(id) = &t.external_deployment_id {
    out.push_str(",\"externalDeploymentId\":");
    out.push_str(&js(id));
  }
  out.push('}');
  if let Some(tags) = &t.session_tags {
    out.push_str(",\"tags\":");
    out.push_str(tags.get());
  }
  out.push('}');
  out
}

/// `{"kind":"handover-skip"}` (§4.2).
pub const HANDOVER_SKIP_BODY: &str = "{\"kind\":\"handover-skip\"}";

/// The `handover` chunk (§4.2): `partial` is raw JSON of the (possibly reshaped) messages.
pub fn handover_body(partial: &str, message_id: &str, is_final: bool) -> String {
  format!(
    "{{\"kind\":\"handover\",\"partialAssistantMessage\":{partial},\"messageId\":{},\"isFinal\":{is_final}}}",
    serde_json::to_string(message_id).expect("string serializes")
  )
}

#[derive(Deserialize)]
struct PartPeek<'a> {
  #[serde(rename = "type", default, borrow)]
  kind: Option<std::borrow::Cow<'a, str>>,
  #[serde(rename = "toolCallId", default, borrow)]
  tool_call_id: Option<std::borrow::Cow<'a, str>>,
}

fn peek(part: &RawValue) -> (Option<String>, Option<String>) {
  match serde_json::from_str::<PartPeek>(part.get()) {
    Ok(p) => (
      p.kind.map(|c| c.into_owned()),
      p.tool_call_id.map(|c| c.into_owned()),
    ),
    Err(_) => (None, None),
  }
}

fn role_of(msg: &RawObject) -> Option<String> {
  msg
    .get("role")
    .and_then(|r| serde_json::from_str::<String>(r.get()).ok())
}

/// `reshapeForHandoverResume` (§8.4) over raw JSON: every pending `tool-call` gets a
/// `tool-approval-request` appended to its assistant message and one trailing `tool` message
/// approves them all, so the agent's `streamText` executes them before step 2. Unchanged
/// parts keep their exact bytes.
pub fn reshape_for_handover_resume(messages_json: &str) -> Result<String, String> {
  let messages: Vec<Box<RawValue>> = serde_json::from_str(messages_json)
    .map_err(|e| format!("response messages are not a JSON array: {e}"))?;
  let mut parsed: Vec<Option<RawObject>> = Vec::with_capacity(messages.len());
  let mut completed = std::collections::HashSet::new();
  for m in &messages {
    let obj = serde_json::from_str::<RawObject>(m.get()).ok();
    if let Some(o) = &obj {
      if role_of(o).as_deref() == Some("tool") {
        if let Some(parts) = o
          .get("content")
          .and_then(|c| serde_json::from_str::<Vec<Box<RawValue>>>(c.get()).ok())
        {
          for p in &parts {
            if let (Some(kind), Some(id)) = peek(p) {
              if kind == "tool-result" && !id.is_empty() {
                completed.insert(id);
              }
            }
          }
        }
      }
    }
    parsed.push(obj);
  }
  let mut out = String::with_capacity(messages_json.len() + 256);
  let mut responses = Vec::new();
  let mut counter = 0usize;
  out.push('[');
  for (i, (m, obj)) in messages.iter().zip(parsed.iter_mut()).enumerate() {
    if i > 0 {
      out.push(',');
    }
    let Some(obj) = obj
      .as_mut()
      .filter(|o| role_of(o).as_deref() == Some("assistant"))
    else {
      out.push_str(m.get());
      continue;
    };
    let Some(parts) = obj
      .get("content")
      .and_then(|c| serde_json::from_str::<Vec<Box<RawValue>>>(c.get()).ok())
    else {
      out.push_str(m.get());
      continue;
    };
    let mut content = String::from("[");
    for (j, p) in parts.iter().enumerate() {
      if j > 0 {
        content.push(',');
      }
      content.push_str(p.get());
    }
    let mut added = false;
    for p in &parts {
      if let (Some(kind), Some(id)) = peek(p) {
        if kind == "tool-call" && !id.is_empty() && !completed.contains(&id) {
          counter += 1;
          let approval_id = format!("handover-approval-{counter}");
          if content.len() > 1 {
            content.push(',');
          }
          content.push_str(&format!(
            "{{\"type\":\"tool-approval-request\",\"approvalId\":\"{approval_id}\",\"toolCallId\":{}}}",
            serde_json::to_string(&id).expect("string serializes")
          ));
          responses.push(format!("{{\"type\":\"tool-approval-response\",\"approvalId\":\"{approval_id}\",\"approved\":true}}"));
          added = true;
        }
      }
    }
    content.push(']');
    if added {
      obj.set("content", raw(content));
      obj.write_json(&mut out);
    } else {
      out.push_str(m.get());
    }
  }
  if !responses.is_empty() {
    if !messages.is_empty() {
      out.push(',');
    }
    out.push_str("{\"role\":\"tool\",\"content\":[");
    out.push_str(&responses.join(","));
    out.push_str("]}");
  }
  out.push(']');
  Ok(out)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn parse(body: &str) -> Result<HeadStartRequest, RequestError> {
    parse_head_start_request(
      "POST",
      Some("application/json"),
      body.as_bytes(),
      DEFAULT_MAX_BODY_BYTES,
    )
  }

  #[test]
  fn rejects_bad_requests_with_the_right_status() {
    assert_eq!(
      parse_head_start_request("GET", None, b"{}", 10)
        .unwrap_err()
        .status,
      405
    );
    assert_eq!(
      parse_head_start_request("POST", Some("text/plain"), b"{}", 10)
        .unwrap_err()
        .status,
      415
    );
    assert!(parse_head_start_request(
      "POST",
      Some("application/json; charset=utf-8"),
      br#"{"chatId":"c"}"#,
      100
    )
    .is_ok());
    assert!(parse_head_start_request(
      "POST",
      Some("application/vnd.x+json"),
      br#"{"chatId":"c"}"#,
      100
    )
    .is_ok());
    assert!(parse_head_start_request("POST", None, br#"{"chatId":"c"}"#, 100).is_ok());
    assert_eq!(
      parse_head_start_request("POST", None, &[b' '; 11], 10)
        .unwrap_err()
        .status,
      413
    );
    for bad in [
      "nope",
      "[]",
      "{}",
      r#"{"chatId":""}"#,
      r#"{"chatId":5}"#,
      r#"{"chatId":"session_abc"}"#,
      r#"{"chatId":"a\nb"}"#,
      r#"{"chatId":"c","headStartMessages":{}}"#,
      r#"{"chatId":"c","headStartMessages":"x"}"#,
    ] {
      let e = parse(bad).unwrap_err();
      assert_eq!(e.status, 400, "{bad}: {e:?}");
      assert!(e.body().starts_with("{\"error\":\""));
    }
    let long = format!(r#"{{"chatId":"{}"}}"#, "x".repeat(257));
    assert_eq!(parse(&long).unwrap_err().status, 400);
    let ok = format!(r#"{{"chatId":"{}"}}"#, "x".repeat(256));
    assert!(parse(&ok).is_ok());
  }

  #[test]
  fn create_session_body_matches_the_reference_bytes() {
    // protocol.md §2.3 observed body.
    let req = parse(
      r#"{"extra":1,"headStartMessages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"Weather in Paris?"}]}],"chatId":"chat-1","trigger":"submit-message","metadata":{"userId":"u-9"}}"#,
    )
    .unwrap();
    assert_eq!(req.chat_id, "chat-1");
    assert!(req.messages_json.starts_with("[{\"id\":\"u1\""));
    let t: SessionTemplate = serde_json::from_str(
      r#"{"agentId":"exp-agent","idleTimeoutInSeconds":20,"beforeTags":"\"machine\":\"small-1x\"","runTags":["t1"]}"#,
    )
    .unwrap();
    assert_eq!(
      create_session_body(&t, &req.chat_id, &req.wire_payload),
      r#"{"type":"chat.agent","externalId":"chat-1","taskIdentifier":"exp-agent","triggerConfig":{"basePayload":{"extra":1,"headStartMessages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"Weather in Paris?"}]}],"chatId":"chat-1","trigger":"handover-prepare","metadata":{"userId":"u-9"},"idleTimeoutInSeconds":20},"machine":"small-1x","tags":["chat:chat-1","t1"],"idleTimeoutInSeconds":20}}"#
    );
    let t2: SessionTemplate = serde_json::from_str(
      r#"{"agentId":"a","idleTimeoutInSeconds":60,"basePayloadDefaults":{"tenant":"x","chatId":"ignored"},"afterTags":"\"maxAttempts\":2","externalDeploymentId":"sha1","sessionTags":["s"]}"#,
    )
    .unwrap();
    let r2 = parse(r#"{"chatId":"c"}"#).unwrap();
    assert_eq!(
      create_session_body(&t2, &r2.chat_id, &r2.wire_payload),
      r#"{"type":"chat.agent","externalId":"c","taskIdentifier":"a","triggerConfig":{"basePayload":{"tenant":"x","chatId":"c","trigger":"handover-prepare","idleTimeoutInSeconds":60},"tags":["chat:c"],"maxAttempts":2,"idleTimeoutInSeconds":60,"externalDeploymentId":"sha1"},"tags":["s"]}"#
    );
  }

  #[test]
  fn run_tags_cap_and_long_chat_ids() {
    let user: Vec<String> = (0..12).map(|i| format!("t{i}")).collect();
    let tags = chat_run_tags("c", &user);
    assert_eq!(tags.len(), 10);
    assert_eq!(tags[0], "chat:c");
    let long = "x".repeat(124);
    assert_eq!(chat_run_tags(&long, &[]), Vec::<String>::new());
    assert_eq!(chat_run_tags(&"x".repeat(123), &[]).len(), 1);
  }

  #[test]
  fn reshape_matches_the_reference_for_two_calls() {
    let input = r#"[{"role":"assistant","content":[{"type":"tool-call","toolCallId":"call_1","toolName":"getWeather","input":{"city":"Paris"}},{"type":"tool-call","toolCallId":"call_2","toolName":"getWeather","input":{"city":"Rome"}}]}]"#;
    assert_eq!(
      reshape_for_handover_resume(input).unwrap(),
      r#"[{"role":"assistant","content":[{"type":"tool-call","toolCallId":"call_1","toolName":"getWeather","input":{"city":"Paris"}},{"type":"tool-call","toolCallId":"call_2","toolName":"getWeather","input":{"city":"Rome"}},{"type":"tool-approval-request","approvalId":"handover-approval-1","toolCallId":"call_1"},{"type":"tool-approval-request","approvalId":"handover-approval-2","toolCallId":"call_2"}]},{"role":"tool","content":[{"type":"tool-approval-response","approvalId":"handover-approval-1","approved":true},{"type":"tool-approval-response","approvalId":"handover-approval-2","approved":true}]}]"#
    );
  }

  #[test]
  fn reshape_leaves_completed_calls_and_text_alone() {
    let input = r#"[{"role":"assistant","content":[{"type":"text","text":"x"},{"type":"tool-call","toolCallId":"a","toolName":"t","input":{}}]},{"role":"tool","content":[{"type":"tool-result","toolCallId":"a","toolName":"t","output":{"type":"json","value":1}}]}]"#;
    assert_eq!(reshape_for_handover_resume(input).unwrap(), input);
    let text = r#"[{"role":"assistant","content":"plain"}]"#;
    assert_eq!(reshape_for_handover_resume(text).unwrap(), text);
    assert_eq!(reshape_for_handover_resume("[]").unwrap(), "[]");
    assert!(reshape_for_handover_resume("{}").is_err());
  }

  #[test]
  fn handover_bodies() {
    assert_eq!(
      handover_body("[]", "M1", true),
      r#"{"kind":"handover","partialAssistantMessage":[],"messageId":"M1","isFinal":true}"#
    );
    assert_eq!(HANDOVER_SKIP_BODY, r#"{"kind":"handover-skip"}"#);
  }
}
