//! `POST /api/v1/sessions` (validate as `CreateSessionRequestBody`, upsert by externalId,
//! trigger the agent run), retrieve and close.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::{should_retry, Ctx, Principal};
use crate::http::{api_error, json, Resp};
use crate::sessions::{NewSession, Upsert};

const MACHINES: &[&str] = &[
  "micro",
  "small-1x",
  "small-2x",
  "medium-1x",
  "medium-2x",
  "large-1x",
  "large-2x",
];

pub async fn create(ctx: Ctx) -> Resp {
  // Creating sessions (and triggering runs) takes the environment's secret key.
  match ctx.authenticate() {
    Ok(Principal::SecretKey) => {}
    Ok(Principal::PublicToken) => return api_error(401, "Invalid or Missing API key"),
    Err(resp) => return resp,
  }
  let fault = ctx.state.faults.take_create_session();
  if let Some(fault) = &fault {
    if fault.delay_ms > 0 {
      tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
    }
    if let Some(status) = fault.status {
      let message = fault
        .message
        .clone()
        .unwrap_or_else(|| "Injected createSession failure".into());
      let mut resp = api_error(status, &message);
      should_retry(&mut resp, fault.should_retry);
      return resp;
    }
  }
  let body: Value = match serde_json::from_slice(&ctx.body) {
    Ok(v) => v,
    Err(e) => return api_error(400, &format!("Invalid JSON body: {e}")),
  };
  let new = match validate_create_session(&body) {
    Ok(new) => new,
    Err(message) => return api_error(400, &message),
  };
  let state = &ctx.state;
  let pending_version = fault.as_ref().is_some_and(|f| f.pending_version);
  match state.sessions.upsert(new) {
    Upsert::Created(session) => {
      let token = state.sessions.mint_token(&session);
      crate::agent::start_for_new_session(state.clone(), session.clone());
      json(201, &session.to_json(Some(&token), false, pending_version))
    }
    Upsert::Existing(session) => {
      if session.closed_reason().is_some() {
        let mut resp = api_error(409, "Session is closed");
        should_retry(&mut resp, Some(false));
        return resp;
      }
      // The cached path triggers no new run while one is alive.
      let payload = body
        .pointer("/triggerConfig/basePayload")
        .cloned()
        .unwrap_or(Value::Null);
      crate::agent::start_for_cached_session(state.clone(), session.clone(), &payload);
      let token = state.sessions.mint_token(&session);
      json(200, &session.to_json(Some(&token), true, pending_version))
    }
  }
}

pub fn retrieve(ctx: Ctx, id: &str) -> Resp {
  if let Err(resp) = ctx.authenticate() {
    return resp;
  }
  let Some(session) = ctx.state.sessions.resolve(id) else {
    return api_error(404, "Session not found");
  };
  if let Err(resp) = ctx.authorize(&session) {
    return resp;
  }
  json(200, &session.to_json(None, false, false))
}

pub fn close(ctx: Ctx, id: &str) -> Resp {
  if let Err(resp) = ctx.authenticate() {
    return resp;
  }
  let Some(session) = ctx.state.sessions.resolve(id) else {
    return api_error(404, "Session not found");
  };
  if let Err(resp) = ctx.authorize(&session) {
    return resp;
  }
  let reason = serde_json::from_slice::<Value>(&ctx.body)
    .ok()
    .and_then(|v| v.get("reason").and_then(Value::as_str).map(str::to_owned));
  session.close(reason);
  json(200, &session.to_json(None, false, false))
}

fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
  obj.get(key).filter(|v| !v.is_null())
}

fn string_len(
  obj: &Map<String, Value>,
  key: &str,
  min: usize,
  max: usize,
  required: bool,
) -> Result<Option<String>, String> {
  match field(obj, key) {
    None if required => Err(format!("{key}: Required")),
    None => Ok(None),
    Some(Value::String(s)) => {
      let n = s.chars().count();
      if n < min {
        Err(format!(
          "{key}: String must contain at least {min} character(s)"
        ))
      } else if n > max {
        Err(format!(
          "{key}: String must contain at most {max} character(s)"
        ))
      } else {
        Ok(Some(s.clone()))
      }
    }
    Some(_) => Err(format!("{key}: Expected string")),
  }
}

