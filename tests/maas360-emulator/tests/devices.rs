//! Device lists, groups and installed apps: paging rules, the list and type quirks, ordering,
//! filters and churn under a paging client.

mod client;

use client::{Client, config, session};
use maas360_emulator::EmulatorConfig;
use serde_json::Value;

const V2: &str = "/device-apis/devices/2.0/search/customer/30012345";
const V1: &str = "/device-apis/devices/1.0/search/30012345";
const GROUPS: &str = "/group-apis/group/1.0/groups/customer/30012345";
const BY_GROUP: &str = "/device-apis/devices/1.0/searchByDeviceGroup/30012345";
const SOFTWARE: &str = "/device-apis/devices/1.0/softwareInstalled/30012345";

fn ids(page: &Value) -> Vec<String> {
    match &page["devices"]["device"] {
        Value::Array(devices) => {
            devices.iter().map(|d| d["maas360DeviceID"].as_str().expect("id").to_string()).collect()
        }
        Value::Object(_) => vec![page["devices"]["device"]["maas360DeviceID"].as_str().expect("id").to_string()],
        Value::Null => vec![],
        other => panic!("device is {other}"),
    }
}

async fn group_id(client: &Client, token: &str, name: &str) -> String {
    let groups = client.get(GROUPS, token).await.json();
    let group = groups["groups"]["group"].as_array().expect("groups").iter().find(|g| g["groupName"] == name).cloned();
    group.expect("group")["groupID"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn page_sizes_are_enforced() {
    let (emulator, client, token) = session(config(60)).await;
    for size in [25, 50, 100, 200, 250] {
        assert_eq!(client.get(&format!("{V2}?pageSize={size}"), &token).await.status, 200, "{size}");
    }
    for query in
        ["", "?pageSize=10", "?pageSize=500", "?pageSize=abc", "?pageSize=25&pageNumber=0", "?pageSize=25&pageNumber=x"]
    {
        let answer = client.get(&format!("{V2}{query}"), &token).await;
        assert_eq!((answer.status, answer.body.as_str()), (400, ""), "{query}");
    }
    let answer = client.get(&format!("{BY_GROUP}?deviceGroupId=4521001&pageSize=30"), &token).await;
    assert_eq!(answer.status, 400);
    for query in ["?pageSize=25&sortAttribute=name", "?pageSize=25&sortOrder=desc", "?pageSize=25&match=2"] {
        assert_eq!(client.get(&format!("{V2}{query}"), &token).await.status, 400, "{query}");
    }
    assert_eq!(emulator.stats().max_page_size, 500);
}

#[tokio::test]
async fn pages_cover_every_device_once_and_v2_echoes_the_page_length() {
    let (emulator, client, token) = session(config(60)).await;
    let mut seen = Vec::new();
    for number in 1..=3 {
        let page = client.get(&format!("{V2}?pageSize=25&pageNumber={number}"), &token).await.json();
        assert_eq!(page["devices"]["count"], 60);
        assert_eq!(page["devices"]["pageNumber"], number);
        let on_page = ids(&page);
        assert_eq!(page["devices"]["pageSize"], on_page.len(), "v2 echoes the number on the page");
        seen.extend(on_page);
    }
    let expected: Vec<String> = emulator.devices().into_iter().map(|d| d.id).collect();
    assert_eq!(seen, expected, "default order is lastReported descending");
    let v1 = client.get(&format!("{V1}?pageSize=50&pageNumber=2"), &token).await.json();
    assert_eq!((v1["devices"]["pageSize"].as_u64(), ids(&v1).len()), (Some(50), 10));
    let beyond = client.get(&format!("{V2}?pageSize=25&pageNumber=9"), &token).await.json();
    assert!(beyond["devices"].get("device").is_none(), "no devices: the key is absent");
    assert_eq!(beyond["devices"]["count"], 60);
}

#[tokio::test]
async fn sorting_and_the_incremental_cut_off() {
    let (emulator, client, token) = session(config(80)).await;
    let devices = emulator.devices();
    let cut = devices[9].last_reported_ms;
    let answer = client.get(&format!("{V2}?pageSize=25&lastReportedAfterInEpochms={cut}"), &token).await.json();
    let newer = devices.iter().filter(|d| d.last_reported_ms >= cut).count();
    assert_eq!(answer["devices"]["count"], newer);
    let asc = client.get(&format!("{V2}?pageSize=250&sortAttribute=lastReported&sortOrder=asc"), &token).await.json();
    let mut reversed: Vec<String> = devices.iter().map(|d| d.id.clone()).collect();
    reversed.reverse();
    let asc_ids = ids(&asc);
    // Equal times keep the smaller id first in both directions; compare the times only.
    let times = |list: &[String]| {
        list.iter().map(|id| devices.iter().find(|d| &d.id == id).expect("device").last_reported_ms).collect::<Vec<_>>()
    };
    assert_eq!(times(&asc_ids), times(&reversed));
    let installed = client.get(&format!("{V2}?pageSize=250&sortAttribute=installedDate&sortOrder=dsc"), &token).await;
    let installed: Vec<String> = installed.json()["devices"]["device"]
        .as_array()
        .expect("devices")
        .iter()
        .map(|d| d["installedDate"].as_str().expect("date").to_string())
        .collect();
    assert!(installed.windows(2).all(|w| w[0] >= w[1]));
}

#[tokio::test]
async fn filters_narrow_the_search() {
    let (emulator, client, token) = session(config(100)).await;
    let device = emulator.devices().into_iter().nth(5).expect("device");
    let by_email = client.get(&format!("{V2}?pageSize=25&email={}&match=1", device.email), &token).await.json();
    assert_eq!(by_email["devices"]["count"], 1);
    assert_eq!(by_email["devices"]["device"]["maas360DeviceID"], device.id.as_str(), "one match is an object");
    let by_id = client.get(&format!("{V1}?pageSize=25&maas360DeviceId={}", device.id), &token).await.json();
    assert_eq!(ids(&by_id), vec![device.id.clone()]);
    let android =
        client.get(&format!("{V2}?pageSize=250&platformName=Android&deviceStatus=Active"), &token).await.json();
    let list = android["devices"]["device"].as_array().expect("several");
    assert!(list.iter().all(|d| d["platformName"] == "Android" && d["deviceStatus"] == "Active"));
    assert_eq!(android["devices"]["count"], list.len());
}

#[tokio::test]
async fn groups_and_the_single_device_group() {
    let (_emulator, client, token) = session(config(200)).await;
    let groups = client.get(GROUPS, &token).await.json();
    assert_eq!(groups["groups"]["count"], 5);
    let list = groups["groups"]["group"].as_array().expect("groups");
    assert!(list.iter().any(|g| g["groupName"] == "MP_Users_Group" && g["groupType"] == 3));

    let lab = group_id(&client, &token, "Lab").await;
    let page = client.get(&format!("{BY_GROUP}?deviceGroupId={lab}&pageSize=25&pageNumber=1"), &token).await.json();
    assert!(page["devices"]["device"].is_object(), "one device is an object: {page}");
    assert_eq!((page["devices"]["count"].as_u64(), page["devices"]["pageSize"].as_u64()), (Some(1), Some(25)));

    let empty = group_id(&client, &token, "Empty Group").await;
    let page = client.get(&format!("{BY_GROUP}?deviceGroupId={empty}&pageSize=25"), &token).await.json();
    assert!(page["devices"].get("device").is_none());

    let main = group_id(&client, &token, "MP_Devices_Group").await;
    let page = client.get(&format!("{BY_GROUP}?deviceGroupId={main}&pageSize=50"), &token).await.json();
    let count = page["devices"]["count"].as_u64().expect("count");
    assert!((90..150).contains(&count), "{count}");

    for unknown in ["999", &group_id(&client, &token, "MP_Users_Group").await] {
        let answer = client.get(&format!("{BY_GROUP}?deviceGroupId={unknown}&pageSize=25"), &token).await;
        assert_eq!(answer.status, 404);
        assert_eq!(answer.json(), serde_json::json!({"errorCode": 404, "errorDesc": "Device group not found"}));
    }
}

#[tokio::test]
async fn without_quirks_lists_are_arrays() {
    let config = EmulatorConfig { quirks: false, ..config(40) };
    let (_emulator, client, token) = session(config).await;
    let page = client.get(&format!("{BY_GROUP}?deviceGroupId=4521003&pageSize=25"), &token).await.json();
    assert_eq!(page["devices"]["device"].as_array().map(Vec::len), Some(1));
    let empty = client.get(&format!("{BY_GROUP}?deviceGroupId=4521005&pageSize=25"), &token).await.json();
    assert_eq!(empty["devices"]["device"], serde_json::json!([]));
    let v2 = client.get(&format!("{V2}?pageSize=25&pageNumber=2"), &token).await.json();
    assert_eq!((v2["devices"]["pageSize"].as_u64(), ids(&v2).len()), (Some(25), 15));
}

#[tokio::test]
async fn installed_apps_with_their_quirks() {
    let (emulator, client, token) = session(config(200)).await;
    let mut saw = (false, false, false);
    for device in emulator.devices() {
        let answer = client.get(&format!("{SOFTWARE}?deviceId={}", device.id), &token).await.json();
        let software = &answer["deviceSoftwares"];
        assert_eq!(software["maas360DeviceID"], device.id.as_str());
        assert!(software["lastSoftwareDataRefreshDate"].as_str().is_some_and(|d| d.len() == 19));
        match &software["deviceSw"] {
            Value::Null => saw.0 = true,
            Value::Object(app) => {
                if app["swAttrs"].is_object() {
                    assert_eq!(app["swAttrs"]["key"], "Application ID");
                    saw.1 = true;
                }
            }
            Value::Array(apps) => {
                for app in apps {
                    let attrs = app["swAttrs"].as_array().expect("attributes");
                    let size = attrs.iter().find(|a| a["key"] == "File Size").expect("File Size");
                    saw.2 |= size["value"].is_u64();
                    assert!(attrs.iter().any(|a| a["key"] == "Installed by MDM"));
                }
            }
            other => panic!("deviceSw is {other}"),
        }
    }
    assert_eq!(saw, (true, true, true), "(no apps, one app with one attribute, numeric File Size)");
    let unknown = client.get(&format!("{SOFTWARE}?deviceId=ApplNOPE"), &token).await;
    assert_eq!((unknown.status, unknown.json()["errorDesc"].as_str()), (404, Some("Device not found")));
    assert_eq!(client.get(SOFTWARE, &token).await.status, 400);
}

#[tokio::test]
async fn churn_shifts_pages_under_a_paging_client() {
    let (emulator, client, token) = session(config(100)).await;
    let before: Vec<String> = emulator.devices().into_iter().map(|d| d.id).collect();
    emulator.churn(1, 5, 3);
    let first = ids(&client.get(&format!("{V2}?pageSize=25&pageNumber=1"), &token).await.json());
    assert_eq!(first, before[..25]);
    let second = client.get(&format!("{V2}?pageSize=25&pageNumber=2"), &token).await.json();
    assert_eq!(second["devices"]["count"], 102);
    // Three removed at the front, five inserted before them: page 2 now starts two devices earlier.
    assert_eq!(ids(&second), before[23..48]);
    let after = emulator.devices();
    assert_eq!(after.len(), 102);
    assert!(after[..5].iter().all(|d| d.groups.contains(&"MP_Devices_Group".to_string()) && !before.contains(&d.id)));
    assert!(after.iter().all(|d| !before[..3].contains(&d.id)));
    // Group listings count as list requests and see the churned devices too.
    let lab = client.get(&format!("{BY_GROUP}?deviceGroupId=4521003&pageSize=25"), &token).await.json();
    assert!(lab["devices"]["count"].as_u64().is_some_and(|n| n >= 5));
    assert_eq!(emulator.stats().device_list_requests, 3);
}
