//! Fault and latency injection, replaceable at any time from JS (`plane.setFaults(…)`).
//!
//! Every fault with a `times` count fires that many times and then disarms itself, arming its
//! `then` fault if it has one (so a test can script "fail once this way, then that way" without
//! racing the client); without `times` it fires on every matching request until replaced.

use std::sync::Mutex;

use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Faults {
  /// Added before every control-plane (Trigger API) response, to emulate the cloud round trip.
  pub latency_ms: u64,
  /// Added before every S2S ack frame (after the records are stored), to emulate S2's own round
  /// trip: a writer then has records arriving while a batch waits for its ack.
  pub s2_ack_latency_ms: u64,
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
  /// Armed when `times` runs out.
  pub then: Option<Box<CreateSessionFault>>,
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
  /// Armed when `times` runs out.
  pub then: Option<Box<AppendFault>>,
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
  /// Armed when `times` runs out.
  pub then: Option<Box<SseFault>>,
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
  /// Armed when `times` runs out.
  pub then: Option<Box<S2AppendFault>>,
}

/// Shared, mutable fault set.
#[derive(Default)]
pub struct FaultState {
  faults: Mutex<Faults>,
}

/// A fault that fires `times` times (or forever) and may arm a follow-up when it runs out.
trait Countdown: Clone {
  fn times(&mut self) -> &mut Option<u32>;
  fn then(&mut self) -> Option<Box<Self>>;
}

macro_rules! countdown {
  ($($fault:ty),*) => {$(
    impl Countdown for $fault {
      fn times(&mut self) -> &mut Option<u32> {
        &mut self.times
      }
      fn then(&mut self) -> Option<Box<Self>> {
        self.then.take()
      }
    }
  )*};
}
countdown!(CreateSessionFault, AppendFault, SseFault, S2AppendFault);

/// Takes one shot of an optional fault; when its `times` runs out it is replaced by its `then`.
fn take<T: Countdown>(slot: &mut Option<T>) -> Option<T> {
  let fault = slot.as_mut()?;
  match *fault.times() {
    Some(0) => {
      *slot = fault.then().map(|next| *next);
      take(slot)
    }
    Some(n) => {
      let mut shot = fault.clone();
      let _ = shot.then();
      *fault.times() = Some(n - 1);
      if n == 1 {
        *slot = fault.then().map(|next| *next);
      }
      Some(shot)
    }
    None => Some(fault.clone()),
  }
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

  pub fn s2_ack_latency_ms(&self) -> u64 {
    self.lock().s2_ack_latency_ms
  }

  pub fn sse_batch_records(&self) -> Option<usize> {
    self.lock().sse_batch_records
  }

  pub fn take_create_session(&self) -> Option<CreateSessionFault> {
    take(&mut self.lock().create_session)
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
    take(&mut faults.in_append)
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
    take(&mut faults.sse)
  }

  pub fn take_s2_append(&self) -> Option<S2AppendFault> {
    take(&mut self.lock().s2_append)
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
  fn then_is_armed_when_times_runs_out() {
    let faults: Faults = serde_json::from_str(
      r#"{"s2Append":{"terminalStatus":503,"afterFrames":1,"times":1,"then":{"status":500,"times":2}}}"#,
    )
    .unwrap();
    let state = FaultState::new(faults);
    let first = state.take_s2_append().unwrap();
    assert_eq!((first.terminal_status, first.after_frames), (Some(503), 1));
    assert!(first.then.is_none(), "a shot does not carry its follow-up");
    assert_eq!(state.take_s2_append().unwrap().status, Some(500));
    assert_eq!(state.take_s2_append().unwrap().status, Some(500));
    assert!(state.take_s2_append().is_none());
  }

  #[test]
  fn then_follows_a_zero_times_fault_at_once() {
    let faults: Faults =
      serde_json::from_str(r#"{"createSession":{"status":500,"times":0,"then":{"status":429}}}"#)
        .unwrap();
    let state = FaultState::new(faults);
    assert_eq!(state.take_create_session().unwrap().status, Some(429));
    assert_eq!(state.take_create_session().unwrap().status, Some(429));
  }

  #[test]
  fn unknown_knobs_are_rejected() {
    assert!(serde_json::from_str::<Faults>(r#"{"latencyMS":1}"#).is_err());
  }
}
