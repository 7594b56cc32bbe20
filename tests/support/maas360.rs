//! A MaaS360 emulator over TLS (private CA) and a connector config with a MaaS360 instance
//! pointed at it, the way an admin would write it.

use maas360_emulator::{Emulator, EmulatorConfig};

use crate::setup::TestConfig;
use crate::test_ca::TestCa;

/// What the instance signs in with; `Default` matches the emulator's defaults.
#[derive(Clone)]
pub struct Credentials {
    pub password: String,
    pub access_key: String,
}

impl Default for Credentials {
    fn default() -> Self {
        let tenant = EmulatorConfig::default();
        Self { password: tenant.password, access_key: tenant.access_key }
    }
}

pub struct Maas360 {
    pub emulator: Emulator,
    pub ca: TestCa,
}

impl Maas360 {
    /// Starts the emulator over TLS with a certificate from a fresh private CA.
    pub async fn start(tenant: EmulatorConfig) -> Self {
        let ca = TestCa::new("MaaS360 on-prem test CA");
        let emulator = Emulator::start_tls(tenant, ca.server_config()).await.expect("start the MaaS360 emulator");
        Self { emulator, ca }
    }

    /// A connector config (with a fresh PII keyring) holding one MaaS360 instance `maas360`
    /// that trusts this emulator's CA; `settings` are extra lines of its config table.
    pub fn config(&self, settings: &str, credentials: &Credentials) -> TestConfig {
        self.config_trusting(self.ca.ca_pem(), settings, credentials)
    }

    /// The same, trusting `ca_pem` instead of the emulator's CA.
    pub fn config_trusting(&self, ca_pem: &str, settings: &str, credentials: &Credentials) -> TestConfig {
        let tenant = EmulatorConfig::default();
        let origin = self.emulator.origin();
        let config = TestConfig::new(&format!(
            "[pii]\nkeyring = \"pii.keyring\"\ndefault_region = \"US\"\n\n\
             [instances.maas360]\nplugin = \"maas360.wasm\"\nkind = \"uem\"\ndeadline = \"60s\"\nca_file = \"maas360-ca.pem\"\n\n\
             [instances.maas360.grants]\nhttp = [\"{origin}\"]\n\n\
             [instances.maas360.config]\nserver_url = \"{origin}\"\nbilling_id = \"{}\"\nusername = \"{}\"\n\
             app_id = \"{}\"\napp_version = \"{}\"\n{settings}\n\n\
             [instances.maas360.secrets]\npassword = {{ file = \"maas360-password\" }}\naccess_key = {{ file = \"maas360-access-key\" }}\n",
            tenant.billing_id, tenant.username, tenant.app_id, tenant.app_version
        ));
        config.write("maas360-ca.pem", ca_pem);
        config.write("maas360-password", &credentials.password);
        config.write("maas360-access-key", &credentials.access_key);
        connector::pii::keyring::Keyring::generate()
            .expect("keyring")
            .create(&config.dir.path().join("pii.keyring"))
            .expect("write keyring");
        config
    }
}
