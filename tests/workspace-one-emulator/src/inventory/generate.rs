//! Deterministic generated devices: the same seed and count always give the same tenant. The names,
//! emails and phone numbers are made up but look real, so a test can search output for leaks.

use std::collections::BTreeMap;

use super::clock::{BASE_MS, DAY_MS, SECOND_MS};
use super::device::{App, Device};
use super::groups::GROUPS;
use crate::prng::Prng;

/// The first device's numeric id; ids then count up.
pub const FIRST_ID: u64 = 10_001;

const FIRST: [&str; 16] = [
    "Olivia", "Liam", "Amelia", "Noah", "Sofia", "Mateo", "Hannah", "Lukas", "Chiara", "Kenji", "Priya", "Tomasz",
    "Ingrid", "Rafael", "Yasmin", "Dmitri",
];
const LAST: [&str; 16] = [
    "Whitfield",
    "Okonkwo",
    "Lindqvist",
    "Moreau",
    "Castellano",
    "Nakamura",
    "Brennan",
    "Kowalczyk",
    "Haugland",
    "Ferreira",
    "Abernathy",
    "Vasquez",
    "Delacroix",
    "Thorsen",
    "Marchetti",
    "Galloway",
];

/// (platform id, platform, model, OS, has a modem)
const HARDWARE: [(u32, &str, &str, &str, bool); 6] = [
    (2, "Apple", "iPhone 15 Pro", "17.5.1", true),
    (2, "Apple", "iPad Air (5th generation)", "17.4", false),
    (5, "Android", "Pixel 8", "14.0.0", true),
    (5, "Android", "Galaxy S23", "14.0.0", true),
    (12, "WinRT", "Latitude 7440", "10.0.22631", false),
    (10, "AppleOsX", "MacBook Pro (14-inch, M3)", "14.5.0", false),
];

/// (name, bundle id, kind, managed)
const APPS: [(&str, &str, &str, bool); 10] = [
    ("Microsoft Outlook", "com.microsoft.Office.Outlook", "Public", true),
    ("Slack", "com.tinyspeck.chatlyio", "Public", true),
    ("Intelligent Hub", "com.air-watch.agent", "Public", true),
    ("Chrome", "com.google.chrome.ios", "Public", false),
    ("Zoom", "us.zoom.videomeetings", "Public", false),
    ("Acme Expenses", "com.acme.expenses", "Internal", true),
    ("Settings", "com.apple.Preferences", "System", false),
    ("Authenticator", "com.microsoft.azureauthenticator", "Public", true),
    ("Spotify", "com.spotify.client", "Public", false),
    ("WhatsApp", "net.whatsapp.WhatsApp", "Public", false),
];

pub fn devices(seed: u64, count: usize) -> Vec<Device> {
    let mut random = Prng::new(seed);
    (0..count as u64).map(|index| device(&mut random, index)).collect()
}

fn device(random: &mut Prng, index: u64) -> Device {
    let first = *random.pick(&FIRST);
    let last = *random.pick(&LAST);
    let &(platform_id, platform, model, os, modem) = random.pick(&HARDWARE);
    let user_name = format!("{}.{}{}", first.to_lowercase(), last.to_lowercase(), index);
    let short = model.split(' ').next().unwrap_or(model);
    let phone = if modem && random.percent(85) {
        format!("+1{}{:07}", 201 + random.below(700), random.below(10_000_000))
    } else {
        String::new()
    };
    let imei = if modem { format!("35{:013}", random.below(10_000_000_000_000)) } else { String::new() };
    let ownership = *random.pick(&["C", "C", "E", "S"]);
    // Mostly in the leaf OGs; a few at the customer OG itself.
    let group = if random.percent(10) { GROUPS[0].id } else { GROUPS[1 + random.below(3) as usize].id };
    Device {
        id: FIRST_ID + index,
        uuid: uuid(random),
        udid: random.hex(32, true),
        serial: format!("{}{}", random.hex(4, true), random.below(100_000_000)),
        mac: random.hex(12, true),
        imei,
        eas_id: random.hex(20, true),
        asset_number: format!("ACME-{:06}", random.below(1_000_000)),
        friendly_name: format!("{first} {last}'s {short} {index}"),
        reported_name: format!("{first}s-{short}-{}", random.hex(4, true)),
        group,
        user_id: 5_000 + index,
        user_uuid: uuid(random),
        user_name,
        full_name: format!("{first} {last}"),
        email: format!("{}.{}{index}@acme-corp.example", first.to_lowercase(), last.to_lowercase()),
        ownership,
        platform_id,
        platform,
        model,
        os,
        phone,
        last_seen_ms: BASE_MS
            - random.below(30 * DAY_MS as u64 / SECOND_MS as u64) as i64 * SECOND_MS
            - random.below(1000) as i64,
        compliant: random.percent(80),
        // The service sometimes leaves CompromisedStatus out.
        compromised: (!random.percent(15)).then(|| random.percent(5)),
        apps: apps(random),
        attributes: BTreeMap::new(),
    }
}

fn apps(random: &mut Prng) -> Vec<App> {
    let count = 3 + random.below(APPS.len() as u64 - 2) as usize;
    let start = random.below(APPS.len() as u64) as usize;
    (0..count)
        .map(|offset| {
            let (name, bundle_id, kind, managed) = APPS[(start + offset) % APPS.len()];
            let (major, minor) = (1 + random.below(20), random.below(10));
            App {
                name,
                bundle_id,
                version: format!("{major}.{minor}"),
                build: format!("{major}.{minor}.{}", random.below(1000)),
                size: 1_000_000 + random.below(300_000_000),
                kind,
                managed,
            }
        })
        .collect()
}

fn uuid(random: &mut Prng) -> String {
    let hex = random.hex(32, false);
    format!("{}-{}-4{}-a{}-{}", &hex[..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_devices() {
        let (a, b) = (devices(7, 20), devices(7, 20));
        assert!(a.iter().zip(&b).all(|(x, y)| x.uuid == y.uuid && x.email == y.email && x.phone == y.phone));
        assert_ne!(devices(8, 1)[0].uuid, a[0].uuid);
        assert_eq!(a[19].id, FIRST_ID + 19);
        assert!(a.iter().all(|d| d.uuid.len() == 36 && d.apps.len() >= 3 && d.last_seen_ms <= BASE_MS));
        assert!(a.iter().any(|d| !d.phone.is_empty()) && a.iter().any(|d| d.compromised.is_none()));
    }
}
