//! Live counts of the plane's open connections and in-flight requests, for tests and soaks that
//! check a client releases everything it opened (after an abort, at the end of a run).
//!
//! A request is in flight from the moment the plane starts working on it until its response
//! body ended or was dropped — or, when the client goes away before the response head, until
//! hyper drops the route's future. That last case also ends the request's log entry
//! (`responseEnd: 'aborted'`, see [`crate::log`]), so an abort's latency is readable there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use http_body_util::BodyExt;
use serde::Serialize;

use crate::http::Resp;

#[derive(Default)]
pub struct Traffic {
  opened_connections: AtomicU64,
  closed_connections: AtomicU64,
  started_requests: AtomicU64,
  ended_requests: AtomicU64,
}

/// A snapshot: what is open now and what was ever opened.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficCounts {
  pub open_connections: u64,
  pub in_flight_requests: u64,
  pub connections_total: u64,
  pub requests_total: u64,
}

impl Traffic {
  pub fn counts(&self) -> TrafficCounts {
    // Ends are read before starts, so a concurrent start/end pair never shows a negative count.
    let closed = self.closed_connections.load(Ordering::Acquire);
    let ended = self.ended_requests.load(Ordering::Acquire);
    let opened = self.opened_connections.load(Ordering::Acquire);
    let started = self.started_requests.load(Ordering::Acquire);
    TrafficCounts {
      open_connections: opened.saturating_sub(closed),
      in_flight_requests: started.saturating_sub(ended),
      connections_total: opened,
      requests_total: started,
    }
  }

  /// Counts a connection as open until the guard drops (when its task ends).
  pub fn connection(self: &Arc<Self>) -> ConnectionGuard {
    self.opened_connections.fetch_add(1, Ordering::AcqRel);
    ConnectionGuard(self.clone())
  }

  /// Counts a request as in flight until [`RequestGuard::follow`]'s body ends, or until the
  /// guard drops unfollowed: the client left before the response head, and `on_abandon` runs
  /// (it ends the request's log entry).
  pub fn request(self: &Arc<Self>, on_abandon: impl FnOnce() + Send + 'static) -> RequestGuard {
    self.started_requests.fetch_add(1, Ordering::AcqRel);
    RequestGuard {
      traffic: Some(self.clone()),
      on_abandon: Some(Box::new(on_abandon)),
    }
  }
}

pub struct ConnectionGuard(Arc<Traffic>);

impl Drop for ConnectionGuard {
  fn drop(&mut self) {
    self.0.closed_connections.fetch_add(1, Ordering::AcqRel);
  }
}

pub struct RequestGuard {
  traffic: Option<Arc<Traffic>>,
  /// Present until the response exists.
  on_abandon: Option<Box<dyn FnOnce() + Send>>,
}

impl RequestGuard {
  /// The response exists: the request stays in flight until its body ends or is dropped.
  pub fn follow(mut self, resp: Resp) -> Resp {
    self.on_abandon = None;
    let end = RequestEnd(self.traffic.take());
    resp.map(|body| {
      body
        .map_frame(move |frame| {
          let _in_flight_until_dropped = &end;
          frame
        })
        .boxed()
    })
  }
}

impl Drop for RequestGuard {
  fn drop(&mut self) {
    if let Some(on_abandon) = self.on_abandon.take() {
      on_abandon();
    }
    drop(RequestEnd(self.traffic.take()));
  }
}

/// Ends the request once, when dropped: with the response body (hyper drops it once its last
/// frame went out, or unfinished when the client went away), or with an unanswered request.
struct RequestEnd(Option<Arc<Traffic>>);

impl Drop for RequestEnd {
  fn drop(&mut self) {
    if let Some(traffic) = self.0.take() {
      traffic.ended_requests.fetch_add(1, Ordering::AcqRel);
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::log::RequestLog;

  fn parts() -> http::request::Parts {
    http::Request::builder()
      .uri("/x")
      .body(())
      .unwrap()
      .into_parts()
      .0
  }

  #[tokio::test]
  async fn counts_requests_until_their_body_ends_or_drops() {
    let traffic = Arc::new(Traffic::default());
    let log = Arc::new(RequestLog::new(true, 10));
    let abandon = |id| {
      let log = log.clone();
      move || log.abandon(id)
    };

    // Answered and read to the end.
    let id = log.begin(crate::log::Origin::Api, &parts());
    let guard = traffic.request(abandon(id));
    assert_eq!(traffic.counts().in_flight_requests, 1);
    let resp =
      guard.follow(log.track_response(id, false, crate::http::response(200, "text/plain", "ok")));
    assert_eq!(
      traffic.counts().in_flight_requests,
      1,
      "the body is still to be sent"
    );
    resp.into_body().collect().await.unwrap();
    assert_eq!(traffic.counts().in_flight_requests, 0);

    // A streaming body the client walks away from.
    let (_tx, body) = crate::http::channel_body(1);
    let id = log.begin(crate::log::Origin::Api, &parts());
    let resp = traffic
      .request(abandon(id))
      .follow(http::Response::new(body));
    assert_eq!(traffic.counts().in_flight_requests, 1);
    drop(resp);
    assert_eq!(traffic.counts().in_flight_requests, 0);

    // Dropped before any response: in flight no more, and its log entry ended as aborted.
    let id = log.begin(crate::log::Origin::Api, &parts());
    drop(traffic.request(abandon(id)));
    let counts = traffic.counts();
    assert_eq!((counts.in_flight_requests, counts.requests_total), (0, 3));
    let json: serde_json::Value = serde_json::from_str(&log.to_json()).unwrap();
    assert_eq!(json[2]["responseEnd"], "aborted");
    assert!(json[2]["responseEndMs"].is_number());

    let conn = traffic.connection();
    assert_eq!(traffic.counts().open_connections, 1);
    drop(conn);
    let counts = traffic.counts();
    assert_eq!((counts.open_connections, counts.connections_total), (0, 1));
  }
}
