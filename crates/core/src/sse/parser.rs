//! Incremental, byte-level WHATWG event-stream parser.
//!
//! Implements "Parsing an event stream" / "Interpreting an event stream" of the HTML Living
//! Standard (see `docs/protocol.md` §15) directly on bytes:
//!
//! * UTF-8 decoding is done per field value. CR, LF and `:` are ASCII and can never be part of a
//!   multi-byte sequence, so decoding each line (and the joined data buffer) lossily gives exactly
//!   the result of decoding the whole stream first: invalid sequences become U+FFFD (maximal
//!   subparts, like `String::from_utf8_lossy`), and a sequence split across chunks is re-joined
//!   because the partial line is buffered as bytes.
//! * One leading BOM (EF BB BF) is stripped at stream offset 0, even when it arrives split across
//!   chunks or after empty chunks. A later BOM is ordinary text.
//! * A CR that ends a chunk terminates its line at once; an LF starting the next chunk is then
//!   swallowed (no early dispatch, a bug eventsource-parser once had). So a trailing CR at the end of
//!   the stream has already done its job when [`SseParser::finish`] is called.
//!
//! Linear time: every input byte is inspected by the terminator search exactly once. A partial
//! line is appended to `line` and never re-scanned; only the new chunk's bytes are searched.
//!
//! Memory: `max_buffer` caps (a) every line, complete or partial, and (b) the pending event
//! (data + event type). Exceeding it fails with [`SseError::BufferLimit`] instead of growing.

use memchr::{memchr, memchr2};
use std::fmt;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// The default cap on a buffered line / pending event: 16 MiB, far above any sane SSE event
/// (AI SDK chunks are bytes to a few hundred KiB; a data: URL file part can reach a few MiB).
pub const DEFAULT_MAX_BUFFER: usize = 16 * 1024 * 1024;

/// One thing the stream produced, borrowed from the parser until the sink returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SseItem<'a> {
  /// A dispatched event.
  Event {
    /// The event type, already resolved: `"message"` when the block had no (or an empty) `event`
    /// field.
    event: &'a str,
    /// The joined data lines, with the single trailing LF removed.
    data: &'a str,
    /// Whether `data` is all ASCII (known from its UTF-8 check, so a caller need not scan it).
    data_is_ascii: bool,
    /// The value of this block's own accepted `id` field (the last one if several), or `None`
    /// when the block had none. `Some("")` when the block reset the id with an empty `id` field.
    id: Option<&'a str>,
    /// The persistent last-event-ID buffer after this block (what `EventSource.lastEventId` says).
    last_event_id: &'a str,
  },
  /// A valid `retry` field (`[0-9]+`, base 10, fits in a u64): the new reconnection time in ms.
  Retry(u64),
  /// A comment line (`:` first). The text after the colon, minus one leading space if present,
  /// so `: keep-alive` gives `keep-alive`.
  Comment(&'a str),
}

/// Why the parser refused input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SseError {
  /// A line or the pending event grew over the configured cap. The parser stays failed (every
  /// later `feed`/`finish` returns this error again) until [`SseParser::reset`].
  BufferLimit {
    /// The configured cap in bytes.
    limit: usize,
  },
}

impl fmt::Display for SseError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      SseError::BufferLimit { limit } => write!(
        f,
        "SSE buffer limit exceeded: a line or event is larger than {limit} bytes"
      ),
    }
  }
}

impl std::error::Error for SseError {}

/// Where the BOM check at stream offset 0 stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BomState {
  /// `n` bytes of the BOM seen so far (0, 1 or 2), held back until the rest arrives.
  Pending(u8),
  /// The check is over (BOM stripped, or the stream did not start with one).
  Done,
}

/// Incremental WHATWG SSE parser over bytes. See the module docs.
#[derive(Debug, Clone)]
pub struct SseParser {
  max_buffer: usize,
  bom: BomState,
  /// The previous chunk ended with a CR that already terminated a line: swallow one LF.
  pending_cr: bool,
  /// The unterminated tail of the previous chunk(s). Never contains CR or LF.
  line: Vec<u8>,
  /// Data buffer of the current block: each `data` value followed by LF.
  data: Vec<u8>,
  /// Event type buffer of the current block (raw bytes, decoded at dispatch).
  event_type: Vec<u8>,
  /// The last-event-ID buffer: set by `id` fields as they are read.
  id_buffer: String,
  /// The last event ID string: `id_buffer` as of the last blank line. An `id` in a block that
  /// never ends (EOF) does not reach it, so a reconnection resumes from the last complete block.
  last_event_id: String,
  /// Whether the current block had an accepted `id` field (its value is then `id_buffer`).
  block_has_id: bool,
  /// Lossy-decoding scratch space, reused so invalid UTF-8 does not allocate every time.
  scratch: String,
  failed: Option<SseError>,
  /// Bytes inspected by the terminator search (tests check it equals the input length).
  #[cfg(test)]
  pub(crate) scanned: usize,
}

