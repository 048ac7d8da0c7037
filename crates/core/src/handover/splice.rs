//! Phase 2 (docs/protocol.md §6.4): turns the S2 `event: batch` payloads of `session.out` into the
//! browser's SSE bytes. Agent data records are forwarded as the raw bytes of the envelope's
//! `data` (never re-encoded); the agent's `turn-complete` control record becomes
//! `{"type":"trigger:turn-complete"}`; the end adds `{"type":"trigger:session-state",…}`.
//! Records whose envelope id was already delivered (S2 at-least-once retries, or our own
//! step-1 records replayed after a writer failure, docs/protocol.md §3.6) are dropped.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};

/// Reference dedupe window for agent envelope ids.
pub const DEDUPE_WINDOW: usize = 5000;

pub const TURN_COMPLETE_FRAME: &[u8] = b"data: {\"type\":\"trigger:turn-complete\"}\n\n";
pub const KEEP_ALIVE_FRAME: &[u8] = b": keep-alive\n\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpliceStep {
  Continue,
  /// The agent's turn-complete arrived: the turn is over (the rest of the batch is ignored).
  TurnComplete,
}

#[derive(Deserialize)]
struct Batch<'a> {
  #[serde(borrow)]
  records: Vec<Record<'a>>,
}

#[derive(Deserialize)]
struct Record<'a> {
  seq_num: u64,
  #[serde(default, borrow)]
  headers: Option<Vec<(Cow<'a, str>, Cow<'a, str>)>>,
  #[serde(default, borrow)]
  body: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
  #[serde(default, borrow)]
  data: Option<&'a RawValue>,
  #[serde(default, borrow)]
  id: Option<Cow<'a, str>>,
}

#[derive(Default)]
pub struct Splicer {
  /// Envelope ids of the step-1 records this handler wrote (already on the browser).
  own_ids: HashSet<String>,
  window: VecDeque<String>,
  window_set: HashSet<String>,
  latest_event_id: Option<u64>,
  /// Last seq of any record seen (command records and duplicates included): the reconnect
  /// cursor of the subscription.
  cursor: Option<u64>,
  /// Records (data or control) seen from the agent since the last `take_progress`.
  progressed: bool,
  /// Agent chunks written to the browser.
  forwarded: u64,
}

/// Appends one `data: <json>\n\n` frame.
pub fn write_frame(out: &mut Vec<u8>, json: &[u8]) {
  out.extend_from_slice(b"data: ");
  out.extend_from_slice(json);
  out.extend_from_slice(b"\n\n");
}

/// An `error` UI chunk naming `message`.
pub fn write_error_frame(out: &mut Vec<u8>, message: &str) {
  let json = format!(
    "{{\"type\":\"error\",\"errorText\":{}}}",
    serde_json::to_string(message).expect("string serializes")
  );
  write_frame(out, json.as_bytes());
}

impl Splicer {
  pub fn new(own_ids: HashSet<String>) -> Self {
    Splicer {
      own_ids,
      ..Default::default()
    }
  }

  pub fn latest_event_id(&self) -> Option<u64> {
    self.latest_event_id
  }

  pub fn cursor(&self) -> Option<u64> {
    self.cursor
  }

  /// Agent chunks written so far (the turn's report).
  pub fn forwarded(&self) -> u64 {
    self.forwarded
  }

  /// Whether any agent record arrived since the last call (feeds the handover timeout).
  pub fn take_progress(&mut self) -> bool {
    std::mem::take(&mut self.progressed)
  }

  fn seen_before(&mut self, id: &str) -> bool {
    if self.own_ids.contains(id) || self.window_set.contains(id) {
      return true;
    }
    if self.window.len() == DEDUPE_WINDOW {
      if let Some(old) = self.window.pop_front() {
        self.window_set.remove(&old);
      }
    }
    self.window.push_back(id.to_string());
    self.window_set.insert(id.to_string());
    false
  }

