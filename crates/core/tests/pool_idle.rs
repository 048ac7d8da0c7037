//! The Trigger API client's keep-alive pool closes a connection that stayed idle past its
//! timeout (30 s in production, 200 ms here) (hyper-util evicts only with a pool timer: without one, a burst's connections stayed
//! open until reused, and a handler's fds never came back down after a load peak).

use bytes::Bytes;
use chat_headstart_core::session::http::api_client_with_idle_timeout;
use http_body_util::{BodyExt, Full};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::test]
async fn an_idle_pooled_connection_is_closed_after_the_timeout() {
  let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
  let addr = listener.local_addr().unwrap();
  // One keep-alive connection: answer its request, then report what the next read sees.
  let server = tokio::spawn(async move {
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut buf = vec![0u8; 4096];
    let mut request = Vec::new();
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
      let n = socket.read(&mut buf).await.unwrap();
      assert!(n > 0, "the client closed before sending its request");
      request.extend_from_slice(&buf[..n]);
    }
    socket
      .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
      .await
      .unwrap();
    socket.read(&mut buf).await.map_err(|e| e.kind())
  });

  let client = api_client_with_idle_timeout(None, Duration::from_millis(200)).unwrap();
  let request = http::Request::get(format!("http://{addr}/"))
    .body(Full::new(Bytes::new()))
    .unwrap();
  let response = client.request(request).await.unwrap();
  assert_eq!(
    response.into_body().collect().await.unwrap().to_bytes(),
    "ok"
  );

  // The connection now sits idle in the pool; the eviction runs every 200 ms (at least 90 ms),
  // so it is closed within ~400 ms: the server reads EOF. Without a pool timer it never is.
  let read = tokio::time::timeout(Duration::from_secs(10), server)
    .await
    .expect("the idle connection is still open 10 s later")
    .unwrap();
  assert_eq!(read, Ok(0), "EOF: the client closed its idle connection");
  drop(client);
}
