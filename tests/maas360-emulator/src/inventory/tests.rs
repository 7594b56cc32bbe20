//! The generated tenant: deterministic, unique where it must be, with every quirk represented, and
//! searches that agree with a plain scan.

use std::collections::HashSet;

use serde_json::Value;

use super::groups::{EXECUTIVES, GROUPS, LAB, MP_DEVICES};
use super::*;

fn records(store: &Store) -> Vec<Value> {
    store.ordered().map(|d| serde_json::from_str(&d.json).expect("record is JSON")).collect()
}

#[test]
fn same_seed_same_tenant_other_seed_other_tenant() {
    let (a, b, c) = (Store::generate(200, 9, true), Store::generate(200, 9, true), Store::generate(200, 10, true));
    let ids = |s: &Store| s.ordered().map(|d| d.json.to_string()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    assert_ne!(ids(&a), ids(&c));
}

#[test]
fn identifiers_emails_and_phones_are_unique() {
    let store = Store::generate(5000, 1, true);
    let unique = |field: fn(&Device) -> &str| {
        let values: Vec<&str> = store.ordered().map(field).filter(|v| !v.is_empty()).collect();
        values.len() == values.iter().collect::<HashSet<_>>().len()
    };
    assert!(unique(|d| &d.id));
    assert!(unique(|d| &d.email));
    assert!(unique(|d| &d.username));
    // "+1 202-555-0123" and 2025550123 are the same number: compare digits without the US prefix.
    let digits: Vec<String> = store
        .ordered()
        .filter(|d| !d.phone.is_empty())
        .map(|d| {
            let digits: String = d.phone.chars().filter(char::is_ascii_digit).collect();
            if d.phone.starts_with("+1 ") { digits[1..].to_string() } else { digits }
        })
        .collect();
    assert_eq!(digits.len(), digits.iter().collect::<HashSet<_>>().len());
}

#[test]
fn every_type_quirk_is_represented() {
    let all = records(&Store::generate(1000, 1, true));
    let some = |what: &str, test: &dyn Fn(&Value) -> bool| assert!(all.iter().any(test), "no device with {what}");
    some("numeric imeiEsn", &|r| r["imeiEsn"].is_u64());
    some("empty imeiEsn", &|r| r["imeiEsn"] == "");
    some("numeric phoneNumber", &|r| r["phoneNumber"].is_u64());
    some("empty phoneNumber", &|r| r["phoneNumber"] == "");
    some("US phoneNumber", &|r| r["phoneNumber"].as_str().is_some_and(|p| p.starts_with("+1 ")));
    some("UK phoneNumber", &|r| r["phoneNumber"].as_str().is_some_and(|p| p.starts_with("+44 7700 900")));
    some("DE phoneNumber", &|r| r["phoneNumber"].as_str().is_some_and(|p| p.starts_with("+49 1512 3456")));
    some("string osVersion", &|r| r["osVersion"].is_string());
    some("float osVersion", &|r| r["osVersion"].is_f64());
    some("int osVersion", &|r| r["osVersion"].is_i64());
    some("N/A ownership", &|r| r["ownership"] == "N/A");
    some("N/A customAssetNumber", &|r| r["customAssetNumber"] == "N/A");
    some("N/A userDomain", &|r| r["userDomain"] == "N/A");
    some("N/A wifiMacAddress", &|r| r["wifiMacAddress"] == "N/A");
    some("a rooted device", &|r| r["jailbreakStatus"] == "Rooted");
    some("a jailbroken device", &|r| r["jailbreakStatus"] == "Yes");
    some("an inactive device", &|r| r["deviceStatus"] == "Inactive");
    for platform in ["iOS", "Android", "Windows", "Mac"] {
        some(platform, &|r| r["platformName"] == platform);
    }
}

#[test]
fn without_quirks_types_are_the_documented_ones() {
    for record in records(&Store::generate(500, 1, false)) {
        for field in ["imeiEsn", "phoneNumber", "osVersion"] {
            assert!(record[field].is_string(), "{field} in {record}");
        }
    }
}

#[test]
fn groups_lab_holds_one_device_and_memberships_overlap() {
    let store = Store::generate(1000, 3, true);
    let size = |g: usize| store.group_page(g, 0, usize::MAX).count;
    assert_eq!(size(LAB), 1);
    assert!((500..700).contains(&size(MP_DEVICES)), "{}", size(MP_DEVICES));
    assert!((200..400).contains(&size(EXECUTIVES)), "{}", size(EXECUTIVES));
    let empty = GROUPS.iter().position(|g| g.name == "Empty Group").expect("Empty Group");
    assert_eq!(size(empty), 0);
    assert!(store.ordered().any(|d| d.groups & 0b11 == 0b11), "some executives are in MP_Devices_Group");
    assert!(store.ordered().any(|d| d.apps.is_empty()));
    assert!(store.ordered().any(|d| d.apps.len() == 1 && d.apps[0].id_only));
}

#[test]
fn the_order_is_total_and_ties_go_to_the_smaller_id() {
    let store = Store::generate(3000, 1, true);
    let page = store.search(&Query::default(), 0, usize::MAX);
    assert_eq!(page.count, 3000);
    for pair in page.devices.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(a.last_reported_ms > b.last_reported_ms || (a.last_reported_ms == b.last_reported_ms && a.id < b.id));
    }
}