impl Default for SseParser {
  fn default() -> Self {
    Self::new(DEFAULT_MAX_BUFFER)
  }
}

impl SseParser {
  /// A parser whose lines and pending events may not exceed `max_buffer` bytes.
  pub fn new(max_buffer: usize) -> Self {
    SseParser {
      max_buffer,
      bom: BomState::Pending(0),
      pending_cr: false,
      line: Vec::new(),
      data: Vec::new(),
      event_type: Vec::new(),
      id_buffer: String::new(),
      last_event_id: String::new(),
      block_has_id: false,
      scratch: String::new(),
      failed: None,
      #[cfg(test)]
      scanned: 0,
    }
  }

  /// The configured cap in bytes.
  pub fn max_buffer(&self) -> usize {
    self.max_buffer
  }

  /// The last event ID as of the last complete block (send it as `Last-Event-ID` when
  /// reconnecting). It persists across events, data-less blocks and [`SseParser::finish`].
  pub fn last_event_id(&self) -> &str {
    &self.last_event_id
  }

  /// Parses one chunk, calling `sink` for every item it completes, in stream order.
  pub fn feed<F>(&mut self, chunk: &[u8], sink: &mut F) -> Result<(), SseError>
  where
    F: FnMut(SseItem<'_>),
  {
    if let Some(err) = self.failed {
      return Err(err);
    }
    let result = self.feed_inner(chunk, sink);
    if let Err(err) = result {
      self.fail(err);
    }
    result
  }

  /// Ends the stream: a partial line and an undispatched block are discarded (no flush-dispatch
  /// at EOF, per the spec). A CR that ended the last chunk already terminated its line in `feed`.
  ///
  /// Returns `Ok(true)` when something was discarded (the stream was cut mid-line or mid-block),
  /// which a caller may treat as a truncated stream. Afterwards the parser is ready for a new
  /// stream (a reconnection): the BOM check starts again and the last-event-ID is **kept**, as
  /// `EventSource` keeps it across reconnections. Use [`SseParser::reset`] to forget it too.
  pub fn finish(&mut self) -> Result<bool, SseError> {
    if let Some(err) = self.failed {
      return Err(err);
    }
    let held_bom = matches!(self.bom, BomState::Pending(n) if n > 0);
    let discarded = held_bom
      || !self.line.is_empty()
      || !self.data.is_empty()
      || !self.event_type.is_empty()
      || self.block_has_id;
    self.clear_stream();
    Ok(discarded)
  }

  /// Forgets everything, including the last-event-ID and a previous error.
  pub fn reset(&mut self) {
    self.clear_stream();
    self.id_buffer.clear();
    self.last_event_id.clear();
    self.failed = None;
  }

  fn clear_stream(&mut self) {
    self.bom = BomState::Pending(0);
    self.pending_cr = false;
    self.line.clear();
    self.data.clear();
    self.event_type.clear();
    if self.block_has_id {
      // The unfinished block's id is dropped with it.
      self.id_buffer.clear();
      self.id_buffer.push_str(&self.last_event_id);
      self.block_has_id = false;
    }
    // Do not keep a huge allocation alive after one big event.
    shrink_if_large(&mut self.line, self.max_buffer);
    shrink_if_large(&mut self.data, self.max_buffer);
  }

  fn fail(&mut self, err: SseError) {
    self.failed = Some(err);
    self.line = Vec::new();
    self.data = Vec::new();
    self.event_type = Vec::new();
    self.id_buffer.clear();
    self.id_buffer.push_str(&self.last_event_id);
    self.block_has_id = false;
  }

  fn feed_inner<F>(&mut self, chunk: &[u8], sink: &mut F) -> Result<(), SseError>
  where
    F: FnMut(SseItem<'_>),
  {
    let mut rest = chunk;
    if let BomState::Pending(seen) = self.bom {
      rest = self.strip_bom(seen, rest)?;
    }
    if rest.is_empty() {
      return Ok(());
    }
    if self.pending_cr {
      self.pending_cr = false;
      if rest[0] == b'\n' {
        rest = &rest[1..];
      }
    }
    while let Some(pos) = memchr2(b'\n', b'\r', rest) {
      #[cfg(test)]
      {
        self.scanned += pos + 1;
      }
      let mut next = pos + 1;
      if rest[pos] == b'\r' {
        match rest.get(next) {
          Some(b'\n') => next += 1,
          Some(_) => {}
          None => self.pending_cr = true,
        }
      }
      let line_part = &rest[..pos];
      if self.line.is_empty() {
        self.check_line(line_part.len())?;
        // Fast path for the common `data: …` + blank line, both inside this chunk, with
        // nothing else pending in the block: dispatch straight from the chunk, no copying.
        if self.data.is_empty() {
          if let (Some(value), Some((blank_len, ends_in_cr))) = (
            line_part.strip_prefix(b"data:"),
            blank_line_len(&rest[next..]),
          ) {
            let value = strip_one_space(value);
            self.check_block(value.len() + 1)?;
            self.commit_last_event_id();
            self.emit_event(value, sink);
            #[cfg(test)]
            {
              self.scanned += blank_len;
            }
            self.pending_cr = ends_in_cr;
            rest = &rest[next + blank_len..];
            continue;
          }
        }
        self.process_line(line_part, sink)?;
      } else {
        self.check_line(self.line.len() + line_part.len())?;
        let mut line = std::mem::take(&mut self.line);
        line.extend_from_slice(line_part);
        let result = self.process_line(&line, sink);
        line.clear();
        self.line = line;
        result?;
      }
      rest = &rest[next..];
    }
    #[cfg(test)]
    {
      self.scanned += rest.len();
    }
    if !rest.is_empty() {
      self.check_line(self.line.len() + rest.len())?;
      self.line.extend_from_slice(rest);
    }
    Ok(())
  }

  /// Consumes the BOM (or the part of it this chunk carries) at stream offset 0. Bytes that
  /// looked like a BOM prefix but were not one are put back as ordinary line bytes.
  fn strip_bom<'c>(&mut self, mut seen: u8, chunk: &'c [u8]) -> Result<&'c [u8], SseError> {
    let mut rest = chunk;
    while let Some(&byte) = rest.first() {
      if byte == BOM[seen as usize] {
        rest = &rest[1..];
        seen += 1;
        if seen as usize == BOM.len() {
          self.bom = BomState::Done;
          return Ok(rest);
        }
      } else {
        // Not a BOM: the held prefix (EF or EF BB, no terminators) starts the first line.
        self.bom = BomState::Done;
        self.check_line(seen as usize)?;
        self.line.extend_from_slice(&BOM[..seen as usize]);
        return Ok(rest);
      }
    }
    self.bom = BomState::Pending(seen);
    Ok(rest)
  }

