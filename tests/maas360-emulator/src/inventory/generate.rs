//! Deterministic devices: people, hardware, numbers and check-in times drawn from one seed, with
//! every type quirk of the real service represented.

use std::collections::HashSet;

use super::apps;
use super::clock::{self, BASE_MS, DAY_MS, SECOND_MS};
use super::device::{Device, Loose, Platform, Record};
use super::groups::{EXECUTIVES, MP_DEVICES};
use crate::prng::Prng;

const FIRST_NAMES: &[&str] = &[
    "Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiroshi", "Ingrid", "Jamal", "Keiko", "Liam",
    "Maria", "Noah", "Olga", "Priya", "Quentin", "Rosa", "Samir", "Tanja", "Umar", "Vera", "Wen", "Ximena", "Yusuf",
    "Zoe", "Anders", "Beatriz", "Carlos", "Daniela", "Emeka", "Fatima", "Gustav", "Hana", "Ivan", "Julia",
];

const LAST_NAMES: &[&str] = &[
    "Moreno",
    "Schmidt",
    "Nakamura",
    "Okafor",
    "Kowalski",
    "Haddad",
    "Lindqvist",
    "Rossi",
    "Dubois",
    "Patel",
    "Novak",
    "Fischer",
    "Silva",
    "Chen",
    "Murphy",
    "Jensen",
    "Ivanova",
    "Costa",
    "Yilmaz",
    "Becker",
    "Santos",
    "Kim",
    "Andersen",
    "Weber",
    "Garcia",
    "Müller",
    "O'Brien",
    "Horvath",
    "Nguyen",
    "Tanaka",
];

/// (model, friendly name for the device name, device type, manufacturer)
type Model = (&'static str, &'static str, &'static str, &'static str);

const IOS_MODELS: &[Model] = &[
    ("iPhone 15 Pro", "iPhone", "Smartphone", "Apple"),
    ("iPhone 14", "iPhone", "Smartphone", "Apple"),
    ("iPhone 13 mini", "iPhone", "Smartphone", "Apple"),
    ("iPhone SE (3rd generation)", "iPhone", "Smartphone", "Apple"),
    ("iPad Air (5th generation)", "iPad", "Tablet", "Apple"),
    ("iPad Pro (12.9-inch) (6th generation)", "iPad", "Tablet", "Apple"),
];
const ANDROID_MODELS: &[Model] = &[
    ("SM-S911B", "Galaxy S23", "Smartphone", "samsung"),
    ("SM-A546B", "Galaxy A54", "Smartphone", "samsung"),
    ("Pixel 8", "Pixel 8", "Smartphone", "Google"),
    ("Pixel 7a", "Pixel 7a", "Smartphone", "Google"),
    ("moto g54 5G", "moto g54", "Smartphone", "motorola"),
    ("SM-X710", "Galaxy Tab S9", "Tablet", "samsung"),
];
const WINDOWS_MODELS: &[Model] = &[
    ("Latitude 7440", "Latitude", "Laptop", "Dell Inc."),
    ("ThinkPad X1 Carbon Gen 11", "ThinkPad", "Laptop", "LENOVO"),
    ("HP EliteBook 840 G10", "EliteBook", "Laptop", "HP"),
    ("Surface Laptop 5", "Surface", "Laptop", "Microsoft Corporation"),
];
const MAC_MODELS: &[Model] = &[
    ("MacBook Pro (14-inch, 2023)", "MacBook Pro", "Laptop", "Apple"),
    ("MacBook Air (M2, 2022)", "MacBook Air", "Laptop", "Apple"),
];

/// US area codes for generated numbers (all in the fictional 555 exchange).
const US_AREAS: &[u32] = &[202, 212, 312, 415, 617, 206, 303, 512, 305, 404, 702, 718, 213, 646, 720, 801];

/// When a device checks in: drawn from the last 30 days, or fixed (churn inserts the newest devices).
pub enum When {
    Recent,
    At { installed_ms: i64, last_reported_ms: i64 },
}

