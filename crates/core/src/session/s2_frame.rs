//! S2S framing (docs/protocol.md §3.3), shared by the S2 writer here and the local plane's S2 server:
//! `[3-byte BE length L][1 flag byte][L-1 payload bytes]`, where L counts the flag byte.
//! Flag bit 7 = terminal, bits 6-5 = compression (00 none, 01 zstd, 10 gzip). A terminal
//! frame's payload is a 2-byte BE HTTP status followed by a JSON body `{"code","message"}`.

use bytes::{Buf, BufMut, Bytes, BytesMut};

pub const MAX_FRAME_BYTES: usize = 2 * 1024 * 1024;
const TERMINAL_FLAG: u8 = 0x80;
const COMPRESSION_MASK: u8 = 0x60;

/// One decoded frame; `payload` excludes the flag byte.
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

impl std::error::Error for FrameError {}

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
      terminal: flag & TERMINAL_FLAG != 0,
      compression: (flag & COMPRESSION_MASK) >> 5,
      payload,
    }))
  }
}

/// A data frame carrying `payload` as is.
pub fn encode(payload: &[u8]) -> Bytes {
  let mut out = frame_with_header(0, payload.len());
  out.extend_from_slice(payload);
  out.freeze()
}

/// A data frame carrying `message`, protobuf-encoded straight into the frame buffer.
pub fn encode_message(message: &impl prost::Message) -> Bytes {
  let mut out = frame_with_header(0, message.encoded_len());
  message.encode(&mut out).expect("BytesMut grows");
  out.freeze()
}

/// Terminal error frame: status + `{"code","message"}`.
pub fn terminal(status: u16, code: &str, message: &str) -> Bytes {
  terminal_json(
    status,
    &serde_json::json!({ "code": code, "message": message }),
  )
}

/// Terminal error frame whose JSON body may carry more than `code` and `message`.
pub fn terminal_json(status: u16, body: &serde_json::Value) -> Bytes {
  let body = body.to_string();
  let mut out = frame_with_header(TERMINAL_FLAG, 2 + body.len());
  out.put_u16(status);
  out.extend_from_slice(body.as_bytes());
  out.freeze()
}

/// A buffer holding the length prefix and flag byte, with room for `payload_len` more bytes.
fn frame_with_header(flag: u8, payload_len: usize) -> BytesMut {
  let len = payload_len + 1;
  let mut out = BytesMut::with_capacity(3 + len);
  out.put_u8((len >> 16) as u8);
  out.put_u8((len >> 8) as u8);
  out.put_u8(len as u8);
  out.put_u8(flag);
  out
}

/// The error a terminal frame's payload carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalError {
  pub status: u16,
  pub code: Option<String>,
  pub message: String,
}

/// Decodes a terminal frame's payload. A body that is not the expected JSON still yields the
/// status, with a generic message: the status alone decides whether the writer retries.
pub fn decode_terminal(payload: &[u8]) -> Result<TerminalError, &'static str> {
  let [high, low, body @ ..] = payload else {
    return Err("short S2S terminal frame");
  };
  let json: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
  let field = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_string);
  Ok(TerminalError {
    status: u16::from_be_bytes([*high, *low]),
    code: field("code"),
    message: field("message").unwrap_or_else(|| "S2 error".to_string()),
  })
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
      assert_eq!(
        decode_terminal(&frames[2].payload),
        Ok(TerminalError {
          status: 503,
          code: Some("unavailable".into()),
          message: "down".into()
        })
      );
      assert!(!d.has_partial());
    }
  }

  #[test]
  fn header_layout() {
    assert_eq!(&encode(b"ab")[..], &[0, 0, 3, 0, b'a', b'b']);
    let t = terminal(400, "x", "y");
    assert_eq!(&t[..6], &[0, 0, (t.len() - 3) as u8, 0x80, 0x01, 0x90]);
    assert_eq!(&t[6..], br#"{"code":"x","message":"y"}"#);
    let input = super::super::s2_proto::StreamPosition {
      seq_num: 7,
      timestamp: 9,
    };
    assert_eq!(
      encode_message(&input),
      encode(&prost::Message::encode_to_vec(&input))
    );
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

  #[test]
  fn terminal_payloads() {
    assert_eq!(decode_terminal(&[1]), Err("short S2S terminal frame"));
    let bare = decode_terminal(&[0x01, 0xF7, b'x']).unwrap();
    assert_eq!(
      (bare.status, bare.code, &bare.message[..]),
      (503, None, "S2 error")
    );
    let detailed = terminal_json(
      416,
      &serde_json::json!({ "code": "range", "message": "m", "tail": 3 }),
    );
    let mut d = FrameDecoder::default();
    d.push(&detailed);
    let frame = d.next_frame().unwrap().unwrap();
    assert_eq!(&frame.payload[..2], &416u16.to_be_bytes());
    assert_eq!(
      &frame.payload[2..],
      br#"{"code":"range","message":"m","tail":3}"#
    );
  }
}
