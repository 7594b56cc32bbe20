//! TLS server configs for the emulators: rustls with ring, HTTP/1.1 by ALPN.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A server config presenting `chain` (leaf first) with `key`, offering `http/1.1` by ALPN.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(http1(config))
}

/// Like [`server_config`], requiring every client to present a certificate that chains to one
/// of the PEM certificates in `client_ca_pem`.
pub fn server_config_requiring_clients(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_ca_pem: &str,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(client_ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| rustls::Error::General(format!("client CA PEM: {e}")))?;
        roots.add(cert)?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| rustls::Error::General(format!("client verifier: {e}")))?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    Ok(http1(config))
}

fn http1(mut config: rustls::ServerConfig) -> Arc<rustls::ServerConfig> {
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A server config from a PEM certificate chain (leaf first) and a PEM private key, as the
/// emulators' `--tls-cert` and `--tls-key` name them.
pub fn server_config_from_pem_files(cert: &Path, key: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading certificates from {}", cert.display()))?;
    if chain.is_empty() {
        bail!("no certificate in {}", cert.display());
    }
    let key =
        PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading a private key from {}", key.display()))?;
    server_config(chain, key).context("the certificate and key do not make a TLS server")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pem_files() {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key, empty) =
            (dir.path().join("cert.pem"), dir.path().join("key.pem"), dir.path().join("empty.pem"));
        std::fs::write(&cert, certified.cert.pem()).expect("write");
        std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write");
        std::fs::write(&empty, "").expect("write");

        let config = server_config_from_pem_files(&cert, &key).expect("config");
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        let error = server_config_from_pem_files(&empty, &key).expect_err("no certificate");
        assert!(error.to_string().contains("no certificate"), "{error}");
        assert!(server_config_from_pem_files(&cert, &empty).is_err());
    }
}
