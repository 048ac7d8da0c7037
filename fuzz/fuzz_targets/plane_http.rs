//! The local plane's request handling, both origins (Trigger API routes and S2 routes), called
//! directly (`api::handle`, `s2::handle`) with arbitrary requests: method, path segments (route
//! words, live session ids and stream names, arbitrary percent-encoded text), query, credentials,
//! content types, S2 headers and bodies (arbitrary bytes, JSON templates around fuzz text, S2S
//! frames of protobuf appends). Up to four requests share one plane, so later requests reach
//! sessions and streams the earlier ones created.
//!
//! Invariants: no panic (libFuzzer aborts on a panic in any task); every error response (status
//! ≥ 400, not HEAD) is `application/json` naming the problem — `{"error": "<non-empty>"}` on the
//! API origin, `{"code","message"}` on the S2 origin; a 2xx JSON response parses.
//!
//! Time runs paused (tokio's auto-advance), so long polls and heartbeats cost nothing; response
//! bodies are read up to a few frames. One plane serves a run of inputs (starting one costs a
//! runtime and two listeners), so an input may meet sessions earlier inputs left.
#![no_main]

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chat_headstart_core::session::s2_frame;
use chat_headstart_core::session::s2_proto::{AppendInput, AppendRecord, Header};
use chat_headstart_plane::http::{full, Resp};
use chat_headstart_plane::{Plane, PlaneOptions, PlaneState};
use http_body_util::BodyExt;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const SECRET_KEY: &str = "tr_dev_fuzz_secret";
const INPUTS_PER_PLANE: u32 = 2000;
const WORDS: [&str; 14] = [
  "api", "v1", "sessions", "realtime", "channels", "in", "out", "append", "records", "tail",
  "streams", "close", "..", "",
];
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "HEAD", "OPTIONS", "DELETE", "PATCH"];
const CONTENT_TYPES: [&str; 6] = [
  "application/json",
  "s2s/proto",
  "application/protobuf",
  "text/event-stream",
  "text/plain",
  "application/x-www-form-urlencoded",
];

struct Shared {
  plane: Plane,
  inputs: u32,
}

thread_local! {
  static SHARED: RefCell<Option<Shared>> = const { RefCell::new(None) };
}

fn plane_state() -> Arc<PlaneState> {
  SHARED.with(|shared| {
    let mut shared = shared.borrow_mut();
    if shared.as_ref().is_none_or(|s| s.inputs >= INPUTS_PER_PLANE) {
      let options = PlaneOptions {
        secret_key: Some(SECRET_KEY.into()),
        log_requests: false,
        worker_threads: 1,
        ..PlaneOptions::default()
      };
      let plane = Plane::start(options, None).expect("plane starts");
      // The previous plane (if any) is dropped here: its runtime shuts down in the background.
      *shared = Some(Shared { plane, inputs: 0 });
    }
    let shared = shared.as_mut().expect("just set");
    shared.inputs += 1;
    shared.plane.state.clone()
  })
}

/// What the requests of one input learned: the last session id, token and stream name.
#[derive(Default)]
struct Known {
  session_id: Option<String>,
  external_id: Option<String>,
  token: Option<String>,
}

fn raw<'a>(u: &mut Unstructured<'a>, max: usize) -> Result<&'a [u8]> {
  let len = u.int_in_range(0..=max)?;
  u.bytes(len.min(u.len()))
}

fn text(u: &mut Unstructured, max: usize) -> Result<String> {
  Ok(String::from_utf8_lossy(raw(u, max)?).into_owned())
}

fn percent_encode(text: &str) -> String {
  text
    .bytes()
    .map(|b| match b {
      b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
        (b as char).to_string()
      }
      _ => format!("%{b:02X}"),
    })
    .collect()
}

fn segment(u: &mut Unstructured, known: &Known) -> Result<String> {
  Ok(match u.int_in_range(0..=5u8)? {
    0 | 1 => WORDS[u.choose_index(WORDS.len())?].to_string(),
    2 => known
      .session_id
      .clone()
      .unwrap_or_else(|| "session_x".into()),
    3 => known.external_id.clone().unwrap_or_else(|| "chat-1".into()),
    4 => percent_encode(&text(u, 16)?),
    _ => text(u, 8)?,
  })
}

