//! Trigger.dev control-plane client (docs/protocol.md §2, §4): every call carries the §2.1 header
//! set and follows the zodfetch retry schedule with ONE idempotency key per logical call.
//!
//! Each logical call runs in its own debug span (`createSession`, `initializeStream`,
//! `appendInput`; target `chat_headstart_core::session::api`) holding its attempts, last
//! status and duration; a retried attempt is a debug event with the status and the delay.

use super::config::{ApiConfig, TRIGGER_API_VERSION, TRIGGER_SDK_VERSION};
use super::http::{api_client, ApiClient};
use super::retry::{self, api_retry_for_network_error, api_retry_for_status, Retry};
use crate::logging::ms_since;
use crate::wire::ids::uuid_v4;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde::Deserialize;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;
use tracing::field::Empty;
use tracing::Instrument;

/// A failed API call, shaped like the reference's `ApiError` (status + message + code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
  /// HTTP status, `None` for a connection error.
  pub status: Option<u16>,
  pub message: String,
  pub code: Option<String>,
}

impl fmt::Display for ApiError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(&self.message)
  }
}

impl ApiError {
  fn connection() -> Self {
    ApiError {
      status: None,
      message: "Connection error.".into(),
      code: None,
    }
  }
  fn schema(what: &str) -> Self {
    ApiError {
      status: Some(200),
      message: format!("Invalid response from the Trigger.dev API: {what}"),
      code: None,
    }
  }
  /// Message derivation of the reference (§2.2): the JSON body's `error` (its `message` when
  /// an object), else `"<status> status code (no body)"`; a non-JSON body → `"<status> <text>"`.
  pub fn from_response(status: u16, body: &[u8]) -> Self {
    match serde_json::from_slice::<serde_json::Value>(body) {
      Ok(v) => {
        let code = v.get("code").and_then(|c| c.as_str()).map(str::to_string);
        let message = match v.get("error") {
          Some(serde_json::Value::String(s)) => s.clone(),
          Some(serde_json::Value::Object(o)) => match o.get("message") {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => serde_json::Value::Object(o.clone()).to_string(),
          },
          Some(other) => other.to_string(),
          None => format!("{status} status code (no body)"),
        };
        ApiError {
          status: Some(status),
          message,
          code,
        }
      }
      Err(_) if body.is_empty() => ApiError {
        status: Some(status),
        message: format!("{status} status code (no body)"),
        code: None,
      },
      Err(_) => ApiError {
        status: Some(status),
        message: format!("{status} {}", String::from_utf8_lossy(body)),
        code: None,
      },
    }
  }
}

/// How one logical call went (all its attempts): the turn's report and the span's fields.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallReport {
  pub attempts: u32,
  /// HTTP status of the last attempt; `None` when it got no response.
  pub status: Option<u16>,
  /// From the first attempt to the result, retry delays included.
  pub duration_ms: f64,
}

/// The span of one logical call; `call_with_report` fills its empty fields.
macro_rules! call_span {
  ($name:literal $(, $field:ident = $value:expr)*) => {
    tracing::debug_span!(
      $name,
      $($field = $value,)*
      attempts = Empty,
      status = Empty,
      duration_ms = Empty
    )
  };
}

/// The fields of `CreatedSessionResponseBody` the handler uses (the rest are validated present).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSession {
  pub public_access_token: String,
  pub pending_version: bool,
}

/// S2 credentials returned by `PUT …/out` (§2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S2Credentials {
  pub access_token: String,
  pub basin: String,
  pub stream: String,
  pub endpoint: Option<String>,
}

pub struct TriggerApi {
  pub config: ApiConfig,
  client: ApiClient,
}

/// `encodeURIComponent` (path segments are addressed by the browser-chosen chatId).
pub fn encode_uri_component(s: &str) -> String {
  let mut out = String::with_capacity(s.len());
  for b in s.bytes() {
    match b {
      b'A'..=b'Z'
      | b'a'..=b'z'
      | b'0'..=b'9'
      | b'-'
      | b'_'
      | b'.'
      | b'!'
      | b'~'
      | b'*'
      | b'\''
      | b'('
      | b')' => out.push(b as char),
      _ => out.push_str(&format!("%{b:02X}")),
    }
  }
  out
}

pub struct RawResponse {
  pub status: StatusCode,
  pub headers: HeaderMap,
  pub body: Bytes,
}

