//! The Trigger.dev-compatible control plane (docs/protocol.md §2, §4, §5, §11).
//!
//! `POST /api/v1/sessions` · `GET /api/v1/sessions/{id}` · `POST /api/v1/sessions/{id}/close`
//! `/realtime/v1/sessions/{id}[/channels/{name}]/{io}`: `PUT` (S2 credentials), `GET` (SSE),
//! `HEAD`, `POST …/append`, `GET …/records`.

mod sessions;
mod streams;
mod subscribe;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method};

use crate::http::{api_error, empty, percent_decode, read_body, Body, ReadBodyError, Resp};
use crate::log::LogId;
use crate::sessions::Session;
use crate::state::PlaneState;

pub use sessions::validate_create_session;

/// Largest request body read at all; route-specific limits (1 MiB appends) are stricter.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Who is calling: the environment's secret key, or a session's public access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Principal {
  SecretKey,
  PublicToken,
}

pub(crate) struct Ctx {
  pub state: Arc<PlaneState>,
  pub headers: http::HeaderMap,
  pub query: Option<String>,
  pub body: Bytes,
}

/// Answers one request; the caller logged it as `log_id` and follows the response. `body` is the
/// connection's body boxed (`crate::http::boxed_incoming`), so the fuzz target can call this directly.
pub async fn handle(
  state: Arc<PlaneState>,
  parts: http::request::Parts,
  body: Body,
  log_id: Option<LogId>,
) -> Resp {
  let latency = state.faults.latency_ms();
  if latency > 0 {
    tokio::time::sleep(Duration::from_millis(latency)).await;
  }
  let mut resp = if parts.method == Method::OPTIONS {
    preflight(&parts.headers)
  } else {
    let body = match read_body(body, MAX_BODY_BYTES).await {
      Ok(body) => body,
      Err(ReadBodyError::TooLarge) => return with_cors(api_error(413, "Request body too large")),
      Err(ReadBodyError::Failed(e)) => {
        return with_cors(api_error(400, &format!("Could not read request body: {e}")))
      }
    };
    state.log.set_body(log_id, &body);
    let ctx = Ctx {
      state,
      headers: parts.headers,
      query: parts.uri.query().map(str::to_owned),
      body,
    };
    let segments: Vec<String> = parts
      .uri
      .path()
      .split('/')
      .skip(1)
      .map(percent_decode)
      .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    route(ctx, &parts.method, &segments).await
  };
  add_cors(&mut resp);
  resp
}

async fn route(ctx: Ctx, method: &Method, segments: &[&str]) -> Resp {
  match segments {
    ["api", "v1", "sessions"] => match *method {
      Method::POST => sessions::create(ctx).await,
      _ => method_not_allowed(),
    },
    ["api", "v1", "sessions", id] => match *method {
      Method::GET => sessions::retrieve(ctx, id),
      _ => method_not_allowed(),
    },
    ["api", "v1", "sessions", id, "close"] => match *method {
      Method::POST => sessions::close(ctx, id),
      _ => method_not_allowed(),
    },
    ["realtime", "v1", "sessions", id, rest @ ..] => {
      let (channel, rest) = match rest {
        ["channels", name, rest @ ..] => (Some(*name), rest),
        _ => (None, rest),
      };
      let (io, action) = match rest {
        [io] => (*io, None),
        [io, action] => (*io, Some(*action)),
        _ => return not_found(),
      };
      if io != "in" && io != "out" {
        return not_found();
      }
      if channel.is_some_and(str::is_empty) {
        return not_found();
      }
      let target = streams::Target { id, channel, io };
      match (action, method) {
        (None, &Method::PUT) => streams::initialize(ctx, target),
        (None, &Method::GET) => subscribe::subscribe(ctx, target).await,
        (None, &Method::HEAD) => streams::head(ctx, target),
        (Some("append"), &Method::POST) => streams::append(ctx, target),
        (Some("records"), &Method::GET) => streams::records(ctx, target),
        (Some("append" | "records"), _) | (None, _) => method_not_allowed(),
        _ => not_found(),
      }
    }
    _ => not_found(),
  }
}

fn not_found() -> Resp {
  api_error(404, "Not found")
}

fn method_not_allowed() -> Resp {
  api_error(405, "Method not allowed")
}

impl Ctx {
  /// Any valid credential (secret key, or with `strict_auth: false` any Bearer).
  pub fn authenticate(&self) -> Result<Principal, Resp> {
    let Some(token) = crate::http::bearer(&self.headers) else {
      return Err(api_error(401, "Invalid or Missing API key"));
    };
    if token == self.state.secret_key {
      return Ok(Principal::SecretKey);
    }
    if self.state.sessions.token_session(token).is_some() {
      return Ok(Principal::PublicToken);
    }
    if !self.state.strict_auth {
      return Ok(Principal::SecretKey);
    }
    Err(api_error(401, "Invalid or Missing API key"))
  }

  /// A credential valid for this session: the secret key or one of its tokens.
  pub fn authorize(&self, session: &Session) -> Result<Principal, Resp> {
    let Some(token) = crate::http::bearer(&self.headers) else {
      return Err(api_error(401, "Invalid or Missing API key"));
    };
    if token == self.state.secret_key {
      return Ok(Principal::SecretKey);
    }
    match self.state.sessions.token_session(token) {
      Some(id) if id == session.id => Ok(Principal::PublicToken),
      Some(_) => Err(api_error(
        403,
        "Public Access Token is not authorized for this session",
      )),
      None if !self.state.strict_auth => Ok(Principal::SecretKey),
      None => Err(api_error(401, "Invalid Public Access Token")),
    }
  }

  pub fn header(&self, name: &str) -> Option<&str> {
    crate::http::header_str(&self.headers, name)
  }
}

fn preflight(headers: &http::HeaderMap) -> Resp {
  let mut resp = crate::http::response(204, "text/plain", Bytes::new());
  *resp.body_mut() = empty();
  let allow_headers = headers
    .get("access-control-request-headers")
    .cloned()
    .unwrap_or_else(|| HeaderValue::from_static("*"));
  let h = resp.headers_mut();
  h.insert(
    "access-control-allow-methods",
    HeaderValue::from_static("GET, POST, PUT, HEAD, OPTIONS"),
  );
  h.insert("access-control-allow-headers", allow_headers);
  h.insert("access-control-max-age", HeaderValue::from_static("86400"));
  h.remove(http::header::CONTENT_TYPE);
  resp
}

fn add_cors(resp: &mut Resp) {
  let h = resp.headers_mut();
  h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
  h.insert(
    "access-control-expose-headers",
    HeaderValue::from_static("*"),
  );
}

fn with_cors(mut resp: Resp) -> Resp {
  add_cors(&mut resp);
  resp
}

/// `x-should-retry` on an injected failure, when the fault asks for it.
pub(crate) fn should_retry(resp: &mut Resp, value: Option<bool>) {
  if let Some(v) = value {
    resp.headers_mut().insert(
      "x-should-retry",
      HeaderValue::from_static(if v { "true" } else { "false" }),
    );
  }
}
