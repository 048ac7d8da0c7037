//! One head-start turn, from createSession to the last response byte (protocol.md §2.7, §6).
//!
//! JS drives step 1 (it calls `run()` and pumps the UI chunks in batches through
//! [`Turn::push_chunks`], which returns the browser bytes synchronously and tees the records
//! to the S2 writer); Rust does everything networked: createSession (concurrently with
//! `run()`, improvement 1), `session.out` initialize, the S2 writes, the handover or skip, and
//! phase 2 (splice, keep-alives, the handover timeout). Asynchronous results reach JS through a
//! [`TurnSink`] (one long-lived threadsafe function in the binding).

use super::splice::{write_error_frame, SpliceStep, Splicer, KEEP_ALIVE_FRAME};
use crate::session::api::{ApiError, CreatedSession, TriggerApi};
use crate::session::http::S2Client;
use crate::session::s2::{run_writer, WriterInput, WriterOptions, WriterOutcome, MAX_RECORD_BODY};
use crate::session::subscribe::{subscribe_session_out, SubscriptionEvent, SubscriptionOptions};
use crate::wire::ids::{envelope_id, part_id};
use crate::wire::{handover_body, HANDOVER_SKIP_BODY};
use bytes::Bytes;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::time::Instant;

/// Where a turn reports what JS must act on. Implementations must not block.
pub trait TurnSink: Send + Sync + 'static {
  /// createSession finished (the response headers can be built, or the request fails).
  fn session(&self, result: Result<CreatedSession, ApiError>);
  /// Phase-2 bytes for the browser (already SSE-framed).
  fn body(&self, bytes: Vec<u8>);
  /// The handover / skip dispatch finished. Only for turns started with
  /// `TurnParams::notify_dispatched` (the callers that await the dispatch).
  fn dispatched(&self);
  /// The response is complete; `last` holds its final bytes (possibly none). One call, so the
  /// end of a turn costs the JS thread one wake-up, not one for the last bytes and one more.
  fn end(&self, last: Vec<u8>);
  /// A diagnosable failure that does not change the response (never contains secrets).
  fn warn(&self, message: String);
}

#[derive(Debug, Clone)]
pub struct TurnOptions {
  /// Improvement 4: phase 2 ends with an `error` chunk after this long without agent records.
  pub handover_timeout: Duration,
  /// Improvement 3: SSE comment while phase 2 is silent (`None` disables).
  pub keep_alive: Option<Duration>,
  /// Bound on step-1 record bytes queued for the S2 writer (the tee buffer).
  pub tee_buffer_max: usize,
  pub writer: WriterOptions,
  pub subscription: SubscriptionOptions,
}

impl Default for TurnOptions {
  fn default() -> Self {
    TurnOptions {
      handover_timeout: Duration::from_secs(120),
      keep_alive: Some(Duration::from_secs(15)),
      tee_buffer_max: 32 * 1024 * 1024,
      writer: WriterOptions::default(),
      subscription: SubscriptionOptions::default(),
    }
  }
}

/// How step 1 ended, as JS observed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step1End {
  /// `finishReason` and `response.messages` (raw JSON) resolved.
  Finished {
    finish_reason: String,
    messages_json: String,
  },
  /// `finishReason` or `response` rejected (browser abort, idle timeout, provider abort).
  Aborted,
  /// `run()` threw: tell the agent to exit (improvement 5), no phase 2.
  RunFailed,
  /// The caller dispatched the handover itself (`handle.handover()` / `handoverSkip()`): the
  /// turn sends nothing more and ends.
  External,
}

