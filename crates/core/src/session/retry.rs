//! Retry schedules of the reference clients, as pure functions so they can be unit-tested
//! without a clock: the Trigger API client (`zodfetch`, docs/protocol.md §2.2), the S2 append
//! session (§3.6) and the `session.out` SSE subscription (§5.5); and [`run`], the one loop that
//! the API client and the S2 writer drive their attempts with.

use http::HeaderMap;
use rand::Rng;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// zodfetch: 5 attempts in total.
pub const API_MAX_ATTEMPTS: u32 = 5;

/// Delay before attempt `failed_attempt + 1` (`failed_attempt` is 1-based):
/// `min(30000, 1000·1.6^(n−1))` ms → 1000, 1600, 2560, 4096.
pub fn api_backoff(failed_attempt: u32) -> Duration {
  let ms = 1000.0 * 1.6f64.powi(failed_attempt.saturating_sub(1) as i32);
  Duration::from_millis(ms.min(30_000.0).round() as u64)
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
  After(Duration),
  GiveUp,
}

/// Decision for a non-2xx response (docs/protocol.md §2.2, in the reference's order).
pub fn api_retry_for_status(status: u16, headers: &HeaderMap, failed_attempt: u32) -> Retry {
  if failed_attempt >= API_MAX_ATTEMPTS {
    return Retry::GiveUp;
  }
  match headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
    Some("true") => return Retry::After(api_backoff(failed_attempt)),
    Some("false") => return Retry::GiveUp,
    _ => {}
  }
  if status == 408 || status == 409 || status >= 500 {
    return Retry::After(api_backoff(failed_attempt));
  }
  if status == 429 {
    let reset = headers
      .get("x-ratelimit-reset")
      .and_then(|v| v.to_str().ok())
      .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(reset_ms) = reset {
      let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
      let jitter = rand::rng().random_range(0..1000u64);
      if reset_ms + jitter > now {
        return Retry::After(Duration::from_millis(reset_ms + jitter - now));
      }
    }
    return Retry::After(api_backoff(failed_attempt));
  }
  Retry::GiveUp
}

/// One attempt's future; it may borrow the state [`run`] lends it. Boxed so that the loop's own
/// future is `Send` for any attempt (a borrowing async closure cannot promise that today).
pub type AttemptFuture<'a, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>;

/// Runs `attempt` (with `state` and its 1-based number) until it succeeds or `decide`, shown each
/// failure and the number of the attempt that failed, gives up; sleeps the decided delay between
/// attempts. Returns the success or the failure given up on.
pub async fn run<S, T, E>(
  state: &mut S,
  mut attempt: impl for<'a> FnMut(&'a mut S, u32) -> AttemptFuture<'a, T, E>,
  mut decide: impl FnMut(&E, u32) -> Retry,
) -> Result<T, E> {
  let mut number = 1u32;
  loop {
    let failure = match attempt(state, number).await {
      Ok(value) => return Ok(value),
      Err(failure) => failure,
    };
    match decide(&failure, number) {
      Retry::GiveUp => return Err(failure),
      Retry::After(delay) => tokio::time::sleep(delay).await,
    }
    number += 1;
  }
}

/// Network errors retry on the same schedule.
pub fn api_retry_for_network_error(failed_attempt: u32) -> Retry {
  if failed_attempt >= API_MAX_ATTEMPTS {
    Retry::GiveUp
  } else {
    Retry::After(api_backoff(failed_attempt))
  }
}

/// S2 append session: 3 attempts in total, counted across recoveries.
pub const S2_MAX_ATTEMPTS: u32 = 3;

/// S2 SDK backoff for retry `k` (0-based): base `min(100·2^k, 1000)` ms plus uniform jitter in
/// `[0, base)`.
pub fn s2_backoff(k: u32) -> Duration {
  let base = (100u64 << k.min(10)).min(1000);
  Duration::from_millis(base + rand::rng().random_range(0..base))
}

