//! The Trigger API client and the phase-2 subscription against in-process servers: the §2.1
//! headers and one idempotency key across zodfetch retries, `X-Part-Id` reuse, the SSE retry
//! policy (5xx / `event: error` → reconnect after the last seq, 404 → terminal), and HTTPS
//! (rustls) for both the API and the S2S writer with a private CA.

use bytes::Bytes;
use chat_headstart_core::session::http::ChannelBody;
use chat_headstart_core::session::s2::{
  run_writer, tee_channel, AppendAck, StreamPosition, WriterInput, WriterOptions,
};
use chat_headstart_core::session::subscribe::{
  subscribe_session_out, SubscriptionEvent, SubscriptionOptions,
};
use chat_headstart_core::session::{ApiConfig, S2Credentials, TriggerApi};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

#[derive(Clone, Debug)]
struct Seen {
  method: String,
  path: String,
  headers: Vec<(String, String)>,
}

impl Seen {
  fn header(&self, name: &str) -> Option<&str> {
    self
      .headers
      .iter()
      .find(|(k, _)| k == name)
      .map(|(_, v)| v.as_str())
  }
}

type Handler =
  Arc<dyn Fn(usize, &Seen) -> (u16, Vec<(&'static str, String)>, String) + Send + Sync>;

/// An HTTP/1.1 server answering from `handler(n, request)`; records every request.
async fn http1_server(handler: Handler) -> (String, Arc<Mutex<Vec<Seen>>>) {
  let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
  let addr = listener.local_addr().unwrap();
  let log = Arc::new(Mutex::new(Vec::new()));
  let log2 = log.clone();
  tokio::spawn(async move {
    loop {
      let (tcp, _) = listener.accept().await.unwrap();
      let log = log2.clone();
      let handler = handler.clone();
      tokio::spawn(async move {
        let service = service_fn(move |req: Request<Incoming>| {
          let log = log.clone();
          let handler = handler.clone();
          async move {
            let seen = Seen {
              method: req.method().to_string(),
              path: req.uri().path().to_string(),
              headers: req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                .collect(),
            };
            let n = {
              let mut l = log.lock().unwrap();
              l.push(seen.clone());
              l.len() - 1
            };
            let (status, headers, body) = handler(n, &seen);
            let mut resp = Response::builder().status(status);
            for (k, v) in headers {
              resp = resp.header(k, v);
            }
            Ok::<_, std::convert::Infallible>(resp.body(Full::new(Bytes::from(body))).unwrap())
          }
        });
        let _ = hyper::server::conn::http1::Builder::new()
          .serve_connection(TokioIo::new(tcp), service)
          .await;
      });
    }
  });
  (format!("http://{addr}"), log)
}

const CREATED: &str = r#"{"id":"session_1","externalId":"c","type":"chat.agent","taskIdentifier":"a","currentRunId":"run_1","tags":[],"metadata":null,"closedAt":null,"closedReason":null,"expiresAt":null,"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","runId":"run_1","publicAccessToken":"pat-1","isCached":false}"#;

#[tokio::test(start_paused = true)]
async fn create_session_retries_on_the_zodfetch_schedule_with_one_idempotency_key() {
  let (base, log) = http1_server(Arc::new(|n, _| {
    if n < 3 {
      (503, vec![], r#"{"error":"busy"}"#.into())
    } else {
      (
        201,
        vec![("content-type", "application/json".into())],
        CREATED.into(),
      )
    }
  }))
  .await;
  let mut cfg = ApiConfig::new(&base, "tr_dev_secret");
  cfg.branch = Some("feature-x".into());
  let api = TriggerApi::new(cfg).unwrap();
  let t0 = tokio::time::Instant::now();
  let created = api.create_session(Bytes::from_static(b"{}")).await.unwrap();
  assert_eq!(created.public_access_token, "pat-1");
  assert!(!created.pending_version);
  // 1000 + 1600 + 2560 ms of (paused, auto-advanced) backoff before the 4th attempt.
  assert!(
    t0.elapsed() >= Duration::from_millis(5160),
    "{:?}",
    t0.elapsed()
  );
  let log = log.lock().unwrap();
  assert_eq!(log.len(), 4);
  let key = log[0]
    .header("x-trigger-request-idempotency-key")
    .unwrap()
    .to_string();
  assert_eq!(key.len(), 36);
  for r in log.iter() {
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/api/v1/sessions");
    assert_eq!(
      r.header("x-trigger-request-idempotency-key"),
      Some(key.as_str())
    );
    assert_eq!(r.header("authorization"), Some("Bearer tr_dev_secret"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("trigger-version"), Some("4.8.3"));
    assert_eq!(r.header("x-trigger-source"), Some("sdk"));
    assert_eq!(r.header("x-trigger-api-version"), Some("2025-07-16"));
    assert_eq!(r.header("x-trigger-realtime-streams-version"), Some("v2"));
    assert_eq!(r.header("x-trigger-branch"), Some("feature-x"));
  }
}

#[tokio::test(start_paused = true)]
async fn a_422_fails_at_once_and_in_append_reuses_its_part_id() {
  let (base, log) = http1_server(Arc::new(|n, seen| match (n, seen.path.as_str()) {
    (_, "/api/v1/sessions") => (422, vec![], r#"{"error":"injected create failure"}"#.into()),
    (1, _) => (500, vec![], String::new()),
    _ => (200, vec![], r#"{"ok":true,"seq":0}"#.into()),
  }))
  .await;
  let api = TriggerApi::new(ApiConfig::new(&base, "k")).unwrap();
  let err = api
    .create_session(Bytes::from_static(b"{}"))
    .await
    .unwrap_err();
  assert_eq!(err.status, Some(422));
  assert_eq!(err.message, "injected create failure");
  api
    .append_input(
      "chat/1",
      Bytes::from_static(br#"{"kind":"handover-skip"}"#),
      "PART_ID_21_CHARACTERS",
    )
    .await
    .unwrap();
  let log = log.lock().unwrap();
  assert_eq!(log.len(), 3, "the 422 is not retried, the 500 is");
  assert_eq!(log[1].path, "/realtime/v1/sessions/chat%2F1/in/append");
  assert_eq!(log[1].header("x-part-id"), Some("PART_ID_21_CHARACTERS"));
  assert_eq!(log[2].header("x-part-id"), Some("PART_ID_21_CHARACTERS"));
  assert_eq!(
    log[1].header("x-trigger-request-idempotency-key"),
    log[2].header("x-trigger-request-idempotency-key")
  );
}

fn batch_event(seqs: &[u64]) -> String {
  let records: Vec<String> = seqs
    .iter()
    .map(|s| {
      let body = format!("{{\"data\":{{\"type\":\"n\",\"n\":{s}}},\"id\":\"e{s}\"}}");
      format!(
        "{{\"seq_num\":{s},\"timestamp\":1,\"body\":{}}}",
        serde_json::to_string(&body).unwrap()
      )
    })
    .collect();
  format!(
    "event: batch\ndata: {{\"records\":[{}]}}\n\n",
    records.join(",")
  )
}

#[tokio::test]
async fn subscription_reconnects_after_the_last_seq_and_stops_on_404() {
  // 1: 503 → retry; 2: two records then `event: error` → reconnect with Last-Event-ID 11;
  // 3: one record then a clean [DONE] end.
  let (base, log) = http1_server(Arc::new(|n, _| match n {
    0 => (503, vec![], "busy".into()),
    1 => (
      200,
      vec![("content-type", "text/event-stream".into())],
      format!("{}event: error\ndata: boom\n\n", batch_event(&[10, 11])),
    ),
    _ => (
      200,
      vec![("content-type", "text/event-stream".into())],
      format!("{}data: [DONE]\n\n", batch_event(&[12])),
    ),
  }))
  .await;
  let api = TriggerApi::new(ApiConfig::new(&base, "k")).unwrap();
  let (tx, mut rx) = mpsc::channel(8);
  tokio::spawn(subscribe_session_out(
    api.clone(),
    "c".into(),
    Some(9),
    tx,
    SubscriptionOptions::default(),
  ));
  let mut seqs = Vec::new();
  let mut reconnects = 0;
  loop {
    match tokio::time::timeout(Duration::from_secs(10), rx.recv())
      .await
      .unwrap()
    {
      Some(SubscriptionEvent::Batches(b)) => {
        for data in b {
          let v: serde_json::Value = serde_json::from_str(&data).unwrap();
          for r in v["records"].as_array().unwrap() {
            seqs.push(r["seq_num"].as_u64().unwrap());
          }
        }
      }
      Some(SubscriptionEvent::Reconnecting) => reconnects += 1,
      Some(SubscriptionEvent::Ended) => break,
      other => panic!("{other:?}"),
    }
  }
  assert_eq!(seqs, vec![10, 11, 12]);
  assert_eq!(reconnects, 2, "after the 503 and after `event: error`");
  let log = log.lock().unwrap().clone();
  assert_eq!(log.len(), 3);
  assert_eq!(log[0].header("last-event-id"), Some("9"));
  assert_eq!(log[1].header("last-event-id"), Some("9"));
  assert_eq!(log[2].header("last-event-id"), Some("11"));
  assert_eq!(log[0].header("accept"), Some("text/event-stream"));
  assert_eq!(log[0].path, "/realtime/v1/sessions/c/out");

  let (base404, _) = http1_server(Arc::new(|_, _| {
    (404, vec![], r#"{"error":"Session not found"}"#.into())
  }))
  .await;
  let api = TriggerApi::new(ApiConfig::new(&base404, "k")).unwrap();
  let (tx, mut rx) = mpsc::channel(8);
  tokio::spawn(subscribe_session_out(
    api,
    "c".into(),
    None,
    tx,
    SubscriptionOptions::default(),
  ));
  match rx.recv().await {
    Some(SubscriptionEvent::Failed(e)) => {
      assert_eq!(e.status, Some(404));
      assert_eq!(e.message, "Session not found");
    }
    other => panic!("{other:?}"),
  }
}

// ---------------------------------------------------------------------------------------------
// HTTPS: API over TLS (HTTP/1.1) and the S2S writer over TLS (ALPN h2), trusting a private CA.

struct Tls {
  ca_pem: String,
  acceptor: tokio_rustls::TlsAcceptor,
}

fn tls() -> Tls {
  let _ = rustls::crypto::ring::default_provider().install_default();
  let ca_key = rcgen::KeyPair::generate().unwrap();
  let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
  ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
  let ca = ca_params.self_signed(&ca_key).unwrap();
  let leaf_key = rcgen::KeyPair::generate().unwrap();
  let leaf_params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
  let issuer = rcgen::Issuer::new(ca_params, ca_key);
  let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
  let mut cfg = rustls::ServerConfig::builder()
    .with_no_client_auth()
    .with_single_cert(
      vec![leaf.der().clone()],
      rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    )
    .unwrap();
  cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
  Tls {
    ca_pem: ca.pem(),
    acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(cfg)),
  }
}

#[tokio::test]
async fn https_api_and_h2_s2_with_a_private_ca() {
  let tls = tls();
  let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
  let port = listener.local_addr().unwrap().port();
  let acceptor = tls.acceptor.clone();
  let protocols = Arc::new(Mutex::new(Vec::<String>::new()));
  let protocols2 = protocols.clone();
  tokio::spawn(async move {
    loop {
      let (tcp, _) = listener.accept().await.unwrap();
      let acceptor = acceptor.clone();
      let protocols = protocols2.clone();
      tokio::spawn(async move {
        let stream = acceptor.accept(tcp).await.unwrap();
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        protocols
          .lock()
          .unwrap()
          .push(if h2 { "h2".into() } else { "http/1.1".into() });
        let service = service_fn(move |req: Request<Incoming>| async move {
          if req.uri().path().ends_with("/records") {
            // S2S: ack every frame (each test frame carries one record).
            let (tx, body) = ChannelBody::channel();
            let mut incoming = req.into_body();
            tokio::spawn(async move {
              let mut seq = 0u64;
              while let Some(Ok(f)) = incoming.frame().await {
                if f.into_data().is_ok() {
                  let pos = |s| {
                    Some(StreamPosition {
                      seq_num: s,
                      timestamp: 1,
                    })
                  };
                  let ack = AppendAck {
                    start: pos(seq),
                    end: pos(seq + 1),
                    tail: pos(seq + 1),
                  };
                  seq += 1;
                  let p = prost::Message::encode_to_vec(&ack);
                  let mut fr = vec![0u8, 0, (p.len() + 1) as u8, 0];
                  fr.extend_from_slice(&p);
                  let _ = tx.send(Bytes::from(fr));
                }
              }
            });
            let resp: Response<
              http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>,
            > = Response::builder().status(200).body(body.boxed()).unwrap();
            Ok::<_, std::convert::Infallible>(resp)
          } else {
            Ok(
              Response::builder()
                .status(201)
                .body(Full::new(Bytes::from_static(CREATED.as_bytes())).boxed())
                .unwrap(),
            )
          }
        });
        let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
          .serve_connection(TokioIo::new(stream), service)
          .await;
      });
    }
  });

  let mut cfg = ApiConfig::new(&format!("https://localhost:{port}"), "k");
  cfg.extra_ca_pem = Some(tls.ca_pem.clone().into_bytes());
  let api = TriggerApi::new(cfg).unwrap();
  assert_eq!(
    api
      .create_session(Bytes::from_static(b"{}"))
      .await
      .unwrap()
      .public_access_token,
    "pat-1"
  );

  let s2 = chat_headstart_core::session::http::s2_client(Some(tls.ca_pem.as_bytes())).unwrap();
  let (tx, rx) = tee_channel();
  assert!(tx.send(WriterInput::Record(Bytes::from_static(
    b"{\"data\":{},\"id\":\"x\"}",
  ))));
  drop(tx);
  let creds = S2Credentials {
    access_token: "t".into(),
    basin: "tls-basin-1".into(),
    stream: "s".into(),
    endpoint: Some(format!("https://localhost:{port}/v1")),
  };
  let outcome = run_writer(s2, creds, rx, WriterOptions::default()).await;
  assert_eq!(outcome.error, None);
  assert_eq!(outcome.last_acked_seq, Some(0));
  assert_eq!(
    *protocols.lock().unwrap(),
    vec!["http/1.1".to_string(), "h2".to_string()]
  );

  // Without the CA the same endpoint is refused (certificate verification is on).
  let untrusted =
    TriggerApi::new(ApiConfig::new(&format!("https://localhost:{port}"), "k")).unwrap();
  let req = Request::builder()
    .uri(format!("https://localhost:{port}/api/v1/sessions"))
    .body(Full::new(Bytes::new()))
    .unwrap();
  let err = untrusted.send(req).await.unwrap_err();
  assert_eq!(err.status, None, "an unknown CA is a connection error");
}
