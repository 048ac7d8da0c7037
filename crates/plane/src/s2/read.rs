//! S2 reads: start at `seq_num` / `timestamp` / `tail_offset` (clamped on request), limits
//! `count` / `bytes`, `wait`; served as a unary batch (JSON or protobuf), an SSE session, or an
//! S2S session (framed `ReadBatch`es, empty batches with the tail as heartbeats).

use std::time::Duration;

use http::{HeaderValue, Response};
use prost::Message;

use super::proto::ReadBatch;
use super::S2Request;
use crate::follow::{follow, Event, FollowOptions};
use crate::http::{channel_body, header_str, json, query_pairs, response, s2_error, Resp};
use crate::sse::{batch_json, event_frame, insert_sse_headers, Format, Progress};
use crate::store::{Stream, MAX_BATCH_METERED_BYTES, MAX_BATCH_RECORDS};
use chat_headstart_core::session::s2_frame as frame;

#[derive(Default, Debug, PartialEq)]
pub struct ReadQuery {
  pub seq_num: Option<u64>,
  pub timestamp: Option<u64>,
  pub tail_offset: Option<u64>,
  pub count: Option<u64>,
  pub bytes: Option<u64>,
  pub wait: Option<u64>,
  pub clamp: bool,
  pub ignore_command_records: bool,
}

pub fn parse_query(query: Option<&str>) -> Result<ReadQuery, String> {
  let mut q = ReadQuery::default();
  for (key, value) in query_pairs(query) {
    let number = || {
      value
        .parse::<u64>()
        .map_err(|_| format!("query parameter {key}: expected a non-negative integer"))
    };
    match key.as_str() {
      "seq_num" => q.seq_num = Some(number()?),
      "timestamp" => q.timestamp = Some(number()?),
      "tail_offset" => q.tail_offset = Some(number()?),
      "count" => q.count = Some(number()?),
      "bytes" => q.bytes = Some(number()?),
      "wait" => q.wait = Some(number()?),
      "until" => {
        number()?;
      }
      "clamp" => q.clamp = value == "true" || value == "1",
      "ignore_command_records" => q.ignore_command_records = value == "true" || value == "1",
      _ => {}
    }
  }
  let starts = [
    q.seq_num.is_some(),
    q.timestamp.is_some(),
    q.tail_offset.is_some(),
  ];
  if starts.iter().filter(|s| **s).count() > 1 {
    return Err("only one of seq_num, timestamp, tail_offset may be given".into());
  }
  if q.wait.is_some_and(|w| w > 60) {
    return Err("wait must be at most 60 seconds".into());
  }
  Ok(q)
}

/// Resolves the start position; `Err` carries the 416 response for a start beyond the tail.
fn resolve_start(stream: &Stream, q: &ReadQuery) -> Result<u64, Resp> {
  let tail = stream.tail();
  let start = if let Some(seq) = q.seq_num {
    seq
  } else if let Some(ts) = q.timestamp {
    stream.seq_for_timestamp(ts)
  } else if let Some(off) = q.tail_offset {
    tail.seq_num.saturating_sub(off)
  } else {
    0
  };
  if start > tail.seq_num {
    if q.clamp {
      return Ok(tail.seq_num);
    }
    let body = serde_json::json!({ "code": "range_not_satisfiable", "message": "start is beyond the tail", "tail": tail });
    return Err(json(416, &body));
  }
  Ok(start)
}

pub fn tail(req: S2Request) -> Resp {
  let stream = req.state.streams.get_or_create(&req.stream_name);
  json(200, &serde_json::json!({ "tail": stream.tail() }))
}

