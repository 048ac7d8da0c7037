//! The scripted agent (docs/protocol.md §7.4): one task per live "run" of a session. It boots
//! (after `bootDelayMs`), reads `session.in` from its start seq, and
//! - in a `handover-prepare` run waits (up to `idleTimeoutInSeconds`) for `handover` /
//!   `handover-skip`: skip → exits writing nothing; `isFinal: true` → only the turn-complete
//!   control record; `isFinal: false` → the tool outputs and step 2, then turn-complete;
//! - afterwards (and in any other run) answers each `message` record with a text turn (and a
//!   later `handover`, from a re-POSTed head start, like the first), until `.in` has been idle
//!   for `idleTimeoutInSeconds`.
//!
//! It writes to the same in-memory streams S2 clients use, with the same semantics.

pub(crate) mod script;
mod turn;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};

pub use script::{AgentScript, HookFuture, TurnHook, TurnPlan};
pub use turn::{handover_chunks, message_chunks, pending_tool_calls, ToolCall};

use crate::sessions::Session;
use crate::state::PlaneState;
use crate::store::{headers_from, NewRecord, Record, Stream};
use chat_headstart_core::wire::ids::{alnum, nanoid};

const DEFAULT_IDLE_SECONDS: u64 = 60;

fn idle_timeout(base_payload: &Value, trigger_config: &Value) -> Duration {
  let secs = base_payload
    .get("idleTimeoutInSeconds")
    .and_then(Value::as_u64)
    .or_else(|| {
      trigger_config
        .get("idleTimeoutInSeconds")
        .and_then(Value::as_u64)
    })
    .unwrap_or(DEFAULT_IDLE_SECONDS);
  Duration::from_secs(secs.max(1))
}

/// A freshly created session triggers its first run with `payload = basePayload`.
pub fn start_for_new_session(state: Arc<PlaneState>, session: Arc<Session>) {
  let payload = session
    .trigger_config
    .get("basePayload")
    .cloned()
    .unwrap_or(Value::Null);
  start_run(state, session, &payload, 0);
}

/// createSession on an existing session triggers a run only if none is alive; it reads `.in`
/// from the current tail (older records belong to earlier turns).
pub fn start_for_cached_session(
  state: Arc<PlaneState>,
  session: Arc<Session>,
  base_payload: &Value,
) {
  let tail = state
    .streams
    .get_or_create(&session.stream_name(None, "in"))
    .tail()
    .seq_num;
  start_run(state, session, base_payload, tail);
}

fn start_run(state: Arc<PlaneState>, session: Arc<Session>, payload: &Value, start: u64) {
  if !session.claim_agent() {
    return;
  }
  let awaiting_handover =
    payload.get("trigger").and_then(Value::as_str) == Some("handover-prepare");
  let idle = idle_timeout(payload, &session.trigger_config);
  tokio::spawn(run(state, session, awaiting_handover, start, idle));
}

/// `ensureRunForSession`: an `.in` append to a session without a live run boots one that
/// starts at that record.
pub fn ensure_running(state: Arc<PlaneState>, session: Arc<Session>, seq: u64) {
  if !session.claim_agent() {
    return;
  }
  session.new_run();
  let idle = idle_timeout(&Value::Null, &session.trigger_config);
  tokio::spawn(run(state, session, false, seq, idle));
}

enum Next {
  Continue,
  Exit,
}

struct Agent {
  state: Arc<PlaneState>,
  session: Arc<Session>,
  input: Arc<Stream>,
  output: Arc<Stream>,
  last_turn_complete: Option<u64>,
  turn: u32,
}

