//! See the crate docs for where `session` sits on the data path.