struct Shared {
  writer_tx: Mutex<Option<mpsc::UnboundedSender<WriterInput>>>,
  tee_bytes: AtomicUsize,
  tee_failed: AtomicBool,
  own_ids: Mutex<HashSet<String>>,
  end_tx: Mutex<Option<oneshot::Sender<Step1End>>>,
  cancel: watch::Sender<bool>,
  paused: AtomicBool,
  resumed: Notify,
  /// Phase-2 body bytes handed to the sink that the consumer has not reported as taken yet
  /// (`body_consumed`): the pause signal arrives late, this bounds what is in flight meanwhile.
  unconsumed_body: AtomicUsize,
  tee_buffer_max: usize,
}

/// Phase 2 stops reading `session.out` while more than this many body bytes sit unconsumed
/// between the sink and the browser (notification queue, JS pipe).
pub const BODY_WINDOW_BYTES: usize = 512 * 1024;

/// Handle JS holds for one turn.
#[derive(Clone)]
pub struct Turn {
  shared: Arc<Shared>,
}

pub struct TurnParams {
  pub chat_id: String,
  pub message_id: String,
  /// The createSession body (built by `request::create_session_body`).
  pub create_body: Vec<u8>,
  /// `chat.startHeadStart`: no browser response, so no phase 2 after the dispatch.
  pub detached: bool,
  /// Report the dispatch through `TurnSink::dispatched` (a JS wake-up that `chat.headStart`
  /// does not need: it only waits for the response).
  pub notify_dispatched: bool,
}

impl Turn {
  /// Starts createSession right away and returns the handle for step 1.
  pub fn start(
    rt: &tokio::runtime::Handle,
    api: Arc<TriggerApi>,
    s2: S2Client,
    params: TurnParams,
    opts: TurnOptions,
    sink: Arc<dyn TurnSink>,
  ) -> Turn {
    let (writer_tx, writer_rx) = mpsc::unbounded_channel();
    let (end_tx, end_rx) = oneshot::channel();
    let (cancel, _) = watch::channel(false);
    let shared = Arc::new(Shared {
      writer_tx: Mutex::new(Some(writer_tx)),
      tee_bytes: AtomicUsize::new(0),
      tee_failed: AtomicBool::new(false),
      own_ids: Mutex::new(HashSet::new()),
      end_tx: Mutex::new(Some(end_tx)),
      cancel,
      paused: AtomicBool::new(false),
      resumed: Notify::new(),
      unconsumed_body: AtomicUsize::new(0),
      tee_buffer_max: opts.tee_buffer_max,
    });
    let turn = Turn {
      shared: shared.clone(),
    };
    rt.spawn(run_turn(
      shared, api, s2, params, opts, sink, writer_rx, end_rx,
    ));
    turn
  }

  /// Step-1 chunks as JSON texts joined by `\n` (JSON.stringify never emits a raw newline).
  /// Returns the browser SSE bytes for them and queues one S2 record per chunk.
  pub fn push_chunks(&self, joined: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(joined.len() + 8 * 16);
    let writer = self.shared.writer_tx.lock().expect("not poisoned");
    let mut own_ids = self.shared.own_ids.lock().expect("not poisoned");
    for chunk in joined.split(|&b| b == b'\n').filter(|c| !c.is_empty()) {
      out.extend_from_slice(b"data: ");
      out.extend_from_slice(chunk);
      out.extend_from_slice(b"\n\n");
      if self.shared.tee_failed.load(Ordering::Relaxed) {
        continue;
      }
      let Some(tx) = writer.as_ref() else { continue };
      let id = envelope_id();
      let mut record = Vec::with_capacity(chunk.len() + 24);
      record.extend_from_slice(b"{\"data\":");
      record.extend_from_slice(chunk);
      record.extend_from_slice(b",\"id\":\"");
      record.extend_from_slice(id.as_bytes());
      record.extend_from_slice(b"\"}");
      let queued = self
        .shared
        .tee_bytes
        .fetch_add(record.len(), Ordering::Relaxed)
        + record.len();
      let failure = if record.len() > MAX_RECORD_BODY {
        Some(format!(
          "chunk of {} bytes exceeds the {MAX_RECORD_BODY}-byte session.out record cap",
          record.len()
        ))
      } else if queued > self.shared.tee_buffer_max {
        Some(format!(
          "step-1 tee buffer exceeded {} bytes before S2 accepted it",
          self.shared.tee_buffer_max
        ))
      } else {
        None
      };
      if let Some(message) = failure {
        self.shared.tee_failed.store(true, Ordering::Relaxed);
        let _ = tx.send(WriterInput::Fail(message));
        continue;
      }
      own_ids.insert(id);
      let _ = tx.send(WriterInput::Record(Bytes::from(record)));
    }
    out
  }

