//! Installed apps: a small catalogue per platform family, and the `softwareInstalled` answer.

use serde::Serialize;

use super::clock;
use super::device::{App, Device, Loose, Platform};
use crate::prng::Prng;
use crate::quirks::{Listed, listed};

/// One app the tenant's devices may have. `ids` are (iOS, Android) for mobile apps and
/// (Windows, Mac) for desktop apps.
struct Entry {
    name: &'static str,
    ids: [&'static str; 2],
    versions: &'static [&'static str],
    size_mb: u64,
}

const MOBILE: &[Entry] = &[
    Entry {
        name: "Harmony Mobile",
        ids: ["com.checkpoint.zone", "com.checkpoint.zone"],
        versions: &["4.5.1", "4.6.0"],
        size_mb: 48,
    },
    Entry {
        name: "Microsoft Teams",
        ids: ["com.microsoft.skype.teams", "com.microsoft.teams"],
        versions: &["6.12.1", "1416/1.0.0.2024"],
        size_mb: 290,
    },
    Entry {
        name: "Microsoft Outlook",
        ids: ["com.microsoft.Office.Outlook", "com.microsoft.office.outlook"],
        versions: &["4.2419.0", "4.2420.1"],
        size_mb: 310,
    },
    Entry {
        name: "Slack",
        ids: ["com.tinyspeck.chatlyio", "com.Slack"],
        versions: &["24.05.10", "24.06.20.0"],
        size_mb: 180,
    },
    Entry {
        name: "Zoom",
        ids: ["us.zoom.videomeetings", "us.zoom.videomeetings"],
        versions: &["6.0.11", "6.1.0"],
        size_mb: 160,
    },
    Entry {
        name: "WhatsApp",
        ids: ["net.whatsapp.WhatsApp", "com.whatsapp"],
        versions: &["24.10.74", "2.24.10.74"],
        size_mb: 120,
    },
    Entry {
        name: "MaaS360",
        ids: ["com.fiberlink.maas360forios", "com.fiberlink.maas360.android.control"],
        versions: &["3.70.111", "8.45"],
        size_mb: 95,
    },
    Entry {
        name: "Chrome",
        ids: ["com.google.chrome.ios", "com.android.chrome"],
        versions: &["124", "125.0.6422.53"],
        size_mb: 220,
    },
    Entry {
        name: "Microsoft Authenticator",
        ids: ["com.microsoft.azureauthenticator", "com.azure.authenticator"],
        versions: &["6.8.9", "6.2405.3191"],
        size_mb: 140,
    },
    Entry {
        name: "Salesforce",
        ids: ["com.salesforce.chatter", "com.salesforce.chatter"],
        versions: &["250.010", "250.020"],
        size_mb: 130,
    },
    Entry { name: "Box", ids: ["net.box.BoxNet", "com.box.android"], versions: &["5.11.0", "5.12"], size_mb: 110 },
    Entry {
        name: "Webex Meetings",
        ids: ["com.cisco.webex.meetings", "com.cisco.webex.meetings"],
        versions: &["44.5.0", "44.6"],
        size_mb: 200,
    },
    Entry {
        name: "TikTok",
        ids: ["com.zhiliaoapp.musically", "com.zhiliaoapp.musically"],
        versions: &["34.8.0", "34.9.3"],
        size_mb: 450,
    },
    Entry {
        name: "Duo Mobile",
        ids: ["com.duosecurity.DuoMobile", "com.duosecurity.duomobile"],
        versions: &["4.58.0", "4.59"],
        size_mb: 60,
    },
];

const DESKTOP: &[Entry] = &[
    Entry {
        name: "Microsoft Teams",
        ids: ["MSTeams", "com.microsoft.teams2"],
        versions: &["24124.2315.2911.3357", "24"],
        size_mb: 320,
    },
    Entry {
        name: "Google Chrome",
        ids: ["Google.Chrome", "com.google.Chrome"],
        versions: &["125.0.6422.60", "125"],
        size_mb: 480,
    },
    Entry { name: "Zoom Workplace", ids: ["Zoom.Zoom", "us.zoom.xos"], versions: &["6.0.10", "6.0.11"], size_mb: 250 },
    Entry {
        name: "Slack",
        ids: ["SlackTechnologies.Slack", "com.tinyspeck.slackmacgap"],
        versions: &["4.38.125", "4.39.90"],
        size_mb: 400,
    },
    Entry {
        name: "Microsoft Edge",
        ids: ["Microsoft.Edge", "com.microsoft.edgemac"],
        versions: &["125.0.2535.51", "125"],
        size_mb: 520,
    },
    Entry { name: "7-Zip", ids: ["7zip.7zip", "org.7-zip.7zz"], versions: &["23.01", "24.05"], size_mb: 2 },
    Entry {
        name: "Harmony Endpoint",
        ids: ["CheckPoint.HarmonyEndpoint", "com.checkpoint.endpoint"],
        versions: &["87.30", "87.31"],
        size_mb: 700,
    },
];

