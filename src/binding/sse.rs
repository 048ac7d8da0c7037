//! `createSseParser` (lib/sse.js) over `chat_headstart_core::sse::SseParser`.
//!
//! One native call (`sseFeed`) per `feed`, whatever the number of events. A JS value per event
//! would cost more than the parsing, so the items of a chunk come back as ONE string and a list
//! of operations written into an `Int32Array` that JS owns and passes in:
//!
//! - The string is the span of the chunk that holds the *direct* events (below), copied as
//!   Latin-1, followed by the text records of every other item.
//! - `ops[0]` is the number of operations written from `ops[2]` on, `ops[1]` where the records
//!   start in the string. An operation is `start, end` (both ≥ 0): a direct event, whose data is
//!   `string.slice(start, end)`; or `-1`: deliver the next text record (`-2`: of the wide string).
//!
//! A direct event is the commonest item: a `message` event without an id of its own, whose data
//! is ASCII and lies in the chunk as it is (one `data:` line and a blank line, both in this chunk).
//! It costs two integers and no copy: JS slices its data out of the chunk's span, never scanning
//! it. The span's other bytes may be anything (a non-ASCII character reads as Latin-1 garbage),
//! as nothing else is sliced from it.
//!
//! The text records, in stream order, each a tag character, its text and a CR (CR can end every
//! field: the parser splits lines at CR and LF, so no event type, data, id or comment holds one):
//!
//! | record | meaning |
//! |---|---|
//! | `M<data>\r` / `m<data>\r` | event of type `message`; `m` = the block had its own id |
//! | `E<type>\r<data>\r` / `e…` | event of another type; `e` = the block had its own id |
//! | `L<id>\r` | the last event ID is now `<id>` (sent only when it changed, before the event) |
//! | `R<digits>\r` | retry (ms) |
//! | `C<text>\r` | comment |
//! | `X<message>\r` | the parser failed (buffer limit) after the items before it; JS throws |
//!
//! A block's own id always equals the last event ID at its dispatch, so `m`/`e` need no payload.
//! A record that is not all ASCII goes into a second, UTF-16 string, which `sseFeed` puts in
//! `wide[0]` (an array JS owns and passes in), and its operation is `-2`; the first string stays
//! one-byte (V8 copies it without decoding). When `ops` is full, the items after it are all
//! records (a direct event then as `M`, a wide record's place marked by `W\r`), which JS
//! delivers after the operations.

use chat_headstart_core::sse::{SseError, SseItem, SseParser, DEFAULT_MAX_BUFFER};
use napi::bindgen_prelude::{Array, External, Int32ArraySlice};
use napi::{Env, Error, JsString, Result};
use napi_derive::napi;
use std::fmt::Write;

/// Ends every record and field of the string.
const END: char = '\r';
/// The operation that delivers the next text record of the one-byte string.
const NEXT_RECORD: i32 = -1;
/// The operation that delivers the next text record of the wide string.
const NEXT_WIDE_RECORD: i32 = -2;
/// The record that stands for the next record of the wide string.
const WIDE_MARK: char = 'W';
/// `ops[0]` and `ops[1]`: the number of operations and where the records start.
const HEADER: usize = 2;

/// The state of one `createSseParser` (lib/sse.js, its public face). JS holds it as an external
/// object and calls the plain functions below: napi-rs enters a class method through a registry
/// of borrows (a lock, a map and allocations per call), which cost about 0.4 µs a call here, a
/// tenth of the feed of a 1–4 KiB chunk of token events (`npm run bench -- sse`). That registry
/// guards against a call re-entering while another holds the state; none can here, as nothing
/// below calls into JS.
pub struct SseParserState {
  parser: SseParser,
  scratch: Scratch,
  /// The last event ID JS has been told about (`L` records).
  sent_last_event_id: String,
  want_retry: bool,
  want_comments: bool,
}

/// Allocations reused across feeds.
#[derive(Default)]
struct Scratch {
  /// The ASCII text records of the current feed.
  records: String,
  /// The text records with other characters.
  wide: String,
  /// The one-byte string being built, when both the span and records are in it.
  latin1: Vec<u8>,
  /// `wide` as UTF-16 (V8 takes Latin-1 or UTF-16 without decoding).
  utf16: Vec<u16>,
}

impl Scratch {
  /// Do not pin the memory of one huge event between feeds.
  fn shrink(&mut self) {
    const KEEP: usize = 256 * 1024;
    if self.records.capacity() > KEEP {
      self.records.shrink_to(KEEP);
    }
    if self.wide.capacity() > KEEP {
      self.wide.shrink_to(KEEP);
    }
    if self.latin1.capacity() > KEEP {
      self.latin1.shrink_to(KEEP);
    }
    if self.utf16.capacity() > KEEP {
      self.utf16.shrink_to(KEEP);
    }
  }
}

