//! An instance's self-test: what `connector run` reports at start, and what a new plugin version
//! must pass before it is swapped in. UEM and mail instances test their connection; a SIEM
//! formatter formats a sample event.
//!
//! The verdict tells the plugin's own failures (a trap, an internal error, a formatter that
//! cannot format) from the remote system's (unreachable, refused credentials, a failed check): a
//! new version is refused only for the first kind, so an upgrade is not blocked by a UEM that is
//! down at that moment.

use std::sync::Arc;

use super::instance::PluginInstance;
use super::worlds::siem::{Event, Origin, Severity};
use super::worlds::{CallError, Error};
use super::{Mail, Siem, Uem};
use crate::ids::PluginKind;

/// The last self-test of an instance's serving version, as `/plugins`, `/healthz` and the status
/// page show it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SelfTestStatus {
    /// `passed`; `degraded`: the system behind the plugin has a problem; `failed`: the plugin itself.
    pub verdict: String,
    /// The plugin's summary or problem, personal data scrubbed.
    pub detail: String,
}

/// Texts here come from the plugin: callers scrub them before logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Passed(String),
    /// The plugin works; the system behind it has a problem.
    Degraded(String),
    /// The plugin itself failed.
    Failed(String),
}

/// An instance's last self-test in words, e.g. `passed: 3 checks passed`.
pub fn describe(last: Option<&SelfTestStatus>) -> String {
    match last {
        Some(status) => format!("{}: {}", status.verdict, status.detail),
        None => "not run since the config was loaded (at start: still running)".to_string(),
    }
}

impl Verdict {
    /// The verdict as shown to admins, its text passed through `scrub`.
    pub fn status(&self, scrub: impl Fn(&str) -> String) -> SelfTestStatus {
        let (verdict, detail) = match self {
            Verdict::Passed(summary) => ("passed", summary),
            Verdict::Degraded(problem) => ("degraded", problem),
            Verdict::Failed(error) => ("failed", error),
        };
        SelfTestStatus { verdict: verdict.to_string(), detail: scrub(detail) }
    }
}

pub async fn run(instance: &Arc<PluginInstance>, connector: &str) -> Verdict {
    let checks = match instance.kind() {
        PluginKind::Uem => Uem::new(instance.clone()).test_connection().await,
        PluginKind::Mail => Mail::new(instance.clone()).test_connection().await,
        PluginKind::Siem => return format_sample(Siem::new(instance.clone()), connector).await,
    };
    match checks {
        Ok(checks) => {
            let failed: Vec<String> =
                checks.iter().filter(|c| !c.passed).map(|c| format!("{}: {}", c.name, c.detail)).collect();
            if failed.is_empty() {
                Verdict::Passed(format!("{} checks passed", checks.len()))
            } else {
                Verdict::Degraded(format!("{} of {} checks failed: {}", failed.len(), checks.len(), failed.join("; ")))
            }
        }
        Err(CallError::Sandbox(error)) => Verdict::Failed(error.to_string()),
        Err(error @ CallError::Reported { error: Error::Internal(_), .. }) => Verdict::Failed(error.to_string()),
        Err(error) => Verdict::Degraded(error.to_string()),
    }
}

/// A formatter has no connection to test: it must describe itself and format a sample event.
async fn format_sample(siem: Siem, connector: &str) -> Verdict {
    let origin = Origin { hostname: connector.to_string(), app_name: "connector".into() };
    let info = match siem.describe().await {
        Ok(info) => info,
        Err(error) => return Verdict::Failed(error.to_string()),
    };
    match siem.format(&origin, std::slice::from_ref(&sample_event())).await {
        Ok(mut results) => match results.pop() {
            Some(Ok(bytes)) => {
                Verdict::Passed(format!("{} formatter, sample event is {} bytes", info.format, bytes.len()))
            }
            Some(Err(error)) => Verdict::Failed(error.to_string()),
            None => Verdict::Failed("formatted no event".to_string()),
        },
        Err(error) => Verdict::Failed(error.to_string()),
    }
}

fn sample_event() -> Event {
    Event {
        id: "self-test".into(),
        event_type: "Connector self-test".into(),
        time_ms: 0,
        client_time_ms: None,
        severity: Severity::Info,
        name: "Formatter self-test".into(),
        attack_vector: None,
        threat_factors: vec![],
        signature: None,
        url: None,
        tenant: None,
        message: None,
        device: None,
        app: None,
        network: None,
        fields: vec![],
    }
}
