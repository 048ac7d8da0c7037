//! Binding of the head-start turn (`chat-headstart-core::handover`). One `HeadStartEngine` per
//! handler configuration; every crossing is O(1) per request or per batch of chunks, and all
//! asynchronous results come back through ONE long-lived threadsafe function per engine
//! instead of an `async fn` per call. The types that cross are in `seam`.
//!
//! A head-start turn crosses into Rust three times (`open`, `begin`, `TurnHandle.finish`) plus
//! once per batch of step-1 chunks (`TurnHandle.push`), and calls back into JS twice
//! (`SessionOk` / `SessionError`, `End`) plus once per batch of phase-2 bytes (`Body`);
//! `__test__/headstart-seam.spec.ts` counts them.

mod seam;

use seam::{
  notifier, Detail, EngineConfig, HeadStartError, JsSink, Notifier, NotifyArgs, OpenedTurn,
  StepOneEnd, TurnEvent,
};

use chat_headstart_core::handover::report::TurnReport;
use chat_headstart_core::handover::turn::{Turn, TurnOptions, TurnParams, TurnSink};
use chat_headstart_core::session::api::TriggerApi;
use chat_headstart_core::session::http::{s2_client, S2Client};
use chat_headstart_core::session::ApiConfig;
use chat_headstart_core::wire::ids::generate_message_id;
use chat_headstart_core::wire::{
  create_session_body, parse_head_start_request, CreateSessionOptions, HeadStartRequest,
  RequestLimits, SessionPayload, WireError,
};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

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

/// A configuration or argument JS got wrong: thrown (a programming error, not a request's).
fn invalid(msg: impl Into<String>) -> Error {
  Error::new(Status::InvalidArg, msg.into())
}

/// A non-negative JS number as a size or duration (negative → 0).
fn non_negative(n: i64) -> u64 {
  n.max(0) as u64
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
  next_id: u32,
  /// Validated requests waiting for `begin` (or `release`, when JS refuses them).
  opened: HashMap<u32, OpenTurn>,
}

impl HeadStartEngine {
  fn next_id(&mut self) -> u32 {
    self.next_id = self.next_id.wrapping_add(1).max(1);
    self.next_id
  }

  fn sink(&self, turn: u32, reports: bool) -> JsSink {
    JsSink {
      turn,
      notify: self.notify.clone(),
      reports,
    }
  }

  fn register(
    &mut self,
    parsed: std::result::Result<HeadStartRequest, WireError>,
  ) -> Either<OpenedTurn, HeadStartError> {
    let request = match parsed {
      Ok(request) => request,
      Err(e) => return Either::B(e.into()),
    };
    let turn = self.next_id();
    let opened = OpenedTurn {
      turn,
      chat_id: request.chat_id().to_string(),
      message_id: generate_message_id(),
      messages_json: request.head_start_messages_json().to_string(),
    };
    let message_id = opened.message_id.clone();
    self.opened.insert(
      turn,
      OpenTurn {
        request,
        message_id,
      },
    );
    Either::A(opened)
  }
}

