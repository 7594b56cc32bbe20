//! The tenant's groups: a fixed table, so tests can name them.

/// One group as the groups endpoint lists it.
pub struct GroupDef {
    pub id: &'static str,
    pub name: &'static str,
    /// 0–2 device groups, 3 a user group.
    pub group_type: u8,
    pub description: &'static str,
}

pub const MP_DEVICES: usize = 0;
pub const EXECUTIVES: usize = 1;
pub const LAB: usize = 2;

pub const GROUPS: [GroupDef; 5] = [
    GroupDef {
        id: "4521001",
        name: "MP_Devices_Group",
        group_type: 0,
        description: "Devices protected by the mobile-threat-defense app",
    },
    GroupDef { id: "4521002", name: "Executives", group_type: 0, description: "Devices of the executive team" },
    GroupDef { id: "4521003", name: "Lab", group_type: 0, description: "The test lab's device" },
    GroupDef {
        id: "4521004",
        name: "MP_Users_Group",
        group_type: 3,
        description: "Users of the mobile-threat-defense app",
    },
    GroupDef { id: "4521005", name: "Empty Group", group_type: 0, description: "A device group with no devices" },
];

/// Groups a device inserted by churn joins: every device group that has devices (the empty one stays empty).
pub const CHURN_JOINS: u8 = 1 << MP_DEVICES | 1 << EXECUTIVES | 1 << LAB;

/// The index of the device group with this id; user groups are not device groups.
pub fn device_group(id: &str) -> Option<usize> {
    GROUPS.iter().position(|group| group.id == id && group.group_type <= 2)
}

/// The names of the groups in a membership mask.
pub fn names(mask: u8) -> Vec<String> {
    GROUPS.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, g)| g.name.to_string()).collect()
}
