//! The S2S writer against an in-process h2c S2 stand-in: framing and FIFO acks, no linger
//! (docs/protocol.md §3.4), the SDK retry policy with re-submission of un-acked batches,
//! non-retryable failures, records queued while a batch is in flight, and the linger a bench can
//! set.

use bytes::{Bytes, BytesMut};
use chat_headstart_core::session::http::{s2_client, ChannelBody};
use chat_headstart_core::session::s2::{
  run_writer, tee_channel, AppendAck, AppendInput, StreamPosition, TeeInput, TeeSender,
  WriterInput, WriterOptions, WriterOutcome,
};
use chat_headstart_core::session::S2Credentials;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How the stand-in answers the n-th append session (0-based).
#[derive(Clone, Copy, Debug)]
enum Behaviour {
  Ack,
  HttpStatus(u16),
  /// Ack this many frames, then send a terminal frame with this status.
  TerminalAfter(usize, u16),
}

#[derive(Default)]
struct State {
  sessions: usize,
  stored: Vec<Bytes>,
  frames: usize,
  headers: Vec<(String, String)>,
  /// When set, the first ack waits until `release` is notified.
  hold_first_ack: bool,
  release: Arc<Notify>,
}

fn frame(flags: u8, payload: &[u8]) -> Bytes {
  let l = payload.len() + 1;
  let mut b = BytesMut::new();
  b.extend_from_slice(&[(l >> 16) as u8, (l >> 8) as u8, l as u8, flags]);
  b.extend_from_slice(payload);
  b.freeze()
}

