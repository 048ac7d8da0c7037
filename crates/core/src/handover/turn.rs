//! One head-start turn, from createSession to the last response byte (docs/protocol.md §2.7, §6).
//!
//! JS drives step 1 (it calls `run()` and pumps the UI chunks in batches through
//! [`Turn::push_chunks`], which returns the browser bytes synchronously and tees the records
//! to the S2 writer); Rust does everything networked: createSession (concurrently with
//! `run()`, docs/protocol.md §2.7), `session.out` initialize, the S2 writes, the handover or skip, and
//! phase 2 (splice, keep-alives, the handover timeout). Asynchronous results reach JS through a
//! [`TurnSink`] (one long-lived threadsafe function in the binding).
//!
//! Observability (target `chat_headstart_core::handover::turn`): the turn runs in an info span
//! `turn` (chat, agent and message ids; `outcome` once known) with debug child spans `tee` (the
//! S2 writer), `handover` and `phase2`; each phase ends with a debug event (`step 1 finished`,
//! `handover sent` / `handover-skip sent`, `turn-complete received`), failures are warn events
//! and the turn closes with one info event `turn ended` carrying the outcome and the timings.
//! The same numbers reach JS once, with the end notification, as a [`TurnReport`].

use super::report::{
  CallReport, Decision, HandoverReport, Outcome, Phase2Report, SkipReason, TeeReport, TurnReport,
};
use super::splice::{write_error_frame, SpliceStep, Splicer, KEEP_ALIVE_FRAME};
use crate::logging::ms_since;
use crate::session::api::{ApiError, CreatedSession, TriggerApi};
use crate::session::http::S2Client;
use crate::session::s2::{
  run_writer, tee_channel, TeeInput, TeeSender, WriterInput, WriterOptions, WriterOutcome,
  MAX_RECORD_BODY,
};
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
use tracing::field::Empty;
use tracing::Instrument;

/// Where a turn reports what JS must act on. Implementations must not block.
pub trait TurnSink: Send + Sync + 'static {
  /// createSession finished (the response headers can be built, or the request fails).
  fn session(&self, result: Result<CreatedSession, ApiError>);
  /// Phase-2 bytes for the browser (already SSE-framed).
  fn body(&self, bytes: Vec<u8>);
  /// The handover / skip dispatch finished: what was sent, `None` when the caller dispatched
  /// it itself. Only for turns started with `TurnParams::notify_dispatched` (the callers that
  /// await the dispatch, or observe it).
  fn dispatched(&self, handover: Option<&HandoverReport>);
  /// The response is complete; `last` holds its final bytes (possibly none), `report` what the
  /// turn did. One call, so the end of a turn costs the JS thread one wake-up, not one for the
  /// last bytes and one more.
  fn end(&self, last: Vec<u8>, report: &TurnReport);
  /// A diagnosable failure that does not change the response (never contains secrets).
  fn warn(&self, message: String);
}

#[derive(Debug, Clone)]
pub struct TurnOptions {
  /// Phase 2 ends with an `error` chunk after this long without agent records (docs/protocol.md §6.4).
  pub handover_timeout: Duration,
  /// SSE comment while phase 2 is silent (`None` disables; docs/protocol.md §6.2).
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
  /// `run()` threw: tell the agent to exit (docs/protocol.md §4.2), no phase 2.
  RunFailed,
  /// The caller dispatched the handover itself (`handle.handover()` / `handoverSkip()`): the
  /// turn sends nothing more and ends.
  External,
}

struct Shared {
  writer_tx: Mutex<Option<TeeSender>>,
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
  /// The `chat.agent` id (for the `turn` span only: the create body already names it).
  pub agent_id: String,
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
    let (writer_tx, writer_rx) = tee_channel();
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
    let span = tracing::info_span!(
      "turn",
      chat_id = %params.chat_id,
      agent_id = %params.agent_id,
      message_id = %params.message_id,
      outcome = Empty
    );
    let ctx = TurnContext {
      shared,
      api,
      opts,
      sink,
      chat_id: params.chat_id,
      message_id: params.message_id,
      detached: params.detached,
      notify_dispatched: params.notify_dispatched,
      began: std::time::Instant::now(),
    };
    let step_one = StepOneInputs {
      records: writer_rx,
      end: end_rx,
    };
    rt.spawn(run_turn(ctx, s2, params.create_body, step_one).instrument(span));
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

/// What the phases of one turn share, built once by [`Turn::start`].
struct TurnContext {
  shared: Arc<Shared>,
  api: Arc<TriggerApi>,
  opts: TurnOptions,
  sink: Arc<dyn TurnSink>,
  chat_id: String,
  message_id: String,
  detached: bool,
  notify_dispatched: bool,
  /// When the turn began: the report's times count from here.
  began: std::time::Instant,
}

/// What step 1 feeds the turn: the records to tee (`Turn::push_chunks`) and how it ended
/// (`Turn::finish`).
struct StepOneInputs {
  records: TeeInput,
  end: oneshot::Receiver<Step1End>,
}

async fn run_turn(ctx: TurnContext, s2: S2Client, create_body: Vec<u8>, step_one: StepOneInputs) {
  tracing::debug!(detached = ctx.detached, "turn started");
  let mut report = TurnReport::default();
  let last = ctx.drive(s2, create_body, step_one, &mut report).await;
  ctx.close(last, report);
}

impl TurnContext {
  fn sink(&self) -> &dyn TurnSink {
    self.sink.as_ref()
  }

