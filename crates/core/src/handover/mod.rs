//! See the crate docs for where `handover` sits on the data path.