  /// Processes one `event: batch` payload, appending browser frames to `out`.
  pub fn on_batch(&mut self, data: &str, out: &mut Vec<u8>) -> Result<SpliceStep, String> {
    let batch: Batch =
      serde_json::from_str(data).map_err(|e| format!("undecodable session.out batch: {e}"))?;
    for record in batch.records {
      // S2 seq numbers only grow: a record at or below the cursor was delivered before (a
      // subscription that resumed overlapping the last one). Forwarding it again would send an
      // id-less chunk twice, and its seq would move lastEventId backwards.
      if self.cursor.is_some_and(|cursor| record.seq_num <= cursor) {
        continue;
      }
      self.cursor = Some(record.seq_num);
      let headers = record.headers.as_deref().unwrap_or(&[]);
      // S2 command record (trim/fence): one header with an empty name. Not a part.
      if headers.len() == 1 && headers[0].0.is_empty() {
        continue;
      }
      if let Some((_, subtype)) = headers.iter().find(|(name, _)| name == "trigger-control") {
        self.latest_event_id = Some(record.seq_num);
        self.progressed = true;
        if subtype == "turn-complete" {
          out.extend_from_slice(TURN_COMPLETE_FRAME);
          return Ok(SpliceStep::TurnComplete);
        }
        // upgrade-required / pending-version / session-closed: not forwarded, not terminal.
        continue;
      }
      let body = record.body.as_deref().unwrap_or("");
      let envelope = serde_json::from_str::<Envelope>(body).ok();
      if let Some(id) = envelope.as_ref().and_then(|e| e.id.as_deref()) {
        if self.seen_before(id) {
          continue;
        }
      }
      self.latest_event_id = Some(record.seq_num);
      self.progressed = true;
      // A record without a `data` chunk has nothing the browser could parse (the reference
      // would send the literal `data: undefined`); it still advances the cursor.
      let Some(chunk) = envelope.and_then(|e| e.data) else {
        continue;
      };
      self.forwarded += 1;
      let raw = chunk.get().as_bytes();
      if raw.contains(&b'\n') || raw.contains(&b'\r') {
        // Pretty-printed JSON would break SSE framing: compact it (rare, agents stringify).
        let value: serde_json::Value =
          serde_json::from_str(chunk.get()).map_err(|e| e.to_string())?;
        write_frame(out, value.to_string().as_bytes());
      } else {
        write_frame(out, raw);
      }
    }
    Ok(SpliceStep::Continue)
  }

