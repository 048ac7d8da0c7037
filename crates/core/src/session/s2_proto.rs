//! S2's protobuf messages (package `s2.v1`, docs/protocol.md §3.3), derived by hand with prost (no
//! protoc). Shared by the S2 writer here and the local plane's S2 server.

use bytes::Bytes;

#[derive(Clone, PartialEq, prost::Message)]
pub struct Header {
  #[prost(bytes = "bytes", tag = "1")]
  pub name: Bytes,
  #[prost(bytes = "bytes", tag = "2")]
  pub value: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AppendRecord {
  #[prost(uint64, optional, tag = "1")]
  pub timestamp: Option<u64>,
  #[prost(message, repeated, tag = "2")]
  pub headers: Vec<Header>,
  #[prost(bytes = "bytes", tag = "3")]
  pub body: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AppendInput {
  #[prost(message, repeated, tag = "1")]
  pub records: Vec<AppendRecord>,
  #[prost(uint64, optional, tag = "2")]
  pub match_seq_num: Option<u64>,
  #[prost(string, optional, tag = "3")]
  pub fencing_token: Option<String>,
}

#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct StreamPosition {
  #[prost(uint64, tag = "1")]
  pub seq_num: u64,
  #[prost(uint64, tag = "2")]
  pub timestamp: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AppendAck {
  #[prost(message, optional, tag = "1")]
  pub start: Option<StreamPosition>,
  #[prost(message, optional, tag = "2")]
  pub end: Option<StreamPosition>,
  #[prost(message, optional, tag = "3")]
  pub tail: Option<StreamPosition>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SequencedRecord {
  #[prost(uint64, tag = "1")]
  pub seq_num: u64,
  #[prost(uint64, tag = "2")]
  pub timestamp: u64,
  #[prost(message, repeated, tag = "3")]
  pub headers: Vec<Header>,
  #[prost(bytes = "bytes", tag = "4")]
  pub body: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadBatch {
  #[prost(message, repeated, tag = "1")]
  pub records: Vec<SequencedRecord>,
  #[prost(message, optional, tag = "2")]
  pub tail: Option<StreamPosition>,
}
