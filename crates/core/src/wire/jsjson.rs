//! JSON output that is byte-identical to JavaScript's `JSON.stringify(JSON.parse(text))`.
//!
//! The reference handler parses the browser body with `req.json()` and later sends it inside
//! `JSON.stringify(...)`. That round trip normalises the text: whitespace disappears, numbers are
//! printed by `Number.prototype.toString` (`1.0` → `1`, `1E5` → `100000`, `1e21` → `1e+21`),
//! escapes are re-chosen (`\/` → `/`, `\u0041` → `A`), duplicate keys collapse (last value, first
//! position) and array-index keys (`"0"`, `"17"`) move to the front of their object in ascending
//! order. To stay byte-exact without paying for a parse tree on every request, text that is
//! already in that canonical form — everything `JSON.stringify` itself produced, i.e. all real
//! `TriggerChatTransport` traffic — is detected by one allocation-free scan and copied verbatim;
//! anything else goes through a `serde_json::Value` tree and a writer with JavaScript's rules.
//!
//! Known gap (documented, not emulated): numbers outside the f64 range (`1e400`) and lone UTF-16
//! surrogate escapes (`"\ud800"`) are rejected by serde_json, whereas JavaScript would turn them
//! into `null` / a lone surrogate. Such text is reported as invalid JSON.

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::convert::Infallible;

/// Appends `s` as a JSON string literal exactly as `JSON.stringify` writes it: `"` and `\`
/// escaped, `\b \f \n \r \t` short escapes, other C0 controls as `\u00xx` (lower-case hex),
/// everything else (including DEL, U+2028 and U+2029) verbatim.
pub fn write_js_string(out: &mut Vec<u8>, s: &str) {
  const HEX: &[u8; 16] = b"0123456789abcdef";
  let bytes = s.as_bytes();
  out.reserve(bytes.len() + 2);
  out.push(b'"');
  let mut run_start = 0;
  for (i, &b) in bytes.iter().enumerate() {
    let short = match b {
      b'"' => b'"',
      b'\\' => b'\\',
      0x08 => b'b',
      0x0c => b'f',
      b'\n' => b'n',
      b'\r' => b'r',
      b'\t' => b't',
      0x00..=0x1f => 0,
      _ => continue,
    };
    out.extend_from_slice(&bytes[run_start..i]);
    run_start = i + 1;
    if short != 0 {
      out.extend_from_slice(&[b'\\', short]);
    } else {
      out.extend_from_slice(&[
        b'\\',
        b'u',
        b'0',
        b'0',
        HEX[(b >> 4) as usize],
        HEX[(b & 0xf) as usize],
      ]);
    }
  }
  out.extend_from_slice(&bytes[run_start..]);
  out.push(b'"');
}

/// Appends `value` the way `JSON.stringify` prints a number (ECMAScript `Number::toString`):
/// shortest round-trip digits, plain notation for exponents in `[-7, 21)`, otherwise `d.ddde±x`.
/// `-0` prints as `0`; non-finite values print as `null` (what `JSON.stringify` does).
pub fn write_js_number(out: &mut Vec<u8>, value: f64) {
  if !value.is_finite() {
    out.extend_from_slice(b"null");
    return;
  }
  out.extend_from_slice(ryu_js::Buffer::new().format_finite(value).as_bytes());
}

fn write_serde_number(out: &mut Vec<u8>, number: &serde_json::Number) {
  // Integers within ±2^53 print identically in JavaScript; larger ones are rounded to f64 first,
  // exactly like `JSON.parse` does.
  const SAFE: u64 = 1 << 53;
  if let Some(u) = number.as_u64().filter(|u| *u <= SAFE) {
    out.extend_from_slice(u.to_string().as_bytes());
  } else if let Some(i) = number.as_i64().filter(|i| i.unsigned_abs() <= SAFE) {
    out.extend_from_slice(i.to_string().as_bytes());
  } else {
    write_js_number(out, number.as_f64().unwrap_or(f64::NAN));
  }
}

/// The array-index value of an object key, if JavaScript treats it as one (canonical decimal,
/// below 2^32 − 1). Such keys are enumerated first, in ascending numeric order.
pub fn array_index(key: &str) -> Option<u32> {
  let bytes = key.as_bytes();
  if bytes.is_empty() || bytes.len() > 10 || (bytes.len() > 1 && bytes[0] == b'0') {
    return None;
  }
  if !bytes.iter().all(u8::is_ascii_digit) {
    return None;
  }
  let value: u64 = key.parse().ok()?;
  (value < u32::MAX as u64).then_some(value as u32)
}

