//! Sessions as the Trigger API keeps them: upserted by `externalId`, addressed by either the
//! external id or the opaque `session_…` id, each with its own `.in`/`.out` (and channel)
//! streams and the public access tokens minted for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::ids::{iso8601, now_ms, public_access_token};
use chat_headstart_core::wire::ids::alnum;

pub struct Session {
  pub id: String,
  pub external_id: Option<String>,
  pub kind: String,
  pub task_identifier: String,
  pub tags: Value,
  pub metadata: Value,
  pub expires_at: Value,
  pub created_at: u64,
  pub trigger_config: Value,
  state: Mutex<SessionState>,
}

struct SessionState {
  run_id: String,
  updated_at: u64,
  closed_reason: Option<String>,
  /// Whether an emulated agent run is alive (`ensureRunForSession`).
  agent_alive: bool,
}

impl Session {
  fn lock(&self) -> std::sync::MutexGuard<'_, SessionState> {
    self.state.lock().unwrap_or_else(|e| e.into_inner())
  }

  /// The stream behind `{io}` or `/channels/{name}/{io}` (relative S2 name, as the cloud sends).
  pub fn stream_name(&self, channel: Option<&str>, io: &str) -> String {
    match channel {
      Some(ch) => format!("/sessions/{}/channels/{ch}/{io}", self.id),
      None => format!("/sessions/{}/{io}", self.id),
    }
  }

  /// The key the session's JWT scopes use (external id when there is one).
  pub fn key(&self) -> &str {
    self.external_id.as_deref().unwrap_or(&self.id)
  }

  pub fn run_id(&self) -> String {
    self.lock().run_id.clone()
  }

  pub fn closed_reason(&self) -> Option<Option<String>> {
    let state = self.lock();
    state
      .closed_reason
      .as_ref()
      .map(|r| (!r.is_empty()).then(|| r.clone()))
  }

  pub fn close(&self, reason: Option<String>) {
    let mut state = self.lock();
    if state.closed_reason.is_none() {
      state.closed_reason = Some(reason.unwrap_or_default());
      state.updated_at = now_ms();
    }
  }

  /// Marks an agent run alive; returns false if one already is (then nothing to start).
  pub fn claim_agent(&self) -> bool {
    let mut state = self.lock();
    if state.agent_alive {
      return false;
    }
    state.agent_alive = true;
    true
  }

  /// Called by an exiting agent; `more_input` re-checked under the lock closes the race with
  /// an append that saw the agent alive. Returns true if the agent may exit.
  pub fn release_agent(&self, more_input: impl FnOnce() -> bool) -> bool {
    let mut state = self.lock();
    if more_input() {
      return false;
    }
    state.agent_alive = false;
    true
  }

  /// Starts a new run id (a fresh agent run for this session).
  pub fn new_run(&self) -> String {
    let mut state = self.lock();
    state.run_id = format!("run_{}", alnum(24).to_lowercase());
    state.updated_at = now_ms();
    state.run_id.clone()
  }

  /// The `CreatedSessionResponseBody` / retrieve shape (every required key present).
  pub fn to_json(&self, token: Option<&str>, is_cached: bool, pending_version: bool) -> Value {
    let state = self.lock();
    let closed = state.closed_reason.as_ref();
    let mut body = json!({
      "id": self.id,
      "externalId": self.external_id,
      "type": self.kind,
      "taskIdentifier": self.task_identifier,
      "currentRunId": state.run_id,
      "tags": self.tags,
      "metadata": self.metadata,
      "closedAt": closed.map(|_| iso8601(state.updated_at)),
      "closedReason": closed.filter(|r| !r.is_empty()),
      "expiresAt": self.expires_at,
      "createdAt": iso8601(self.created_at),
      "updatedAt": iso8601(state.updated_at),
    });
    if let Some(token) = token {
      let map = body.as_object_mut().expect("object literal");
      map.insert("runId".into(), json!(state.run_id));
      map.insert("publicAccessToken".into(), json!(token));
      map.insert("isCached".into(), json!(is_cached));
      map.insert("pendingVersion".into(), json!(pending_version));
    }
    body
  }
}

pub struct NewSession {
  pub external_id: Option<String>,
  pub kind: String,
  pub task_identifier: String,
  pub tags: Value,
  pub metadata: Value,
  pub expires_at: Value,
  pub trigger_config: Value,
}

#[derive(Default)]
pub struct Sessions {
  state: Mutex<SessionsState>,
}

#[derive(Default)]
struct SessionsState {
  by_id: HashMap<String, Arc<Session>>,
  by_external: HashMap<String, String>,
  /// Public access token → session id.
  tokens: HashMap<String, String>,
}

pub enum Upsert {
  Created(Arc<Session>),
  Existing(Arc<Session>),
}

impl Sessions {
  fn lock(&self) -> std::sync::MutexGuard<'_, SessionsState> {
    self.state.lock().unwrap_or_else(|e| e.into_inner())
  }

  pub fn upsert(&self, new: NewSession) -> Upsert {
    let mut state = self.lock();
    if let Some(existing) = new
      .external_id
      .as_ref()
      .and_then(|e| state.by_external.get(e))
    {
      if let Some(session) = state.by_id.get(existing) {
        return Upsert::Existing(session.clone());
      }
    }
    let now = now_ms();
    let session = Arc::new(Session {
      id: format!("session_{}", alnum(25).to_lowercase()),
      external_id: new.external_id.clone(),
      kind: new.kind,
      task_identifier: new.task_identifier,
      tags: new.tags,
      metadata: new.metadata,
      expires_at: new.expires_at,
      created_at: now,
      trigger_config: new.trigger_config,
      state: Mutex::new(SessionState {
        run_id: format!("run_{}", alnum(24).to_lowercase()),
        updated_at: now,
        closed_reason: None,
        agent_alive: false,
      }),
    });
    if let Some(external) = new.external_id {
      state.by_external.insert(external, session.id.clone());
    }
    state.by_id.insert(session.id.clone(), session.clone());
    Upsert::Created(session)
  }

  /// Looks a session up by `session_…` id or by external id.
  pub fn resolve(&self, key: &str) -> Option<Arc<Session>> {
    let state = self.lock();
    if let Some(s) = state.by_id.get(key) {
      return Some(s.clone());
    }
    state
      .by_external
      .get(key)
      .and_then(|id| state.by_id.get(id))
      .cloned()
  }

  /// Mints a session-scoped public access token.
  pub fn mint_token(&self, session: &Session) -> String {
    let token = public_access_token(session.key(), &session.run_id());
    self.lock().tokens.insert(token.clone(), session.id.clone());
    token
  }

  /// The session a public access token belongs to.
  pub fn token_session(&self, token: &str) -> Option<String> {
    self.lock().tokens.get(token).cloned()
  }

  /// Every public access token minted for a session (tests check that none leaks into logs).
  pub fn session_tokens(&self, session_id: &str) -> Vec<String> {
    let mut tokens: Vec<String> = self
      .lock()
      .tokens
      .iter()
      .filter(|(_, id)| *id == session_id)
      .map(|(token, _)| token.clone())
      .collect();
    tokens.sort();
    tokens
  }

  pub fn all(&self) -> Vec<Arc<Session>> {
    let mut all: Vec<_> = self.lock().by_id.values().cloned().collect();
    all.sort_by_key(|s| s.created_at);
    all
  }
}