async fn run(
  state: Arc<PlaneState>,
  session: Arc<Session>,
  mut awaiting_handover: bool,
  mut cursor: u64,
  idle: Duration,
) {
  let boot = state.agent_script().boot_delay_ms;
  if boot > 0 {
    tokio::time::sleep(Duration::from_millis(boot)).await;
  }
  let mut agent = Agent {
    input: state
      .streams
      .get_or_create(&session.stream_name(None, "in")),
    output: state
      .streams
      .get_or_create(&session.stream_name(None, "out")),
    state,
    session,
    last_turn_complete: None,
    turn: 0,
  };
  let mut tail_rx = agent.input.subscribe();
  loop {
    tail_rx.borrow_and_update();
    let record = agent
      .input
      .read(cursor, 1, usize::MAX)
      .records
      .into_iter()
      .next();
    let Some(record) = record else {
      match tokio::time::timeout(idle, tail_rx.changed()).await {
        Ok(Ok(())) => continue,
        _ => {
          let input = agent.input.clone();
          if agent
            .session
            .release_agent(|| input.tail().seq_num > cursor)
          {
            return;
          }
          continue;
        }
      }
    };
    cursor = record.seq + 1;
    let Some(input) = parse_in_record(&record) else {
      continue;
    };
    let kind = input.get("kind").and_then(Value::as_str).unwrap_or("");
    let next = match (awaiting_handover, kind) {
      (true, "handover-skip") => Next::Exit,
      (true, "handover") => {
        awaiting_handover = false;
        agent.handover(&record, &input).await
      }
      (false, "message") => agent.message(&record, &input).await,
      // A head start re-POSTed for a chat whose run is still alive (e.g. after a page reload):
      // the live run answers that handover too instead of leaving phase 2 to time out.
      (false, "handover") => agent.handover(&record, &input).await,
      // `stop` / `message` do not satisfy the handover wait; other kinds are not ours.
      _ => Next::Continue,
    };
    if let Next::Exit = next {
      let input = agent.input.clone();
      if agent
        .session
        .release_agent(|| input.tail().seq_num > cursor)
      {
        return;
      }
      awaiting_handover = false;
    }
  }
}

/// `.in` records are envelopes whose `data` is the raw JSON text the client appended.
fn parse_in_record(record: &Record) -> Option<Value> {
  let envelope: Value = serde_json::from_slice(&record.body).ok()?;
  match envelope.get("data")? {
    Value::String(text) => serde_json::from_str(text).ok(),
    other @ Value::Object(_) => Some(other.clone()),
    _ => None,
  }
}

impl Agent {
  async fn plan(&self, script: &AgentScript, input: Value) -> Result<TurnPlan, String> {
    let Some(hook) = self.state.hook.clone().filter(|_| script.use_hook) else {
      return Ok(TurnPlan::default());
    };
    let answer = hook.on_turn(input.to_string()).await?;
    if answer.trim().is_empty() || answer.trim() == "null" {
      return Ok(TurnPlan::default());
    }
    serde_json::from_str(&answer).map_err(|e| format!("agent.onTurn returned an invalid plan: {e}"))
  }

  fn hook_input(&self, kind: &str, record: &Record, message_id: &str) -> Value {
    json!({
      "kind": kind,
      "chatId": self.session.key(),
      "sessionId": self.session.id,
      "runId": self.session.run_id(),
      "turn": self.turn,
      "inSeq": record.seq,
      "messageId": message_id,
    })
  }

  async fn handover(&mut self, record: &Record, input: &Value) -> Next {
    let script = self.state.agent_script();
    if script.upgrade_required {
      self.control(&[("trigger-control", "upgrade-required")]);
      return Next::Exit;
    }
    self.turn += 1;
    let message_id = input
      .get("messageId")
      .and_then(Value::as_str)
      .unwrap_or("")
      .to_owned();
    let is_final = input
      .get("isFinal")
      .and_then(Value::as_bool)
      .unwrap_or(false);
    let partial = input
      .get("partialAssistantMessage")
      .cloned()
      .unwrap_or(Value::Null);
    let calls = if is_final {
      Vec::new()
    } else {
      pending_tool_calls(&partial)
    };
    let mut hook_input = self.hook_input("handover", record, &message_id);
    hook_input["isFinal"] = json!(is_final);
    hook_input["toolCalls"] = json!(calls
      .iter()
      .map(|c| json!({"toolCallId": c.tool_call_id, "toolName": c.tool_name, "input": c.input}))
      .collect::<Vec<_>>());
    hook_input["partialAssistantMessage"] = partial;
    let plan = self.plan(&script, hook_input).await;
    let silent = plan
      .as_ref()
      .ok()
      .and_then(|p| p.silent)
      .unwrap_or(script.silent);
    if silent {
      return Next::Continue;
    }
    if !is_final {
      let chunks = match &plan {
        Ok(plan) => handover_chunks(&message_id, &calls, plan, &script),
        Err(e) => error_chunks(&message_id, e),
      };
      self.write_data(&chunks, &script).await;
    }
    self.turn_complete(record.seq, &script);
    Next::Continue
  }