fn catalogue(platform: Platform) -> &'static [Entry] {
    if platform.is_mobile() { MOBILE } else { DESKTOP }
}

fn id_slot(platform: Platform) -> usize {
    match platform {
        Platform::Ios | Platform::Windows => 0,
        Platform::Android | Platform::Mac => 1,
    }
}

/// `count` distinct apps for a device of `platform`.
pub fn pick(rng: &mut Prng, platform: Platform, count: usize) -> Vec<App> {
    let entries = catalogue(platform);
    let mut order: Vec<u8> = (0..entries.len() as u8).collect();
    // A partial Fisher–Yates shuffle: the first `count` are a random distinct choice.
    let count = count.min(order.len());
    for i in 0..count {
        let j = i + rng.below((order.len() - i) as u64) as usize;
        order.swap(i, j);
    }
    order[..count]
        .iter()
        .map(|&entry| {
            let e = &entries[entry as usize];
            App {
                entry,
                version: rng.below(e.versions.len() as u64) as u8,
                by_mdm: rng.percent(60),
                data_size_kb: rng.below(e.size_mb * 200 + 1) as u32,
                file_size: e.size_mb * 1_048_576 + rng.below(1_048_576),
                id_only: false,
            }
        })
        .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SoftwareReply {
    pub device_softwares: DeviceSoftwares,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSoftwares {
    #[serde(rename = "maas360DeviceID")]
    maas360_device_id: String,
    last_software_data_refresh_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_sw: Option<Listed<Software>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Software {
    sw_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sw_attrs: Option<Listed<SwAttr>>,
}

#[derive(Serialize)]
struct SwAttr {
    key: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    value: Loose,
}

impl SwAttr {
    fn text(key: &'static str, value: impl Into<String>) -> Self {
        Self { key, kind: "string", value: Loose::Text(value.into()) }
    }

    /// A numeric value: a JSON number with quirks on, its digits as a string otherwise.
    fn number(key: &'static str, value: i64, quirks: bool) -> Self {
        if quirks { Self { key, kind: "number", value: Loose::Int(value) } } else { Self::text(key, value.to_string()) }
    }
}

/// The `softwareInstalled` answer for `device`.
pub fn software(device: &Device, quirks: bool) -> SoftwareReply {
    let entries = catalogue(device.platform);
    let apps = device
        .apps
        .iter()
        .filter_map(|app| entries.get(app.entry as usize).map(|entry| (app, entry)))
        .map(|(app, entry)| Software {
            sw_name: entry.name,
            sw_attrs: listed(attributes(device.platform, app, entry, quirks), quirks),
        })
        .collect();
    // Inventory is collected a little before the device's last check-in.
    let refreshed = device.last_reported_ms - (device.apps.len() as i64 + 1) * 600 * clock::SECOND_MS;
    SoftwareReply {
        device_softwares: DeviceSoftwares {
            maas360_device_id: device.id.clone(),
            last_software_data_refresh_date: clock::format(refreshed),
            device_sw: listed(apps, quirks),
        },
    }
}

fn attributes(platform: Platform, app: &App, entry: &Entry, quirks: bool) -> Vec<SwAttr> {
    let id = SwAttr::text("Application ID", entry.ids[id_slot(platform)]);
    if app.id_only {
        return vec![id];
    }
    let version = entry.versions.get(app.version as usize).copied().unwrap_or("1.0");
    // A version that is a bare integer ("124") comes back as a number.
    let version = match version.parse::<i64>() {
        Ok(number) => SwAttr::number("Version", number, quirks),
        Err(_) => SwAttr::text("Version", version),
    };
    let location = match platform {
        Platform::Ios => "Internal".to_string(),
        Platform::Android => if app.by_mdm { "Internal Storage" } else { "SD Card" }.to_string(),
        Platform::Windows => format!("C:\\Program Files\\{}", entry.name),
        Platform::Mac => format!("/Applications/{}.app", entry.name),
    };
    vec![
        id,
        version,
        SwAttr::number("AppDataSize", i64::from(app.data_size_kb), quirks),
        SwAttr::number("File Size", app.file_size as i64, quirks),
        SwAttr::text("Installed by MDM", if app.by_mdm { "Yes" } else { "No" }),
        SwAttr::text("Install Location", location),
    ]
}
