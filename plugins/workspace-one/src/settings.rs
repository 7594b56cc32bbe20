//! The instance's settings and secrets, read and checked once per call.

use msc_sdk::Error;
use msc_sdk::config::{self, Secret};
use msc_sdk::uem::RiskLevel;

/// The risk levels in order, with the word each is called by in tags and attribute values.
pub const LEVELS: [(RiskLevel, &str); 4] =
    [(RiskLevel::None, "None"), (RiskLevel::Low, "Low"), (RiskLevel::Medium, "Medium"), (RiskLevel::High, "High")];

pub struct Settings {
    /// The API host's root, e.g. `https://as1234.awmdm.com`, without `/API` or a trailing slash.
    pub root: String,
    pub auth: Auth,
    /// The REST API key (`aw-tenant-code`), sent with every API call.
    pub tenant_code: Secret,
    /// Organization groups to sync, by name; empty: every device.
    pub groups: Vec<String>,
    /// Whether a named organization group brings the groups below it.
    pub include_child_groups: bool,
    pub label: Label,
}

/// How the plugin signs in.
pub enum Auth {
    /// `Authorization: Basic` with an API admin's user name and password.
    Basic { username: String, password: Secret },
    /// OAuth 2 client credentials, exchanged at `token_url` for a Bearer token.
    OAuth { token_url: String, client_id: Secret, client_secret: Secret },
}

/// Where the risk level goes.
pub enum Label {
    /// One tag per level, `<prefix>_Risk_{None,Low,Medium,High}`; a device carries exactly one.
    Tags { prefix: String, create: bool },
    /// A custom attribute: the level's name (`text`), or `on`/`off` around a threshold (`boolean`).
    Attribute { name: String, application_group: String, kind: AttributeKind },
}

pub enum AttributeKind {
    Text,
    Boolean { on: String, off: String, threshold: RiskLevel },
}

impl Label {
    /// The tag names of every level, in level order.
    pub fn tag_names(prefix: &str) -> Vec<String> {
        LEVELS.iter().map(|(_, word)| format!("{prefix}_Risk_{word}")).collect()
    }
}

/// The word a level is called by.
pub fn word(level: RiskLevel) -> &'static str {
    LEVELS.iter().find(|(l, _)| *l == level).map_or("None", |(_, w)| w)
}

/// A level's place in [`LEVELS`] (0 for none, 3 for high).
pub fn rank(level: RiskLevel) -> usize {
    LEVELS.iter().position(|(l, _)| *l == level).unwrap_or(0)
}

/// The settings as the admin wrote them; unknown keys are refused, naming the key.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    server_url: String,
    auth: Option<String>,
    username: Option<String>,
    token_url: Option<String>,
    oauth_region: Option<String>,
    groups: Option<GroupsSetting>,
    include_child_groups: Option<bool>,
    risk_label: Option<String>,
    tag_prefix: Option<String>,
    create_tags: Option<bool>,
    attribute_name: Option<String>,
    attribute_type: Option<String>,
    application_group: Option<String>,
    label_on: Option<String>,
    label_off: Option<String>,
    risk_threshold: Option<String>,
}

/// A text setting, trimmed; `default` when absent or blank.
fn or(value: &Option<String>, default: &str) -> String {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).unwrap_or(default).to_string()
}

