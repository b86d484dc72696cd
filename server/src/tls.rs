//! TLS for `https://` listeners, with rustls and its `ring` provider: the
//! certificate chain and private key come from PEM files named by
//! `ssl.certificate.location` and `ssl.key.location` (or one PEM file
//! holding both, named by `ssl.keystore.location` with
//! `ssl.keystore.type=PEM`; JKS and PKCS12 keystores are refused). ALPN
//! offers `h2` and `http/1.1`. Handshakes run in their own tasks, so a
//! slow client does not hold up the others.

use crate::error::ServerError;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client has to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the server's certificate chain and key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The PEM certificate chain, the server's own certificate first.
    pub certificate: PathBuf,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1), not encrypted.
    pub key: PathBuf,
}

fn config_error(message: impl Into<String>) -> ServerError {
    ServerError::Config(message.into())
}

impl TlsSettings {
    /// The TLS files `settings` name, or `None` when they name none.
    pub fn from_settings(settings: &HashMap<String, String>) -> Result<Option<Self>, ServerError> {
        let get = |k: &str| {
            settings
                .get(k)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if settings.contains_key("ssl.key.password")
            || settings.contains_key("ssl.keystore.password")
        {
            tracing::warn!("ssl.*.password is ignored: the PEM key must not be encrypted");
        }
        match (get("ssl.certificate.location"), get("ssl.key.location")) {
            (Some(certificate), Some(key)) => return Ok(Some(TlsSettings { certificate, key })),
            (Some(_), None) | (None, Some(_)) => {
                return Err(config_error(
                    "ssl.certificate.location and ssl.key.location go together",
                ))
            }
            (None, None) => {}
        }
        if let Some(keystore) = get("ssl.keystore.location") {
            let kind = settings
                .get("ssl.keystore.type")
                .map(|t| t.trim().to_ascii_uppercase())
                .unwrap_or_else(|| "JKS".to_string());
            if kind != "PEM" {
                return Err(config_error(format!(
                    "ssl.keystore.type={kind} is not supported (it needs Java): convert the \
                     keystore to PEM files and name them with ssl.certificate.location and \
                     ssl.key.location, or set ssl.keystore.type=PEM for one PEM file holding both"
                )));
            }
            return Ok(Some(TlsSettings {
                certificate: keystore.clone(),
                key: keystore,
            }));
        }
        Ok(None)
    }

    /// A TLS acceptor over the configured certificate and key.
    pub fn acceptor(&self) -> Result<TlsAcceptor, ServerError> {
        let certificates = read_certificates(&self.certificate)?;
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| {
            config_error(format!(
                "no unencrypted PEM private key in {}: {e}",
                self.key.display()
            ))
        })?;
        // ring, not aws-lc-rs: it builds without cmake. rustls deprecates
        // its provider for lacking post-quantum key exchange only.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error(format!("TLS: {e}")))?
            .with_no_client_auth()
            .with_single_cert(certificates, key)
            .map_err(|e| {
                config_error(format!(
                    "TLS certificate {} and key {}: {e}",
                    self.certificate.display(),
                    self.key.display()
                ))
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, ServerError> {
    let bad = |e: &dyn std::fmt::Display| {
        config_error(format!("reading certificates from {}: {e}", path.display()))
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    if certificates.is_empty() {
        return Err(bad(&"no PEM certificate"));
    }
    Ok(certificates)
}

/// A listener whose connections are TLS streams: TCP connections are
/// accepted and their handshakes completed in the background.
pub struct TlsListener {
    local: SocketAddr,
    ready: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Accepts TLS connections on `listener` with `acceptor`.
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<TlsListener> {
        let local = listener.local_addr()?;
        let (tx, ready) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = tx.closed() => return,
                };
                let (tcp, peer) = match accepted {
                    Ok(connection) => connection,
                    Err(e) => {
                        // Out of descriptors and the like: wait a little.
                        tracing::warn!("accepting a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Streamed rows are small writes: no Nagle delay.
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::warn!("cannot set TCP_NODELAY: {e}");
                }
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!("TLS handshake with {peer}: {e}"),
                        Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { local, ready })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pem_files_or_a_pem_keystore() {
        assert_eq!(TlsSettings::from_settings(&settings(&[])).unwrap(), None);
        let both = TlsSettings::from_settings(&settings(&[
            ("ssl.certificate.location", "c.pem"),
            ("ssl.key.location", "k.pem"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(both.certificate, PathBuf::from("c.pem"));
        assert!(TlsSettings::from_settings(&settings(&[("ssl.key.location", "k.pem")])).is_err());
        let err = TlsSettings::from_settings(&settings(&[("ssl.keystore.location", "ks.jks")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ssl.keystore.type=JKS is not supported"),
            "{err}"
        );
        let pem = TlsSettings::from_settings(&settings(&[
            ("ssl.keystore.location", "ks.pem"),
            ("ssl.keystore.type", "PEM"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(pem.key, PathBuf::from("ks.pem"));
    }

    #[test]
    fn missing_files_are_reported() {
        let s = TlsSettings {
            certificate: PathBuf::from("/nonexistent/c.pem"),
            key: PathBuf::from("/nonexistent/k.pem"),
        };
        let err = s
            .acceptor()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("/nonexistent/c.pem"), "{err}");
    }
}
