//! Device search paging, filters and order, device details and alternate ids, installed apps and
//! organization groups, over HTTPS.

mod client;

use client::Session;
use hyper::Method;
use serde_json::Value;
use workspace_one_emulator::{FIRST_ID, find_personal_value};

const SEARCH: &str = "/API/mdm/devices/search";

fn ids(page: &Value) -> Vec<u64> {
    page["Devices"].as_array().expect("Devices").iter().map(|d| d["Id"]["Value"].as_u64().expect("id")).collect()
}

#[tokio::test]
async fn pages_are_zero_based_and_cover_every_device_once() {
    let session = Session::start(23).await;
    let mut seen = Vec::new();
    for page in 0.. {
        let answer = session.get(&format!("{SEARCH}?page={page}&pagesize=10")).await;
        if answer.status == 204 {
            // The empty page: no body at all, and not JSON.
            assert_eq!((answer.body.as_str(), answer.header("content-type")), ("", None));
            assert_eq!(page, 3);
            break;
        }
        let body = answer.json();
        assert_eq!(
            (body["Page"].as_u64(), body["PageSize"].as_u64(), body["Total"].as_u64()),
            (Some(page), Some(10), Some(23))
        );
        seen.extend(ids(&body));
    }
    let expected: Vec<u64> = (FIRST_ID..FIRST_ID + 23).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn page_size_is_capped_at_500_and_junk_is_refused() {
    let session = Session::start(600).await;
    let body = session.get(&format!("{SEARCH}?pagesize=1000")).await.json();
    assert_eq!((body["PageSize"].as_u64(), ids(&body).len(), body["Total"].as_u64()), (Some(500), 500, Some(600)));
    assert_eq!(session.get(SEARCH).await.json()["PageSize"], 500);
    for query in ["page=-1", "pagesize=x", "sortorder=UP", "orderby=Color", "ownership=X", "seensince=yesterday"] {
        let answer = session.get(&format!("{SEARCH}?{query}")).await;
        assert_eq!((answer.status, answer.json()["errorCode"].as_u64()), (400, Some(1013)), "{query}");
    }
    assert_eq!(session.emulator.stats().max_page_size, 1000);
}

#[tokio::test]
async fn filters_and_order() {
    let session = Session::start(80).await;
    let devices = session.emulator.devices();
    let user = &devices[5].user_name;
    let body = session.get(&format!("{SEARCH}?user={user}")).await.json();
    assert_eq!(ids(&body), [devices[5].id]);

    // lgid is the OG itself: the customer OG does not pull in its children's devices.
    let top = session.get(&format!("{SEARCH}?lgid=570")).await;
    let in_top = devices.iter().filter(|d| d.organization_group == "Acme Corp").count();
    assert_eq!(if top.status == 204 { 0 } else { ids(&top.json()).len() }, in_top);
    assert!(in_top < devices.len());
    assert_eq!(session.get(&format!("{SEARCH}?lgid=999")).await.status, 204);

    let body = session.get(&format!("{SEARCH}?platform=android&orderby=LastSeen&sortorder=DESC")).await.json();
    let devices = body["Devices"].as_array().expect("Devices");
    assert!(devices.iter().all(|d| d["Platform"] == "Android") && !devices.is_empty());
    let seen: Vec<&str> = devices.iter().map(|d| d["LastSeen"].as_str().expect("LastSeen")).collect();
    assert!(seen.windows(2).all(|w| w[0] >= w[1]), "{seen:?}");
    assert!(seen.iter().all(|s| s.len() == 23 && !s.ends_with('Z')), "UTC without a zone: {seen:?}");
}

#[tokio::test]
async fn v3_uses_snake_case_and_leaves_out_mac_and_phone() {
    let session = Session::start(30).await;
    let v3 = "application/json;version=3";
    let answer = session.call(Method::GET, &format!("{SEARCH}?page_size=5&page=1"), v3, "").await;
    let body = answer.json();
    assert_eq!((body["PageSize"].as_u64(), body["Page"].as_u64()), (Some(5), Some(1)));
    let device = &body["Devices"][0];
    assert!(device.get("MacAddress").is_none() && device.get("PhoneNumber").is_none());
    let v2 = session.call(Method::GET, &format!("{SEARCH}?pagesize=5"), "application/json;version=2", "").await;
    assert!(v2.json()["Devices"][0].get("MacAddress").is_some());
}

#[tokio::test]
async fn device_details_by_id_and_alternate_id() {
    let session = Session::start(10).await;
    let truth = &session.emulator.devices()[3];
    let body = session.get(&format!("/API/mdm/devices/{}", truth.id)).await.json();
    assert_eq!(body["Uuid"], truth.uuid.as_str());
    assert_eq!(body["UserEmailAddress"], truth.email.as_str());
    assert_eq!(body["DeviceFriendlyName"], truth.friendly_name.as_str());
    let path = format!("/API/mdm/devices?searchby=Serialnumber&id={}", truth.serial_number);
    assert_eq!(session.get(&path).await.json()["Id"]["Value"], truth.id);
    let path = format!("/API/mdm/devices?searchby=Macaddress&id={}", truth.mac_address.to_lowercase());
    assert_eq!(session.get(&path).await.json()["Id"]["Value"], truth.id);

    for missing in ["/API/mdm/devices/1", "/API/mdm/devices/abc", "/API/mdm/devices?searchby=Udid&id=none"] {
        let answer = session.get(missing).await;
        let body = answer.json();
        assert_eq!((answer.status, body["errorCode"].as_u64()), (404, Some(5061)), "{missing}");
        assert_eq!(body["message"], "Device not found for this request.");
    }
    assert_eq!(session.get("/API/mdm/devices?searchby=Color&id=1").await.status, 400);
    // A bad route is an IIS HTML page, not JSON.
    let answer = session.get("/API/mdm/gadgets").await;
    assert_eq!(answer.status, 404);
    assert!(answer.header("content-type").is_some_and(|t| t.starts_with("text/html")));
}

#[tokio::test]
async fn installed_apps_v1_and_by_uuid() {
    let session = Session::start(4).await;
    let device = &session.emulator.devices()[0];
    let body = session.get(&format!("/API/mdm/devices/{}/apps?page=0&pagesize=2", device.id)).await.json();
    let total = body["Total"].as_u64().expect("Total");
    assert!(total >= 3);
    assert_eq!(body["DeviceApps"].as_array().expect("apps").len(), 2);
    assert!(body["DeviceApps"][0]["ApplicationIdentifier"].is_string());
    assert_eq!(session.get(&format!("/API/mdm/devices/{}/apps?page=50", device.id)).await.status, 204);

    let path = format!("/API/mdm/devices/{}/apps/search?page=0&pagesize=500", device.uuid);
    let body = session.get(&path).await.json();
    assert_eq!(
        (body["TotalResults"].as_u64(), body["app_items"].as_array().map(Vec::len)),
        (Some(total), Some(total as usize))
    );
    assert!(body["app_items"][0]["bundle_id"].is_string());
    // Past the last page: 200 with no items, not 204.
    let answer = session.get(&format!("/API/mdm/devices/{}/apps/search?page=9&pagesize=500", device.uuid)).await;
    assert_eq!((answer.status, answer.json()["app_items"].as_array().map(Vec::len)), (200, Some(0)));
    // The known bug: the numeric id finds nothing.
    let body = session.get(&format!("/API/mdm/devices/{}/apps/search", device.id)).await.json();
    assert_eq!(body["TotalResults"], 0);
}

#[tokio::test]
async fn organization_groups() {
    let session = Session::start(1).await;
    let v1 = session.get("/API/system/groups/search").await.json();
    assert_eq!(v1["LocationGroups"].as_array().map(Vec::len), Some(4));
    let v2 = session.call(Method::GET, "/API/system/groups/search?name=eng", "application/json;version=2", "").await;
    let v2 = v2.json();
    assert_eq!(v2["TotalResults"], 2);
    assert!(v2["OrganizationGroups"][0]["Uuid"].is_string());
    let children = session.get("/API/system/groups/572/children").await.json();
    assert_eq!(children.as_array().map(Vec::len), Some(2));
    assert_eq!(session.get("/API/system/groups/1/children").await.status, 404);
}

#[tokio::test]
async fn generated_personal_data_is_findable_for_leak_tests() {
    let session = Session::start(20).await;
    let devices = session.emulator.devices();
    assert!(devices.iter().all(|d| d.email.contains('@') && !d.user_name.is_empty()));
    assert!(devices.iter().any(|d| d.phone.starts_with('+')));
    let dump = session.get(SEARCH).await.body;
    assert!(find_personal_value(&dump, &devices).is_some());
    assert_eq!(find_personal_value("nothing personal here", &devices), None);
}
