//! S2 appends: the S2S append session (framed `AppendInput` in, one framed `AppendAck` out per
//! frame, FIFO; errors as a terminal frame) and the unary JSON / protobuf appends.

use bytes::Bytes;
use chat_headstart_core::session::s2_frame::{self as frame, FrameDecoder};
use http::{HeaderValue, Response};
use http_body_util::BodyExt;
use prost::Message;
use serde::Deserialize;
use std::time::Duration;

use super::proto::{AppendAck, AppendInput};
use super::S2Request;
use crate::http::{
  channel_body, header_str, json, read_body, response, s2_error, ReadBodyError, Resp,
};
use crate::sse::Format;
use crate::store::{Ack, AppendError, NewRecord};

const MAX_UNARY_BODY_BYTES: usize = 4 * 1024 * 1024;

pub async fn append(req: S2Request) -> Resp {
  let content_type = header_str(&req.parts.headers, "content-type")
    .unwrap_or("")
    .to_ascii_lowercase();
  let fault = req.state.faults.take_s2_append();
  if let Some(f) = &fault {
    if let Some(status) = f.status {
      let code = f.code.clone().unwrap_or_else(|| "unavailable".into());
      return s2_error(
        status,
        &code,
        f.message.as_deref().unwrap_or("injected append failure"),
      );
    }
  }
  if content_type.starts_with("s2s/proto") {
    return session(
      req,
      fault.and_then(|f| {
        f.terminal_status
          .map(|s| (f.after_frames, s, f.code, f.message))
      }),
    );
  }
  if let Some(f) = &fault {
    if let Some(status) = f.terminal_status {
      let code = f.code.clone().unwrap_or_else(|| "unavailable".into());
      return s2_error(
        status,
        &code,
        f.message.as_deref().unwrap_or("injected append failure"),
      );
    }
  }
  let body = match read_body(req.body, MAX_UNARY_BODY_BYTES).await {
    Ok(b) => b,
    Err(ReadBodyError::TooLarge) => return s2_error(413, "invalid", "request body too large"),
    Err(ReadBodyError::Failed(e)) => {
      return s2_error(400, "invalid", &format!("could not read body: {e}"))
    }
  };
  req.state.log.set_body(req.log_id, &body);
  let stream = req.state.streams.get_or_create(&req.stream_name);
  let wants_proto =
    header_str(&req.parts.headers, "accept").is_some_and(|a| a.contains("application/protobuf"));
  let result = if content_type.starts_with("application/protobuf")
    || content_type.starts_with("application/x-protobuf")
  {
    match AppendInput::decode(body.as_ref()) {
      Ok(input) => {
        let records = input.records.into_iter().map(NewRecord::from).collect();
        stream.append(records, input.match_seq_num, input.fencing_token.as_deref())
      }
      Err(e) => {
        return s2_error(
          400,
          "invalid",
          &format!("invalid AppendInput protobuf: {e}"),
        )
      }
    }
  } else {
    let format = match Format::from_header(header_str(&req.parts.headers, "s2-format")) {
      Ok(f) => f,
      Err(e) => return s2_error(400, "invalid", &e),
    };
    match parse_json_append(&body, format) {
      Ok((records, match_seq_num, fencing_token)) => {
        stream.append(records, match_seq_num, fencing_token.as_deref())
      }
      Err(e) => return s2_error(400, "invalid", &e),
    }
  };
  match result {
    Ok(ack) if wants_proto => response(
      200,
      "application/protobuf",
      AppendAck::from(ack).encode_to_vec(),
    ),
    Ok(ack) => json(200, &ack_json(&ack)),
    Err(e) => append_error(&e),
  }
}

fn ack_json(ack: &Ack) -> serde_json::Value {
  serde_json::to_value(ack).unwrap_or_default()
}

fn append_error(e: &AppendError) -> Resp {
  let mut body = serde_json::json!({ "code": e.code(), "message": e.message() });
  if let Some((key, value)) = e.detail() {
    body[key] = value;
  }
  json(e.status(), &body)
}

#[derive(Deserialize)]
struct JsonAppendInput {
  records: Vec<JsonAppendRecord>,
  #[serde(default)]
  match_seq_num: Option<u64>,
  #[serde(default)]
  fencing_token: Option<String>,
}

#[derive(Deserialize)]
struct JsonAppendRecord {
  #[serde(default)]
  body: Option<String>,
  #[serde(default)]
  headers: Option<Vec<(String, String)>>,
  #[serde(default)]
  timestamp: Option<u64>,
}

type ParsedAppend = (Vec<NewRecord>, Option<u64>, Option<String>);

