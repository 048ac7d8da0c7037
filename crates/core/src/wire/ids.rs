//! Ids with the reference's shapes (docs/protocol.md §14): `nanoid()` part ids (21 × `[A-Za-z0-9_-]`),
//! `nanoid(7)` envelope ids, AI SDK `generateId()` message ids (16 × `[0-9A-Za-z]`), and UUID v4
//! idempotency keys. The one generator of the workspace: the local plane's ids and tokens come
//! from here too. Thread-local CSPRNG (`rand::rng()`); never per-token hot.

use rand::{Rng, RngCore};

/// nanoid's URL-safe alphabet (64 symbols, so `byte & 63` is unbiased).
const URL_ALPHABET: &[u8; 64] = b"useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";
const ALPHANUMERIC: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `nanoid(len)`: `len` symbols of `[A-Za-z0-9_-]`.
pub fn nanoid(len: usize) -> String {
  let mut bytes = vec![0u8; len];
  rand::rng().fill_bytes(&mut bytes);
  bytes
    .iter()
    .map(|b| URL_ALPHABET[(b & 63) as usize] as char)
    .collect()
}

/// `X-Part-Id` of a handler `.in` append: `nanoid()` (21 symbols).
pub fn part_id() -> String {
  nanoid(21)
}

/// The `id` of a `session.out` record envelope: `nanoid(7)`.
pub fn envelope_id() -> String {
  nanoid(7)
}

/// `len` symbols of `[0-9A-Za-z]` (the shape of the AI SDK's `generateId()`).
pub fn alnum(len: usize) -> String {
  let mut rng = rand::rng();
  (0..len)
    .map(|_| ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())] as char)
    .collect()
}

/// AI SDK `generateId()`: 16 symbols of `[0-9A-Za-z]`, the turn's assistant message id.
pub fn generate_message_id() -> String {
  alnum(16)
}

/// A random (v4) UUID in lower-case hyphenated form, e.g. for `x-trigger-request-idempotency-key`.
pub fn uuid_v4() -> String {
  uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::collections::HashSet;

  #[test]
  fn shapes() {
    let url_safe = |s: &str| {
      s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    assert!((0..200)
      .map(|_| part_id())
      .all(|id| id.len() == 21 && url_safe(&id)));
    assert!((0..200)
      .map(|_| envelope_id())
      .all(|id| id.len() == 7 && url_safe(&id)));
    assert!((0..200)
      .map(|_| generate_message_id())
      .all(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_alphanumeric())));
    for _ in 0..200 {
      let id = uuid_v4();
      let groups: Vec<&str> = id.split('-').collect();
      assert_eq!(
        groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
      );
      assert!(groups[2].starts_with('4'));
      assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
      assert!(id
        .bytes()
        .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
  }

  #[test]
  fn alphabets_are_complete_and_ids_vary() {
    assert_eq!(URL_ALPHABET.iter().collect::<HashSet<_>>().len(), 64);
    assert_eq!(ALPHANUMERIC.iter().collect::<HashSet<_>>().len(), 62);
    // Every symbol shows up over many draws (a biased or truncated alphabet would not).
    let seen: HashSet<char> = (0..400)
      .flat_map(|_| part_id().chars().collect::<Vec<_>>())
      .collect();
    assert_eq!(seen.len(), 64);
    let seen: HashSet<char> = (0..400)
      .flat_map(|_| generate_message_id().chars().collect::<Vec<_>>())
      .collect();
    assert_eq!(seen.len(), 62);
    let ids: HashSet<String> = (0..1000).map(|_| uuid_v4()).collect();
    assert_eq!(ids.len(), 1000);
  }
}
