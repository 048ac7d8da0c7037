//! The typed contract between `lib/chat.js` and the head-start engine: every value that crosses
//! is one of these types, so the generated `binding.d.ts` is the only description of the seam
//! and JS mirrors no constant.

use chat_headstart_core::handover::report::{HandoverReport, TurnReport};
use chat_headstart_core::handover::turn::{Step1End, TurnSink};
use chat_headstart_core::session::api::{ApiError, CreatedSession};
use chat_headstart_core::wire::WireError;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::sync::Arc;

/// What a notification of the engine's callback `(turn, event, bytes, detail)` reports.
#[napi]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEvent {
  /// createSession answered: `detail` is a `CreatedSessionInfo`.
  SessionOk = 1,
  /// createSession failed: `detail` is a `HeadStartError`.
  SessionError = 2,
  /// Phase-2 bytes for the response in `bytes`.
  Body = 3,
  /// The handover / skip dispatch finished: `detail` is the handover report (JSON) when the
  /// turn was begun with reports on.
  Dispatched = 4,
  /// The turn is over: `bytes` holds the response's last bytes (if any), `detail` the turn
  /// report (JSON) when reports are on. The engine has forgotten the turn.
  End = 5,
  /// A diagnosable failure that does not change the response: `detail` is the message.
  Warn = 6,
  /// An `appendIn` append finished: `detail` is a `HeadStartError` when it failed.
  AppendDone = 7,
}

/// How step 1 ended, as JS observed it (`TurnHandle.finish`).
#[napi]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOneEnd {
  /// `finishReason` and `response.messages` resolved (both passed along).
  Finished = 0,
  /// `finishReason` or `response` rejected (browser abort, idle timeout, provider abort).
  Aborted = 1,
  /// `run()` threw: the agent is told to exit, no phase 2.
  RunFailed = 2,
  /// The caller dispatched the handover itself (`handover()` / `handoverSkip()`).
  External = 3,
}

impl StepOneEnd {
  pub fn into_core(self, finish_reason: Option<String>, messages_json: Option<String>) -> Step1End {
    match (self, finish_reason, messages_json) {
      (StepOneEnd::Finished, Some(finish_reason), Some(messages_json)) => Step1End::Finished {
        finish_reason,
        messages_json,
      },
      (StepOneEnd::RunFailed, ..) => Step1End::RunFailed,
      (StepOneEnd::External, ..) => Step1End::External,
      // "Finished" without its two results cannot be handed over: treated as aborted.
      _ => Step1End::Aborted,
    }
  }
}

/// The one error shape that reaches JS as data: a refused request (`status` is the HTTP status
/// to answer with) or a failed API call (`status` is the API's, absent for a connection error).
#[napi(object)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadStartError {
  pub status: Option<u32>,
  pub message: String,
}

impl From<ApiError> for HeadStartError {
  fn from(e: ApiError) -> Self {
    HeadStartError {
      status: e.status.map(u32::from),
      message: e.message,
    }
  }
}

impl From<WireError> for HeadStartError {
  fn from(e: WireError) -> Self {
    HeadStartError {
      status: Some(u32::from(e.status)),
      message: e.message,
    }
  }
}

/// createSession's answer, what the response headers need.
#[napi(object)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSessionInfo {
  /// The session's public access token (`X-Trigger-Chat-Access-Token`).
  pub token: String,
  pub pending_version: bool,
}

/// A validated request, registered as turn `turn` (nothing sent anywhere yet).
#[napi(object)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedTurn {
  pub turn: u32,
  pub chat_id: String,
  pub message_id: String,
  /// `headStartMessages` as JSON text: it is handed to `convertToModelMessages`, and
  /// `JSON.parse` is the cheapest way to build those objects in V8.
  pub messages_json: String,
}

