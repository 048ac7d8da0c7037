//! A head-start turn (`chat_headstart_core::handover::turn`) against the local plane, watched
//! through the log switch's own subscriber (`chat_headstart_core::logging`) writing into memory:
//! the phases appear as spans and events with their fields, the turn's report says the same, and
//! neither the secret key, the S2 token nor the session's access token appears in any line.

use chat_headstart_core::handover::report::{Decision, HandoverReport, Outcome, TurnReport};
use chat_headstart_core::handover::turn::{Step1End, Turn, TurnOptions, TurnParams, TurnSink};
use chat_headstart_core::logging::{subscriber, CapturedLog, LogFormat};
use chat_headstart_core::session::api::{ApiError, CreatedSession};
use chat_headstart_core::session::http::s2_client;
use chat_headstart_core::session::{ApiConfig, TriggerApi};
use chat_headstart_core::wire::{
  create_session_body, parse_head_start_request, CreateSessionOptions, RequestLimits,
  SessionPayload,
};
use chat_headstart_plane::{Plane, PlaneOptions};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

enum Seen {
  Session(Result<CreatedSession, ApiError>),
  Dispatched(Option<HandoverReport>),
  End(Box<TurnReport>),
}

struct Sink(mpsc::UnboundedSender<Seen>);

impl TurnSink for Sink {
  fn session(&self, result: Result<CreatedSession, ApiError>) {
    let _ = self.0.send(Seen::Session(result));
  }
  fn body(&self, _bytes: Vec<u8>) {}
  fn dispatched(&self, handover: Option<&HandoverReport>) {
    let _ = self.0.send(Seen::Dispatched(handover.cloned()));
  }
  fn end(&self, _last: Vec<u8>, report: &TurnReport) {
    let _ = self.0.send(Seen::End(Box::new(report.clone())));
  }
  fn warn(&self, _message: String) {}
}

/// The sink's next report (a stuck turn fails the test instead of hanging it).
async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
  tokio::time::timeout(Duration::from_secs(20), rx.recv())
    .await
    .expect("the turn moves on")
    .expect("the sink stays open")
}

const SECRET: &str = "tr_dev_turn_telemetry_SECRET_0123456789";

#[test]
fn a_turn_logs_its_phases_and_reports_them_without_secrets() {
  // The plane owns a runtime of its own, started and shut down outside any async context.
  let plane = Plane::start(
    PlaneOptions {
      secret_key: Some(SECRET.into()),
      ..Default::default()
    },
    None,
  )
  .unwrap();
  let out = CapturedLog::default();
  // A current-thread runtime: the turn's tasks run on this thread, where the capturing
  // subscriber is the default (the plane's threads are not captured).
  let _guard =
    tracing::subscriber::set_default(subscriber("trace", LogFormat::Text, out.clone()).unwrap());
  let rt = tokio::runtime::Builder::new_current_thread()
    .enable_all()
    .build()
    .unwrap();
  let (report, handover, token) = rt.block_on(turn(&plane));
  plane.shutdown();
  check(&report, &handover);

  let log = out.text();
  check_log(&log);
  for secret in [SECRET, plane.state.s2_token.as_str(), token.as_str()] {
    assert!(!log.contains(secret), "{secret} in the log");
  }
}

