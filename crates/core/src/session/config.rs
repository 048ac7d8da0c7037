//! Resolved Trigger.dev client configuration (docs/protocol.md §2.1). Resolution of options vs
//! environment happens in JS (where the reference does it); Rust receives the result once per
//! handler and never prints the secret key.

use std::fmt;

/// SDK version the reference sends in `trigger-version`.
pub const TRIGGER_SDK_VERSION: &str = "4.8.3";
/// API version the reference sends in `x-trigger-api-version`.
pub const TRIGGER_API_VERSION: &str = "2025-07-16";

#[derive(Clone)]
pub struct ApiConfig {
  /// Base URL without a trailing slash, e.g. `https://api.trigger.dev`.
  pub base_url: String,
  /// Secret key (or access token) sent as `Authorization: Bearer …`.
  pub secret_key: String,
  /// `x-trigger-branch` value when a preview branch resolved.
  pub branch: Option<String>,
  /// `x-trigger-realtime-streams-version` (`v2` unless the v1 flag is set).
  pub realtime_streams_version: String,
  /// Extra PEM roots trusted in addition to the webpki roots (tests, private CAs).
  pub extra_ca_pem: Option<Vec<u8>>,
}

impl ApiConfig {
  pub fn new(base_url: &str, secret_key: &str) -> Self {
    ApiConfig {
      base_url: base_url.trim_end_matches('/').to_string(),
      secret_key: secret_key.to_string(),
      branch: None,
      realtime_streams_version: "v2".to_string(),
      extra_ca_pem: None,
    }
  }
}

// The secret key must never reach a log line, not even through `{:?}`.
impl fmt::Debug for ApiConfig {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.debug_struct("ApiConfig")
      .field("base_url", &self.base_url)
      .field("secret_key", &"<redacted>")
      .field("branch", &self.branch)
      .field("realtime_streams_version", &self.realtime_streams_version)
      .finish()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn debug_output_redacts_the_secret_key() {
    let cfg = ApiConfig::new("http://x/", "tr_dev_SECRET");
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("tr_dev_SECRET"));
    assert_eq!(cfg.base_url, "http://x");
  }
}
