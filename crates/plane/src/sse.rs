//! S2's SSE read format (what the Trigger API passes through on `GET …/{io}`, §5.2) and the
//! JSON record shape shared by the S2 JSON read API.
//!
//! ```text
//! event: batch
//! id: <last_seq>,<count_so_far>,<bytes_so_far>
//! data: {"records":[{"seq_num":8,"timestamp":…,"headers":[["n","v"]],"body":"…"}],"tail":{…}}
//!
//! event: ping
//! data: {"timestamp":…,"tail":{"seq_num":…,"timestamp":…}}
//!
//! data: [DONE]
//! ```

use base64::Engine;
use bytes::Bytes;
use serde::Serialize;

use crate::follow::Event;
use crate::store::{Position, Record};

/// How bodies and header bytes are rendered in JSON (`s2-format` header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
  /// UTF-8 strings (invalid sequences replaced).
  Raw,
  Base64,
}

impl Format {
  pub fn from_header(value: Option<&str>) -> Result<Format, String> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
      None | Some("") | Some("raw") | Some("json") => Ok(Format::Raw),
      Some("base64") | Some("json-binsafe") => Ok(Format::Base64),
      Some(other) => Err(format!("unsupported s2-format {other:?}")),
    }
  }

  pub fn encode(self, bytes: &[u8]) -> String {
    match self {
      Format::Raw => String::from_utf8_lossy(bytes).into_owned(),
      Format::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
    }
  }

  pub fn decode(self, text: &str) -> Result<Bytes, String> {
    match self {
      Format::Raw => Ok(Bytes::copy_from_slice(text.as_bytes())),
      Format::Base64 => base64::engine::general_purpose::STANDARD
        .decode(text)
        .map(Bytes::from)
        .map_err(|e| format!("invalid base64: {e}")),
    }
  }
}

#[derive(Serialize)]
struct JsonRecord {
  seq_num: u64,
  timestamp: u64,
  #[serde(skip_serializing_if = "Vec::is_empty")]
  headers: Vec<[String; 2]>,
  #[serde(skip_serializing_if = "String::is_empty")]
  body: String,
}

#[derive(Serialize)]
struct JsonBatch {
  records: Vec<JsonRecord>,
  #[serde(skip_serializing_if = "Option::is_none")]
  tail: Option<Position>,
}

/// `{"records":[…],"tail":…}` — the S2 read batch as JSON (headers/body omitted when empty).
pub fn batch_json(records: &[Record], tail: Option<Position>, format: Format) -> String {
  let batch = JsonBatch {
    records: records
      .iter()
      .map(|r| JsonRecord {
        seq_num: r.seq,
        timestamp: r.timestamp,
        headers: r
          .headers
          .iter()
          .map(|(n, v)| [format.encode(n), format.encode(v)])
          .collect(),
        body: format.encode(&r.body),
      })
      .collect(),
    tail,
  };
  serde_json::to_string(&batch).unwrap_or_default()
}

/// Running totals of one read session, rendered in each batch's `id:` resume token.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
  pub count: u64,
  pub bytes: u64,
}

pub fn batch_event(
  records: &[Record],
  tail: Option<Position>,
  format: Format,
  progress: &mut Progress,
) -> Bytes {
  progress.count += records.len() as u64;
  progress.bytes += records.iter().map(|r| r.metered_size() as u64).sum::<u64>();
  let last = records.last().map(|r| r.seq).unwrap_or(0);
  Bytes::from(format!(
    "event: batch\nid: {last},{},{}\ndata: {}\n\n",
    progress.count,
    progress.bytes,
    batch_json(records, tail, format)
  ))
}

pub fn ping_event(timestamp: u64, tail: Position) -> Bytes {
  Bytes::from(format!(
    "event: ping\ndata: {}\n\n",
    serde_json::json!({ "timestamp": timestamp, "tail": tail })
  ))
}

pub fn error_event(message: &str) -> Bytes {
  // Multi-line messages need one `data:` line each to survive SSE parsing.
  let mut out = String::from("event: error\n");
  for line in message.split('\n') {
    out.push_str("data: ");
    out.push_str(line.trim_end_matches('\r'));
    out.push('\n');
  }
  out.push('\n');
  Bytes::from(out)
}

