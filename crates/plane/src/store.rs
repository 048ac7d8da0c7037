//! In-memory streams with S2 semantics: dense sequence numbers from 0, arrival timestamps
//! (monotonic per stream), a tail, command records (`trim`, `fence`) that consume a seq like
//! any other record, and a watch channel so readers wake up when the tail moves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::watch;

use crate::ids::now_ms;

/// S2's per-record ceiling on metered bytes (inclusive).
pub const MAX_RECORD_METERED_BYTES: usize = 1024 * 1024;
/// S2's per-batch ceilings.
pub const MAX_BATCH_RECORDS: usize = 1000;
pub const MAX_BATCH_METERED_BYTES: usize = 1024 * 1024;

pub type Header = (Bytes, Bytes);

/// Metered size of a record as S2 bills and limits it: `8 + 2·H + Σ(name+value) + body`.
pub fn metered_size(headers: &[Header], body: &[u8]) -> usize {
  8 + 2 * headers.len()
    + headers
      .iter()
      .map(|(n, v)| n.len() + v.len())
      .sum::<usize>()
    + body.len()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
  pub seq: u64,
  pub timestamp: u64,
  pub headers: Vec<Header>,
  pub body: Bytes,
}

impl Record {
  pub fn metered_size(&self) -> usize {
    metered_size(&self.headers, &self.body)
  }

  /// S2 command records carry exactly one header whose name is empty; its value names the op.
  pub fn command(&self) -> Option<&[u8]> {
    match self.headers.as_slice() {
      [(name, value)] if name.is_empty() => Some(value),
      _ => None,
    }
  }
}

/// A record about to be appended.
#[derive(Clone, Debug, Default)]
pub struct NewRecord {
  pub headers: Vec<Header>,
  pub body: Bytes,
  pub timestamp: Option<u64>,
}

impl NewRecord {
  pub fn body(body: impl Into<Bytes>) -> Self {
    NewRecord {
      headers: Vec::new(),
      body: body.into(),
      timestamp: None,
    }
  }
}

