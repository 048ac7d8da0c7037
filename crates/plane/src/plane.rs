//! Starting and stopping a plane: its own small tokio runtime, two listeners (Trigger API and
//! S2, each serving HTTP/1.1 and h2c prior-knowledge through hyper-util's auto builder), and
//! the shared state every route works on. `shutdown` stops every task and frees both ports.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use chat_headstart_core::wire::ids::alnum;

use crate::agent::{AgentScript, TurnHook};
use crate::faults::{FaultState, Faults};
use crate::log::{Origin, RequestLog};
use crate::sessions::Sessions;
use crate::state::PlaneState;
use crate::store::Streams;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PlaneOptions {
  /// Interface to bind (default 127.0.0.1).
  pub host: String,
  /// Trigger API port (0 = ephemeral).
  pub port: u16,
  /// S2 port (0 = ephemeral).
  pub s2_port: u16,
  /// The secret key clients must send (generated when absent).
  pub secret_key: Option<String>,
  /// Reject unknown credentials (default). `false` accepts any non-empty Bearer token.
  pub strict_auth: bool,
  /// `X-S2-Flush-Interval-Ms` handed to writers by `PUT …/{io}`.
  pub flush_interval_ms: u64,
  /// Idle heartbeat period of streaming reads (`event: ping`, S2S heartbeat batches).
  pub heartbeat_ms: u64,
  /// Idle wait of the session SSE route when the client sends no `Timeout-Seconds` (S2: 60).
  pub sse_default_wait_seconds: u64,
  pub log_requests: bool,
  pub max_logged_requests: usize,
  /// Tokio worker threads of the plane's runtime.
  pub worker_threads: usize,
  /// Serve both ports over TLS with a fresh self-signed certificate (see `cert_pem`).
  pub tls: bool,
  /// A connection must send its first request head within this time of being accepted, and
  /// each later HTTP/1.1 request head within this time of starting it (or of the previous
  /// response, when idle on keep-alive); slower or silent connections are closed (slow-loris).
  pub header_read_timeout_ms: u64,
  pub agent: AgentScript,
  pub faults: Faults,
}

impl Default for PlaneOptions {
  fn default() -> Self {
    PlaneOptions {
      host: "127.0.0.1".into(),
      port: 0,
      s2_port: 0,
      secret_key: None,
      strict_auth: true,
      flush_interval_ms: 200,
      heartbeat_ms: 10_000,
      sse_default_wait_seconds: 60,
      log_requests: true,
      max_logged_requests: 100_000,
      worker_threads: 2,
      tls: false,
      header_read_timeout_ms: 30_000,
      agent: AgentScript::default(),
      faults: Faults::default(),
    }
  }
}

pub struct Plane {
  pub state: Arc<PlaneState>,
  pub api_addr: SocketAddr,
  pub s2_addr: SocketAddr,
  cancel: CancellationToken,
  runtime: Mutex<Option<tokio::runtime::Runtime>>,
}

