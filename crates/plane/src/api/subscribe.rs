//! `GET /realtime/v1/sessions/{id}/{io}`: S2's SSE read passed through with
//! `X-Stream-Version: v2` (§5.1–5.2): `Last-Event-ID` resume, `Timeout-Seconds` idle window
//! (1–600, default 60), `X-Peek-Settled` → `X-Session-Settled`, pings, `[DONE]`.

use std::time::Duration;

use http::{HeaderValue, Response};

use super::streams::Target;
use super::Ctx;
use crate::follow::{follow, Failure, FollowOptions};
use crate::http::{api_error, channel_body, Resp};
use crate::sse::{event_frame, insert_sse_headers, Format, Progress};
use crate::store::Stream;

/// `Last-Event-ID: N` (anything after a `-` ignored; non-numeric = absent) → first seq to read.
pub fn start_after_last_event_id(header: Option<&str>) -> u64 {
  header
    .map(|v| v.split('-').next().unwrap_or("").trim())
    .and_then(|v| v.parse::<u64>().ok())
    .map_or(0, |n| n.saturating_add(1))
}

pub fn parse_timeout_seconds(header: Option<&str>, default: u64) -> Result<u64, String> {
  match header.map(str::trim) {
    None => Ok(default),
    Some(v) => match v.parse::<u64>() {
      Ok(n) if (1..=600).contains(&n) => Ok(n),
      _ => Err(format!(
        "Invalid Timeout-Seconds header {v:?}: expected an integer from 1 to 600"
      )),
    },
  }
}

/// Whether the newest non-command record is a `turn-complete` control record.
pub fn settled(stream: &Stream) -> bool {
  let last = stream.last_records(2);
  let newest = last.iter().rev().find(|r| r.command().is_none());
  newest.is_some_and(|r| {
    r.headers
      .iter()
      .find(|(n, _)| n.as_ref() == b"trigger-control")
      .is_some_and(|(_, v)| v.as_ref() == b"turn-complete")
  })
}

pub async fn subscribe(ctx: Ctx, target: Target<'_>) -> Resp {
  let (session, _) = match ctx.session_for(&target) {
    Ok(v) => v,
    Err(resp) => return resp,
  };
  let mut wait = match parse_timeout_seconds(
    ctx.header("timeout-seconds"),
    ctx.state.sse_default_wait_seconds,
  ) {
    Ok(w) => w,
    Err(message) => return api_error(400, &message),
  };
  let fault = ctx.state.faults.take_sse(target.io);
  if let Some(status) = fault.as_ref().and_then(|f| f.status) {
    return api_error(status, "Injected SSE failure");
  }
  let stream = ctx
    .state
    .streams
    .get_or_create(&session.stream_name(target.channel, target.io));
  let peek = ctx
    .header("x-peek-settled")
    .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
  let is_settled = peek && settled(&stream);
  if is_settled {
    wait = 0;
  }
  // Reads clamp: a start beyond the tail starts at the tail.
  let start = start_after_last_event_id(ctx.header("last-event-id")).min(stream.tail().seq_num);
  let failure = fault.and_then(|f| {
    if let Some(message) = f.error_event {
      Some((f.after_batches, Failure::ErrorEvent(message)))
    } else if f.early_close {
      Some((f.after_batches, Failure::Abort))
    } else {
      None
    }
  });
  let (tx, body) = channel_body(16);
  let opts = FollowOptions {
    start,
    wait: Some(Duration::from_secs(wait)),
    heartbeat: ctx.state.heartbeat,
    max_records: None,
    max_bytes: None,
    ignore_command_records: false,
    max_batch_records: ctx.state.faults.sse_batch_records(),
    fail_after_batches: failure,
  };
  tokio::spawn(async move {
    let mut progress = Progress::default();
    follow(stream, opts, tx, move |event| {
      Some(event_frame(event, Format::Raw, &mut progress))
    })
    .await;
  });
  let mut resp = Response::new(body);
  let h = resp.headers_mut();
  insert_sse_headers(h);
  h.insert("x-stream-version", HeaderValue::from_static("v2"));
  if is_settled {
    h.insert("x-session-settled", HeaderValue::from_static("true"));
  }
  resp
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn last_event_id_parsing() {
    assert_eq!(start_after_last_event_id(None), 0);
    assert_eq!(start_after_last_event_id(Some("7")), 8);
    assert_eq!(start_after_last_event_id(Some("7-3")), 8);
    assert_eq!(start_after_last_event_id(Some("abc")), 0);
    assert_eq!(start_after_last_event_id(Some("")), 0);
  }

  #[test]
  fn timeout_seconds_range() {
    assert_eq!(parse_timeout_seconds(None, 60), Ok(60));
    assert_eq!(parse_timeout_seconds(Some("120"), 60), Ok(120));
    assert!(parse_timeout_seconds(Some("0"), 60).is_err());
    assert!(parse_timeout_seconds(Some("601"), 60).is_err());
    assert!(parse_timeout_seconds(Some("1.5"), 60).is_err());
  }

  #[test]
  fn settled_peeks_past_command_records() {
    use crate::store::{NewRecord, Streams};
    use bytes::Bytes;
    let streams = Streams::default();
    let s = streams.get_or_create("x");
    assert!(!settled(&s));
    let control = NewRecord {
      headers: vec![(
        Bytes::from_static(b"trigger-control"),
        Bytes::from_static(b"turn-complete"),
      )],
      ..Default::default()
    };
    s.append(vec![NewRecord::body("a"), control], None, None)
      .unwrap();
    assert!(settled(&s));
    let trim = NewRecord {
      headers: vec![(Bytes::new(), Bytes::from_static(b"trim"))],
      body: Bytes::copy_from_slice(&0u64.to_be_bytes()),
      timestamp: None,
    };
    s.append(vec![trim], None, None).unwrap();
    assert!(settled(&s));
    s.append(vec![NewRecord::body("b")], None, None).unwrap();
    assert!(!settled(&s));
  }
}
