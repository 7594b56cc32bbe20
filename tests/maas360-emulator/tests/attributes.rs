//! Custom attributes: setting the mitigation label with every refusal, reading it back, defining
//! attributes.

mod client;

use client::{config, session};
use hyper::Method;
use serde_json::{Value, json};

const SET: &str = "/device-apis/devices/1.0/setCustomAttributeValue/30012345";
const IDENTITY: &str = "/device-apis/devices/1.0/identity/30012345";
const DEFINE: &str = "/device-apis/devices/2.0/customAttributes/customer/30012345";

fn action(answer: &client::Answer) -> (u64, String) {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let json = answer.json();
    let response = &json["actionResponse"];
    (response["actionStatus"].as_u64().expect("status"), response["description"].as_str().expect("text").to_string())
}

#[tokio::test]
async fn set_the_label_and_read_it_back() {
    let (emulator, client, token) = session(config(20)).await;
    let id = emulator.devices()[3].id.clone();
    assert_eq!(emulator.attribute(&id, "MP_HighRisk").as_deref(), Some("No"));

    let form = [("deviceId", id.as_str()), ("attributeName", "MP_HighRisk"), ("attributeValue", "Yes")];
    let answer = client.post_form(SET, &token, &form).await;
    assert_eq!(action(&answer), (0, "Custom attribute value set successfully".to_string()));
    assert_eq!(answer.json()["actionResponse"]["maas360DeviceID"], id.as_str());
    assert_eq!(emulator.attribute(&id, "MP_HighRisk").as_deref(), Some("Yes"));

    let identity = client.get(&format!("{IDENTITY}?deviceId={id}"), &token).await.json();
    let attribute = &identity["deviceIdentity"]["customAttributes"]["customAttribute"];
    assert_eq!(
        attribute,
        &json!({"customAttributeName": "MP_HighRisk", "customAttributeValue": "Yes"}),
        "one is an object"
    );
    assert_eq!(identity["deviceIdentity"]["maas360DeviceID"], id.as_str());
    assert_eq!(emulator.stats().set_attribute, 1);
}

#[tokio::test]
async fn each_refusal_is_a_200_with_action_status_1() {
    let (emulator, client, token) = session(config(20)).await;
    let id = emulator.devices()[0].id.clone();
    let refused = |device: &str, name: &str, value: &str| {
        let form = [
            ("deviceId", device.to_string()),
            ("attributeName", name.to_string()),
            ("attributeValue", value.to_string()),
        ];
        let client = &client;
        let token = &token;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            action(&client.post_form(SET, token, &form).await)
        }
    };
    assert_eq!(refused("ApplNOPE", "MP_HighRisk", "Yes").await, (1, "Device not found".into()));
    assert_eq!(refused(&id, "Unknown", "Yes").await, (1, "Custom attribute Unknown is not defined".into()));
    assert_eq!(refused(&id, "MP_HighRisk", "yes").await, (1, "Invalid value for boolean attribute".into()));
    assert_eq!(refused(&id, "MP_HighRisk", "true").await, (1, "Invalid value for boolean attribute".into()));
    for bad in ["Ye.s", "<b>", "a\\b", "\"", "'"] {
        assert_eq!(refused(&id, "MP_HighRisk", bad).await, (1, "Invalid characters in attribute name or value".into()));
    }
    assert_eq!(emulator.attribute(&id, "MP_HighRisk").as_deref(), Some("No"));

    // Not a form: 415. A field missing: 400 with no body.
    let authorization = format!("MaaS token=\"{token}\"");
    let json_body = client
        .send(Method::POST, SET, &[("authorization", &authorization), ("content-type", "application/json")], "{}")
        .await;
    assert_eq!(json_body.status, 415);
    let missing = client.post_form(SET, &token, &[("deviceId", &id), ("attributeName", "MP_HighRisk")]).await;
    assert_eq!((missing.status, missing.body.as_str()), (400, ""));
}

#[tokio::test]
async fn define_attributes() {
    let (emulator, client, token) = session(config(10)).await;
    let authorization = format!("MaaS token=\"{token}\"");
    let define = |body: Value| {
        let client = &client;
        let authorization = authorization.clone();
        async move {
            let headers = [("authorization", authorization.as_str()), ("content-type", "application/json")];
            let answer = client.send(Method::POST, DEFINE, &headers, &body.to_string()).await;
            let json = if answer.body.is_empty() { Value::Null } else { answer.json() };
            (answer.status, json)
        }
    };
    let created = define(json!({"name": "MP_RiskLevel", "type": "text"})).await;
    assert_eq!(created, (200, json!({"responseCode": 0, "description": "created"})));
    let exists = define(json!({"name": "MP_HighRisk", "type": "boolean"})).await;
    assert_eq!(exists, (409, json!({"responseCode": 7, "description": "Custom attribute already exists"})));
    let invalid = define(json!({"name": "MP.Risk", "type": "text"})).await;
    assert_eq!(invalid, (400, json!({"responseCode": 2, "description": "Invalid characters in attribute name"})));
    assert_eq!(define(json!({"name": "MP_Risk"})).await, (400, Value::Null));

    let id = emulator.devices()[0].id.clone();
    let form = [("deviceId", id.as_str()), ("attributeName", "MP_RiskLevel"), ("attributeValue", "High")];
    assert_eq!(action(&client.post_form(SET, &token, &form).await).0, 0);
    let identity = client.get(&format!("{IDENTITY}?deviceId={id}"), &token).await.json();
    let attributes =
        identity["deviceIdentity"]["customAttributes"]["customAttribute"].as_array().cloned().expect("two");
    assert_eq!(attributes.len(), 2);
    assert_eq!(attributes[1], json!({"customAttributeName": "MP_RiskLevel", "customAttributeValue": "High"}));
    let unknown = client.get(&format!("{IDENTITY}?deviceId=ApplNOPE"), &token).await;
    assert_eq!(unknown.status, 404);
}