  /// Step 1 is over; the turn dispatches the handover or skip. Later calls are ignored.
  pub fn finish(&self, end: Step1End) {
    if let Some(tx) = self.shared.end_tx.lock().expect("not poisoned").take() {
      let _ = tx.send(end);
    }
  }

  /// The browser went away: abort the S2 writer and the phase-2 read. The dispatch still
  /// happens (JS reports the aborted step 1 through `finish`).
  pub fn cancel(&self) {
    let _ = self.shared.cancel.send(true);
    self.shared.resumed.notify_waiters();
  }

  /// Backpressure from the response consumer.
  pub fn set_paused(&self, paused: bool) {
    self.shared.paused.store(paused, Ordering::Release);
    if !paused {
      self.shared.resumed.notify_waiters();
    }
  }

  /// The consumer took `bytes` of the bodies handed to `TurnSink::body` (reported in batches).
  pub fn body_consumed(&self, bytes: usize) {
    let before = self
      .shared
      .unconsumed_body
      .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
        Some(n.saturating_sub(bytes))
      })
      .unwrap_or(0);
    if before.saturating_sub(bytes) <= BODY_WINDOW_BYTES {
      self.shared.resumed.notify_waiters();
    }
  }
}

impl Shared {
  fn emit_body(&self, sink: &dyn TurnSink, bytes: Vec<u8>) {
    self
      .unconsumed_body
      .fetch_add(bytes.len(), Ordering::AcqRel);
    sink.body(bytes);
  }

  fn must_wait_for_consumer(&self) -> bool {
    self.paused.load(Ordering::Acquire)
      || self.unconsumed_body.load(Ordering::Acquire) > BODY_WINDOW_BYTES
  }
}

async fn cancelled(mut rx: watch::Receiver<bool>) {
  let _ = rx.wait_for(|c| *c).await;
}