/// One logical call's attempts: the same request (and idempotency key) each time.
struct Attempt<'c> {
  api: &'c TriggerApi,
  method: Method,
  url: String,
  idempotency_key: String,
  extra: &'c [(&'static str, String)],
  body: Option<Bytes>,
  report: &'c mut CallReport,
}

impl Attempt<'_> {
  /// Attempt `number`: a 2xx response, or how it failed.
  async fn send(&mut self, number: u32) -> Result<RawResponse, Failed> {
    self.report.attempts = number;
    let req = self.request().map_err(Failed::Invalid)?;
    let exchanged = self.exchange(req).await;
    self.report.status = exchanged.as_ref().ok().map(|r| r.status.as_u16());
    match exchanged {
      Ok(resp) if resp.status.is_success() => Ok(resp),
      Ok(resp) => Err(Failed::Status(resp)),
      Err(()) => Err(Failed::Network),
    }
  }

  /// One attempt's request: the common headers, the call's idempotency key and `extra`.
  fn request(&self) -> Result<Request<Full<Bytes>>, ApiError> {
    let mut req = Request::builder()
      .method(self.method.clone())
      .uri(&self.url);
    let headers = req.headers_mut().expect("fresh builder");
    *headers = self.api.common_headers();
    headers.insert(
      "x-trigger-request-idempotency-key",
      HeaderValue::from_str(&self.idempotency_key).expect("uuid is a valid header"),
    );
    for (k, v) in self.extra {
      if let Ok(v) = HeaderValue::from_str(v) {
        headers.insert(*k, v);
      }
    }
    let body_bytes = self.body.clone().unwrap_or_default();
    headers.insert("content-length", HeaderValue::from(body_bytes.len()));
    req.body(Full::new(body_bytes)).map_err(|e| ApiError {
      status: None,
      message: format!("invalid request: {e}"),
      code: None,
    })
  }

  /// Sends one request and reads the whole response; `Err` when either fails on the network.
  async fn exchange(&self, req: Request<Full<Bytes>>) -> Result<RawResponse, ()> {
    let resp = self.api.client.request(req).await.map_err(|_| ())?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let collected = resp.into_body().collect().await.map_err(|_| ())?;
    Ok(RawResponse {
      status,
      headers,
      body: collected.to_bytes(),
    })
  }
}

/// How one attempt of a call failed, for the retry decision.
enum Failed {
  /// A non-2xx response.
  Status(RawResponse),
  /// No (complete) response.
  Network,
  /// The request could not be built; never retried.
  Invalid(ApiError),
}

impl Failed {
  fn status(&self) -> Option<u16> {
    match self {
      Failed::Status(resp) => Some(resp.status.as_u16()),
      Failed::Network | Failed::Invalid(_) => None,
    }
  }
}

impl TriggerApi {
  pub fn new(config: ApiConfig) -> Result<Arc<Self>, String> {
    let client = api_client(config.extra_ca_pem.as_deref())?;
    Ok(Arc::new(TriggerApi { config, client }))
  }

