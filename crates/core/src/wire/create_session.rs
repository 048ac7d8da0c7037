//! The `POST /api/v1/sessions` body (docs/protocol.md §2.3), byte-identical to what the reference
//! sends: `JSON.stringify(withResolvedExternalDeploymentId({type, externalId, taskIdentifier,
//! triggerConfig, tags?}))`.
//!
//! Note on key order: `withResolvedExternalDeploymentId` strips `externalDeploymentId` from
//! `triggerConfig` and re-appends the resolved value, so on the wire it comes **after**
//! `idleTimeoutInSeconds` (the reference's documentation lists it before; its code wins).

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::jsjson::{
  write_canonical, write_js_number, write_js_object_with, write_js_string, write_js_value,
};
use super::request::HeadStartRequest;
use super::WireError;

/// Default `idleTimeoutInSeconds` of a head-start session.
pub const DEFAULT_IDLE_TIMEOUT_IN_SECONDS: f64 = 60.0;
/// Run tags: at most 10, each at most 128 characters (the `chat:` tag is skipped when longer).
pub const MAX_RUN_TAGS: usize = 10;
pub const MAX_RUN_TAG_LENGTH: usize = 128;
/// Longest accepted `externalDeploymentId`, after trimming.
pub const EXTERNAL_DEPLOYMENT_ID_MAX_LENGTH: usize = 128;

/// The CI commit-SHA variables consulted under automatic skew protection, in the reference's order.
pub const PLATFORM_COMMIT_SHA_ENV_VARS: &[&str] = &[
  "VERCEL_GIT_COMMIT_SHA",
  "RAILWAY_GIT_COMMIT_SHA",
  "RENDER_GIT_COMMIT",
  "CF_PAGES_COMMIT_SHA",
  "WORKERS_CI_COMMIT_SHA",
  "COMMIT_REF",
  "AWS_COMMIT_ID",
  "HEROKU_BUILD_COMMIT",
  "HEROKU_SLUG_COMMIT",
  "KOYEB_GIT_SHA",
  "GITHUB_SHA",
  "CI_COMMIT_SHA",
  "CIRCLE_SHA1",
  "BITBUCKET_COMMIT",
  "BUILDKITE_COMMIT",
  "BUILD_SOURCEVERSION",
  "COMMIT_SHA",
  "DRONE_COMMIT_SHA",
  "GIT_COMMIT",
  "BUILD_VCS_NUMBER",
  "TRAVIS_COMMIT",
  "COMMIT_HASH",
  "GIT_SHA",
  "GIT_HASH",
];

/// `triggerConfig.externalDeploymentId` as configured.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ExternalDeploymentId {
  /// Not configured: fall back to the API client config, then the environment.
  #[default]
  Unset,
  /// `null`: this session is not pinned, whatever the environment says.
  OptOut,
  /// An explicit value (used when it is a non-empty string of ≤ 128 characters after trimming,
  /// otherwise the fallbacks apply, like the reference).
  Explicit(Value),
}

/// The `triggerConfig` option of `chat.headStart` (a partial `SessionTriggerConfig`). Values the
/// reference forwards untouched are kept as JSON values and written with `JSON.stringify` rules.
#[derive(Debug, Clone, Default)]
pub struct SessionTriggerConfig {
  pub base_payload: Map<String, Value>,
  /// Sent only when truthy.
  pub machine: Option<Value>,
  /// Sent only when truthy.
  pub queue: Option<Value>,
  /// Validated limit names (≤ 2, `^[a-zA-Z0-9_-]{1,122}$`), sent as `{"concurrency":[…]}`.
  pub concurrency: Option<Vec<String>>,
  pub concurrency_key: Option<Value>,
  /// Customer run tags (after the automatic `chat:<chatId>` tag).
  pub tags: Vec<Value>,
  pub max_attempts: Option<Value>,
  pub max_duration: Option<Value>,
  /// Sent only when truthy.
  pub region: Option<Value>,
  /// Sent only when truthy.
  pub lock_to_version: Option<Value>,
  /// A string (`"1h"`) or a non-negative integer of seconds.
  pub ttl: Option<Value>,
  pub external_deployment_id: ExternalDeploymentId,
  pub idle_timeout_in_seconds: Option<f64>,
}

fn config_error(message: impl Into<String>) -> WireError {
  WireError::new(500, message)
}

fn truthy(value: &Value) -> bool {
  match value {
    Value::Null => false,
    Value::Bool(b) => *b,
    Value::Number(n) => n.as_f64() != Some(0.0),
    Value::String(s) => !s.is_empty(),
    Value::Array(_) | Value::Object(_) => true,
  }
}

