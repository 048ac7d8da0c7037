//! Optional TLS for both ports (`tls: true`): a fresh self-signed certificate for localhost /
//! 127.0.0.1 / the bound host, ALPN `h2` + `http/1.1`, so clients can prove their HTTPS paths
//! (Trigger.dev cloud and S2 cloud are TLS) against the local plane by trusting `cert_pem`.

use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

pub struct Tls {
  pub acceptor: TlsAcceptor,
  /// The certificate clients must trust (PEM).
  pub cert_pem: String,
}

pub fn self_signed(host: &str) -> Result<Tls, String> {
  let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
  if !names.iter().any(|n| n == host) {
    names.push(host.to_owned());
  }
  let certified =
    rcgen::generate_simple_self_signed(names).map_err(|e| format!("certificate: {e}"))?;
  let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
    certified.signing_key.serialize_der(),
  ));
  let provider = Arc::new(rustls::crypto::ring::default_provider());
  let mut config = rustls::ServerConfig::builder_with_provider(provider)
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS versions: {e}"))?
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .map_err(|e| format!("TLS certificate: {e}"))?;
  config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
  Ok(Tls {
    acceptor: TlsAcceptor::from(Arc::new(config)),
    cert_pem: certified.cert.pem(),
  })
}

#[cfg(test)]
mod tests {
  #[test]
  fn makes_a_pem_certificate() {
    let tls = super::self_signed("127.0.0.1").unwrap();
    assert!(tls.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
  }
}