  /// The turn's phases in order: createSession, the step-1 tee, the end of step 1, the
  /// handover, phase 2. Returns the response's last bytes; how it went goes into `report`.
  async fn drive(
    &self,
    s2: S2Client,
    create_body: Vec<u8>,
    step_one: StepOneInputs,
    report: &mut TurnReport,
  ) -> Vec<u8> {
    if !self.create_session(create_body, report).await {
      return Vec::new();
    }
    let tee = self.start_tee(s2, step_one.records);
    let end = self.step_one_end(step_one.end, report).await;
    let tee = self.flush_tee(tee, report).await;
    if end == Step1End::External {
      if self.notify_dispatched {
        self.sink.dispatched(None);
      }
      report.outcome = Outcome::Dispatched;
      return Vec::new();
    }
    let (handed_over, early_subscription) = self.hand_over(&end, tee.last_acked_seq, report).await;
    let cancelled_now = *self.shared.cancel.borrow();
    if !handed_over || self.detached || cancelled_now {
      report.outcome = if cancelled_now {
        Outcome::Cancelled
      } else if !handed_over {
        Outcome::Skipped
      } else {
        Outcome::Dispatched
      };
      return Vec::new();
    }
    self
      .phase_two(tee.last_acked_seq, early_subscription, report)
      .instrument(tracing::debug_span!("phase2"))
      .await
  }

  /// createSession; reports it to the sink. False when it failed: the turn is over.
  async fn create_session(&self, body: Vec<u8>, report: &mut TurnReport) -> bool {
    let mut call = CallReport::default();
    let created = self
      .api
      .create_session_with_report(Bytes::from(body), &mut call)
      .await;
    report.timings.create_session_ms = Some(ms_since(self.began));
    report.create_session = Some(call);
    match created {
      Ok(created) => {
        self.sink.session(Ok(created));
        true
      }
      Err(e) => {
        tracing::warn!(status = e.status, error = %e.message, "createSession failed");
        report.outcome = Outcome::Failed;
        report.error = Some(format!("createSession failed: {}", e.message));
        self.sink.session(Err(e));
        false
      }
    }
  }

  /// The S2 writer of step 1's records. It starts once `PUT …/out` returns; records queue in
  /// the channel meanwhile.
  fn start_tee(&self, s2: S2Client, records: TeeInput) -> tokio::task::JoinHandle<WriterOutcome> {
    let api = self.api.clone();
    let chat_id = self.chat_id.clone();
    let writer_opts = self.opts.writer.clone();
    tokio::spawn(
      async move {
        match api.initialize_stream(&chat_id, "out").await {
          Ok(creds) => run_writer(s2, creds, records, writer_opts).await,
          Err(e) => {
            tracing::warn!(status = e.status, error = %e.message, "session.out initialize failed");
            WriterOutcome {
              error: Some(crate::session::s2::WriterError {
                status: e.status,
                code: e.code,
                message: e.message,
              }),
              ..Default::default()
            }
          }
        }
      }
      .instrument(tracing::debug_span!("tee")),
    )
  }

  /// Waits for JS to report how step 1 ended (a dropped handle counts as aborted).
  async fn step_one_end(
    &self,
    end: oneshot::Receiver<Step1End>,
    report: &mut TurnReport,
  ) -> Step1End {
    let end = end.await.unwrap_or(Step1End::Aborted);
    report.timings.step1_end_ms = Some(ms_since(self.began));
    match &end {
      Step1End::Finished { finish_reason, .. } => {
        tracing::debug!(finish_reason = %finish_reason, "step 1 finished")
      }
      Step1End::Aborted => tracing::debug!("step 1 aborted"),
      Step1End::RunFailed => tracing::debug!("step 1 failed: run() threw"),
      Step1End::External => tracing::debug!("step 1 over; the caller dispatches the handover"),
    }
    end
  }