/// The reference's `triggerConcurrencyBody` validation, same error texts.
pub fn validate_concurrency(value: &Value) -> Result<Vec<String>, WireError> {
  let limits: Vec<&Value> = match value {
    Value::Array(items) => items.iter().collect(),
    single => vec![single],
  };
  if limits.len() > 2 {
    return Err(config_error(
      "The concurrency option accepts at most two named limits.",
    ));
  }
  let mut names = Vec::with_capacity(limits.len());
  for limit in limits {
    let Some(name) = limit.as_str().filter(|s| !s.is_empty()) else {
      return Err(config_error(
        "The concurrency option takes limit names: non-empty strings.",
      ));
    };
    names.push(name.to_owned());
  }
  for name in &names {
    let valid = name.len() <= 122
      && name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
      return Err(config_error(format!(
        "Concurrency limit \"{name}\": names are 1-122 characters using only letters, numbers, underscores and hyphens."
      )));
    }
  }
  Ok(names)
}

impl SessionTriggerConfig {
  /// Parses `JSON.stringify(triggerConfig)` (camelCase keys; unknown keys ignored). Invalid
  /// values fail here — at handler construction — instead of on every request.
  pub fn from_json(json: &[u8]) -> Result<Self, WireError> {
    let value: Value = serde_json::from_slice(json)
      .map_err(|e| config_error(format!("triggerConfig is not valid JSON: {e}")))?;
    match value {
      Value::Null => Ok(Self::default()),
      Value::Object(map) => Self::from_map(map),
      _ => Err(config_error("triggerConfig must be an object")),
    }
  }

  pub fn from_map(mut map: Map<String, Value>) -> Result<Self, WireError> {
    let mut config = Self::default();
    match map.remove("basePayload") {
      None | Some(Value::Null) => {}
      Some(Value::Object(base)) => config.base_payload = base,
      Some(_) => return Err(config_error("triggerConfig.basePayload must be an object")),
    }
    config.machine = map.remove("machine");
    config.queue = map.remove("queue");
    if let Some(concurrency) = map.remove("concurrency") {
      config.concurrency = Some(validate_concurrency(&concurrency)?);
    }
    config.concurrency_key = map.remove("concurrencyKey");
    match map.remove("tags") {
      None | Some(Value::Null) => {}
      Some(Value::Array(tags)) => config.tags = tags,
      Some(_) => {
        return Err(config_error(
          "triggerConfig.tags must be an array of strings",
        ))
      }
    }
    config.max_attempts = map.remove("maxAttempts");
    config.max_duration = map.remove("maxDuration");
    config.region = map.remove("region");
    config.lock_to_version = map.remove("lockToVersion");
    if let Some(ttl) = map.remove("ttl") {
      let valid = ttl.is_string() || ttl.as_u64().is_some();
      if !valid {
        return Err(config_error(format!(
          "triggerConfig.ttl must be a duration string (\"1h\") or a non-negative integer of seconds, got {ttl}"
        )));
      }
      config.ttl = Some(ttl);
    }
    config.external_deployment_id = match map.remove("externalDeploymentId") {
      None => ExternalDeploymentId::Unset,
      Some(Value::Null) => ExternalDeploymentId::OptOut,
      Some(value) => ExternalDeploymentId::Explicit(value),
    };
    config.idle_timeout_in_seconds = idle_timeout(
      map.remove("idleTimeoutInSeconds"),
      "triggerConfig.idleTimeoutInSeconds",
    )?;
    Ok(config)
  }
}

fn idle_timeout(value: Option<Value>, name: &str) -> Result<Option<f64>, WireError> {
  match value {
    None | Some(Value::Null) => Ok(None),
    Some(Value::Number(n)) => match n.as_f64() {
      Some(seconds) if seconds > 0.0 => Ok(Some(seconds)),
      _ => Err(config_error(format!(
        "{name} must be a positive number of seconds, got {n}"
      ))),
    },
    Some(other) => Err(config_error(format!(
      "{name} must be a positive number of seconds, got {other}"
    ))),
  }
}

/// Options of one create-session call.
#[derive(Debug, Clone, Default)]
pub struct CreateSessionOptions {
  /// `taskIdentifier`: the `chat.agent` id.
  pub agent_id: String,
  /// Top-level `idleTimeoutInSeconds`; wins over `trigger_config.idle_timeout_in_seconds`.
  pub idle_timeout_in_seconds: Option<f64>,
  pub trigger_config: SessionTriggerConfig,
  /// Session-level tags (top-level `tags`), sent only when given.
  pub tags: Option<Value>,
  /// The resolved `externalDeploymentId` to send (see [`resolve_external_deployment_id`]).
  pub external_deployment_id: Option<String>,
}

