//! Session stream routes: `PUT` hands out S2 credentials, `POST …/append` wraps the raw body
//! in an envelope record (with `X-Part-Id` dedupe and the metered 413 of §4.4),
//! `GET …/records` drains without waiting, `HEAD` answers the legacy probe.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};

use super::{should_retry, Ctx, Principal};
use crate::http::{api_error, json, set_header, Resp};
use crate::sessions::Session;
use crate::store::{NewRecord, MAX_RECORD_METERED_BYTES};
use chat_headstart_core::wire::ids::nanoid;

/// HTTP body pre-guard of `…/append` (before the precise metered check).
pub const MAX_APPEND_BODY_BYTES: usize = 1024 * 1024;

pub struct Target<'a> {
  pub id: &'a str,
  pub channel: Option<&'a str>,
  pub io: &'a str,
}

impl Ctx {
  pub(crate) fn session_for(&self, target: &Target) -> Result<(Arc<Session>, Principal), Resp> {
    // Credentials first: without one, a caller cannot even learn whether a session exists.
    self.authenticate()?;
    let Some(session) = self.state.sessions.resolve(target.id) else {
      return Err(api_error(404, "Session not found"));
    };
    let principal = self.authorize(&session)?;
    Ok((session, principal))
  }
}

pub fn initialize(ctx: Ctx, target: Target) -> Resp {
  let (session, _) = match ctx.session_for(&target) {
    Ok(v) => v,
    Err(resp) => return resp,
  };
  if session.closed_reason().is_some() {
    return api_error(400, "Session is closed");
  }
  let stream_name = session.stream_name(target.channel, target.io);
  ctx.state.streams.get_or_create(&stream_name);
  let mut resp = json(202, &json!({ "version": "v2" }));
  set_header(&mut resp, "x-s2-access-token", &ctx.state.s2_token);
  set_header(&mut resp, "x-s2-basin", &ctx.state.basin);
  set_header(&mut resp, "x-s2-stream-name", &stream_name);
  set_header(&mut resp, "x-s2-endpoint", &ctx.state.s2_endpoint);
  set_header(
    &mut resp,
    "x-s2-flush-interval-ms",
    &ctx.state.flush_interval_ms.to_string(),
  );
  set_header(&mut resp, "x-s2-max-retries", "10");
  resp
}

pub fn head(ctx: Ctx, target: Target) -> Resp {
  if let Err(resp) = ctx.session_for(&target) {
    return resp;
  }
  let mut resp = crate::http::response(200, "text/plain", Bytes::new());
  set_header(&mut resp, "x-last-chunk-index", "0");
  resp
}

/// The record the API stores for an append: `{"data":"<raw body>","id":"<part id>"}`, with
/// `data` a JSON string exactly as `JSON.stringify` would write it.
pub fn append_envelope(raw_body: &str, part_id: &str) -> String {
  json!({ "data": raw_body, "id": part_id }).to_string()
}

/// S2's metered size of that record (no headers): `8 + len(envelope)`.
pub fn append_metered_size(envelope: &str) -> usize {
  8 + envelope.len()
}

pub fn append(ctx: Ctx, target: Target) -> Resp {
  let (session, principal) = match ctx.session_for(&target) {
    Ok(v) => v,
    Err(resp) => return resp,
  };
  if let Some(reason) = session.closed_reason() {
    return json(
      409,
      &json!({"ok": false, "error": "Cannot append to a closed session", "code": "session_closed", "closedReason": reason}),
    );
  }
  if target.io == "out" && principal == Principal::PublicToken {
    return json(
      403,
      &json!({"ok": false, "error": "Appending to session.out requires a secret key"}),
    );
  }
  if let Some(fault) = ctx.state.faults.take_append(target.io) {
    let message = fault
      .message
      .unwrap_or_else(|| "Injected append failure".into());
    let mut resp = json(fault.status, &json!({"ok": false, "error": message}));
    should_retry(&mut resp, fault.should_retry);
    return resp;
  }
  if ctx.body.len() > MAX_APPEND_BODY_BYTES {
    return json(
      413,
      &json!({"ok": false, "error": "Request body too large"}),
    );
  }
  // Like `await request.text()`: invalid UTF-8 becomes U+FFFD.
  let raw = String::from_utf8_lossy(&ctx.body);
  let part_id = ctx
    .header("x-part-id")
    .filter(|p| !p.is_empty())
    .map(str::to_owned);
  let envelope_id = part_id.clone().unwrap_or_else(|| nanoid(7));
  let envelope = append_envelope(&raw, &envelope_id);
  let metered = append_metered_size(&envelope);
  if metered > MAX_RECORD_METERED_BYTES {
    return json(
      413,
      &json!({"ok": false, "error": format!(
        "Record metered size {metered} bytes exceeds the S2 per-record limit of {MAX_RECORD_METERED_BYTES} bytes. Reduce the payload size."
      )}),
    );
  }
  let stream = ctx
    .state
    .streams
    .get_or_create(&session.stream_name(target.channel, target.io));
  // Without an X-Part-Id every append is distinct; the envelope id is fresh.
  let dedupe_key = part_id.unwrap_or_else(|| format!("\u{0}{envelope_id}{}", nanoid(8)));
  let (seq, duplicate) =
    match stream.append_part(&dedupe_key, NewRecord::body(Bytes::from(envelope))) {
      Ok(v) => v,
      Err(e) => return json(e.status(), &json!({"ok": false, "error": e.message()})),
    };
  if target.io == "in" && target.channel.is_none() && !duplicate {
    // ensureRunForSession: a message to a session without a live run boots one.
    crate::agent::ensure_running(ctx.state.clone(), session.clone(), seq);
  }
  json(200, &json!({ "ok": true, "seq": seq }))
}

