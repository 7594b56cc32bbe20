//! The tenant's devices, groups and custom attributes, with the orderings that let a page be served
//! in time proportional to its size.

pub mod apps;
pub mod attributes;
mod clock;
pub mod device;
mod generate;
pub mod groups;

use std::cmp::Reverse;
use std::collections::HashMap;

use attributes::Attributes;
use device::Device;
use generate::{Generator, When};
use groups::{CHURN_JOINS, GROUPS, LAB};

/// What a search sorts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    LastReported,
    InstalledDate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Dsc,
}

/// A filter of the search endpoint; text compares without regard to case.
#[derive(Clone, Debug)]
pub enum Filter {
    Status(String),
    Platform(String),
    ManagedStatus(String),
    DeviceName(String),
    Username(String),
    Email(String),
    DeviceId(String),
    PhoneNumber(String),
    UserDomain(String),
}

/// A device search: ordering, the incremental-sync cut-off and filters.
#[derive(Clone, Debug)]
pub struct Query {
    pub sort: SortBy,
    pub direction: Direction,
    /// Only devices with `lastReportedInEpochms` ≥ this.
    pub reported_after: Option<i64>,
    pub filters: Vec<Filter>,
    /// `match=1`: text filters compare whole values instead of substrings.
    pub exact: bool,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            sort: SortBy::LastReported,
            direction: Direction::Dsc,
            reported_after: None,
            filters: Vec::new(),
            exact: false,
        }
    }
}

/// One page of matches and how many match in all.
pub struct Page<'a> {
    pub count: usize,
    pub devices: Vec<&'a Device>,
}

pub struct Store {
    devices: Vec<Device>,
    by_id: HashMap<String, u32>,
    /// Device indexes sorted per (sort, direction); ties go to the smaller device id.
    orders: [Vec<u32>; 4],
    /// Members of each group in `GROUPS`, lastReported descending.
    members: Vec<Vec<u32>>,
    pub attributes: Attributes,
    generator: Generator,
}

impl Store {
    /// `count` devices drawn from `seed`, with the devices that exercise the list quirks: one in
    /// "Lab", one with a single app reporting a single attribute, one with no apps.
    pub fn generate(count: usize, seed: u64, quirks: bool) -> Self {
        let mut generator = Generator::new(seed, quirks);
        let mut devices: Vec<Device> = (0..count).map(|_| generator.device(When::Recent)).collect();
        if count > 0 {
            let lab = generator.rng().below(count as u64) as usize;
            devices[lab].groups |= 1 << LAB;
            if count > 1 {
                let single = &mut devices[(lab + 1) % count];
                single.apps = apps::pick(generator.rng(), single.platform, 1);
                for app in &mut single.apps {
                    app.id_only = true;
                }
            }
            if count > 2 {
                devices[(lab + 2) % count].apps.clear();
            }
        }
        let mut store = Self {
            devices,
            by_id: HashMap::new(),
            orders: Default::default(),
            members: Vec::new(),
            attributes: Attributes::default(),
            generator,
        };
        store.index();
        store
    }

    pub fn device(&self, id: &str) -> Option<&Device> {
        self.by_id.get(id).and_then(|&i| self.devices.get(i as usize))
    }

    /// Renames a device (as its user would on the phone); `false` if there is no such device.
    pub fn rename(&mut self, id: &str, name: &str) -> bool {
        match self.by_id.get(id).and_then(|&i| self.devices.get_mut(i as usize)) {
            Some(device) => {
                device.name = name.to_string();
                true
            }
            None => false,
        }
    }

    /// Every device in the default order (lastReported descending).
    pub fn ordered(&self) -> impl Iterator<Item = &Device> {
        self.order(SortBy::LastReported, Direction::Dsc).iter().map(|&i| &self.devices[i as usize])
    }