async fn start(script: Vec<Behaviour>) -> (String, Arc<Mutex<State>>) {
  let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
  let addr = listener.local_addr().unwrap();
  let state = Arc::new(Mutex::new(State::default()));
  let st = state.clone();
  tokio::spawn(async move {
    loop {
      let (tcp, _) = listener.accept().await.unwrap();
      let st = st.clone();
      let script = script.clone();
      tokio::spawn(async move {
        let service = service_fn(move |req: Request<Incoming>| {
          let st = st.clone();
          let script = script.clone();
          async move {
            let n = {
              let mut s = st.lock().unwrap();
              s.sessions += 1;
              s.headers = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                .collect();
              s.sessions - 1
            };
            let behaviour = script.get(n).copied().unwrap_or(Behaviour::Ack);
            if let Behaviour::HttpStatus(status) = behaviour {
              let body = ChannelBody::empty();
              return Ok::<_, std::convert::Infallible>(
                Response::builder().status(status).body(body).unwrap(),
              );
            }
            let (tx, body) = ChannelBody::channel();
            let mut incoming = req.into_body();
            tokio::spawn(async move {
              let mut buf = BytesMut::new();
              let mut acked = 0usize;
              while let Some(Ok(f)) = incoming.frame().await {
                let Ok(data) = f.into_data() else { continue };
                buf.extend_from_slice(&data);
                while buf.len() >= 4 {
                  let len = ((buf[0] as usize) << 16) | ((buf[1] as usize) << 8) | buf[2] as usize;
                  if buf.len() < 3 + len {
                    break;
                  }
                  let whole = buf.split_to(3 + len);
                  let input: AppendInput = prost::Message::decode(&whole[4..]).unwrap();
                  if let Behaviour::TerminalAfter(k, status) = behaviour {
                    if acked == k {
                      let mut p = status.to_be_bytes().to_vec();
                      p.extend_from_slice(br#"{"code":"unavailable","message":"injected"}"#);
                      let _ = tx.send(frame(0x80, &p));
                      return;
                    }
                  }
                  let (start, end) = {
                    let mut s = st.lock().unwrap();
                    s.frames += 1;
                    let start = s.stored.len() as u64;
                    s.stored
                      .extend(input.records.iter().map(|r| r.body.clone()));
                    (start, s.stored.len() as u64)
                  };
                  let pos = |seq| {
                    Some(StreamPosition {
                      seq_num: seq,
                      timestamp: 1,
                    })
                  };
                  let ack = AppendAck {
                    start: pos(start),
                    end: pos(end),
                    tail: pos(end),
                  };
                  let hold = acked == 0 && st.lock().unwrap().hold_first_ack;
                  if hold {
                    let release = st.lock().unwrap().release.clone();
                    release.notified().await;
                  }
                  let _ = tx.send(frame(0, &prost::Message::encode_to_vec(&ack)));
                  acked += 1;
                }
              }
            });
            Ok(
              Response::builder()
                .status(200)
                .header("content-type", "s2s/proto")
                .body(body)
                .unwrap(),
            )
          }
        });
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
          .serve_connection(TokioIo::new(tcp), service)
          .await;
      });
    }
  });
  (format!("http://{addr}/v1"), state)
}

fn creds(endpoint: &str) -> S2Credentials {
  S2Credentials {
    access_token: "s2-token".into(),
    basin: "test-basin-1".into(),
    stream: "/sessions/c/out".into(),
    endpoint: Some(endpoint.into()),
  }
}

fn record(i: usize) -> WriterInput {
  WriterInput::Record(Bytes::from(format!(
    "{{\"data\":{{\"i\":{i}}},\"id\":\"id{i}\"}}"
  )))
}

/// The writer with a plain client and default options, against the stand-in at `endpoint`.
fn write_with_defaults(
  endpoint: &str,
  input: TeeInput,
) -> impl std::future::Future<Output = WriterOutcome> {
  run_writer(
    s2_client(None).unwrap(),
    creds(endpoint),
    input,
    WriterOptions::default(),
  )
}

/// Polls until the stand-in stored (acked) the first record.
async fn until_first_record_stored(state: &Mutex<State>) {
  while state.lock().unwrap().stored.is_empty() {
    tokio::time::sleep(Duration::from_millis(2)).await;
  }
}

#[tokio::test]
async fn writes_records_in_order_and_reports_the_last_acked_seq() {
  let (endpoint, state) = start(vec![]).await;
  let (tx, rx) = tee_channel();
  for i in 0..5 {
    assert!(tx.send(record(i)));
  }
  drop(tx);
  let outcome = write_with_defaults(&endpoint, rx).await;
  assert_eq!(outcome.error, None);
  assert_eq!(outcome.last_acked_seq, Some(4));
  // What the turn's report and the `tee` log events say about it.
  assert_eq!(outcome.stats.records, 5);
  assert_eq!(
    outcome.stats.bytes,
    (0..5)
      .map(|i| format!("{{\"data\":{{\"i\":{i}}},\"id\":\"id{i}\"}}").len() as u64)
      .sum::<u64>()
  );
  assert!(outcome.stats.batches >= 1 && outcome.stats.batches <= 5);
  assert_eq!(outcome.stats.retries, 0);
  assert!(outcome.stats.max_ack_ms > 0.0);
  let s = state.lock().unwrap();
  assert_eq!(s.stored.len(), 5);
  assert_eq!(
    s.stored[3],
    Bytes::from_static(b"{\"data\":{\"i\":3},\"id\":\"id3\"}")
  );
  let header = |n: &str| {
    s.headers
      .iter()
      .find(|(k, _)| k == n)
      .map(|(_, v)| v.clone())
  };
  assert_eq!(header("content-type").as_deref(), Some("s2s/proto"));
  assert_eq!(header("authorization").as_deref(), Some("Bearer s2-token"));
  assert_eq!(header("s2-basin").as_deref(), Some("test-basin-1"));
}

#[tokio::test]
async fn sends_a_batch_without_lingering() {
  let (endpoint, state) = start(vec![]).await;
  let (tx, rx) = tee_channel();
  let writer = tokio::spawn(write_with_defaults(&endpoint, rx));
  assert!(tx.send(record(0)));
  // The source stays open: the record must still reach S2 (no 200 ms linger, no batch fill).
  let deadline = tokio::time::Instant::now() + Duration::from_millis(150);
  while state.lock().unwrap().stored.is_empty() {
    assert!(
      tokio::time::Instant::now() < deadline,
      "the first record waited for a linger"
    );
    tokio::time::sleep(Duration::from_millis(2)).await;
  }
  // Records produced while a batch is in flight go out together after its ack.
  for i in 1..50 {
    assert!(tx.send(record(i)));
  }
  drop(tx);
  let outcome = writer.await.unwrap();
  assert_eq!(outcome.last_acked_seq, Some(49));
  let s = state.lock().unwrap();
  assert_eq!(s.stored.len(), 50);
  assert!(
    s.frames < 50,
    "records were batched while a frame was in flight ({} frames)",
    s.frames
  );
}

#[tokio::test]
async fn retries_an_http_503_on_a_new_session() {
  let (endpoint, state) = start(vec![Behaviour::HttpStatus(503)]).await;
  let (tx, rx) = tee_channel();
  assert!(tx.send(record(0)));
  assert!(tx.send(record(1)));
  drop(tx);
  let outcome = write_with_defaults(&endpoint, rx).await;
  assert_eq!(outcome.error, None);
  assert_eq!(outcome.last_acked_seq, Some(1));
  assert_eq!(outcome.stats.retries, 1);
  assert_eq!(state.lock().unwrap().sessions, 2);
}

#[tokio::test]
async fn a_terminal_frame_resubmits_the_unacked_batches() {
  // Session 1 acks the first frame, then fails; session 2 must carry only what was not acked.
  let (endpoint, state) = start(vec![Behaviour::TerminalAfter(1, 503)]).await;
  let (tx, rx) = tee_channel();
  let writer = tokio::spawn(write_with_defaults(&endpoint, rx));
  assert!(tx.send(record(0)));
  until_first_record_stored(&state).await;
  assert!(tx.send(record(1)));
  assert!(tx.send(record(2)));
  drop(tx);
  let outcome = writer.await.unwrap();
  assert_eq!(outcome.error, None, "{outcome:?}");
  assert_eq!(outcome.last_acked_seq, Some(2));
  let s = state.lock().unwrap();
  assert_eq!(s.sessions, 2);
  assert_eq!(s.stored.len(), 3, "no record lost or duplicated");
}

#[tokio::test]
async fn gives_up_after_three_attempts_and_keeps_the_acked_prefix() {
  let (endpoint, state) = start(vec![
    Behaviour::TerminalAfter(1, 503),
    Behaviour::HttpStatus(503),
    Behaviour::HttpStatus(503),
  ])
  .await;
  let (tx, rx) = tee_channel();
  let writer = tokio::spawn(write_with_defaults(&endpoint, rx));
  assert!(tx.send(record(0)));
  until_first_record_stored(&state).await;
  assert!(tx.send(record(1)));
  drop(tx);
  let outcome = writer.await.unwrap();
  assert_eq!(outcome.stats.retries, 2);
  let err = outcome.error.expect("writer fails");
  assert!(
    err.message.starts_with("Max attempts (3) exhausted"),
    "{}",
    err.message
  );
  assert_eq!(
    outcome.last_acked_seq,
    Some(0),
    "resuming after the acked prefix needs one"
  );
  assert_eq!(state.lock().unwrap().sessions, 3);
}

#[tokio::test]
async fn a_400_is_not_retried() {
  let (endpoint, state) = start(vec![Behaviour::HttpStatus(400)]).await;
  let (tx, rx) = tee_channel();
  assert!(tx.send(record(0)));
  drop(tx);
  let outcome = write_with_defaults(&endpoint, rx).await;
  assert_eq!(outcome.error.map(|e| e.status), Some(Some(400)));
  assert_eq!(outcome.last_acked_seq, None);
  assert_eq!(state.lock().unwrap().sessions, 1);
}

/// A future that counts how often it is polled: every poll of the writer is a wake-up of the
/// runtime on its behalf.
struct CountPolls<F> {
  inner: Pin<Box<F>>,
  polls: Arc<AtomicUsize>,
}

impl<F: Future> Future for CountPolls<F> {
  type Output = F::Output;
  fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
    self.polls.fetch_add(1, Ordering::Relaxed);
    self.inner.as_mut().poll(cx)
  }
}

