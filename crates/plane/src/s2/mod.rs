//! The S2-compatible stream plane (docs/protocol.md §3.3, §11): one origin, HTTP/1.1 and h2c.
//!
//! `POST {base}/streams/{stream}/records` — S2S append session (`content-type: s2s/proto`),
//! unary protobuf (`application/protobuf`) or unary JSON append.
//! `GET {base}/streams/{stream}/records` — S2S read session, SSE (`accept: text/event-stream`)
//! or a unary read (JSON or protobuf). `GET …/records/tail` — the tail.

mod append;
pub mod proto;
mod read;

use std::sync::Arc;

use http::Method;

use crate::http::{header_str, percent_decode, s2_error, Body, Resp};
use crate::log::LogId;
use crate::state::PlaneState;

pub(crate) struct S2Request {
  pub state: Arc<PlaneState>,
  pub parts: http::request::Parts,
  pub body: Body,
  pub log_id: Option<LogId>,
  pub stream_name: String,
}

/// Answers one request; the caller logged it as `log_id` and follows the response. `body` is the
/// connection's body boxed (`crate::http::boxed_incoming`), so the fuzz target can call this directly.
pub async fn handle(
  state: Arc<PlaneState>,
  parts: http::request::Parts,
  body: Body,
  log_id: Option<LogId>,
) -> Resp {
  let path = parts.uri.path().to_owned();
  let rest = path.strip_prefix("/v1").unwrap_or(&path);
  let segments: Vec<&str> = rest.split('/').skip(1).collect();
  let (stream_name, action) = match segments.as_slice() {
    ["streams", name, "records"] => (percent_decode(name), "records"),
    ["streams", name, "records", "tail"] => (percent_decode(name), "tail"),
    _ => {
      return s2_error(
        404,
        "not_found",
        &format!("no route for {} {}", parts.method, parts.uri.path()),
      )
    }
  };
  if stream_name.is_empty() {
    return s2_error(400, "invalid", "stream name must not be empty");
  }
  if let Err(resp) = authorize(&state, &parts.headers) {
    return resp;
  }
  let req = S2Request {
    state,
    parts,
    body,
    log_id,
    stream_name,
  };
  match (action, &req.parts.method) {
    ("records", &Method::POST) => append::append(req).await,
    ("records", &Method::GET) => read::read(req).await,
    ("tail", &Method::GET) => read::tail(req),
    _ => s2_error(405, "method_not_allowed", "method not allowed"),
  }
}

fn authorize(state: &PlaneState, headers: &http::HeaderMap) -> Result<(), Resp> {
  if let Some(basin) = header_str(headers, "s2-basin") {
    if basin != state.basin {
      return Err(s2_error(
        404,
        "basin_not_found",
        &format!("basin {basin:?} does not exist"),
      ));
    }
  }
  match crate::http::bearer(headers) {
    None => Err(s2_error(
      401,
      "unauthenticated",
      "missing bearer access token",
    )),
    Some(token) if token == state.s2_token || !state.strict_auth => Ok(()),
    Some(_) => Err(s2_error(
      403,
      "permission_denied",
      "access token is not valid for this basin",
    )),
  }
}