  /// Closes the tee's input and waits until S2 acked everything (or the browser left, which
  /// aborts the writer). A failed write is reported as a warning: the response goes on.
  async fn flush_tee(
    &self,
    writer: tokio::task::JoinHandle<WriterOutcome>,
    report: &mut TurnReport,
  ) -> WriterOutcome {
    // Source done: dropping the sender closes the tee and ends a linger; the writer flushes what
    // is queued and closes.
    self.shared.writer_tx.lock().expect("not poisoned").take();
    let outcome = {
      let abort = writer.abort_handle();
      tokio::select! {
        r = writer => r.ok(),
        _ = cancelled(self.shared.cancel.subscribe()) => {
          abort.abort();
          None
        }
      }
    };
    report.tee = outcome.as_ref().map(|o| TeeReport {
      stats: o.stats.clone(),
      last_acked_seq: o.last_acked_seq,
      error: o.error.as_ref().map(|e| e.message.clone()),
    });
    let outcome = outcome.unwrap_or_default();
    if let Some(err) = &outcome.error {
      self.sink.warn(format!(
        "[chat.handover] session.out write failed (chatId {:?}): {}{}",
        self.chat_id,
        err.message,
        err
          .status
          .map(|s| format!(" (status {s})"))
          .unwrap_or_default()
      ));
    }
    outcome
  }

  /// Dispatches the handover or skip and reports it. Returns whether the agent took the turn
  /// over, and the phase-2 subscription opened early alongside the handover append.
  async fn hand_over(
    &self,
    end: &Step1End,
    last_acked_seq: Option<u64>,
    report: &mut TurnReport,
  ) -> (bool, Option<Subscription>) {
    let step1_end_ms = report.timings.step1_end_ms.unwrap_or_default();
    let mut early_subscription = None;
    let handover = self
      .dispatch(end, &mut early_subscription, step1_end_ms, || {
        // The phase-2 read opens while the handover append is in flight (it only waits for
        // records after our last acked seq, which only the agent can write), saving one
        // control-plane round trip. It starts a moment after the append so the API sees the
        // handover first, and is dropped (before it is sent, normally) if the append fails.
        (!self.detached).then(|| self.subscribe(last_acked_seq, EARLY_SUBSCRIBE_DELAY))
      })
      .instrument(tracing::debug_span!("handover"))
      .await;
    report.timings.handover_ms = Some(handover.handover_ms);
    if self.notify_dispatched {
      self.sink.dispatched(Some(&handover));
    }
    let handed_over = handover.decision == Decision::Handover;
    report.handover = Some(handover);
    (handed_over, early_subscription)
  }

  /// The handover decision: a `handover` record when step 1 finished and the record could be
  /// built and appended, else `handover-skip`. `early` gets `subscribe_early()` just before the
  /// handover append goes out, and is emptied again if that append fails.
  async fn dispatch(
    &self,
    end: &Step1End,
    early: &mut Option<Subscription>,
    step1_end_ms: f64,
    subscribe_early: impl FnOnce() -> Option<Subscription>,
  ) -> HandoverReport {
    let chat_id = self.chat_id.as_str();
    let mut report = HandoverReport {
      decision: Decision::Skip,
      is_final: None,
      finish_reason: None,
      reason: None,
      step1_end_ms,
      handover_ms: 0.0,
      duration_ms: 0.0,
      ok: false,
    };
    let skip = match end {
      Step1End::Finished {
        finish_reason,
        messages_json,
      } => {
        report.finish_reason = Some(finish_reason.clone());
        let is_final = finish_reason != "tool-calls";
        match handover_body(messages_json.as_bytes(), &self.message_id, is_final) {
          Ok(body) => {
            *early = subscribe_early();
            match self
              .api
              .append_input(chat_id, Bytes::from(body), &part_id())
              .await
            {
              Ok(()) => {
                report.decision = Decision::Handover;
                report.is_final = Some(is_final);
                report.ok = true;
                None
              }
              Err(e) => {
                *early = None;
                tracing::warn!(status = e.status, error = %e.message, "handover append failed; sending handover-skip");
                self.sink.warn(format!(
                  "[chat.handover] handover append failed (chatId {chat_id:?}): {e}"
                ));
                Some(SkipReason::AppendFailed)
              }
            }
          }
          Err(e) => {
            tracing::warn!(error = %e, "cannot build the handover; sending handover-skip");
            self.sink.warn(format!(
              "[chat.handover] cannot build the handover (chatId {chat_id:?}): {e}"
            ));
            Some(SkipReason::BuildFailed)
          }
        }
      }
      Step1End::Aborted => Some(SkipReason::Aborted),
      Step1End::RunFailed => Some(SkipReason::RunFailed),
      Step1End::External => unreachable!("the caller dispatched"),
    };
    if let Some(reason) = skip {
      report.reason = Some(reason);
      match self
        .api
        .append_input(chat_id, Bytes::from_static(HANDOVER_SKIP_BODY), &part_id())
        .await
      {
        Ok(()) => report.ok = true,
        Err(e) => {
          tracing::warn!(status = e.status, error = %e.message, "handover-skip append failed");
          self.sink.warn(format!(
            "[chat.handover] handover-skip append failed (chatId {chat_id:?}): {e}"
          ));
        }
      }
    }
    report.handover_ms = ms_since(self.began);
    report.duration_ms = ((report.handover_ms - step1_end_ms) * 1000.0).round() / 1000.0;
    match report.decision {
      Decision::Handover => tracing::debug!(
        is_final = report.is_final,
        finish_reason = report.finish_reason.as_deref(),
        duration_ms = report.duration_ms,
        "handover sent"
      ),
      Decision::Skip => tracing::debug!(
        reason = report.reason.map(SkipReason::as_str),
        ok = report.ok,
        duration_ms = report.duration_ms,
        "handover-skip sent"
      ),
    }
    report
  }

