//! TLS client settings for an instance's outbound connections (HTTP and network streams).
//!
//! An instance with a `ca_file` trusts only the certificates in it: an on-prem UEM behind a
//! private CA is pinned to that CA. Without one, the operating system's trust store is used.
//! Certificates are always verified; there is no "accept any" switch.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error("CA file {}: {reason}", path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error("the system's trust store has no usable certificates: {0}")]
    NoSystemRoots(String),
    #[error("client certificate {}: {reason}", path.display())]
    Identity { path: PathBuf, reason: String },
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Builds a client config trusting `ca_file`'s certificates, or the system's when `None`.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let roots = match ca_file {
        Some(path) => Arc::new(roots_from_pem_file(path)?),
        None => system_roots()?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Like [`client_config`], presenting the certificate chain and key of `identity` (PEM files)
/// to servers that ask for one (mutual TLS).
pub fn client_config_with_identity(
    ca_file: Option<&Path>,
    identity: Option<&(PathBuf, PathBuf)>,
) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let Some((cert_file, key_file)) = identity else { return client_config(ca_file) };
    let roots = match ca_file {
        Some(path) => Arc::new(roots_from_pem_file(path)?),
        None => system_roots()?,
    };
    let identity_error = |path: &Path, reason: String| TlsConfigError::Identity { path: path.to_path_buf(), reason };
    let chain = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| identity_error(cert_file, format!("cannot be read as PEM certificates: {e}")))?;
    if chain.is_empty() {
        return Err(identity_error(cert_file, "holds no PEM certificates".into()));
    }
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| identity_error(key_file, format!("cannot be read as a PEM private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| identity_error(cert_file, format!("does not match its key: {e}")))?;
    Ok(Arc::new(config))
}

/// Reads every certificate in a PEM bundle. An empty or unreadable bundle is an error: silently
/// trusting nothing would look like a network fault later.
pub fn roots_from_pem_file(path: &Path) -> Result<RootCertStore, TlsConfigError> {
    let ca_error = |reason: String| TlsConfigError::CaFile { path: path.to_path_buf(), reason };
    let pem = std::fs::read(path).map_err(|e| ca_error(format!("cannot be read: {e}")))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| ca_error(format!("is not valid PEM: {e}")))?;
        roots.add(cert).map_err(|e| ca_error(format!("holds a certificate that cannot be used as a CA: {e}")))?;
    }
    if roots.is_empty() {
        return Err(ca_error("holds no PEM certificates".to_string()));
    }
    Ok(roots)
}

/// The system trust store, loaded once per process.
fn system_roots() -> Result<Arc<RootCertStore>, TlsConfigError> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
            if added == 0 {
                let reasons: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
                return Err(if reasons.is_empty() { "no certificates found".to_string() } else { reasons.join("; ") });
            }
            Ok(Arc::new(roots))
        })
        .clone()
        .map_err(TlsConfigError::NoSystemRoots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_garbage_bundles_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").expect("write");
        let err = roots_from_pem_file(&empty).expect_err("empty bundle");
        assert!(err.to_string().contains("holds no PEM certificates"), "{err}");

        let missing = dir.path().join("missing.pem");
        let err = roots_from_pem_file(&missing).expect_err("missing file");
        assert!(err.to_string().contains("cannot be read"), "{err}");
    }
}
