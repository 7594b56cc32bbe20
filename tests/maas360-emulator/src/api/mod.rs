//! The device, group and attribute endpoints, each taking its parsed request and answering as the
//! service does. Authentication and faults are already dealt with when these run.

pub mod attributes;
pub mod groups;
pub mod search;
pub mod software;

/// Query or form parameters; the first occurrence of a name wins.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(encoded: &[u8]) -> Self {
        Self(form_urlencoded::parse(encoded).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// A parameter that is present and not empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.is_empty())
    }
}