/// `{"records":[{"body","headers":[[n,v]],"timestamp"}],"match_seq_num","fencing_token"}`.
fn parse_json_append(body: &[u8], format: Format) -> Result<ParsedAppend, String> {
  let input: JsonAppendInput =
    serde_json::from_slice(body).map_err(|e| format!("invalid append JSON: {e}"))?;
  let mut records = Vec::with_capacity(input.records.len());
  for r in input.records {
    let mut headers = Vec::new();
    for (name, value) in r.headers.unwrap_or_default() {
      headers.push((format.decode(&name)?, format.decode(&value)?));
    }
    let body = match r.body {
      Some(b) => format.decode(&b)?,
      None => Bytes::new(),
    };
    records.push(NewRecord {
      headers,
      body,
      timestamp: r.timestamp,
    });
  }
  Ok((records, input.match_seq_num, input.fencing_token))
}

type TerminalFault = (u32, u16, Option<String>, Option<String>);

/// The S2S append session: frames are processed strictly in order; every frame is answered by
/// exactly one ack frame, or the session ends with a terminal error frame.
fn session(req: S2Request, terminal_fault: Option<TerminalFault>) -> Resp {
  req.state.log.mark_streaming(req.log_id);
  let (tx, body) = channel_body(64);
  let stream = req.state.streams.get_or_create(&req.stream_name);
  let state = req.state.clone();
  let mut incoming = req.body;
  tokio::spawn(async move {
    let mut decoder = FrameDecoder::default();
    let mut acked = 0u32;
    let terminal =
      |status: u16, code: &str, message: &str| Ok(frame::terminal(status, code, message));
    loop {
      let chunk = tokio::select! {
        chunk = incoming.frame() => chunk,
        _ = tx.closed() => return,
      };
      let data = match chunk {
        None => {
          if decoder.has_partial() {
            let _ = tx
              .send(terminal(
                400,
                "invalid",
                "request body ended inside an S2S frame",
              ))
              .await;
          }
          return;
        }
        Some(Err(_)) => return,
        Some(Ok(f)) => match f.into_data() {
          Ok(data) => data,
          Err(_) => continue,
        },
      };
      decoder.push(&data);
      loop {
        let next = match decoder.next_frame() {
          Ok(Some(f)) => f,
          Ok(None) => break,
          Err(e) => {
            let _ = tx.send(terminal(400, "invalid", &e.to_string())).await;
            return;
          }
        };
        if let Some((after, status, code, message)) = &terminal_fault {
          if acked >= *after {
            let code = code.as_deref().unwrap_or("unavailable");
            let message = message.as_deref().unwrap_or("injected terminal error");
            let _ = tx.send(terminal(*status, code, message)).await;
            return;
          }
        }
        if next.terminal {
          // Clients never send terminal frames; treat one as the end of the session.
          return;
        }
        if next.compression != 0 {
          let _ = tx
            .send(terminal(
              400,
              "invalid",
              "compressed S2S frames are not supported",
            ))
            .await;
          return;
        }
        let input = match AppendInput::decode(next.payload.as_ref()) {
          Ok(i) => i,
          Err(e) => {
            let _ = tx
              .send(terminal(
                400,
                "invalid",
                &format!("invalid AppendInput protobuf: {e}"),
              ))
              .await;
            return;
          }
        };
        let records = input.records.into_iter().map(NewRecord::from).collect();
        match stream.append(records, input.match_seq_num, input.fencing_token.as_deref()) {
          Ok(ack) => {
            let ack = frame::encode_message(&AppendAck::from(ack));
            let latency = state.faults.s2_ack_latency_ms();
            if latency > 0 {
              tokio::time::sleep(Duration::from_millis(latency)).await;
            }
            if tx.send(Ok(ack)).await.is_err() {
              return;
            }
            acked += 1;
          }
          Err(e) => {
            let mut body = serde_json::json!({ "code": e.code(), "message": e.message() });
            if let Some((key, value)) = e.detail() {
              body[key] = value;
            }
            let _ = tx.send(Ok(frame::terminal_json(e.status(), &body))).await;
            return;
          }
        }
      }
    }
  });
  let mut resp = Response::new(body);
  resp
    .headers_mut()
    .insert("content-type", HeaderValue::from_static("s2s/proto"));
  resp
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn json_append_parsing() {
    let (records, m, f) = parse_json_append(
      br#"{"records":[{"body":"","headers":[["trigger-control","turn-complete"]]},{"body":"x","timestamp":5}],"match_seq_num":3}"#,
      Format::Raw,
    )
    .unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(&records[0].headers[0].0[..], b"trigger-control");
    assert_eq!(records[1].timestamp, Some(5));
    assert_eq!((m, f), (Some(3), None));
    let (records, ..) =
      parse_json_append(br#"{"records":[{"body":"AQI="}]}"#, Format::Base64).unwrap();
    assert_eq!(&records[0].body[..], &[1, 2]);
    assert!(parse_json_append(br#"{"records":[{"body":1}]}"#, Format::Raw).is_err());
    assert!(parse_json_append(b"nope", Format::Raw).is_err());
  }
}
