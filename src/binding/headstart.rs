//! Binding of the head-start turn (`chat-headstart-core::handover`). One `HeadStartEngine` per
//! handler configuration; every crossing is O(1) per request or per batch of chunks, and all
//! asynchronous results come back through ONE long-lived threadsafe function per engine
//! (docs/architecture.md §4) instead of an `async fn` per call.

use chat_headstart_core::handover::report::{HandoverReport, TurnReport};
use chat_headstart_core::handover::turn::{Step1End, Turn, TurnOptions, TurnParams, TurnSink};
use chat_headstart_core::session::api::{ApiError, CreatedSession, TriggerApi};
use chat_headstart_core::session::http::{s2_client, S2Client};
use chat_headstart_core::session::ApiConfig;
use chat_headstart_core::wire::ids::generate_message_id;
use chat_headstart_core::wire::{
  create_session_body, parse_head_start_request, CreateSessionOptions, HeadStartRequest,
  RequestLimits, SessionPayload,
};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Notification kinds delivered to the engine's JS callback `(turn, kind, bytes, text)`.
const KIND_SESSION_OK: u32 = 1;
const KIND_SESSION_ERROR: u32 = 2;
const KIND_BODY: u32 = 3;
const KIND_DISPATCHED: u32 = 4;
const KIND_END: u32 = 5;
const KIND_WARN: u32 = 6;
const KIND_APPEND_DONE: u32 = 7;

struct Notification {
  turn: u32,
  kind: u32,
  bytes: Option<Vec<u8>>,
  text: Option<String>,
}

type NotifyArgs = FnArgs<(u32, u32, Option<Buffer>, Option<String>)>;
type Notifier = ThreadsafeFunction<Notification, (), NotifyArgs, Status, false, true, 0>;

fn runtime() -> &'static tokio::runtime::Runtime {
  static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
  RT.get_or_init(|| {
    // Network I/O only: one worker leaves the other core to Node's main thread.
    let workers = std::env::var("CHAT_HEADSTART_THREADS")
      .ok()
      .and_then(|v| v.parse().ok())
      .unwrap_or(1usize)
      .max(1);
    tokio::runtime::Builder::new_multi_thread()
      .worker_threads(workers)
      .thread_name("chat-headstart")
      .enable_all()
      .build()
      .expect("tokio runtime starts")
  })
}

struct JsSink {
  turn: u32,
  notify: Arc<Notifier>,
  /// JS observes this turn (a diagnostics_channel subscriber): the dispatch and end
  /// notifications carry the reports as JSON text. Off, they carry none and nothing is built.
  reports: bool,
}

impl JsSink {
  fn send(&self, kind: u32, bytes: Option<Vec<u8>>, text: Option<String>) {
    self.notify.call(
      Notification {
        turn: self.turn,
        kind,
        bytes,
        text,
      },
      ThreadsafeFunctionCallMode::NonBlocking,
    );
  }
}

fn json_str(s: &str) -> String {
  serde_json::to_string(s).expect("string serializes")
}

impl TurnSink for JsSink {
  fn session(&self, result: std::result::Result<CreatedSession, ApiError>) {
    match result {
      Ok(s) => self.send(
        KIND_SESSION_OK,
        None,
        Some(format!(
          "{{\"token\":{},\"pendingVersion\":{}}}",
          json_str(&s.public_access_token),
          s.pending_version
        )),
      ),
      Err(e) => self.send(
        KIND_SESSION_ERROR,
        None,
        Some(format!(
          "{{\"status\":{},\"message\":{}}}",
          e.status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "null".into()),
          json_str(&e.message)
        )),
      ),
    }
  }
  fn body(&self, bytes: Vec<u8>) {
    self.send(KIND_BODY, Some(bytes), None);
  }
  fn dispatched(&self, handover: Option<&HandoverReport>) {
    let text = handover
      .filter(|_| self.reports)
      .map(HandoverReport::to_json);
    self.send(KIND_DISPATCHED, None, text);
  }
  fn end(&self, last: Vec<u8>, report: &TurnReport) {
    let text = self.reports.then(|| report.to_json());
    self.send(KIND_END, (!last.is_empty()).then_some(last), text);
  }
  fn warn(&self, message: String) {
    self.send(KIND_WARN, None, Some(message));
  }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EngineConfig {
  base_url: String,
  secret_key: String,
  #[serde(default)]
  branch: Option<String>,
  #[serde(default)]
  realtime_streams_version: Option<String>,
  #[serde(default)]
  extra_ca_pem: Option<String>,
  /// `JSON.stringify({agentId, idleTimeoutInSeconds?, triggerConfig?, tags?,
  /// clientExternalDeploymentId?})`, parsed by `wire::CreateSessionOptions`.
  session_options: String,
  #[serde(default)]
  max_body_bytes: Option<usize>,
  #[serde(default)]
  handover_timeout_ms: Option<u64>,
  #[serde(default)]
  keep_alive_ms: Option<u64>,
  #[serde(default)]
  tee_buffer_max_bytes: Option<usize>,
}