fn int_range(obj: &Map<String, Value>, key: &str, min: i64, max: i64) -> Result<(), String> {
  match field(obj, key) {
    None => Ok(()),
    Some(v) => match v
      .as_i64()
      .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
    {
      Some(n) if n >= min && n <= max => Ok(()),
      Some(_) => Err(format!("{key}: Number must be between {min} and {max}")),
      None => Err(format!("{key}: Expected integer")),
    },
  }
}

fn tags(obj: &Map<String, Value>, key: &str, prefix: &str) -> Result<(), String> {
  match field(obj, key) {
    None => Ok(()),
    Some(Value::Array(items)) => {
      if items.len() > 10 {
        return Err(format!(
          "{prefix}{key}: Array must contain at most 10 element(s)"
        ));
      }
      for item in items {
        match item.as_str() {
          Some(s) if s.chars().count() <= 128 => {}
          Some(_) => {
            return Err(format!(
              "{prefix}{key}: String must contain at most 128 character(s)"
            ))
          }
          None => return Err(format!("{prefix}{key}: Expected string")),
        }
      }
      Ok(())
    }
    Some(Value::String(s)) if s.chars().count() <= 128 => Ok(()),
    Some(_) => Err(format!("{prefix}{key}: Expected array")),
  }
}

/// `CreateSessionRequestBody` as the API validates it (docs/protocol.md §2.3).
pub fn validate_create_session(body: &Value) -> Result<NewSession, String> {
  let Some(obj) = body.as_object() else {
    return Err("Expected object, received ".to_owned() + json_type(body));
  };
  let kind = string_len(obj, "type", 1, 64, true)?.unwrap_or_default();
  let external_id = match field(obj, "externalId") {
    None => None,
    Some(Value::String(s)) => {
      let trimmed = s.trim();
      if trimmed.is_empty() {
        return Err("externalId: String must contain at least 1 character(s)".into());
      }
      if trimmed.chars().count() > 256 {
        return Err("externalId: String must contain at most 256 character(s)".into());
      }
      if trimmed.starts_with("session_") {
        return Err("externalId: must not start with \"session_\"".into());
      }
      Some(trimmed.to_owned())
    }
    Some(_) => return Err("externalId: Expected string".into()),
  };
  let task_identifier = string_len(obj, "taskIdentifier", 1, 128, true)?.unwrap_or_default();
  tags(obj, "tags", "")?;
  if let Some(m) = field(obj, "metadata") {
    if !m.is_object() {
      return Err("metadata: Expected object".into());
    }
  }
  if let Some(e) = field(obj, "expiresAt") {
    let ok = match e {
      Value::String(s) => looks_like_date(s),
      Value::Number(_) => true,
      _ => false,
    };
    if !ok {
      return Err("expiresAt: Invalid date".into());
    }
  }
  let trigger_config = match field(obj, "triggerConfig") {
    None => return Err("triggerConfig: Required".into()),
    Some(Value::Object(tc)) => tc,
    Some(_) => return Err("triggerConfig: Expected object".into()),
  };
  validate_trigger_config(trigger_config)?;
  Ok(NewSession {
    external_id,
    kind,
    task_identifier,
    tags: field(obj, "tags")
      .cloned()
      .map(|t| if t.is_string() { json!([t]) } else { t })
      .unwrap_or(json!([])),
    metadata: field(obj, "metadata").cloned().unwrap_or(Value::Null),
    expires_at: field(obj, "expiresAt").cloned().unwrap_or(Value::Null),
    trigger_config: Value::Object(trigger_config.clone()),
  })
}

