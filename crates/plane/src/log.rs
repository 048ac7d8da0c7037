//! The request log a test reads: every request to either port, in arrival order, with method,
//! path, headers and body. Bodies are attached once read (streaming S2S bodies stay empty).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
  /// The Trigger.dev-compatible control plane.
  Api,
  /// The S2-compatible stream plane.
  S2,
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
    });
    Some(LogId(index))
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

  /// `[{index, timeMs, origin, method, path, httpVersion, headers: {name: value}, body, streaming}]`.
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
    }
    let state = self.lock();
    let out: Vec<Out> = state
      .entries
      .iter()
      .map(|e| {
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
}
