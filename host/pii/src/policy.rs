//! The admin's PII policy: free-form fields to treat as personal, detectors for free text, and
//! the region phone numbers default to. Read from the `[pii]` section of the config.

use std::collections::BTreeMap;

use crate::kind::Kind;

/// Names of free-form attributes (UEM) and fields (SIEM) the admin declared personal, with the
/// kind each holds. Names match case-insensitively: UEMs are not consistent about case.
#[derive(Clone, Debug, Default)]
pub struct FieldPolicy {
    fields: BTreeMap<String, Kind>,
}

impl FieldPolicy {
    pub fn new(fields: impl IntoIterator<Item = (String, Kind)>) -> Self {
        Self { fields: fields.into_iter().map(|(name, kind)| (name.trim().to_lowercase(), kind)).collect() }
    }

    pub fn kind_of(&self, name: &str) -> Option<Kind> {
        if self.fields.is_empty() {
            return None;
        }
        self.fields.get(name.trim().to_lowercase().as_str()).copied()
    }
}