/// Draws devices; kept by the store so devices inserted later stay unique and deterministic.
pub struct Generator {
    rng: Prng,
    quirks: bool,
    /// Numbers devices for user names, e-mail addresses and asset numbers, so each is unique.
    serial: u64,
    ids: HashSet<String>,
    phones: PhoneBook,
}

#[derive(Default)]
struct PhoneBook {
    us: u32,
    uk: u32,
    de: u32,
}

struct Phone {
    display: String,
    value: Loose,
}

impl Generator {
    pub fn new(seed: u64, quirks: bool) -> Self {
        Self { rng: Prng::new(seed), quirks, serial: 0, ids: HashSet::new(), phones: PhoneBook::default() }
    }

    pub fn rng(&mut self) -> &mut Prng {
        &mut self.rng
    }

    pub fn device(&mut self, when: When) -> Device {
        self.serial += 1;
        let serial = self.serial;
        let quirks = self.quirks;
        let platform = match self.rng.below(100) {
            0..40 => Platform::Ios,
            40..80 => Platform::Android,
            80..92 => Platform::Windows,
            _ => Platform::Mac,
        };
        let (model, friendly, device_type, manufacturer) = *self.rng.pick(match platform {
            Platform::Ios => IOS_MODELS,
            Platform::Android => ANDROID_MODELS,
            Platform::Windows => WINDOWS_MODELS,
            Platform::Mac => MAC_MODELS,
        });
        let first = *self.rng.pick(FIRST_NAMES);
        let last = *self.rng.pick(LAST_NAMES);
        let owner = format!("{first} {last}");
        let plain_last: String = last.chars().filter(char::is_ascii_alphabetic).collect::<String>().to_lowercase();
        let username = format!("{}{plain_last}{serial}", first.chars().next().unwrap_or('x').to_ascii_lowercase());
        let email = format!("{}.{plain_last}{serial}@corp.example", first.to_lowercase());
        let name = match platform {
            Platform::Windows if self.rng.percent(40) => format!("LAPTOP-{}", self.rng.hex(7, true)),
            Platform::Windows => format!("{first}'s {friendly}"),
            _ => format!("{owner}'s {friendly}"),
        };
        let id = self.unique_id(platform);
        let (installed_ms, last_reported_ms) = match when {
            When::Recent => {
                let last = BASE_MS - self.rng.below(30 * 86_400) as i64 * SECOND_MS;
                (last - 3600 * SECOND_MS - self.rng.below(730 * 86_400) as i64 * SECOND_MS, last)
            }
            When::At { installed_ms, last_reported_ms } => (installed_ms, last_reported_ms),
        };
        let phone_odds = match device_type {
            "Smartphone" => 85,
            "Tablet" => 10,
            _ => 0,
        };
        let phone = if self.rng.percent(phone_odds) { self.phone() } else { None };
        let cellular = device_type == "Smartphone" || (device_type == "Tablet" && phone.is_some());
        let imei = if cellular && self.rng.percent(90) {
            let digits =
                format!("35{}", (0..13).map(|_| char::from(b'0' + self.rng.below(10) as u8)).collect::<String>());
            if quirks { digits.parse().map(Loose::Int).unwrap_or(Loose::Text(digits)) } else { Loose::Text(digits) }
        } else {
            Loose::Text(String::new())
        };
        let (os_name, os_version, service_pack) = self.os(platform);
        let udid = match platform {
            Platform::Ios if self.rng.percent(50) => self.rng.hex(40, false),
            Platform::Ios => format!("00008110-{}", self.rng.hex(16, true)),
            Platform::Android => self.rng.hex(16, false),
            Platform::Windows | Platform::Mac => self.guid(),
        };
        let wifi = if self.rng.percent(15) {
            "N/A".to_string()
        } else {
            (0..6).map(|_| self.rng.hex(2, true)).collect::<Vec<_>>().join(":")
        };
        let mailbox = match platform {
            Platform::Ios if self.rng.percent(40) => format!("Appl{}", self.rng.hex(20, true)),
            Platform::Android if self.rng.percent(40) => format!("androidc{}", self.rng.below(1_000_000_000)),
            _ if self.rng.percent(50) => "N/A".to_string(),
            _ => String::new(),
        };
        let custom_asset_number = match self.rng.below(100) {
            0..65 => format!("EMP-{serial:06}"),
            65..90 => "N/A".to_string(),
            _ => String::new(),
        };
        let user_domain = match self.rng.below(100) {
            0..70 => "CORP",
            70..85 => "N/A",
            _ => "",
        }
        .to_string();
        let active = self.rng.percent(85);
        let managed_status = match self.rng.below(100) {
            0..80 => "Enrolled",
            80..90 => "Not Enrolled",
            90..95 => "Control Removed",
            _ => "Pending Control Removal",
        };
        let ownership = match self.rng.below(100) {
            0..55 => "Corporate Owned",
            55..90 => "Employee Owned",
            _ => "N/A",
        };
        let jailbreak = match platform {
            Platform::Ios if self.rng.percent(5) => "Yes",
            Platform::Android if self.rng.percent(7) => "Rooted",
            _ => "No",
        };
        let encryption = match platform {
            Platform::Ios => "Data Protection",
            Platform::Android if self.rng.percent(90) => "Encrypted",
            Platform::Windows if self.rng.percent(85) => "BitLocker Enabled",
            Platform::Mac if self.rng.percent(85) => "FileVault Enabled",
            _ => "Not Encrypted",
        };
        let compliance = |rng: &mut Prng| if rng.percent(88) { "In Compliance" } else { "Out of Compliance" };
        let policy_compliance = compliance(&mut self.rng);
        let rule_compliance = if self.rng.percent(10) { "N/A" } else { compliance(&mut self.rng) };
        let supervised = platform == Platform::Ios && self.rng.percent(50);
        let test_device = self.rng.percent(3);
        let mut groups = 0u8;
        if self.rng.percent(60) {
            groups |= 1 << MP_DEVICES;
        }
        if self.rng.percent(30) {
            groups |= 1 << EXECUTIVES;
        }
        let app_count = self.rng.below(9) as usize;
        let apps = apps::pick(&mut self.rng, platform, app_count);
        let (phone_display, phone_value) = match phone {
            Some(phone) => (phone.display, phone.value),
            None => (String::new(), Loose::Text(String::new())),
        };

        let record = Record {
            maas360_device_id: &id,
            device_name: &name,
            custom_asset_number: &custom_asset_number,
            ownership,
            device_owner: &owner,
            username: &username,
            email_address: &email,
            user_domain: &user_domain,
            platform_name: platform.name(),
            source_id: match platform {
                Platform::Ios => 1,
                Platform::Android => 3,
                Platform::Windows => 5,
                Platform::Mac => 7,
            },
            device_type,
            manufacturer,
            model,
            os_name,
            os_version,
            os_service_pack: service_pack,
            imei_esn: imei,
            udid: &udid,
            wifi_mac_address: &wifi,
            phone_number: phone_value,
            installed_date: clock::format(installed_ms),
            installed_date_in_epochms: installed_ms,
            last_reported: clock::format(last_reported_ms),
            last_reported_in_epochms: last_reported_ms,
            device_status: if active { "Active" } else { "Inactive" },
            maas360_managed_status: managed_status,
            mailbox_device_id: &mailbox,
            policy_compliance_state: policy_compliance,
            rule_compliance_state: rule_compliance,
            encryption_status: encryption,
            jailbreak_status: jailbreak,
            is_supervised_device: supervised,
            test_device,
        };
        let json = serde_json::to_string(&record).unwrap_or_default().into_boxed_str();
        Device {
            id,
            name,
            owner,
            username,
            email,
            phone: phone_display,
            custom_asset_number,
            user_domain,
            platform,
            active,
            managed_status,
            installed_ms,
            last_reported_ms,
            groups,
            apps,
            json,
        }
    }