    /// The devices of `query` at `offset..offset + limit`.
    pub fn search(&self, query: &Query, offset: usize, limit: usize) -> Page<'_> {
        let order = self.order(query.sort, query.direction);
        // On the lastReported orderings the cut-off is a prefix or suffix: found by bisection.
        let mut range = 0..order.len();
        let mut cut_off_left = query.reported_after;
        if let (SortBy::LastReported, Some(after)) = (query.sort, query.reported_after) {
            range = match query.direction {
                Direction::Dsc => 0..order.partition_point(|&i| self.devices[i as usize].last_reported_ms >= after),
                Direction::Asc => {
                    order.partition_point(|&i| self.devices[i as usize].last_reported_ms < after)..order.len()
                }
            };
            cut_off_left = None;
        }
        let candidates = &order[range];
        if query.filters.is_empty() && cut_off_left.is_none() {
            return self.slice(candidates, offset, limit);
        }
        let mut page = Page { count: 0, devices: Vec::new() };
        let wanted = offset..offset.saturating_add(limit);
        for &i in candidates {
            let device = &self.devices[i as usize];
            if cut_off_left.is_some_and(|after| device.last_reported_ms < after) || !matches(device, query) {
                continue;
            }
            if wanted.contains(&page.count) {
                page.devices.push(device);
            }
            page.count += 1;
        }
        page
    }

    /// The members of device group `group` at `offset..offset + limit`, lastReported descending.
    pub fn group_page(&self, group: usize, offset: usize, limit: usize) -> Page<'_> {
        self.slice(self.members.get(group).map_or(&[], Vec::as_slice), offset, limit)
    }

    /// Removes the `remove` devices at the front of the default order, then inserts `insert` devices
    /// newer than any other (by check-in and installation) that join every populated device group.
    pub fn churn(&mut self, insert: usize, remove: usize) {
        // Time moves on: the new devices are newer than any the tenant had, removed ones included.
        let newest = generate::newest(&self.devices);
        let front: Vec<u32> = self.order(SortBy::LastReported, Direction::Dsc).iter().take(remove).copied().collect();
        let mut gone = vec![false; self.devices.len()];
        for &i in &front {
            gone[i as usize] = true;
            let id = self.devices[i as usize].id.clone();
            self.attributes.forget(&id);
        }
        let mut index = 0;
        self.devices.retain(|_| {
            index += 1;
            !gone[index - 1]
        });
        for n in 0..insert as i64 {
            let installed_ms = newest + (2 * n + 1) * 1000;
            let mut device = self.generator.device(When::At { installed_ms, last_reported_ms: installed_ms + 1000 });
            device.groups |= CHURN_JOINS;
            self.devices.push(device);
        }
        self.index();
    }

    fn slice<'a>(&'a self, indexes: &[u32], offset: usize, limit: usize) -> Page<'a> {
        let start = offset.min(indexes.len());
        let end = offset.saturating_add(limit).min(indexes.len());
        Page { count: indexes.len(), devices: indexes[start..end].iter().map(|&i| &self.devices[i as usize]).collect() }
    }

    fn order(&self, sort: SortBy, direction: Direction) -> &[u32] {
        &self.orders[order_slot(sort, direction)]
    }

    /// Rebuilds the id index, the orderings and the group member lists after devices changed.
    fn index(&mut self) {
        let devices = &self.devices;
        self.by_id = devices.iter().enumerate().map(|(i, d)| (d.id.clone(), i as u32)).collect();
        let all: Vec<u32> = (0..devices.len() as u32).collect();
        let sorted = |key: &dyn Fn(&Device) -> i64, direction: Direction| {
            let mut order = all.clone();
            match direction {
                Direction::Asc => order.sort_by_key(|&i| (key(&devices[i as usize]), &devices[i as usize].id)),
                Direction::Dsc => order.sort_by_key(|&i| (Reverse(key(&devices[i as usize])), &devices[i as usize].id)),
            }
            order
        };
        let mut orders: [Vec<u32>; 4] = Default::default();
        for sort in [SortBy::LastReported, SortBy::InstalledDate] {
            for direction in [Direction::Asc, Direction::Dsc] {
                let key: &dyn Fn(&Device) -> i64 = match sort {
                    SortBy::LastReported => &|d| d.last_reported_ms,
                    SortBy::InstalledDate => &|d| d.installed_ms,
                };
                orders[order_slot(sort, direction)] = sorted(key, direction);
            }
        }
        let default = &orders[order_slot(SortBy::LastReported, Direction::Dsc)];
        self.members = (0..GROUPS.len())
            .map(|g| default.iter().copied().filter(|&i| devices[i as usize].groups & (1 << g) != 0).collect())
            .collect();
        self.orders = orders;
    }
}

fn order_slot(sort: SortBy, direction: Direction) -> usize {
    (sort as usize) * 2 + direction as usize
}

fn matches(device: &Device, query: &Query) -> bool {
    let text = |value: &str, wanted: &str| {
        if query.exact { value.eq_ignore_ascii_case(wanted) } else { contains_ignore_case(value, wanted) }
    };
    query.filters.iter().all(|filter| match filter {
        Filter::Status(wanted) => device.status().eq_ignore_ascii_case(wanted),
        Filter::Platform(wanted) => device.platform.name().eq_ignore_ascii_case(wanted),
        Filter::ManagedStatus(wanted) => device.managed_status.eq_ignore_ascii_case(wanted),
        Filter::UserDomain(wanted) => device.user_domain.eq_ignore_ascii_case(wanted),
        Filter::DeviceName(wanted) => text(&device.name, wanted),
        Filter::Username(wanted) => text(&device.username, wanted),
        Filter::Email(wanted) => text(&device.email, wanted),
        Filter::DeviceId(wanted) => text(&device.id, wanted),
        Filter::PhoneNumber(wanted) => {
            let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
            let (have, wanted) = (digits(&device.phone), digits(wanted));
            !have.is_empty() && if query.exact { have == wanted } else { have.contains(&wanted) }
        }
    })
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

#[cfg(test)]
mod tests;
