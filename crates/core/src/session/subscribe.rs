//! Phase-2 subscription to `session.out` (docs/protocol.md §5): `GET …/{chatId}/out` as SSE with
//! the secret key, `Last-Event-ID` resume, the reference retry policy (∞ retries with
//! `min(100·2^(n−1), 5000)·[0.5,1]` ms backoff, 30 s to response headers, terminal statuses
//! 400/401/403/404/409/410/422), `event: error` → reconnect, clean EOF → end.
//!
//! Events are handed on per network read (one `Vec` per read) so the consumer can produce one
//! output batch per read.
//!
//! It runs in a debug span `subscribe` (target `chat_headstart_core::session::subscribe`):
//! each connect, reconnect (with why and the delay) and the end are debug events, each read a
//! trace event.

use super::api::{encode_uri_component, ApiError, TriggerApi};
use super::retry::{sse_backoff, sse_status_is_terminal};
use crate::sse::{SseItem, SseParser};
use bytes::Bytes;
use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::Instrument;

/// What the subscription reports to its consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionEvent {
  /// `data` of the `event: batch` SSE events delivered by one network read, in order.
  Batches(Vec<String>),
  /// The server ended the body cleanly (`[DONE]` + EOF).
  Ended,
  /// A terminal failure (non-retryable status).
  Failed(ApiError),
  /// The connection failed or broke and is retried after a backoff (informational).
  Reconnecting,
}

#[derive(Debug, Clone)]
pub struct SubscriptionOptions {
  pub header_timeout: Duration,
  /// Cap on one buffered SSE line/event (guards memory against a misbehaving server).
  pub max_event_bytes: usize,
}

impl Default for SubscriptionOptions {
  fn default() -> Self {
    SubscriptionOptions {
      header_timeout: Duration::from_secs(30),
      max_event_bytes: 4 * 1024 * 1024,
    }
  }
}

/// Cursor shared with the consumer: the last seq delivered (reconnects resume after it).
pub fn last_seq_of_batch(data: &str) -> Option<u64> {
  #[derive(serde::Deserialize)]
  struct Rec {
    seq_num: u64,
  }
  #[derive(serde::Deserialize)]
  struct Batch {
    records: Vec<Rec>,
  }
  serde_json::from_str::<Batch>(data)
    .ok()?
    .records
    .last()
    .map(|r| r.seq_num)
}

/// The last seq of an S2 batch event from its `id: <last_seq>,<count>,<bytes>`.
pub fn seq_from_event_id(id: Option<&str>) -> Option<u64> {
  let id = id?;
  id.split(',').next()?.parse().ok()
}

/// Runs the subscription until the consumer goes away (the channel closes), the body ends
/// cleanly, or a terminal status arrives. Each reconnect resumes after the last seq seen.
pub async fn subscribe_session_out(
  api: Arc<TriggerApi>,
  chat_id: String,
  last_event_id: Option<u64>,
  events: mpsc::Sender<SubscriptionEvent>,
  opts: SubscriptionOptions,
) {
  let span = tracing::debug_span!("subscribe", chat_id = %chat_id);
  subscribe(api, chat_id, last_event_id, events, opts)
    .instrument(span)
    .await
}

/// Why a connection is retried (the `reason` of the reconnect event).
fn retry_reason(status: Option<u16>, timed_out: bool) -> &'static str {
  match (status, timed_out) {
    (Some(_), _) => "status",
    (None, true) => "header timeout",
    (None, false) => "connection error",
  }
}

