//! The local session plane: a Trigger.dev-compatible control plane, an S2 plane and a scripted
//! agent, all in-process, for development, tests, the demo and benchmarks.
//!
//! Data path: [`api`] (Trigger routes) and [`s2`] (S2 routes: S2S framing, protobuf, JSON)
//! both work on [`store`] (S2-semantics streams); streaming reads go through [`follow`] and
//! are rendered by [`sse`] or S2S frames; [`agent`] plays the `chat.agent` run; [`faults`]
//! injects failures and latency; [`log`] records every request; [`state`] is what they all
//! share; [`plane`] owns the runtime, the listeners and shutdown.

// Route helpers return a ready error response as `Err`; it is moved straight out, so boxing it
// would only add an allocation on the error path.
#![allow(clippy::result_large_err)]

pub mod agent;
pub mod api;
pub mod faults;
pub mod follow;
pub mod http;
pub mod ids;
pub mod log;
pub mod plane;
pub mod s2;
pub mod sessions;
pub mod sse;
pub mod state;
pub mod store;
pub mod tls;
pub mod traffic;

pub use plane::{Plane, PlaneOptions};
pub use state::PlaneState;
