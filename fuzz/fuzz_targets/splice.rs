//! The phase-2 splice (`handover::splice::Splicer`) fed arbitrary agent chunk sequences: a
//! `session.out` stream of data, control and command records (with envelope ids reused by agent
//! retries, step-1 ids of our own, id-less and data-less envelopes, garbage bodies, pretty-printed
//! chunks) delivered in batches that may deliver a range again (an at-least-once reconnect).
//!
//! Invariants: the output is valid SSE (the core's own parser reads it without error, ending on
//! an event boundary, every event a JSON `data:` with no name or id); no seq is forwarded twice
//! and chunks keep stream order; every record that should reach the browser does (first delivery
//! of a data record whose envelope id is new and not one of ours, up to the turn-complete); the
//! turn-complete and closing session-state frames come last and name the right seq. A batch
//! string of arbitrary text never panics and, when accepted, also yields valid SSE.
#![no_main]

use std::collections::{HashMap, HashSet};

use chat_headstart_core::handover::splice::{SpliceStep, Splicer, TURN_COMPLETE_FRAME};
use chat_headstart_core::sse::{SseItem, SseParser};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const CONTROL_SUBTYPES: [&str; 4] = [
  "turn-complete",
  "upgrade-required",
  "pending-version",
  "session-closed",
];

#[derive(Clone, Debug)]
enum Kind {
  /// A data chunk carrying its own seq (so the output can be traced back to records).
  Data {
    id: Option<String>,
  },
  /// An envelope with an id but no `data`.
  NoData {
    id: String,
  },
  /// A body that is not JSON (starts with `#`).
  Garbage,
  NoBody,
  Control(String),
  Command,
}

#[derive(Clone, Debug)]
struct Record {
  seq: u64,
  kind: Kind,
  json: Value,
}

fn text(u: &mut Unstructured) -> Result<String> {
  let len = u.int_in_range(0..=24)?;
  let bytes = u.bytes(len.min(u.len()))?;
  Ok(String::from_utf8_lossy(bytes).into_owned())
}

fn record(u: &mut Unstructured, seq: u64, ids: &mut Vec<String>, own: &[String]) -> Result<Record> {
  let pick_id = |u: &mut Unstructured, ids: &mut Vec<String>| -> Result<String> {
    Ok(match u.int_in_range(0..=3u8)? {
      // An agent retry: an id already written at a lower seq.
      0 if !ids.is_empty() => ids[u.choose_index(ids.len())?].clone(),
      1 if !own.is_empty() => own[u.choose_index(own.len())?].clone(),
      _ => {
        let id = format!("agent-{seq}-{}", text(u)?);
        ids.push(id.clone());
        id
      }
    })
  };
  let kind = match u.int_in_range(0..=9u8)? {
    0..=4 => Kind::Data {
      id: if u.ratio(1, 4)? {
        None
      } else {
        Some(pick_id(u, ids)?)
      },
    },
    5 => Kind::NoData {
      id: pick_id(u, ids)?,
    },
    6 => Kind::Garbage,
    7 => Kind::NoBody,
    8 => Kind::Control(if u.ratio(1, 5)? {
      text(u)?
    } else {
      CONTROL_SUBTYPES[u.choose_index(CONTROL_SUBTYPES.len())?].to_string()
    }),
    _ => Kind::Command,
  };
  let mut json = json!({ "seq_num": seq, "timestamp": 1_700_000_000_000u64 + seq });
  let mut headers: Vec<(String, String)> = Vec::new();
  let body = match &kind {
    Kind::Data { id } => {
      let chunk = json!({ "type": "text-delta", "seq": seq, "delta": text(u)? });
      // Pretty-printed chunks carry newlines the splice must not put on the wire.
      let chunk = if u.ratio(1, 4)? {
        serde_json::to_string_pretty(&chunk).unwrap()
      } else {
        chunk.to_string()
      };
      let id = id
        .as_ref()
        .map(|id| format!(",\"id\":{}", json!(id)))
        .unwrap_or_default();
      Some(format!("{{\"data\":{chunk}{id}}}"))
    }
    Kind::NoData { id } => Some(json!({ "id": id, "other": text(u)? }).to_string()),
    Kind::Garbage => Some(format!("#{}", text(u)?)),
    Kind::NoBody => None,
    Kind::Control(subtype) => {
      headers.push(("trigger-control".into(), subtype.clone()));
      headers.push(("session-in-event-id".into(), "0".into()));
      None
    }
    Kind::Command => {
      headers.push((
        String::new(),
        if u.ratio(1, 2)? { "trim" } else { "fence" }.into(),
      ));
      Some("AAAAAAAAAAA=".into())
    }
  };
  if matches!(
    kind,
    Kind::Data { .. } | Kind::NoData { .. } | Kind::Garbage
  ) && u.ratio(1, 3)?
  {
    headers.push((format!("x-{}", text(u)?), text(u)?));
  }
  if !headers.is_empty() {
    json["headers"] = json!(headers);
  }
  if let Some(body) = body {
    json["body"] = json!(body);
  }
  Ok(Record { seq, kind, json })
}