struct OpenTurn {
  request: HeadStartRequest,
  message_id: String,
}

#[napi]
pub struct HeadStartEngine {
  api: Arc<TriggerApi>,
  s2: S2Client,
  session_options: CreateSessionOptions,
  opts: TurnOptions,
  limits: RequestLimits,
  notify: Arc<Notifier>,
  next_turn: u32,
  opened: HashMap<u32, OpenTurn>,
  turns: HashMap<u32, Turn>,
}

fn invalid(msg: impl Into<String>) -> Error {
  Error::new(Status::InvalidArg, msg.into())
}

impl HeadStartEngine {
  fn register(
    &mut self,
    parsed: std::result::Result<HeadStartRequest, chat_headstart_core::wire::WireError>,
  ) -> String {
    match parsed {
      Err(e) => format!(
        "{{\"ok\":false,\"status\":{},\"body\":{}}}",
        e.status,
        json_str(&String::from_utf8_lossy(&e.json_body()))
      ),
      Ok(request) => {
        self.next_turn = self.next_turn.wrapping_add(1).max(1);
        let turn = self.next_turn;
        let message_id = generate_message_id();
        let out = format!(
          "{{\"ok\":true,\"turn\":{turn},\"chatId\":{},\"messageId\":\"{message_id}\",\"messages\":{}}}",
          json_str(request.chat_id()),
          request.head_start_messages_json()
        );
        self.opened.insert(
          turn,
          OpenTurn {
            request,
            message_id,
          },
        );
        out
      }
    }
  }
}

#[napi]
impl HeadStartEngine {
  /// `config` is JSON (see `lib/chat.js`); `notify(turn, kind, bytes, text)` receives every
  /// asynchronous result of every turn of this engine.
  // The callback type is spelled inline so the generated typings name its four arguments.
  #[allow(clippy::type_complexity)]
  #[napi(constructor)]
  pub fn new(
    config: String,
    notify: Function<'_, FnArgs<(u32, u32, Option<Buffer>, Option<String>)>, ()>,
  ) -> Result<Self> {
    let cfg: EngineConfig =
      serde_json::from_str(&config).map_err(|e| invalid(format!("invalid engine config: {e}")))?;
    let mut api_cfg = ApiConfig::new(&cfg.base_url, &cfg.secret_key);
    api_cfg.branch = cfg.branch;
    if let Some(v) = cfg.realtime_streams_version {
      api_cfg.realtime_streams_version = v;
    }
    api_cfg.extra_ca_pem = cfg.extra_ca_pem.map(String::into_bytes);
    let session_options = CreateSessionOptions::from_json(cfg.session_options.as_bytes(), |name| {
      std::env::var(name).ok()
    })
    .map_err(|e| invalid(e.message))?;
    let s2 = s2_client(api_cfg.extra_ca_pem.as_deref()).map_err(invalid)?;
    let api = TriggerApi::new(api_cfg).map_err(invalid)?;
    let mut opts = TurnOptions::default();
    if let Some(ms) = cfg.handover_timeout_ms {
      opts.handover_timeout = Duration::from_millis(ms.max(1));
    }
    if let Some(ms) = cfg.keep_alive_ms {
      opts.keep_alive = (ms > 0).then(|| Duration::from_millis(ms));
    }
    if let Some(max) = cfg.tee_buffer_max_bytes {
      opts.tee_buffer_max = max;
    }
    let notify = notify
      .build_threadsafe_function::<Notification>()
      .callee_handled::<false>()
      .weak::<true>()
      .build_callback(|ctx| {
        let n = ctx.value;
        Ok(FnArgs::from((
          n.turn,
          n.kind,
          n.bytes.map(Buffer::from),
          n.text,
        )))
      })?;
    Ok(HeadStartEngine {
      api,
      s2,
      session_options,
      opts,
      limits: RequestLimits {
        max_body_bytes: cfg
          .max_body_bytes
          .unwrap_or(RequestLimits::default().max_body_bytes),
      },
      notify: Arc::new(notify),
      next_turn: 0,
      opened: HashMap::new(),
      turns: HashMap::new(),
    })
  }

