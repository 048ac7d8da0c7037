//! S2 writer for `session.out` (docs/protocol.md §3): endpoint resolution (§3.2), the S2S framed
//! protobuf append session over HTTP/2 (§3.3), batching without a linger (docs/protocol.md §3.4: a
//! batch leaves as soon as the previous one is acked), acks → last written seq (§3.5), and the
//! SDK's retry policy with re-submission of un-acked batches (§3.6).
//!
//! The writer reads its input only when it could send at once: records that arrive while a batch
//! is in flight wait in the channel and are taken together after the ack, so they do not wake the
//! runtime one by one.

use super::api::{encode_uri_component, S2Credentials};
use super::http::{ChannelBody, S2Client};
use super::retry::{self, s2_backoff, s2_status_is_retryable, Retry, S2_MAX_ATTEMPTS};
use super::s2_frame::{self, decode_terminal, FrameDecoder, TerminalError};
pub use super::s2_proto::{AppendAck, AppendInput, AppendRecord, Header, StreamPosition};
use crate::logging::ms_since;
use bytes::Bytes;
use http::{HeaderValue, Method, Request};
use http_body_util::BodyExt;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

// ---------------------------------------------------------------------------------------------
// Endpoint resolution (§3.2).

/// Where the append session goes, and whether `s2-basin` must be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S2Target {
  /// `{scheme}://{authority}{path}/streams/{enc(stream)}/records`
  pub records_url: String,
  pub basin_header: Option<String>,
}

pub fn resolve_target(creds: &S2Credentials) -> Result<S2Target, String> {
  let basin = &creds.basin;
  let valid_basin = basin.len() >= 8
    && basin.len() <= 48
    && basin
      .bytes()
      .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    && !basin.starts_with('-')
    && !basin.ends_with('-');
  if !valid_basin {
    return Err(format!("invalid S2 basin name {basin:?}"));
  }
  let stream_path = format!("/streams/{}/records", encode_uri_component(&creds.stream));
  let Some(endpoint) = creds.endpoint.as_deref() else {
    return Ok(S2Target {
      records_url: format!("https://{basin}.b.s2.dev/v1{stream_path}"),
      basin_header: None,
    });
  };
  let endpoint = endpoint.trim();
  let (scheme, rest) = match endpoint.split_once("://") {
    Some((s, r)) => (s.to_ascii_lowercase(), r),
    None => ("https".to_string(), endpoint),
  };
  if scheme != "http" && scheme != "https" {
    return Err(format!("unsupported S2 endpoint scheme {scheme:?}"));
  }
  if rest.contains('?') || rest.contains('#') {
    return Err("S2 endpoint must not carry a query or fragment".into());
  }
  let (authority, path) = match rest.find('/') {
    Some(i) => (&rest[..i], &rest[i..]),
    None => (rest, ""),
  };
  let authority = authority.replace("{basin}", basin);
  let path = if path.is_empty() || path == "/" {
    "/v1".to_string()
  } else {
    path
      .trim_end_matches('/')
      .replace("{basin}", &encode_uri_component(basin))
  };
  if authority.is_empty() {
    return Err("S2 endpoint has no host".into());
  }
  Ok(S2Target {
    records_url: format!("{scheme}://{authority}{path}{stream_path}"),
    basin_header: Some(basin.clone()),
  })
}

// ---------------------------------------------------------------------------------------------
// Server frames (§3.3): the framing itself is `s2_frame`; here acks and terminals decode.

/// One decoded server frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerFrame {
  Ack(AppendAck),
  /// Terminal error frame: status + JSON `{code, message}`.
  Terminal(TerminalError),
}

/// Incremental decoder of the append session's response body into acks and terminals.
#[derive(Default)]
pub struct ServerFrameDecoder {
  frames: FrameDecoder,
}

impl ServerFrameDecoder {
  pub fn push(&mut self, data: &[u8]) {
    self.frames.push(data);
  }