impl Settings {
    pub fn load() -> Result<Self, Error> {
        let raw: Raw = config::load()?;
        let root = raw.server_url.trim().trim_end_matches('/');
        let root = root.strip_suffix("/API").or_else(|| root.strip_suffix("/api")).unwrap_or(root).to_string();
        // Credentials travel in every request: never in clear text.
        if !root.starts_with("https://") {
            return Err(Error::InvalidConfig(
                "the setting `server_url` must be the tenant's https:// API host, such as https://as1234.awmdm.com"
                    .into(),
            ));
        }
        let auth = match or(&raw.auth, "basic").to_ascii_lowercase().as_str() {
            "basic" => Auth::Basic { username: username(&raw)?, password: config::secret_value("password")? },
            "oauth" => Auth::OAuth {
                token_url: token_url(&raw, &root)?,
                client_id: config::secret_value("client_id")?,
                client_secret: config::secret_value("client_secret")?,
            },
            other => {
                return Err(Error::InvalidConfig(format!("the setting `auth` must be basic or oauth (got `{other}`)")));
            }
        };
        let groups = match &raw.groups {
            None => Vec::new(),
            Some(GroupsSetting::One(name)) => vec![name.clone()],
            Some(GroupsSetting::Many(names)) => names.clone(),
        };
        Ok(Self {
            root,
            auth,
            tenant_code: config::secret_value("tenant_code")?,
            groups: groups.into_iter().map(|g| g.trim().to_string()).filter(|g| !g.is_empty()).collect(),
            include_child_groups: raw.include_child_groups.unwrap_or(true),
            label: label(&raw)?,
        })
    }

    /// `{root}/API{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/API{path}", self.root)
    }
}

/// The API admin's user name: a setting, or a secret for those who keep it with the password.
fn username(raw: &Raw) -> Result<String, Error> {
    match raw.username.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(name) => Ok(name.to_string()),
        None => config::require_secret("username")
            .map(|u| u.trim().to_string())
            .map_err(|_| Error::InvalidConfig("the setting `username` (the API admin's user name) is missing".into())),
    }
}

/// `token_url`, else the SaaS token URL of `oauth_region`, else the on-prem one on the API host.
fn token_url(raw: &Raw, root: &str) -> Result<String, Error> {
    let url = or(&raw.token_url, "");
    if !url.is_empty() {
        if !url.starts_with("https://") {
            return Err(Error::InvalidConfig("the setting `token_url` must be an https:// URL".into()));
        }
        return Ok(url);
    }
    match or(&raw.oauth_region, "").to_ascii_lowercase().as_str() {
        "" => Ok(format!("{root}/oauth/token")),
        region @ ("na" | "emea" | "apac" | "uat") => {
            Ok(format!("https://{region}.uemauth.workspaceone.com/connect/token"))
        }
        other => Err(Error::InvalidConfig(format!(
            "the setting `oauth_region` must be na, emea, apac or uat (got `{other}`); or set `token_url`"
        ))),
    }
}

fn label(raw: &Raw) -> Result<Label, Error> {
    match or(&raw.risk_label, "tag").to_ascii_lowercase().as_str() {
        "tag" | "tags" => {
            let prefix = or(&raw.tag_prefix, "MTD");
            check_name("tag_prefix", &prefix)?;
            Ok(Label::Tags { prefix, create: raw.create_tags.unwrap_or(false) })
        }
        "attribute" | "custom_attribute" => {
            let name = or(&raw.attribute_name, "MTD_Risk");
            check_name("attribute_name", &name)?;
            let kind = match or(&raw.attribute_type, "text").to_ascii_lowercase().as_str() {
                "text" => AttributeKind::Text,
                "boolean" => AttributeKind::Boolean {
                    on: or(&raw.label_on, "true"),
                    off: or(&raw.label_off, "false"),
                    threshold: msc_sdk::uem::risk_threshold("risk_threshold", &or(&raw.risk_threshold, "high"))?,
                },
                other => {
                    return Err(Error::InvalidConfig(format!(
                        "the setting `attribute_type` must be text or boolean (got `{other}`)"
                    )));
                }
            };
            Ok(Label::Attribute { name, application_group: or(&raw.application_group, "com.mtd.connector"), kind })
        }
        other => {
            Err(Error::InvalidConfig(format!("the setting `risk_label` must be tag or attribute (got `{other}`)")))
        }
    }
}

/// A tag prefix or attribute name Workspace ONE would take: letters, digits, `_`, `-`, `.`, at
/// most 64.
fn check_name(key: &str, value: &str) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidConfig(format!(
            "the setting `{key}` ({value:?}) must be 1 to 64 letters, digits, `_`, `-` or `.`"
        )))
    }
}

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum GroupsSetting {
    One(String),
    Many(Vec<String>),
}