  /// Validates and parses a request. Returns JSON: `{"ok":true,"turn":N,"chatId":…,
  /// "messageId":…,"messages":[…]}` or `{"ok":false,"status":N,"body":"{\"error\":…}"}`.
  /// Nothing is sent anywhere yet.
  #[napi]
  pub fn open(&mut self, method: String, content_type: Option<String>, body: &[u8]) -> String {
    let parsed = parse_head_start_request(&method, content_type.as_deref(), body, &self.limits);
    self.register(parsed)
  }

  /// `chat.startHeadStart`: the request built from server-side arguments (no body size cap).
  /// `messages` / `metadata` are `JSON.stringify` output. Same result shape as `open`.
  #[napi]
  pub fn open_detached(
    &mut self,
    chat_id: String,
    messages: &[u8],
    metadata: Option<&[u8]>,
  ) -> String {
    let parsed = HeadStartRequest::detached(&chat_id, messages, metadata);
    self.register(parsed)
  }

  /// Starts createSession for an opened turn (concurrently with JS calling `run()`).
  /// `notify_dispatched`: report the handover / skip dispatch (for callers that await or
  /// observe it). `reports`: the dispatch and end notifications carry the turn's reports (JSON).
  #[napi]
  pub fn begin(
    &mut self,
    turn: u32,
    detached: bool,
    notify_dispatched: bool,
    reports: bool,
  ) -> Result<()> {
    let open = self
      .opened
      .remove(&turn)
      .ok_or_else(|| invalid(format!("unknown turn {turn}")))?;
    let create_body = create_session_body(
      SessionPayload::HeadStart(&open.request),
      &self.session_options,
    )
    .map_err(|e| invalid(e.message))?;
    let sink = Arc::new(JsSink {
      turn,
      notify: self.notify.clone(),
      reports,
    });
    let handle = Turn::start(
      runtime().handle(),
      self.api.clone(),
      self.s2.clone(),
      TurnParams {
        chat_id: open.request.chat_id().to_string(),
        message_id: open.message_id,
        agent_id: self.session_options.agent_id.clone(),
        create_body,
        detached,
        notify_dispatched,
      },
      self.opts.clone(),
      sink,
    );
    self.turns.insert(turn, handle);
    Ok(())
  }

  /// Server-side preload: createSession with `basePayload.trigger = "preload"` (no turn).
  /// Reports through the notification function as turn `id`: session ok/error, then end.
  #[napi]
  pub fn preload(
    &mut self,
    chat_id: String,
    client_data: Option<String>,
    metadata: Option<String>,
  ) -> Result<u32> {
    chat_headstart_core::wire::request::validate_chat_id(&chat_id)
      .map_err(|e| invalid(e.message))?;
    let raw = |json: Option<String>| -> Result<Option<Box<serde_json::value::RawValue>>> {
      json
        .map(|j| {
          serde_json::value::RawValue::from_string(j)
            .map_err(|e| invalid(format!("invalid JSON: {e}")))
        })
        .transpose()
    };
    let client_data = raw(client_data)?;
    let metadata = raw(metadata)?;
    let body = create_session_body(
      SessionPayload::Preload {
        chat_id: &chat_id,
        client_data_json: client_data.as_deref(),
        metadata_json: metadata.as_deref(),
      },
      &self.session_options,
    )
    .map_err(|e| invalid(e.message))?;
    self.next_turn = self.next_turn.wrapping_add(1).max(1);
    let turn = self.next_turn;
    let sink = JsSink {
      turn,
      notify: self.notify.clone(),
      reports: false,
    };
    let api = self.api.clone();
    runtime().spawn(async move {
      sink.session(api.create_session(bytes::Bytes::from(body)).await);
      sink.end(Vec::new(), &TurnReport::default());
    });
    Ok(turn)
  }