/// Orders `(key, value)` pairs the way JavaScript enumerates an ordinary object's own keys:
/// array indices ascending, then every other key in insertion order. Stable and allocation-free
/// when there is no array-index key (the common case).
fn js_key_order<K: AsRef<str>, V>(entries: &mut [(K, V)]) {
  if entries
    .iter()
    .any(|(k, _)| array_index(k.as_ref()).is_some())
  {
    entries.sort_by_key(|(k, _)| array_index(k.as_ref()).map_or((1, 0), |i| (0, i)));
  }
}

/// Appends a `serde_json::Value` exactly as `JSON.stringify` would print the equivalent JS value.
pub fn write_js_value(out: &mut Vec<u8>, value: &Value) {
  match value {
    Value::Null => out.extend_from_slice(b"null"),
    Value::Bool(true) => out.extend_from_slice(b"true"),
    Value::Bool(false) => out.extend_from_slice(b"false"),
    Value::Number(n) => write_serde_number(out, n),
    Value::String(s) => write_js_string(out, s),
    Value::Array(items) => {
      out.push(b'[');
      for (i, item) in items.iter().enumerate() {
        if i > 0 {
          out.push(b',');
        }
        write_js_value(out, item);
      }
      out.push(b']');
    }
    Value::Object(map) => write_js_object(out, map),
  }
}

fn write_js_object(out: &mut Vec<u8>, map: &Map<String, Value>) {
  let entries = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
  let Ok(()) = write_js_object_with(out, entries, |out, value| {
    write_js_value(out, value);
    Ok::<(), Infallible>(())
  });
}

/// Appends `{"key":value,…}` with the keys in JavaScript's enumeration order (`js_key_order`),
/// each value written by `write_value`.
pub fn write_js_object_with<V, E>(
  out: &mut Vec<u8>,
  mut entries: Vec<(&str, V)>,
  mut write_value: impl FnMut(&mut Vec<u8>, V) -> Result<(), E>,
) -> Result<(), E> {
  js_key_order(&mut entries);
  out.push(b'{');
  for (i, (key, value)) in entries.into_iter().enumerate() {
    if i > 0 {
      out.push(b',');
    }
    write_js_string(out, key);
    out.push(b':');
    write_value(out, value)?;
  }
  out.push(b'}');
  Ok(())
}

/// Appends the `JSON.stringify(JSON.parse(raw))` form of already-validated JSON text.
/// Canonical text (the overwhelmingly common case) is copied verbatim.
pub fn write_canonical(out: &mut Vec<u8>, raw: &RawValue) -> Result<(), serde_json::Error> {
  let text = raw.get();
  if is_canonical(text.as_bytes()) {
    out.extend_from_slice(text.as_bytes());
    return Ok(());
  }
  let value: Value = serde_json::from_str(text)?;
  write_js_value(out, &value);
  Ok(())
}

/// Whether valid JSON `text` is already exactly what `JSON.stringify(JSON.parse(text))` prints.
/// Conservative: `false` only costs a slower (still correct) path.
pub fn is_canonical(text: &[u8]) -> bool {
  let mut scanner = CanonicalScanner {
    text,
    pos: 0,
    key_stack: Vec::new(),
  };
  scanner.value(0) && scanner.pos == text.len()
}

struct CanonicalScanner<'a> {
  text: &'a [u8],
  pos: usize,
  /// Keys seen per open object (reused across objects at the same depth), to spot duplicates.
  key_stack: Vec<Vec<&'a [u8]>>,
}

impl<'a> CanonicalScanner<'a> {
  fn peek(&self) -> Option<u8> {
    self.text.get(self.pos).copied()
  }

  fn value(&mut self, depth: usize) -> bool {
    // serde_json already bounded nesting at 128; this guard keeps the scanner safe on its own.
    if depth > 512 {
      return false;
    }
    match self.peek() {
      Some(b'{') => self.object(depth),
      Some(b'[') => self.array(depth),
      Some(b'"') => self.string().is_some(),
      Some(b't') => self.literal(b"true"),
      Some(b'f') => self.literal(b"false"),
      Some(b'n') => self.literal(b"null"),
      Some(b'-' | b'0'..=b'9') => self.number(),
      _ => false, // whitespace or invalid
    }
  }

  fn literal(&mut self, word: &[u8]) -> bool {
    if self.text[self.pos..].starts_with(word) {
      self.pos += word.len();
      true
    } else {
      false
    }
  }

  fn array(&mut self, depth: usize) -> bool {
    self.pos += 1;
    if self.peek() == Some(b']') {
      self.pos += 1;
      return true;
    }
    loop {
      if !self.value(depth + 1) {
        return false;
      }
      match self.peek() {
        Some(b',') => self.pos += 1,
        Some(b']') => {
          self.pos += 1;
          return true;
        }
        _ => return false,
      }
    }
  }

