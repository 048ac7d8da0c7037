//! `createSseParser` (lib/sse.js) over `chat_headstart_core::sse::SseParser`.
//!
//! One native call per `feed`, whatever the number of events: the items of a chunk come back
//! packed into ONE string that lib/sse.js slices apart (a JS object or string per event would
//! cost far more than parsing; see docs/architecture.md §4.1 and the packing section of bench/sse). Packing, one
//! record after another, lengths in UTF-16 code units so JS can `slice` directly:
//!
//! | record | meaning |
//! |---|---|
//! | `M<n>;<data>` / `m<n>;<data>` | event of type `message`; `m` = the block had its own id |
//! | `E<n>;<type><n>;<data>` / `e…` | event of another type; `e` = the block had its own id |
//! | `L<n>;<id>` | the last event ID is now `<id>` (sent only when it changed, before the event) |
//! | `R<digits>;` | retry (ms) |
//! | `C<n>;<text>` | comment |
//! | `X<n>;<message>` | the parser failed (buffer limit) after the records before it; JS throws |
//!
//! A block's own id always equals the last event ID at its dispatch, so `m`/`e` need no payload.

use chat_headstart_core::sse::{SseError, SseItem, SseParser, DEFAULT_MAX_BUFFER};
use napi::bindgen_prelude::Uint8Array;
use napi::{Env, Error, JsString, Result};
use napi_derive::napi;

/// Native half of `createSseParser`; lib/sse.js is the public face.
#[napi]
pub struct NativeSseParser {
  parser: SseParser,
  /// The packed output of the current call; its allocation is reused across calls.
  out: String,
  /// `out` as UTF-16, when it is not ASCII (V8 takes Latin-1 or UTF-16 without decoding).
  out_utf16: Vec<u16>,
  /// The last event ID JS has been told about (`L` records).
  sent_last_event_id: String,
  want_retry: bool,
  want_comments: bool,
}

#[napi]
impl NativeSseParser {
  /// `maxBuffer`: cap in bytes on a line or a pending event (default 16 MiB). Retry and comment
  /// records are packed only when JS has a callback for them.
  #[napi(constructor)]
  pub fn new(max_buffer: Option<f64>, want_retry: bool, want_comments: bool) -> Result<Self> {
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
    Ok(NativeSseParser {
      parser: SseParser::new(max_buffer),
      out: String::new(),
      out_utf16: Vec::new(),
      sent_last_event_id: String::new(),
      want_retry,
      want_comments,
    })
  }

  /// Parses a chunk of bytes; returns the packed items it completed ("" when none).
  #[napi(ts_return_type = "string")]
  pub fn feed<'env>(&mut self, env: &'env Env, chunk: &[u8]) -> Result<JsString<'env>> {
    self.feed_bytes(env, chunk)
  }

  /// Parses a chunk given as a JS string (its UTF-8 encoding is the stream's bytes).
  #[napi(ts_return_type = "string")]
  pub fn feed_string<'env>(&mut self, env: &'env Env, chunk: String) -> Result<JsString<'env>> {
    self.feed_bytes(env, chunk.as_bytes())
  }

  /// Benchmark-only packing alternative (bench/sse/packing.mjs): one JS string per event's
  /// data, in an array. Kept to show why `feed` packs everything into one string instead.
  #[napi]
  pub fn feed_data_array(&mut self, chunk: &[u8]) -> Result<Vec<String>> {
    let mut datas = Vec::new();
    self
      .parser
      .feed(chunk, &mut |item| {
        if let SseItem::Event { data, .. } = item {
          datas.push(data.to_owned());
        }
      })
      .map_err(to_js_error)?;
    Ok(datas)
  }

  /// Ends the stream: drops a partial line / undispatched block. Returns whether anything was
  /// dropped. The last event ID is kept for a reconnection (see `reset`).
  #[napi]
  pub fn end(&mut self) -> Result<bool> {
    self.parser.finish().map_err(to_js_error)
  }

  /// Forgets everything, including the last event ID and a previous error.
  #[napi]
  pub fn reset(&mut self) {
    self.parser.reset();
    self.sent_last_event_id.clear();
  }
}

