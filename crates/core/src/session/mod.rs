//! Clients for the two services a head-start turn talks to: the Trigger.dev control plane
//! (`api`: createSession, `session.out` initialize, `session.in` appends, the phase-2 SSE
//! subscription) and S2 (`s2`: the S2S append session that persists step 1; `s2_frame` and
//! `s2_proto` are its wire format, shared with the local plane). Both speak HTTPS through
//! rustls; `http` owns the shared connection pools.

pub mod api;
pub mod config;
pub mod http;
pub mod retry;
pub mod s2;
pub mod s2_frame;
pub mod s2_proto;
pub mod subscribe;

pub use api::{ApiError, CreatedSession, S2Credentials, TriggerApi};
pub use config::ApiConfig;
