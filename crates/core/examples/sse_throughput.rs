//! Throughput of the SSE parser alone, without Node: the same workloads as bench/sse.
//! `cargo run --release -p chat-headstart-core --example sse_throughput`
use chat_headstart_core::sse::{SseItem, SseParser};
use std::time::Instant;

fn chunks(bytes: &[u8], mut seed: u32) -> Vec<&[u8]> {
  let mut out = Vec::new();
  let mut i = 0;
  while i < bytes.len() {
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    let size = 1024 + (seed as usize % 3073);
    out.push(&bytes[i..(i + size).min(bytes.len())]);
    i += size;
  }
  out
}

fn run(name: &str, body: &[u8], events: usize) {
  let parts = chunks(body, 7);
  let mut times = Vec::new();
  for _ in 0..15 {
    let start = Instant::now();
    let mut parser = SseParser::default();
    let mut n = 0usize;
    let mut sink = |item: SseItem<'_>| {
      if let SseItem::Event { data, .. } = item {
        std::hint::black_box(data);
        n += 1;
      }
    };
    for part in &parts {
      parser.feed(part, &mut sink).unwrap();
    }
    parser.finish().unwrap();
    assert_eq!(n, events);
    times.push(start.elapsed().as_secs_f64() * 1e3);
  }
  times.sort_by(f64::total_cmp);
  let ms = times[times.len() / 2];
  let mib = body.len() as f64 / 1048576.0;
  println!(
    "{name}: {ms:.2} ms median, {:.0} MiB/s, {:.1} ns/event",
    mib / (ms / 1e3),
    ms * 1e6 / events as f64
  );
}

fn main() {
  let mut body = String::new();
  let words = [" the", " model", " café", " 😀", ",", " world"];
  for i in 0..100_000 {
    body.push_str(&format!(
      "data: {{\"type\":\"text-delta\",\"id\":\"t1\",\"delta\":\"{}\"}}\n\n",
      words[i % words.len()]
    ));
  }
  run("(a) 100k token events", body.as_bytes(), 100_000);
  let payload: String = (0..64 * 1024)
    .map(|i| (b'a' + (i % 26) as u8) as char)
    .collect();
  let mut body = String::new();
  for _ in 0..512 {
    body.push_str("data: ");
    body.push_str(&payload);
    body.push_str("\n\n");
  }
  run("(b) 512 x 64 KiB events", body.as_bytes(), 512);
}