  pub fn next_frame(&mut self) -> Result<Option<ServerFrame>, String> {
    let Some(frame) = self.frames.next_frame().map_err(|e| e.to_string())? else {
      return Ok(None);
    };
    if frame.compression != 0 {
      return Err("compressed S2S frames are not negotiated".into());
    }
    if frame.terminal {
      return Ok(Some(ServerFrame::Terminal(decode_terminal(
        &frame.payload,
      )?)));
    }
    let ack: AppendAck =
      prost::Message::decode(frame.payload).map_err(|e| format!("undecodable AppendAck: {e}"))?;
    Ok(Some(ServerFrame::Ack(ack)))
  }
}

// ---------------------------------------------------------------------------------------------
// Batching.

pub const MAX_BATCH_RECORDS: usize = 1000;
pub const MAX_BATCH_METERED: usize = 1024 * 1024;
/// The writer's per-record cap (§3.1): 1 MiB − 1 KiB of body.
pub const MAX_RECORD_BODY: usize = 1_047_552;

/// Metered size of a header-less record: `8 + len(body)`.
pub fn metered(body: &[u8]) -> usize {
  8 + body.len()
}

/// Takes the next batch off `pending`: up to 1000 records / 1 MiB metered.
pub fn take_batch(pending: &mut VecDeque<Bytes>) -> Vec<Bytes> {
  let mut batch = Vec::new();
  let mut size = 0;
  while let Some(front) = pending.front() {
    let m = metered(front);
    if !batch.is_empty() && (batch.len() == MAX_BATCH_RECORDS || size + m > MAX_BATCH_METERED) {
      break;
    }
    size += m;
    batch.push(pending.pop_front().expect("front exists"));
  }
  batch
}

fn batch_frame(batch: &[Bytes]) -> Bytes {
  s2_frame::encode_message(&AppendInput {
    records: batch
      .iter()
      .map(|b| AppendRecord {
        timestamp: None,
        headers: vec![],
        body: b.clone(),
      })
      .collect(),
    match_seq_num: None,
    fencing_token: None,
  })
}

// ---------------------------------------------------------------------------------------------
// The writer.

/// How the writer ended. `last_acked_seq` is the seq of the last record acked (inclusive) —
/// the reference's `lastEventId` — even when the writer failed afterwards.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WriterOutcome {
  pub last_acked_seq: Option<u64>,
  pub error: Option<WriterError>,
  pub stats: WriterStats,
}

/// What the writer did (the turn's report and the `tee` log events).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WriterStats {
  /// Records received from the tee (acked or not).
  pub records: u64,
  /// Their body bytes.
  pub bytes: u64,
  /// Append batches sent (re-submissions after a recovery not counted).
  pub batches: u64,
  /// Append sessions opened again after a retryable failure.
  pub retries: u32,
  /// Slowest batch, from sending it to its ack.
  pub max_ack_ms: f64,
  /// From the end of the source (step 1 over) to the writer's end: what the handover waited.
  pub flush_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterError {
  pub status: Option<u16>,
  pub code: Option<String>,
  pub message: String,
}

impl WriterError {
  fn new(status: Option<u16>, code: Option<String>, message: impl Into<String>) -> Self {
    WriterError {
      status,
      code,
      message: message.into(),
    }
  }
  fn retryable(&self) -> bool {
    match self.status {
      None => true,
      Some(409) => self.code.as_deref() == Some("transaction_conflict"),
      Some(s) => s2_status_is_retryable(s),
    }
  }
}

/// Messages into the writer task.
pub enum WriterInput {
  Record(Bytes),
  /// Records that cannot be persisted (over the per-record cap, tee buffer overflow).
  Fail(String),
}

/// The tee's end of the writer's input. Dropping it closes the input: the writer flushes what
/// is queued and ends.
pub struct TeeSender {
  records: Option<mpsc::UnboundedSender<WriterInput>>,
  closed: Arc<Notify>,
}

impl TeeSender {
  /// Queues one input; `false` once the writer has gone.
  pub fn send(&self, input: WriterInput) -> bool {
    self
      .records
      .as_ref()
      .is_some_and(|tx| tx.send(input).is_ok())
  }
}