fn body(u: &mut Unstructured, known: &Known) -> Result<Bytes> {
  Ok(match u.int_in_range(0..=5u8)? {
    0 => Bytes::copy_from_slice(raw(u, 256)?),
    1 => {
      let mut session = json!({
        "type": "chat.agent",
        "externalId": text(u, 12)?,
        "taskIdentifier": "agent",
        "triggerConfig": { "basePayload": { "chatId": text(u, 8)?, "messages": [] } },
      });
      if u.ratio(1, 3)? {
        session[text(u, 8)?] = json!(text(u, 8)?);
      }
      session.to_string().into()
    }
    2 => json!({ "data": { "type": "text-delta", "delta": text(u, 16)? }, "id": text(u, 6)? })
      .to_string()
      .into(),
    3 => {
      let records = (0..u.int_in_range(0..=3)?)
        .map(|_| {
          Ok(json!({ "body": text(u, 12)?, "headers": [[text(u, 6)?, text(u, 6)?]], "timestamp": u.int_in_range(0..=u64::MAX)? }))
        })
        .collect::<Result<Vec<_>>>()?;
      json!({ "records": records, "match_seq_num": u.int_in_range(0..=4u64)? })
        .to_string()
        .into()
    }
    4 => {
      // An S2S append session: framed protobuf inputs, maybe cut short or followed by junk.
      let mut wire = Vec::new();
      for _ in 0..u.int_in_range(1..=3)? {
        let input = AppendInput {
          records: (0..u.int_in_range(0..=3)?)
            .map(|_| {
              Ok(AppendRecord {
                timestamp: if u.ratio(1, 2)? {
                  Some(u.int_in_range(0..=u64::MAX)?)
                } else {
                  None
                },
                headers: if u.ratio(1, 3)? {
                  vec![Header {
                    name: text(u, 6)?.into(),
                    value: text(u, 6)?.into(),
                  }]
                } else {
                  Vec::new()
                },
                body: text(u, 24)?.into(),
              })
            })
            .collect::<Result<_>>()?,
          match_seq_num: if u.ratio(1, 4)? {
            Some(u.int_in_range(0..=4)?)
          } else {
            None
          },
          fencing_token: if u.ratio(1, 6)? {
            Some(text(u, 8)?)
          } else {
            None
          },
        };
        wire.extend_from_slice(&s2_frame::encode_message(&input));
      }
      let cut = u.int_in_range(0..=wire.len())?;
      if u.ratio(1, 4)? {
        wire.truncate(cut);
      }
      wire.extend_from_slice(raw(u, 8)?);
      wire.into()
    }
    _ => json!({ "reason": text(u, 8)?, "session": known.session_id })
      .to_string()
      .into(),
  })
}

fn request(
  u: &mut Unstructured,
  state: &PlaneState,
  known: &Known,
) -> Result<Option<(bool, http::Request<Bytes>)>> {
  let s2 = u.ratio(1, 3)?;
  let method = if u.ratio(1, 16)? {
    text(u, 8)?
  } else {
    METHODS[u.choose_index(METHODS.len())?].to_string()
  };
  let mut path = if s2 { "/v1".to_string() } else { String::new() };
  if s2 && u.ratio(2, 3)? {
    // A real stream name, as the S2 client sends it (percent-encoded, one segment).
    let io = if u.ratio(1, 2)? { "out" } else { "in" };
    let id = known.session_id.as_deref().unwrap_or("session_x");
    path.push_str(&format!(
      "/streams/{}/records",
      percent_encode(&format!("/sessions/{id}/{io}"))
    ));
    if u.ratio(1, 4)? {
      path.push_str("/tail");
    }
  } else {
    for _ in 0..u.int_in_range(0..=7)? {
      path.push('/');
      path.push_str(&segment(u, known)?);
    }
  }
  if path.is_empty() {
    path.push('/');
  }
  if u.ratio(1, 3)? {
    path.push('?');
    path.push_str(&text(u, 24)?);
  }
  let mut builder = http::Request::builder().method(method.as_str()).uri(path);
  let auth = match u.int_in_range(0..=5u8)? {
    0 => None,
    1 => Some(format!(
      "Bearer {}",
      if s2 {
        state.s2_token.as_str()
      } else {
        SECRET_KEY
      }
    )),
    2 => known.token.as_ref().map(|t| format!("Bearer {t}")),
    3 => Some(format!("Bearer {}", text(u, 12)?)),
    4 => Some(text(u, 12)?),
    _ => Some(format!(
      "Bearer {}",
      if s2 {
        SECRET_KEY
      } else {
        state.s2_token.as_str()
      }
    )),
  };
  if let Some(auth) = auth {
    builder = builder.header("authorization", auth);
  }
  if u.ratio(2, 3)? {
    builder = builder.header(
      "content-type",
      CONTENT_TYPES[u.choose_index(CONTENT_TYPES.len())?],
    );
  }
  if u.ratio(1, 3)? {
    builder = builder.header(
      "accept",
      CONTENT_TYPES[u.choose_index(CONTENT_TYPES.len())?],
    );
  }
  for name in [
    "s2-format",
    "timeout-seconds",
    "last-event-id",
    "s2-basin",
    "x-part-id",
    "x-peek-settled",
  ] {
    if u.ratio(1, 8)? {
      builder = builder.header(name, text(u, 8)?);
    }
  }
  let body = body(u, known)?;
  Ok(builder.body(body).ok().map(|req| (s2, req)))
}