/// What one feed has produced so far.
struct Output<'a> {
  chunk: &'a [u8],
  ops: &'a mut [i32],
  /// Where the next operation goes.
  next_op: usize,
  /// `ops` is full: every later item is a record.
  full: bool,
  /// The span of `chunk` holding the direct events: the first one's start, the last one's end.
  span: Option<(usize, usize)>,
  records: &'a mut String,
  wide: &'a mut String,
}

impl Output<'_> {
  /// Adds `data` as a direct event if it is one; false when it must be a record.
  fn direct(&mut self, data: &str, data_is_ascii: bool) -> bool {
    if self.full {
      return false;
    }
    let Some(start) = (data.as_ptr() as usize).checked_sub(self.chunk.as_ptr() as usize) else {
      return false;
    };
    let end = start + data.len();
    if end > self.chunk.len() || !data_is_ascii {
      return false;
    }
    let lo = self.span.map_or(start, |(lo, _)| lo);
    let (Ok(from), Ok(to)) = (i32::try_from(start - lo), i32::try_from(end - lo)) else {
      return false;
    };
    let Some(slots) = self.ops.get_mut(self.next_op..self.next_op + 2) else {
      self.full = true;
      return false;
    };
    slots.copy_from_slice(&[from, to]);
    self.next_op += 2;
    self.span = Some((lo, end));
    true
  }

  /// Starts a text record: its operation (unless `ops` is full), then its tag.
  fn record(&mut self, tag: char, ascii: bool) -> &mut String {
    if !self.full {
      if let Some(slot) = self.ops.get_mut(self.next_op) {
        *slot = if ascii { NEXT_RECORD } else { NEXT_WIDE_RECORD };
        self.next_op += 1;
      } else {
        self.full = true;
      }
    }
    let out = if ascii {
      &mut *self.records
    } else {
      if self.full {
        // Past a full list, a `W` record marks the place of a wide one.
        self.records.push(WIDE_MARK);
        self.records.push(END);
      }
      &mut *self.wide
    };
    out.push(tag);
    out
  }

  fn text_record(&mut self, tag: char, text: &str) {
    self.known_text_record(tag, text, text.is_ascii());
  }

  /// A text record whose ASCII-ness is known.
  fn known_text_record(&mut self, tag: char, text: &str, ascii: bool) {
    let out = self.record(tag, ascii);
    out.push_str(text);
    out.push(END);
  }
}

/// A parser. `maxBuffer`: cap in bytes on a line or a pending event (default 16 MiB). Retry and
/// comment records are sent only when JS has a callback for them.
#[napi(ts_return_type = "ExternalObject<'SseParserState'>")]
pub fn sse_parser_new(
  max_buffer: Option<f64>,
  want_retry: bool,
  want_comments: bool,
) -> Result<External<SseParserState>> {
  let max_buffer = match max_buffer {
    None => DEFAULT_MAX_BUFFER,
    Some(n) if n.is_finite() && n >= 1.0 && n.fract() == 0.0 => n.min(usize::MAX as f64) as usize,
    Some(n) if n == f64::INFINITY => usize::MAX,
    Some(n) => {
      return Err(Error::from_reason(format!(
        "maxBufferSize must be a positive integer number of bytes, got {n}"
      )))
    }
  };
  Ok(External::new(SseParserState {
    parser: SseParser::new(max_buffer),
    scratch: Scratch::default(),
    sent_last_event_id: String::new(),
    want_retry,
    want_comments,
  }))
}

/// Parses a chunk of bytes; returns the string of the items it completed, writes their
/// operations into `ops` and, when some records are not ASCII, their string into `wide[0]`
/// (format: the module comment).
#[napi(
  ts_args_type = "parser: ExternalObject<'SseParserState'>, chunk: Uint8Array, ops: Int32Array, wide: [string]"
)]
pub fn sse_feed<'env>(
  env: &'env Env,
  parser: &mut External<SseParserState>,
  chunk: &[u8],
  mut ops: Int32ArraySlice<'_>,
  mut wide: Array<'_>,
) -> Result<JsString<'env>> {
  // SAFETY: lib/sse.js allocates `ops` for this parser and hands it to no one else, so nothing
  // else reads or writes it during the call, and it is not the chunk's memory.
  let ops = unsafe { ops.as_mut() };
  if ops.len() < HEADER {
    return Err(Error::from_reason(
      "sseFeed: ops must hold at least 2 integers",
    ));
  }
  let state: &mut SseParserState = parser;
  let scratch = &mut state.scratch;
  scratch.records.clear();
  scratch.wide.clear();
  let (header, ops) = ops.split_at_mut(HEADER);
  let mut out = Output {
    chunk,
    ops,
    next_op: 0,
    full: false,
    span: None,
    records: &mut scratch.records,
    wide: &mut scratch.wide,
  };
  let sent = &mut state.sent_last_event_id;
  let (want_retry, want_comments) = (state.want_retry, state.want_comments);
  let result = state.parser.feed(chunk, &mut |item| {
    push_item(&mut out, sent, want_retry, want_comments, item)
  });
  if let Err(err) = result {
    // The items completed before the error are still delivered; JS throws at this record.
    out.text_record('X', &err.to_string());
  }
  let span = out.span.map_or(&chunk[..0], |(lo, hi)| &chunk[lo..hi]);
  header[0] = i32::try_from(out.next_op).unwrap_or(i32::MAX);
  header[1] = i32::try_from(span.len()).unwrap_or(i32::MAX);
  let records = scratch.records.as_bytes();
  // V8 copies one-byte text into a one-byte string: far cheaper than napi_create_string_utf8,
  // whose UTF-8 decoding dominated the cost of a feed.
  let text = if records.is_empty() {
    env.create_string_latin1(span)?
  } else if span.is_empty() {
    env.create_string_latin1(records)?
  } else {
    let latin1 = &mut scratch.latin1;
    latin1.clear();
    latin1.extend_from_slice(span);
    latin1.extend_from_slice(records);
    env.create_string_latin1(latin1)?
  };
  if !scratch.wide.is_empty() {
    // Into the caller's array, not returned with `text` in a new one: creating and filling an
    // array costs more than a small feed's parsing (about 0.3 µs a call, measured here).
    utf8_to_utf16(&scratch.wide, &mut scratch.utf16);
    wide.set(0, env.create_string_utf16(&scratch.utf16)?)?;
  }
  scratch.shrink();
  Ok(text)
}

