//! Fault and latency injection, replaceable at any time from JS (`plane.setFaults(…)`).
//!
//! Every fault with a `times` count fires that many times and then disarms itself; without
//! `times` it fires on every matching request until replaced.

use std::sync::Mutex;

use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Faults {
  /// Added before every control-plane (Trigger API) response, to emulate the cloud round trip.
  pub latency_ms: u64,
  pub create_session: Option<CreateSessionFault>,
  pub in_append: Option<AppendFault>,
  pub sse: Option<SseFault>,
  pub s2_append: Option<S2AppendFault>,
  /// At most this many records per SSE batch event (session SSE route), to exercise readers
  /// that see a turn's records spread over several batches.
  pub sse_batch_records: Option<usize>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CreateSessionFault {
  /// Answer with this status and `{"error": message}` instead of creating the session.
  pub status: Option<u16>,
  pub message: Option<String>,
  /// Sent as the `x-should-retry` header with the failure.
  pub should_retry: Option<bool>,
  /// Delay before answering (success or failure).
  pub delay_ms: u64,
  /// Report `pendingVersion: true` on success.
  pub pending_version: bool,
  pub times: Option<u32>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AppendFault {
  /// `in` (default) or `out`: which `…/{io}/append` route fails.
  pub io: Option<String>,
  pub status: u16,
  pub message: Option<String>,
  pub should_retry: Option<bool>,
  pub times: Option<u32>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SseFault {
  /// `out` (default) or `in`.
  pub io: Option<String>,
  /// Answer the SSE request with this status and `{"error": …}`.
  pub status: Option<u16>,
  /// Send `event: error` with this data after `afterBatches` batches, then close (no `[DONE]`).
  pub error_event: Option<String>,
  /// Abort the connection (no `[DONE]`, no chunked terminator) after `afterBatches` batches.
  pub early_close: bool,
  pub after_batches: u32,
  pub times: Option<u32>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct S2AppendFault {
  /// Answer the append (S2S session or unary) with this HTTP status before any frame.
  pub status: Option<u16>,
  /// Or: answer with a terminal S2S frame carrying this status (unary appends get the status).
  pub terminal_status: Option<u16>,
  pub code: Option<String>,
  pub message: Option<String>,
  /// Number of frames acked normally before the terminal frame.
  pub after_frames: u32,
  pub times: Option<u32>,
}

/// Shared, mutable fault set.
#[derive(Default)]
pub struct FaultState {
  faults: Mutex<Faults>,
}

/// Takes one shot of an optional fault, disarming it when its `times` runs out.
fn take<T: Clone>(slot: &mut Option<T>, times: impl Fn(&mut T) -> &mut Option<u32>) -> Option<T> {
  let fault = slot.as_mut()?;
  let shot = fault.clone();
  match times(fault) {
    Some(0) => {
      *slot = None;
      return None;
    }
    Some(n) => {
      *n -= 1;
      if *n == 0 {
        *slot = None;
      }
    }
    None => {}
  }
  Some(shot)
}

impl FaultState {
  pub fn new(faults: Faults) -> Self {
    FaultState {
      faults: Mutex::new(faults),
    }
  }

  fn lock(&self) -> std::sync::MutexGuard<'_, Faults> {
    self.faults.lock().unwrap_or_else(|e| e.into_inner())
  }

  pub fn replace(&self, faults: Faults) {
    *self.lock() = faults;
  }

  pub fn latency_ms(&self) -> u64 {
    self.lock().latency_ms
  }

  pub fn sse_batch_records(&self) -> Option<usize> {
    self.lock().sse_batch_records
  }

  pub fn take_create_session(&self) -> Option<CreateSessionFault> {
    take(&mut self.lock().create_session, |f| &mut f.times)
  }

  pub fn take_append(&self, io: &str) -> Option<AppendFault> {
    let mut faults = self.lock();
    let matches = faults
      .in_append
      .as_ref()
      .is_some_and(|f| f.io.as_deref().unwrap_or("in") == io);
    if !matches {
      return None;
    }
    take(&mut faults.in_append, |f| &mut f.times)
  }

  pub fn take_sse(&self, io: &str) -> Option<SseFault> {
    let mut faults = self.lock();
    let matches = faults
      .sse
      .as_ref()
      .is_some_and(|f| f.io.as_deref().unwrap_or("out") == io);
    if !matches {
      return None;
    }
    take(&mut faults.sse, |f| &mut f.times)
  }

  pub fn take_s2_append(&self) -> Option<S2AppendFault> {
    take(&mut self.lock().s2_append, |f| &mut f.times)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn times_counts_down_and_disarms() {
    let state = FaultState::new(Faults {
      create_session: Some(CreateSessionFault {
        status: Some(500),
        times: Some(2),
        ..Default::default()
      }),
      ..Default::default()
    });
    assert!(state.take_create_session().is_some());
    assert!(state.take_create_session().is_some());
    assert!(state.take_create_session().is_none());
  }

  #[test]
  fn faults_without_times_persist_and_io_filters() {
    let faults: Faults =
      serde_json::from_str(r#"{"inAppend":{"status":413},"sse":{"io":"in","status":404}}"#)
        .unwrap();
    let state = FaultState::new(faults);
    assert!(state.take_append("in").is_some());
    assert!(state.take_append("in").is_some());
    assert!(state.take_append("out").is_none());
    assert!(state.take_sse("out").is_none());
    assert_eq!(state.take_sse("in").unwrap().status, Some(404));
  }

  #[test]
  fn unknown_knobs_are_rejected() {
    assert!(serde_json::from_str::<Faults>(r#"{"latencyMS":1}"#).is_err());
  }
}