pub fn done_event() -> Bytes {
  Bytes::from_static(b"data: [DONE]\n\n")
}

/// One followed event as its S2 SSE frame (shared by the Trigger API's subscription route and the
/// S2 plane's SSE read).
pub fn event_frame(event: Event<'_>, format: Format, progress: &mut Progress) -> Bytes {
  match event {
    Event::Batch { records, tail } => batch_event(records, tail, format, progress),
    Event::Heartbeat { timestamp, tail } => ping_event(timestamp, tail),
    Event::Done => done_event(),
    Event::Error(message) => error_event(message),
  }
}

/// The response headers S2 sends with an SSE read.
pub fn insert_sse_headers(headers: &mut http::HeaderMap) {
  use http::HeaderValue;
  headers.insert(
    "content-type",
    HeaderValue::from_static("text/event-stream"),
  );
  headers.insert(
    "cache-control",
    HeaderValue::from_static("no-cache, no-transform"),
  );
  headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
}

#[cfg(test)]
mod tests {
  use super::*;

  fn record(seq: u64, headers: &[(&str, &str)], body: &str) -> Record {
    Record {
      seq,
      timestamp: 1000 + seq,
      headers: crate::store::headers_from(headers),
      body: Bytes::copy_from_slice(body.as_bytes()),
    }
  }

  #[test]
  fn batch_event_matches_s2_format() {
    let mut progress = Progress::default();
    let records = vec![
      record(8, &[("trigger-control", "turn-complete")], ""),
      record(9, &[], r#"{"data":{"type":"finish"},"id":"abc"}"#),
    ];
    let event = batch_event(
      &records,
      Some(Position {
        seq_num: 10,
        timestamp: 1009,
      }),
      Format::Raw,
      &mut progress,
    );
    let text = std::str::from_utf8(&event).unwrap();
    let expected = concat!("event: batch\n", "id: 9,2,",);
    assert!(text.starts_with(expected), "{text}");
    assert!(text.ends_with("\n\n"));
    let data = text.lines().nth(2).unwrap().strip_prefix("data: ").unwrap();
    assert_eq!(
      data,
      r#"{"records":[{"seq_num":8,"timestamp":1008,"headers":[["trigger-control","turn-complete"]]},{"seq_num":9,"timestamp":1009,"body":"{\"data\":{\"type\":\"finish\"},\"id\":\"abc\"}"}],"tail":{"seq_num":10,"timestamp":1009}}"#
    );
    // metered: (8 + 2 + 15 + 13) + (8 + 37)
    assert_eq!(progress.bytes, 38 + 45);
    assert!(text.contains(&format!("id: 9,2,{}\n", progress.bytes)));
  }

  #[test]
  fn catch_up_batches_omit_tail_and_base64_encodes() {
    let json = batch_json(&[record(0, &[("", "trim")], "\u{1}")], None, Format::Base64);
    assert_eq!(
      json,
      r#"{"records":[{"seq_num":0,"timestamp":1000,"headers":[["","dHJpbQ=="]],"body":"AQ=="}]}"#
    );
  }

  #[test]
  fn other_events() {
    assert_eq!(
      &ping_event(
        5,
        Position {
          seq_num: 1,
          timestamp: 4
        }
      )[..],
      b"event: ping\ndata: {\"timestamp\":5,\"tail\":{\"seq_num\":1,\"timestamp\":4}}\n\n"
    );
    assert_eq!(
      &error_event("a\nb")[..],
      b"event: error\ndata: a\ndata: b\n\n"
    );
    assert_eq!(&done_event()[..], b"data: [DONE]\n\n");
  }

  #[test]
  fn formats() {
    assert_eq!(
      Format::from_header(Some("json-binsafe")),
      Ok(Format::Base64)
    );
    assert_eq!(Format::from_header(None), Ok(Format::Raw));
    assert!(Format::from_header(Some("xml")).is_err());
    assert_eq!(
      Format::Base64.decode("AQ==").unwrap(),
      Bytes::from_static(b"\x01")
    );
  }
}
