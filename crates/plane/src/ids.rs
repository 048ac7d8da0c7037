//! Tokens and clocks in the shapes the real services use. Random ids (`alnum`, `nanoid`) come
//! from the core's one generator, [`chat_headstart_core::wire::ids`].

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use chat_headstart_core::wire::ids::{alnum, nanoid};

pub fn now_ms() -> u64 {
  SystemTime::now()
    .duration_since(UNIX_EPOCH)
    .map(|d| d.as_millis() as u64)
    .unwrap_or(0)
}

/// Session-scoped public access token. Shaped like the real JWT (header.payload.signature,
/// base64url) so clients that peek at `exp`/`scopes` find them; the signature is random.
pub fn public_access_token(external_id: &str, run_id: &str) -> String {
  let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
  let now = now_ms() / 1000;
  let header = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
  let payload = serde_json::json!({
    "sub": "local-plane",
    "pub": true,
    "scopes": [
      format!("read:sessions:{external_id}"),
      format!("write:sessions:{external_id}"),
      format!("read:runs:{run_id}"),
    ],
    "iat": now,
    "exp": now + 3600,
    "jti": nanoid(12),
  });
  let payload = b64.encode(payload.to_string());
  let signature = b64.encode(alnum(32));
  format!("{header}.{payload}.{signature}")
}

/// ISO-8601 UTC with milliseconds, as JavaScript's `Date#toISOString`.
pub fn iso8601(ms: u64) -> String {
  let secs = ms / 1000;
  let days = (secs / 86_400) as i64;
  let rem = secs % 86_400;
  let (y, m, d) = civil_from_days(days);
  format!(
    "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
    rem / 3600,
    (rem % 3600) / 60,
    rem % 60,
    ms % 1000
  )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
  let z = z + 719_468;
  let era = z.div_euclid(146_097);
  let doe = z.rem_euclid(146_097);
  let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
  let y = yoe + era * 400;
  let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  let mp = (5 * doy + 2) / 153;
  let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
  let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
  (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn iso8601_matches_javascript() {
    assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
    // new Date(1795290019416).toISOString()
    assert_eq!(iso8601(1_795_290_019_416), "2026-11-21T19:40:19.416Z");
    assert_eq!(iso8601(951_782_400_123), "2000-02-29T00:00:00.123Z");
  }

  #[test]
  fn token_shape() {
    let token = public_access_token("chat-1", "run_1");
    assert_eq!(token.split('.').count(), 3);
  }
}