  /// The closing `trigger:session-state` chunk, when any part was seen.
  pub fn write_session_state(&self, out: &mut Vec<u8>) {
    if let Some(seq) = self.latest_event_id {
      let json = format!("{{\"type\":\"trigger:session-state\",\"lastEventId\":\"{seq}\"}}");
      write_frame(out, json.as_bytes());
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn rec(seq: u64, chunk: &str, id: &str) -> String {
    let body = format!("{{\"data\":{chunk},\"id\":\"{id}\"}}");
    format!(
      "{{\"seq_num\":{seq},\"timestamp\":1,\"body\":{}}}",
      serde_json::to_string(&body).unwrap()
    )
  }

  fn control(seq: u64, subtype: &str) -> String {
    format!("{{\"seq_num\":{seq},\"timestamp\":1,\"headers\":[[\"trigger-control\",\"{subtype}\"],[\"session-in-event-id\",\"0\"]]}}")
  }

  fn batch(records: &[String]) -> String {
    format!(
      "{{\"records\":[{}],\"tail\":{{\"seq_num\":99,\"timestamp\":1}}}}",
      records.join(",")
    )
  }

  #[test]
  fn forwards_raw_data_and_synthesizes_the_trigger_chunks() {
    let mut s = Splicer::new(HashSet::new());
    let mut out = Vec::new();
    // Raw bytes survive untouched, including number formatting and unicode escapes.
    let b1 = batch(&[
      rec(10, r#"{"type":"start","messageId":"M"}"#, "a"),
      rec(
        11,
        r#"{"type":"data-x","data":{"n":1.50,"s":"\u00e9"}}"#,
        "b",
      ),
    ]);
    assert_eq!(s.on_batch(&b1, &mut out).unwrap(), SpliceStep::Continue);
    let b2 = batch(&[
      control(12, "upgrade-required"),
      rec(13, r#"{"type":"finish"}"#, "c"),
      control(14, "turn-complete"),
      rec(15, r#"{"type":"late"}"#, "d"),
    ]);
    assert_eq!(s.on_batch(&b2, &mut out).unwrap(), SpliceStep::TurnComplete);
    assert_eq!(s.forwarded(), 3);
    s.write_session_state(&mut out);
    assert_eq!(
      String::from_utf8(out).unwrap(),
      "data: {\"type\":\"start\",\"messageId\":\"M\"}\n\n\
       data: {\"type\":\"data-x\",\"data\":{\"n\":1.50,\"s\":\"\\u00e9\"}}\n\n\
       data: {\"type\":\"finish\"}\n\n\
       data: {\"type\":\"trigger:turn-complete\"}\n\n\
       data: {\"type\":\"trigger:session-state\",\"lastEventId\":\"14\"}\n\n"
    );
  }

  #[test]
  fn drops_duplicates_own_step1_ids_and_command_records() {
    let own: HashSet<String> = ["mine1".to_string()].into();
    let mut s = Splicer::new(own);
    let mut out = Vec::new();
    let trim =
      r#"{"seq_num":0,"timestamp":1,"headers":[["","trim"]],"body":"AAAAAAAAAAA="}"#.to_string();
    let b = batch(&[
      trim,
      rec(1, r#"{"type":"start-step"}"#, "mine1"),
      rec(2, r#"{"type":"text-start","id":"a"}"#, "x"),
      rec(3, r#"{"type":"text-start","id":"a"}"#, "x"),
    ]);
    s.on_batch(&b, &mut out).unwrap();
    assert_eq!(
      String::from_utf8(out.clone()).unwrap(),
      "data: {\"type\":\"text-start\",\"id\":\"a\"}\n\n"
    );
    assert_eq!(s.latest_event_id(), Some(2));
    assert!(s.take_progress());
    assert!(!s.take_progress());
  }

  #[test]
  fn no_session_state_without_records_and_bad_batches_error() {
    let s = Splicer::new(HashSet::new());
    let mut out = Vec::new();
    s.write_session_state(&mut out);
    assert!(out.is_empty());
    let mut s = Splicer::new(HashSet::new());
    assert!(s.on_batch("not json", &mut out).is_err());
    // A body that is not an envelope advances the cursor but produces no frame.
    s.on_batch(
      r#"{"records":[{"seq_num":4,"timestamp":1,"body":"garbage"}]}"#,
      &mut out,
    )
    .unwrap();
    assert!(out.is_empty());
    assert_eq!(s.latest_event_id(), Some(4));
  }

  #[test]
  fn dedupe_window_is_bounded() {
    let mut s = Splicer::new(HashSet::new());
    for i in 0..(DEDUPE_WINDOW + 10) {
      assert!(!s.seen_before(&format!("id{i}")));
    }
    assert_eq!(s.window.len(), DEDUPE_WINDOW);
    assert!(
      !s.seen_before("id0"),
      "evicted ids are forgotten like the reference's FIFO"
    );
    assert!(s.seen_before(&format!("id{}", DEDUPE_WINDOW + 5)));
  }

  /// Found by the `splice` fuzz target: a batch that delivers a range again (id-less chunks,
  /// a garbage record) duplicated chunks and moved lastEventId back.
  #[test]
  fn records_delivered_again_are_skipped_by_seq() {
    let mut s = Splicer::new(HashSet::new());
    let mut out = Vec::new();
    let plain = |seq: u64, delta: &str| {
      let body = format!("{{\"data\":{{\"type\":\"text-delta\",\"delta\":\"{delta}\"}}}}");
      format!(
        "{{\"seq_num\":{seq},\"timestamp\":1,\"body\":{}}}",
        serde_json::to_string(&body).unwrap()
      )
    };
    let garbage = r##"{"seq_num":6,"timestamp":1,"body":"#x"}"##.to_string();
    s.on_batch(
      &batch(&[plain(5, "a"), garbage.clone(), plain(7, "b")]),
      &mut out,
    )
    .unwrap();
    s.on_batch(
      &batch(&[plain(5, "a"), garbage, plain(7, "b"), plain(8, "c")]),
      &mut out,
    )
    .unwrap();
    s.write_session_state(&mut out);
    assert_eq!(s.forwarded(), 3);
    assert_eq!(
      String::from_utf8(out).unwrap(),
      "data: {\"type\":\"text-delta\",\"delta\":\"a\"}\n\n\
       data: {\"type\":\"text-delta\",\"delta\":\"b\"}\n\n\
       data: {\"type\":\"text-delta\",\"delta\":\"c\"}\n\n\
       data: {\"type\":\"trigger:session-state\",\"lastEventId\":\"8\"}\n\n"
    );
    assert_eq!(s.cursor(), Some(8));
  }

  #[test]
  fn pretty_printed_chunks_are_compacted() {
    let mut s = Splicer::new(HashSet::new());
    let mut out = Vec::new();
    s.on_batch(&batch(&[rec(0, "{\n\"type\": \"finish\"}", "z")]), &mut out)
      .unwrap();
    assert_eq!(out, b"data: {\"type\":\"finish\"}\n\n");
  }
}
