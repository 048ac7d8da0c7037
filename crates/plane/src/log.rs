//! The request log a test reads: every request to either port, in arrival order, with method,
//! path, headers and body. Bodies are attached once read (streaming S2S bodies stay empty).
//! Each entry also follows its response: the status, the body bytes handed to the connection
//! so far, and when and how the body ended — so a test can see that a client closed a
//! long-lived read (an SSE subscription) and how much a stalled reader let through.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use hyper::body::{Body as _, Frame, SizeHint};
use serde::Serialize;

use crate::http::{Body, BoxError, Resp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
  /// The Trigger.dev-compatible control plane.
  Api,
  /// The S2-compatible stream plane.
  S2,
}

impl Origin {
  pub fn as_str(self) -> &'static str {
    match self {
      Origin::Api => "api",
      Origin::S2 => "s2",
    }
  }
}

struct Entry {
  index: u64,
  at: f64,
  origin: Origin,
  method: String,
  path: String,
  version: &'static str,
  headers: Vec<(String, String)>,
  body: Bytes,
  streaming: bool,
  status: Option<u16>,
  response: Arc<ResponseMeter>,
}

/// How a response body ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseEnd {
  /// Every byte of the body was handed to the connection.
  Complete,
  /// The body was dropped before its end: the client closed the request (or the connection
  /// went away) while the response was still streaming.
  Aborted,
  /// The body itself failed (an injected early close): the connection was cut.
  Failed,
}

/// Live progress of one response body, shared by the log entry and the body wrapper.
pub struct ResponseMeter {
  started: Instant,
  sent_bytes: AtomicU64,
  end: Mutex<Option<(ResponseEnd, f64)>>,
}

impl ResponseMeter {
  fn new(started: Instant) -> Self {
    ResponseMeter {
      started,
      sent_bytes: AtomicU64::new(0),
      end: Mutex::new(None),
    }
  }

  /// Records the first end only (a drop after completion changes nothing).
  fn finish(&self, how: ResponseEnd) {
    let mut end = self.end.lock().unwrap_or_else(|e| e.into_inner());
    if end.is_none() {
      *end = Some((how, self.started.elapsed().as_secs_f64() * 1000.0));
    }
  }

  fn ended(&self) -> Option<(ResponseEnd, f64)> {
    *self.end.lock().unwrap_or_else(|e| e.into_inner())
  }
}

/// A response body that reports to its [`ResponseMeter`]: bytes as hyper polls them out, the
/// end when the last frame went out, `Aborted` when hyper drops it unfinished.
struct MeteredBody {
  inner: Body,
  meter: Arc<ResponseMeter>,
}

impl hyper::body::Body for MeteredBody {
  type Data = Bytes;
  type Error = BoxError;

  fn poll_frame(
    mut self: Pin<&mut Self>,
    cx: &mut Context<'_>,
  ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
    let polled = Pin::new(&mut self.inner).poll_frame(cx);
    match &polled {
      Poll::Ready(Some(Ok(frame))) => {
        if let Some(data) = frame.data_ref() {
          self
            .meter
            .sent_bytes
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        // hyper stops polling a body that says it is at its end.
        if self.inner.is_end_stream() {
          self.meter.finish(ResponseEnd::Complete);
        }
      }
      Poll::Ready(Some(Err(_))) => self.meter.finish(ResponseEnd::Failed),
      Poll::Ready(None) => self.meter.finish(ResponseEnd::Complete),
      Poll::Pending => {}
    }
    polled
  }

  fn is_end_stream(&self) -> bool {
    self.inner.is_end_stream()
  }

  fn size_hint(&self) -> SizeHint {
    self.inner.size_hint()
  }
}

impl Drop for MeteredBody {
  fn drop(&mut self) {
    // An empty body may never be polled at all; it ended all the same.
    let how = if self.inner.is_end_stream() {
      ResponseEnd::Complete
    } else {
      ResponseEnd::Aborted
    };
    self.meter.finish(how);
  }
}

/// Handle to an entry so the body can be attached after it was read.
#[derive(Clone, Copy, Debug)]
pub struct LogId(u64);

pub struct RequestLog {
  started: Instant,
  max_entries: usize,
  state: Mutex<LogState>,
}

#[derive(Default)]
struct LogState {
  enabled: bool,
  next_index: u64,
  entries: VecDeque<Entry>,
  dropped: u64,
}

impl RequestLog {
  pub fn new(enabled: bool, max_entries: usize) -> Self {
    RequestLog {
      started: Instant::now(),
      max_entries: max_entries.max(1),
      state: Mutex::new(LogState {
        enabled,
        ..Default::default()
      }),
    }
  }

  fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
    self.state.lock().unwrap_or_else(|e| e.into_inner())
  }

  pub fn set_enabled(&self, enabled: bool) {
    self.lock().enabled = enabled;
  }

  pub fn begin(&self, origin: Origin, parts: &http::request::Parts) -> Option<LogId> {
    let mut state = self.lock();
    if !state.enabled {
      return None;
    }
    let index = state.next_index;
    state.next_index += 1;
    let headers = parts
      .headers
      .iter()
      .map(|(k, v)| {
        (
          k.as_str().to_owned(),
          String::from_utf8_lossy(v.as_bytes()).into_owned(),
        )
      })
      .collect();
    let version = match parts.version {
      http::Version::HTTP_2 => "h2",
      http::Version::HTTP_10 => "http/1.0",
      _ => "http/1.1",
    };
    let path = parts
      .uri
      .path_and_query()
      .map(|p| p.as_str().to_owned())
      .unwrap_or_default();
    if state.entries.len() >= self.max_entries {
      state.entries.pop_front();
      state.dropped += 1;
    }
    state.entries.push_back(Entry {
      index,
      at: self.started.elapsed().as_secs_f64() * 1000.0,
      origin,
      method: parts.method.as_str().to_owned(),
      path,
      version,
      headers,
      body: Bytes::new(),
      streaming: false,
      status: None,
      response: Arc::new(ResponseMeter::new(self.started)),
    });
    Some(LogId(index))
  }

  /// Records the response's status and wraps its body so the entry follows it to its end.
  /// A HEAD response carries no body on the wire: it is complete as soon as it is answered.
  pub fn track_response(&self, id: Option<LogId>, is_head: bool, resp: Resp) -> Resp {
    let mut meter = None;
    self.with_entry(id, |e| {
      e.status = Some(resp.status().as_u16());
      meter = Some(e.response.clone());
    });
    let Some(meter) = meter else { return resp };
    if is_head {
      meter.finish(ResponseEnd::Complete);
      return resp;
    }
    resp.map(|inner| {
      use http_body_util::BodyExt;
      MeteredBody { inner, meter }.boxed()
    })
  }

  fn with_entry(&self, id: Option<LogId>, f: impl FnOnce(&mut Entry)) {
    let Some(LogId(index)) = id else { return };
    let mut state = self.lock();
    let Some(first) = state.entries.front().map(|e| e.index) else {
      return;
    };
    if let Some(entry) = index
      .checked_sub(first)
      .and_then(|i| state.entries.get_mut(i as usize))
    {
      f(entry);
    }
  }

  /// The request was dropped before its response existed (the client went away): its entry
  /// ends as aborted now.
  pub fn abandon(&self, id: Option<LogId>) {
    self.with_entry(id, |e| e.response.finish(ResponseEnd::Aborted));
  }

  /// The log's clock (`timeMs`, `responseEndMs`): ms since the plane started.
  pub fn now_ms(&self) -> f64 {
    self.started.elapsed().as_secs_f64() * 1000.0
  }

  pub fn set_body(&self, id: Option<LogId>, body: &Bytes) {
    self.with_entry(id, |e| e.body = body.clone());
  }

  pub fn mark_streaming(&self, id: Option<LogId>) {
    self.with_entry(id, |e| e.streaming = true);
  }

  pub fn clear(&self) {
    let mut state = self.lock();
    state.entries.clear();
    state.dropped = 0;
  }

