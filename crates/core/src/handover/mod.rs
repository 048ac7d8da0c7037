//! The head-start turn: the phase-2 splice of the agent's `session.out` records into the browser response
//! (`splice`), and the orchestration of one turn from createSession to the last byte (`turn`).

pub mod splice;
pub mod turn;