pub fn records(ctx: Ctx, target: Target) -> Resp {
  let (session, _) = match ctx.session_for(&target) {
    Ok(v) => v,
    Err(resp) => return resp,
  };
  let mut start = 0;
  for (key, value) in crate::http::query_pairs(ctx.query.as_deref()) {
    if key == "afterEventId" {
      if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return api_error(400, "afterEventId must be a non-negative integer");
      }
      match value.parse::<u64>() {
        Ok(n) => start = n.saturating_add(1),
        Err(_) => return api_error(400, "afterEventId is out of range"),
      }
    }
  }
  let stream = ctx
    .state
    .streams
    .get_or_create(&session.stream_name(target.channel, target.io));
  let mut out = Vec::new();
  loop {
    let read = stream.read(start, 1000, usize::MAX);
    let Some(last) = read.records.last() else {
      break;
    };
    start = last.seq + 1;
    for record in read.records.iter().filter(|r| r.command().is_none()) {
      let (data, id) = envelope_parts(&record.body);
      let mut item = json!({ "data": data, "id": id, "seqNum": record.seq });
      if !record.headers.is_empty() {
        let headers: Vec<[String; 2]> = record
          .headers
          .iter()
          .map(|(n, v)| {
            [
              String::from_utf8_lossy(n).into_owned(),
              String::from_utf8_lossy(v).into_owned(),
            ]
          })
          .collect();
        item["headers"] = json!(headers);
      }
      out.push(item);
    }
  }
  json(200, &json!({ "records": out }))
}

/// `data` and `id` of an envelope body; control records (empty body) give `""`, `""`.
fn envelope_parts(body: &[u8]) -> (Value, Value) {
  if body.is_empty() {
    return (json!(""), json!(""));
  }
  match serde_json::from_slice::<Value>(body) {
    Ok(Value::Object(mut map)) => {
      let data = map.remove("data").unwrap_or(Value::Null);
      let id = map
        .remove("id")
        .filter(Value::is_string)
        .unwrap_or(json!(""));
      (data, id)
    }
    _ => (json!(String::from_utf8_lossy(body)), json!("")),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn envelope_escapes_like_json_stringify() {
    let env = append_envelope("{\"kind\":\"handover\"}\n\u{1}é", "p");
    assert_eq!(
      env,
      r#"{"data":"{\"kind\":\"handover\"}\n\u0001é","id":"p"}"#
    );
  }

  #[test]
  fn metered_boundary_is_inclusive() {
    let part_id = "V1StGXR8_Z5jdHi6B-myT"; // 21 chars like nanoid()
                                           // 8 + 19 bytes of envelope punctuation + 21 part id + raw.
    let overhead = 8 + r#"{"data":"","id":""}"#.len() + part_id.len();
    let fits = "a".repeat(MAX_RECORD_METERED_BYTES - overhead);
    assert_eq!(
      append_metered_size(&append_envelope(&fits, part_id)),
      MAX_RECORD_METERED_BYTES
    );
    let over = "a".repeat(MAX_RECORD_METERED_BYTES - overhead + 1);
    assert_eq!(
      append_metered_size(&append_envelope(&over, part_id)),
      MAX_RECORD_METERED_BYTES + 1
    );
    // Quotes cost two bytes each once embedded as a JSON string.
    assert_eq!(
      append_metered_size(&append_envelope("\"\"", part_id)),
      overhead + 4
    );
  }

  #[test]
  fn envelope_parts_of_each_kind() {
    assert_eq!(envelope_parts(b""), (json!(""), json!("")));
    assert_eq!(
      envelope_parts(br#"{"data":"{}","id":"x"}"#),
      (json!("{}"), json!("x"))
    );
    assert_eq!(
      envelope_parts(br#"{"data":{"type":"start"},"id":"y"}"#),
      (json!({"type":"start"}), json!("y"))
    );
    assert_eq!(envelope_parts(b"raw"), (json!("raw"), json!("")));
  }
}
