//! One file per public area; each is a thin adapter over the core crates.

mod allocator;
mod headstart;
mod logging;
mod plane;
mod sse;
mod version;
mod wire;