  fn object(&mut self, depth: usize) -> bool {
    self.pos += 1;
    if self.peek() == Some(b'}') {
      self.pos += 1;
      return true;
    }
    if self.key_stack.len() <= depth {
      self.key_stack.resize_with(depth + 1, Vec::new);
    }
    self.key_stack[depth].clear();
    loop {
      let Some(key) = self.string() else {
        return false;
      };
      if is_array_index_bytes(key) {
        return false;
      }
      let seen = &mut self.key_stack[depth];
      if seen.contains(&key) {
        return false;
      }
      seen.push(key);
      if self.peek() != Some(b':') {
        return false;
      }
      self.pos += 1;
      if !self.value(depth + 1) {
        return false;
      }
      match self.peek() {
        Some(b',') => self.pos += 1,
        Some(b'}') => {
          self.pos += 1;
          return true;
        }
        _ => return false,
      }
    }
  }

  /// Scans a canonical string literal and returns its raw content (between the quotes).
  fn string(&mut self) -> Option<&'a [u8]> {
    let text = self.text;
    if text.get(self.pos) != Some(&b'"') {
      return None;
    }
    let start = self.pos + 1;
    let mut i = start;
    loop {
      match *text.get(i)? {
        b'"' => {
          self.pos = i + 1;
          return Some(&text[start..i]);
        }
        b'\\' => {
          match *text.get(i + 1)? {
            b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
            b'u' => {
              // Canonical only for C0 controls without a short form and for lone surrogates
              // (JSON.stringify's well-formed output), always lower-case hex.
              let hex = text.get(i + 2..i + 6)?;
              if !hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return None;
              }
              let code = u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
              match code {
                0x08 | 0x09 | 0x0a | 0x0c | 0x0d => return None,
                0x00..=0x1f => {}
                0xd800..=0xdbff => {
                  // A high surrogate followed by a low-surrogate escape is a pair, written raw.
                  if surrogate_escape(text.get(i + 6..i + 12))
                    .is_some_and(|c| (0xdc00..=0xdfff).contains(&c))
                  {
                    return None;
                  }
                }
                // A low surrogate reached here is lone: a preceding high one bailed out above.
                0xdc00..=0xdfff => {}
                _ => return None,
              }
              i += 6;
            }
            _ => return None, // `\/` and anything else JSON.stringify never writes
          }
        }
        0x00..=0x1f => return None,
        _ => i += 1,
      }
    }
  }

  fn number(&mut self) -> bool {
    let text = self.text;
    let start = self.pos;
    let mut i = start;
    if text[i] == b'-' {
      i += 1;
    }
    let int_start = i;
    while i < text.len() && text[i].is_ascii_digit() {
      i += 1;
    }
    let int_digits = i - int_start;
    let mut plain_integer = true;
    if i < text.len() && text[i] == b'.' {
      plain_integer = false;
      i += 1;
      while i < text.len() && text[i].is_ascii_digit() {
        i += 1;
      }
    }
    if i < text.len() && matches!(text[i], b'e' | b'E') {
      plain_integer = false;
      i += 1;
      if i < text.len() && matches!(text[i], b'+' | b'-') {
        i += 1;
      }
      while i < text.len() && text[i].is_ascii_digit() {
        i += 1;
      }
    }
    self.pos = i;
    let raw = &text[start..i];
    if int_digits == 0 || (int_digits > 1 && text[int_start] == b'0') {
      return false;
    }
    if plain_integer && int_digits <= 15 && raw != b"-0" {
      return true;
    }
    // Rare: compare with what JavaScript would print.
    let Some(parsed) = std::str::from_utf8(raw)
      .ok()
      .and_then(|s| s.parse::<f64>().ok())
    else {
      return false;
    };
    let mut printed = Vec::with_capacity(24);
    write_js_number(&mut printed, parsed);
    printed == raw
  }
}

/// The code unit of a `\uXXXX` escape (any hex case) spanning exactly `slice`.
fn surrogate_escape(slice: Option<&[u8]>) -> Option<u16> {
  let slice = slice?;
  if slice.len() != 6 || slice[0] != b'\\' || slice[1] != b'u' {
    return None;
  }
  u16::from_str_radix(std::str::from_utf8(&slice[2..]).ok()?, 16).ok()
}

fn is_array_index_bytes(raw_key: &[u8]) -> bool {
  raw_key.first().is_some_and(u8::is_ascii_digit)
    && std::str::from_utf8(raw_key)
      .ok()
      .and_then(array_index)
      .is_some()
}

#[cfg(test)]
mod tests {
  use super::*;

  fn num(v: f64) -> String {
    let mut out = Vec::new();
    write_js_number(&mut out, v);
    String::from_utf8(out).unwrap()
  }

  fn canon(text: &str) -> String {
    let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
    let mut out = Vec::new();
    write_canonical(&mut out, &raw).unwrap();
    String::from_utf8(out).unwrap()
  }

