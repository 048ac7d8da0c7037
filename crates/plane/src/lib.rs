//! The local session plane: a Trigger.dev-compatible control plane, an S2 plane and a scripted
//! agent, all in-process, for development, tests, the demo and benchmarks.