  /// `[{index, timeMs, origin, method, path, httpVersion, headers: {name: value}, body, streaming,
  /// status, responseBytes, responseEnd, responseEndMs}]`.
  /// Repeated header names are joined with ", " like the Fetch `Headers` class does.
  pub fn to_json(&self) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out<'a> {
      index: u64,
      time_ms: f64,
      origin: Origin,
      method: &'a str,
      path: &'a str,
      http_version: &'a str,
      headers: serde_json::Map<String, serde_json::Value>,
      body: std::borrow::Cow<'a, str>,
      streaming: bool,
      status: Option<u16>,
      response_bytes: u64,
      response_end: Option<ResponseEnd>,
      response_end_ms: Option<f64>,
    }
    let state = self.lock();
    let out: Vec<Out> = state
      .entries
      .iter()
      .map(|e| {
        let ended = e.response.ended();
        let mut headers = serde_json::Map::new();
        for (k, v) in &e.headers {
          match headers.get_mut(k) {
            Some(serde_json::Value::String(existing)) => {
              existing.push_str(", ");
              existing.push_str(v);
            }
            _ => {
              headers.insert(k.clone(), serde_json::Value::String(v.clone()));
            }
          }
        }
        Out {
          index: e.index,
          time_ms: (e.at * 1000.0).round() / 1000.0,
          origin: e.origin,
          method: &e.method,
          path: &e.path,
          http_version: e.version,
          headers,
          body: String::from_utf8_lossy(&e.body),
          streaming: e.streaming,
          status: e.status,
          response_bytes: e.response.sent_bytes.load(Ordering::Relaxed),
          response_end: ended.map(|(how, _)| how),
          response_end_ms: ended.map(|(_, at)| (at * 1000.0).round() / 1000.0),
        }
      })
      .collect();
    serde_json::to_string(&out).unwrap_or_else(|_| "[]".into())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn parts(method: &str, uri: &str) -> http::request::Parts {
    let (parts, _) = http::Request::builder()
      .method(method)
      .uri(uri)
      .header("x-a", "1")
      .header("x-a", "2")
      .body(())
      .unwrap()
      .into_parts();
    parts
  }

  #[test]
  fn keeps_order_bodies_and_caps() {
    let log = RequestLog::new(true, 2);
    let a = log.begin(Origin::Api, &parts("POST", "/a?x=1"));
    let b = log.begin(Origin::S2, &parts("GET", "/b"));
    log.set_body(a, &Bytes::from_static(b"{}"));
    let json: serde_json::Value = serde_json::from_str(&log.to_json()).unwrap();
    assert_eq!(json[0]["path"], "/a?x=1");
    assert_eq!(json[0]["body"], "{}");
    assert_eq!(json[0]["headers"]["x-a"], "1, 2");
    assert_eq!(json[1]["origin"], "s2");
    log.begin(Origin::Api, &parts("GET", "/c"));
    log.set_body(b, &Bytes::from_static(b"late"));
    let json: serde_json::Value = serde_json::from_str(&log.to_json()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(json[0]["body"], "late");
    assert_eq!(json[1]["path"], "/c");
  }

  fn response_of(log: &RequestLog, index: usize) -> serde_json::Value {
    let json: serde_json::Value = serde_json::from_str(&log.to_json()).unwrap();
    json[index].clone()
  }

  #[tokio::test]
  async fn follows_responses_to_their_end() {
    use http_body_util::BodyExt;
    let log = RequestLog::new(true, 10);

    // A whole body read to its end.
    let id = log.begin(Origin::Api, &parts("GET", "/full"));
    let resp = log.track_response(
      id,
      false,
      crate::http::json(201, &serde_json::json!({"a": 1})),
    );
    let entry = response_of(&log, 0);
    assert_eq!(entry["status"], 201);
    assert!(entry["responseEnd"].is_null(), "{entry}");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let entry = response_of(&log, 0);
    assert_eq!(entry["responseEnd"], "complete");
    assert_eq!(entry["responseBytes"], body.len());
    assert!(entry["responseEndMs"].as_f64().unwrap() >= entry["timeMs"].as_f64().unwrap());

    // A stream the client walks away from after the first chunk.
    let id = log.begin(Origin::Api, &parts("GET", "/sse"));
    let (tx, body) = crate::http::channel_body(4);
    let resp = log.track_response(id, false, http::Response::new(body));
    tx.send(Ok(Bytes::from_static(b"event: ping\n\n")))
      .await
      .unwrap();
    let mut body = resp.into_body();
    body.frame().await.unwrap().unwrap();
    assert!(response_of(&log, 1)["responseEnd"].is_null());
    assert_eq!(response_of(&log, 1)["responseBytes"], 13);
    drop(body);
    assert_eq!(response_of(&log, 1)["responseEnd"], "aborted");
    assert!(tx.is_closed(), "the producer sees the client go away");

    // A body that fails (an injected early close).
    let id = log.begin(Origin::S2, &parts("GET", "/cut"));
    let (tx, body) = crate::http::channel_body(4);
    let mut body = log
      .track_response(id, false, http::Response::new(body))
      .into_body();
    tx.send(Err("cut".into())).await.unwrap();
    assert!(body.frame().await.unwrap().is_err());
    drop(body);
    assert_eq!(response_of(&log, 2)["responseEnd"], "failed");

    // HEAD: answered means complete; unlogged requests pass through untouched.
    let id = log.begin(Origin::Api, &parts("HEAD", "/h"));
    let _head = log.track_response(id, true, crate::http::response(200, "text/plain", "x"));
    assert_eq!(response_of(&log, 3)["responseEnd"], "complete");
    log.set_enabled(false);
    let none = log.begin(Origin::Api, &parts("GET", "/off"));
    assert!(none.is_none());
    let _ = log.track_response(none, false, crate::http::json(200, &serde_json::json!({})));
  }
}