#[allow(clippy::too_many_arguments)]
async fn run_turn(
  shared: Arc<Shared>,
  api: Arc<TriggerApi>,
  s2: S2Client,
  params: TurnParams,
  opts: TurnOptions,
  sink: Arc<dyn TurnSink>,
  writer_rx: mpsc::UnboundedReceiver<WriterInput>,
  end_rx: oneshot::Receiver<Step1End>,
) {
  let chat_id = params.chat_id;
  match api.create_session(Bytes::from(params.create_body)).await {
    Ok(created) => sink.session(Ok(created)),
    Err(e) => {
      sink.session(Err(e));
      sink.end(Vec::new());
      return;
    }
  }

  // The writer starts once `PUT …/out` returns; records queue in the channel meanwhile.
  let writer = {
    let api = api.clone();
    let chat_id = chat_id.clone();
    let writer_opts = opts.writer.clone();
    tokio::spawn(async move {
      match api.initialize_stream(&chat_id, "out").await {
        Ok(creds) => run_writer(s2, creds, writer_rx, writer_opts).await,
        Err(e) => WriterOutcome {
          last_acked_seq: None,
          error: Some(crate::session::s2::WriterError {
            status: e.status,
            code: e.code,
            message: e.message,
          }),
        },
      }
    })
  };

  let end = end_rx.await.unwrap_or(Step1End::Aborted);
  // Source done: the writer flushes what is queued (no linger) and closes.
  shared.writer_tx.lock().expect("not poisoned").take();
  let outcome = {
    let abort = writer.abort_handle();
    tokio::select! {
      r = writer => r.unwrap_or_default(),
      _ = cancelled(shared.cancel.subscribe()) => {
        abort.abort();
        WriterOutcome { last_acked_seq: None, error: None }
      }
    }
  };
  if let Some(err) = &outcome.error {
    sink.warn(format!(
      "[chat.handover] session.out write failed (chatId {chat_id:?}): {}{}",
      err.message,
      err
        .status
        .map(|s| format!(" (status {s})"))
        .unwrap_or_default()
    ));
  }

  let mut early_subscription = None;
  let handover = match &end {
    Step1End::Finished {
      finish_reason,
      messages_json,
    } => {
      let is_final = finish_reason != "tool-calls";
      match handover_body(messages_json.as_bytes(), &params.message_id, is_final) {
        Ok(body) => {
          // The phase-2 read opens while the handover append is in flight (it only waits for
          // records after our last acked seq, which only the agent can write), saving one
          // control-plane round trip. It starts a moment after the append so the API sees the
          // handover first, and is dropped (before it is sent, normally) if the append fails.
          if !params.detached {
            early_subscription = Some(start_subscription(
              &api,
              &chat_id,
              outcome.last_acked_seq,
              &opts,
              EARLY_SUBSCRIBE_DELAY,
            ));
          }
          match api
            .append_input(&chat_id, Bytes::from(body), &part_id())
            .await
          {
            Ok(()) => true,
            Err(e) => {
              early_subscription = None;
              sink.warn(format!(
                "[chat.handover] handover append failed (chatId {chat_id:?}): {e}"
              ));
              false
            }
          }
        }
        Err(e) => {
          sink.warn(format!(
            "[chat.handover] cannot build the handover (chatId {chat_id:?}): {e}"
          ));
          false
        }
      }
    }
    Step1End::Aborted | Step1End::RunFailed => false,
    Step1End::External => {
      if params.notify_dispatched {
        sink.dispatched();
      }
      sink.end(Vec::new());
      return;
    }
  };
  if !handover {
    if let Err(e) = api
      .append_input(&chat_id, Bytes::from_static(HANDOVER_SKIP_BODY), &part_id())
      .await
    {
      sink.warn(format!(
        "[chat.handover] handover-skip append failed (chatId {chat_id:?}): {e}"
      ));
    }
  }
  if params.notify_dispatched {
    sink.dispatched();
  }
  if !handover || params.detached || *shared.cancel.borrow() {
    sink.end(Vec::new());
    return;
  }

  let last = phase_two(
    &shared,
    api,
    chat_id,
    outcome.last_acked_seq,
    early_subscription,
    &opts,
    sink.as_ref(),
  )
  .await;
  sink.end(last);
}

