//! The S2S frame decoder (`session::s2_frame`) and the append session's server-frame decoder
//! (`session::s2::ServerFrameDecoder`, acks and terminals) on arbitrary bytes, cut anywhere.
//!
//! Invariants: no panic; the frames and the error (if any) do not depend on how the input is
//! chunked; every frame is exactly the bytes its length prefix claims (the payload is the input
//! slice after the header); `has_partial` is true exactly when undecoded bytes remain; encoding a
//! payload or a terminal error and decoding it gives it back.
#![no_main]

use chat_headstart_core::session::s2::{ServerFrame, ServerFrameDecoder};
use chat_headstart_core::session::s2_frame::{
  decode_terminal, encode, terminal, Frame, FrameDecoder, FrameError, MAX_FRAME_BYTES,
};
use libfuzzer_sys::fuzz_target;

/// The two decoders under test, driven the same way.
trait Decoder: Default {
  type Item;
  type Error;
  fn push(&mut self, bytes: &[u8]);
  fn next(&mut self) -> Result<Option<Self::Item>, Self::Error>;
  fn partial(&self) -> bool;
}

impl Decoder for FrameDecoder {
  type Item = Frame;
  type Error = FrameError;
  fn push(&mut self, bytes: &[u8]) {
    FrameDecoder::push(self, bytes)
  }
  fn next(&mut self) -> Result<Option<Frame>, FrameError> {
    self.next_frame()
  }
  fn partial(&self) -> bool {
    self.has_partial()
  }
}

impl Decoder for ServerFrameDecoder {
  type Item = ServerFrame;
  type Error = String;
  fn push(&mut self, bytes: &[u8]) {
    ServerFrameDecoder::push(self, bytes)
  }
  fn next(&mut self) -> Result<Option<ServerFrame>, String> {
    self.next_frame()
  }
  fn partial(&self) -> bool {
    false
  }
}

/// Items, the error that stopped decoding (if any), and whether bytes were left over.
type Decoded<D> = (
  Vec<<D as Decoder>::Item>,
  Option<<D as Decoder>::Error>,
  bool,
);

/// Decodes `input` pushed in pieces ending at `cuts` (sorted, in range), draining after each push.
fn decode<D: Decoder>(input: &[u8], cuts: &[usize]) -> Decoded<D> {
  let mut decoder = D::default();
  let mut items = Vec::new();
  let mut start = 0;
  for &end in cuts.iter().chain(std::iter::once(&input.len())) {
    decoder.push(&input[start..end]);
    start = end;
    loop {
      match decoder.next() {
        Ok(Some(item)) => items.push(item),
        Ok(None) => break,
        Err(err) => return (items, Some(err), true),
      }
    }
  }
  let partial = decoder.partial();
  (items, None, partial)
}

fuzz_target!(|raw: &[u8]| {
  let Some((&seed, input)) = raw.split_first() else {
    return;
  };
  // Cut points from a xorshift seeded by the first byte: deterministic per input.
  let mut state = u32::from(seed) | 0x100;
  let mut cuts: Vec<usize> = (0..(input.len() / 4 + 1))
    .map(|_| {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      state as usize % (input.len() + 1)
    })
    .collect();
  cuts.sort_unstable();

  let whole = decode::<FrameDecoder>(input, &[]);
  assert_eq!(
    whole,
    decode::<FrameDecoder>(input, &cuts),
    "chunking changed the frames"
  );
  let bytewise: Vec<usize> = (0..input.len()).collect();
  assert_eq!(
    whole,
    decode::<FrameDecoder>(input, &bytewise),
    "byte-wise feeding changed the frames"
  );

  let (frames, error, partial) = &whole;
  let mut offset = 0;
  for frame in frames {
    let len = (usize::from(input[offset]) << 16)
      | (usize::from(input[offset + 1]) << 8)
      | usize::from(input[offset + 2]);
    assert!((1..=MAX_FRAME_BYTES).contains(&len));
    assert_eq!(frame.payload.len(), len - 1);
    let flag = input[offset + 3];
    assert_eq!(frame.terminal, flag & 0x80 != 0);
    assert_eq!(frame.compression, (flag >> 5) & 3);
    assert_eq!(&frame.payload[..], &input[offset + 4..offset + 3 + len]);
    offset += 3 + len;
    if frame.terminal {
      match decode_terminal(&frame.payload) {
        Ok(err) => {
          assert_eq!(
            err.status,
            u16::from_be_bytes([frame.payload[0], frame.payload[1]])
          );
        }
        Err(_) => assert!(frame.payload.len() < 2),
      }
    }
  }
  match error {
    Some(FrameError::ZeroLength) => assert_eq!(&input[offset..offset + 3], &[0, 0, 0]),
    Some(FrameError::TooLarge(n)) => assert!(*n > MAX_FRAME_BYTES),
    None => assert_eq!(*partial, offset < input.len()),
  }

  // The writer's decoder on top: same result however cut; an ack or terminal per good frame.
  let server_whole = decode::<ServerFrameDecoder>(input, &[]);
  let (server, server_error, _) = &server_whole;
  assert_eq!(server_whole, decode::<ServerFrameDecoder>(input, &cuts));
  assert!(server.len() <= frames.len());
  if server_error.is_none() && error.is_none() {
    assert_eq!(server.len(), frames.len());
  }

  // Round trips: the input as one data frame, and a terminal error built from it.
  if input.len() < MAX_FRAME_BYTES {
    let encoded = encode(input);
    let (decoded, decode_error, partial) = decode::<FrameDecoder>(&encoded, &[encoded.len() / 2]);
    assert!(decode_error.is_none() && !partial && decoded.len() == 1);
    assert_eq!(
      (&decoded[0].payload[..], decoded[0].terminal),
      (input, false)
    );
  }
  let text = String::from_utf8_lossy(input);
  let middle = (0..=text.len() / 2)
    .rev()
    .find(|&i| text.is_char_boundary(i))
    .unwrap_or(0);
  let (code, message) = text.split_at(middle);
  let status = u16::from(seed) * 3 + 100;
  let (decoded, decode_error, partial) =
    decode::<FrameDecoder>(&terminal(status, code, message), &[]);
  assert!(decode_error.is_none() && !partial && decoded.len() == 1 && decoded[0].terminal);
  let err = decode_terminal(&decoded[0].payload).expect("a terminal we built decodes");
  assert_eq!(
    (err.status, err.code.as_deref(), err.message.as_str()),
    (status, Some(code), message)
  );
});