/// The engine's configuration (one engine per distinct configuration).
#[napi(object)]
pub struct EngineConfig {
  pub base_url: String,
  pub secret_key: String,
  pub branch: Option<String>,
  /// `"v1"` or `"v2"` (default).
  pub realtime_streams_version: Option<String>,
  /// Extra CA roots (PEM) for the API and S2 connections.
  pub extra_ca_pem: Option<String>,
  /// `JSON.stringify({agentId, idleTimeoutInSeconds?, triggerConfig?, tags?,
  /// clientExternalDeploymentId?})`. JSON on purpose: `triggerConfig.basePayload` is arbitrary
  /// application data that goes into the createSession body with `JSON.stringify`'s semantics
  /// (`toJSON`, dropped `undefined`s), and `wire::CreateSessionOptions::from_json` validates it
  /// with the messages the wire specs pin.
  pub session_options_json: String,
  pub max_body_bytes: Option<i64>,
  pub handover_timeout_ms: Option<i64>,
  /// 0 disables the phase-2 keep-alive comments.
  pub keep_alive_ms: Option<i64>,
  pub tee_buffer_max_bytes: Option<i64>,
}

/// What a notification carries besides its bytes.
pub type Detail = Either3<CreatedSessionInfo, HeadStartError, String>;

pub(super) struct Notification {
  turn: u32,
  event: TurnEvent,
  bytes: Option<Vec<u8>>,
  detail: Option<Detail>,
}

/// The engine callback's arguments: `(turn, event, bytes, detail)`.
pub type NotifyArgs = FnArgs<(u32, TurnEvent, Option<Buffer>, Option<Detail>)>;
pub(super) type Notifier = ThreadsafeFunction<Notification, (), NotifyArgs, Status, false, true, 0>;

/// Wraps the engine's JS callback into the one long-lived threadsafe function every turn of the
/// engine reports through (weak: it does not keep the process alive).
pub(super) fn notifier(notify: Function<'_, NotifyArgs, ()>) -> Result<Notifier> {
  notify
    .build_threadsafe_function::<Notification>()
    .callee_handled::<false>()
    .weak::<true>()
    .build_callback(|ctx| {
      let n = ctx.value;
      Ok(FnArgs::from((
        n.turn,
        n.event,
        n.bytes.map(Buffer::from),
        n.detail,
      )))
    })
}

/// Where one turn (or one preload / append) reports: a notification per event.
pub(super) struct JsSink {
  pub turn: u32,
  pub notify: Arc<Notifier>,
  /// JS observes this turn (a diagnostics_channel subscriber): the dispatch and end
  /// notifications carry the reports as JSON text. Off, they carry none and nothing is built.
  pub reports: bool,
}

impl JsSink {
  pub fn send(&self, event: TurnEvent, bytes: Option<Vec<u8>>, detail: Option<Detail>) {
    self.notify.call(
      Notification {
        turn: self.turn,
        event,
        bytes,
        detail,
      },
      ThreadsafeFunctionCallMode::NonBlocking,
    );
  }

  pub fn failed(&self, event: TurnEvent, error: impl Into<HeadStartError>) {
    self.send(event, None, Some(Either3::B(error.into())));
  }
}

impl TurnSink for JsSink {
  fn session(&self, result: std::result::Result<CreatedSession, ApiError>) {
    match result {
      Ok(s) => self.send(
        TurnEvent::SessionOk,
        None,
        Some(Either3::A(CreatedSessionInfo {
          token: s.public_access_token,
          pending_version: s.pending_version,
        })),
      ),
      Err(e) => self.failed(TurnEvent::SessionError, e),
    }
  }
  fn body(&self, bytes: Vec<u8>) {
    self.send(TurnEvent::Body, Some(bytes), None);
  }
  fn dispatched(&self, handover: Option<&HandoverReport>) {
    let report = handover
      .filter(|_| self.reports)
      .map(|h| Either3::C(h.to_json()));
    self.send(TurnEvent::Dispatched, None, report);
  }
  fn end(&self, last: Vec<u8>, report: &TurnReport) {
    let report = self.reports.then(|| Either3::C(report.to_json()));
    self.send(TurnEvent::End, (!last.is_empty()).then_some(last), report);
  }
  fn warn(&self, message: String) {
    self.send(TurnEvent::Warn, None, Some(Either3::C(message)));
  }
}
