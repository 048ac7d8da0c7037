//! The head-start turn: the phase-2 splice of the agent's `session.out` records into the browser response
//! (`splice`), the orchestration of one turn from createSession to the last byte (`turn`), and
//! what the turn reports about itself (`report`).

pub mod report;
pub mod splice;
pub mod turn;
