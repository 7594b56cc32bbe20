//! The listener's certificate: the admin's own (PEM chain and key), or a self-signed one made on
//! first start, kept, and reported with its SHA-256 fingerprint so admins can check what their
//! browser shows.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::config::local_proxy::CertificateSource;

#[derive(Debug, thiserror::Error)]
pub enum ListenerTlsError {
    #[error("{}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(String),
    #[error("the certificate in {} does not fit its key or cannot be served: {reason}", path.display())]
    Unusable { path: PathBuf, reason: String },
}

/// What the listener presents.
pub struct ListenerIdentity {
    pub server: Arc<ServerConfig>,
    /// SHA-256 of the leaf certificate, as `AB:CD:…`: what browsers show.
    pub fingerprint: String,
    pub cert_file: PathBuf,
    pub self_signed: bool,
}

/// Loads the configured certificate, or the self-signed one (making it when missing).
pub fn load(source: &CertificateSource, host: &str) -> Result<ListenerIdentity, ListenerTlsError> {
    let (cert, key, self_signed) = match source {
        CertificateSource::Files { cert, key } => (cert.clone(), key.clone(), false),
        CertificateSource::SelfSigned { dir } => {
            let (cert, key) = (dir.join("proxy-cert.pem"), dir.join("proxy-key.pem"));
            if !cert.exists() || !key.exists() {
                generate(dir, &cert, &key, host)?;
            }
            (cert, key, true)
        }
    };
    let file_error = |path: &Path, reason: String| ListenerTlsError::File { path: path.to_path_buf(), reason };
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| file_error(&cert, format!("cannot be read as PEM certificates: {e}")))?;
    let leaf = chain.first().ok_or_else(|| file_error(&cert, "holds no PEM certificate".into()))?;
    let fingerprint = colon_hex(&Sha256::digest(leaf.as_ref()));
    let private_key = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| file_error(&key, format!("cannot be read as a PEM private key: {e}")))?;
    let unusable = |reason: String| ListenerTlsError::Unusable { path: cert.clone(), reason };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| unusable(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| unusable(e.to_string()))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(ListenerIdentity { server: Arc::new(server), fingerprint, cert_file: cert, self_signed })
}

/// Makes a self-signed certificate for `host`, `localhost` and the loopback addresses, valid for
/// two years, its key readable by the owner only.
fn generate(dir: &Path, cert: &Path, key: &Path, host: &str) -> Result<(), ListenerTlsError> {
    let error = |e: &dyn std::fmt::Display| ListenerTlsError::Generate(e.to_string());
    let mut names = vec![host.to_string(), "localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    names.dedup();
    let mut params = rcgen::CertificateParams::new(names).map_err(|e| error(&e))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, format!("Mobile Security Connector ({host})"));
    let year = 1970
        + (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs()
            / 31_556_952) as i32;
    params.not_before = rcgen::date_time_ymd(year - 1, 12, 1);
    params.not_after = rcgen::date_time_ymd(year + 2, 1, 1);
    let key_pair = rcgen::KeyPair::generate().map_err(|e| error(&e))?;
    let certificate = params.self_signed(&key_pair).map_err(|e| error(&e))?;
    create_dir_private(dir).map_err(|e| error(&format!("{}: {e}", dir.display())))?;
    // The key first: a certificate without its key would be loaded and fail on every start.
    crate::atomic_file::replace(key, 0o600, &[key_pair.serialize_pem().as_bytes()])
        .map_err(|e| error(&format!("{}: {e}", key.display())))?;
    crate::atomic_file::replace(cert, 0o644, &[certificate.pem().as_bytes()])
        .map_err(|e| error(&format!("{}: {e}", cert.display())))?;
    Ok(())
}

fn create_dir_private(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = CertificateSource::SelfSigned { dir: dir.path().join("tls") };
        let first = load(&source, "connector.corp.example").expect("made");
        assert!(first.self_signed);
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        let second = load(&source, "connector.corp.example").expect("loaded");
        assert_eq!(first.fingerprint, second.fingerprint, "the same certificate on the next start");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("tls/proxy-key.pem")).expect("key").permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key is the owner's only");
        }
    }

    #[test]
    fn unreadable_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("c.pem");
        std::fs::write(&cert, "not pem").expect("write");
        let source = CertificateSource::Files { cert: cert.clone(), key: dir.path().join("missing.pem") };
        let error = load(&source, "h").err().expect("refused").to_string();
        assert!(error.contains("c.pem") && error.contains("no PEM certificate"), "{error}");
    }
}