/// The events of `out`, read by the core's SSE parser; panics unless it is well-formed SSE made
/// of `data: <json>` events only.
fn parse_sse(out: &[u8]) -> Vec<Value> {
  let mut parser = SseParser::new(usize::MAX);
  let mut events = Vec::new();
  parser
    .feed(out, &mut |item| match item {
      SseItem::Event {
        event, data, id, ..
      } => {
        assert_eq!((event, id), ("message", None), "unexpected event fields");
        let value: Value = serde_json::from_str(data)
          .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {data:?}"));
        events.push(value);
      }
      other => panic!("unexpected SSE item {other:?}"),
    })
    .expect("the splice output parses as SSE");
  assert_eq!(parser.finish(), Ok(false), "the output ends mid-event");
  // One `data:` line per event: nothing the parser would have joined.
  let frames = out.windows(2).filter(|w| w == b"\n\n").count();
  assert_eq!(frames, events.len(), "frames and events differ");
  events
}

fn run(u: &mut Unstructured) -> Result<()> {
  // Arbitrary batch text first: never a panic; accepted input still gives valid SSE.
  if u.ratio(1, 8)? {
    let raw = text(u)?;
    let mut splicer = Splicer::new(HashSet::new());
    let mut out = Vec::new();
    if splicer.on_batch(&raw, &mut out).is_ok() {
      splicer.write_session_state(&mut out);
      parse_sse(&out);
    }
  }

  let own: Vec<String> = (0..u.int_in_range(0..=3)?)
    .map(|i| format!("own-{i}"))
    .collect();
  let mut ids = Vec::new();
  let mut seq = u.int_in_range(0..=1u64 << 40)?;
  let mut records = Vec::new();
  for _ in 0..u.int_in_range(0..=48)? {
    records.push(record(u, seq, &mut ids, &own)?);
    seq += u.int_in_range(1..=3)?;
  }

  let mut splicer = Splicer::new(own.iter().cloned().collect());
  let mut out = Vec::new();
  let mut delivered = 0; // records[..delivered] have been delivered at least once
  let mut completed_at = None;
  for _ in 0..64 {
    if delivered == records.len() || u.is_empty() {
      break;
    }
    // Usually the next range; sometimes a range starting earlier (delivered again).
    let start = if u.ratio(1, 4)? {
      u.int_in_range(0..=delivered)?
    } else {
      delivered
    };
    let end = (start + u.int_in_range(0..=8)?).min(records.len());
    let batch = json!({
      "records": records[start..end].iter().map(|r| r.json.clone()).collect::<Vec<_>>(),
      "tail": { "seq_num": seq, "timestamp": 1 },
    });
    let step = splicer
      .on_batch(&batch.to_string(), &mut out)
      .expect("a well-formed batch");
    delivered = delivered.max(end);
    if step == SpliceStep::TurnComplete {
      let first_complete = records[start..end]
        .iter()
        .find(|r| matches!(&r.kind, Kind::Control(s) if s == "turn-complete"))
        .expect("turn-complete without a turn-complete record");
      completed_at = Some(first_complete.seq);
      break;
    }
  }
  splicer.write_session_state(&mut out);
  let events = parse_sse(&out);

  // What must reach the browser: the first record (by seq) of each envelope id, when not ours;
  // every id-less data record; only records before the turn-complete.
  let mut first_of_id: HashMap<&str, u64> = HashMap::new();
  for r in &records {
    if let Kind::Data { id: Some(id) } | Kind::NoData { id } = &r.kind {
      first_of_id.entry(id.as_str()).or_insert(r.seq);
    }
  }
  let stop = completed_at.unwrap_or(u64::MAX);
  let expected: Vec<u64> = records[..delivered]
    .iter()
    .filter(|r| r.seq < stop)
    .filter(|r| match &r.kind {
      Kind::Data { id: None } => true,
      Kind::Data { id: Some(id) } => !own.contains(id) && first_of_id[id.as_str()] == r.seq,
      _ => false,
    })
    .map(|r| r.seq)
    .collect();

  let mut events = events.into_iter().peekable();
  let mut forwarded = Vec::new();
  while let Some(seq) = events
    .peek()
    .and_then(|e| e.get("seq"))
    .and_then(Value::as_u64)
  {
    forwarded.push(seq);
    events.next();
  }
  assert_eq!(
    forwarded, expected,
    "forwarded seqs (duplicated, lost or out of order)"
  );
  assert_eq!(splicer.forwarded(), forwarded.len() as u64);
  let rest: Vec<Value> = events.collect();
  let mut rest = rest.iter();
  if completed_at.is_some() {
    let complete: Value =
      serde_json::from_slice(&TURN_COMPLETE_FRAME[6..TURN_COMPLETE_FRAME.len() - 2]).unwrap();
    assert_eq!(rest.next(), Some(&complete));
  }
  match (rest.next(), splicer.latest_event_id()) {
    (None, None) => {}
    (Some(state), Some(latest)) => {
      assert_eq!(state["type"], "trigger:session-state");
      assert_eq!(state["lastEventId"], latest.to_string());
      if let Some(complete) = completed_at {
        assert_eq!(latest, complete);
      }
      // The browser resumes after lastEventId: below a forwarded chunk, it would get it twice.
      assert!(
        forwarded.iter().all(|&seq| seq <= latest),
        "lastEventId behind a forwarded chunk"
      );
      let record = records
        .iter()
        .find(|r| r.seq == latest)
        .expect("lastEventId is a record");
      assert!(
        !matches!(record.kind, Kind::Command),
        "lastEventId names a command record"
      );
    }
    other => panic!("session-state frame and latest event id disagree: {other:?}"),
  }
  assert_eq!(rest.next(), None, "frames after the session state");
  Ok(())
}

fuzz_target!(|data: &[u8]| {
  let _ = run(&mut Unstructured::new(data));
});