pub async fn read(req: S2Request) -> Resp {
  let q = match parse_query(req.parts.uri.query()) {
    Ok(q) => q,
    Err(e) => return s2_error(400, "invalid", &e),
  };
  let headers = &req.parts.headers;
  let format = match Format::from_header(header_str(headers, "s2-format")) {
    Ok(f) => f,
    Err(e) => return s2_error(400, "invalid", &e),
  };
  let stream = req.state.streams.get_or_create(&req.stream_name);
  let start = match resolve_start(&stream, &q) {
    Ok(s) => s,
    Err(resp) => return resp,
  };
  let content_type = header_str(headers, "content-type").unwrap_or("");
  let accept = header_str(headers, "accept").unwrap_or("");
  let session = content_type.starts_with("s2s/proto");
  let sse = accept.contains("text/event-stream");
  if session || sse {
    req.state.log.mark_streaming(req.log_id);
    let opts = FollowOptions {
      start,
      wait: q.wait.map(Duration::from_secs),
      heartbeat: req.state.heartbeat,
      max_records: q.count.filter(|c| *c > 0),
      max_bytes: q.bytes.filter(|b| *b > 0),
      ignore_command_records: q.ignore_command_records,
      max_batch_records: None,
      fail_after_batches: None,
    };
    let (tx, body) = channel_body(16);
    let mut resp = Response::new(body);
    if session {
      tokio::spawn(follow(stream, opts, tx, |event| match event {
        Event::Batch { records, tail } => {
          let batch = ReadBatch {
            records: records.iter().map(Into::into).collect(),
            tail: tail.map(Into::into),
          };
          Some(frame::encode_message(&batch))
        }
        Event::Heartbeat { tail, .. } => Some(frame::encode_message(&ReadBatch {
          records: vec![],
          tail: Some(tail.into()),
        })),
        Event::Done => None,
        Event::Error(message) => Some(frame::terminal(503, "unavailable", message)),
      }));
      resp
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("s2s/proto"));
    } else {
      tokio::spawn(async move {
        let mut progress = Progress::default();
        follow(stream, opts, tx, move |event| {
          Some(event_frame(event, format, &mut progress))
        })
        .await;
      });
      let h = resp.headers_mut();
      insert_sse_headers(h);
    }
    return resp;
  }
  // Unary read: whatever is there (waiting up to `wait` seconds for the first record).
  let count = q
    .count
    .filter(|c| *c > 0)
    .map_or(MAX_BATCH_RECORDS, |c| (c as usize).min(MAX_BATCH_RECORDS));
  let bytes = q
    .bytes
    .filter(|b| *b > 0)
    .map_or(MAX_BATCH_METERED_BYTES, |b| {
      (b as usize).min(MAX_BATCH_METERED_BYTES)
    });
  let mut rx = stream.subscribe();
  let deadline = tokio::time::Instant::now() + Duration::from_secs(q.wait.unwrap_or(0));
  let mut result = stream.read(start, count, bytes);
  while result.records.is_empty() && tokio::time::Instant::now() < deadline {
    if tokio::time::timeout_at(deadline, rx.changed())
      .await
      .is_err()
    {
      break;
    }
    result = stream.read(start, count, bytes);
  }
  if q.ignore_command_records {
    result.records.retain(|r| r.command().is_none());
  }
  if accept.contains("application/protobuf") {
    let batch = ReadBatch {
      records: result.records.iter().map(Into::into).collect(),
      tail: Some(result.tail.into()),
    };
    return response(200, "application/protobuf", batch.encode_to_vec());
  }
  response(
    200,
    "application/json",
    batch_json(&result.records, Some(result.tail), format),
  )
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn query_parsing() {
    let q = parse_query(Some("seq_num=5&count=10&wait=3&clamp=true")).unwrap();
    assert_eq!(q.seq_num, Some(5));
    assert_eq!(q.count, Some(10));
    assert_eq!(q.wait, Some(3));
    assert!(q.clamp);
    assert!(parse_query(Some("seq_num=1&tail_offset=2")).is_err());
    assert!(parse_query(Some("seq_num=-1")).is_err());
    assert!(parse_query(Some("wait=61")).is_err());
  }
}
