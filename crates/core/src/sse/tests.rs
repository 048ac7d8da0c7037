//! The WHATWG edge-case checklist of `docs/protocol.md` §15, item by item (the `cN_`
//! prefix is the checklist number), then chunking properties, limits and the encoder.

use super::encode::{data_frame_len, push_comment_frame, push_data_frame, push_done_frame};
use super::fuzzing::{check_input, run_chunked, OwnedItem};
use super::{SseError, SseItem, SseParser};
use proptest::prelude::*;

const BIG: usize = 1 << 20;

fn ev(event: &str, data: &str, id: Option<&str>, last: &str) -> OwnedItem {
  OwnedItem::Event {
    event: event.into(),
    data: data.into(),
    id: id.map(Into::into),
    last_event_id: last.into(),
  }
}

fn msg(data: &str) -> OwnedItem {
  ev("message", data, None, "")
}

fn comment(text: &str) -> OwnedItem {
  OwnedItem::Comment(text.into())
}

/// Feeds the chunks in order, then finishes; returns the items.
fn parse_chunks(chunks: &[&[u8]]) -> Vec<OwnedItem> {
  let mut parser = SseParser::new(BIG);
  let mut items = Vec::new();
  let mut sink = |item: SseItem<'_>| items.push(OwnedItem::from(item));
  for chunk in chunks {
    parser.feed(chunk, &mut sink).expect("feed");
  }
  parser.finish().expect("finish");
  items
}

/// Parses `input` whole, byte by byte and with every single cut, asserting all agree.
fn parse(input: &[u8]) -> Vec<OwnedItem> {
  let (whole, end) = run_chunked(input, &[], BIG);
  end.expect("finish");
  let bytewise: Vec<usize> = (0..input.len()).collect();
  assert_eq!(
    run_chunked(input, &bytewise, BIG).0,
    whole,
    "1-byte chunks differ"
  );
  for cut in 0..=input.len() {
    assert_eq!(
      run_chunked(input, &[cut, cut], BIG).0,
      whole,
      "cut at {cut} differs"
    );
  }
  whole
}

fn only_events(items: Vec<OwnedItem>) -> Vec<OwnedItem> {
  items
    .into_iter()
    .filter(|i| matches!(i, OwnedItem::Event { .. }))
    .collect()
}

#[test]
fn c1_leading_bom_is_stripped_once_however_it_arrives() {
  let expected = vec![msg("x")];
  assert_eq!(parse(b"\xEF\xBB\xBFdata: x\n\n"), expected);
  assert_eq!(parse_chunks(&[b"\xEF", b"\xBB\xBFdata: x\n\n"]), expected);
  assert_eq!(
    parse_chunks(&[b"\xEF\xBB", b"\xBF", b"data: x\n\n"]),
    expected
  );
  assert_eq!(parse_chunks(&[b"", b"\xEF\xBB\xBFdata: x\n\n"]), expected);
  assert_eq!(
    parse_chunks(&[b"", b"", b"\xEF", b"", b"\xBB\xBF", b"data: x\n\n"]),
    expected
  );
  assert_eq!(parse_chunks(&[b"\xEF\xBB\xBF", b"data: x\n\n"]), expected);
  // No BOM at all, or a BOM-like prefix that is not one: nothing is lost.
  assert_eq!(parse(b"data: x\n\n"), expected);
  assert_eq!(
    parse(b"\xEF\xBBdata: x\n\n"),
    vec![],
    "broken BOM bytes are field-name text"
  );
  assert_eq!(parse(b"\xEFdata: x\n\ndata: y\n\n"), vec![msg("y")]);
}

