//! The tenant's organization groups: a fixed small tree under the customer OG.

/// One organization group (the service's `LocationGroup`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: u64,
    pub uuid: &'static str,
    pub name: &'static str,
    /// The short "Group ID" admins type at enrollment.
    pub group_id: &'static str,
    pub kind: &'static str,
    pub parent: Option<u64>,
}

/// The customer OG, where the REST API key and the risk tags live.
pub const TOP: u64 = 570;

pub const GROUPS: [Group; 4] = [
    Group {
        id: TOP,
        uuid: "5f0e5a8e-0b31-4a5e-9a53-3d1c0a570000",
        name: "Acme Corp",
        group_id: "acme",
        kind: "Customer",
        parent: None,
    },
    Group {
        id: 571,
        uuid: "5f0e5a8e-0b31-4a5e-9a53-3d1c0a571000",
        name: "Sales",
        group_id: "acme-sales",
        kind: "Container",
        parent: Some(TOP),
    },
    Group {
        id: 572,
        uuid: "5f0e5a8e-0b31-4a5e-9a53-3d1c0a572000",
        name: "Engineering",
        group_id: "acme-eng",
        kind: "Container",
        parent: Some(TOP),
    },
    Group {
        id: 573,
        uuid: "5f0e5a8e-0b31-4a5e-9a53-3d1c0a573000",
        name: "Engineering BYOD",
        group_id: "acme-eng-byod",
        kind: "Container",
        parent: Some(572),
    },
];

pub fn by_id(id: u64) -> Option<&'static Group> {
    GROUPS.iter().find(|group| group.id == id)
}

pub fn by_uuid(uuid: &str) -> Option<&'static Group> {
    GROUPS.iter().find(|group| group.uuid.eq_ignore_ascii_case(uuid))
}

/// `id` and every group below it, in tree order.
pub fn subtree(id: u64) -> Vec<&'static Group> {
    let mut found: Vec<&Group> = GROUPS.iter().filter(|group| group.id == id).collect();
    let mut next = 0;
    while next < found.len() {
        let parent = found[next].id;
        found.extend(GROUPS.iter().filter(|group| group.parent == Some(parent)));
        next += 1;
    }
    found
}

/// True if `ancestor` is `id` or above it.
pub fn is_within(id: u64, ancestor: u64) -> bool {
    subtree(ancestor).iter().any(|group| group.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtrees() {
        let ids = |id| subtree(id).iter().map(|g| g.id).collect::<Vec<_>>();
        assert_eq!(ids(TOP), [570, 571, 572, 573]);
        assert_eq!(ids(572), [572, 573]);
        assert!(ids(1).is_empty());
        assert!(is_within(573, TOP) && !is_within(571, 572));
    }
}
