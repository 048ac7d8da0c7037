//! The tail-following read loop behind every streaming read (Trigger SSE, S2 SSE, S2S reads):
//! catch up in batches of ≤1000 records / ≤1 MiB, heartbeat when first caught up and then every
//! `heartbeat` without data, and end after `wait` of idleness (the window re-arms after every
//! delivered batch, like s2-lite).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::http::BodyChunk;
use crate::ids::now_ms;
use crate::store::{Position, Record, Stream, MAX_BATCH_METERED_BYTES, MAX_BATCH_RECORDS};

pub enum Event<'a> {
  Batch {
    records: &'a [Record],
    tail: Option<Position>,
  },
  Heartbeat {
    timestamp: u64,
    tail: Position,
  },
  /// Idle window expired or a limit was reached: a clean end.
  Done,
  /// Injected failure: an in-band error event, then the body ends.
  Error(&'a str),
}

pub struct FollowOptions {
  pub start: u64,
  /// Idle window; `None` follows forever.
  pub wait: Option<Duration>,
  pub heartbeat: Duration,
  pub max_records: Option<u64>,
  pub max_bytes: Option<u64>,
  pub ignore_command_records: bool,
  /// Caps records per batch below S2's 1000 (to split records across SSE batches in tests).
  pub max_batch_records: Option<usize>,
  /// Fault injection: after this many batches either send an error event or abort.
  pub fail_after_batches: Option<(u32, Failure)>,
}

#[derive(Clone, Debug)]
pub enum Failure {
  ErrorEvent(String),
  Abort,
}

/// Drives `encode` until done, the client goes away, or the sender is closed.
pub async fn follow(
  stream: Arc<Stream>,
  opts: FollowOptions,
  tx: mpsc::Sender<BodyChunk>,
  mut encode: impl FnMut(Event) -> Option<Bytes> + Send,
) {
  let mut tail_rx = stream.subscribe();
  let mut cursor = opts.start;
  let mut delivered_records = 0u64;
  let mut delivered_bytes = 0u64;
  let mut batches = 0u32;
  let mut caught_up_announced = false;
  let mut idle_deadline = opts.wait.map(|w| Instant::now() + w);
  let mut next_heartbeat = Instant::now() + opts.heartbeat;

  macro_rules! send {
    ($bytes:expr) => {
      if let Some(bytes) = $bytes {
        if tx.send(Ok(bytes)).await.is_err() {
          return;
        }
      }
    };
  }

  loop {
    if let Some((after, failure)) = &opts.fail_after_batches {
      if batches >= *after {
        match failure {
          Failure::ErrorEvent(message) => send!(encode(Event::Error(message))),
          Failure::Abort => {
            let _ = tx.send(Err("injected early close".into())).await;
          }
        }
        return;
      }
    }
    let remaining = opts
      .max_records
      .map(|m| m.saturating_sub(delivered_records));
    let remaining_bytes = opts.max_bytes.map(|m| m.saturating_sub(delivered_bytes));
    if remaining == Some(0) || remaining_bytes == Some(0) {
      send!(encode(Event::Done));
      return;
    }
    tail_rx.borrow_and_update();
    let cap = opts
      .max_batch_records
      .unwrap_or(MAX_BATCH_RECORDS)
      .clamp(1, MAX_BATCH_RECORDS);
    let count = remaining.map_or(cap, |r| (r as usize).min(cap));
    let bytes = remaining_bytes.map_or(MAX_BATCH_METERED_BYTES, |b| {
      (b as usize).min(MAX_BATCH_METERED_BYTES)
    });
    let read = stream.read(cursor, count, bytes);
    if let Some(last) = read.records.last() {
      cursor = last.seq + 1;
      let records: Vec<Record> = if opts.ignore_command_records {
        read
          .records
          .into_iter()
          .filter(|r| r.command().is_none())
          .collect()
      } else {
        read.records
      };
      delivered_records += records.len() as u64;
      delivered_bytes += records.iter().map(|r| r.metered_size() as u64).sum::<u64>();
      if !records.is_empty() {
        // The tail rides along on live batches (the reader reached it), not on catch-up ones.
        let tail = (cursor >= read.tail.seq_num).then_some(read.tail);
        send!(encode(Event::Batch {
          records: &records,
          tail
        }));
        batches += 1;
      }
      idle_deadline = opts.wait.map(|w| Instant::now() + w);
      // Data is as good as a heartbeat; the next one is due a full period after it.
      next_heartbeat = Instant::now() + opts.heartbeat;
      continue;
    }
    if !caught_up_announced {
      caught_up_announced = true;
      send!(encode(Event::Heartbeat {
        timestamp: now_ms(),
        tail: read.tail
      }));
      next_heartbeat = Instant::now() + opts.heartbeat;
    }
    let deadline = idle_deadline;
    tokio::select! {
      changed = tail_rx.changed() => {
        if changed.is_err() {
          return;
        }
      }
      _ = tokio::time::sleep_until(next_heartbeat) => {
        send!(encode(Event::Heartbeat { timestamp: now_ms(), tail: stream.tail() }));
        next_heartbeat = Instant::now() + opts.heartbeat;
      }
      _ = async move {
        match deadline {
          Some(d) => tokio::time::sleep_until(d).await,
          None => std::future::pending().await,
        }
      } => {
        send!(encode(Event::Done));
        return;
      }
      _ = tx.closed() => return,
    }
  }
}