#[test]
fn c2_a_second_bom_is_field_name_text() {
  assert_eq!(
    parse(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n"),
    vec![msg("y")]
  );
  assert_eq!(
    parse(b"data: x\n\n\xEF\xBB\xBFdata: y\n\ndata: z\n\n"),
    vec![msg("x"), msg("z")]
  );
  // After finish() a new stream (reconnection) may start with its own BOM.
  let mut parser = SseParser::default();
  let mut items = Vec::new();
  let mut sink = |item: SseItem<'_>| items.push(OwnedItem::from(item));
  parser.feed(b"\xEF\xBB\xBFdata: a\n\n", &mut sink).unwrap();
  parser.finish().unwrap();
  parser.feed(b"\xEF\xBB\xBFdata: b\n\n", &mut sink).unwrap();
  assert_eq!(items, vec![msg("a"), msg("b")]);
}

#[test]
fn c3_latin1_lookalike_of_a_bom_is_not_a_bom() {
  // "\u00ef\u00bb\u00bf" as UTF-8 (what a JS string of those chars encodes to).
  assert_eq!(
    parse("\u{ef}\u{bb}\u{bf}data: x\n\ndata: y\n\n".as_bytes()),
    vec![msg("y")]
  );
}

#[test]
fn c4_cr_lf_and_crlf_are_all_terminators() {
  let expected = vec![msg("a\nb"), msg("c")];
  assert_eq!(parse(b"data: a\ndata: b\n\ndata: c\n\n"), expected);
  assert_eq!(parse(b"data: a\rdata: b\r\rdata: c\r\r"), expected);
  assert_eq!(
    parse(b"data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n"),
    expected
  );
  assert_eq!(parse(b"data: a\rdata: b\r\n\ndata: c\n\r"), expected);
}

#[test]
fn c5_cr_ending_a_chunk_then_lf_starting_the_next_is_one_terminator() {
  assert_eq!(
    parse_chunks(&[b"data: a\r", b"\ndata: b\r\n\r\n"]),
    vec![msg("a\nb")]
  );
  assert_eq!(parse_chunks(&[b"data: a\r\n\r", b"\n"]), vec![msg("a")]);
  // An empty chunk between does not make the LF a blank line.
  assert_eq!(
    parse_chunks(&[b"data: a\r", b"", b"\ndata: b\n\n"]),
    vec![msg("a\nb")]
  );
}

#[test]
fn c6_cr_ending_a_chunk_then_other_bytes_was_a_terminator() {
  assert_eq!(
    parse_chunks(&[b"data: a\r", b"data: b\r\r"]),
    vec![msg("a\nb")]
  );
  assert_eq!(parse_chunks(&[b"data: a\r", b"\r"]), vec![msg("a")]);
}

#[test]
fn c7_lf_then_cr_is_two_terminators() {
  assert_eq!(parse(b"data: a\n\rdata: b\n\n"), vec![msg("a"), msg("b")]);
}

#[test]
fn c8_cr_at_end_of_stream_terminates_its_line() {
  assert_eq!(parse(b"data: x\r\r"), vec![msg("x")]);
  assert_eq!(parse_chunks(&[b"data: x\r", b"\r"]), vec![msg("x")]);
  // finish() reports nothing discarded: the CR completed the block.
  let mut parser = SseParser::default();
  parser.feed(b"data: x\r\r", &mut |_| {}).unwrap();
  assert_eq!(parser.finish(), Ok(false));
}

#[test]
fn c9_one_leading_space_is_stripped_not_two_not_a_tab() {
  assert_eq!(parse(b"data:x\n\n"), vec![msg("x")]);
  assert_eq!(parse(b"data: x\n\n"), vec![msg("x")]);
  assert_eq!(parse(b"data:  x\n\n"), vec![msg(" x")]);
  assert_eq!(parse(b"data:\tx\n\n"), vec![msg("\tx")]);
  assert_eq!(parse(b"data: x \n\n"), vec![msg("x ")]);
  assert_eq!(parse(b"event:  e\ndata\n\n"), vec![ev(" e", "", None, "")]);
}

#[test]
fn c10_first_colon_splits_later_colons_belong_to_the_value() {
  assert_eq!(parse(b"data: a:b: c\n\n"), vec![msg("a:b: c")]);
  assert_eq!(parse(b"data::\n\n"), vec![msg(":")]);
  assert_eq!(
    parse(b"event: x:y\ndata: 1\n\n"),
    vec![ev("x:y", "1", None, "")]
  );
}

#[test]
fn c11_colon_less_field_has_an_empty_value() {
  assert_eq!(parse(b"data\n\n"), vec![msg("")]);
  assert_eq!(
    parse(b"id: 7\ndata: a\n\nid\ndata: b\n\n"),
    vec![
      ev("message", "a", Some("7"), "7"),
      ev("message", "b", Some(""), "")
    ]
  );
  // `retry` with no value is not [0-9]+: ignored.
  assert_eq!(parse(b"retry\ndata: a\n\n"), vec![msg("a")]);
}

#[test]
fn c12_data_lines_join_with_lf_and_one_trailing_lf_is_removed() {
  assert_eq!(
    parse(b"data: a\ndata: b\ndata: c\n\n"),
    vec![msg("a\nb\nc")]
  );
  assert_eq!(parse(b"data:\n\n"), vec![msg("")]);
  assert_eq!(parse(b"data\ndata\n\n"), vec![msg("\n")]);
  assert_eq!(parse(b"data: a\ndata:\n\n"), vec![msg("a\n")]);
  assert_eq!(
    parse(b"data: {\"type\":\"start\"}\n\n"),
    vec![msg("{\"type\":\"start\"}")]
  );
}

#[test]
fn c13_empty_event_is_message_and_the_last_event_field_wins() {
  assert_eq!(parse(b"event:\ndata: a\n\n"), vec![msg("a")]);
  assert_eq!(
    parse(b"event: x\nevent: y\ndata: a\n\n"),
    vec![ev("y", "a", None, "")]
  );
  assert_eq!(parse(b"event: x\nevent\ndata: a\n\n"), vec![msg("a")]);
}

#[test]
fn c14_a_data_less_block_resets_the_event_type() {
  assert_eq!(parse(b"event: foo\n\ndata: y\n\n"), vec![msg("y")]);
  assert_eq!(
    parse(b"event: foo\ndata: x\n\ndata: y\n\n"),
    vec![ev("foo", "x", None, ""), msg("y")]
  );
}

#[test]
fn c15_id_containing_nul_is_ignored_and_the_previous_id_stays() {
  assert_eq!(
    parse(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\nid: \x00\ndata: c\n\n"),
    vec![
      ev("message", "a", Some("1"), "1"),
      ev("message", "b", None, "1"),
      ev("message", "c", None, "1")
    ]
  );
}

#[test]
fn c16_empty_id_resets_and_ids_persist() {
  assert_eq!(
    parse(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\n\ndata: c\n\nid:\ndata: d\n\ndata: e\n\n"),
    vec![
      ev("message", "a", Some("1"), "1"),
      ev("message", "b", None, "1"),
      // the data-less block still set the last event id
      ev("message", "c", None, "2"),
      ev("message", "d", Some(""), ""),
      ev("message", "e", None, ""),
    ]
  );
  // Several ids in one block: the last accepted one is the block's id.
  assert_eq!(
    parse(b"id: 1\nid: 2\ndata: a\n\n"),
    vec![ev("message", "a", Some("2"), "2")]
  );
  // Non-ASCII and invalid UTF-8 ids are decoded like everything else.
  assert_eq!(
    parse(b"id: \xC3\xA9\xFF\ndata: a\n\n"),
    vec![ev("message", "a", Some("é\u{FFFD}"), "é\u{FFFD}")]
  );
}

#[test]
fn c16_id_of_an_unfinished_block_is_dropped_at_eof_and_persists_over_finish() {
  let mut parser = SseParser::default();
  let mut items = Vec::new();
  let mut sink = |item: SseItem<'_>| items.push(OwnedItem::from(item));
  parser
    .feed(b"id: 5\ndata: a\n\nid: 6\ndata: b\n", &mut sink)
    .unwrap();
  assert_eq!(parser.finish(), Ok(true));
  assert_eq!(parser.last_event_id(), "5");
  parser.feed(b"data: c\n\n", &mut sink).unwrap();
  assert_eq!(
    items,
    vec![
      ev("message", "a", Some("5"), "5"),
      ev("message", "c", None, "5")
    ]
  );
  parser.reset();
  assert_eq!(parser.last_event_id(), "");
}

#[test]
fn c17_retry_accepts_only_ascii_digits_in_base_10() {
  let retries = |input: &[u8]| -> Vec<OwnedItem> {
    parse(input)
      .into_iter()
      .filter(|i| matches!(i, OwnedItem::Retry(_)))
      .collect()
  };
  assert_eq!(retries(b"retry: 1000\n"), vec![OwnedItem::Retry(1000)]);
  assert_eq!(retries(b"retry: 02000\n"), vec![OwnedItem::Retry(2000)]);
  assert_eq!(retries(b"retry:0\n"), vec![OwnedItem::Retry(0)]);
  assert_eq!(
    retries(b"retry: 18446744073709551615\n"),
    vec![OwnedItem::Retry(u64::MAX)]
  );
  for bad in [
    &b"retry:\n"[..],
    b"retry: 1000x\n",
    b"retry: -1\n",
    b"retry: +5\n",
    b"retry: 1.5\n",
    b"retry: 1000 \n",
    b"retry:  1000\n",
    b"retry: \xD9\xA1\n", // ARABIC-INDIC DIGIT ONE
    b"retry: 18446744073709551616\n",
    b"retry: 99999999999999999999999999\n",
    b"Retry: 5\n",
  ] {
    assert_eq!(retries(bad), vec![], "{:?}", String::from_utf8_lossy(bad));
  }
  // A retry is reported when read; it does not dispatch or disturb the block.
  assert_eq!(
    parse(b"data: a\nretry: 7\ndata: b\n\n"),
    vec![OwnedItem::Retry(7), msg("a\nb")]
  );
}

#[test]
fn c18_comments_are_ignored_by_the_event_stream_and_reported() {
  assert_eq!(parse(b": keep-alive\n\n"), vec![comment("keep-alive")]);
  assert_eq!(parse(b":\n"), vec![comment("")]);
  assert_eq!(parse(b":  two\n"), vec![comment(" two")]);
  assert_eq!(
    parse(b"data: a\n: mid-block\ndata: b\n\n"),
    vec![comment("mid-block"), msg("a\nb")]
  );
  let long = format!(":{}\ndata: x\n\n", "c".repeat(100_000));
  assert_eq!(
    only_events(parse_chunks(&[long.as_bytes()])),
    vec![msg("x")]
  );
  let mut chunked = Vec::new();
  for piece in long.as_bytes().chunks(7) {
    chunked.push(piece);
  }
  assert_eq!(parse_chunks(&chunked).len(), 2);
}

#[test]
fn c19_field_names_are_case_sensitive_and_unknown_fields_ignored() {
  assert_eq!(parse(b"Data: a\n DATA: b\n data: c\ndata\x00: d\n\xEF\xBB\xBFdata: e\nfoo: bar\n{\"json\":1}\ndata: ok\n\n"), vec![msg("ok")]);
  assert_eq!(
    parse(b"Event: x\nID: 1\nRETRY: 5\ndata: a\n\n"),
    vec![msg("a")]
  );
}

#[test]
fn c20_undispatched_block_and_partial_line_at_eof_are_discarded() {
  assert_eq!(parse(b"data: a\n"), vec![]);
  assert_eq!(parse(b"data: a\n\ndata: b"), vec![msg("a")]);
  assert_eq!(parse(b"data: a\n\ndata: b\ndata: c\n"), vec![msg("a")]);
  let mut parser = SseParser::default();
  parser.feed(b"data: a", &mut |_| {}).unwrap();
  assert_eq!(parser.finish(), Ok(true));
  parser
    .feed(b"\n\n", &mut |_| {
      panic!("the discarded line must not come back")
    })
    .unwrap();
  parser.feed(b"event: e", &mut |_| {}).unwrap();
  assert_eq!(parser.finish(), Ok(true));
  assert_eq!(parser.finish(), Ok(false));
}

#[test]
fn c21_utf8_split_across_chunks_is_rejoined_and_invalid_utf8_replaced() {
  let text = "é€😀";
  let input = format!("data: {text}\nevent: ü\n\n");
  // parse() re-chunks at every byte, i.e. inside every multi-byte sequence.
  assert_eq!(parse(input.as_bytes()), vec![ev("ü", text, None, "")]);
  // Invalid sequences: one U+FFFD per maximal subpart, like the Encoding Standard's decoder.
  assert_eq!(parse(b"data: a\xFFb\n\n"), vec![msg("a\u{FFFD}b")]);
  assert_eq!(parse(b"data: \xE2\x82\n\n"), vec![msg("\u{FFFD}")]);
  assert_eq!(
    parse(b"data: \xE2\x82\ndata: \xAC\n\n"),
    vec![msg("\u{FFFD}\n\u{FFFD}")]
  );
  assert_eq!(parse(b"data: \xF0\x9F\x98\n\n"), vec![msg("\u{FFFD}")]);
  assert_eq!(
    parse(b"data: \xC0\xAF\xED\xA0\x80\n\n"),
    vec![msg(&"\u{FFFD}".repeat(5))]
  );
  assert_eq!(parse(b": \xFE\n"), vec![comment("\u{FFFD}")]);
  assert_eq!(
    parse(b"event: \xFF\ndata\n\n"),
    vec![ev("\u{FFFD}", "", None, "")]
  );
  // The field name is decoded too, so an invalid byte makes it unknown.
  assert_eq!(parse(b"dat\xE1: x\n\n"), vec![]);
}

#[test]
fn c21_events_dispatched_from_one_chunk_decode_like_the_others() {
  // Every block is a `data:` line and a blank line inside one chunk (dispatched straight from
  // it): valid text, an invalid byte, and the events after it.
  let chunk: &[u8] = b"data: \xC3\xA9\n\ndata: a\xFFb\n\ndata: \xF0\x9F\x98\x80\n\ndata: ok\n\n";
  let expected = vec![
    msg("\u{E9}"),
    msg("a\u{FFFD}b"),
    msg("\u{1F600}"),
    msg("ok"),
  ];
  assert_eq!(parse_chunks(&[chunk]), expected);
  // Cut inside the first character: the second chunk starts with a continuation byte.
  assert_eq!(parse_chunks(&[&chunk[..7], &chunk[7..]]), expected);
  // Cut inside the emoji: that event is finished from the line buffer, the next one is not.
  assert_eq!(parse_chunks(&[&chunk[..20], &chunk[20..]]), expected);
}

#[test]
fn c22_nul_and_unicode_separators_are_kept_verbatim() {
  assert_eq!(
    parse("data: a\u{0}b\u{2028}c\u{2029}d\u{85}e\u{b}f\u{c}g\nevent: x\u{0}\n\n".as_bytes()),
    vec![ev(
      "x\u{0}",
      "a\u{0}b\u{2028}c\u{2029}d\u{85}e\u{b}f\u{c}g",
      None,
      ""
    )]
  );
}

#[test]
fn c23_empty_chunks_and_long_lines_over_many_chunks_stay_linear() {
  // Smaller under Miri (`npm run miri`): it checks for undefined behaviour, not the scaling.
  let payload = "x".repeat(if cfg!(miri) { 3_000 } else { 300_000 });
  let input = format!("data: {payload}\n\n");
  let mut parser = SseParser::new(BIG);
  let mut got = Vec::new();
  let mut sink = |item: SseItem<'_>| got.push(OwnedItem::from(item));
  for piece in input.as_bytes().chunks(1) {
    parser.feed(piece, &mut sink).unwrap();
    parser.feed(b"", &mut sink).unwrap();
  }
  parser.finish().unwrap();
  assert_eq!(got, vec![msg(&payload)]);
  // Every byte was looked at by the terminator search exactly once: no re-scanning.
  assert_eq!(parser.scanned, input.len());

  let mut parser = SseParser::new(BIG);
  for piece in input.as_bytes().chunks(4096) {
    parser.feed(piece, &mut |_| {}).unwrap();
  }
  assert_eq!(parser.scanned, input.len());

  // Many small events (the no-copy fast path and the buffered path): still one look per byte.
  let count = if cfg!(miri) { 50 } else { 2000 };
  let tokens: String = (0..count)
    .map(|i| format!("data: {{\"type\":\"text-delta\",\"delta\":\"{i}\"}}\n\n"))
    .collect();
  for size in [tokens.len(), 4096, 7, 1] {
    let mut parser = SseParser::new(BIG);
    let mut events = 0;
    for piece in tokens.as_bytes().chunks(size) {
      parser.feed(piece, &mut |_| events += 1).unwrap();
    }
    assert_eq!(
      (events, parser.scanned),
      (count, tokens.len()),
      "chunks of {size}"
    );
  }
}

#[test]
fn c24_an_event_named_error_is_a_normal_event() {
  assert_eq!(
    parse(b"event: error\ndata: boom\n\n"),
    vec![ev("error", "boom", None, "")]
  );
}

#[test]
fn ai_sdk_ui_message_stream_body_parses() {
  let body = b"data: {\"type\":\"start\"}\n\ndata: {\"type\":\"text-delta\",\"id\":\"t1\",\"delta\":\"Hello\"}\n\n: keep-alive\n\ndata: [DONE]\n\n";
  assert_eq!(
    parse(body),
    vec![
      msg("{\"type\":\"start\"}"),
      msg("{\"type\":\"text-delta\",\"id\":\"t1\",\"delta\":\"Hello\"}"),
      comment("keep-alive"),
      msg("[DONE]"),
    ]
  );
}

#[test]
fn s2_batch_events_with_ids_parse() {
  let body =
    b"event: batch\nid: 3,0,0\ndata: {\"records\":[]}\n\nevent: ping\ndata: {\"timestamp\":1}\n\n";
  assert_eq!(
    parse(body),
    vec![
      ev("batch", "{\"records\":[]}", Some("3,0,0"), "3,0,0"),
      ev("ping", "{\"timestamp\":1}", None, "3,0,0")
    ]
  );
}

#[test]
fn buffer_limit_fails_clearly_instead_of_growing() {
  let limit = 16;
  let err = SseError::BufferLimit { limit };
  // A partial line carried across chunks.
  let mut parser = SseParser::new(limit);
  parser.feed(b"data: 0123456789", &mut |_| {}).unwrap();
  assert_eq!(parser.feed(b"abc", &mut |_| {}), Err(err));
  // The parser stays failed until reset.
  assert_eq!(parser.feed(b"\n\n", &mut |_| {}), Err(err));
  assert_eq!(parser.finish(), Err(err));
  parser.reset();
  let mut n = 0;
  parser.feed(b"data: ok\n\n", &mut |_| n += 1).unwrap();
  assert_eq!(n, 1);
  // A complete line inside one chunk.
  assert_eq!(
    SseParser::new(limit).feed(b"data: 0123456789abc\n\n", &mut |_| {}),
    Err(err)
  );
  // An event made of many short data lines.
  let mut parser = SseParser::new(limit);
  let mut events = 0;
  let result = parser.feed(
    b"data: 1\n\ndata: 12345\ndata: 12345\ndata: 12345\n\n",
    &mut |_| events += 1,
  );
  assert_eq!(
    (result, events),
    (Err(err), 1),
    "the event before the limit is delivered"
  );
  // Exactly at the limit is fine: line of 16, data of 16 (15 + LF).
  let mut got = Vec::new();
  SseParser::new(limit)
    .feed(b"data:01234567890\n\n", &mut |i| {
      got.push(OwnedItem::from(i))
    })
    .unwrap();
  assert_eq!(got, vec![msg("01234567890")]);
  assert!(err.to_string().contains("16 bytes"));
}

#[test]
fn fuzz_property_replays_deterministic_inputs() {
  // The same check the cargo-fuzz target runs, over a fixed pseudo-random corpus, so the
  // property is exercised on every `cargo test` even without a nightly toolchain.
  let alphabet: &[&[u8]] = &[
    b"data",
    b"event",
    b"id",
    b"retry",
    b":",
    b" ",
    b"\r",
    b"\n",
    b"\r\n",
    b"\xEF\xBB\xBF",
    b"\xEF",
    b"\xBB",
    b"\xC3",
    b"\xA9",
    b"\xFF",
    b"\x00",
    b"7",
    b"x",
    b"message",
  ];
  let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
  let mut next = || {
    seed ^= seed << 7;
    seed ^= seed >> 9;
    seed
  };
  // Under Miri (`npm run miri`), a sample: it checks for undefined behaviour, not coverage.
  for _ in 0..if cfg!(miri) { 30 } else { 3000 } {
    let len = (next() % 40) as usize;
    let mut input = vec![next() as u8, next() as u8, next() as u8];
    for _ in 0..len {
      input.extend_from_slice(alphabet[(next() % alphabet.len() as u64) as usize]);
    }
    check_input(&input);
  }
}

fn sse_fragment() -> impl Strategy<Value = Vec<u8>> {
  prop_oneof![
    Just(b"data".to_vec()),
    Just(b"data: ".to_vec()),
    Just(b"event: ".to_vec()),
    Just(b"id: ".to_vec()),
    Just(b"retry: ".to_vec()),
    Just(b":".to_vec()),
    Just(b"\r".to_vec()),
    Just(b"\n".to_vec()),
    Just(b"\r\n".to_vec()),
    Just(b"\xEF\xBB\xBF".to_vec()),
    Just("é€😀".as_bytes().to_vec()),
    Just(b"\x00".to_vec()),
    "[0-9]{1,3}".prop_map(String::into_bytes),
    proptest::collection::vec(any::<u8>(), 1..6),
  ]
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 8 } else { 512 }))]

  #[test]
  fn any_rechunking_yields_identical_items(
    fragments in proptest::collection::vec(sse_fragment(), 0..40),
    cuts in proptest::collection::vec(any::<usize>(), 0..12),
    max_buffer in prop_oneof![Just(usize::MAX), Just(24usize), 1usize..200],
  ) {
    let input: Vec<u8> = fragments.concat();
    let whole = run_chunked(&input, &[], max_buffer);
    let bytewise: Vec<usize> = (0..input.len()).collect();
    prop_assert_eq!(&run_chunked(&input, &bytewise, max_buffer), &whole);
    let cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    prop_assert_eq!(&run_chunked(&input, &cuts, max_buffer), &whole);
  }

  #[test]
  fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..300)) {
    check_input(&input);
  }
}