  /// The turn is over: its closing `turn ended` event and the sink's end notification.
  fn close(&self, last: Vec<u8>, mut report: TurnReport) {
    report.timings.end_ms = ms_since(self.began);
    let t = &report.timings;
    tracing::Span::current().record("outcome", report.outcome.as_str());
    tracing::info!(
      outcome = report.outcome.as_str(),
      duration_ms = t.end_ms,
      create_session_ms = t.create_session_ms,
      step1_end_ms = t.step1_end_ms,
      handover_ms = t.handover_ms,
      first_agent_chunk_ms = t.first_agent_chunk_ms,
      agent_chunks = report.phase2.as_ref().map(|p| p.records),
      error = report.error.as_deref(),
      "turn ended"
    );
    self.sink.end(last, &report);
  }

  /// Splices the agent's output into the response until the turn completes, fails or times
  /// out; returns the response's final bytes (for `TurnSink::end`), none when cancelled. The
  /// phase's counters, its end and the first agent chunk's time go into `report`.
  async fn phase_two(
    &self,
    resume_after: Option<u64>,
    early: Option<Subscription>,
    report: &mut TurnReport,
  ) -> Vec<u8> {
    let own_ids = std::mem::take(&mut *self.shared.own_ids.lock().expect("not poisoned"));
    let mut splicer = Splicer::new(own_ids);
    let mut stats = Phase2Report::default();
    let end = self
      .splice_agent_output(
        resume_after,
        early,
        &mut splicer,
        &mut stats,
        &mut report.timings.first_agent_chunk_ms,
      )
      .await;
    stats.records = splicer.forwarded();
    let (outcome, last) = match end {
      Phase2End::Complete(last) => {
        report.timings.turn_complete_ms = Some(ms_since(self.began));
        (Outcome::Complete, last)
      }
      Phase2End::Timeout(last) => {
        report.error = Some(format!(
          "the agent wrote nothing to session.out for {} s after the handover",
          self.opts.handover_timeout.as_secs()
        ));
        (Outcome::Timeout, last)
      }
      Phase2End::Failed(last, error) => {
        report.error = Some(error);
        (Outcome::Failed, last)
      }
      Phase2End::Cancelled => (Outcome::Cancelled, Vec::new()),
    };
    stats.bytes += last.len() as u64;
    report.outcome = outcome;
    report.phase2 = Some(stats);
    last
  }
  /// The phase-2 loop: reads the agent's records (resubscribing after `resume_after` / the
  /// cursor when a read window closes), honours backpressure, keep-alives and the handover
  /// timeout, and emits the spliced bytes.
  async fn splice_agent_output(
    &self,
    resume_after: Option<u64>,
    mut early: Option<Subscription>,
    splicer: &mut Splicer,
    stats: &mut Phase2Report,
    first_agent_chunk_ms: &mut Option<f64>,
  ) -> Phase2End {
    let (shared, opts, sink, chat_id) =
      (&self.shared, &self.opts, self.sink(), self.chat_id.as_str());
    let mut deadline = Instant::now() + opts.handover_timeout;
    let keep_alive_every = opts
      .keep_alive
      .unwrap_or(Duration::from_secs(3600 * 24 * 365));
    let mut keep_alive =
      tokio::time::interval_at(Instant::now() + keep_alive_every, keep_alive_every);
    let mut cancel = shared.cancel.subscribe();
    let mut cursor = resume_after;
    let emit = |bytes: Vec<u8>, stats: &mut Phase2Report| {
      stats.bytes += bytes.len() as u64;
      shared.emit_body(sink, bytes);
    };

    'subscribe: loop {
      let (mut rx, _abort_on_exit) = match early.take() {
        Some(sub) => sub,
        None => self.subscribe(cursor, Duration::ZERO),
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
          _ = cancel.wait_for(|c| *c) => {
            tracing::debug!("browser gone; phase 2 stops");
            return Phase2End::Cancelled;
          }
          _ = tokio::time::sleep_until(deadline) => {
            tracing::warn!(
              handover_timeout_s = opts.handover_timeout.as_secs(),
              "no agent output after the handover; ending the response with an error chunk"
            );
            let mut out = Vec::new();
            write_error_frame(&mut out, &format!(
              "chat-headstart: the agent wrote nothing to session.out for {} s after the handover (handoverTimeoutInSeconds); giving up on this response",
              opts.handover_timeout.as_secs()
            ));
            splicer.write_session_state(&mut out);
            return Phase2End::Timeout(out);
          }
          _ = keep_alive.tick(), if opts.keep_alive.is_some() => {
            tracing::trace!("keep-alive");
            emit(KEEP_ALIVE_FRAME.to_vec(), stats);
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
                Err(e) => {
                  tracing::warn!(error = %e, "skipped a session.out batch");
                  sink.warn(format!(
                    "[chat.handover] skipped a session.out batch (chatId {chat_id:?}): {e}"
                  ))
                }
              }
            }
            cursor = splicer.cursor().or(cursor);
            if splicer.take_progress() {
              deadline = Instant::now() + opts.handover_timeout;
            }
            if !out.is_empty() && first_agent_chunk_ms.is_none() {
              *first_agent_chunk_ms = Some(ms_since(self.began));
            }
            tracing::trace!(
              batches = batches.len(),
              bytes = out.len(),
              agent_chunks = splicer.forwarded(),
              cursor,
              "forwarded"
            );
            if complete {
              tracing::debug!(
                agent_chunks = splicer.forwarded(),
                reconnects = stats.reconnects,
                "turn-complete received"
              );
              splicer.write_session_state(&mut out);
              return Phase2End::Complete(out);
            }
            if !out.is_empty() {
              emit(out, stats);
              keep_alive.reset();
            }
          }
          Some(SubscriptionEvent::Reconnecting) => stats.reconnects += 1,
          // The long-poll window closed before the agent finished (slow boot): read on from the
          // cursor until the handover timeout decides.
          Some(SubscriptionEvent::Ended) | None => {
            stats.reconnects += 1;
            tracing::debug!(cursor, "subscription window closed; subscribing again");
            tokio::select! {
              _ = tokio::time::sleep(Duration::from_millis(250)) => continue 'subscribe,
              _ = cancel.wait_for(|c| *c) => return Phase2End::Cancelled,
            }
          }
          Some(SubscriptionEvent::Failed(e)) => {
            tracing::warn!(status = e.status, error = %e.message, "session.out subscription failed");
            let message = format!(
              "chat-headstart: reading the agent's output failed: {}{}",
              e.message,
              e.status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
            );
            let mut out = Vec::new();
            write_error_frame(&mut out, &message);
            splicer.write_session_state(&mut out);
            sink.warn(format!(
              "[chat.handover] session.out subscription failed (chatId {chat_id:?}): {e}"
            ));
            return Phase2End::Failed(out, message);
          }
        }
      }
    }
  }

  /// The phase-2 subscription to `session.out` after `after`, opened `delay` from now.
  fn subscribe(&self, after: Option<u64>, delay: Duration) -> Subscription {
    start_subscription(&self.api, &self.chat_id, after, &self.opts, delay)
  }
}

enum Phase2End {
  Complete(Vec<u8>),
  Timeout(Vec<u8>),
  Failed(Vec<u8>, String),
  Cancelled,
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
  // Spawned tasks start with no span: this one's belongs under the turn's.
  let task = tokio::spawn(
    async move {
      if !delay.is_zero() {
        tokio::time::sleep(delay).await;
      }
      subscribe_session_out(api, chat_id, after, tx, sub_opts).await
    }
    .instrument(tracing::Span::current()),
  );
  (rx, AbortOnDrop(task))
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
  fn drop(&mut self) {
    self.0.abort();
  }
}