    /// `Appl…` for Apple devices, `ANDROID…` for Android, `WIN…` for Windows; never reused.
    fn unique_id(&mut self, platform: Platform) -> String {
        let prefix = match platform {
            Platform::Ios | Platform::Mac => "Appl",
            Platform::Android => "ANDROID",
            Platform::Windows => "WIN",
        };
        loop {
            let id = format!("{prefix}{}", self.rng.hex(12, true));
            if self.ids.insert(id.clone()) {
                return id;
            }
        }
    }

    fn guid(&mut self) -> String {
        let r = &mut self.rng;
        format!("{}-{}-{}-{}-{}", r.hex(8, true), r.hex(4, true), r.hex(4, true), r.hex(4, true), r.hex(12, true))
    }

    /// (`osName`, `osVersion`, `osServicePack`): the version is a string, a float or an int, as the
    /// service reports it per platform.
    fn os(&mut self, platform: Platform) -> (&'static str, Loose, &'static str) {
        let r = &mut self.rng;
        let (name, version, service_pack) = match platform {
            Platform::Ios => {
                let version = match r.below(10) {
                    0..7 => Loose::Text(r.pick(&["17.4.1", "17.5", "16.7.8", "18.0.1"]).to_string()),
                    _ => Loose::Float(*r.pick(&[16.1, 17.0, 15.8])),
                };
                ("iOS", version, "")
            }
            Platform::Android => {
                let version = match r.below(10) {
                    0..5 => Loose::Int(*r.pick(&[11, 12, 13, 14])),
                    _ => Loose::Text(r.pick(&["13", "14", "12.1"]).to_string()),
                };
                ("Android", version, if r.percent(50) { "N/A" } else { "" })
            }
            Platform::Windows => {
                let name = *r.pick(&["Windows 11 Enterprise", "Windows 10 Pro"]);
                (name, Loose::Text(r.pick(&["10.0.22631", "10.0.19045"]).to_string()), *r.pick(&["23H2", "22H2"]))
            }
            Platform::Mac => {
                let version = match r.below(2) {
                    0 => Loose::Float(*r.pick(&[14.0, 13.1])),
                    _ => Loose::Text(r.pick(&["14.4.1", "13.6.7"]).to_string()),
                };
                ("macOS", version, "")
            }
        };
        let version = match version {
            Loose::Int(n) if !self.quirks => Loose::Text(n.to_string()),
            Loose::Float(f) if !self.quirks => Loose::Text(format!("{f:.1}")),
            other => other,
        };
        (name, version, service_pack)
    }