  async fn message(&mut self, record: &Record, input: &Value) -> Next {
    let script = self.state.agent_script();
    self.turn += 1;
    let message_id = alnum(16);
    let payload = input.get("payload").cloned().unwrap_or(Value::Null);
    let mut hook_input = self.hook_input("message", record, &message_id);
    hook_input["message"] = payload.get("message").cloned().unwrap_or(Value::Null);
    hook_input["payload"] = payload;
    let plan = self.plan(&script, hook_input).await;
    if plan
      .as_ref()
      .ok()
      .and_then(|p| p.silent)
      .unwrap_or(script.silent)
    {
      return Next::Continue;
    }
    let chunks = match &plan {
      Ok(plan) => message_chunks(&message_id, plan, &script),
      Err(e) => error_chunks(&message_id, e),
    };
    self.write_data(&chunks, &script).await;
    self.turn_complete(record.seq, &script);
    Next::Continue
  }

  /// Data records `{"data":<chunk>,"id":<nanoid(7)>}`, grouped into appends per the knobs.
  async fn write_data(&self, chunks: &[Value], script: &AgentScript) {
    let records: Vec<NewRecord> = chunks
      .iter()
      .map(|chunk| {
        NewRecord::body(Bytes::from(
          json!({"data": chunk, "id": nanoid(7)}).to_string(),
        ))
      })
      .collect();
    let default_group = if script.record_delay_ms > 0 {
      1
    } else {
      records.len().max(1)
    };
    let group = script.records_per_append.unwrap_or(default_group).max(1);
    for (i, batch) in records.chunks(group).enumerate() {
      if i > 0 && script.record_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(script.record_delay_ms)).await;
      }
      if let Err(e) = self.output.append(batch.to_vec(), None, None) {
        tracing::warn!(
          "scripted agent could not append to session.out: {}",
          e.message()
        );
      }
    }
  }

  fn control(&self, headers: &[(&str, &str)]) -> Option<u64> {
    let record = NewRecord {
      headers: headers_from(headers),
      body: Bytes::new(),
      timestamp: None,
    };
    self
      .output
      .append(vec![record], None, None)
      .ok()
      .map(|ack| ack.start.seq_num)
  }

  /// The header-only turn-complete control record (§7.3); from the second turn on, a `trim`
  /// command record to the previous turn-complete follows.
  fn turn_complete(&mut self, in_seq: u64, script: &AgentScript) {
    if script.legacy_turn_complete {
      let body = json!({"data": {"type": "trigger:turn-complete"}, "id": nanoid(7)}).to_string();
      let _ = self
        .output
        .append(vec![NewRecord::body(Bytes::from(body))], None, None);
      return;
    }
    let seq = in_seq.to_string();
    let token = script
      .refresh_token
      .then(|| self.state.sessions.mint_token(&self.session));
    let mut headers = vec![("trigger-control", "turn-complete")];
    if let Some(token) = &token {
      headers.push(("public-access-token", token));
    }
    headers.push(("session-in-event-id", &seq));
    headers.push(("session-in-consumed-id", &seq));
    let Some(written) = self.control(&headers) else {
      return;
    };
    if let Some(previous) = self.last_turn_complete.replace(written) {
      let trim = NewRecord {
        headers: vec![(Bytes::new(), Bytes::from_static(b"trim"))],
        body: Bytes::copy_from_slice(&previous.to_be_bytes()),
        timestamp: None,
      };
      let _ = self.output.append(vec![trim], None, None);
    }
  }
}

fn error_chunks(message_id: &str, error: &str) -> Vec<Value> {
  tracing::warn!("scripted agent turn failed: {error}");
  vec![
    json!({"type": "start", "messageId": message_id}),
    json!({"type": "error", "errorText": error}),
    json!({"type": "finish", "finishReason": "error"}),
  ]
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn in_records_parse_their_string_data() {
    let record = Record {
      seq: 0,
      timestamp: 0,
      headers: vec![],
      body: Bytes::from(r#"{"data":"{\"kind\":\"handover-skip\"}","id":"p"}"#),
    };
    assert_eq!(
      parse_in_record(&record),
      Some(json!({"kind":"handover-skip"}))
    );
    let bad = Record {
      body: Bytes::from_static(b"{}"),
      ..record
    };
    assert_eq!(parse_in_record(&bad), None);
  }

  #[test]
  fn idle_timeout_sources() {
    assert_eq!(
      idle_timeout(&json!({"idleTimeoutInSeconds": 5}), &json!({})),
      Duration::from_secs(5)
    );
    assert_eq!(
      idle_timeout(&json!({}), &json!({"idleTimeoutInSeconds": 7})),
      Duration::from_secs(7)
    );
    assert_eq!(
      idle_timeout(&json!({}), &json!({})),
      Duration::from_secs(60)
    );
  }
}