#[test]
fn searches_agree_with_a_plain_scan() {
    let store = Store::generate(800, 5, true);
    let all: Vec<&Device> = store.ordered().collect();
    let cut = all[300].last_reported_ms;
    for sort in [SortBy::LastReported, SortBy::InstalledDate] {
        for direction in [Direction::Asc, Direction::Dsc] {
            let query = Query {
                sort,
                direction,
                reported_after: Some(cut),
                filters: vec![Filter::Platform("ios".into())],
                exact: false,
            };
            let expected =
                all.iter().filter(|d| d.last_reported_ms >= cut && d.platform == device::Platform::Ios).count();
            let page = store.search(&query, 10, 25);
            assert_eq!(page.count, expected);
            assert_eq!(page.devices.len(), 25.min(expected.saturating_sub(10)));
            let unfiltered = Query { filters: vec![], ..query };
            let expected = all.iter().filter(|d| d.last_reported_ms >= cut).count();
            assert_eq!(store.search(&unfiltered, 0, 25).count, expected);
        }
    }
}

#[test]
fn filters_match_partially_or_exactly() {
    let store = Store::generate(300, 2, true);
    let device = store.ordered().nth(17).expect("device");
    let search = |filter: Filter, exact: bool| {
        store.search(&Query { filters: vec![filter], exact, ..Query::default() }, 0, 250).devices
    };
    assert_eq!(search(Filter::Email(device.email.to_uppercase()), true)[0].id, device.id);
    assert_eq!(search(Filter::Username(device.username[1..].to_string()), true).len(), 0);
    assert!(search(Filter::Username(device.username[1..].to_string()), false).iter().any(|d| d.id == device.id));
    assert_eq!(search(Filter::DeviceId(device.id.clone()), false).len(), 1);
}

#[test]
fn churn_removes_the_front_and_inserts_newer_devices() {
    let mut store = Store::generate(100, 1, true);
    let before: Vec<String> = store.ordered().map(|d| d.id.clone()).collect();
    let newest = store.ordered().next().map(|d| d.last_reported_ms).expect("devices");
    store.attributes.set(&before[0], "MP_HighRisk", "Yes").expect("set");
    let lab_stays = store.group_page(LAB, 0, 1).devices.iter().all(|d| d.id != before[0] && d.id != before[1]);
    store.churn(3, 2);
    let after: Vec<&Device> = store.ordered().collect();
    assert_eq!(after.len(), 101);
    assert!(after[..3].iter().all(|d| d.last_reported_ms > newest && d.groups & 1 << LAB != 0));
    assert_eq!(after[3].id, before[2], "the two at the front are gone");
    assert!(store.device(&before[0]).is_none());
    assert_eq!(store.attributes.get(&before[0], "MP_HighRisk").as_deref(), Some("No"));
    let newest_installed = store.search(&Query { sort: SortBy::InstalledDate, ..Query::default() }, 0, 1);
    assert_eq!(newest_installed.devices[0].id, after[0].id);
    assert_eq!(store.group_page(LAB, 0, 250).count, 3 + usize::from(lab_stays));
}
