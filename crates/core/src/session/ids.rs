//! Random identifiers with the shapes the reference uses (protocol.md §14).

use rand::Rng;

const NANOID_ALPHABET: &[u8; 64] =
  b"useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";
const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `nanoid(len)`: `[A-Za-z0-9_-]`, used for `.out` envelope ids (7) and `X-Part-Id` (21).
pub fn nanoid(len: usize) -> String {
  let mut rng = rand::rng();
  (0..len)
    .map(|_| NANOID_ALPHABET[rng.random_range(0..64)] as char)
    .collect()
}

/// AI SDK `generateId()`: 16 chars of `[0-9A-Za-z]`, the turn's assistant message id.
pub fn message_id() -> String {
  let mut rng = rand::rng();
  (0..16)
    .map(|_| ALNUM[rng.random_range(0..62)] as char)
    .collect()
}

/// RFC 4122 version-4 UUID, lower-case (the idempotency key of one logical API call).
pub fn uuid_v4() -> String {
  let mut b: [u8; 16] = rand::rng().random();
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  let h = |s: &[u8]| s.iter().map(|x| format!("{x:02x}")).collect::<String>();
  format!(
    "{}-{}-{}-{}-{}",
    h(&b[0..4]),
    h(&b[4..6]),
    h(&b[6..8]),
    h(&b[8..10]),
    h(&b[10..16])
  )
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn shapes() {
    let n = nanoid(21);
    assert_eq!(n.len(), 21);
    assert!(n
      .bytes()
      .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'));
    let m = message_id();
    assert_eq!(m.len(), 16);
    assert!(m.bytes().all(|c| c.is_ascii_alphanumeric()));
    let u = uuid_v4();
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4");
    assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
  }
}
