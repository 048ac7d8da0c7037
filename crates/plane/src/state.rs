//! The state every route and the agent share: the streams, sessions, faults, agent script,
//! request log and the plane's credentials. The routes ([`crate::api`], [`crate::s2`]) and the
//! agent depend on this module; [`crate::plane`] builds it and serves it.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::agent::script::{AgentScript, TurnHook};
use crate::faults::FaultState;
use crate::log::RequestLog;
use crate::sessions::Sessions;
use crate::store::Streams;
use crate::traffic::Traffic;

/// Everything the routes and the agent share.
pub struct PlaneState {
  pub streams: Streams,
  pub sessions: Sessions,
  pub faults: FaultState,
  pub agent: RwLock<AgentScript>,
  pub hook: Option<Arc<dyn TurnHook>>,
  pub log: RequestLog,
  /// Open connections and in-flight requests (see [`crate::traffic`]).
  pub traffic: Arc<Traffic>,
  pub secret_key: String,
  pub s2_token: String,
  pub basin: String,
  pub s2_endpoint: String,
  pub strict_auth: bool,
  pub flush_interval_ms: u64,
  pub heartbeat: Duration,
  pub sse_default_wait_seconds: u64,
  /// See [`crate::plane::PlaneOptions::header_read_timeout_ms`].
  pub header_read_timeout: Duration,
  /// PEM of the self-signed certificate when serving TLS.
  pub cert_pem: Option<String>,
}

impl PlaneState {
  pub fn agent_script(&self) -> AgentScript {
    self.agent.read().unwrap_or_else(|e| e.into_inner()).clone()
  }

  pub fn set_agent_script(&self, script: AgentScript) {
    *self.agent.write().unwrap_or_else(|e| e.into_inner()) = script;
  }
}

/// Read-only views for tests and tools.
impl PlaneState {
  /// `[{id, externalId, runId, closed, streams:{in,out}, publicAccessTokens}]`.
  pub fn sessions_json(&self) -> String {
    let sessions: Vec<serde_json::Value> = self
      .sessions
      .all()
      .iter()
      .map(|s| {
        serde_json::json!({
          "id": s.id,
          "externalId": s.external_id,
          "runId": s.run_id(),
          "closed": s.closed_reason().is_some(),
          "streams": { "in": s.stream_name(None, "in"), "out": s.stream_name(None, "out") },
          "publicAccessTokens": self.sessions.session_tokens(&s.id),
        })
      })
      .collect();
    serde_json::Value::Array(sessions).to_string()
  }

  /// The records of a session stream from seq `from` on (`None` for an unknown session) as
  /// `{"records":[{seq_num,timestamp,headers?,body?}],"tail":…}`.
  pub fn session_records_json(
    &self,
    session: &str,
    channel: Option<&str>,
    io: &str,
    from: u64,
  ) -> Option<String> {
    let session = self.sessions.resolve(session)?;
    let stream = self
      .streams
      .get_or_create(&session.stream_name(channel, io));
    let read = stream.read(from, usize::MAX, usize::MAX);
    Some(crate::sse::batch_json(
      &read.records,
      Some(read.tail),
      crate::sse::Format::Raw,
    ))
  }
}
