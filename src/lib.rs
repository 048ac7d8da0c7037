//! Node-API binding of chat-headstart. Thin by design: every item here converts arguments,
//! calls into `chat-headstart-core` / `chat-headstart-plane`, and converts results back.
//! The generated loader (`binding.cjs`) stays private behind the hand-written `index.js`.

// Under `cargo test` the #[napi] registrations are compiled out, so every exported item looks unused.
#![cfg_attr(test, allow(dead_code))]

mod binding;

/// mimalloc for every Rust allocation of the addon (see the note in Cargo.toml). Node's own
/// allocations are untouched: a cdylib's global allocator only serves its Rust code.
#[cfg(all(feature = "mimalloc", target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