impl CreateSessionOptions {
  /// Parses `JSON.stringify({agentId, idleTimeoutInSeconds?, triggerConfig?, tags?,
  /// clientExternalDeploymentId?})` and resolves `externalDeploymentId` against
  /// `clientExternalDeploymentId` (the API client config's value) and `read_env`.
  pub fn from_json(
    json: &[u8],
    read_env: impl Fn(&str) -> Option<String>,
  ) -> Result<Self, WireError> {
    let value: Value = serde_json::from_slice(json)
      .map_err(|e| config_error(format!("head-start options are not valid JSON: {e}")))?;
    let Value::Object(mut map) = value else {
      return Err(config_error("head-start options must be an object"));
    };
    let agent_id = match map.remove("agentId") {
      Some(Value::String(id)) if !id.is_empty() => id,
      _ => {
        return Err(config_error(
          "`agentId` is required: the id of the chat.agent task",
        ))
      }
    };
    let trigger_config = match map.remove("triggerConfig") {
      None | Some(Value::Null) => SessionTriggerConfig::default(),
      Some(Value::Object(config)) => SessionTriggerConfig::from_map(config)?,
      Some(_) => return Err(config_error("triggerConfig must be an object")),
    };
    let client_config = map.remove("clientExternalDeploymentId");
    let external_deployment_id = resolve_external_deployment_id(
      &trigger_config.external_deployment_id,
      client_config.as_ref().and_then(Value::as_str),
      read_env,
    );
    Ok(Self {
      agent_id,
      idle_timeout_in_seconds: idle_timeout(
        map.remove("idleTimeoutInSeconds"),
        "idleTimeoutInSeconds",
      )?,
      trigger_config,
      tags: map.remove("tags"),
      external_deployment_id,
    })
  }

  /// `idleTimeoutInSeconds ?? triggerConfig.idleTimeoutInSeconds ?? 60`: the handler's idle timer.
  pub fn head_start_idle_timeout(&self) -> f64 {
    self
      .idle_timeout_in_seconds
      .or(self.trigger_config.idle_timeout_in_seconds)
      .unwrap_or(DEFAULT_IDLE_TIMEOUT_IN_SECONDS)
  }
}

fn js_trim(s: &str) -> &str {
  s.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}')
}

fn normalize_external_deployment_id(value: Option<&str>) -> Option<String> {
  let trimmed = js_trim(value?);
  let length = trimmed.encode_utf16().count();
  (length > 0 && length <= EXTERNAL_DEPLOYMENT_ID_MAX_LENGTH).then(|| trimmed.to_owned())
}

/// The reference's skew-protection pin: explicit value → API client config →
/// `TRIGGER_EXTERNAL_DEPLOYMENT_ID` → (if `TRIGGER_AUTOMATIC_SKEW_VERSION_PROTECTION` is `1`/`true`)
/// the first usable CI commit SHA. `OptOut` (`null`) resolves to nothing.
pub fn resolve_external_deployment_id(
  setting: &ExternalDeploymentId,
  client_config: Option<&str>,
  read_env: impl Fn(&str) -> Option<String>,
) -> Option<String> {
  let explicit = match setting {
    ExternalDeploymentId::OptOut => return None,
    ExternalDeploymentId::Unset => None,
    ExternalDeploymentId::Explicit(value) => value.as_str(),
  };
  if let Some(id) = normalize_external_deployment_id(explicit) {
    return Some(id);
  }
  if let Some(id) = normalize_external_deployment_id(client_config) {
    return Some(id);
  }
  if let Some(id) =
    normalize_external_deployment_id(read_env("TRIGGER_EXTERNAL_DEPLOYMENT_ID").as_deref())
  {
    return Some(id);
  }
  let automatic = read_env("TRIGGER_AUTOMATIC_SKEW_VERSION_PROTECTION")
    .is_some_and(|raw| matches!(js_trim(&raw).to_lowercase().as_str(), "1" | "true"));
  if automatic {
    return PLATFORM_COMMIT_SHA_ENV_VARS
      .iter()
      .find_map(|name| normalize_external_deployment_id(read_env(name).as_deref()));
  }
  None
}

/// Which create-session call this is.
#[derive(Debug, Clone, Copy)]
pub enum SessionPayload<'a> {
  /// `chat.headStart` / `chat.openSession` (the browser's body) and `chat.startHeadStart`
  /// (build the request with [`HeadStartRequest::detached`]): `basePayload.trigger` is
  /// `"handover-prepare"`.
  HeadStart(&'a HeadStartRequest),
  /// A server-side preload (the shape of the reference's `chat.createStartSessionAction`):
  /// `basePayload = {messages: [], trigger: "preload", ...basePayload, metadata?: clientData, chatId}`,
  /// top-level `metadata` when given, `idleTimeoutInSeconds` only when configured.
  Preload {
    chat_id: &'a str,
    /// `JSON.stringify(clientData)`, becomes `basePayload.metadata`.
    client_data_json: Option<&'a RawValue>,
    /// `JSON.stringify(metadata)`, the session's own metadata (top-level).
    metadata_json: Option<&'a RawValue>,
  },
}

/// Which `basePayload.trigger` a payload carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionTrigger {
  HandoverPrepare,
  Preload,
}

