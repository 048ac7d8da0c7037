//! The API's precise size cap for `.in/append` (docs/protocol.md §4.4): the raw request body is
//! stored as `JSON.stringify({data: <body as a string>, id: <partId>})`, and S2 meters a record
//! without headers as `8 + byte length`. The API answers 413 above [`S2_RECORD_LIMIT`].

/// S2's per-record limit in metered bytes (inclusive).
pub const S2_RECORD_LIMIT: usize = 1_048_576;

/// `{"data":"` + `","id":"` + `"}`.
const ENVELOPE_OVERHEAD: usize = 19;
/// S2's fixed per-record metering overhead.
const RECORD_OVERHEAD: usize = 8;

/// Extra bytes `JSON.stringify` spends on each byte of a string beyond the byte itself:
/// 1 for `"`, `\` and the short escapes (`\b \t \n \f \r`), 5 for other C0 controls
/// (`\u00xx`), 0 otherwise (U+2028/U+2029 and DEL are not escaped).
const ESCAPE_EXTRA: [u8; 256] = {
  let mut table = [0u8; 256];
  let mut b = 0;
  while b < 0x20 {
    table[b] = 5;
    b += 1;
  }
  table[0x08] = 1;
  table[0x09] = 1;
  table[0x0a] = 1;
  table[0x0c] = 1;
  table[0x0d] = 1;
  table[b'"' as usize] = 1;
  table[b'\\' as usize] = 1;
  table
};

fn escaped_len_valid(text: &[u8]) -> usize {
  text.len()
    + text
      .iter()
      .map(|&b| ESCAPE_EXTRA[b as usize] as usize)
      .sum::<usize>()
}

/// UTF-8 length of `JSON.stringify(s)` without the quotes, where `s` is `bytes` decoded the way
/// the API reads a request body (invalid sequences become U+FFFD, 3 bytes each).
pub fn json_string_content_len(bytes: &[u8]) -> usize {
  bytes
    .utf8_chunks()
    .map(|chunk| {
      escaped_len_valid(chunk.valid().as_bytes()) + if chunk.invalid().is_empty() { 0 } else { 3 }
    })
    .sum()
}

/// Metered size of the S2 record the API would store for an `.in/append` with this raw body and
/// `X-Part-Id`: `8 + utf8_len(JSON.stringify({data: rawBody, id: partId}))`.
pub fn in_append_metered_size(raw_body: &[u8], part_id: &str) -> usize {
  RECORD_OVERHEAD
    + ENVELOPE_OVERHEAD
    + json_string_content_len(raw_body)
    + json_string_content_len(part_id.as_bytes())
}

/// Whether the API accepts this append without a 413.
pub fn fits_in_append(raw_body: &[u8], part_id: &str) -> bool {
  in_append_metered_size(raw_body, part_id) <= S2_RECORD_LIMIT
}

#[cfg(test)]
mod tests {
  use super::*;

  const PART_ID: &str = "V1StGXR8_Z5jdHi6B-myT"; // 21 chars, like nanoid()

  /// Oracle by construction: build the envelope with the JSON.stringify-exact writer.
  fn envelope_len(body: &str, id: &str) -> usize {
    let mut out = b"{\"data\":".to_vec();
    crate::wire::jsjson::write_js_string(&mut out, body);
    out.extend_from_slice(b",\"id\":");
    crate::wire::jsjson::write_js_string(&mut out, id);
    out.push(b'}');
    8 + out.len()
  }

  #[test]
  fn matches_the_envelope_for_every_escape_class() {
    for body in [
      "",
      "plain",
      r#"{"kind":"handover-skip"}"#,
      "quote \" backslash \\ newline \n tab \t cr \r bs \u{8} ff \u{c}",
      "controls \u{0} \u{1} \u{1f} del \u{7f}",
      "unicode é 😀 \u{2028}\u{2029}",
    ] {
      assert_eq!(
        in_append_metered_size(body.as_bytes(), PART_ID),
        envelope_len(body, PART_ID),
        "{body:?}"
      );
    }
    assert_eq!(in_append_metered_size(b"", ""), 27);
    assert_eq!(in_append_metered_size(b"", PART_ID), 48);
  }

  #[test]
  fn invalid_utf8_counts_as_replacement_characters() {
    // 0xFF → U+FFFD; a truncated 3-byte sequence E2 82 → one U+FFFD (maximal subpart).
    assert_eq!(in_append_metered_size(b"a\xFFb", ""), 27 + 1 + 3 + 1);
    assert_eq!(in_append_metered_size(b"\xE2\x82", ""), 27 + 3);
    assert_eq!(in_append_metered_size(b"\xE2\x82\xAC", ""), 27 + 3); // a valid "€"
  }

  #[test]
  #[cfg_attr(
    miri,
    ignore = "1 MiB inputs take too long under Miri; the native run has it"
  )]
  fn boundary_is_inclusive_at_exactly_1048576() {
    let room = S2_RECORD_LIMIT - in_append_metered_size(b"", PART_ID); // bytes available for the body
    assert_eq!(room, 1_048_528);
    let exact = "a".repeat(room);
    assert_eq!(
      in_append_metered_size(exact.as_bytes(), PART_ID),
      S2_RECORD_LIMIT
    );
    assert!(fits_in_append(exact.as_bytes(), PART_ID));
    let over = "a".repeat(room + 1);
    assert_eq!(
      in_append_metered_size(over.as_bytes(), PART_ID),
      S2_RECORD_LIMIT + 1
    );
    assert!(!fits_in_append(over.as_bytes(), PART_ID));

    // With escapes: each `"` costs 2, each \u0001 costs 6.
    let mut escaped = "\"".repeat(1000) + &"\u{1}".repeat(1000);
    escaped.push_str(&"a".repeat(room - 2000 - 6000));
    assert_eq!(
      in_append_metered_size(escaped.as_bytes(), PART_ID),
      S2_RECORD_LIMIT
    );
    escaped.push('"');
    assert_eq!(
      in_append_metered_size(escaped.as_bytes(), PART_ID),
      S2_RECORD_LIMIT + 2
    );
    assert!(!fits_in_append(escaped.as_bytes(), PART_ID));
    assert_eq!(envelope_len(&escaped, PART_ID), S2_RECORD_LIMIT + 2);
  }
}
