//! Shared by the hostile-input tests: a plane with a known key, raw HTTP/1.1 exchanges (so a
//! test can send what no well-behaved client would), and the "still serving" check.
// Each test crate that includes this module uses a part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use chat_headstart_plane::{Plane, PlaneOptions};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const KEY: &str = "tr_dev_hostile";
pub const AUTH: &str = "authorization: Bearer tr_dev_hostile";

pub fn plane(header_read_timeout_ms: u64) -> Plane {
  Plane::start(
    PlaneOptions {
      secret_key: Some(KEY.into()),
      log_requests: false,
      header_read_timeout_ms,
      ..PlaneOptions::default()
    },
    None,
  )
  .expect("plane starts")
}

pub struct Reply {
  pub status: u16,
  pub headers: String,
  pub body: Vec<u8>,
}

impl Reply {
  pub fn json(&self) -> Value {
    let ctype = self.headers.contains("content-type: application/json");
    assert!(ctype, "not JSON ({}): {}", self.status, self.headers);
    let text = String::from_utf8_lossy(&self.body);
    serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
  }

  /// The API's error shape: `{"error": "<message>"}`; returns the message.
  pub fn api_error(&self, status: u16) -> String {
    assert_eq!(
      self.status,
      status,
      "{}",
      String::from_utf8_lossy(&self.body)
    );
    let message = self.json()["error"]
      .as_str()
      .expect("error message")
      .to_owned();
    assert!(!message.is_empty());
    message
  }

  /// S2's error shape: `{"code", "message"}`; returns the code.
  pub fn s2_error(&self, status: u16) -> String {
    assert_eq!(
      self.status,
      status,
      "{}",
      String::from_utf8_lossy(&self.body)
    );
    let body = self.json();
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body["code"].as_str().expect("error code").to_owned()
  }
}

/// Undoes `transfer-encoding: chunked`.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
  let mut out = Vec::new();
  while let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") {
    let size_text = std::str::from_utf8(&raw[..line_end]).unwrap();
    let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
    if size == 0 {
      break;
    }
    let start = line_end + 2;
    out.extend_from_slice(&raw[start..start + size]);
    raw = &raw[start + size + 2..];
  }
  out
}

/// One HTTP/1.1 exchange with `connection: close`: `method path` with `headers` (`name: value`
/// each) and `body` (a `content-length` is added unless a header frames the body), written
/// concurrently with reading the whole response.
pub async fn send(
  addr: SocketAddr,
  method: &str,
  path: &str,
  headers: &[&str],
  body: impl Into<Vec<u8>>,
) -> Reply {
  let body = body.into();
  let mut request = format!("{method} {path} HTTP/1.1\r\nhost: plane\r\nconnection: close\r\n");
  for header in headers {
    request.push_str(header);
    request.push_str("\r\n");
  }
  if !headers
    .iter()
    .any(|h| h.starts_with("content-length") || h.starts_with("transfer-encoding"))
  {
    request.push_str(&format!("content-length: {}\r\n", body.len()));
  }
  request.push_str("\r\n");
  let (mut read, mut write) = TcpStream::connect(addr).await.unwrap().into_split();
  // The plane may answer (and close) before taking the whole body: write errors are expected.
  let writer = tokio::spawn(async move {
    let _ = write.write_all(request.as_bytes()).await;
    let _ = write.write_all(&body).await;
    write
  });
  let mut raw = Vec::new();
  let read = tokio::time::timeout(Duration::from_secs(10), read.read_to_end(&mut raw));
  read.await.expect("a response within 10 s").ok();
  drop(writer.await);
  let split = raw.windows(4).position(|w| w == b"\r\n\r\n");
  let split =
    split.unwrap_or_else(|| panic!("no response head: {:?}", String::from_utf8_lossy(&raw)));
  let headers = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
  let status = headers[9..12].parse().unwrap();
  let mut body = raw[split + 4..].to_vec();
  if headers.contains("transfer-encoding: chunked") {
    body = dechunk(&body);
  }
  Reply {
    status,
    headers,
    body,
  }
}

pub async fn create_session(addr: SocketAddr, external_id: &str) -> Value {
  let body = json!({
    "type": "chat.agent",
    "externalId": external_id,
    "taskIdentifier": "agent",
    "triggerConfig": { "basePayload": { "chatId": external_id, "messages": [] } },
  });
  let reply = send(addr, "POST", "/api/v1/sessions", &[AUTH], body.to_string()).await;
  assert_eq!(
    reply.status,
    201,
    "{}",
    String::from_utf8_lossy(&reply.body)
  );
  reply.json()
}

/// A bystander session with one record on its output stream.
pub async fn bystander(addr: SocketAddr) -> String {
  let created = create_session(addr, "bystander").await;
  let id = created["id"].as_str().unwrap().to_owned();
  let chunk = json!({ "data": { "type": "text-delta", "delta": "kept" }, "id": "kept" });
  let path = format!("/realtime/v1/sessions/{id}/out/append");
  let reply = send(addr, "POST", &path, &[AUTH], chunk.to_string()).await;
  assert_eq!(
    reply.status,
    200,
    "{}",
    String::from_utf8_lossy(&reply.body)
  );
  id
}

/// The plane still answers a well-formed request, and the bystander's output stream still
/// holds exactly its one record.
pub async fn still_serving(addr: SocketAddr, bystander: &str) {
  let reply = send(
    addr,
    "GET",
    &format!("/api/v1/sessions/{bystander}"),
    &[AUTH],
    "",
  )
  .await;
  assert_eq!(
    (reply.status, &reply.json()["id"]),
    (200, &json!(bystander))
  );
  let path = format!("/realtime/v1/sessions/{bystander}/out/records");
  let reply = send(addr, "GET", &path, &[AUTH], "").await;
  assert_eq!(
    reply.status,
    200,
    "{}",
    String::from_utf8_lossy(&reply.body)
  );
  let records = reply.json()["records"].as_array().expect("records").len();
  assert_eq!(records, 1, "another session's stream changed");
}
