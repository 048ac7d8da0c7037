//! S2S framing: `[3-byte BE length L][1 flag byte][L-1 payload bytes]`, where L counts the
//! flag byte. Flag bit 7 = terminal, bits 6-5 = compression (00 none, 01 zstd, 10 gzip).
//! A terminal frame's payload is a 2-byte BE HTTP status followed by a JSON error body.

use bytes::{Buf, BufMut, Bytes, BytesMut};

pub const MAX_FRAME_BYTES: usize = 2 * 1024 * 1024;
const TERMINAL: u8 = 0x80;
const COMPRESSION_MASK: u8 = 0x60;

#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
  pub terminal: bool,
  pub compression: u8,
  pub payload: Bytes,
}

#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
  ZeroLength,
  TooLarge(usize),
}

impl std::fmt::Display for FrameError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match self {
      FrameError::ZeroLength => write!(
        f,
        "S2S frame length prefix is 0 (the flag byte is mandatory)"
      ),
      FrameError::TooLarge(n) => write!(
        f,
        "S2S frame of {n} bytes exceeds the {MAX_FRAME_BYTES}-byte limit"
      ),
    }
  }
}

/// Incremental frame decoder over arbitrarily split input.
#[derive(Default)]
pub struct FrameDecoder {
  buf: BytesMut,
}

impl FrameDecoder {
  pub fn push(&mut self, bytes: &[u8]) {
    self.buf.extend_from_slice(bytes);
  }

  /// Bytes buffered that do not (yet) form a complete frame.
  pub fn has_partial(&self) -> bool {
    !self.buf.is_empty()
  }

  pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
    if self.buf.len() < 3 {
      return Ok(None);
    }
    let len =
      (usize::from(self.buf[0]) << 16) | (usize::from(self.buf[1]) << 8) | usize::from(self.buf[2]);
    if len == 0 {
      return Err(FrameError::ZeroLength);
    }
    if len > MAX_FRAME_BYTES {
      return Err(FrameError::TooLarge(len));
    }
    if self.buf.len() < 3 + len {
      return Ok(None);
    }
    self.buf.advance(3);
    let flag = self.buf.get_u8();
    let payload = self.buf.split_to(len - 1).freeze();
    Ok(Some(Frame {
      terminal: flag & TERMINAL != 0,
      compression: (flag & COMPRESSION_MASK) >> 5,
      payload,
    }))
  }
}

pub fn encode(payload: &[u8]) -> Bytes {
  encode_with_flag(0, payload)
}

fn encode_with_flag(flag: u8, payload: &[u8]) -> Bytes {
  let len = payload.len() + 1;
  let mut out = BytesMut::with_capacity(3 + len);
  out.put_u8((len >> 16) as u8);
  out.put_u8((len >> 8) as u8);
  out.put_u8(len as u8);
  out.put_u8(flag);
  out.extend_from_slice(payload);
  out.freeze()
}

/// Terminal error frame: status + `{"code","message"}`.
pub fn terminal(status: u16, code: &str, message: &str) -> Bytes {
  let body = serde_json::json!({ "code": code, "message": message }).to_string();
  let mut payload = Vec::with_capacity(2 + body.len());
  payload.extend_from_slice(&status.to_be_bytes());
  payload.extend_from_slice(body.as_bytes());
  encode_with_flag(TERMINAL, &payload)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn roundtrip_split_at_every_byte() {
    let mut wire = Vec::new();
    wire.extend_from_slice(&encode(b"hello"));
    wire.extend_from_slice(&encode(b""));
    wire.extend_from_slice(&terminal(503, "unavailable", "down"));
    for split in 0..=wire.len() {
      let mut d = FrameDecoder::default();
      let mut frames = Vec::new();
      for part in [&wire[..split], &wire[split..]] {
        d.push(part);
        while let Some(f) = d.next_frame().unwrap() {
          frames.push(f);
        }
      }
      assert_eq!(frames.len(), 3, "split {split}");
      assert_eq!(&frames[0].payload[..], b"hello");
      assert!(!frames[0].terminal);
      assert!(frames[1].payload.is_empty());
      assert!(frames[2].terminal);
      assert_eq!(&frames[2].payload[..2], &503u16.to_be_bytes());
      assert!(!d.has_partial());
    }
  }

  #[test]
  fn header_layout() {
    assert_eq!(&encode(b"ab")[..], &[0, 0, 3, 0, b'a', b'b']);
    assert_eq!(terminal(400, "x", "y")[3], 0x80);
  }

  #[test]
  fn bad_lengths_and_compression_bits() {
    let mut d = FrameDecoder::default();
    d.push(&[0, 0, 0, 0]);
    assert_eq!(d.next_frame(), Err(FrameError::ZeroLength));
    let mut d = FrameDecoder::default();
    d.push(&[0x20, 0, 1]);
    assert_eq!(d.next_frame(), Err(FrameError::TooLarge(0x200001)));
    let mut d = FrameDecoder::default();
    d.push(&[0, 0, 1, 0x40]);
    assert_eq!(d.next_frame().unwrap().unwrap().compression, 2);
  }
}
