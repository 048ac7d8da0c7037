//! Server-sent events: an incremental WHATWG parser over bytes ([`SseParser`]) and the frame
//! encoder of the AI SDK UI message stream ([`encode`]). See the crate docs for where `sse`
//! sits on the data path.
//!
//! ```
//! use chat_headstart_core::sse::{SseItem, SseParser};
//!
//! let mut parser = SseParser::default();
//! let mut seen = Vec::new();
//! let mut sink = |item: SseItem<'_>| {
//!   if let SseItem::Event { event, data, .. } = item {
//!     seen.push(format!("{event}:{data}"));
//!   }
//! };
//! parser.feed(b"data: {\"type\":\"start\"}\r", &mut sink).unwrap();
//! parser.feed(b"\n\r\n", &mut sink).unwrap();
//! parser.finish().unwrap();
//! assert_eq!(seen, ["message:{\"type\":\"start\"}"]);
//! ```

pub mod encode;
#[cfg(any(test, feature = "testing"))]
pub mod fuzzing;
mod parser;

pub use parser::{SseError, SseItem, SseParser, DEFAULT_MAX_BUFFER};

#[cfg(test)]
mod tests;
