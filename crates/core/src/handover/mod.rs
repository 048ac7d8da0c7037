//! The head-start turn: request parsing and the outbound bodies built from it (`request`),
//! the phase-2 splice of the agent's `session.out` records into the browser response
//! (`splice`), and the orchestration of one turn from createSession to the last byte (`turn`).

pub mod raw;
pub mod request;
pub mod splice;
pub mod turn;
