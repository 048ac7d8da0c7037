//! See the crate docs for where `wire` sits on the data path.