impl Drop for TeeSender {
  fn drop(&mut self) {
    // Closed first, then told: a writer woken by `closed` finds the channel disconnected.
    drop(self.records.take());
    self.closed.notify_one();
  }
}

/// The writer's end: the records, and `closed`, which tells a lingering writer (one that is not
/// reading the channel) that the source is done.
pub struct TeeInput {
  records: mpsc::UnboundedReceiver<WriterInput>,
  closed: Arc<Notify>,
}

/// The channel from the tee to the writer.
pub fn tee_channel() -> (TeeSender, TeeInput) {
  let (tx, rx) = mpsc::unbounded_channel();
  let closed = Arc::new(Notify::new());
  let sender = TeeSender {
    records: Some(tx),
    closed: closed.clone(),
  };
  (
    sender,
    TeeInput {
      records: rx,
      closed,
    },
  )
}

/// Knobs, defaulted to the S2 SDK's values (and no linger, docs/protocol.md §3.4).
#[derive(Debug, Clone)]
pub struct WriterOptions {
  pub ack_timeout: Duration,
  pub max_attempts: u32,
  /// How long a batch waits for more records before it leaves (zero: it leaves at once). The
  /// product never lingers; a bench sets it to measure what batching step 1 would save.
  pub linger: Duration,
}

impl Default for WriterOptions {
  fn default() -> Self {
    WriterOptions {
      ack_timeout: Duration::from_secs(5),
      max_attempts: S2_MAX_ATTEMPTS,
      linger: Duration::ZERO,
    }
  }
}

/// One open S2S append session: frames go out through `frames`, server frames come back on
/// `acks`. Dropping it resets the HTTP/2 stream.
struct AppendSession {
  frames: mpsc::UnboundedSender<Bytes>,
  acks: mpsc::UnboundedReceiver<Result<ServerFrame, WriterError>>,
  task: tokio::task::JoinHandle<()>,
}

impl Drop for AppendSession {
  fn drop(&mut self) {
    self.task.abort();
  }
}

impl AppendSession {
  fn open(client: &S2Client, target: &S2Target, token: &str) -> Result<AppendSession, WriterError> {
    let (frames, body) = ChannelBody::channel();
    let mut req = Request::builder()
      .method(Method::POST)
      .uri(&target.records_url);
    let h = req.headers_mut().expect("fresh builder");
    h.insert(
      "user-agent",
      HeaderValue::from_static("s2-sdk-typescript/0.25.0"),
    );
    h.insert(
      "authorization",
      HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| WriterError::new(None, None, "invalid S2 token"))?,
    );
    h.insert("content-type", HeaderValue::from_static("s2s/proto"));
    h.insert("accept", HeaderValue::from_static("application/protobuf"));
    if let Some(basin) = &target.basin_header {
      h.insert(
        "s2-basin",
        HeaderValue::from_str(basin).map_err(|_| WriterError::new(None, None, "invalid basin"))?,
      );
    }
    let req = req
      .body(body)
      .map_err(|e| WriterError::new(None, None, format!("invalid S2 request: {e}")))?;
    let (ack_tx, acks) = mpsc::unbounded_channel();
    let fut = client.request(req);
    let task = tokio::spawn(async move {
      let resp = match fut.await {
        Ok(r) => r,
        Err(e) => {
          let _ = ack_tx.send(Err(WriterError::new(
            None,
            None,
            format!("S2 connection failed: {e}"),
          )));
          return;
        }
      };
      let status = resp.status().as_u16();
      let mut body = resp.into_body();
      if status >= 400 {
        let bytes = body
          .collect()
          .await
          .map(|c| c.to_bytes())
          .unwrap_or_default();
        let v: serde_json::Value =
          serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        let code = v.get("code").and_then(|c| c.as_str()).map(str::to_string);
        let msg = v
          .get("message")
          .and_then(|c| c.as_str())
          .map(str::to_string);
        let _ = ack_tx.send(Err(WriterError::new(
          Some(status),
          code,
          msg.unwrap_or_else(|| format!("S2 append session answered HTTP {status}")),
        )));
        return;
      }
      let mut decoder = ServerFrameDecoder::default();
      loop {
        match body.frame().await {
          Some(Ok(frame)) => {
            if let Ok(data) = frame.into_data() {
              decoder.push(&data);
              loop {
                match decoder.next_frame() {
                  Ok(Some(f)) => {
                    let terminal = matches!(f, ServerFrame::Terminal { .. });
                    let _ = ack_tx.send(Ok(f));
                    if terminal {
                      return;
                    }
                  }
                  Ok(None) => break,
                  Err(e) => {
                    let _ = ack_tx.send(Err(WriterError::new(None, None, e)));
                    return;
                  }
                }
              }
            }
          }
          Some(Err(e)) => {
            let _ = ack_tx.send(Err(WriterError::new(
              None,
              None,
              format!("S2 stream error: {e}"),
            )));
            return;
          }
          None => {
            let _ = ack_tx.send(Err(WriterError::new(
              Some(502),
              None,
              "Stream closed with pending acks",
            )));
            return;
          }
        }
      }
    });
    Ok(AppendSession { frames, acks, task })
  }
}

