//! A throwaway private certificate authority and a server certificate it signs for `localhost`
//! and `127.0.0.1`: how an on-prem MaaS360 behind a company CA, or the cloud relay, looks to the
//! connector, which then trusts only [`PrivateCa::ca_pem`] (`ca_file`).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::tls;

pub struct PrivateCa {
    /// The CA certificate, PEM: what a connector instance's `ca_file` holds.
    pub ca_pem: String,
    pub server_cert: CertificateDer<'static>,
    pub server_key: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate the CA issued and its private key, both PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl PrivateCa {
    /// A new CA named `common_name` and a server certificate for `localhost` and `127.0.0.1`.
    pub fn new(common_name: &str) -> Result<Self, rcgen::Error> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, common_name);
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate()?;
        let server_params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
        let server_cert = server_params.signed_by(&server_key, &issuer)?;
        Ok(Self {
            ca_pem: ca_cert.pem(),
            server_cert: server_cert.der().clone(),
            server_key: server_key.serialize_der(),
            issuer,
        })
    }

    /// A client certificate for `common_name`: what a connector presents for mutual TLS.
    pub fn issue_client(&self, common_name: &str) -> Result<Issued, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Issued { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }

    /// A TLS server config presenting the server certificate.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        tls::server_config(vec![self.server_cert.clone()], self.key())
    }

    /// Like [`PrivateCa::server_config`], and refusing clients without a certificate signed by
    /// `client_ca_pem` (mutual TLS).
    pub fn server_config_requiring_clients(
        &self,
        client_ca_pem: &str,
    ) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        tls::server_config_requiring_clients(vec![self.server_cert.clone()], self.key(), client_ca_pem)
    }

    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()))
    }
}