/// Record headers from `(name, value)` string pairs.
pub fn headers_from(pairs: &[(&str, &str)]) -> Vec<Header> {
  pairs
    .iter()
    .map(|(n, v)| {
      (
        Bytes::copy_from_slice(n.as_bytes()),
        Bytes::copy_from_slice(v.as_bytes()),
      )
    })
    .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
pub struct Position {
  pub seq_num: u64,
  pub timestamp: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Ack {
  pub start: Position,
  pub end: Position,
  pub tail: Position,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendError {
  EmptyBatch,
  TooManyRecords(usize),
  RecordTooLarge(usize),
  BatchTooLarge(usize),
  SeqNumMismatch { expected: u64 },
  FencingTokenMismatch { expected: String },
}

impl AppendError {
  pub fn status(&self) -> u16 {
    match self {
      AppendError::SeqNumMismatch { .. } | AppendError::FencingTokenMismatch { .. } => 412,
      _ => 400,
    }
  }

  pub fn code(&self) -> &'static str {
    match self {
      AppendError::SeqNumMismatch { .. } => "seq_num_mismatch",
      AppendError::FencingTokenMismatch { .. } => "fencing_token_mismatch",
      _ => "invalid",
    }
  }

  pub fn message(&self) -> String {
    match self {
      AppendError::EmptyBatch => "append batch must contain at least one record".into(),
      AppendError::TooManyRecords(n) => {
        format!("batch of {n} records exceeds the maximum of {MAX_BATCH_RECORDS}")
      }
      AppendError::RecordTooLarge(n) => {
        format!(
          "record metered size {n} bytes exceeds the limit of {MAX_RECORD_METERED_BYTES} bytes"
        )
      }
      AppendError::BatchTooLarge(n) => {
        format!("batch metered size {n} bytes exceeds the limit of {MAX_BATCH_METERED_BYTES} bytes")
      }
      AppendError::SeqNumMismatch { expected } => {
        format!("match_seq_num mismatch: the stream tail is {expected}")
      }
      AppendError::FencingTokenMismatch { expected } => {
        format!("fencing token mismatch: the stream is fenced with {expected:?}")
      }
    }
  }

  /// The extra field S2 puts in a 412 body (the caller's precondition and the real value).
  pub fn detail(&self) -> Option<(&'static str, serde_json::Value)> {
    match self {
      AppendError::SeqNumMismatch { expected } => Some(("seq_num_mismatch", (*expected).into())),
      AppendError::FencingTokenMismatch { expected } => {
        Some(("fencing_token_mismatch", expected.clone().into()))
      }
      _ => None,
    }
  }
}

/// Result of a read: the records (at most the requested limits) and the tail at read time.
#[derive(Debug, Default)]
pub struct ReadResult {
  pub records: Vec<Record>,
  pub tail: Position,
}

#[derive(Default)]
struct StreamState {
  records: Vec<Record>,
  trim_point: u64,
  fencing_token: Option<String>,
  last_timestamp: u64,
  /// Trigger API `X-Part-Id` → seq of the record it produced (server-side idempotency).
  part_ids: HashMap<String, u64>,
}

impl StreamState {
  fn tail(&self) -> Position {
    Position {
      seq_num: self.records.len() as u64,
      timestamp: self.last_timestamp,
    }
  }
}

pub struct Stream {
  name: String,
  state: Mutex<StreamState>,
  tail: watch::Sender<u64>,
}

impl Stream {
  fn new(name: String) -> Self {
    Stream {
      name,
      state: Mutex::new(StreamState::default()),
      tail: watch::Sender::new(0),
    }
  }

  pub fn name(&self) -> &str {
    &self.name
  }

  pub fn tail(&self) -> Position {
    self.lock().tail()
  }

  /// Receives the next-seq-to-assign every time records are appended.
  pub fn subscribe(&self) -> watch::Receiver<u64> {
    self.tail.subscribe()
  }

  fn lock(&self) -> std::sync::MutexGuard<'_, StreamState> {
    // A poisoned lock only means another thread panicked mid-append; the vector is still valid.
    self.state.lock().unwrap_or_else(|e| e.into_inner())
  }

  /// Appends a batch atomically (all or nothing), enforcing S2's limits and preconditions.
  pub fn append(
    &self,
    batch: Vec<NewRecord>,
    match_seq_num: Option<u64>,
    fencing_token: Option<&str>,
  ) -> Result<Ack, AppendError> {
    validate_batch(&batch)?;
    let ack = {
      let mut state = self.lock();
      let tail = state.records.len() as u64;
      if let Some(expected) = match_seq_num {
        if expected != tail {
          return Err(AppendError::SeqNumMismatch { expected: tail });
        }
      }
      if let Some(token) = fencing_token {
        let current = state.fencing_token.clone().unwrap_or_default();
        if token != current {
          return Err(AppendError::FencingTokenMismatch { expected: current });
        }
      }
      let now = now_ms();
      let mut start = None;
      for record in batch {
        // S2's default "client-prefer" timestamping, capped at arrival time, kept monotonic.
        let timestamp = record
          .timestamp
          .unwrap_or(now)
          .min(now)
          .max(state.last_timestamp);
        state.last_timestamp = timestamp;
        let seq = state.records.len() as u64;
        let stored = Record {
          seq,
          timestamp,
          headers: record.headers,
          body: record.body,
        };
        apply_command(&mut state, &stored);
        start.get_or_insert(Position {
          seq_num: seq,
          timestamp,
        });
        state.records.push(stored);
      }
      let tail = state.tail();
      Ack {
        start: start.unwrap_or(tail),
        end: tail,
        tail,
      }
    };
    self.tail.send_replace(ack.tail.seq_num);
    Ok(ack)
  }

  /// Appends one record unless `part_id` was seen before on this stream; returns its seq and
  /// whether it was a duplicate.
  pub fn append_part(&self, part_id: &str, record: NewRecord) -> Result<(u64, bool), AppendError> {
    validate_batch(std::slice::from_ref(&record))?;
    let seq = {
      let mut state = self.lock();
      if let Some(seq) = state.part_ids.get(part_id) {
        return Ok((*seq, true));
      }
      let now = now_ms().max(state.last_timestamp);
      state.last_timestamp = now;
      let seq = state.records.len() as u64;
      state.records.push(Record {
        seq,
        timestamp: now,
        headers: record.headers,
        body: record.body,
      });
      state.part_ids.insert(part_id.to_owned(), seq);
      seq
    };
    self.tail.send_replace(seq + 1);
    Ok((seq, false))
  }

  /// Reads from `from` (clamped to the trim point) at most `max_count` records and at most
  /// `max_bytes` metered bytes (always at least one record if any is available).
  pub fn read(&self, from: u64, max_count: usize, max_bytes: usize) -> ReadResult {
    let state = self.lock();
    let start = from.max(state.trim_point) as usize;
    let mut records = Vec::new();
    let mut bytes = 0;
    for record in state.records.iter().skip(start) {
      let size = record.metered_size();
      if records.len() >= max_count || (!records.is_empty() && bytes + size > max_bytes) {
        break;
      }
      bytes += size;
      records.push(record.clone());
    }
    ReadResult {
      records,
      tail: state.tail(),
    }
  }

  /// First seq whose timestamp is ≥ `timestamp` (the tail if none).
  pub fn seq_for_timestamp(&self, timestamp: u64) -> u64 {
    let state = self.lock();
    let idx = state.records.partition_point(|r| r.timestamp < timestamp);
    idx as u64
  }

  /// The newest `n` records (for `X-Peek-Settled`).
  pub fn last_records(&self, n: usize) -> Vec<Record> {
    let state = self.lock();
    let len = state.records.len();
    state.records[len.saturating_sub(n)..].to_vec()
  }
}

fn validate_batch(batch: &[NewRecord]) -> Result<(), AppendError> {
  if batch.is_empty() {
    return Err(AppendError::EmptyBatch);
  }
  if batch.len() > MAX_BATCH_RECORDS {
    return Err(AppendError::TooManyRecords(batch.len()));
  }
  let mut total = 0;
  for record in batch {
    let size = metered_size(&record.headers, &record.body);
    if size > MAX_RECORD_METERED_BYTES {
      return Err(AppendError::RecordTooLarge(size));
    }
    total += size;
  }
  if total > MAX_BATCH_METERED_BYTES {
    return Err(AppendError::BatchTooLarge(total));
  }
  Ok(())
}

fn apply_command(state: &mut StreamState, record: &Record) {
  match record.command() {
    Some(b"trim") => {
      if let Ok(bytes) = <[u8; 8]>::try_from(record.body.as_ref()) {
        // Trimming never removes the trim record itself or anything after it.
        let point = u64::from_be_bytes(bytes).min(record.seq);
        state.trim_point = state.trim_point.max(point);
      }
    }
    Some(b"fence") => {
      let token = String::from_utf8_lossy(&record.body).into_owned();
      state.fencing_token = (!token.is_empty()).then_some(token);
    }
    _ => {}
  }
}

/// All streams of one plane, created on first use (like S2 basins with create-on-append/read).
#[derive(Default)]
pub struct Streams {
  map: Mutex<HashMap<String, Arc<Stream>>>,
}

impl Streams {
  pub fn get_or_create(&self, name: &str) -> Arc<Stream> {
    let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
    map
      .entry(name.to_owned())
      .or_insert_with(|| Arc::new(Stream::new(name.to_owned())))
      .clone()
  }

  pub fn get(&self, name: &str) -> Option<Arc<Stream>> {
    self
      .map
      .lock()
      .unwrap_or_else(|e| e.into_inner())
      .get(name)
      .cloned()
  }

  pub fn names(&self) -> Vec<String> {
    let mut names: Vec<_> = self
      .map
      .lock()
      .unwrap_or_else(|e| e.into_inner())
      .keys()
      .cloned()
      .collect();
    names.sort();
    names
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn body(s: &str) -> NewRecord {
    NewRecord::body(Bytes::copy_from_slice(s.as_bytes()))
  }

  #[test]
  fn sequence_numbers_are_dense_from_zero_and_acks_cover_the_batch() {
    let stream = Stream::new("s".into());
    let ack = stream
      .append(vec![body("a"), body("b")], None, None)
      .unwrap();
    assert_eq!(
      (ack.start.seq_num, ack.end.seq_num, ack.tail.seq_num),
      (0, 2, 2)
    );
    let ack = stream.append(vec![body("c")], None, None).unwrap();
    assert_eq!((ack.start.seq_num, ack.end.seq_num), (2, 3));
    let read = stream.read(1, 10, usize::MAX);
    assert_eq!(
      read.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
      vec![1, 2]
    );
    assert_eq!(read.tail.seq_num, 3);
    assert!(read
      .records
      .windows(2)
      .all(|w| w[0].timestamp <= w[1].timestamp));
  }

  #[test]
  fn metered_size_counts_headers_and_body() {
    let headers = vec![(Bytes::from_static(b"ab"), Bytes::from_static(b"cde"))];
    assert_eq!(metered_size(&headers, b"12345"), 8 + 2 + 5 + 5);
    assert_eq!(metered_size(&[], b""), 8);
  }

  #[test]
  fn record_limit_is_inclusive() {
    let stream = Stream::new("s".into());
    let ok = vec![0u8; MAX_RECORD_METERED_BYTES - 8];
    assert!(stream.append(vec![NewRecord::body(ok)], None, None).is_ok());
    let too_big = vec![0u8; MAX_RECORD_METERED_BYTES - 7];
    assert_eq!(
      stream.append(vec![NewRecord::body(too_big)], None, None),
      Err(AppendError::RecordTooLarge(MAX_RECORD_METERED_BYTES + 1))
    );
    assert_eq!(stream.tail().seq_num, 1);
  }

  #[test]
  fn batch_limits_reject_the_whole_batch() {
    let stream = Stream::new("s".into());
    let many = (0..1001).map(|_| body("x")).collect();
    assert_eq!(
      stream.append(many, None, None),
      Err(AppendError::TooManyRecords(1001))
    );
    assert_eq!(
      stream.append(vec![], None, None),
      Err(AppendError::EmptyBatch)
    );
    assert_eq!(stream.tail().seq_num, 0);
  }

  #[test]
  fn match_seq_num_and_fencing_are_enforced() {
    let stream = Stream::new("s".into());
    stream.append(vec![body("a")], Some(0), None).unwrap();
    assert_eq!(
      stream.append(vec![body("b")], Some(0), None),
      Err(AppendError::SeqNumMismatch { expected: 1 })
    );
    let fence = NewRecord {
      headers: vec![(Bytes::new(), Bytes::from_static(b"fence"))],
      body: Bytes::from_static(b"tok"),
      timestamp: None,
    };
    stream.append(vec![fence], None, None).unwrap();
    assert!(stream.append(vec![body("c")], None, Some("other")).is_err());
    assert!(stream.append(vec![body("c")], None, Some("tok")).is_ok());
    // Appends without a token are not fenced out (S2 only checks a supplied token).
    assert!(stream.append(vec![body("d")], None, None).is_ok());
  }

  #[test]
  fn trim_is_a_record_and_hides_older_records() {
    let stream = Stream::new("s".into());
    stream
      .append(vec![body("a"), body("b"), body("c")], None, None)
      .unwrap();
    let trim = NewRecord {
      headers: vec![(Bytes::new(), Bytes::from_static(b"trim"))],
      body: Bytes::copy_from_slice(&2u64.to_be_bytes()),
      timestamp: None,
    };
    let ack = stream.append(vec![trim], None, None).unwrap();
    assert_eq!(ack.start.seq_num, 3);
    let read = stream.read(0, 100, usize::MAX);
    assert_eq!(
      read.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
      vec![2, 3]
    );
    assert_eq!(read.records[1].command(), Some(&b"trim"[..]));
  }

  #[test]
  fn part_ids_dedupe() {
    let stream = Stream::new("s".into());
    assert_eq!(stream.append_part("p1", body("a")).unwrap(), (0, false));
    assert_eq!(stream.append_part("p2", body("b")).unwrap(), (1, false));
    assert_eq!(stream.append_part("p1", body("a")).unwrap(), (0, true));
    assert_eq!(stream.tail().seq_num, 2);
  }

  #[test]
  fn reads_respect_byte_limit_but_return_at_least_one_record() {
    let stream = Stream::new("s".into());
    stream
      .append(vec![body("aaaa"), body("bbbb"), body("cccc")], None, None)
      .unwrap();
    assert_eq!(stream.read(0, 10, 1).records.len(), 1);
    assert_eq!(stream.read(0, 10, 24).records.len(), 2);
    assert_eq!(stream.read(0, 2, usize::MAX).records.len(), 2);
  }
}