/// Runs the writer until `input` is closed and every record is acked, or until it fails.
/// `credentials` resolves when the `PUT …/out` initialize returns; records queue meanwhile.
pub async fn run_writer(
  client: S2Client,
  creds: S2Credentials,
  input: TeeInput,
  opts: WriterOptions,
) -> WriterOutcome {
  let mut source_done_at = None;
  let mut outcome = write(client, creds, input, opts, &mut source_done_at).await;
  let stats = &mut outcome.stats;
  if let Some(at) = source_done_at {
    stats.flush_ms = ms_since(at);
  }
  match &outcome.error {
    None => tracing::debug!(
      records = stats.records,
      bytes = stats.bytes,
      batches = stats.batches,
      retries = stats.retries,
      max_ack_ms = stats.max_ack_ms,
      flush_ms = stats.flush_ms,
      last_acked_seq = outcome.last_acked_seq,
      "step 1 persisted"
    ),
    Some(e) => tracing::warn!(
      records = stats.records,
      bytes = stats.bytes,
      batches = stats.batches,
      retries = stats.retries,
      last_acked_seq = outcome.last_acked_seq,
      status = e.status,
      error = %e.message,
      "step 1 write failed"
    ),
  }
  outcome
}

async fn write(
  client: S2Client,
  creds: S2Credentials,
  input: TeeInput,
  opts: WriterOptions,
  source_done_at: &mut Option<Instant>,
) -> WriterOutcome {
  let mut outcome = WriterOutcome::default();
  let target = match resolve_target(&creds) {
    Ok(t) => t,
    Err(e) => {
      outcome.error = Some(WriterError::new(None, None, e));
      return outcome;
    }
  };
  let mut run = WriterRun {
    to: SessionTarget {
      client: &client,
      target: &target,
      token: &creds.access_token,
    },
    opts: &opts,
    tee: Tee {
      input,
      pending: VecDeque::new(),
      inflight: VecDeque::new(),
      source_done: false,
      last_end: None,
    },
    outcome: &mut outcome,
    source_done_at,
  };
  let ended = retry::run(
    &mut run,
    |run, attempt| {
      run.outcome.stats.retries = attempt - 1;
      Box::pin(append_session(run))
    },
    |stop, attempt| match stop {
      Stop::Broken(err) if err.retryable() && attempt < opts.max_attempts => {
        let delay = s2_backoff(attempt - 1);
        tracing::debug!(
          attempt,
          status = err.status,
          code = err.code.as_deref(),
          error = %err.message,
          retry_in_ms = delay.as_millis() as u64,
          "append session failed, retrying"
        );
        Retry::After(delay)
      }
      _ => Retry::GiveUp,
    },
  )
  .await;
  match ended {
    Ok(()) => {}
    Err(Stop::Fatal(err)) => outcome.error = Some(err),
    Err(Stop::Broken(err)) => {
      let message = if err.retryable() {
        format!(
          "Max attempts ({}) exhausted: {}",
          opts.max_attempts, err.message
        )
      } else {
        err.message.clone()
      };
      outcome.error = Some(WriterError::new(err.status, err.code, message));
    }
  }
  outcome
}