  /// The §2.1 header set (without the idempotency key).
  pub fn common_headers(&self) -> HeaderMap {
    let mut h = HeaderMap::new();
    let bearer = format!("Bearer {}", self.config.secret_key);
    if let Ok(v) = HeaderValue::from_str(&bearer) {
      h.insert("authorization", v);
    }
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
      "trigger-version",
      HeaderValue::from_static(TRIGGER_SDK_VERSION),
    );
    h.insert("x-trigger-source", HeaderValue::from_static("sdk"));
    h.insert(
      "x-trigger-api-version",
      HeaderValue::from_static(TRIGGER_API_VERSION),
    );
    if let Ok(v) = HeaderValue::from_str(&self.config.realtime_streams_version) {
      h.insert("x-trigger-realtime-streams-version", v);
    }
    if let Some(branch) = self
      .config
      .branch
      .as_deref()
      .and_then(|b| HeaderValue::from_str(b).ok())
    {
      h.insert("x-trigger-branch", branch);
    }
    h.insert("cache-control", HeaderValue::from_static("max-age=0"));
    h.insert("accept", HeaderValue::from_static("*/*"));
    h
  }

  pub fn url(&self, path: &str) -> String {
    format!("{}{}", self.config.base_url, path)
  }

  /// Sends one request without retries; used by the SSE subscription, which owns its policy.
  pub async fn send(
    &self,
    req: Request<Full<Bytes>>,
  ) -> Result<hyper::Response<Incoming>, ApiError> {
    self
      .client
      .request(req)
      .await
      .map_err(|_| ApiError::connection())
  }

  /// One logical zodfetch call: the same idempotency key (and extra headers such as
  /// `X-Part-Id`) on every attempt, the §2.2 schedule between attempts.
  pub async fn call(
    &self,
    method: Method,
    path: &str,
    body: Option<Bytes>,
    extra: &[(&'static str, String)],
  ) -> Result<RawResponse, ApiError> {
    let mut report = CallReport::default();
    self
      .call_with_report(method, path, body, extra, &mut report)
      .await
  }

  /// [`TriggerApi::call`], telling how it went in `report` and in the current span's
  /// `attempts` / `status` / `duration_ms` fields, with a debug event at the end.
  pub async fn call_with_report(
    &self,
    method: Method,
    path: &str,
    body: Option<Bytes>,
    extra: &[(&'static str, String)],
    report: &mut CallReport,
  ) -> Result<RawResponse, ApiError> {
    let started = Instant::now();
    let result = self.attempts(method, path, body, extra, report).await;
    report.duration_ms = ms_since(started);
    let span = tracing::Span::current();
    span.record("attempts", report.attempts);
    if let Some(status) = report.status {
      span.record("status", status);
    }
    span.record("duration_ms", report.duration_ms);
    match &result {
      Ok(_) => tracing::debug!(
        attempts = report.attempts,
        status = report.status,
        duration_ms = report.duration_ms,
        "done"
      ),
      Err(e) => tracing::debug!(
        attempts = report.attempts,
        status = report.status,
        duration_ms = report.duration_ms,
        error = %e.message,
        "failed"
      ),
    }
    result
  }

  async fn attempts(
    &self,
    method: Method,
    path: &str,
    body: Option<Bytes>,
    extra: &[(&'static str, String)],
    report: &mut CallReport,
  ) -> Result<RawResponse, ApiError> {
    let mut call = Attempt {
      api: self,
      method,
      url: self.url(path),
      idempotency_key: uuid_v4(),
      extra,
      body,
      report,
    };
    let outcome = retry::run(
      &mut call,
      |call, number| Box::pin(call.send(number)),
      |failed, attempt| {
        let decision = match failed {
          Failed::Status(resp) => {
            api_retry_for_status(resp.status.as_u16(), &resp.headers, attempt)
          }
          Failed::Network => api_retry_for_network_error(attempt),
          Failed::Invalid(_) => Retry::GiveUp,
        };
        if let Retry::After(delay) = decision {
          tracing::debug!(
            attempt,
            status = failed.status(),
            retry_in_ms = delay.as_millis() as u64,
            "attempt failed, retrying"
          );
        }
        decision
      },
    )
    .await;
    outcome.map_err(|failed| match failed {
      Failed::Status(resp) => ApiError::from_response(resp.status.as_u16(), &resp.body),
      Failed::Network => ApiError::connection(),
      Failed::Invalid(e) => e,
    })
  }

  /// `POST /api/v1/sessions` with a pre-built body (§2.3).
  pub async fn create_session(&self, body: Bytes) -> Result<CreatedSession, ApiError> {
    self
      .create_session_with_report(body, &mut CallReport::default())
      .await
  }

  /// [`TriggerApi::create_session`], telling how the call went in `report`.
  pub async fn create_session_with_report(
    &self,
    body: Bytes,
    report: &mut CallReport,
  ) -> Result<CreatedSession, ApiError> {
    async {
      let resp = self
        .call_with_report(Method::POST, "/api/v1/sessions", Some(body), &[], report)
        .await?;
      parse_created_session(&resp.body)
        .inspect_err(|e| tracing::warn!(error = %e.message, "unusable response"))
    }
    .instrument(call_span!("createSession"))
    .await
  }

  /// `PUT /realtime/v1/sessions/{chatId}/{io}` → S2 credentials (§2.4).
  pub async fn initialize_stream(
    &self,
    chat_id: &str,
    io: &str,
  ) -> Result<S2Credentials, ApiError> {
    let path = format!(
      "/realtime/v1/sessions/{}/{io}",
      encode_uri_component(chat_id)
    );
    let resp = self
      .call(Method::PUT, &path, None, &[])
      .instrument(call_span!("initializeStream", chat_id = chat_id))
      .await?;
    #[derive(Deserialize)]
    struct Version {
      #[allow(dead_code)]
      version: String,
    }
    serde_json::from_slice::<Version>(&resp.body)
      .map_err(|_| ApiError::schema("initialize response lacks `version`"))?;
    let header = |name: &str| {
      resp
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
    };
    match (
      header("x-s2-access-token"),
      header("x-s2-basin"),
      header("x-s2-stream-name"),
    ) {
      (Some(access_token), Some(basin), Some(stream)) => Ok(S2Credentials {
        access_token,
        basin,
        stream,
        endpoint: header("x-s2-endpoint"),
      }),
      _ => Err(ApiError {
        status: Some(resp.status.as_u16()),
        message: "Session stream initialize did not return S2 credentials".into(),
        code: None,
      }),
    }
  }

  /// `POST …/{chatId}/in/append` with a raw JSON body and an `X-Part-Id` reused on retries (§4.1).
  pub async fn append_input(
    &self,
    chat_id: &str,
    body: Bytes,
    part_id: &str,
  ) -> Result<(), ApiError> {
    let path = format!(
      "/realtime/v1/sessions/{}/in/append",
      encode_uri_component(chat_id)
    );
    let resp = self
      .call(
        Method::POST,
        &path,
        Some(body),
        &[("x-part-id", part_id.to_string())],
      )
      .instrument(call_span!("appendInput", chat_id = chat_id))
      .await?;
    #[derive(Deserialize)]
    struct Ok_ {
      #[allow(dead_code)]
      ok: bool,
    }
    serde_json::from_slice::<Ok_>(&resp.body)
      .map_err(|_| ApiError::schema("append response lacks `ok`"))?;
    Ok(())
  }
}

/// Validates `CreatedSessionResponseBody` (every required key present) and extracts what the
/// handler uses.
pub fn parse_created_session(body: &[u8]) -> Result<CreatedSession, ApiError> {
  let v: serde_json::Value =
    serde_json::from_slice(body).map_err(|_| ApiError::schema("body is not JSON"))?;
  let obj = v
    .as_object()
    .ok_or_else(|| ApiError::schema("body is not an object"))?;
  const REQUIRED: [&str; 14] = [
    "id",
    "externalId",
    "type",
    "taskIdentifier",
    "tags",
    "metadata",
    "closedAt",
    "closedReason",
    "expiresAt",
    "createdAt",
    "updatedAt",
    "runId",
    "publicAccessToken",
    "isCached",
  ];
  for key in REQUIRED {
    if !obj.contains_key(key) {
      return Err(ApiError::schema(&format!(
        "createSession response lacks `{key}`"
      )));
    }
  }
  let token = obj
    .get("publicAccessToken")
    .and_then(|t| t.as_str())
    .filter(|t| !t.is_empty())
    .ok_or_else(|| ApiError::schema("`publicAccessToken` is not a non-empty string"))?;
  Ok(CreatedSession {
    public_access_token: token.to_string(),
    pending_version: obj.get("pendingVersion").and_then(|p| p.as_bool()) == Some(true),
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn error_messages_match_the_reference() {
    assert_eq!(
      ApiError::from_response(422, br#"{"error":"bad things"}"#).message,
      "bad things"
    );
    assert_eq!(
      ApiError::from_response(409, br#"{"error":{"message":"closed"}}"#).message,
      "closed"
    );
    assert_eq!(
      ApiError::from_response(500, br#"{"x":1}"#).message,
      "500 status code (no body)"
    );
    assert_eq!(
      ApiError::from_response(502, b"Bad gateway").message,
      "502 Bad gateway"
    );
    assert_eq!(
      ApiError::from_response(409, br#"{"error":"c","code":"session_closed"}"#)
        .code
        .as_deref(),
      Some("session_closed")
    );
  }

  #[test]
  fn created_session_requires_every_key() {
    let full = br#"{"id":"session_1","externalId":"c","type":"chat.agent","taskIdentifier":"a","currentRunId":null,"tags":[],"metadata":null,"closedAt":null,"closedReason":null,"expiresAt":null,"createdAt":"x","updatedAt":"x","runId":"run_1","publicAccessToken":"pat","isCached":false,"pendingVersion":true}"#;
    let s = parse_created_session(full).unwrap();
    assert_eq!(s.public_access_token, "pat");
    assert!(s.pending_version);
    let missing = br#"{"id":"session_1","publicAccessToken":"pat"}"#;
    assert_eq!(
      parse_created_session(missing).unwrap_err().status,
      Some(200)
    );
  }

  #[test]
  fn uri_component_encoding() {
    assert_eq!(encode_uri_component("chat-1"), "chat-1");
    assert_eq!(encode_uri_component("a/b c"), "a%2Fb%20c");
    assert_eq!(encode_uri_component("é"), "%C3%A9");
  }
}