  #[test]
  fn numbers_print_like_number_to_string() {
    let cases: &[(f64, &str)] = &[
      (1.0, "1"),
      (-0.0, "0"),
      (0.1, "0.1"),
      (123.456, "123.456"),
      (1e21, "1e+21"),
      (1e20, "100000000000000000000"),
      (123456789012345680000.0, "123456789012345680000"),
      (1.5e-7, "1.5e-7"),
      (0.000001, "0.000001"),
      (1e-7, "1e-7"),
      (5e-324, "5e-324"),
      (1.7976931348623157e308, "1.7976931348623157e+308"),
      (-2.5e25, "-2.5e+25"),
      (9007199254740993.0, "9007199254740992"),
      (f64::NAN, "null"),
      (f64::INFINITY, "null"),
      (f64::NEG_INFINITY, "null"),
      (0.1 + 0.2, "0.30000000000000004"),
      (-0.000001, "-0.000001"),
      (-1e-7, "-1e-7"),
      (1e-6 * 1.5, "0.0000015"),
      (100.0, "100"),
      // The largest double below 1e21 still prints in plain notation.
      (
        f64::from_bits(1e21f64.to_bits() - 1),
        "999999999999999900000",
      ),
      (-1e21, "-1e+21"),
      (1.23e-18, "1.23e-18"),
      (-5e-324, "-5e-324"),
      (2.2250738585072014e-308, "2.2250738585072014e-308"),
      // Integers around 2^53: exact up to it, rounded to the nearest even double beyond.
      (9007199254740991.0, "9007199254740991"),
      (-9007199254740991.0, "-9007199254740991"),
      (9007199254740992.0, "9007199254740992"),
      (9007199254740994.0, "9007199254740994"),
      (9007199254740995.0, "9007199254740996"),
      (18014398509481984.0, "18014398509481984"),
    ];
    for (value, expected) in cases {
      assert_eq!(num(*value), *expected, "{value:e}");
    }
  }

  #[test]
  fn strings_escape_like_json_stringify() {
    let mut out = Vec::new();
    write_js_string(
      &mut out,
      "a\"b\\c\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}\u{2028}é😀/",
    );
    assert_eq!(
      String::from_utf8(out).unwrap(),
      "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f\u{7f}\u{2028}é😀/\""
    );
  }

  #[test]
  fn canonical_text_is_copied_verbatim() {
    for text in [
      r#"{"a":1,"b":[true,false,null],"c":"x\"\\\n\u0001y","d":-1.5,"e":{}}"#,
      r#"[1e+21,1e-7,0.5,123456789012345]"#,
      r#""plain""#,
    ] {
      assert!(is_canonical(text.as_bytes()), "{text}");
      assert_eq!(canon(text), text);
    }
  }

  #[test]
  fn non_canonical_text_is_normalised_like_javascript() {
    let cases = [
      (
        " { \"a\" : 1.0 , \"b\" : [ 1E5 ] } ",
        r#"{"a":1,"b":[100000]}"#,
      ),
      (r#"{"a":1,"b":2,"a":3}"#, r#"{"a":3,"b":2}"#),
      (
        r#"{"b":1,"10":2,"2":3,"a":4,"01":5}"#,
        r#"{"2":3,"10":2,"b":1,"a":4,"01":5}"#,
      ),
      (
        r#""\/\u0041\u00e9\ud83d\ude00\u001F\u000a""#,
        "\"/Aé😀\\u001f\\n\"",
      ),
      (
        "[-0,1e21,12345678901234567890]",
        "[0,1e+21,12345678901234567000]",
      ),
      (
        r#"{"4294967295":1,"4294967294":2}"#,
        r#"{"4294967294":2,"4294967295":1}"#,
      ),
    ];
    for (input, expected) in cases {
      assert!(!is_canonical(input.as_bytes()), "{input}");
      assert_eq!(canon(input), expected, "{input}");
    }
  }

  #[test]
  fn lone_surrogate_escapes_are_canonical_pairs_are_not() {
    assert!(is_canonical(br#""a\ud800b""#));
    assert!(is_canonical(br#""\udc00\ud800""#));
    assert!(!is_canonical(br#""\ud83d\ude00""#));
    assert!(!is_canonical(br#""\uD800""#));
    assert!(!is_canonical(br#""\u0041""#));
    // A preceding escaped backslash is not a surrogate escape.
    assert!(is_canonical(br#""\\ud800\udc00""#));
  }

  #[test]
  fn array_indices() {
    assert_eq!(array_index("0"), Some(0));
    assert_eq!(array_index("4294967294"), Some(4294967294));
    assert_eq!(array_index("4294967295"), None);
    assert_eq!(array_index("01"), None);
    assert_eq!(array_index("-1"), None);
    assert_eq!(array_index("1.5"), None);
    assert_eq!(array_index(""), None);
  }
}
