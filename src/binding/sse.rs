//! `createSseParser` (lib/sse.js) over `chat_headstart_core::sse::SseParser`.
//!
//! One native call (`sseFeed`) per `feed`, whatever the number of events: the items of a chunk
//! come back as ONE string (a JS value per event would cost more than the parsing). Each record
//! is a tag character, its text and a CR, so lib/sse.js finds a record's end with
//! `indexOf('\r')` and takes the text with one `slice`, never reading it character by
//! character. CR can end every field: the parser splits lines at CR and LF, so no event type,
//! data, id or comment holds one.
//!
//! | record | meaning |
//! |---|---|
//! | `M<data>\r` / `m<data>\r` | event of type `message`; `m` = the block had its own id |
//! | `E<type>\r<data>\r` / `e…` | event of another type; `e` = the block had its own id |
//! | `L<id>\r` | the last event ID is now `<id>` (sent only when it changed, before the event) |
//! | `R<digits>\r` | retry (ms) |
//! | `C<text>\r` | comment |
//! | `X<message>\r` | the parser failed (buffer limit) after the records before it; JS throws |
//!
//! A block's own id always equals the last event ID at its dispatch, so `m`/`e` need no payload.
//!
//! The batch is one-byte (Latin-1) when every record is ASCII: V8 copies it without decoding. A
//! record with other characters goes into a second, UTF-16 batch instead, and a `U\r` record
//! marks its place in the first; `sseFeed` then returns `[batch, wide]`. So mostly-ASCII streams
//! (UI message streams with the odd non-ASCII token) transcode only those records.

use chat_headstart_core::sse::{SseError, SseItem, SseParser, DEFAULT_MAX_BUFFER};
use napi::bindgen_prelude::{Either, External};
use napi::{Env, Error, JsString, Result};
use napi_derive::napi;
use std::fmt::Write;

/// Ends every record and field of the batch.
const END: char = '\r';

/// What one `feed` returns: the batch, or the batch and its wide records.
type Batches<'env> = Either<JsString<'env>, Vec<JsString<'env>>>;

/// The state of one `createSseParser` (lib/sse.js, its public face). JS holds it as an external
/// object and calls the plain functions below: napi-rs enters a class method through a registry
/// of borrows (a lock, a map and allocations per call), which cost about 0.4 µs a call here, a
/// tenth of the feed of a 1–4 KiB chunk of token events (`npm run bench -- sse`). That registry
/// guards against a call re-entering while another holds the state; none can here, as nothing
/// below calls into JS.
pub struct SseParserState {
  parser: SseParser,
  batch: Batch,
  /// The last event ID JS has been told about (`L` records).
  sent_last_event_id: String,
  want_retry: bool,
  want_comments: bool,
}

/// The records of the current call; the allocations are reused across calls.
#[derive(Default)]
struct Batch {
  /// The ASCII records, and a `U` record where a wide one goes.
  ascii: String,
  /// The records with non-ASCII text.
  wide: String,
  /// `wide` as UTF-16 (V8 takes Latin-1 or UTF-16 without decoding).
  wide_utf16: Vec<u16>,
}

impl Batch {
  /// Where a record goes: the ASCII batch, or the wide one (its place marked in the ASCII one).
  fn record(&mut self, ascii: bool) -> &mut String {
    if ascii {
      &mut self.ascii
    } else {
      self.ascii.push('U');
      self.ascii.push(END);
      &mut self.wide
    }
  }

  /// Do not pin the memory of one huge event between feeds.
  fn shrink(&mut self) {
    const KEEP: usize = 256 * 1024;
    if self.ascii.capacity() > KEEP {
      self.ascii.shrink_to(KEEP);
    }
    if self.wide.capacity() > KEEP {
      self.wide.shrink_to(KEEP);
    }
    if self.wide_utf16.capacity() > KEEP {
      self.wide_utf16.shrink_to(KEEP);
    }
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
    batch: Batch::default(),
    sent_last_event_id: String::new(),
    want_retry,
    want_comments,
  }))
}

/// Parses a chunk of bytes; returns the batch of items it completed ("" when none), or the batch
/// and its wide records.
#[napi(
  ts_args_type = "parser: ExternalObject<'SseParserState'>, chunk: Uint8Array",
  ts_return_type = "string | [string, string]"
)]
pub fn sse_feed<'env>(
  env: &'env Env,
  parser: &mut External<SseParserState>,
  chunk: &[u8],
) -> Result<Batches<'env>> {
  let state: &mut SseParserState = parser;
  let batch = &mut state.batch;
  batch.ascii.clear();
  batch.wide.clear();
  let sent = &mut state.sent_last_event_id;
  let (want_retry, want_comments) = (state.want_retry, state.want_comments);
  let result = state.parser.feed(chunk, &mut |item| {
    push_item(batch, sent, want_retry, want_comments, item)
  });
  if let Err(err) = result {
    // The items completed before the error are still delivered; JS throws at this record.
    push_record(batch.record(true), 'X', &err.to_string());
  }
  // V8 copies one-byte text into a one-byte string: far cheaper than napi_create_string_utf8,
  // whose UTF-8 decoding dominated the cost of a feed.
  let ascii = env.create_string_latin1(batch.ascii.as_bytes())?;
  let batches = if batch.wide.is_empty() {
    Either::A(ascii)
  } else {
    utf8_to_utf16(&batch.wide, &mut batch.wide_utf16);
    Either::B(vec![ascii, env.create_string_utf16(&batch.wide_utf16)?])
  };
  batch.shrink();
  Ok(batches)
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
  batch: &mut Batch,
  sent_last_event_id: &mut String,
  want_retry: bool,
  want_comments: bool,
  item: SseItem<'_>,
) {
  match item {
    SseItem::Event {
      event,
      data,
      id,
      last_event_id,
    } => {
      if !same_text(last_event_id, sent_last_event_id) {
        push_record(batch.record(last_event_id.is_ascii()), 'L', last_event_id);
        sent_last_event_id.clear();
        sent_last_event_id.push_str(last_event_id);
      }
      let has_id = id.is_some();
      if event == "message" {
        push_record(
          batch.record(data.is_ascii()),
          if has_id { 'm' } else { 'M' },
          data,
        );
      } else {
        let out = batch.record(event.is_ascii() && data.is_ascii());
        push_record(out, if has_id { 'e' } else { 'E' }, event);
        out.push_str(data);
        out.push(END);
      }
    }
    SseItem::Retry(ms) if want_retry => {
      // Rare (a reconnection hint), so plain formatting.
      let _ = write!(batch.record(true), "R{ms}{END}");
    }
    SseItem::Comment(text) if want_comments => {
      push_record(batch.record(text.is_ascii()), 'C', text)
    }
    SseItem::Retry(_) | SseItem::Comment(_) => {}
  }
}

/// `a == b`, without comparing two empty strings through `memcmp`: an empty `String` points at a
/// dangling address, and glibc's AVX-512 `memcmp` then takes a fault-suppressed masked load there,
/// which costs as much as parsing the event (measured: 40 % of a feed when no event has an id).
fn same_text(a: &str, b: &str) -> bool {
  a.len() == b.len() && (a.is_empty() || a == b)
}

fn push_record(out: &mut String, tag: char, text: &str) {
  out.push(tag);
  out.push_str(text);
  out.push(END);
}

fn to_js_error(err: SseError) -> Error {
  Error::from_reason(err.to_string())
}
