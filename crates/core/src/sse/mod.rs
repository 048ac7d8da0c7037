//! See the crate docs for where `sse` sits on the data path.
