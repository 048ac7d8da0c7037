//! What one turn did, measured where it happened: the turn (`turn`) fills a [`TurnReport`] as
//! it goes and hands it to its `TurnSink` with the end notification (and the handover part with
//! the dispatch notification), which already cross into JS; `lib/chat.js` turns it into the
//! `chat-headstart:turn` / `chat-headstart:handover` diagnostics_channel payloads. The same
//! numbers are the fields of the turn's `tracing` events. Times are ms since `Turn::start`.
//! Nothing here holds a token or key: ids, counts, statuses, durations and error messages of
//! our own making or the API's `error` text.

pub use crate::session::api::CallReport;
use crate::session::s2::WriterStats;
use serde::Serialize;

/// How the turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
  /// The agent's turn-complete reached the response.
  Complete,
  /// Handed over with no phase 2 here: a detached turn (`chat.startHeadStart`), or the caller
  /// dispatched the handover itself.
  Dispatched,
  /// `handover-skip` was sent: step 1 aborted, `run()` threw, or the handover failed.
  Skipped,
  /// The browser went away.
  Cancelled,
  /// Phase 2 saw no agent output for `handoverTimeoutInSeconds`.
  Timeout,
  /// createSession failed, or the phase-2 read failed terminally.
  #[default]
  Failed,
}

impl Outcome {
  pub fn as_str(self) -> &'static str {
    match self {
      Outcome::Complete => "complete",
      Outcome::Dispatched => "dispatched",
      Outcome::Skipped => "skipped",
      Outcome::Cancelled => "cancelled",
      Outcome::Timeout => "timeout",
      Outcome::Failed => "failed",
    }
  }
}

/// The step-1 tee to `session.out`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TeeReport {
  #[serde(flatten)]
  pub stats: WriterStats,
  pub last_acked_seq: Option<u64>,
  pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
  Handover,
  Skip,
}

/// Why a skip was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SkipReason {
  /// `finishReason` / `response` rejected: browser abort, idle timeout, provider abort.
  Aborted,
  /// `run()` threw.
  RunFailed,
  /// Step 1's messages could not be turned into a handover record.
  BuildFailed,
  /// The handover append failed (the skip is the fallback).
  AppendFailed,
}

impl SkipReason {
  pub fn as_str(self) -> &'static str {
    match self {
      SkipReason::Aborted => "aborted",
      SkipReason::RunFailed => "runFailed",
      SkipReason::BuildFailed => "buildFailed",
      SkipReason::AppendFailed => "appendFailed",
    }
  }
}

/// The handover decision and its dispatch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HandoverReport {
  pub decision: Decision,
  /// `handover` only: false when the agent runs step 1's tool calls.
  pub is_final: Option<bool>,
  /// Step 1's `finishReason`, when it finished.
  pub finish_reason: Option<String>,
  pub reason: Option<SkipReason>,
  /// When step 1 ended (the decision's input), ms since the turn began.
  pub step1_end_ms: f64,
  /// When the append was answered (accepted, or failed for good), ms since the turn began.
  pub handover_ms: f64,
  /// `handover_ms − step1_end_ms`: the S2 flush of the tee, then the `session.in` append.
  pub duration_ms: f64,
  /// The append was accepted.
  pub ok: bool,
}

/// Phase 2: the agent's output spliced into the response.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Phase2Report {
  /// Agent chunks forwarded to the browser.
  pub records: u64,
  /// Response bytes phase 2 produced (keep-alives included).
  pub bytes: u64,
  /// Subscriptions opened again after the first (reconnects after errors, long-poll renewals).
  pub reconnects: u32,
}

/// Points in the turn, ms since it began in Rust (`Turn::start`); absent when never reached.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
  pub create_session_ms: Option<f64>,
  pub step1_end_ms: Option<f64>,
  pub handover_ms: Option<f64>,
  pub first_agent_chunk_ms: Option<f64>,
  pub turn_complete_ms: Option<f64>,
  pub end_ms: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnReport {
  pub outcome: Outcome,
  /// What ended a failed / timed-out turn (no secrets: our message or the API's `error`).
  pub error: Option<String>,
  pub create_session: Option<CallReport>,
  pub tee: Option<TeeReport>,
  pub handover: Option<HandoverReport>,
  pub phase2: Option<Phase2Report>,
  pub timings: Timings,
}

impl TurnReport {
  pub fn to_json(&self) -> String {
    serde_json::to_string(self).expect("a report serializes")
  }
}

impl HandoverReport {
  pub fn to_json(&self) -> String {
    serde_json::to_string(self).expect("a report serializes")
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn reports_serialize_in_camel_case() {
    let report = TurnReport {
      outcome: Outcome::Complete,
      create_session: Some(CallReport {
        attempts: 2,
        status: Some(200),
        duration_ms: 1.5,
      }),
      tee: Some(TeeReport {
        stats: WriterStats {
          records: 3,
          ..Default::default()
        },
        last_acked_seq: Some(2),
        error: None,
      }),
      handover: Some(HandoverReport {
        decision: Decision::Skip,
        is_final: None,
        finish_reason: None,
        reason: Some(SkipReason::RunFailed),
        step1_end_ms: 4.0,
        handover_ms: 5.0,
        duration_ms: 1.0,
        ok: true,
      }),
      timings: Timings {
        end_ms: 9.0,
        ..Default::default()
      },
      ..Default::default()
    };
    let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(v["outcome"], "complete");
    assert_eq!(v["createSession"]["attempts"], 2);
    assert_eq!(v["tee"]["records"], 3);
    assert_eq!(v["tee"]["lastAckedSeq"], 2);
    assert_eq!(v["handover"]["decision"], "skip");
    assert_eq!(v["handover"]["reason"], "runFailed");
    assert_eq!(v["timings"]["endMs"], 9.0);
    assert!(v["timings"]["handoverMs"].is_null());
    assert_eq!(Outcome::Timeout.as_str(), "timeout");
  }
}
