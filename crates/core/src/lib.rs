//! Protocol core of chat-headstart. No Node-API dependency: everything here is plain Rust,
//! unit-tested with `cargo test`, and driven by the thin binding crate at the repository root.
//!
//! The modules follow the data path of a head-start turn:
//! `wire` (request body, metered sizes, reshape) → `session` (Trigger API and S2
//! clients) → `handover` (tee, decision, splice) → `sse` (parsing and encoding). `logging` is
//! the log switch (a `tracing` subscriber on stderr) and names the crate's tracing targets.

pub mod handover;
pub mod logging;
pub mod session;
pub mod sse;
pub mod wire;
