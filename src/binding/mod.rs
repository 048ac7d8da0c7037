//! One file per public area; each is a thin adapter over the core crates.

mod headstart;
mod logging;
mod plane;
mod sse;
#[cfg(feature = "testing")]
mod testing;
mod version;
mod wire;