    /// A number unique in the tenant: US (`+1 202-555-0123`, or its bare national digits, a JSON
    /// number with quirks on), UK (`+44 7700 900123`) or German (`+49 1512 3456123`).
    fn phone(&mut self) -> Option<Phone> {
        let book = &mut self.phones;
        let choice = self.rng.below(100);
        if (35..55).contains(&choice) && book.uk < 100_000 {
            book.uk += 1;
            let display = format!("+44 7700 {}", 900_000 + book.uk - 1);
            return Some(Phone { value: Loose::Text(display.clone()), display });
        }
        if (55..70).contains(&choice) && book.de < 6_000_000 {
            book.de += 1;
            let display = format!("+49 1512 {}", 3_456_000 + book.de - 1);
            return Some(Phone { value: Loose::Text(display.clone()), display });
        }
        // US numbers: 9 900 lines (0100–9999) in each area code.
        let us = book.us;
        let area = *US_AREAS.get((us / 9_900) as usize)?;
        book.us += 1;
        let line = 100 + us % 9_900;
        if choice >= 70 {
            let digits = format!("{area}555{line:04}");
            let value = if self.quirks {
                digits.parse().map(Loose::Int).unwrap_or_else(|_| Loose::Text(digits.clone()))
            } else {
                Loose::Text(digits.clone())
            };
            return Some(Phone { display: digits, value });
        }
        let display = format!("+1 {area}-555-{line:04}");
        Some(Phone { value: Loose::Text(display.clone()), display })
    }
}

/// The newest check-in time among `devices`, or the base time.
pub fn newest(devices: &[Device]) -> i64 {
    devices.iter().map(|d| d.last_reported_ms.max(d.installed_ms)).max().unwrap_or(BASE_MS - DAY_MS)
}