fn validate_trigger_config(tc: &Map<String, Value>) -> Result<(), String> {
  match field(tc, "basePayload") {
    Some(Value::Object(_)) => {}
    None => return Err("triggerConfig.basePayload: Required".into()),
    Some(_) => return Err("triggerConfig.basePayload: Expected object".into()),
  }
  if let Some(m) = field(tc, "machine") {
    if !m.as_str().is_some_and(|m| MACHINES.contains(&m)) {
      return Err(format!(
        "triggerConfig.machine: Invalid enum value. Expected {}",
        MACHINES.join(" | ")
      ));
    }
  }
  string_len(tc, "queue", 0, 128, false).map_err(|e| format!("triggerConfig.{e}"))?;
  tags(tc, "tags", "triggerConfig.")?;
  int_range(tc, "maxAttempts", 1, 10).map_err(|e| format!("triggerConfig.{e}"))?;
  int_range(tc, "maxDuration", 1, i64::MAX).map_err(|e| format!("triggerConfig.{e}"))?;
  int_range(tc, "idleTimeoutInSeconds", 1, 3600).map_err(|e| format!("triggerConfig.{e}"))?;
  if let Some(ttl) = field(tc, "ttl") {
    let ok = ttl.is_string() || ttl.as_u64().is_some();
    if !ok {
      return Err("triggerConfig.ttl: Expected string or non-negative integer".into());
    }
  }
  if let Some(c) = field(tc, "concurrency") {
    let names = c.get("concurrency").and_then(Value::as_array);
    let valid = names.is_some_and(|n| {
      n.len() <= 2
        && n.iter().all(|name| {
          name.as_str().is_some_and(|s| {
            (1..=122).contains(&s.len())
              && s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
          })
        })
    });
    if !valid {
      return Err(
        "triggerConfig.concurrency: Expected { concurrency: string[] } (at most 2 names)".into(),
      );
    }
  }
  Ok(())
}

fn looks_like_date(s: &str) -> bool {
  let b = s.as_bytes();
  b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit)
}

fn json_type(v: &Value) -> &'static str {
  match v {
    Value::Null => "null",
    Value::Bool(_) => "boolean",
    Value::Number(_) => "number",
    Value::String(_) => "string",
    Value::Array(_) => "array",
    Value::Object(_) => "object",
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn valid() -> Value {
    json!({"type":"chat.agent","externalId":"chat-1","taskIdentifier":"agent",
      "triggerConfig":{"basePayload":{"chatId":"chat-1","trigger":"handover-prepare"},"machine":"small-1x","tags":["chat:chat-1"],"idleTimeoutInSeconds":20}})
  }

  fn set(body: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = if parent.is_empty() {
      body
    } else {
      body.pointer_mut(parent).unwrap()
    };
    parent
      .as_object_mut()
      .unwrap()
      .insert(key.to_owned(), value);
  }

  #[test]
  fn accepts_the_reference_body() {
    let s = validate_create_session(&valid()).unwrap();
    assert_eq!(s.external_id.as_deref(), Some("chat-1"));
    assert_eq!(s.tags, json!([]));
  }

  #[test]
  fn rejects_each_invalid_field() {
    let cases: Vec<(&str, Value)> = vec![
      ("/type", json!("")),
      ("/type", json!("x".repeat(65))),
      ("/externalId", json!("session_abc")),
      ("/externalId", json!("   ")),
      ("/externalId", json!("x".repeat(257))),
      ("/taskIdentifier", json!(null)),
      ("/taskIdentifier", json!("x".repeat(129))),
      (
        "/tags",
        json!((0..11).map(|i| i.to_string()).collect::<Vec<_>>()),
      ),
      ("/triggerConfig/basePayload", json!([])),
      ("/triggerConfig/machine", json!("huge")),
      ("/triggerConfig/maxAttempts", json!(11)),
      ("/triggerConfig/maxDuration", json!(0)),
      ("/triggerConfig/idleTimeoutInSeconds", json!(3601)),
      ("/triggerConfig/idleTimeoutInSeconds", json!(1.5)),
      ("/triggerConfig/ttl", json!(-1)),
      ("/triggerConfig/queue", json!("q".repeat(129))),
      ("/metadata", json!("x")),
      ("/expiresAt", json!("tomorrow")),
    ];
    for (pointer, value) in cases {
      let mut body = valid();
      set(&mut body, pointer, value.clone());
      assert!(
        validate_create_session(&body).is_err(),
        "{pointer} = {value} was accepted"
      );
    }
    assert!(validate_create_session(&json!([])).is_err());
  }

  #[test]
  fn trims_external_id() {
    let mut body = valid();
    body["externalId"] = json!("  chat-2 ");
    assert_eq!(
      validate_create_session(&body)
        .unwrap()
        .external_id
        .as_deref(),
      Some("chat-2")
    );
  }
}