impl Plane {
  pub fn start(options: PlaneOptions, hook: Option<Arc<dyn TurnHook>>) -> std::io::Result<Plane> {
    check_exposure(&options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
      .worker_threads(options.worker_threads.max(1))
      .thread_name("chat-headstart-plane")
      .enable_all()
      .build()?;
    let api = std::net::TcpListener::bind((options.host.as_str(), options.port))?;
    let s2 = std::net::TcpListener::bind((options.host.as_str(), options.s2_port))?;
    api.set_nonblocking(true)?;
    s2.set_nonblocking(true)?;
    let api_addr = api.local_addr()?;
    let s2_addr = s2.local_addr()?;
    let tls = if options.tls {
      Some(crate::tls::self_signed(&options.host).map_err(std::io::Error::other)?)
    } else {
      None
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let state = Arc::new(PlaneState {
      streams: Streams::default(),
      sessions: Sessions::default(),
      faults: FaultState::new(options.faults),
      agent: RwLock::new(options.agent),
      hook,
      log: RequestLog::new(options.log_requests, options.max_logged_requests),
      traffic: Arc::default(),
      secret_key: options
        .secret_key
        .unwrap_or_else(|| format!("tr_dev_{}", alnum(20))),
      s2_token: format!("s2_local_{}", alnum(24)),
      basin: "chat-headstart-local".into(),
      s2_endpoint: format!("{scheme}://{}/v1", url_host(s2_addr)),
      strict_auth: options.strict_auth,
      flush_interval_ms: options.flush_interval_ms,
      heartbeat: Duration::from_millis(options.heartbeat_ms.max(10)),
      sse_default_wait_seconds: options.sse_default_wait_seconds.clamp(1, 600),
      header_read_timeout: Duration::from_millis(options.header_read_timeout_ms.max(10)),
      cert_pem: tls.as_ref().map(|t| t.cert_pem.clone()),
    });
    let acceptor = tls.map(|t| t.acceptor);
    let cancel = CancellationToken::new();
    {
      let _guard = runtime.enter();
      let api = tokio::net::TcpListener::from_std(api)?;
      let s2 = tokio::net::TcpListener::from_std(s2)?;
      runtime.spawn(accept_loop(
        api,
        state.clone(),
        Origin::Api,
        acceptor.clone(),
        cancel.clone(),
      ));
      runtime.spawn(accept_loop(
        s2,
        state.clone(),
        Origin::S2,
        acceptor,
        cancel.clone(),
      ));
    }
    Ok(Plane {
      state,
      api_addr,
      s2_addr,
      cancel,
      runtime: Mutex::new(Some(runtime)),
    })
  }

  pub fn api_url(&self) -> String {
    let scheme = if self.state.cert_pem.is_some() {
      "https"
    } else {
      "http"
    };
    format!("{scheme}://{}", url_host(self.api_addr))
  }

  /// Stops accepting, drops every connection and agent task, frees both ports. Blocking;
  /// call it off any async runtime thread (e.g. `spawn_blocking`).
  pub fn shutdown(&self) {
    self.cancel.cancel();
    let runtime = self
      .runtime
      .lock()
      .unwrap_or_else(|e| e.into_inner())
      .take();
    if let Some(runtime) = runtime {
      runtime.shutdown_timeout(Duration::from_secs(2));
    }
  }

  pub fn is_closed(&self) -> bool {
    self.cancel.is_cancelled()
  }
}

impl Drop for Plane {
  fn drop(&mut self) {
    self.cancel.cancel();
    if let Some(runtime) = self
      .runtime
      .lock()
      .unwrap_or_else(|e| e.into_inner())
      .take()
    {
      runtime.shutdown_background();
    }
  }
}

/// Off loopback, any process that can reach the port is a caller: credentials stay mandatory.
fn check_exposure(options: &PlaneOptions) -> std::io::Result<()> {
  if options.strict_auth || is_loopback_host(&options.host) {
    return Ok(());
  }
  Err(std::io::Error::new(
    std::io::ErrorKind::InvalidInput,
    format!(
      "strictAuth: false accepts any bearer token and is only allowed on a loopback host, not {:?}",
      options.host
    ),
  ))
}

/// `localhost`, or an IP address in 127.0.0.0/8 or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
  host.eq_ignore_ascii_case("localhost")
    || host
      .trim_start_matches('[')
      .trim_end_matches(']')
      .parse::<std::net::IpAddr>()
      .is_ok_and(|ip| ip.is_loopback())
}

fn url_host(addr: SocketAddr) -> String {
  match addr {
    SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
    SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
  }
}

async fn accept_loop(
  listener: tokio::net::TcpListener,
  state: Arc<PlaneState>,
  origin: Origin,
  tls: Option<tokio_rustls::TlsAcceptor>,
  cancel: CancellationToken,
) {
  loop {
    let accepted = tokio::select! {
      _ = cancel.cancelled() => return,
      accepted = listener.accept() => accepted,
    };
    let (socket, _) = match accepted {
      Ok(pair) => pair,
      Err(e) => {
        tracing::warn!("plane accept failed: {e}");
        tokio::time::sleep(Duration::from_millis(10)).await;
        continue;
      }
    };
    let _ = socket.set_nodelay(true);
    let state = state.clone();
    let cancel = cancel.clone();
    let tls = tls.clone();
    let connection = state.traffic.connection();
    tokio::spawn(async move {
      let _connection = connection;
      match tls {
        None => serve(socket, state, origin, cancel).await,
        Some(acceptor) => {
          let handshake = tokio::select! {
            _ = cancel.cancelled() => return,
            result = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(socket)) => result,
          };
          match handshake {
            Ok(Ok(stream)) => serve(stream, state, origin, cancel).await,
            Ok(Err(e)) => tracing::debug!("plane TLS handshake failed: {e}"),
            Err(_) => tracing::debug!("plane TLS handshake timed out"),
          }
        }
      }
    });
  }
}