  /// A raw `session.in` append (`handle.handover()` / `handle.handoverSkip()`), with a fresh
  /// `X-Part-Id` reused across retries. Reports `append done` (text = error JSON or none) as `id`.
  #[napi]
  pub fn append_in(&mut self, chat_id: String, body: &[u8]) -> u32 {
    self.next_turn = self.next_turn.wrapping_add(1).max(1);
    let id = self.next_turn;
    let sink = JsSink {
      turn: id,
      notify: self.notify.clone(),
      reports: false,
    };
    let api = self.api.clone();
    let body = bytes::Bytes::copy_from_slice(body);
    runtime().spawn(async move {
      let part_id = chat_headstart_core::wire::ids::part_id();
      let error = api
        .append_input(&chat_id, body, &part_id)
        .await
        .err()
        .map(|e| {
          format!(
            "{{\"status\":{},\"message\":{}}}",
            e.status
              .map(|s| s.to_string())
              .unwrap_or_else(|| "null".into()),
            json_str(&e.message)
          )
        });
      sink.send(KIND_APPEND_DONE, None, error);
    });
    id
  }

  /// Step-1 chunks (JSON texts joined by newlines) → the browser's SSE bytes; tees to S2.
  #[napi]
  pub fn push(&self, turn: u32, chunks: &[u8]) -> Buffer {
    match self.turns.get(&turn) {
      Some(t) => Buffer::from(t.push_chunks(chunks)),
      None => Buffer::from(Vec::new()),
    }
  }

  /// End of step 1: `kind` 0 = finished (`finishReason` + raw `response.messages` JSON),
  /// 1 = aborted, 2 = `run()` threw, 3 = the caller dispatched the handover itself.
  #[napi]
  pub fn finish(
    &self,
    turn: u32,
    kind: u32,
    finish_reason: Option<String>,
    messages: Option<String>,
  ) {
    let Some(t) = self.turns.get(&turn) else {
      return;
    };
    let end = match (kind, finish_reason, messages) {
      (0, Some(finish_reason), Some(messages_json)) => Step1End::Finished {
        finish_reason,
        messages_json,
      },
      (2, _, _) => Step1End::RunFailed,
      (3, _, _) => Step1End::External,
      _ => Step1End::Aborted,
    };
    t.finish(end);
  }

  /// The browser went away.
  #[napi]
  pub fn cancel(&self, turn: u32) {
    if let Some(t) = self.turns.get(&turn) {
      t.cancel();
    }
  }

  /// Response backpressure: stop / restart reading the agent's output.
  #[napi]
  pub fn set_paused(&self, turn: u32, paused: bool) {
    if let Some(t) = self.turns.get(&turn) {
      t.set_paused(paused);
    }
  }

  /// The response consumer took `bytes` more of the phase-2 body (reported in batches); phase 2
  /// keeps at most `BODY_WINDOW_BYTES` unconsumed.
  #[napi]
  pub fn body_consumed(&self, turn: u32, bytes: u32) {
    if let Some(t) = self.turns.get(&turn) {
      t.body_consumed(bytes as usize);
    }
  }

  /// Forgets a turn (after its `end` notification, or an opened turn that never began).
  #[napi]
  pub fn release(&mut self, turn: u32) {
    self.opened.remove(&turn);
    self.turns.remove(&turn);
  }
}