async fn subscribe(
  api: Arc<TriggerApi>,
  chat_id: String,
  mut last_event_id: Option<u64>,
  events: mpsc::Sender<SubscriptionEvent>,
  opts: SubscriptionOptions,
) {
  let path = format!(
    "/realtime/v1/sessions/{}/out",
    encode_uri_component(&chat_id)
  );
  let url = api.url(&path);
  let mut retry = 0u32;
  loop {
    let mut req = Request::builder().method(Method::GET).uri(&url);
    let h = req.headers_mut().expect("fresh builder");
    *h = api.common_headers();
    h.insert("accept", HeaderValue::from_static("text/event-stream"));
    if let Some(id) = last_event_id {
      h.insert("last-event-id", HeaderValue::from(id));
    }
    let req = req.body(Full::new(Bytes::new())).expect("valid request");
    let resp = tokio::select! {
      r = tokio::time::timeout(opts.header_timeout, api.send(req)) => r,
      _ = events.closed() => return,
    };
    let mut timed_out = false;
    let mut broke = None;
    let failure_status = match resp {
      Ok(Ok(resp)) if resp.status().is_success() => {
        tracing::debug!(
          status = resp.status().as_u16(),
          after_seq = last_event_id,
          "connected"
        );
        retry = 0;
        let mut body = resp.into_body();
        let mut parser = SseParser::new(opts.max_event_bytes);
        let mut errored = false;
        loop {
          let frame = tokio::select! {
            f = body.frame() => f,
            _ = events.closed() => return,
          };
          match frame {
            Some(Ok(frame)) => {
              let Ok(data) = frame.into_data() else {
                continue;
              };
              let mut batches = Vec::new();
              let mut server_error = false;
              let mut last_seq = None;
              let fed = parser.feed(&data, &mut |item: SseItem<'_>| match item {
                SseItem::Event {
                  event: "batch",
                  data,
                  id,
                  ..
                } => {
                  // S2 puts `<last_seq>,<count>,<bytes>` in the event id: the cursor without a
                  // second parse of the batch (fallback: read it from the records).
                  last_seq = seq_from_event_id(id)
                    .or_else(|| last_seq_of_batch(data))
                    .or(last_seq);
                  batches.push(data.to_string());
                }
                SseItem::Event { event: "error", .. } => server_error = true,
                _ => {}
              });
              if last_seq.is_some() {
                last_event_id = last_seq;
              }
              tracing::trace!(
                batches = batches.len(),
                bytes = data.len(),
                last_seq = last_event_id,
                "read"
              );
              if !batches.is_empty()
                && events
                  .send(SubscriptionEvent::Batches(batches))
                  .await
                  .is_err()
              {
                return;
              }
              if server_error || fed.is_err() {
                broke = Some(if server_error {
                  "event: error"
                } else {
                  "unparsable event stream"
                });
                errored = true;
                break;
              }
            }
            Some(Err(_)) => {
              broke = Some("body error");
              errored = true;
              break;
            }
            None => break,
          }
        }
        if !errored {
          tracing::debug!(last_seq = last_event_id, "ended");
          let _ = events.send(SubscriptionEvent::Ended).await;
          return;
        }
        None
      }
      Ok(Ok(resp)) => Some((
        resp.status().as_u16(),
        resp
          .into_body()
          .collect()
          .await
          .map(|c| c.to_bytes())
          .unwrap_or_default(),
      )),
      // Network error or header timeout: retried.
      Ok(Err(_)) => None,
      Err(_) => {
        timed_out = true;
        None
      }
    };
    let status = failure_status.as_ref().map(|(status, _)| *status);
    if let Some((status, body)) = failure_status {
      if sse_status_is_terminal(status) {
        let error = ApiError::from_response(status, &body);
        tracing::debug!(status, error = %error.message, "failed");
        let _ = events.send(SubscriptionEvent::Failed(error)).await;
        return;
      }
    }
    retry += 1;
    let delay = sse_backoff(retry);
    tracing::debug!(
      attempt = retry,
      status,
      reason = broke.unwrap_or_else(|| retry_reason(status, timed_out)),
      after_seq = last_event_id,
      retry_in_ms = delay.as_millis() as u64,
      "reconnecting"
    );
    tokio::select! {
      sent = events.send(SubscriptionEvent::Reconnecting) => if sent.is_err() { return },
      _ = events.closed() => return,
    }
    tokio::select! {
      _ = tokio::time::sleep(delay) => {}
      _ = events.closed() => return,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn seq_from_the_s2_event_id() {
    assert_eq!(seq_from_event_id(Some("12,3,456")), Some(12));
    assert_eq!(seq_from_event_id(Some("7")), Some(7));
    assert_eq!(seq_from_event_id(Some("x,1")), None);
    assert_eq!(seq_from_event_id(None), None);
  }

  #[test]
  fn last_seq_of_a_batch() {
    assert_eq!(
      last_seq_of_batch(r#"{"records":[{"seq_num":3},{"seq_num":9,"body":"x"}]}"#),
      Some(9)
    );
    assert_eq!(last_seq_of_batch(r#"{"records":[]}"#), None);
    assert_eq!(last_seq_of_batch("nope"), None);
  }
}
