//! The plane facing hostile requests from a local process: oversized bodies, malformed JSON and
//! protobuf, bad or missing keys, path traversal in ids. Each gets a clear error (status + JSON
//! body naming the problem), and the plane keeps serving: every test ends by checking that a
//! well-behaved request still works and that a bystander session's stream is untouched.
//! Connection-level abuse (slow-loris, silent connections): hostile_connections.rs.

mod hostile;

use chat_headstart_core::session::s2_frame::{self, FrameDecoder};
use hostile::{bystander, create_session, plane, send, still_serving, AUTH};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413_naming_the_limit() {
  let plane = plane(30_000);
  let (api, s2) = (plane.api_addr, plane.s2_addr);
  let other = bystander(api).await;

  // Declared too large: refused from the length alone, before any body byte is read.
  let started = Instant::now();
  let huge = "content-length: 1073741824";
  let reply = send(api, "POST", "/api/v1/sessions", &[AUTH, huge], "").await;
  assert_eq!(reply.api_error(413), "Request body too large");
  assert!(started.elapsed() < Duration::from_secs(5));

  // Streamed (chunked) past the 8 MiB cap.
  let mut chunked = Vec::new();
  for _ in 0..9 {
    chunked.extend_from_slice(format!("{:x}\r\n", 1 << 20).as_bytes());
    chunked.extend(std::iter::repeat_n(b'x', 1 << 20));
    chunked.extend_from_slice(b"\r\n");
  }
  chunked.extend_from_slice(b"0\r\n\r\n");
  let chunked_header = "transfer-encoding: chunked";
  let reply = send(
    api,
    "POST",
    "/api/v1/sessions",
    &[AUTH, chunked_header],
    chunked,
  )
  .await;
  assert_eq!(reply.api_error(413), "Request body too large");

  // A session append over the 1 MiB record limit.
  let big = serde_json::json!({ "data": "y".repeat(1_100_000) }).to_string();
  let path = format!("/realtime/v1/sessions/{other}/out/append");
  assert!(!send(api, "POST", &path, &[AUTH], big)
    .await
    .api_error(413)
    .is_empty());

  // S2's unary append over its cap.
  let s2_auth = format!("authorization: Bearer {}", plane.state.s2_token);
  let headers = [
    s2_auth.as_str(),
    "content-type: application/json",
    "content-length: 104857600",
  ];
  let reply = send(s2, "POST", "/v1/streams/x/records", &headers, "").await;
  assert_eq!(reply.s2_error(413), "invalid");

  still_serving(api, &other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_and_protobuf_name_the_problem() {
  let plane = plane(30_000);
  let (api, s2) = (plane.api_addr, plane.s2_addr);
  let other = bystander(api).await;

  let create = |body: &'static [u8]| send(api, "POST", "/api/v1/sessions", &[AUTH], body);
  assert!(create(b"{\"type\":")
    .await
    .api_error(400)
    .starts_with("Invalid JSON body"));
  assert!(create(&[0xff, 0xfe, 0])
    .await
    .api_error(400)
    .starts_with("Invalid JSON body"));
  assert!(create(b"[1,2]")
    .await
    .api_error(400)
    .contains("Expected object"));
  let no_config = create(br#"{"type":"chat.agent","taskIdentifier":"a"}"#).await;
  assert_eq!(no_config.api_error(400), "triggerConfig: Required");

  // S2: a unary protobuf append that is not an AppendInput, and JSON that is not an append.
  let s2_auth = format!("authorization: Bearer {}", plane.state.s2_token);
  let append = |ctype: &'static str, body: Vec<u8>| {
    let headers = [s2_auth.clone(), format!("content-type: {ctype}")];
    async move {
      let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
      send(s2, "POST", "/v1/streams/junk/records", &headers, body).await
    }
  };
  let protobuf = vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01];
  assert_eq!(
    append("application/protobuf", protobuf).await.s2_error(400),
    "invalid"
  );
  let json = br#"{"records":[{"body":1}]}"#.to_vec();
  assert_eq!(
    append("application/json", json).await.s2_error(400),
    "invalid"
  );

  // An S2S append session whose frame holds no valid AppendInput ends with a terminal frame
  // (status 400 + JSON naming the problem); one whose length prefix is 0 too.
  for wire in [
    s2_frame::encode(&[0x0a, 0x05, 0x01]).to_vec(),
    vec![0, 0, 0, 0],
  ] {
    let reply = append("s2s/proto", wire).await;
    assert_eq!(reply.status, 200);
    let mut decoder = FrameDecoder::default();
    decoder.push(&reply.body);
    let frame = decoder.next_frame().unwrap().expect("a terminal frame");
    assert!(frame.terminal);
    let error = s2_frame::decode_terminal(&frame.payload).unwrap();
    assert_eq!(
      (error.status, error.code.as_deref()),
      (400, Some("invalid"))
    );
    assert!(!error.message.is_empty() && error.message != "S2 error");
  }

  still_serving(api, &other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_or_missing_keys_are_refused() {
  let plane = plane(30_000);
  let (api, s2) = (plane.api_addr, plane.s2_addr);
  let other = bystander(api).await;
  let mine = create_session(api, "mine").await;
  let my_token = format!(
    "authorization: Bearer {}",
    mine["publicAccessToken"].as_str().unwrap()
  );

  let bad_keys = [
    "authorization: Bearer ",
    "authorization: Basic abc",
    "authorization: Bearer tr_dev_wrong",
  ];
  let routes = [
    ("POST", "/api/v1/sessions".to_string()),
    ("GET", format!("/api/v1/sessions/{other}")),
    ("GET", format!("/realtime/v1/sessions/{other}/out/records")),
    // Unknown sessions too: without a credential, existence is not revealed.
    ("GET", "/api/v1/sessions/ghost".to_string()),
    ("POST", "/api/v1/sessions/ghost/close".to_string()),
    ("GET", "/realtime/v1/sessions/ghost/out".to_string()),
  ];
  for (method, path) in &routes {
    let reply = send(api, method, path, &[], "").await;
    assert_eq!(
      reply.api_error(401),
      "Invalid or Missing API key",
      "{method} {path}"
    );
    for key in bad_keys {
      let reply = send(api, method, path, &[key], "").await;
      assert!(
        reply.api_error(401).contains("Invalid"),
        "{method} {path} {key}"
      );
    }
  }

  // A session's own token opens that session only; it cannot create sessions.
  let path = format!("/api/v1/sessions/{other}");
  let reply = send(api, "GET", &path, &[&my_token], "").await;
  assert_eq!(
    reply.api_error(403),
    "Public Access Token is not authorized for this session"
  );
  let path = format!("/realtime/v1/sessions/{other}/out/append");
  let intruder = br#"{"data":{"type":"x"},"id":"intruder"}"#;
  assert_eq!(
    send(api, "POST", &path, &[&my_token], intruder)
      .await
      .status,
    403
  );
  let reply = send(api, "POST", "/api/v1/sessions", &[&my_token], "{}").await;
  assert_eq!(reply.api_error(401), "Invalid or Missing API key");

  // S2: no token, the API key instead of the S2 token, another basin.
  let path = format!("/v1/streams/%2Fsessions%2F{other}%2Fout/records");
  assert_eq!(
    send(s2, "GET", &path, &[], "").await.s2_error(401),
    "unauthenticated"
  );
  let reply = send(s2, "GET", &path, &[AUTH], "").await;
  assert_eq!(reply.s2_error(403), "permission_denied");
  let s2_auth = format!("authorization: Bearer {}", plane.state.s2_token);
  let reply = send(s2, "GET", &path, &[&s2_auth, "s2-basin: other"], "").await;
  assert_eq!(reply.s2_error(404), "basin_not_found");

  still_serving(api, &other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_traversal_in_ids_stays_inside_its_session() {
  let plane = plane(30_000);
  let api = plane.api_addr;
  let other = bystander(api).await;

  for path in [
    "/api/v1/sessions/..%2F..%2Fetc%2Fpasswd".to_string(),
    "/api/v1/sessions/%2E%2E".to_string(),
    format!("/api/v1/sessions/x%2F..%2F{other}"),
  ] {
    let reply = send(api, "GET", &path, &[AUTH], "").await;
    assert_eq!(reply.api_error(404), "Session not found", "{path}");
  }
  for path in [
    format!("/realtime/v1/sessions/{other}/..%2Fin/records"),
    format!("/realtime/v1/sessions/{other}/../out"),
    format!("/api/v1/sessions/{other}/../../v1/sessions"),
  ] {
    let reply = send(api, "GET", &path, &[AUTH], "").await;
    assert_eq!(reply.api_error(404), "Not found", "{path}");
  }

  // A channel name that spells a path into another session names a stream of the caller's
  // session (stream names are opaque keys, never resolved as paths).
  let mine = create_session(api, "traveller").await;
  let channel = format!(
    "/realtime/v1/sessions/{}/channels/..%2F..%2F{other}/out",
    mine["id"].as_str().unwrap()
  );
  let chunk = br#"{"data":{"type":"text-delta","delta":"intruder"},"id":"i1"}"#;
  let reply = send(api, "POST", &format!("{channel}/append"), &[AUTH], chunk).await;
  assert_eq!(
    reply.status,
    200,
    "{}",
    String::from_utf8_lossy(&reply.body)
  );
  let reply = send(api, "GET", &format!("{channel}/records"), &[AUTH], "").await;
  assert_eq!(reply.json()["records"].as_array().unwrap().len(), 1);

  still_serving(api, &other).await;
}