#[tokio::test]
async fn records_queued_while_a_batch_is_in_flight_do_not_wake_the_writer() {
  let (endpoint, state) = start(vec![]).await;
  let release = {
    let mut s = state.lock().unwrap();
    s.hold_first_ack = true;
    s.release.clone()
  };
  let (tx, rx) = tee_channel();
  let polls = Arc::new(AtomicUsize::new(0));
  let writer = tokio::spawn(CountPolls {
    inner: Box::pin(write_with_defaults(&endpoint, rx)),
    polls: polls.clone(),
  });
  assert!(tx.send(record(0)));
  until_first_record_stored(&state).await;
  // The first batch is stored and its ack held: the writer waits for that ack alone.
  tokio::time::sleep(Duration::from_millis(20)).await;
  let before = polls.load(Ordering::Relaxed);
  for i in 1..50 {
    assert!(tx.send(record(i)));
    tokio::task::yield_now().await;
  }
  tokio::time::sleep(Duration::from_millis(20)).await;
  assert_eq!(
    polls.load(Ordering::Relaxed),
    before,
    "records queued while a batch was in flight woke the writer"
  );
  release.notify_one();
  drop(tx);
  let outcome = writer.await.unwrap();
  assert_eq!(outcome.error, None);
  assert_eq!(outcome.last_acked_seq, Some(49));
  let s = state.lock().unwrap();
  assert_eq!(s.stored.len(), 50);
  assert_eq!(
    s.frames, 2,
    "the 49 queued records left together after the ack"
  );
}