  fn check_line(&self, len: usize) -> Result<(), SseError> {
    if len > self.max_buffer {
      Err(SseError::BufferLimit {
        limit: self.max_buffer,
      })
    } else {
      Ok(())
    }
  }

  fn check_block(&self, extra: usize) -> Result<(), SseError> {
    if self.data.len() + self.event_type.len() + extra > self.max_buffer {
      Err(SseError::BufferLimit {
        limit: self.max_buffer,
      })
    } else {
      Ok(())
    }
  }

  fn process_line<F>(&mut self, line: &[u8], sink: &mut F) -> Result<(), SseError>
  where
    F: FnMut(SseItem<'_>),
  {
    if line.is_empty() {
      self.dispatch(sink);
      return Ok(());
    }
    let (name, value) = match memchr(b':', line) {
      Some(0) => {
        let text = strip_one_space(&line[1..]);
        match std::str::from_utf8(text) {
          Ok(text) => sink(SseItem::Comment(text)),
          Err(_) => {
            let text = lossy_into(&mut self.scratch, text);
            sink(SseItem::Comment(text));
          }
        }
        return Ok(());
      }
      Some(colon) => (&line[..colon], strip_one_space(&line[colon + 1..])),
      None => (line, &line[line.len()..]),
    };
    match name {
      b"data" => {
        self.check_block(value.len() + 1)?;
        self.data.extend_from_slice(value);
        self.data.push(b'\n');
      }
      b"event" => {
        self.event_type.clear();
        self.check_block(value.len())?;
        self.event_type.extend_from_slice(value);
      }
      // An id containing NUL is ignored as a whole (the previous id stays).
      b"id" if memchr(0, value).is_none() => {
        self.id_buffer.clear();
        match std::str::from_utf8(value) {
          Ok(text) => self.id_buffer.push_str(text),
          Err(_) => self.id_buffer.push_str(&String::from_utf8_lossy(value)),
        }
        self.block_has_id = true;
      }
      b"retry" => {
        if let Some(ms) = parse_retry(value) {
          sink(SseItem::Retry(ms));
        }
      }
      _ => {}
    }
    Ok(())
  }

  /// Step 1 of dispatch (done even when nothing is dispatched): the last event ID string
  /// takes the buffer's value.
  fn commit_last_event_id(&mut self) {
    if self.block_has_id {
      self.last_event_id.clear();
      self.last_event_id.push_str(&self.id_buffer);
    }
  }

  /// A blank line: dispatch the block (if it has data) and start a new one.
  fn dispatch<F>(&mut self, sink: &mut F)
  where
    F: FnMut(SseItem<'_>),
  {
    self.commit_last_event_id();
    if self.data.is_empty() {
      self.event_type.clear();
      self.block_has_id = false;
      return;
    }
    let mut data = std::mem::take(&mut self.data);
    // The data buffer always ends with the LF pushed after its last value.
    self.emit_event(&data[..data.len() - 1], sink);
    data.clear();
    self.data = data;
  }

  /// Hands one event with the given data to the sink and clears the block state.
  fn emit_event<F>(&mut self, data_bytes: &[u8], sink: &mut F)
  where
    F: FnMut(SseItem<'_>),
  {
    // Most data is short ASCII (token events), for which this test costs half of `from_utf8`.
    let data_is_ascii = data_bytes.is_ascii();
    let data = if data_is_ascii {
      // SAFETY: ASCII bytes are valid UTF-8.
      unsafe { std::str::from_utf8_unchecked(data_bytes) }
    } else {
      match std::str::from_utf8(data_bytes) {
        Ok(text) => text,
        Err(_) => lossy_into(&mut self.scratch, data_bytes),
      }
    };
    let lossy_event;
    let event = if self.event_type.is_empty() {
      "message"
    } else {
      match std::str::from_utf8(&self.event_type) {
        Ok(text) => text,
        Err(_) => {
          lossy_event = String::from_utf8_lossy(&self.event_type).into_owned();
          &lossy_event
        }
      }
    };
    let id = if self.block_has_id {
      Some(self.last_event_id.as_str())
    } else {
      None
    };
    sink(SseItem::Event {
      event,
      data,
      data_is_ascii,
      id,
      last_event_id: &self.last_event_id,
    });
    self.event_type.clear();
    self.block_has_id = false;
  }
}

/// If `bytes` starts with a line terminator (an empty line), its length and whether it is a CR
/// that ends the chunk (so an LF starting the next chunk must be swallowed).
fn blank_line_len(bytes: &[u8]) -> Option<(usize, bool)> {
  match bytes {
    [b'\n', ..] => Some((1, false)),
    [b'\r', b'\n', ..] => Some((2, false)),
    [b'\r'] => Some((1, true)),
    [b'\r', ..] => Some((1, false)),
    _ => None,
  }
}

fn strip_one_space(value: &[u8]) -> &[u8] {
  match value.first() {
    Some(b' ') => &value[1..],
    _ => value,
  }
}

/// `retry` accepts only `[0-9]+` in base 10; anything else, or a value over u64, is ignored.
fn parse_retry(value: &[u8]) -> Option<u64> {
  if value.is_empty() {
    return None;
  }
  let mut ms: u64 = 0;
  for &byte in value {
    if !byte.is_ascii_digit() {
      return None;
    }
    ms = ms.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
  }
  Some(ms)
}

fn lossy_into<'s>(scratch: &'s mut String, bytes: &[u8]) -> &'s str {
  scratch.clear();
  for chunk in bytes.utf8_chunks() {
    scratch.push_str(chunk.valid());
    if !chunk.invalid().is_empty() {
      scratch.push(char::REPLACEMENT_CHARACTER);
    }
  }
  scratch.as_str()
}

fn shrink_if_large(buf: &mut Vec<u8>, max_buffer: usize) {
  const KEEP: usize = 64 * 1024;
  if buf.capacity() > KEEP && buf.capacity() > max_buffer / 4 {
    buf.shrink_to(KEEP);
  }
}
