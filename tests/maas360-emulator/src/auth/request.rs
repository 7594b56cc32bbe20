//! Reading `maaS360AdminAuth` out of a request body, JSON or (v1) XML. A body that lacks a field is
//! malformed: the service answers 400.

use serde_json::Value;

/// What a login sends.
#[derive(Debug)]
pub struct Login {
    pub billing_id: String,
    pub platform_id: String,
    pub app_id: String,
    pub app_version: String,
    pub access_key: String,
    pub username: String,
    pub password: String,
}

/// What a token refresh sends (no password, no access key).
#[derive(Debug)]
pub struct Refresh {
    pub billing_id: String,
    pub platform_id: String,
    pub app_id: String,
    pub app_version: String,
    pub username: String,
    pub refresh_token: String,
}

/// Where the fields come from: a JSON object or the XML element's text.
enum Fields<'a> {
    Json(&'a serde_json::Map<String, Value>),
    Xml(&'a str),
}

impl Fields<'_> {
    fn get(&self, name: &str) -> Option<String> {
        match self {
            // Scalars are accepted as strings or numbers (`"platformID":3`).
            Self::Json(object) => match object.get(name)? {
                Value::String(text) => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                _ => None,
            },
            Self::Xml(xml) => xml_element(xml, name),
        }
    }
}

/// A login body: JSON `{"authRequest":{"maaS360AdminAuth":{…}}}`, or with `xml_allowed` (v1) the
/// same as XML.
pub fn login(body: &[u8], xml_allowed: bool) -> Option<Login> {
    let parse = |fields: Fields| {
        Some(Login {
            billing_id: fields.get("billingID")?,
            platform_id: fields.get("platformID")?,
            app_id: fields.get("appID")?,
            app_version: fields.get("appVersion")?,
            access_key: fields.get("appAccessKey")?,
            username: fields.get("userName")?,
            password: fields.get("password")?,
        })
    };
    let text = std::str::from_utf8(body).ok()?.trim_start();
    if text.starts_with('<') {
        if !xml_allowed {
            return None;
        }
        let inner = xml_element(xml_element(text, "authRequest")?.as_str(), "maaS360AdminAuth")?;
        return parse(Fields::Xml(&inner));
    }
    let json: Value = serde_json::from_str(text).ok()?;
    parse(Fields::Json(json.get("authRequest")?.get("maaS360AdminAuth")?.as_object()?))
}

/// A refresh body: `{"authRequest":{"maaS360AdminAuth":{…}}}` or `{"maaS360AdminAuth":{…}}`.
pub fn refresh(body: &[u8]) -> Option<Refresh> {
    let json: Value = serde_json::from_slice(body).ok()?;
    let auth = json.get("authRequest").unwrap_or(&json).get("maaS360AdminAuth")?.as_object()?;
    let fields = Fields::Json(auth);
    Some(Refresh {
        billing_id: fields.get("billingID")?,
        platform_id: fields.get("platformID")?,
        app_id: fields.get("appID")?,
        app_version: fields.get("appVersion")?,
        username: fields.get("userName")?,
        refresh_token: fields.get("refreshToken")?,
    })
}

/// The unescaped text of the first `<name>…</name>` in `xml`.
fn xml_element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    let raw = &xml[start..end];
    if name == "authRequest" || name == "maaS360AdminAuth" {
        return Some(raw.to_string());
    }
    Some(unescape(raw.trim()))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_and_xml_logins() {
        let json = br#"{"authRequest":{"maaS360AdminAuth":{"billingID":"1","platformID":3,"appID":"a",
            "appVersion":"1.0","appAccessKey":"k","userName":"u","password":"p&q"}}}"#;
        let login = login(json, false).expect("json");
        assert_eq!((login.platform_id.as_str(), login.password.as_str()), ("3", "p&q"));

        let xml = b"<?xml version=\"1.0\"?><authRequest><maaS360AdminAuth><billingID>1</billingID>\
            <platformID>3</platformID><appID>a</appID><appVersion>1.0</appVersion><appAccessKey>k</appAccessKey>\
            <userName>u</userName><password>p&amp;q</password></maaS360AdminAuth></authRequest>";
        assert!(super::login(xml, false).is_none(), "v2 takes JSON only");
        assert_eq!(super::login(xml, true).expect("xml").password, "p&q");
    }

    #[test]
    fn a_missing_field_is_malformed() {
        assert!(login(br#"{"authRequest":{"maaS360AdminAuth":{"billingID":"1"}}}"#, true).is_none());
        assert!(login(b"not json", true).is_none());
        assert!(refresh(br#"{"maaS360AdminAuth":{"billingID":"1"}}"#).is_none());
        let bare = br#"{"maaS360AdminAuth":{"billingID":"1","platformID":"3","appID":"a","appVersion":"1.0",
            "userName":"u","refreshToken":"r"}}"#;
        assert_eq!(refresh(bare).expect("bare").refresh_token, "r");
    }
}
