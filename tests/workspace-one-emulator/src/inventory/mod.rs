//! The tenant's data: devices (with their apps and custom attributes) and tags.

pub mod clock;
pub mod device;
pub mod generate;
pub mod groups;
pub mod tags;

use device::Device;
use tags::Tags;

pub struct Inventory {
    /// By ascending id.
    pub devices: Vec<Device>,
    pub tags: Tags,
}

impl Inventory {
    pub fn new(seed: u64, count: usize, risk_tag_prefix: Option<&str>) -> Self {
        let mut tags = Tags::default();
        if let Some(prefix) = risk_tag_prefix {
            for level in ["None", "Low", "Medium", "High"] {
                // A fresh store has no duplicates and TOP exists: this cannot fail.
                let _ = tags.create(&format!("{prefix}_Risk_{level}"), 1, groups::TOP);
            }
        }
        Self { devices: generate::devices(seed, count), tags }
    }

    pub fn device(&self, id: u64) -> Option<&Device> {
        self.devices.binary_search_by_key(&id, |device| device.id).ok().map(|index| &self.devices[index])
    }

    pub fn device_mut(&mut self, id: u64) -> Option<&mut Device> {
        let index = self.devices.binary_search_by_key(&id, |device| device.id).ok()?;
        self.devices.get_mut(index)
    }

    pub fn by_uuid(&self, uuid: &str) -> Option<&Device> {
        self.devices.iter().find(|device| device.uuid.eq_ignore_ascii_case(uuid))
    }
}
