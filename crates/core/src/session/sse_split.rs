//! Minimal incremental SSE event splitter for the upstream `session.out` read: only the
//! `event` and `data` fields matter there (ids, retry and comments are ignored, as the
//! reference's subscription does). CR, LF and CRLF terminators, split anywhere across reads;
//! a cap on buffered bytes so a server that never ends a line cannot grow memory unbounded.

pub struct SseEventSplitter {
  line: Vec<u8>,
  event: String,
  data: String,
  has_data: bool,
  last_was_cr: bool,
  max: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub struct EventTooLarge;

impl SseEventSplitter {
  pub fn new(max: usize) -> Self {
    SseEventSplitter {
      line: Vec::new(),
      event: String::new(),
      data: String::new(),
      has_data: false,
      last_was_cr: false,
      max,
    }
  }

  /// Feeds bytes; calls `on_event(event_type, data)` for each dispatched event.
  pub fn feed(
    &mut self,
    mut input: &[u8],
    on_event: &mut dyn FnMut(&str, &str),
  ) -> Result<(), EventTooLarge> {
    if self.last_was_cr && input.first() == Some(&b'\n') {
      input = &input[1..];
    }
    self.last_was_cr = false;
    while let Some(pos) = input.iter().position(|&c| c == b'\n' || c == b'\r') {
      self.line.extend_from_slice(&input[..pos]);
      let is_cr = input[pos] == b'\r';
      input = &input[pos + 1..];
      if is_cr {
        if input.first() == Some(&b'\n') {
          input = &input[1..];
        } else if input.is_empty() {
          self.last_was_cr = true;
        }
      }
      let line = std::mem::take(&mut self.line);
      self.process_line(&line, on_event);
    }
    self.line.extend_from_slice(input);
    if self.line.len() + self.data.len() > self.max {
      return Err(EventTooLarge);
    }
    Ok(())
  }

  fn process_line(&mut self, line: &[u8], on_event: &mut dyn FnMut(&str, &str)) {
    if line.is_empty() {
      if self.has_data {
        let event = if self.event.is_empty() {
          "message"
        } else {
          self.event.as_str()
        };
        on_event(event, &self.data);
      }
      self.event.clear();
      self.data.clear();
      self.has_data = false;
      return;
    }
    if line[0] == b':' {
      return;
    }
    let (name, value) = match line.iter().position(|&c| c == b':') {
      Some(i) => {
        let v = &line[i + 1..];
        (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
      }
      None => (line, &b""[..]),
    };
    let value = String::from_utf8_lossy(value);
    match name {
      b"event" => self.event = value.into_owned(),
      b"data" => {
        if self.has_data {
          self.data.push('\n');
        }
        self.data.push_str(&value);
        self.has_data = true;
      }
      _ => {}
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn collect(chunks: &[&[u8]]) -> Vec<(String, String)> {
    let mut s = SseEventSplitter::new(1 << 20);
    let mut out = Vec::new();
    for c in chunks {
      s.feed(c, &mut |e, d| out.push((e.to_string(), d.to_string())))
        .unwrap();
    }
    out
  }

  #[test]
  fn splits_events_across_arbitrary_chunks() {
    let text = b"event: batch\r\nid: 1,1,1\r\ndata: {\"a\":1}\r\n\r\n: comment\n\nevent: ping\ndata: {}\n\ndata: [DONE]\n\n";
    let whole = collect(&[text]);
    assert_eq!(
      whole,
      vec![
        ("batch".into(), "{\"a\":1}".into()),
        ("ping".into(), "{}".into()),
        ("message".into(), "[DONE]".into())
      ]
    );
    for split in 1..text.len() {
      assert_eq!(
        collect(&[&text[..split], &text[split..]]),
        whole,
        "split at {split}"
      );
    }
    let bytes: Vec<&[u8]> = text.chunks(1).collect();
    assert_eq!(collect(&bytes), whole);
  }

  #[test]
  fn caps_buffered_bytes() {
    let mut s = SseEventSplitter::new(16);
    assert_eq!(
      s.feed(b"data: 0123456789abcdefghij", &mut |_, _| {}),
      Err(EventTooLarge)
    );
  }
}