impl NativeSseParser {
  fn feed_bytes<'env>(&mut self, env: &'env Env, chunk: &[u8]) -> Result<JsString<'env>> {
    self.out.clear();
    let out = &mut self.out;
    let sent = &mut self.sent_last_event_id;
    let (want_retry, want_comments) = (self.want_retry, self.want_comments);
    let result = self.parser.feed(chunk, &mut |item| {
      pack_item(out, sent, want_retry, want_comments, item)
    });
    if let Err(err) = result {
      // The items completed before the error are still delivered; JS throws at this record.
      push_text(&mut self.out, 'X', &err.to_string());
    }
    let packed = if self.out.is_ascii() {
      // The common case: V8 copies the bytes into a one-byte string (far cheaper than
      // napi_create_string_utf8, whose UTF-8 decode dominated the cost of a feed).
      env.create_string_latin1(self.out.as_bytes())
    } else {
      utf8_to_utf16(&self.out, &mut self.out_utf16);
      env.create_string_utf16(&self.out_utf16)
    };
    // Do not pin the memory of one huge event between feeds.
    shrink(&mut self.out, &mut self.out_utf16);
    packed
  }
}

/// Appends the UTF-16 encoding of `text` to `out` (cleared first); runs of ASCII are widened
/// in bulk.
fn utf8_to_utf16(text: &str, out: &mut Vec<u16>) {
  out.clear();
  out.reserve(text.len());
  let mut rest = text;
  while !rest.is_empty() {
    let ascii_run = rest
      .bytes()
      .position(|b| !b.is_ascii())
      .unwrap_or(rest.len());
    out.extend(rest.as_bytes()[..ascii_run].iter().map(|&b| u16::from(b)));
    rest = &rest[ascii_run..];
    if let Some(c) = rest.chars().next() {
      let mut units = [0u16; 2];
      out.extend_from_slice(c.encode_utf16(&mut units));
      rest = &rest[c.len_utf8()..];
    }
  }
}

fn shrink(out: &mut String, out_utf16: &mut Vec<u16>) {
  const KEEP: usize = 256 * 1024;
  if out.capacity() > KEEP {
    out.shrink_to(KEEP);
  }
  if out_utf16.capacity() > KEEP {
    out_utf16.shrink_to(KEEP);
  }
}

fn pack_item(
  out: &mut String,
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
      if last_event_id != sent_last_event_id.as_str() {
        push_text(out, 'L', last_event_id);
        sent_last_event_id.clear();
        sent_last_event_id.push_str(last_event_id);
      }
      let has_id = id.is_some();
      if event == "message" {
        push_text(out, if has_id { 'm' } else { 'M' }, data);
      } else {
        push_text(out, if has_id { 'e' } else { 'E' }, event);
        push_len_text(out, data);
      }
    }
    SseItem::Retry(ms) if want_retry => {
      out.push('R');
      push_decimal(out, ms);
      out.push(';');
    }
    SseItem::Comment(text) if want_comments => push_text(out, 'C', text),
    SseItem::Retry(_) | SseItem::Comment(_) => {}
  }
}

fn push_text(out: &mut String, tag: char, text: &str) {
  out.push(tag);
  push_len_text(out, text);
}

fn push_len_text(out: &mut String, text: &str) {
  push_decimal(out, utf16_len(text) as u64);
  out.push(';');
  out.push_str(text);
}

/// `n` in ASCII decimal (no `fmt` machinery: this runs once per event).
fn push_decimal(out: &mut String, mut n: u64) {
  let mut digits = [0u8; 20];
  let mut start = digits.len();
  loop {
    start -= 1;
    digits[start] = b'0' + (n % 10) as u8;
    n /= 10;
    if n == 0 {
      break;
    }
  }
  for &digit in &digits[start..] {
    out.push(char::from(digit));
  }
}

/// Length of `text` in UTF-16 code units (what JS `String#length` counts).
fn utf16_len(text: &str) -> usize {
  let bytes = text.as_bytes();
  if bytes.is_ascii() {
    return bytes.len();
  }
  // One unit per char (every non-continuation byte), two for chars outside the BMP (4-byte
  // sequences, whose lead byte is >= 0xF0 in valid UTF-8).
  bytes
    .iter()
    .map(|&b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0))
    .sum()
}

fn to_js_error(err: SseError) -> Error {
  Error::from_reason(err.to_string())
}

/// Benchmark helper: parses `chunks` as one stream with the Rust core alone and returns the
/// number of events dispatched (their data is decoded and checked as for any caller).
#[napi]
pub fn sse_count_events(chunks: Vec<Uint8Array>) -> Result<u32> {
  let mut parser = SseParser::new(DEFAULT_MAX_BUFFER);
  let mut events: u32 = 0;
  let mut sink = |item: SseItem<'_>| {
    if let SseItem::Event { data, .. } = item {
      std::hint::black_box(data);
      events += 1;
    }
  };
  for chunk in &chunks {
    parser.feed(chunk, &mut sink).map_err(to_js_error)?;
  }
  parser.finish().map_err(to_js_error)?;
  Ok(events)
}