/// The tee's records on their way to S2, kept across append sessions.
struct Tee {
  input: TeeInput,
  pending: VecDeque<Bytes>,
  /// Sent, not yet acked (FIFO, matched to acks in order).
  inflight: VecDeque<Vec<Bytes>>,
  source_done: bool,
  last_end: Option<u64>,
}

impl Tee {
  /// Takes one input from the channel (`None`: the source closed).
  fn accept(
    &mut self,
    input: Option<WriterInput>,
    stats: &mut WriterStats,
    source_done_at: &mut Option<Instant>,
  ) -> Result<(), Stop> {
    match input {
      Some(WriterInput::Record(b)) => {
        stats.records += 1;
        stats.bytes += b.len() as u64;
        self.pending.push_back(b);
      }
      Some(WriterInput::Fail(msg)) => return Err(Stop::Fatal(WriterError::new(None, None, msg))),
      None => {
        self.source_done = true;
        *source_done_at = Some(Instant::now());
      }
    }
    Ok(())
  }

  /// Takes everything already queued, without waiting.
  fn drain(
    &mut self,
    stats: &mut WriterStats,
    source_done_at: &mut Option<Instant>,
  ) -> Result<(), Stop> {
    while !self.source_done {
      match self.input.records.try_recv() {
        Ok(input) => self.accept(Some(input), stats, source_done_at)?,
        Err(mpsc::error::TryRecvError::Empty) => break,
        Err(mpsc::error::TryRecvError::Disconnected) => self.accept(None, stats, source_done_at)?,
      }
    }
    Ok(())
  }
}

/// What the append sessions of one writer share and update.
struct WriterRun<'o> {
  to: SessionTarget<'o>,
  opts: &'o WriterOptions,
  tee: Tee,
  outcome: &'o mut WriterOutcome,
  source_done_at: &'o mut Option<Instant>,
}

/// Where an append session goes.
#[derive(Clone, Copy)]
struct SessionTarget<'a> {
  client: &'a S2Client,
  target: &'a S2Target,
  token: &'a str,
}

/// Why an append session ended without finishing the tee.
enum Stop {
  /// Retryable when [`WriterError::retryable`] says so (and attempts remain).
  Broken(WriterError),
  /// Never retried: the source failed, the session could not be opened, or an ack broke the
  /// protocol.
  Fatal(WriterError),
}

