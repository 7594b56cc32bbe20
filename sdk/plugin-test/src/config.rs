//! The connector config a [`Plugin`](crate::Plugin) starts with, written the way an admin
//! writes it: one instance, its grants, settings and secret files, and a `[pii]` section with a
//! fresh keyring, so the plugin's log is scrubbed of personal data as in production.

use std::path::{Path, PathBuf};
use std::time::Duration;

use connector::ids::PluginKind;
use toml::{Table, Value};

/// Everything the config says about the one instance.
pub(crate) struct InstanceSpec {
    pub name: String,
    pub kind: PluginKind,
    /// The component's file name inside `plugin_dir`.
    pub plugin: String,
    pub deadline: Option<Duration>,
    pub http: Vec<String>,
    pub net: Vec<String>,
    pub settings: Table,
    /// Secret name and the file holding its value.
    pub secrets: Vec<(String, PathBuf)>,
    pub ca_file: Option<PathBuf>,
}

/// The config file's text; `plugin_dir` holds the component, `keyring` is the PII keyring file.
pub(crate) fn config_text(spec: &InstanceSpec, plugin_dir: &Path, keyring: &Path) -> String {
    let mut connector = Table::new();
    connector.insert("name".into(), "msc-plugin-test".into());
    connector.insert("plugin_dir".into(), path(plugin_dir));

    let mut pii = Table::new();
    pii.insert("keyring".into(), path(keyring));
    pii.insert("default_region".into(), "US".into());

    let mut instance = Table::new();
    instance.insert("plugin".into(), spec.plugin.clone().into());
    instance.insert("kind".into(), spec.kind.as_str().into());
    if let Some(deadline) = spec.deadline {
        instance.insert("deadline".into(), format!("{}ms", deadline.as_millis()).into());
    }
    if let Some(ca_file) = &spec.ca_file {
        instance.insert("ca_file".into(), path(ca_file));
    }
    let mut grants = Table::new();
    grants.insert("http".into(), strings(&spec.http));
    grants.insert("net".into(), strings(&spec.net));
    instance.insert("grants".into(), grants.into());
    instance.insert("config".into(), spec.settings.clone().into());
    let secrets: Table = spec
        .secrets
        .iter()
        .map(|(name, file)| (name.clone(), Value::Table(Table::from_iter([("file".to_string(), path(file))]))))
        .collect();
    instance.insert("secrets".into(), secrets.into());

    let mut root = Table::new();
    root.insert("connector".into(), connector.into());
    root.insert("pii".into(), pii.into());
    root.insert("instances".into(), Table::from_iter([(spec.name.clone(), Value::Table(instance))]).into());
    root.to_string()
}

fn path(path: &Path) -> Value {
    path.display().to_string().into()
}

fn strings(values: &[String]) -> Value {
    values.iter().map(|v| Value::String(v.clone())).collect::<Vec<_>>().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_instance_the_way_the_runtime_reads_it() {
        let spec = InstanceSpec {
            name: "test-1".into(),
            kind: PluginKind::Uem,
            plugin: "maas360.wasm".into(),
            deadline: Some(Duration::from_secs(10)),
            http: vec!["https://localhost:8443".into()],
            net: vec![],
            settings: Table::from_iter([
                ("server_url".to_string(), Value::from("https://localhost:8443")),
                ("groups".to_string(), Value::from(vec!["A", "B"])),
                ("page_size".to_string(), Value::from(250)),
            ]),
            secrets: vec![("password".into(), PathBuf::from("/t/secrets/password"))],
            ca_file: Some(PathBuf::from("/t/ca.pem")),
        };
        let text = config_text(&spec, Path::new("/t/plugins"), Path::new("/t/pii.keyring"));
        let parsed: Table = text.parse().expect("valid TOML");
        assert_eq!(parsed["connector"]["plugin_dir"].as_str(), Some("/t/plugins"));
        assert_eq!(parsed["pii"]["keyring"].as_str(), Some("/t/pii.keyring"));
        let instance = &parsed["instances"]["test-1"];
        assert_eq!(instance["plugin"].as_str(), Some("maas360.wasm"));
        assert_eq!(instance["kind"].as_str(), Some("uem"));
        assert_eq!(instance["deadline"].as_str(), Some("10000ms"));
        assert_eq!(instance["ca_file"].as_str(), Some("/t/ca.pem"));
        assert_eq!(instance["grants"]["http"][0].as_str(), Some("https://localhost:8443"));
        assert_eq!(instance["config"]["groups"][1].as_str(), Some("B"));
        assert_eq!(instance["config"]["page_size"].as_integer(), Some(250));
        assert_eq!(instance["secrets"]["password"]["file"].as_str(), Some("/t/secrets/password"));
    }
}
