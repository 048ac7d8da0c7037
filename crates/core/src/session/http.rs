//! Shared HTTP machinery: one rustls configuration (webpki roots + optional extra PEM roots),
//! an HTTP/1.1 pool for the Trigger API (the reference uses undici over HTTP/1.1) and an
//! HTTP/2-only pool for S2 (h2c with prior knowledge on `http://`, ALPN h2 on `https://`).

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;

pub type ApiClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;
pub type S2Client = Client<HttpsConnector<HttpConnector>, ChannelBody>;

/// Builds the TLS client configuration. Extra roots come from `extra_ca_pem` and from the file
/// named by `NODE_EXTRA_CA_CERTS` (the Node convention users already rely on for private CAs).
/// ALPN stays empty: the hyper-rustls connector sets it from the enabled HTTP versions.
pub fn tls_config(extra_ca_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, String> {
  let mut roots = rustls::RootCertStore::empty();
  roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
  let mut add_pem = |pem: &[u8], origin: &str| -> Result<(), String> {
    for cert in CertificateDer::pem_slice_iter(pem) {
      let cert = cert.map_err(|e| format!("invalid PEM certificate in {origin}: {e}"))?;
      roots
        .add(cert)
        .map_err(|e| format!("unusable CA certificate in {origin}: {e}"))?;
    }
    Ok(())
  };
  if let Some(pem) = extra_ca_pem {
    add_pem(pem, "the configured CA bundle")?;
  }
  if let Some(path) = std::env::var_os("NODE_EXTRA_CA_CERTS") {
    if let Ok(pem) = std::fs::read(&path) {
      add_pem(&pem, "NODE_EXTRA_CA_CERTS")?;
    }
  }
  let provider = Arc::new(rustls::crypto::ring::default_provider());
  let cfg = rustls::ClientConfig::builder_with_provider(provider)
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
  Ok(cfg)
}

fn http_connector() -> HttpConnector {
  let mut http = HttpConnector::new();
  http.enforce_http(false);
  http.set_nodelay(true);
  http.set_connect_timeout(Some(Duration::from_secs(3)));
  http
}

/// How long a pooled upstream connection may stay idle before it is closed.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

pub fn api_client(extra_ca_pem: Option<&[u8]>) -> Result<ApiClient, String> {
  api_client_with_idle_timeout(extra_ca_pem, POOL_IDLE_TIMEOUT)
}

/// [`api_client`] with another idle timeout (tests).
pub fn api_client_with_idle_timeout(
  extra_ca_pem: Option<&[u8]>,
  idle_timeout: Duration,
) -> Result<ApiClient, String> {
  let connector = hyper_rustls::HttpsConnectorBuilder::new()
    .with_tls_config(tls_config(extra_ca_pem)?)
    .https_or_http()
    .enable_http1()
    .wrap_connector(http_connector());
  Ok(
    Client::builder(TokioExecutor::new())
      .pool_idle_timeout(idle_timeout)
      // Without a timer hyper-util never evicts idle connections: after a burst they stayed
      // open until reused (scripts/soak.mjs: the handler's fds never came back to baseline).
      .pool_timer(TokioTimer::new())
      .build(connector),
  )
}

pub fn s2_client(extra_ca_pem: Option<&[u8]>) -> Result<S2Client, String> {
  let connector = hyper_rustls::HttpsConnectorBuilder::new()
    .with_tls_config(tls_config(extra_ca_pem)?)
    .https_or_http()
    .enable_http2()
    .wrap_connector(http_connector());
  Ok(
    Client::builder(TokioExecutor::new())
      .http2_only(true)
      // Matches the S2 SDK: 10 MiB stream and connection windows so batches pipeline.
      .http2_initial_stream_window_size(10 * 1024 * 1024)
      .http2_initial_connection_window_size(10 * 1024 * 1024)
      .pool_idle_timeout(POOL_IDLE_TIMEOUT)
      .pool_timer(TokioTimer::new())
      .build(connector),
  )
}

/// A streaming request body fed through a channel: each `Bytes` becomes one DATA frame,
/// dropping the sender ends the stream (END_STREAM, the S2S clean close).
pub struct ChannelBody {
  rx: Option<mpsc::UnboundedReceiver<Bytes>>,
}

impl ChannelBody {
  pub fn channel() -> (mpsc::UnboundedSender<Bytes>, ChannelBody) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, ChannelBody { rx: Some(rx) })
  }
  pub fn empty() -> ChannelBody {
    ChannelBody { rx: None }
  }
}

impl Body for ChannelBody {
  type Data = Bytes;
  type Error = Infallible;

  fn poll_frame(
    mut self: Pin<&mut Self>,
    cx: &mut Context<'_>,
  ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
    match self.rx.as_mut() {
      None => Poll::Ready(None),
      Some(rx) => match rx.poll_recv(cx) {
        Poll::Ready(Some(b)) => Poll::Ready(Some(Ok(Frame::data(b)))),
        Poll::Ready(None) => {
          self.rx = None;
          Poll::Ready(None)
        }
        Poll::Pending => Poll::Pending,
      },
    }
  }

  fn is_end_stream(&self) -> bool {
    self.rx.is_none()
  }

  fn size_hint(&self) -> SizeHint {
    SizeHint::default()
  }
}