#[napi]
impl HeadStartEngine {
  /// `notify(turn, event, bytes, detail)` receives every asynchronous result of every turn of
  /// this engine.
  #[napi(constructor)]
  pub fn new(
    config: EngineConfig,
    #[napi(
      ts_arg_type = "(turn: number, event: TurnEvent, bytes: Buffer | undefined | null, detail: CreatedSessionInfo | HeadStartError | string | undefined | null) => void"
    )]
    notify: Function<'_, NotifyArgs, ()>,
  ) -> Result<Self> {
    let mut api_cfg = ApiConfig::new(&config.base_url, &config.secret_key);
    api_cfg.branch = config.branch;
    if let Some(v) = config.realtime_streams_version {
      api_cfg.realtime_streams_version = v;
    }
    api_cfg.extra_ca_pem = config.extra_ca_pem.map(String::into_bytes);
    let session_options =
      CreateSessionOptions::from_json(config.session_options_json.as_bytes(), |name| {
        std::env::var(name).ok()
      })
      .map_err(|e| invalid(e.message))?;
    let s2 = s2_client(api_cfg.extra_ca_pem.as_deref()).map_err(invalid)?;
    let api = TriggerApi::new(api_cfg).map_err(invalid)?;
    let mut opts = TurnOptions::default();
    if let Some(ms) = config.handover_timeout_ms {
      opts.handover_timeout = Duration::from_millis(non_negative(ms).max(1));
    }
    if let Some(ms) = config.keep_alive_ms {
      opts.keep_alive = (ms > 0).then(|| Duration::from_millis(non_negative(ms)));
    }
    if let Some(max) = config.tee_buffer_max_bytes {
      opts.tee_buffer_max = non_negative(max) as usize;
    }
    #[cfg(feature = "testing")]
    if let Some(linger) = crate::binding::testing::s2_linger() {
      opts.writer.linger = linger;
    }
    let limits = RequestLimits {
      max_body_bytes: config
        .max_body_bytes
        .map_or(RequestLimits::default().max_body_bytes, |n| {
          non_negative(n) as usize
        }),
    };
    Ok(HeadStartEngine {
      api,
      s2,
      session_options,
      opts,
      limits,
      notify: Arc::new(notifier(notify)?),
      next_id: 0,
      opened: HashMap::new(),
    })
  }

  /// Validates and parses a request: the opened turn, or the refusal to answer with (status
  /// and message of the `{"error": …}` body). Nothing is sent anywhere yet.
  #[napi]
  pub fn open(
    &mut self,
    method: String,
    content_type: Option<String>,
    body: &[u8],
  ) -> Either<OpenedTurn, HeadStartError> {
    let parsed = parse_head_start_request(&method, content_type.as_deref(), body, &self.limits);
    self.register(parsed)
  }

  /// `chat.startHeadStart`: the request built from server-side arguments (no body size cap).
  /// `messages` / `metadata` are `JSON.stringify` output. Same result as `open`.
  #[napi]
  pub fn open_detached(
    &mut self,
    chat_id: String,
    messages: &[u8],
    metadata: Option<&[u8]>,
  ) -> Either<OpenedTurn, HeadStartError> {
    let parsed = HeadStartRequest::detached(&chat_id, messages, metadata);
    self.register(parsed)
  }

  /// Starts createSession for an opened turn (concurrently with JS calling `run()`); the
  /// returned handle takes step 1. `notify_dispatched`: report the handover / skip dispatch
  /// (for callers that await or observe it). `reports`: the dispatch and end notifications
  /// carry the turn's reports.
  #[napi]
  pub fn begin(
    &mut self,
    turn: u32,
    detached: bool,
    notify_dispatched: bool,
    reports: bool,
  ) -> Result<TurnHandle> {
    let open = self
      .opened
      .remove(&turn)
      .ok_or_else(|| invalid(format!("unknown turn {turn}")))?;
    let create_body = create_session_body(
      SessionPayload::HeadStart(&open.request),
      &self.session_options,
    )
    .map_err(|e| invalid(e.message))?;
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
      Arc::new(self.sink(turn, reports)),
    );
    Ok(TurnHandle { turn: handle })
  }

  /// Forgets an opened turn that will not begin (JS refused the request after `open`).
  #[napi]
  pub fn release(&mut self, turn: u32) {
    self.opened.remove(&turn);
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
    let id = self.next_id();
    let sink = self.sink(id, false);
    let api = self.api.clone();
    runtime().spawn(async move {
      sink.session(api.create_session(bytes::Bytes::from(body)).await);
      sink.end(Vec::new(), &TurnReport::default());
    });
    Ok(id)
  }

  /// A raw `session.in` append (`handle.handover()` / `handle.handoverSkip()`), with a fresh
  /// `X-Part-Id` reused across retries. Reports `AppendDone` (with the error, if any) as `id`.
  #[napi]
  pub fn append_in(&mut self, chat_id: String, body: &[u8]) -> u32 {
    let id = self.next_id();
    let sink = self.sink(id, false);
    let api = self.api.clone();
    let body = bytes::Bytes::copy_from_slice(body);
    runtime().spawn(async move {
      let part_id = chat_headstart_core::wire::ids::part_id();
      match api.append_input(&chat_id, body, &part_id).await {
        Ok(()) => sink.send(TurnEvent::AppendDone, None, None::<Detail>),
        Err(e) => sink.failed(TurnEvent::AppendDone, e),
      }
    });
    id
  }
}

/// One begun turn, held by JS for step 1 and the response; dropping it (garbage collection)
/// leaves the turn running to its end.
#[napi]
pub struct TurnHandle {
  turn: Turn,
}

#[napi]
impl TurnHandle {
  /// Step-1 chunks (JSON texts joined by newlines) → the browser's SSE bytes; tees to S2.
  #[napi]
  pub fn push(&self, chunks: &[u8]) -> Buffer {
    Buffer::from(self.turn.push_chunks(chunks))
  }

  /// End of step 1 (`finish_reason` and the raw `response.messages` JSON for `Finished`).
  #[napi]
  pub fn finish(
    &self,
    end: StepOneEnd,
    finish_reason: Option<String>,
    messages_json: Option<String>,
  ) {
    self
      .turn
      .finish(end.into_core(finish_reason, messages_json));
  }

  /// The browser went away.
  #[napi]
  pub fn cancel(&self) {
    self.turn.cancel();
  }

  /// Response backpressure: stop / restart reading the agent's output.
  #[napi]
  pub fn set_paused(&self, paused: bool) {
    self.turn.set_paused(paused);
  }

  /// The response consumer took `bytes` more of the phase-2 body (reported in batches); phase 2
  /// keeps at most `BODY_WINDOW_BYTES` unconsumed.
  #[napi]
  pub fn body_consumed(&self, bytes: u32) {
    self.turn.body_consumed(bytes as usize);
  }
}
