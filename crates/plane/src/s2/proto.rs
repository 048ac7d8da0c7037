//! S2's protobuf messages (package `s2.v1`), derived by hand with prost (no protoc).

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

impl From<crate::store::Position> for StreamPosition {
  fn from(p: crate::store::Position) -> Self {
    StreamPosition {
      seq_num: p.seq_num,
      timestamp: p.timestamp,
    }
  }
}

impl From<crate::store::Ack> for AppendAck {
  fn from(a: crate::store::Ack) -> Self {
    AppendAck {
      start: Some(a.start.into()),
      end: Some(a.end.into()),
      tail: Some(a.tail.into()),
    }
  }
}

impl From<&crate::store::Record> for SequencedRecord {
  fn from(r: &crate::store::Record) -> Self {
    SequencedRecord {
      seq_num: r.seq,
      timestamp: r.timestamp,
      headers: r
        .headers
        .iter()
        .map(|(n, v)| Header {
          name: n.clone(),
          value: v.clone(),
        })
        .collect(),
      body: r.body.clone(),
    }
  }
}

impl From<AppendRecord> for crate::store::NewRecord {
  fn from(r: AppendRecord) -> Self {
    crate::store::NewRecord {
      headers: r.headers.into_iter().map(|h| (h.name, h.value)).collect(),
      body: r.body,
      timestamp: r.timestamp,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use prost::Message;

  #[test]
  fn append_input_wire_bytes() {
    // Field 1 (records, LEN) containing field 3 (body, LEN) "hi".
    let input = AppendInput {
      records: vec![AppendRecord {
        timestamp: None,
        headers: vec![],
        body: Bytes::from_static(b"hi"),
      }],
      match_seq_num: None,
      fencing_token: None,
    };
    let bytes = input.encode_to_vec();
    assert_eq!(bytes, vec![0x0a, 0x04, 0x1a, 0x02, b'h', b'i']);
    assert_eq!(AppendInput::decode(&bytes[..]).unwrap(), input);
  }

  #[test]
  fn ack_roundtrip() {
    let ack = AppendAck {
      start: Some(StreamPosition {
        seq_num: 0,
        timestamp: 5,
      }),
      end: Some(StreamPosition {
        seq_num: 2,
        timestamp: 6,
      }),
      tail: Some(StreamPosition {
        seq_num: 2,
        timestamp: 6,
      }),
    };
    assert_eq!(AppendAck::decode(&ack.encode_to_vec()[..]).unwrap(), ack);
  }
}