/// Statuses the S2 SDK retries (`transaction_conflict` 409 is handled by the caller).
pub fn s2_status_is_retryable(status: u16) -> bool {
  matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// SSE subscription: `min(100·2^(n−1), 5000)` ms × uniform `[0.5, 1.0]` for retry `n` (1-based).
pub fn sse_backoff(n: u32) -> Duration {
  let base = (100u64 << n.saturating_sub(1).min(10)).min(5000) as f64;
  let factor = rand::rng().random_range(0.5..=1.0);
  Duration::from_millis((base * factor).round() as u64)
}

/// Statuses that end the subscription instead of retrying (§5.5).
pub fn sse_status_is_terminal(status: u16) -> bool {
  matches!(status, 400 | 401 | 403 | 404 | 409 | 410 | 422)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
      h.insert(*k, v.parse().unwrap());
    }
    h
  }

  #[test]
  fn zodfetch_schedule_is_1000_1600_2560_4096() {
    let d: Vec<u64> = (1..=4).map(|n| api_backoff(n).as_millis() as u64).collect();
    assert_eq!(d, vec![1000, 1600, 2560, 4096]);
    assert_eq!(api_backoff(20), Duration::from_secs(30));
  }

  #[test]
  fn retry_decisions_follow_the_reference_order() {
    let none = HeaderMap::new();
    assert_eq!(
      api_retry_for_status(500, &none, 1),
      Retry::After(Duration::from_millis(1000))
    );
    assert_eq!(
      api_retry_for_status(409, &none, 2),
      Retry::After(Duration::from_millis(1600))
    );
    assert_eq!(
      api_retry_for_status(408, &none, 3),
      Retry::After(Duration::from_millis(2560))
    );
    assert_eq!(api_retry_for_status(503, &none, 5), Retry::GiveUp);
    for s in [400, 401, 403, 404, 413, 422] {
      assert_eq!(api_retry_for_status(s, &none, 1), Retry::GiveUp, "{s}");
    }
    assert_eq!(
      api_retry_for_status(503, &headers(&[("x-should-retry", "false")]), 1),
      Retry::GiveUp
    );
    assert_eq!(
      api_retry_for_status(422, &headers(&[("x-should-retry", "true")]), 1),
      Retry::After(Duration::from_millis(1000))
    );
    assert_eq!(
      api_retry_for_status(429, &none, 1),
      Retry::After(Duration::from_millis(1000))
    );
    let soon = SystemTime::now()
      .duration_since(UNIX_EPOCH)
      .unwrap()
      .as_millis() as u64
      + 3000;
    match api_retry_for_status(
      429,
      &headers(&[("x-ratelimit-reset", &soon.to_string())]),
      1,
    ) {
      Retry::After(d) => assert!(
        d >= Duration::from_millis(2900) && d <= Duration::from_millis(4100),
        "{d:?}"
      ),
      other => panic!("{other:?}"),
    }
    assert_eq!(
      api_retry_for_network_error(4),
      Retry::After(Duration::from_millis(4096))
    );
    assert_eq!(api_retry_for_network_error(5), Retry::GiveUp);
  }

  #[tokio::test(start_paused = true)]
  async fn run_retries_with_the_decided_delays_until_success() {
    let started = tokio::time::Instant::now();
    let mut seen = Vec::new();
    let result: Result<&str, u32> = run(
      &mut seen,
      |seen, n| {
        Box::pin(async move {
          seen.push((n, started.elapsed().as_millis()));
          if n < 3 {
            Err(n * 10)
          } else {
            Ok("done")
          }
        })
      },
      |failure, n| {
        assert_eq!(*failure, n * 10);
        Retry::After(Duration::from_millis(100 * u64::from(n)))
      },
    )
    .await;
    assert_eq!(result, Ok("done"));
    assert_eq!(seen, [(1, 0), (2, 100), (3, 300)]);
  }

  #[tokio::test(start_paused = true)]
  async fn run_returns_the_failure_it_gives_up_on() {
    let mut calls = 0;
    let result: Result<(), u32> = run(
      &mut calls,
      |calls, n| {
        Box::pin(async move {
          *calls += 1;
          Err(n)
        })
      },
      |_, n| {
        if n < 4 {
          Retry::After(Duration::from_millis(1))
        } else {
          Retry::GiveUp
        }
      },
    )
    .await;
    assert_eq!(result, Err(4));
    assert_eq!(calls, 4);
  }

  #[test]
  fn s2_and_sse_backoffs_stay_in_range() {
    for _ in 0..200 {
      let d0 = s2_backoff(0).as_millis();
      assert!((100..200).contains(&d0));
      let d5 = s2_backoff(5).as_millis();
      assert!((1000..2000).contains(&d5));
      let s1 = sse_backoff(1).as_millis();
      assert!((50..=100).contains(&s1));
      let s9 = sse_backoff(9).as_millis();
      assert!((2500..=5000).contains(&s9));
    }
    assert!(sse_status_is_terminal(404) && !sse_status_is_terminal(503));
    assert!(s2_status_is_retryable(503) && !s2_status_is_retryable(400));
  }
}