/// Splices the agent's output into the response until the turn completes, fails or times
/// out; returns the response's final bytes (for `TurnSink::end`), none when cancelled.
async fn phase_two(
  shared: &Shared,
  api: Arc<TriggerApi>,
  chat_id: String,
  resume_after: Option<u64>,
  mut early: Option<Subscription>,
  opts: &TurnOptions,
  sink: &dyn TurnSink,
) -> Vec<u8> {
  let own_ids = std::mem::take(&mut *shared.own_ids.lock().expect("not poisoned"));
  let mut splicer = Splicer::new(own_ids);
  let mut deadline = Instant::now() + opts.handover_timeout;
  let keep_alive_every = opts
    .keep_alive
    .unwrap_or(Duration::from_secs(3600 * 24 * 365));
  let mut keep_alive =
    tokio::time::interval_at(Instant::now() + keep_alive_every, keep_alive_every);
  let mut cancel = shared.cancel.subscribe();
  let mut cursor = resume_after;

  'subscribe: loop {
    let (mut rx, _abort_on_exit) = match early.take() {
      Some(sub) => sub,
      None => start_subscription(&api, &chat_id, cursor, opts, Duration::ZERO),
    };
    loop {
      // Backpressure: while the browser side is full, stop reading upstream.
      let mut waited = false;
      while shared.must_wait_for_consumer() && !*cancel.borrow() {
        let resumed = shared.resumed.notified();
        if !shared.must_wait_for_consumer() {
          break;
        }
        waited = true;
        tokio::select! {
          _ = resumed => {}
          _ = cancel.changed() => {}
        }
      }
      // A stalled browser is not a silent agent: the handover timeout counts from here.
      if waited {
        deadline = deadline.max(Instant::now() + opts.handover_timeout);
      }
      let event = tokio::select! {
        _ = cancel.wait_for(|c| *c) => return Vec::new(),
        _ = tokio::time::sleep_until(deadline) => {
          let mut out = Vec::new();
          write_error_frame(&mut out, &format!(
            "chat-headstart: the agent wrote nothing to session.out for {} s after the handover (handoverTimeoutInSeconds); giving up on this response",
            opts.handover_timeout.as_secs()
          ));
          splicer.write_session_state(&mut out);
          return out;
        }
        _ = keep_alive.tick(), if opts.keep_alive.is_some() => {
          shared.emit_body(sink, KEEP_ALIVE_FRAME.to_vec());
          continue;
        }
        ev = rx.recv() => ev,
      };
      match event {
        Some(SubscriptionEvent::Batches(batches)) => {
          let mut out = Vec::new();
          let mut complete = false;
          for b in &batches {
            match splicer.on_batch(b, &mut out) {
              Ok(SpliceStep::TurnComplete) => {
                complete = true;
                break;
              }
              Ok(SpliceStep::Continue) => {}
              Err(e) => sink.warn(format!(
                "[chat.handover] skipped a session.out batch (chatId {chat_id:?}): {e}"
              )),
            }
          }
          cursor = splicer.cursor().or(cursor);
          if splicer.take_progress() {
            deadline = Instant::now() + opts.handover_timeout;
          }
          if complete {
            splicer.write_session_state(&mut out);
            return out;
          }
          if !out.is_empty() {
            shared.emit_body(sink, out);
            keep_alive.reset();
          }
        }
        // The long-poll window closed before the agent finished (slow boot): read on from the
        // cursor until the handover timeout decides.
        Some(SubscriptionEvent::Ended) | None => {
          tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => continue 'subscribe,
            _ = cancel.wait_for(|c| *c) => return Vec::new(),
          }
        }
        Some(SubscriptionEvent::Failed(e)) => {
          let mut out = Vec::new();
          write_error_frame(
            &mut out,
            &format!(
              "chat-headstart: reading the agent's output failed: {}{}",
              e.message,
              e.status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
            ),
          );
          splicer.write_session_state(&mut out);
          sink.warn(format!(
            "[chat.handover] session.out subscription failed (chatId {chat_id:?}): {e}"
          ));
          return out;
        }
      }
    }
  }
}

/// Delay between sending the handover append and opening the phase-2 read.
const EARLY_SUBSCRIBE_DELAY: Duration = Duration::from_millis(15);

type Subscription = (mpsc::Receiver<SubscriptionEvent>, AbortOnDrop);

fn start_subscription(
  api: &Arc<TriggerApi>,
  chat_id: &str,
  after: Option<u64>,
  opts: &TurnOptions,
  delay: Duration,
) -> Subscription {
  let (tx, rx) = mpsc::channel(2);
  let (api, chat_id, sub_opts) = (api.clone(), chat_id.to_string(), opts.subscription.clone());
  let task = tokio::spawn(async move {
    if !delay.is_zero() {
      tokio::time::sleep(delay).await;
    }
    subscribe_session_out(api, chat_id, after, tx, sub_opts).await
  });
  (rx, AbortOnDrop(task))
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
  fn drop(&mut self) {
    self.0.abort();
  }
}
