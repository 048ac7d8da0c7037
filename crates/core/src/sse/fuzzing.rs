//! The property the `cargo fuzz` target (`fuzz/fuzz_targets/sse_parser.rs`) and the in-tree
//! replay test both check, kept here so they cannot drift apart.

use super::{SseError, SseItem, SseParser};

/// An owned copy of an [`SseItem`], for comparing runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedItem {
  Event {
    event: String,
    data: String,
    id: Option<String>,
    last_event_id: String,
  },
  Retry(u64),
  Comment(String),
}

impl From<SseItem<'_>> for OwnedItem {
  fn from(item: SseItem<'_>) -> Self {
    match item {
      SseItem::Event {
        event,
        data,
        data_is_ascii,
        id,
        last_event_id,
      } => {
        assert_eq!(data_is_ascii, data.is_ascii(), "data_is_ascii of {data:?}");
        OwnedItem::Event {
          event: event.to_owned(),
          data: data.to_owned(),
          id: id.map(str::to_owned),
          last_event_id: last_event_id.to_owned(),
        }
      }
      SseItem::Retry(ms) => OwnedItem::Retry(ms),
      SseItem::Comment(text) => OwnedItem::Comment(text.to_owned()),
    }
  }
}

/// Everything one run produced: the items, then how it ended (`finish` result or the error).
pub type Run = (Vec<OwnedItem>, Result<bool, SseError>);

/// Parses `input` cut at `cuts` (offsets, any order, out-of-range ones clamped; repeated offsets
/// make empty chunks) with a parser capped at `max_buffer`.
pub fn run_chunked(input: &[u8], cuts: &[usize], max_buffer: usize) -> Run {
  let mut offsets: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
  offsets.sort_unstable();
  let mut parser = SseParser::new(max_buffer);
  let mut items = Vec::new();
  let mut sink = |item: SseItem<'_>| items.push(OwnedItem::from(item));
  let mut start = 0;
  for &end in offsets.iter().chain(std::iter::once(&input.len())) {
    if let Err(err) = parser.feed(&input[start..end], &mut sink) {
      return (items, Err(err));
    }
    start = end;
  }
  let end = parser.finish();
  (items, end)
}

/// Checks, for one fuzz input, that parsing never panics and that the result does not depend on
/// how the input is chunked. The first byte picks a buffer cap (small caps exercise the limit),
/// the next two a cut seed; the rest is the stream. Compared: one chunk, 1-byte chunks, and
/// seeded random cuts (including empty chunks). Items before an error must match too.
pub fn check_input(raw: &[u8]) {
  if raw.len() < 3 {
    return;
  }
  let max_buffer = match raw[0] % 4 {
    0 => usize::MAX,
    1 => 1 << 16,
    2 => 64,
    _ => usize::from(raw[0]),
  };
  let mut seed = u32::from(raw[1]) << 8 | u32::from(raw[2]) | 1;
  let input = &raw[3..];

  let whole = run_chunked(input, &[], max_buffer);
  let bytewise: Vec<usize> = (0..=input.len()).collect();
  let mut random = Vec::new();
  for _ in 0..(input.len() / 3 + 2) {
    // xorshift: deterministic, no dependency
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    random.push(seed as usize % (input.len() + 1));
  }
  for cuts in [bytewise, random] {
    let other = run_chunked(input, &cuts, max_buffer);
    assert_eq!(whole, other, "chunking changed the result; cuts {cuts:?}");
  }
}