#[test]
fn encoder_writes_ui_message_stream_frames() {
  let mut out = bytes::BytesMut::new();
  push_data_frame(&mut out, br#"{"type":"start"}"#);
  push_comment_frame(&mut out, b"keep-alive");
  push_done_frame(&mut out);
  assert_eq!(
    &out[..],
    &b"data: {\"type\":\"start\"}\n\n: keep-alive\n\ndata: [DONE]\n\n"[..]
  );
  assert_eq!(
    data_frame_len(br#"{"type":"start"}"#),
    b"data: {\"type\":\"start\"}\n\n".len()
  );
}

#[test]
fn encoder_splits_line_breaks_into_data_lines_and_round_trips() {
  let mut out = Vec::new();
  push_data_frame(&mut out, b"{\n \"a\": 1\r\n}\r");
  assert_eq!(out, b"data: {\ndata:  \"a\": 1\ndata: }\ndata: \n\n");
  assert_eq!(data_frame_len(b"{\n \"a\": 1\r\n}\r"), out.len());
  assert_eq!(parse(&out), vec![msg("{\n \"a\": 1\n}\n")]);

  let mut out = Vec::new();
  push_data_frame(&mut out, b"");
  push_comment_frame(&mut out, b"a\nb");
  assert_eq!(out, b"data: \n\n: a\n: b\n\n");
  assert_eq!(parse(&out), vec![msg(""), comment("a"), comment("b")]);
}

proptest! {
  #[test]
  fn encoded_frames_parse_back(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..8)) {
    let mut out = Vec::new();
    for payload in &payloads {
      push_data_frame(&mut out, payload);
      push_comment_frame(&mut out, payload);
    }
    let (items, end) = run_chunked(&out, &[], BIG);
    prop_assert_eq!(end, Ok(false));
    let events: Vec<OwnedItem> = only_events(items);
    let expected: Vec<OwnedItem> = payloads
      .iter()
      .map(|p| {
        let text = String::from_utf8_lossy(p).replace("\r\n", "\n").replace('\r', "\n");
        msg(&text)
      })
      .collect();
    prop_assert_eq!(events, expected);
  }
}