/// One text turn through `Turn`: createSession, step 1, the handover, phase 2 to turn-complete.
async fn turn(plane: &Plane) -> (Box<TurnReport>, HandoverReport, String) {
  let api = TriggerApi::new(ApiConfig::new(&plane.api_url(), SECRET)).unwrap();
  let (tx, mut rx) = mpsc::unbounded_channel();
  // The createSession body exactly as the binding builds it for a browser's first message.
  let request = parse_head_start_request(
    "POST",
    Some("application/json"),
    br#"{"chatId":"rust-turn","trigger":"submit-message","headStartMessages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"Hello"}]}]}"#,
    &RequestLimits::default(),
  )
  .unwrap();
  let options = CreateSessionOptions::from_json(br#"{"agentId":"rust-agent"}"#, |_| None).unwrap();
  let create_body = create_session_body(SessionPayload::HeadStart(&request), &options).unwrap();
  let handle = Turn::start(
    &tokio::runtime::Handle::current(),
    api,
    s2_client(None).unwrap(),
    TurnParams {
      chat_id: "rust-turn".into(),
      message_id: "MSGrustturn00001".into(),
      agent_id: "rust-agent".into(),
      create_body,
      detached: false,
      notify_dispatched: true,
    },
    TurnOptions {
      handover_timeout: Duration::from_secs(20),
      ..Default::default()
    },
    Arc::new(Sink(tx)),
  );
  let token = match next(&mut rx).await {
    Seen::Session(Ok(created)) => created.public_access_token,
    Seen::Session(Err(e)) => panic!("createSession failed: {e}"),
    _ => panic!("createSession is reported first"),
  };
  let browser = handle.push_chunks(
    br#"{"type":"start","messageId":"MSGrustturn00001"}
{"type":"text-start","id":"t1"}
{"type":"text-delta","id":"t1","delta":"Hello world"}
{"type":"text-end","id":"t1"}
{"type":"finish","finishReason":"stop"}"#,
  );
  assert!(String::from_utf8(browser)
    .unwrap()
    .starts_with("data: {\"type\":\"start\""));
  handle.finish(Step1End::Finished {
    finish_reason: "stop".into(),
    messages_json: r#"[{"role":"assistant","content":[{"type":"text","text":"Hello world"}]}]"#
      .into(),
  });
  let handover = match next(&mut rx).await {
    Seen::Dispatched(Some(h)) => h,
    _ => panic!("the dispatch is reported with its decision"),
  };
  assert_eq!(handover.decision, Decision::Handover);
  assert_eq!(handover.is_final, Some(true));
  assert!(handover.ok);
  let report = match next(&mut rx).await {
    Seen::End(report) => report,
    _ => panic!("then the end"),
  };
  (report, handover, token)
}

fn check(report: &TurnReport, handover: &HandoverReport) {
  assert_eq!(report.outcome, Outcome::Complete, "{report:?}");
  assert_eq!(report.error, None);
  let created = report.create_session.as_ref().unwrap();
  assert_eq!((created.attempts, created.status), (1, Some(201)));
  let tee = report.tee.as_ref().unwrap();
  assert_eq!(tee.stats.records, 5);
  assert_eq!(tee.last_acked_seq, Some(4));
  assert_eq!(report.handover.as_ref(), Some(handover));
  assert_eq!(report.phase2.as_ref().unwrap().reconnects, 0);
  let t = &report.timings;
  let ordered = [
    t.create_session_ms.unwrap(),
    t.step1_end_ms.unwrap(),
    t.handover_ms.unwrap(),
    t.turn_complete_ms.unwrap(),
    t.end_ms,
  ];
  assert!(ordered.windows(2).all(|w| w[0] <= w[1]), "{ordered:?}");
}

/// Each phase, in order, inside the turn's span; trace events too.
fn check_log(log: &str) {
  let at = |needle: &str| {
    log
      .find(needle)
      .unwrap_or_else(|| panic!("{needle:?} not logged:\n{log}"))
  };
  let phases = [
    at("turn{chat_id=rust-turn agent_id=rust-agent message_id=MSGrustturn00001}: chat_headstart_core::handover::turn: turn started"),
    at(":createSession{attempts=1 status=201"),
    at(":tee: chat_headstart_core::session::s2: step 1 persisted records=5"),
    at(":handover: chat_headstart_core::handover::turn: handover sent is_final=true"),
    at(":subscribe{chat_id=rust-turn}: chat_headstart_core::session::subscribe: connected"),
    at(":phase2: chat_headstart_core::handover::turn: turn-complete received"),
    at("turn ended outcome=\"complete\""),
  ];
  assert!(phases.windows(2).all(|w| w[0] < w[1]), "{phases:?}\n{log}");
  assert!(log.contains(" TRACE "), "trace events too");
}
