//! Protocol core of chat-headstart. No Node-API dependency: everything here is plain Rust,
//! unit-tested with `cargo test`, and driven by the thin binding crate at the repository root.
//!
//! The modules follow the data path of a head-start turn:
//! `wire` (request body, slimming, metered sizes, reshape) → `session` (Trigger API and S2
//! clients) → `handover` (tee, decision, splice) → `sse` (parsing and encoding).

pub mod handover;
pub mod session;
pub mod sse;
pub mod wire;
