//! Small HTTP helpers shared by both planes: the response body type, JSON/error responses,
//! streaming bodies fed from a channel, bounded body reads and path decoding.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::Frame;
use tokio::sync::mpsc;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Body = BoxBody<Bytes, BoxError>;
pub type Resp = Response<Body>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
  Full::new(bytes.into())
    .map_err(|e: Infallible| match e {})
    .boxed()
}

/// A connection's request body as a [`Body`], the type the routes take (tests and the fuzz
/// target hand them [`full`] bodies instead).
pub fn boxed_incoming(body: hyper::body::Incoming) -> Body {
  body.map_err(|e| Box::new(e) as BoxError).boxed()
}

pub fn empty() -> Body {
  full(Bytes::new())
}

pub fn response(status: u16, content_type: &str, body: impl Into<Bytes>) -> Resp {
  let mut resp = Response::new(full(body));
  *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
  if let Ok(v) = HeaderValue::from_str(content_type) {
    resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
  }
  resp
}

pub fn json(status: u16, value: &serde_json::Value) -> Resp {
  response(status, "application/json", value.to_string())
}

/// Trigger API error shape: `{"error": "<message>"}`.
pub fn api_error(status: u16, message: &str) -> Resp {
  json(status, &serde_json::json!({ "error": message }))
}

/// S2 error shape: `{"code": …, "message": …}`.
pub fn s2_error(status: u16, code: &str, message: &str) -> Resp {
  json(
    status,
    &serde_json::json!({ "code": code, "message": message }),
  )
}

pub fn set_header(resp: &mut Resp, name: &'static str, value: &str) {
  if let Ok(v) = HeaderValue::from_str(value) {
    resp.headers_mut().insert(name, v);
  }
}

/// A chunk sent to a streaming body: bytes, or an error that aborts the connection
/// (HTTP/1.1: no chunked terminator; h2: RST_STREAM) — how "early close" faults are made.
pub type BodyChunk = Result<Bytes, BoxError>;

/// A streaming body fed by the returned sender; the body ends when the sender is dropped.
pub fn channel_body(capacity: usize) -> (mpsc::Sender<BodyChunk>, Body) {
  let (tx, rx) = mpsc::channel::<BodyChunk>(capacity);
  let stream = futures::stream::unfold(rx, |mut rx| async move {
    rx.recv().await.map(|chunk| (chunk.map(Frame::data), rx))
  });
  (tx, StreamBody::new(stream).boxed())
}

#[derive(Debug)]
pub enum ReadBodyError {
  TooLarge,
  Failed(String),
}

/// Reads a whole request body, refusing more than `limit` bytes (up front when the declared
/// length is already over it). A hand loop rather than `http_body_util::Limited`: over a boxed
/// body its generic error conversion trips rustc's higher-ranked `Send` check in the server.
pub async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, ReadBodyError> {
  use hyper::body::Body as _;
  if body.size_hint().lower() > limit as u64 {
    return Err(ReadBodyError::TooLarge);
  }
  let mut chunks: Vec<Bytes> = Vec::new();
  let mut total = 0usize;
  while let Some(frame) = body.frame().await {
    let frame = frame.map_err(|e| ReadBodyError::Failed(e.to_string()))?;
    if let Ok(data) = frame.into_data() {
      total += data.len();
      if total > limit {
        return Err(ReadBodyError::TooLarge);
      }
      chunks.push(data);
    }
  }
  Ok(match chunks.len() {
    0 => Bytes::new(),
    1 => chunks.pop().expect("one chunk"),
    _ => chunks.concat().into(),
  })
}

/// Percent-decodes one path segment (`%2F` → `/`); invalid escapes are kept verbatim.
pub fn percent_decode(segment: &str) -> String {
  let bytes = segment.as_bytes();
  let mut out = Vec::with_capacity(bytes.len());
  let mut i = 0;
  while i < bytes.len() {
    if bytes[i] == b'%' && i + 2 < bytes.len() {
      let hex = |b: u8| (b as char).to_digit(16);
      if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
        out.push((h * 16 + l) as u8);
        i += 3;
        continue;
      }
    }
    out.push(bytes[i]);
    i += 1;
  }
  String::from_utf8_lossy(&out).into_owned()
}

/// Query string → decoded (name, value) pairs.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
  query
    .unwrap_or("")
    .split('&')
    .filter(|p| !p.is_empty())
    .map(|p| {
      let (k, v) = p.split_once('=').unwrap_or((p, ""));
      (
        percent_decode(&k.replace('+', " ")),
        percent_decode(&v.replace('+', " ")),
      )
    })
    .collect()
}

pub fn header_str<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
  headers.get(name).and_then(|v| v.to_str().ok())
}

pub fn bearer(headers: &http::HeaderMap) -> Option<&str> {
  let value = header_str(headers, "authorization")?;
  let (scheme, token) = value.split_once(' ')?;
  (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn percent_decoding() {
    assert_eq!(percent_decode("%2Fsessions%2Fx%2Fout"), "/sessions/x/out");
    assert_eq!(percent_decode("a%2"), "a%2");
    assert_eq!(percent_decode("%zz%41"), "%zzA");
    assert_eq!(percent_decode("%C3%A9"), "é");
  }

  #[test]
  fn query_parsing() {
    assert_eq!(
      query_pairs(Some("seq_num=3&wait=&x")),
      vec![
        ("seq_num".into(), "3".into()),
        ("wait".into(), "".into()),
        ("x".into(), "".into())
      ]
    );
  }
}