/// Logs a request, routes it to its plane, and has the log follow the response to its end.
/// With the log switch on (`chat_headstart_plane=debug`), each request is also one debug
/// event: origin, method, path (no query, no headers: the credentials travel in headers) and
/// the status, with the time to the response head.
async fn handle_logged(
  state: Arc<PlaneState>,
  origin: Origin,
  req: http::Request<hyper::body::Incoming>,
) -> crate::http::Resp {
  let (parts, body) = req.into_parts();
  let body = crate::http::boxed_incoming(body);
  let log_id = state.log.begin(origin, &parts);
  let in_flight = state.traffic.request({
    let state = state.clone();
    move || state.log.abandon(log_id)
  });
  let is_head = parts.method == http::Method::HEAD;
  let traced = tracing::enabled!(tracing::Level::DEBUG).then(|| {
    (
      parts.method.clone(),
      parts.uri.path().to_owned(),
      std::time::Instant::now(),
    )
  });
  let resp = match origin {
    Origin::Api => crate::api::handle(state.clone(), parts, body, log_id).await,
    Origin::S2 => crate::s2::handle(state.clone(), parts, body, log_id).await,
  };
  if let Some((method, path, started)) = traced {
    tracing::debug!(
      origin = origin.as_str(),
      method = %method,
      path = %path,
      status = resp.status().as_u16(),
      head_ms = chat_headstart_core::logging::ms_since(started),
      "request"
    );
  }
  in_flight.follow(state.log.track_response(log_id, is_head, resp))
}

/// Serves one connection (HTTP/1.1 or HTTP/2, sniffed) until it ends or the plane closes.
async fn serve<I>(io: I, state: Arc<PlaneState>, origin: Origin, cancel: CancellationToken)
where
  I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
  let header_timeout = state.header_read_timeout;
  let started = Arc::new(AtomicBool::new(false));
  let service = {
    let started = started.clone();
    service_fn(move |req| {
      started.store(true, Ordering::Relaxed);
      let state = state.clone();
      async move { Ok::<_, Infallible>(handle_logged(state, origin, req).await) }
    })
  };
  let mut builder = auto::Builder::new(TokioExecutor::new());
  builder
    .http1()
    .timer(TokioTimer::new())
    .header_read_timeout(header_timeout);
  builder
    .http2()
    .initial_stream_window_size(8 * 1024 * 1024)
    .initial_connection_window_size(16 * 1024 * 1024)
    .max_concurrent_streams(1000);
  let conn = builder.serve_connection(TokioIo::new(io), service);
  tokio::pin!(conn);
  // hyper's own header timeout starts only once it knows the protocol: a connection silent
  // (or dribbling) before its first request would otherwise be held forever.
  let first_request = tokio::time::sleep(header_timeout);
  tokio::pin!(first_request);
  let mut waiting_first = true;
  loop {
    tokio::select! {
      _ = cancel.cancelled() => return,
      _ = &mut first_request, if waiting_first => {
        if !started.load(Ordering::Relaxed) {
          tracing::debug!("plane connection sent no request in time; closed");
          return;
        }
        waiting_first = false;
      }
      result = &mut conn => {
        if let Err(e) = result {
          tracing::debug!("plane connection ended: {e}");
        }
        return;
      }
    }
  }
}
