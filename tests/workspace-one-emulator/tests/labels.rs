//! The risk label: tags (find, create, move a device between levels, partial failure) and custom
//! attributes, read back through the API and the emulator's handles.

mod client;

use client::{JSON_V1, Session};
use hyper::Method;

fn bulk(ids: &[&str]) -> String {
    serde_json::json!({"BulkValues": {"Value": ids}}).to_string()
}

#[tokio::test]
async fn find_create_and_move_between_risk_tags() {
    let session = Session::start(10).await;
    let emulator = &session.emulator;
    let found = session.get("/API/mdm/tags/search?organizationgroupid=570&name=MTD_Risk_High").await.json();
    let high = found["Tags"][0]["Id"]["Value"].as_u64().expect("pre-created tag");
    assert_eq!(Some(high), emulator.tag_id("MTD_Risk_High"));
    assert_eq!(session.get("/API/mdm/tags/search?organizationgroupid=570&name=Nope").await.status, 204);

    let created =
        session.post("/API/mdm/tags/addtag", r#"{"TagName":"Other_Risk_Low","TagType":1,"LocationGroupId":570}"#).await;
    let low = created.json()["Value"].as_u64().expect("new id");
    let duplicate =
        session.post("/API/mdm/tags/addtag", r#"{"TagName":"Other_Risk_Low","TagType":1,"LocationGroupId":572}"#).await;
    assert_eq!(duplicate.status, 400);
    assert_eq!(session.post("/API/mdm/tags/addtag", r#"{"TagType":1}"#).await.status, 400);

    let device = emulator.devices()[2].id;
    let id = device.to_string();
    let answer = session.post(&format!("/API/mdm/tags/{low}/adddevices"), &bulk(&[&id])).await.json();
    assert_eq!((answer["AcceptedItems"].as_u64(), answer["FailedItems"].as_u64()), (Some(1), Some(0)));
    assert_eq!(emulator.risk_label(device).as_deref(), Some("Other_Risk_Low"));

    // Changing the level: add the new tag, remove the old one. Between the two it carries both.
    session.post(&format!("/API/mdm/tags/{high}/adddevices"), &bulk(&[&id])).await;
    assert_eq!(emulator.risk_label(device), None);
    assert_eq!(emulator.tags_of(device).len(), 2);
    session.post(&format!("/API/mdm/tags/{low}/removedevices"), &bulk(&[&id])).await;
    assert_eq!(emulator.risk_label(device).as_deref(), Some("MTD_Risk_High"));

    let members = session.get(&format!("/API/mdm/tags/{high}/devices")).await.json();
    assert_eq!(members["Device"][0]["DeviceId"], device);
    assert_eq!(session.get(&format!("/API/mdm/tags/{low}/devices")).await.status, 204);
    let uuid = &emulator.devices()[2].uuid;
    let tags = session.get(&format!("/API/mdm/devices/{uuid}/tags")).await.json();
    assert_eq!(tags["tags"][0]["name"], "MTD_Risk_High");
    assert_eq!(emulator.stats().tag_changes, 3);
}

#[tokio::test]
async fn partial_failure_is_200_with_faults() {
    let session = Session::start(3).await;
    let high = session.emulator.tag_id("MTD_Risk_High").expect("tag");
    let good = session.emulator.devices()[0].id.to_string();
    let answer = session.post(&format!("/API/mdm/tags/{high}/adddevices"), &bulk(&[&good, "999", "abc"])).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(
        (body["TotalItems"].as_u64(), body["AcceptedItems"].as_u64(), body["FailedItems"].as_u64()),
        (Some(3), Some(1), Some(2))
    );
    let faults = body["Faults"]["Fault"].as_array().expect("faults");
    assert_eq!(faults[0]["ItemValue"], "999");
    assert!(faults[0]["ErrorCode"].is_u64() && faults[0]["Message"].is_string());
    assert_eq!(session.post("/API/mdm/tags/424242/adddevices", &bulk(&[&good])).await.status, 404);
    assert_eq!(session.post(&format!("/API/mdm/tags/{high}/adddevices"), r#"{"Value":[]}"#).await.status, 400);
}

#[tokio::test]
async fn custom_attributes_set_and_remove() {
    let session = Session::start(3).await;
    let device = session.emulator.devices()[1].id;
    let path = format!("/API/mdm/devices/{device}/customattributes");
    let body = r#"{"CustomAttributes":[{"Name":"mtd_risk","Value":"High","ApplicationGroup":"com.acme.mtd"}]}"#;
    let answer = session.call(Method::PUT, &path, JSON_V1, body).await;
    assert_eq!(answer.status, 204);
    assert_eq!(session.emulator.attribute(device, "mtd_risk").as_deref(), Some("High"));
    assert_eq!(session.call(Method::DELETE, &path, JSON_V1, body).await.status, 204);
    assert_eq!(session.emulator.attribute(device, "mtd_risk"), None);
    assert_eq!(session.call(Method::PUT, &path, JSON_V1, "{}").await.status, 400);
    let answer = session.call(Method::PUT, "/API/mdm/devices/1/customattributes", JSON_V1, body).await;
    assert_eq!(answer.status, 404);
    assert_eq!(session.call(Method::POST, &path, JSON_V1, body).await.status, 405);
}