/// The response body, up to a few frames (streams may never end).
async fn read_some(resp: Resp) -> (http::response::Parts, Vec<u8>, bool) {
  let (parts, mut body) = resp.into_parts();
  let mut bytes = Vec::new();
  let mut ended = false;
  for _ in 0..8 {
    match tokio::time::timeout(Duration::from_secs(120), body.frame()).await {
      Ok(Some(Ok(frame))) => {
        if let Ok(data) = frame.into_data() {
          bytes.extend_from_slice(&data);
        }
      }
      Ok(Some(Err(_))) | Ok(None) => {
        ended = true;
        break;
      }
      Err(_) => break,
    }
  }
  (parts, bytes, ended)
}

fn check(
  s2: bool,
  head: bool,
  parts: &http::response::Parts,
  body: &[u8],
  ended: bool,
  known: &mut Known,
) {
  let status = parts.status.as_u16();
  let content_type = parts
    .headers
    .get("content-type")
    .and_then(|v| v.to_str().ok())
    .unwrap_or("");
  if status >= 400 && !head {
    assert!(ended, "error response {status} is not a whole body");
    assert_eq!(
      content_type, "application/json",
      "error {status} without a JSON body"
    );
    let value: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
      panic!(
        "error {status} body is not JSON ({e}): {:?}",
        String::from_utf8_lossy(body)
      )
    });
    if s2 {
      assert!(
        value["code"].as_str().is_some_and(|c| !c.is_empty()),
        "S2 error {status} without code: {value}"
      );
      assert!(
        value["message"].as_str().is_some_and(|m| !m.is_empty()),
        "S2 error {status} without message: {value}"
      );
    } else {
      assert!(
        value["error"].as_str().is_some_and(|m| !m.is_empty()),
        "API error {status} names nothing: {value}"
      );
    }
  }
  if (200..300).contains(&status) && !head && ended && content_type == "application/json" {
    let value: Value = serde_json::from_slice(body).expect("a 2xx JSON body parses");
    if let Some(id) = value["id"].as_str() {
      known.session_id = Some(id.to_owned());
      known.external_id = value["externalId"].as_str().map(str::to_owned);
    }
    if let Some(token) = value["publicAccessToken"].as_str() {
      known.token = Some(token.to_owned());
    }
  }
}

fn run(data: &[u8]) -> Result<()> {
  let mut u = Unstructured::new(data);
  let state = plane_state();
  let runtime = tokio::runtime::Builder::new_current_thread()
    .enable_time()
    .start_paused(true)
    .build()
    .expect("runtime");
  let mut known = Known::default();
  for _ in 0..u.int_in_range(1..=4)? {
    let Some((s2, req)) = request(&mut u, &state, &known)? else {
      continue;
    };
    let head = req.method() == http::Method::HEAD;
    let (parts, bytes) = req.into_parts();
    let (parts, body, ended) = runtime.block_on(async {
      let resp = if s2 {
        chat_headstart_plane::s2::handle(state.clone(), parts, full(bytes), None).await
      } else {
        chat_headstart_plane::api::handle(state.clone(), parts, full(bytes), None).await
      };
      read_some(resp).await
    });
    check(s2, head, &parts, &body, ended, &mut known);
  }
  // Dropping the runtime ends every task the requests spawned (agents, streaming bodies).
  drop(runtime);
  Ok(())
}

fuzz_target!(|data: &[u8]| {
  let _ = run(data);
});
