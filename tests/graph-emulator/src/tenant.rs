//! The emulated tenant's state: its config, issued tokens, throttling, the fault script, the
//! messages it took and its counters, behind one lock that is never held across a wait.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::config::EmulatorConfig;
use crate::faults::{Fault, Script};
use crate::message::SentMessage;
use crate::stats::Stats;
use crate::throttle::{Throttle, Throttled};
use crate::tokens::Tokens;

pub struct Tenant {
    pub config: EmulatorConfig,
    /// Scope resources the token endpoint accepts: Graph's own and the emulator's origins.
    pub resources: Vec<String>,
    state: Mutex<State>,
}

pub struct State {
    pub tokens: Tokens,
    pub script: Script,
    pub throttle: Throttle,
    pub messages: Vec<SentMessage>,
    pub stats: Stats,
    pub mail_send: bool,
    pub user_read_all: bool,
}

/// What Graph knows about a user.
#[derive(Debug, PartialEq, Eq)]
pub enum Mailbox {
    Active(String),
    NotEnabled,
    Blocked,
    Unknown,
}

impl Tenant {
    pub fn new(config: EmulatorConfig, origin: &str) -> Self {
        let throttle = Throttle::new(config.requests_per_window, config.window, config.max_concurrent);
        let state = State {
            tokens: Tokens::default(),
            script: Script::default(),
            throttle,
            messages: Vec::new(),
            stats: Stats::default(),
            mail_send: config.mail_send,
            user_read_all: config.user_read_all,
        };
        let loopback = origin.replace("://localhost:", "://127.0.0.1:");
        let mut resources = vec!["https://graph.microsoft.com".to_string(), origin.to_string(), loopback];
        resources.extend(config.extra_resources.iter().map(|r| r.trim_end_matches('/').to_string()));
        Self { config, resources, state: Mutex::new(state) }
    }

    /// The state; a test that panicked while holding it leaves it usable.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `tenant` (from the token endpoint's path) names this tenant.
    pub fn is_tenant(&self, tenant: &str) -> bool {
        tenant.eq_ignore_ascii_case(&self.config.tenant) || tenant.eq_ignore_ascii_case(&self.config.tenant_id)
    }

    /// The user `id` (UPN or user id) names, and the state of its mailbox.
    pub fn mailbox(&self, id: &str) -> Mailbox {
        let named = |list: &[String]| {
            list.iter().find(|u| u.eq_ignore_ascii_case(id) || user_id(u) == id.to_ascii_lowercase()).cloned()
        };
        if named(&self.config.blocked_mailboxes).is_some() {
            Mailbox::Blocked
        } else if named(&self.config.disabled_mailboxes).is_some() {
            Mailbox::NotEnabled
        } else if let Some(upn) = named(&self.config.mailboxes) {
            Mailbox::Active(upn)
        } else {
            Mailbox::Unknown
        }
    }

    /// Admits one `sendMail` for `key` (app and mailbox); the returned guard releases it.
    pub fn admit(self: &Arc<Self>, key: String) -> Result<InFlight, Throttled> {
        let mut state = self.state();
        let count = state.throttle.admit(&key, Instant::now())?;
        state.stats.max_concurrent = state.stats.max_concurrent.max(count);
        Ok(InFlight { tenant: self.clone(), key })
    }

    pub fn push_fault(&self, fault: Fault, times: u32) {
        self.state().script.push(fault, times);
    }
}

/// A `sendMail` being handled; dropping it ends its share of the concurrency limit.
pub struct InFlight {
    tenant: Arc<Tenant>,
    key: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.tenant.state().throttle.release(&self.key);
    }
}

/// The stable user id (a GUID) the emulator gives a user.
pub fn user_id(upn: &str) -> String {
    // FNV-1a, twice with different seeds: stable across runs, unlike the std hasher.
    let hash = |seed: u64| {
        upn.to_ascii_lowercase().bytes().fold(seed, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
    };
    crate::ids::guid_of(hash(0xcbf2_9ce4_8422_2325), hash(0x8422_2325_cbf2_9ce4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_by_upn_or_id() {
        let tenant = Tenant::new(EmulatorConfig::default(), "https://localhost:1");
        assert_eq!(tenant.mailbox("ALERTS@contoso.com"), Mailbox::Active("alerts@contoso.com".into()));
        assert_eq!(tenant.mailbox(&user_id("alerts@contoso.com")), Mailbox::Active("alerts@contoso.com".into()));
        assert_eq!(tenant.mailbox("onprem@contoso.com"), Mailbox::NotEnabled);
        assert_eq!(tenant.mailbox("ceo@contoso.com"), Mailbox::Blocked);
        assert_eq!(tenant.mailbox("nobody@contoso.com"), Mailbox::Unknown);
        assert!(
            tenant.is_tenant("CONTOSO.onmicrosoft.com") && tenant.is_tenant("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert!(tenant.resources.contains(&"https://127.0.0.1:1".to_string()));
    }
}