/// One append session (one attempt): re-submits whatever a broken predecessor left un-acked, then
/// sends batches and matches acks until the source is done and everything is acked (`Ok`).
async fn append_session(run: &mut WriterRun<'_>) -> Result<(), Stop> {
  let WriterRun {
    to,
    opts,
    tee,
    outcome,
    source_done_at,
  } = run;
  let to = *to;
  let open = || AppendSession::open(to.client, to.target, to.token).map_err(Stop::Fatal);
  let mut session: Option<AppendSession> = None;
  // When the batch now in flight left (at most one is: the next waits for its ack).
  let mut sent_at = Instant::now();
  if !tee.inflight.is_empty() {
    // Recovery: a new HTTP/2 stream re-submits every un-acked batch (at-least-once).
    let s = open()?;
    for batch in &tee.inflight {
      let _ = s.frames.send(batch_frame(batch));
    }
    session = Some(s);
  }

  loop {
    if !opts.linger.is_zero()
      && tee.inflight.is_empty()
      && !tee.pending.is_empty()
      && !tee.source_done
    {
      // A linger (benches only): more records may join the batch until it ends or the source
      // closes. The channel is not read meanwhile, so they do not wake the writer.
      tokio::select! {
        _ = tokio::time::sleep(opts.linger) => {}
        _ = tee.input.closed.notified() => {}
      }
      tee.drain(&mut outcome.stats, source_done_at)?;
    }
    // With nothing in flight, whatever is pending leaves now.
    if tee.inflight.is_empty() && !tee.pending.is_empty() {
      if session.is_none() {
        session = Some(open()?);
      }
      let batch = take_batch(&mut tee.pending);
      let frame = batch_frame(&batch);
      outcome.stats.batches += 1;
      tracing::trace!(records = batch.len(), "append batch sent");
      sent_at = Instant::now();
      tee.inflight.push_back(batch);
      if session
        .as_ref()
        .is_some_and(|s| s.frames.send(frame).is_err())
      {
        // The session task ended; its error is waiting in `acks`.
      }
    }
    if tee.source_done && tee.pending.is_empty() && tee.inflight.is_empty() {
      // Clean close: END_STREAM on our side, no terminal frame.
      drop(session.take());
      return Ok(());
    }

    let failure: Option<WriterError> = tokio::select! {
      // Read only when a record could leave at once; the ack's branch takes the rest.
      rec = tee.input.records.recv(), if !tee.source_done && tee.inflight.is_empty() => {
        tee.accept(rec, &mut outcome.stats, source_done_at)?;
        None
      }
      ack = async {
        match session.as_mut() {
          Some(s) => tokio::time::timeout(opts.ack_timeout, s.acks.recv()).await,
          None => std::future::pending().await,
        }
      }, if !tee.inflight.is_empty() => {
        match ack {
          Err(_) => Some(WriterError::new(Some(408), None, "S2 ack timeout")),
          Ok(None) => Some(WriterError::new(Some(502), None, "Stream closed with pending acks")),
          Ok(Some(Err(e))) => Some(e),
          Ok(Some(Ok(ServerFrame::Terminal(t)))) => Some(WriterError::new(Some(t.status), t.code, t.message)),
          Ok(Some(Ok(ServerFrame::Ack(ack)))) => {
            let batch_len = tee.inflight.front().map(|b| b.len() as u64).unwrap_or(0);
            match (ack.start, ack.end, ack.tail) {
              (Some(start), Some(end), Some(_)) if end.seq_num >= start.seq_num
                && end.seq_num - start.seq_num == batch_len
                && tee.last_end.is_none_or(|prev| end.seq_num > prev) => {
                tee.inflight.pop_front();
                tee.last_end = Some(end.seq_num);
                outcome.last_acked_seq = end.seq_num.checked_sub(1);
                let ack_ms = ms_since(sent_at);
                outcome.stats.max_ack_ms = outcome.stats.max_ack_ms.max(ack_ms);
                tracing::trace!(ack_ms, last_acked_seq = outcome.last_acked_seq, "append acked");
                tee.drain(&mut outcome.stats, source_done_at)?;
                None
              }
              _ => return Err(Stop::Fatal(WriterError::new(None, None, "S2 append session invariant violation"))),
            }
          }
        }
      }
    };

    if let Some(err) = failure {
      // Dropping the session resets its HTTP/2 stream before any retry.
      drop(session.take());
      return Err(Stop::Broken(err));
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn creds(endpoint: Option<&str>) -> S2Credentials {
    S2Credentials {
      access_token: "t".into(),
      basin: "chat-basin-1".into(),
      stream: "/sessions/chat-1/out".into(),
      endpoint: endpoint.map(str::to_string),
    }
  }

  #[test]
  fn endpoint_resolution() {
    let t = resolve_target(&creds(None)).unwrap();
    assert_eq!(
      t.records_url,
      "https://chat-basin-1.b.s2.dev/v1/streams/%2Fsessions%2Fchat-1%2Fout/records"
    );
    assert_eq!(t.basin_header, None);
    let t = resolve_target(&creds(Some("http://127.0.0.1:4566/v1"))).unwrap();
    assert_eq!(
      t.records_url,
      "http://127.0.0.1:4566/v1/streams/%2Fsessions%2Fchat-1%2Fout/records"
    );
    assert_eq!(t.basin_header.as_deref(), Some("chat-basin-1"));
    let t = resolve_target(&creds(Some("localhost:9"))).unwrap();
    assert_eq!(
      t.records_url,
      "https://localhost:9/v1/streams/%2Fsessions%2Fchat-1%2Fout/records"
    );
    let t = resolve_target(&creds(Some("https://{basin}.example.com/custom"))).unwrap();
    assert_eq!(
      t.records_url,
      "https://chat-basin-1.example.com/custom/streams/%2Fsessions%2Fchat-1%2Fout/records"
    );
    assert!(resolve_target(&creds(Some("http://h/v1?x=1"))).is_err());
    let mut bad = creds(None);
    bad.basin = "Bad".into();
    assert!(resolve_target(&bad).is_err());
  }

  #[test]
  fn frames_round_trip_and_terminal_frames_decode() {
    let input = AppendInput {
      records: vec![AppendRecord {
        timestamp: None,
        headers: vec![],
        body: Bytes::from_static(b"{\"data\":1}"),
      }],
      match_seq_num: None,
      fencing_token: None,
    };
    let frame = s2_frame::encode_message(&input);
    let l = ((frame[0] as usize) << 16) | ((frame[1] as usize) << 8) | frame[2] as usize;
    assert_eq!(l, frame.len() - 3);
    assert_eq!(frame[3], 0);
    let decoded: AppendInput = prost::Message::decode(&frame[4..]).unwrap();
    assert_eq!(decoded, input);

    // An ack split across two pushes, then a terminal frame.
    let ack = AppendAck {
      start: Some(StreamPosition {
        seq_num: 0,
        timestamp: 1,
      }),
      end: Some(StreamPosition {
        seq_num: 1,
        timestamp: 1,
      }),
      tail: Some(StreamPosition {
        seq_num: 1,
        timestamp: 1,
      }),
    };
    let payload = prost::Message::encode_to_vec(&ack);
    let mut wire = vec![0, 0, (payload.len() + 1) as u8, 0];
    wire.extend_from_slice(&payload);
    let term_json = br#"{"code":"unavailable","message":"down"}"#;
    let tl = term_json.len() + 3;
    wire.extend_from_slice(&[0, 0, tl as u8, 0x80, 0x01, 0xF7]);
    wire.extend_from_slice(term_json);
    let mut d = ServerFrameDecoder::default();
    d.push(&wire[..3]);
    assert_eq!(d.next_frame().unwrap(), None);
    d.push(&wire[3..]);
    assert_eq!(d.next_frame().unwrap(), Some(ServerFrame::Ack(ack)));
    assert_eq!(
      d.next_frame().unwrap(),
      Some(ServerFrame::Terminal(TerminalError {
        status: 503,
        code: Some("unavailable".into()),
        message: "down".into()
      }))
    );
    assert_eq!(d.next_frame().unwrap(), None);
    let mut bad = ServerFrameDecoder::default();
    bad.push(&[0xFF, 0xFF, 0xFF, 0]);
    assert!(bad.next_frame().is_err());
    let mut compressed = ServerFrameDecoder::default();
    compressed.push(&[0, 0, 1, 0x20]);
    assert_eq!(
      compressed.next_frame(),
      Err("compressed S2S frames are not negotiated".to_string())
    );
  }

  #[test]
  fn batches_respect_record_and_byte_caps() {
    let mut pending: VecDeque<Bytes> = (0..2500).map(|_| Bytes::from_static(b"x")).collect();
    assert_eq!(take_batch(&mut pending).len(), 1000);
    assert_eq!(take_batch(&mut pending).len(), 1000);
    assert_eq!(take_batch(&mut pending).len(), 500);
    let big = Bytes::from(vec![b'a'; 600 * 1024]);
    let mut pending: VecDeque<Bytes> = vec![big.clone(), big.clone(), big].into();
    assert_eq!(take_batch(&mut pending).len(), 1);
    assert_eq!(pending.len(), 2);
  }
}
