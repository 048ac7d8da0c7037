//! Order-preserving JSON objects whose values stay raw text, so bodies assembled from the
//! browser's JSON keep its exact bytes (no number or escape re-formatting) and JS's key order.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fmt;

/// A JSON object as `(key, raw value)` pairs in `JSON.parse` + spread order: a repeated key
/// keeps its first position and takes its last value.
#[derive(Debug, Default)]
pub struct RawObject(pub Vec<(String, Box<RawValue>)>);

impl RawObject {
  pub fn get(&self, key: &str) -> Option<&RawValue> {
    self.0.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
  }

  /// `{...self, [key]: value}` semantics.
  pub fn set(&mut self, key: &str, value: Box<RawValue>) {
    match self.0.iter_mut().find(|(k, _)| k == key) {
      Some(slot) => slot.1 = value,
      None => self.0.push((key.to_string(), value)),
    }
  }

  pub fn write_json(&self, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in self.0.iter().enumerate() {
      if i > 0 {
        out.push(',');
      }
      out.push_str(&serde_json::to_string(k).expect("string serializes"));
      out.push(':');
      out.push_str(v.get());
    }
    out.push('}');
  }

  pub fn to_json(&self) -> String {
    let mut s = String::new();
    self.write_json(&mut s);
    s
  }
}

impl<'de> Deserialize<'de> for RawObject {
  fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
      type Value = RawObject;
      fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
      }
      fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
        let mut obj = RawObject::default();
        while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
          obj.set(&k, v);
        }
        Ok(obj)
      }
    }
    d.deserialize_map(V)
  }
}

pub fn raw(json: String) -> Box<RawValue> {
  RawValue::from_string(json).expect("caller passes valid JSON")
}

pub fn raw_str(s: &str) -> Box<RawValue> {
  raw(serde_json::to_string(s).expect("string serializes"))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn keeps_order_first_position_last_value_and_raw_bytes() {
    let o: RawObject = serde_json::from_str(r#"{"b":1.0,"a":{"x" : 1e3},"b":2}"#).unwrap();
    assert_eq!(o.to_json(), r#"{"b":2,"a":{"x" : 1e3}}"#);
  }
}