impl SessionPayload<'_> {
  pub fn trigger(&self) -> SessionTrigger {
    match self {
      SessionPayload::HeadStart(_) => SessionTrigger::HandoverPrepare,
      SessionPayload::Preload { .. } => SessionTrigger::Preload,
    }
  }

  pub fn chat_id(&self) -> &str {
    match self {
      SessionPayload::HeadStart(req) => req.chat_id(),
      SessionPayload::Preload { chat_id, .. } => chat_id,
    }
  }
}

/// One value of a merged object, from wherever it came.
#[derive(Clone, Copy)]
enum Source<'a> {
  Config(&'a Value),
  Raw(&'a RawValue),
  Str(&'a str),
  Number(f64),
  Literal(&'static str),
}

fn write_source(out: &mut Vec<u8>, source: Source<'_>) -> Result<(), WireError> {
  match source {
    Source::Config(value) => write_js_value(out, value),
    Source::Raw(raw) => write_canonical(out, raw)
      .map_err(|e| WireError::bad_request(format!("request body is not valid JSON: {e}")))?,
    Source::Str(s) => write_js_string(out, s),
    Source::Number(n) => write_js_number(out, n),
    Source::Literal(text) => out.extend_from_slice(text.as_bytes()),
  }
  Ok(())
}

/// Writes a JS object built by successive spreads/assignments (`IndexMap` insert semantics =
/// JS property semantics), enumerating array-index keys first like JavaScript.
fn write_merged_object(
  out: &mut Vec<u8>,
  merged: IndexMap<&str, Source<'_>>,
) -> Result<(), WireError> {
  write_js_object_with(out, merged.into_iter().collect(), write_source)
}

/// Appends `,"key":` (or `"key":` for the first member).
struct Members<'o> {
  out: &'o mut Vec<u8>,
  empty: bool,
}

impl<'o> Members<'o> {
  fn open(out: &'o mut Vec<u8>) -> Self {
    out.push(b'{');
    Self { out, empty: true }
  }

  fn key(&mut self, key: &str) -> &mut Vec<u8> {
    if !self.empty {
      self.out.push(b',');
    }
    self.empty = false;
    write_js_string(self.out, key);
    self.out.push(b':');
    self.out
  }

  fn value(&mut self, key: &str, value: &Value) {
    write_js_value(self.key(key), value);
  }

  fn close(self) {
    self.out.push(b'}');
  }
}

/// `chatRunTags(chatId, tags)`: `chat:<chatId>` first when it fits in 128 UTF-16 units, then the
/// customer's tags, at most 10 in all.
fn write_run_tags(out: &mut Vec<u8>, chat_id: &str, tags: &[Value]) {
  out.push(b'[');
  let chat_tag_fits = "chat:".len() + chat_id.encode_utf16().count() <= MAX_RUN_TAG_LENGTH;
  let mut written = 0;
  if chat_tag_fits {
    out.extend_from_slice(b"\"chat:");
    let start = out.len();
    write_js_string(out, chat_id);
    // Splice the escaped id into the already-open string: drop its opening quote.
    out.remove(start);
    written = 1;
  }
  for tag in tags.iter().take(MAX_RUN_TAGS - written) {
    if written > 0 {
      out.push(b',');
    }
    write_js_value(out, tag);
    written += 1;
  }
  out.push(b']');
}

/// The create-session request body, byte-identical to the reference's for the same inputs.
pub fn create_session_body(
  payload: SessionPayload<'_>,
  opts: &CreateSessionOptions,
) -> Result<Vec<u8>, WireError> {
  let config = &opts.trigger_config;
  let chat_id = payload.chat_id();
  let mut out = Vec::with_capacity(256 + payload_size_hint(&payload));
  let mut top = Members::open(&mut out);
  write_js_string(top.key("type"), "chat.agent");
  write_js_string(top.key("externalId"), chat_id);
  write_js_string(top.key("taskIdentifier"), &opts.agent_id);

  let idle_timeout = match payload.trigger() {
    SessionTrigger::HandoverPrepare => Some(opts.head_start_idle_timeout()),
    SessionTrigger::Preload => opts
      .idle_timeout_in_seconds
      .or(config.idle_timeout_in_seconds),
  };

  // basePayload: the spreads of the reference, in order.
  let mut base: IndexMap<&str, Source<'_>> = IndexMap::new();
  match payload {
    SessionPayload::HeadStart(req) => {
      for (key, value) in &config.base_payload {
        base.insert(key, Source::Config(value));
      }
      for (key, raw) in req.entries() {
        base.insert(key, Source::Raw(raw));
      }
      base.insert("chatId", Source::Str(chat_id));
      base.insert("trigger", Source::Str("handover-prepare"));
      base.insert(
        "idleTimeoutInSeconds",
        Source::Number(opts.head_start_idle_timeout()),
      );
    }
    SessionPayload::Preload {
      client_data_json, ..
    } => {
      base.insert("messages", Source::Literal("[]"));
      base.insert("trigger", Source::Str("preload"));
      for (key, value) in &config.base_payload {
        base.insert(key, Source::Config(value));
      }
      if let Some(client_data) = client_data_json {
        base.insert("metadata", Source::Raw(client_data));
      }
      base.insert("chatId", Source::Str(chat_id));
    }
  }

  let tc = top.key("triggerConfig");
  let mut trigger_config = Members::open(tc);
  write_merged_object(trigger_config.key("basePayload"), base)?;
  for (key, value) in [("machine", &config.machine), ("queue", &config.queue)] {
    if let Some(value) = value.as_ref().filter(|v| truthy(v)) {
      trigger_config.value(key, value);
    }
  }
  if let Some(names) = &config.concurrency {
    let out = trigger_config.key("concurrency");
    out.push(b'[');
    for (i, name) in names.iter().enumerate() {
      if i > 0 {
        out.push(b',');
      }
      write_js_string(out, name);
    }
    out.push(b']');
  }
  if let Some(value) = &config.concurrency_key {
    trigger_config.value("concurrencyKey", value);
  }
  write_run_tags(trigger_config.key("tags"), chat_id, &config.tags);
  for (key, value) in [
    ("maxAttempts", &config.max_attempts),
    ("maxDuration", &config.max_duration),
  ] {
    if let Some(value) = value {
      trigger_config.value(key, value);
    }
  }
  for (key, value) in [
    ("region", &config.region),
    ("lockToVersion", &config.lock_to_version),
  ] {
    if let Some(value) = value.as_ref().filter(|v| truthy(v)) {
      trigger_config.value(key, value);
    }
  }
  if let Some(ttl) = &config.ttl {
    trigger_config.value("ttl", ttl);
  }
  if let Some(seconds) = idle_timeout {
    write_js_number(trigger_config.key("idleTimeoutInSeconds"), seconds);
  }
  if let Some(id) = &opts.external_deployment_id {
    write_js_string(trigger_config.key("externalDeploymentId"), id);
  }
  trigger_config.close();

  if let SessionPayload::Preload {
    metadata_json: Some(metadata),
    ..
  } = payload
  {
    write_canonical(top.key("metadata"), metadata)
      .map_err(|e| WireError::bad_request(format!("`metadata` is not valid JSON: {e}")))?;
  }
  if let Some(tags) = &opts.tags {
    top.value("tags", tags);
  }
  top.close();
  Ok(out)
}

fn payload_size_hint(payload: &SessionPayload<'_>) -> usize {
  match payload {
    SessionPayload::HeadStart(req) => req
      .entries()
      .map(|(k, v)| k.len() + v.get().len() + 4)
      .sum(),
    SessionPayload::Preload { .. } => 64,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  const BROWSER_BODY: &str = r#"{"extra":1,"headStartMessages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"Weather in Paris?"}]}],"chatId":"chat-1","trigger":"submit-message","metadata":{"userId":"u-9"}}"#;

  /// The body building is tested on bodies the request rules would reject too (no messages).
  fn req(body: &str) -> HeadStartRequest {
    HeadStartRequest::unvalidated(body)
  }

  fn opts(json: &str) -> CreateSessionOptions {
    CreateSessionOptions::from_json(json.as_bytes(), |_| None).unwrap()
  }

  fn body(req: &HeadStartRequest, opts: &CreateSessionOptions) -> String {
    String::from_utf8(create_session_body(SessionPayload::HeadStart(req), opts).unwrap()).unwrap()
  }

  #[test]
  fn matches_the_observed_body_of_section_2_3_byte_for_byte() {
    let o = opts(
      r#"{"agentId":"exp-agent","idleTimeoutInSeconds":20,"triggerConfig":{"tags":["t1"],"machine":"small-1x"}}"#,
    );
    let expected = concat!(
      r#"{"type":"chat.agent","externalId":"chat-1","taskIdentifier":"exp-agent","#,
      r#""triggerConfig":{"#,
      r#""basePayload":{"extra":1,"headStartMessages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"Weather in Paris?"}]}],"#,
      r#""chatId":"chat-1","trigger":"handover-prepare","metadata":{"userId":"u-9"},"idleTimeoutInSeconds":20},"#,
      r#""machine":"small-1x","tags":["chat:chat-1","t1"],"idleTimeoutInSeconds":20}}"#
    );
    assert_eq!(body(&req(BROWSER_BODY), &o), expected);
  }

  #[test]
  fn full_key_order_with_every_option_set() {
    let o = opts(
      r#"{"agentId":"a","tags":["s1"],"triggerConfig":{"idleTimeoutInSeconds":30,"externalDeploymentId":" dep-1 ","ttl":"1h","lockToVersion":"20250101.1","region":"eu","maxDuration":300,"maxAttempts":3,"tags":["x"],"concurrencyKey":"k","concurrency":"lim","queue":"q","machine":"micro","basePayload":{"fromConfig":true,"chatId":"overridden"}}}"#,
    );
    let expected = concat!(
      r#"{"type":"chat.agent","externalId":"c","taskIdentifier":"a","triggerConfig":{"#,
      r#""basePayload":{"fromConfig":true,"chatId":"c","idleTimeoutInSeconds":30,"trigger":"handover-prepare"},"#,
      r#""machine":"micro","queue":"q","concurrency":["lim"],"concurrencyKey":"k","tags":["chat:c","x"],"#,
      r#""maxAttempts":3,"maxDuration":300,"region":"eu","lockToVersion":"20250101.1","ttl":"1h","#,
      r#""idleTimeoutInSeconds":30,"externalDeploymentId":"dep-1"},"tags":["s1"]}"#
    );
    assert_eq!(
      body(&req(r#"{"chatId":"c","idleTimeoutInSeconds":5}"#), &o),
      expected
    );
  }

  #[test]
  fn base_payload_merge_follows_the_spread_order() {
    // config base first, then the browser body (overriding in place), then forced keys.
    let o = opts(
      r#"{"agentId":"a","triggerConfig":{"basePayload":{"metadata":"cfg","a":0,"trigger":"x"}}}"#,
    );
    let got = body(&req(r#"{"b":2,"a":1,"chatId":"c","metadata":{"m":1}}"#), &o);
    assert!(got.contains(
      r#""basePayload":{"metadata":{"m":1},"a":1,"trigger":"handover-prepare","b":2,"chatId":"c","idleTimeoutInSeconds":60}"#
    ), "{got}");
  }

  #[test]
  fn idle_timeout_top_level_wins_and_defaults_to_60() {
    let r = req(r#"{"chatId":"c"}"#);
    assert!(body(&r, &opts(r#"{"agentId":"a"}"#))
      .ends_with(r#""tags":["chat:c"],"idleTimeoutInSeconds":60}}"#));
    let both = opts(
      r#"{"agentId":"a","idleTimeoutInSeconds":7,"triggerConfig":{"idleTimeoutInSeconds":9}}"#,
    );
    assert_eq!(both.head_start_idle_timeout(), 7.0);
    assert!(body(&r, &both).ends_with(r#""idleTimeoutInSeconds":7}}"#));
    let config_only = opts(r#"{"agentId":"a","triggerConfig":{"idleTimeoutInSeconds":1.5}}"#);
    assert!(body(&r, &config_only).ends_with(r#""idleTimeoutInSeconds":1.5}}"#));
  }

  #[test]
  fn browser_values_are_normalised_like_json_stringify() {
    let r = req("{ \"chatId\" : \"c\", \"n\": 1.0, \"e\": 1E21, \"s\": \"\\u0041\\/\", \"o\": {\"b\":1, \"1\":2} }");
    let got = body(&r, &opts(r#"{"agentId":"a"}"#));
    assert!(
      got.contains(r#""basePayload":{"chatId":"c","n":1,"e":1e+21,"s":"A/","o":{"1":2,"b":1},"trigger":"handover-prepare""#),
      "{got}"
    );
  }

  #[test]
  fn array_index_keys_come_first_in_base_payload() {
    let r = req(r#"{"chatId":"c","7":1,"x":2,"3":0}"#);
    let got = body(
      &r,
      &opts(r#"{"agentId":"a","triggerConfig":{"basePayload":{"10":true}}}"#),
    );
    assert!(
      got.contains(r#""basePayload":{"3":0,"7":1,"10":true,"chatId":"c","x":2,"trigger""#),
      "{got}"
    );
  }

  #[test]
  fn run_tags_truncate_to_ten_and_skip_long_chat_tags() {
    let tags: Vec<String> = (0..12).map(|i| format!("\"t{i}\"")).collect();
    let o = opts(&format!(
      r#"{{"agentId":"a","triggerConfig":{{"tags":[{}]}}}}"#,
      tags.join(",")
    ));
    let got = body(&req(r#"{"chatId":"c"}"#), &o);
    assert!(
      got.contains(r#""tags":["chat:c","t0","t1","t2","t3","t4","t5","t6","t7","t8"]"#),
      "{got}"
    );

    let id_123 = "x".repeat(123); // "chat:" + 123 = 128 → kept
    let got = body(&req(&format!(r#"{{"chatId":"{id_123}"}}"#)), &o);
    assert!(got.contains(&format!(
      r#""tags":["chat:{id_123}","t0","t1","t2","t3","t4","t5","t6","t7","t8"]"#
    )));
    let id_124 = "x".repeat(124); // 129 → no chat tag, ten customer tags
    let got = body(&req(&format!(r#"{{"chatId":"{id_124}"}}"#)), &o);
    assert!(
      got.contains(r#""tags":["t0","t1","t2","t3","t4","t5","t6","t7","t8","t9"]"#),
      "{got}"
    );
    // Escaped characters inside the chat tag.
    let got = body(&req(r#"{"chatId":"a\"b"}"#), &opts(r#"{"agentId":"a"}"#));
    assert!(got.contains(r#""tags":["chat:a\"b"]"#), "{got}");
  }

  #[test]
  fn optional_keys_follow_truthiness_or_definedness() {
    let o = opts(
      r#"{"agentId":"a","triggerConfig":{"machine":"","queue":null,"region":0,"lockToVersion":false,"concurrencyKey":null,"maxAttempts":null,"ttl":0}}"#,
    );
    let got = body(&req(r#"{"chatId":"c"}"#), &o);
    assert!(
      got.ends_with(r#""concurrencyKey":null,"tags":["chat:c"],"maxAttempts":null,"ttl":0,"idleTimeoutInSeconds":60}}"#),
      "{got}"
    );
    assert!(
      !got.contains("machine")
        && !got.contains("queue")
        && !got.contains("region")
        && !got.contains("lockToVersion")
    );
  }

  #[test]
  fn concurrency_validation() {
    let ok = |v: &str| validate_concurrency(&serde_json::from_str(v).unwrap());
    assert_eq!(ok(r#""a-b_C9""#).unwrap(), ["a-b_C9"]);
    assert_eq!(ok(r#"["a","b"]"#).unwrap(), ["a", "b"]);
    assert_eq!(ok(&format!("\"{}\"", "x".repeat(122))).unwrap().len(), 1);
    assert_eq!(
      ok(r#"["a","b","c"]"#).unwrap_err().message,
      "The concurrency option accepts at most two named limits."
    );
    assert_eq!(
      ok(r#"[""]"#).unwrap_err().message,
      "The concurrency option takes limit names: non-empty strings."
    );
    assert_eq!(
      ok("null").unwrap_err().message,
      "The concurrency option takes limit names: non-empty strings."
    );
    assert_eq!(
      ok(r#"[1]"#).unwrap_err().message,
      "The concurrency option takes limit names: non-empty strings."
    );
    assert_eq!(
      ok(r#""a b""#).unwrap_err().message,
      "Concurrency limit \"a b\": names are 1-122 characters using only letters, numbers, underscores and hyphens."
    );
    assert!(ok(&format!("\"{}\"", "x".repeat(123))).is_err());
    assert!(ok(r#""é""#).is_err());
    // An empty array is valid (and sends `"concurrency":[]`, like the reference).
    assert!(ok("[]").unwrap().is_empty());
    let o = opts(r#"{"agentId":"a","triggerConfig":{"concurrency":["x","y"]}}"#);
    assert!(body(&req(r#"{"chatId":"c"}"#), &o).contains(r#""concurrency":["x","y"],"tags""#));
  }

  #[test]
  fn config_errors_are_reported_at_construction() {
    let err = |json: &str| {
      CreateSessionOptions::from_json(json.as_bytes(), |_| None)
        .unwrap_err()
        .message
    };
    assert_eq!(
      err("{}"),
      "`agentId` is required: the id of the chat.agent task"
    );
    assert_eq!(
      err(r#"{"agentId":"a","triggerConfig":[]}"#),
      "triggerConfig must be an object"
    );
    assert_eq!(
      err(r#"{"agentId":"a","triggerConfig":{"basePayload":"x"}}"#),
      "triggerConfig.basePayload must be an object"
    );
    assert_eq!(
      err(r#"{"agentId":"a","triggerConfig":{"tags":"t"}}"#),
      "triggerConfig.tags must be an array of strings"
    );
    assert_eq!(
      err(r#"{"agentId":"a","triggerConfig":{"ttl":-1}}"#),
      "triggerConfig.ttl must be a duration string (\"1h\") or a non-negative integer of seconds, got -1"
    );
    assert_eq!(
      err(r#"{"agentId":"a","idleTimeoutInSeconds":"20"}"#),
      "idleTimeoutInSeconds must be a positive number of seconds, got \"20\""
    );
    assert_eq!(
      err(r#"{"agentId":"a","triggerConfig":{"concurrency":["a","b","c"]}}"#),
      "The concurrency option accepts at most two named limits."
    );
  }

  #[test]
  fn external_deployment_id_resolution() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
      move |name: &str| {
        pairs
          .iter()
          .find(|(k, _)| *k == name)
          .map(|(_, v)| v.to_string())
      }
    };
    let explicit = ExternalDeploymentId::Explicit(Value::String(" abc ".into()));
    assert_eq!(
      resolve_external_deployment_id(&explicit, Some("client"), env(&[])),
      Some("abc".into())
    );
    let blank = ExternalDeploymentId::Explicit(Value::String("  ".into()));
    assert_eq!(
      resolve_external_deployment_id(&blank, Some("client"), env(&[])),
      Some("client".into())
    );
    let too_long = ExternalDeploymentId::Explicit(Value::String("x".repeat(129)));
    assert_eq!(
      resolve_external_deployment_id(&too_long, None, env(&[])),
      None
    );
    assert_eq!(
      resolve_external_deployment_id(
        &ExternalDeploymentId::OptOut,
        Some("client"),
        env(&[("TRIGGER_EXTERNAL_DEPLOYMENT_ID", "e")])
      ),
      None
    );
    assert_eq!(
      resolve_external_deployment_id(
        &ExternalDeploymentId::Unset,
        None,
        env(&[("TRIGGER_EXTERNAL_DEPLOYMENT_ID", "e")])
      ),
      Some("e".into())
    );
    let ci = env(&[
      ("GITHUB_SHA", "g"),
      ("VERCEL_GIT_COMMIT_SHA", " "),
      ("GIT_HASH", "h"),
    ]);
    assert_eq!(
      resolve_external_deployment_id(&ExternalDeploymentId::Unset, None, ci),
      None
    );
    let ci_on = env(&[
      ("GITHUB_SHA", "g"),
      ("VERCEL_GIT_COMMIT_SHA", " "),
      ("TRIGGER_AUTOMATIC_SKEW_VERSION_PROTECTION", " TRUE "),
    ]);
    assert_eq!(
      resolve_external_deployment_id(&ExternalDeploymentId::Unset, None, ci_on),
      Some("g".into())
    );
    // From options JSON: explicit null opts out, the client value is used otherwise.
    let o = CreateSessionOptions::from_json(
      br#"{"agentId":"a","clientExternalDeploymentId":"cl"}"#,
      |_| None,
    )
    .unwrap();
    assert_eq!(o.external_deployment_id.as_deref(), Some("cl"));
    let o = CreateSessionOptions::from_json(
      br#"{"agentId":"a","clientExternalDeploymentId":"cl","triggerConfig":{"externalDeploymentId":null}}"#,
      |_| None,
    )
    .unwrap();
    assert_eq!(o.external_deployment_id, None);
  }

  #[test]
  fn detached_start_head_start_body() {
    let r = HeadStartRequest::detached(
      "c",
      br#"[{"id":"u1","role":"user","parts":[]}]"#,
      Some(br#"{"u":1}"#),
    )
    .unwrap();
    let got = body(
      &r,
      &opts(r#"{"agentId":"a","triggerConfig":{"basePayload":{"trigger":"z","k":1}}}"#),
    );
    assert_eq!(
      got,
      concat!(
        r#"{"type":"chat.agent","externalId":"c","taskIdentifier":"a","triggerConfig":{"basePayload":{"trigger":"handover-prepare","k":1,"#,
        r#""chatId":"c","headStartMessages":[{"id":"u1","role":"user","parts":[]}],"metadata":{"u":1},"idleTimeoutInSeconds":60},"#,
        r#""tags":["chat:c"],"idleTimeoutInSeconds":60}}"#
      )
    );
  }

  #[test]
  fn preload_body() {
    let client_data: Box<RawValue> = serde_json::from_str(r#"{"userId":"u"}"#).unwrap();
    let metadata: Box<RawValue> = serde_json::from_str(r#"{"plan":"pro"}"#).unwrap();
    let o = opts(
      r#"{"agentId":"a","tags":["s"],"triggerConfig":{"basePayload":{"messages":[1],"x":true},"machine":"micro"}}"#,
    );
    let payload = SessionPayload::Preload {
      chat_id: "c",
      client_data_json: Some(&client_data),
      metadata_json: Some(&metadata),
    };
    assert_eq!(payload.trigger(), SessionTrigger::Preload);
    let got = String::from_utf8(create_session_body(payload, &o).unwrap()).unwrap();
    assert_eq!(
      got,
      concat!(
        r#"{"type":"chat.agent","externalId":"c","taskIdentifier":"a","triggerConfig":{"basePayload":{"messages":[1],"trigger":"preload","x":true,"#,
        r#""metadata":{"userId":"u"},"chatId":"c"},"machine":"micro","tags":["chat:c"]},"metadata":{"plan":"pro"},"tags":["s"]}"#
      )
    );
    let bare = SessionPayload::Preload {
      chat_id: "c",
      client_data_json: None,
      metadata_json: None,
    };
    let got = String::from_utf8(
      create_session_body(bare, &opts(r#"{"agentId":"a","idleTimeoutInSeconds":5}"#)).unwrap(),
    )
    .unwrap();
    assert_eq!(
      got,
      r#"{"type":"chat.agent","externalId":"c","taskIdentifier":"a","triggerConfig":{"basePayload":{"messages":[],"trigger":"preload","chatId":"c"},"tags":["chat:c"],"idleTimeoutInSeconds":5}}"#
    );
  }

  #[test]
  fn messages_are_copied_verbatim_when_canonical() {
    let messages = r#"[{"id":"u1","role":"user","parts":[{"type":"text","text":"\"quoted\" \\ é 😀 LS \u001f"}],"metadata":{"n":1.5e-7}}]"#
      .replace("LS", "\u{2028}");
    let r = req(&format!(
      r#"{{"chatId":"c","headStartMessages":{messages}}}"#
    ));
    assert!(body(&r, &opts(r#"{"agentId":"a"}"#))
      .contains(&format!(r#""headStartMessages":{messages},"#)));
  }
}
