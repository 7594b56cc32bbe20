//! A Workspace ONE UEM emulator over TLS (private CA) and a connector config with a Workspace ONE
//! instance `workspace_one` pointed at it, the way an admin would write it.

use workspace_one_emulator::{Emulator, EmulatorConfig};

use crate::setup::TestConfig;
use crate::test_ca::TestCa;

/// How the instance signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// An API admin's user name and password, with the tenant code.
    Basic,
    /// OAuth client credentials at the emulator's SaaS token URL, with the tenant code.
    OAuth,
}

/// What the instance signs in with; `Default` matches the emulator's defaults (basic auth).
#[derive(Clone)]
pub struct Credentials {
    pub mode: AuthMode,
    pub password: String,
    pub tenant_code: String,
    pub client_id: String,
    pub client_secret: String,
}

impl Default for Credentials {
    fn default() -> Self {
        let tenant = EmulatorConfig::default();
        Self {
            mode: AuthMode::Basic,
            password: tenant.password,
            tenant_code: tenant.tenant_code,
            client_id: tenant.client_id,
            client_secret: tenant.client_secret,
        }
    }
}

impl Credentials {
    /// The emulator's OAuth client.
    pub fn oauth() -> Self {
        Self { mode: AuthMode::OAuth, ..Self::default() }
    }

    /// Every secret value, to check none leaks.
    pub fn secrets(&self) -> [&str; 4] {
        [&self.password, &self.tenant_code, &self.client_id, &self.client_secret]
    }
}

pub struct WorkspaceOne {
    pub emulator: Emulator,
    pub ca: TestCa,
}

impl WorkspaceOne {
    /// Starts the emulator over TLS with a certificate from a fresh private CA.
    pub async fn start(tenant: EmulatorConfig) -> Self {
        let ca = TestCa::new("Workspace ONE on-prem test CA");
        let emulator = Emulator::start_tls(tenant, ca.server_config()).await.expect("start the Workspace ONE emulator");
        Self { emulator, ca }
    }

    /// A connector config (with a fresh PII keyring) holding one Workspace ONE instance
    /// `workspace_one` that trusts this emulator's CA; `settings` are extra lines of its config table.
    pub fn config(&self, settings: &str, credentials: &Credentials) -> TestConfig {
        self.config_trusting(self.ca.ca_pem(), settings, credentials)
    }

    /// The same, trusting `ca_pem` instead of the emulator's CA.
    pub fn config_trusting(&self, ca_pem: &str, settings: &str, credentials: &Credentials) -> TestConfig {
        let tenant = EmulatorConfig::default();
        let origin = self.emulator.origin();
        let auth = match credentials.mode {
            AuthMode::Basic => format!("auth = \"basic\"\nusername = \"{}\"", tenant.username),
            AuthMode::OAuth => format!("auth = \"oauth\"\ntoken_url = \"{origin}/connect/token\""),
        };
        let config = TestConfig::new(&format!(
            "[pii]\nkeyring = \"pii.keyring\"\ndefault_region = \"US\"\n\n\
             [instances.workspace_one]\nplugin = \"workspace_one.wasm\"\nkind = \"uem\"\ndeadline = \"60s\"\nca_file = \"ws1-ca.pem\"\n\n\
             [instances.workspace_one.grants]\nhttp = [\"{origin}\"]\n\n\
             [instances.workspace_one.config]\nserver_url = \"{origin}\"\n{auth}\n{settings}\n\n\
             [instances.workspace_one.secrets]\ntenant_code = {{ file = \"ws1-tenant-code\" }}\n\
             password = {{ file = \"ws1-password\" }}\nclient_id = {{ file = \"ws1-client-id\" }}\n\
             client_secret = {{ file = \"ws1-client-secret\" }}\n",
        ));
        config.write("ws1-ca.pem", ca_pem);
        config.write("ws1-tenant-code", &credentials.tenant_code);
        config.write("ws1-password", &credentials.password);
        config.write("ws1-client-id", &credentials.client_id);
        config.write("ws1-client-secret", &credentials.client_secret);
        connector::pii::keyring::Keyring::generate()
            .expect("keyring")
            .create(&config.dir.path().join("pii.keyring"))
            .expect("write keyring");
        config
    }
}
