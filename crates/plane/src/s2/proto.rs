//! S2's protobuf messages (defined once, in the core crate) and the plane's conversions between
//! them and its store's records.

pub use chat_headstart_core::session::s2_proto::*;

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
  use bytes::Bytes;
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