/// A writer with a linger, spawned against the stand-in at `endpoint`, records `0..n` sent.
fn spawn_lingering(
  endpoint: &str,
  linger: Duration,
  n: usize,
) -> (TeeSender, tokio::task::JoinHandle<WriterOutcome>) {
  let (tx, rx) = tee_channel();
  let opts = WriterOptions {
    linger,
    ..WriterOptions::default()
  };
  let writer = tokio::spawn(run_writer(
    s2_client(None).unwrap(),
    creds(endpoint),
    rx,
    opts,
  ));
  for i in 0..n {
    assert!(tx.send(record(i)));
  }
  (tx, writer)
}

#[tokio::test]
async fn a_linger_sends_what_it_collected_when_it_ends() {
  let (endpoint, state) = start(vec![]).await;
  let (tx, writer) = spawn_lingering(&endpoint, Duration::from_millis(50), 5);
  // The source stays open: the linger's end alone sends the batch.
  tokio::time::timeout(Duration::from_secs(30), async {
    while state.lock().unwrap().stored.len() < 5 {
      tokio::time::sleep(Duration::from_millis(2)).await;
    }
  })
  .await
  .expect("the linger never ended");
  assert_eq!(state.lock().unwrap().frames, 1);
  drop(tx);
  let outcome = writer.await.unwrap();
  assert_eq!(outcome.last_acked_seq, Some(4));
}

#[tokio::test]
async fn closing_the_source_ends_a_linger() {
  let (endpoint, state) = start(vec![]).await;
  let (tx, writer) = spawn_lingering(&endpoint, Duration::from_secs(3600), 10);
  drop(tx);
  let outcome = tokio::time::timeout(Duration::from_secs(30), writer)
    .await
    .expect("the writer still lingered after its source closed")
    .unwrap();
  assert_eq!(outcome.error, None);
  assert_eq!(outcome.last_acked_seq, Some(9));
  assert_eq!(state.lock().unwrap().frames, 1);
}
