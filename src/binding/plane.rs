//! `startDevPlane` binding: starts a [`chat_headstart_plane::Plane`] and exposes its URLs,
//! request log, knobs and `close()`. Knobs and logs cross as JSON strings (one call each);
//! the agent hook is ONE long-lived weak threadsafe function for the plane's lifetime.

use std::sync::Arc;

use chat_headstart_plane::agent::{AgentScript, HookFuture, TurnHook};
use chat_headstart_plane::faults::Faults;
use chat_headstart_plane::{Plane, PlaneOptions};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;

/// `(inputJson) => Promise<planJson>`; weak so a forgotten plane never keeps Node alive.
type HookFn = ThreadsafeFunction<String, Promise<String>, String, Status, false, true>;

struct JsHook(Arc<HookFn>);

impl TurnHook for JsHook {
  fn on_turn(&self, input: String) -> HookFuture {
    let hook = self.0.clone();
    Box::pin(async move {
      let promise = hook.call_async(input).await.map_err(|e| e.reason.clone())?;
      promise.await.map_err(|e| e.reason.clone())
    })
  }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> Error {
  Error::new(Status::InvalidArg, format!("{what}: {e}"))
}

#[napi]
pub struct DevPlane {
  plane: Arc<Plane>,
}

/// Starts a plane. `optionsJson` is `PlaneOptions` (camelCase); `onTurn` is the agent hook.
#[napi]
pub fn start_dev_plane(
  options_json: String,
  // Spelled out, not `HookFn`: napi writes the Rust alias name into binding.d.ts otherwise.
  on_turn: Option<ThreadsafeFunction<String, Promise<String>, String, Status, false, true>>,
) -> Result<DevPlane> {
  let options: PlaneOptions =
    serde_json::from_str(&options_json).map_err(|e| invalid("invalid plane options", e))?;
  let hook = on_turn.map(|f| Arc::new(JsHook(Arc::new(f))) as Arc<dyn TurnHook>);
  let plane = Plane::start(options, hook)
    .map_err(|e| Error::from_reason(format!("could not start the plane: {e}")))?;
  Ok(DevPlane {
    plane: Arc::new(plane),
  })
}

#[napi]
impl DevPlane {
  #[napi(getter)]
  pub fn api_url(&self) -> String {
    self.plane.api_url()
  }

  #[napi(getter)]
  pub fn s2_url(&self) -> String {
    self.plane.state.s2_endpoint.clone()
  }

  #[napi(getter)]
  pub fn secret_key(&self) -> String {
    self.plane.state.secret_key.clone()
  }

  #[napi(getter)]
  pub fn s2_access_token(&self) -> String {
    self.plane.state.s2_token.clone()
  }

  /// PEM of the self-signed certificate (`tls: true`), else null.
  #[napi(getter)]
  pub fn cert_pem(&self) -> Option<String> {
    self.plane.state.cert_pem.clone()
  }

  #[napi(getter)]
  pub fn basin(&self) -> String {
    self.plane.state.basin.clone()
  }

  #[napi]
  pub fn requests_json(&self) -> String {
    self.plane.state.log.to_json()
  }

  /// `{openConnections, inFlightRequests, connectionsTotal, requestsTotal, nowMs}`; `nowMs` is
  /// the request log's clock (`timeMs`, `responseEndMs`).
  #[napi]
  pub fn traffic_json(&self) -> String {
    let mut counts = serde_json::to_value(self.plane.state.traffic.counts()).unwrap_or_default();
    counts["nowMs"] = self.plane.state.log.now_ms().into();
    counts.to_string()
  }

  #[napi]
  pub fn clear_requests(&self) {
    self.plane.state.log.clear();
  }

  #[napi]
  pub fn set_log_requests(&self, enabled: bool) {
    self.plane.state.log.set_enabled(enabled);
  }

  #[napi]
  pub fn set_agent_json(&self, json: String) -> Result<()> {
    let script: AgentScript =
      serde_json::from_str(&json).map_err(|e| invalid("invalid agent knobs", e))?;
    self.plane.state.set_agent_script(script);
    Ok(())
  }

  #[napi]
  pub fn set_faults_json(&self, json: String) -> Result<()> {
    let faults: Faults = serde_json::from_str(&json).map_err(|e| invalid("invalid faults", e))?;
    self.plane.state.faults.replace(faults);
    Ok(())
  }

  #[napi]
  pub fn sessions_json(&self) -> String {
    self.plane.state.sessions_json()
  }

  #[napi]
  pub fn records_json(
    &self,
    session: String,
    io: String,
    channel: Option<String>,
    from_seq: Option<i64>,
  ) -> Option<String> {
    self.plane.state.session_records_json(
      &session,
      channel.as_deref(),
      &io,
      from_seq.unwrap_or(0).max(0) as u64,
    )
  }

  /// Stops every task and frees both ports (idempotent).
  #[napi]
  pub async fn close(&self) -> Result<()> {
    let plane = self.plane.clone();
    tokio::task::spawn_blocking(move || plane.shutdown())
      .await
      .map_err(|e| Error::from_reason(format!("plane shutdown failed: {e}")))
  }
}