/// Ends the stream: drops a partial line / undispatched block. Returns whether anything was
/// dropped. The last event ID is kept for a reconnection (see `sseReset`).
#[napi(ts_args_type = "parser: ExternalObject<'SseParserState'>")]
pub fn sse_end(parser: &mut External<SseParserState>) -> Result<bool> {
  parser.parser.finish().map_err(to_js_error)
}

/// Forgets everything, including the last event ID and a previous error.
#[napi(ts_args_type = "parser: ExternalObject<'SseParserState'>")]
pub fn sse_reset(parser: &mut External<SseParserState>) {
  parser.parser.reset();
  parser.sent_last_event_id.clear();
}

/// Writes the UTF-16 encoding of `text` into `out` (cleared first). ASCII is widened 16 bytes
/// at a time (the compiler vectorises the block loop); other characters one at a time.
fn utf8_to_utf16(text: &str, out: &mut Vec<u16>) {
  const BLOCK: usize = 16;
  out.clear();
  out.reserve(text.len());
  let bytes = text.as_bytes();
  let mut at = 0;
  while at < bytes.len() {
    if let Some(block) = bytes.get(at..at + BLOCK) {
      if block.is_ascii() {
        out.extend(block.iter().map(|&b| u16::from(b)));
        at += BLOCK;
        continue;
      }
    }
    let byte = bytes[at];
    if byte.is_ascii() {
      out.push(u16::from(byte));
      at += 1;
    } else {
      // `at` is at a char boundary: every step above moved by whole chars.
      let c = text[at..]
        .chars()
        .next()
        .unwrap_or(char::REPLACEMENT_CHARACTER);
      let mut units = [0u16; 2];
      out.extend_from_slice(c.encode_utf16(&mut units));
      at += c.len_utf8();
    }
  }
}

fn push_item(
  out: &mut Output<'_>,
  sent_last_event_id: &mut String,
  want_retry: bool,
  want_comments: bool,
  item: SseItem<'_>,
) {
  match item {
    SseItem::Event {
      event,
      data,
      data_is_ascii,
      id,
      last_event_id,
    } => {
      if !same_text(last_event_id, sent_last_event_id) {
        out.text_record('L', last_event_id);
        sent_last_event_id.clear();
        sent_last_event_id.push_str(last_event_id);
      }
      let has_id = id.is_some();
      if event == "message" {
        if !has_id && out.direct(data, data_is_ascii) {
          return;
        }
        out.known_text_record(if has_id { 'm' } else { 'M' }, data, data_is_ascii);
      } else {
        let record = out.record(
          if has_id { 'e' } else { 'E' },
          event.is_ascii() && data_is_ascii,
        );
        record.push_str(event);
        record.push(END);
        record.push_str(data);
        record.push(END);
      }
    }
    SseItem::Retry(ms) if want_retry => {
      // Rare (a reconnection hint), so plain formatting.
      let _ = write!(out.record('R', true), "{ms}{END}");
    }
    SseItem::Comment(text) if want_comments => out.text_record('C', text),
    SseItem::Retry(_) | SseItem::Comment(_) => {}
  }
}

/// `a == b`, without comparing two empty strings through `memcmp`: an empty `String` points at a
/// dangling address, and glibc's AVX-512 `memcmp` then takes a fault-suppressed masked load there,
/// which costs as much as parsing the event (measured: 40 % of a feed when no event has an id).
fn same_text(a: &str, b: &str) -> bool {
  a.len() == b.len() && (a.is_empty() || a == b)
}

fn to_js_error(err: SseError) -> Error {
  Error::from_reason(err.to_string())
}
