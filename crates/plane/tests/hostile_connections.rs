//! Connection-level abuse: slow-loris heads, silent connections, idle keep-alive; and the rule
//! that off loopback credentials cannot be switched off. Dropped connections must not disturb
//! anyone else. (10,000 idle connections: __test__/plane-hostile.spec.ts, where the plane runs
//! in its own process so both ends' sockets fit the fd limit.)

mod hostile;

use std::time::Duration;

use chat_headstart_plane::{Plane, PlaneOptions};
use hostile::{bystander, plane, still_serving, KEY};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the plane closes the connection; panics if it stays open for 5 s.
async fn closed_by_plane(stream: &mut TcpStream) {
  let mut buf = [0u8; 1024];
  loop {
    match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
      Err(_) => panic!("the plane kept the connection open"),
      Ok(Ok(0)) | Ok(Err(_)) => return,
      Ok(Ok(_)) => {}
    }
  }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_loris_and_silent_connections_are_dropped() {
  let plane = plane(400);
  let api = plane.api_addr;
  let other = bystander(api).await;

  // Silent since accept; a head dribbled one byte every 100 ms and never finished (from its
  // first byte, and after the protocol is known); an idle keep-alive connection.
  let mut silent = TcpStream::connect(api).await.unwrap();
  let mut early = TcpStream::connect(api).await.unwrap();
  let mut late = TcpStream::connect(api).await.unwrap();
  late
    .write_all(b"GET /api/v1/sessions/x HTTP/1.1\r\nhost: plane\r\n")
    .await
    .unwrap();
  let dribble = tokio::spawn(async move {
    let head = b"GET /api/v1/sessions/x HTTP/1.1\r\nhost: plane\r\nx-slow: ";
    for byte in head.iter().chain(std::iter::repeat(&b'a')).take(60) {
      if early.write_all(&[*byte]).await.is_err() || late.write_all(b"a").await.is_err() {
        break;
      }
      tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (early, late)
  });
  let mut keep_alive = TcpStream::connect(api).await.unwrap();
  let request = format!(
    "GET /api/v1/sessions/{other} HTTP/1.1\r\nhost: p\r\nauthorization: Bearer {KEY}\r\n\r\n"
  );
  keep_alive.write_all(request.as_bytes()).await.unwrap();

  // Meanwhile everyone else is served.
  still_serving(api, &other).await;

  closed_by_plane(&mut silent).await;
  let mut first = [0u8; 12];
  keep_alive.read_exact(&mut first).await.unwrap();
  assert_eq!(&first, b"HTTP/1.1 200");
  closed_by_plane(&mut keep_alive).await;
  let (mut early, mut late) = dribble.await.unwrap();
  closed_by_plane(&mut early).await;
  closed_by_plane(&mut late).await;

  still_serving(api, &other).await;
}

#[test]
fn off_loopback_credentials_cannot_be_switched_off() {
  let options = PlaneOptions {
    host: "0.0.0.0".into(),
    strict_auth: false,
    ..PlaneOptions::default()
  };
  let refused = Plane::start(options, None)
    .err()
    .expect("strictAuth: false off loopback");
  assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
  assert!(
    refused
      .to_string()
      .contains("only allowed on a loopback host"),
    "{refused}"
  );

  for host in ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"] {
    assert!(
      chat_headstart_plane::plane::is_loopback_host(host),
      "{host}"
    );
  }
  for host in ["0.0.0.0", "::", "192.168.1.2", "example.com"] {
    assert!(
      !chat_headstart_plane::plane::is_loopback_host(host),
      "{host}"
    );
  }
}
