//! Device tags: what MTD vendors use as the risk label. A tag belongs to an organization group and
//! is visible there and below.

use std::collections::BTreeSet;

use thiserror::Error;

use super::groups;

/// The first created tag's id; ids then count up.
const FIRST_TAG_ID: u64 = 9_001;

#[derive(Clone, Debug)]
pub struct Tag {
    pub id: u64,
    pub name: String,
    pub kind: u32,
    pub group: u64,
    /// Numeric device ids.
    pub devices: BTreeSet<u64>,
}

/// Why a tag could not be created; answered as 400.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TagError {
    #[error("Organization group not found.")]
    UnknownGroup,
    #[error("Tag name is required.")]
    NoName,
    #[error("Tag with the same name already exists.")]
    Duplicate,
}

#[derive(Default)]
pub struct Tags {
    tags: Vec<Tag>,
}

impl Tags {
    pub fn create(&mut self, name: &str, kind: u32, group: u64) -> Result<u64, TagError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(TagError::NoName);
        }
        if groups::by_id(group).is_none() {
            return Err(TagError::UnknownGroup);
        }
        // Names are unique where they are visible: the same OG or one above it.
        if self.tags.iter().any(|tag| tag.name.eq_ignore_ascii_case(name) && groups::is_within(group, tag.group)) {
            return Err(TagError::Duplicate);
        }
        let id = FIRST_TAG_ID + self.tags.len() as u64;
        self.tags.push(Tag { id, name: name.to_string(), kind, group, devices: BTreeSet::new() });
        Ok(id)
    }

    /// Tags visible from `group` (created there or above), whose name contains `name` (ASCII case
    /// ignored; empty matches all).
    pub fn search(&self, group: u64, name: &str) -> Vec<&Tag> {
        let needle = name.to_ascii_lowercase();
        self.tags
            .iter()
            .filter(|tag| groups::is_within(group, tag.group) && tag.name.to_ascii_lowercase().contains(&needle))
            .collect()
    }

    pub fn all(&self) -> &[Tag] {
        &self.tags
    }

    pub fn get(&self, id: u64) -> Option<&Tag> {
        self.tags.iter().find(|tag| tag.id == id)
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut Tag> {
        self.tags.iter_mut().find(|tag| tag.id == id)
    }

    /// Names of the tags `device` carries, in creation order.
    pub fn of_device(&self, device: u64) -> Vec<&Tag> {
        self.tags.iter().filter(|tag| tag.devices.contains(&device)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_where_visible() {
        let mut tags = Tags::default();
        let high = tags.create("MTD_Risk_High", 1, groups::TOP).expect("created");
        assert_eq!(tags.create("mtd_risk_high", 1, 572), Err(TagError::Duplicate));
        assert_eq!(tags.create(" ", 1, 572), Err(TagError::NoName));
        assert_eq!(tags.create("x", 1, 1), Err(TagError::UnknownGroup));
        let local = tags.create("Lab", 1, 572).expect("created");
        assert!(tags.create("Lab", 1, 571).is_ok(), "a sibling OG does not see it");
        assert_eq!(tags.search(573, "risk").iter().map(|t| t.id).collect::<Vec<_>>(), [high]);
        assert_eq!(tags.search(572, "lab").iter().map(|t| t.id).collect::<Vec<_>>(), [local]);
        assert!(tags.search(groups::TOP, "lab").is_empty());
    }
}
