//! A throwaway certificate authority and a server certificate for `localhost` and `127.0.0.1`
//! (the MaaS360 emulator's private CA, which any test server can present).

use std::sync::Arc;

use maas360_emulator::private_ca::PrivateCa;

pub struct TestCa(PrivateCa);

impl TestCa {
    pub fn new(common_name: &str) -> Self {
        Self(PrivateCa::new(common_name).expect("generate a test CA"))
    }

    /// The CA certificate, PEM: what an instance's `ca_file` holds.
    pub fn ca_pem(&self) -> &str {
        &self.0.ca_pem
    }

    /// A TLS server config presenting the server certificate.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.0.server_config().expect("server config")
    }
}
