//! SSE frames of the AI SDK UI message stream (`ai`'s `JsonToSseTransformStream`):
//! `data: <json>\n\n` per chunk, `data: [DONE]\n\n` at the end, `: <text>\n\n` keep-alives.
//!
//! Payloads are raw bytes the caller already has (the JSON of a UI chunk, e.g. the `data` of an
//! S2 envelope): they are copied once, never re-encoded. Appending works on any [`BufMut`]
//! (`BytesMut`, `Vec<u8>`), so frames can be batched into one buffer.
//!
//! **Line breaks in a payload.** A raw CR or LF would end the `data:` line early and break the
//! framing. Instead of failing, the encoder splits the payload at every CRLF, CR or LF into
//! several `data:` lines, which an SSE reader joins back with LF. So an LF-only payload
//! round-trips exactly, and CR / CRLF come back as LF. JSON never contains a raw CR or LF inside
//! a string (they must be escaped), so for JSON this only touches insignificant whitespace and the
//! parsed value is unchanged. Comments get the same treatment (one `:` line per line). The
//! common case, a payload without line breaks, costs one `memchr2` scan and one copy.

use bytes::BufMut;
use memchr::memchr2;

/// The terminal frame of a UI message stream.
pub const DONE_FRAME: &[u8] = b"data: [DONE]\n\n";

/// Appends `data: <payload>\n\n` (one `data:` line per line of `payload`, see the module docs).
pub fn push_data_frame<B: BufMut + ?Sized>(out: &mut B, payload: &[u8]) {
  push_lines(out, b"data: ", payload);
  out.put_u8(b'\n');
}

/// Appends `: <text>\n\n`, a comment frame (keep-alive). Readers ignore it; it dispatches nothing.
pub fn push_comment_frame<B: BufMut + ?Sized>(out: &mut B, text: &[u8]) {
  push_lines(out, b": ", text);
  out.put_u8(b'\n');
}

/// Appends `data: [DONE]\n\n`.
pub fn push_done_frame<B: BufMut + ?Sized>(out: &mut B) {
  out.put_slice(DONE_FRAME);
}

/// The exact size of the frame [`push_data_frame`] appends, for reserving buffer space.
pub fn data_frame_len(payload: &[u8]) -> usize {
  framed_len(b"data: ".len(), payload)
}

/// Writes `prefix line \n` for every line of `payload` (at least one, even when empty).
fn push_lines<B: BufMut + ?Sized>(out: &mut B, prefix: &[u8], payload: &[u8]) {
  let mut rest = payload;
  loop {
    out.put_slice(prefix);
    match memchr2(b'\r', b'\n', rest) {
      None => {
        out.put_slice(rest);
        out.put_u8(b'\n');
        return;
      }
      Some(pos) => {
        out.put_slice(&rest[..pos]);
        out.put_u8(b'\n');
        let skip = if rest[pos] == b'\r' && rest.get(pos + 1) == Some(&b'\n') {
          2
        } else {
          1
        };
        rest = &rest[pos + skip..];
      }
    }
  }
}

fn framed_len(prefix_len: usize, payload: &[u8]) -> usize {
  let mut len = 1; // the blank line
  let mut rest = payload;
  loop {
    len += prefix_len + 1;
    match memchr2(b'\r', b'\n', rest) {
      None => return len + rest.len(),
      Some(pos) => {
        len += pos;
        let skip = if rest[pos] == b'\r' && rest.get(pos + 1) == Some(&b'\n') {
          2
        } else {
          1
        };
        rest = &rest[pos + skip..];
      }
    }
  }
}
