//! The emulator over HTTPS, as any client sees it: the token endpoint's AADSTS errors and
//! tokens, and `sendMail`'s checks, limits, throttling and faults.

use std::time::Duration;

use bytes::Bytes;
use emulator_kit::client::{Answer, HttpsClient};
use graph_emulator::{Emulator, EmulatorConfig, Fault};
use hyper::Method;
use serde_json::{Value, json};

#[derive(Clone)]
struct Client {
    https: HttpsClient,
    origin: String,
}

impl Client {
    fn new(emulator: &Emulator) -> Self {
        Self { https: HttpsClient::new(emulator.origin(), emulator.ca_pem()), origin: emulator.origin() }
    }

    async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Answer {
        self.https.send(method, path, headers, body).await
    }

    async fn token_with(&self, tenant: &str, fields: &[(&str, &str)]) -> Answer {
        let form = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        self.send(Method::POST, &format!("/{tenant}/oauth2/v2.0/token"), &headers, form).await
    }

    async fn token(&self, config: &EmulatorConfig) -> String {
        let scope = format!("{}/.default", self.origin);
        let answer = self.token_with(&config.tenant, &fields(config, &config.client_secret, &scope)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()["access_token"].as_str().expect("token").to_string()
    }

    async fn send_mail(&self, token: &str, user: &str, body: impl Into<Bytes>) -> Answer {
        let authorization = format!("Bearer {token}");
        let headers = [("authorization", authorization.as_str()), ("content-type", "application/json")];
        self.send(Method::POST, &format!("/v1.0/users/{user}/sendMail"), &headers, body).await
    }
}

fn fields<'a>(config: &'a EmulatorConfig, secret: &'a str, scope: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("client_id", config.client_id.as_str()),
        ("scope", scope),
        ("grant_type", "client_credentials"),
        ("client_secret", secret),
    ]
}

fn mail(to: &str) -> Value {
    json!({ "message": {
        "subject": "Hi", "body": { "contentType": "Text", "content": "x" },
        "toRecipients": [{ "emailAddress": { "address": to } }],
    }, "saveToSentItems": false })
}

fn graph_code(answer: &Answer) -> String {
    answer.json()["error"]["code"].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn the_token_endpoint_refuses_like_entra_id_and_issues_bearer_tokens() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.expect("start");
    let client = Client::new(&emulator);
    let config = emulator.config().clone();
    let scope = format!("{}/.default", emulator.origin());

    let wrong = client.token_with(&config.tenant, &fields(&config, &config.client_secret_id, &scope)).await;
    assert_eq!(wrong.status, 401);
    let body = wrong.json();
    assert_eq!((body["error"].as_str(), body["error_codes"][0].as_u64()), (Some("invalid_client"), Some(7000215)));
    let description = body["error_description"].as_str().expect("description");
    assert!(description.starts_with("AADSTS7000215: ") && description.contains("\r\nTrace ID: "), "{description}");
    assert!(body["trace_id"].is_string() && body["correlation_id"].is_string() && body["timestamp"].is_string());

    let code = |answer: Answer| answer.json()["error_codes"][0].as_u64();
    let right = fields(&config, &config.client_secret, &scope);
    assert_eq!(code(client.token_with("fabrikam.onmicrosoft.com", &right).await), Some(90002));
    let mut other_app = right;
    other_app[0].1 = "00000000-0000-0000-0000-000000000000";
    assert_eq!(code(client.token_with(&config.tenant, &other_app).await), Some(700016));
    let mut bare_scope = right;
    bare_scope[1].1 = "Mail.Send";
    assert_eq!(code(client.token_with(&config.tenant, &bare_scope).await), Some(1002012));
    assert_eq!(code(client.token_with(&config.tenant, &right[..3]).await), Some(7000218));

    let granted = client.token_with(&config.tenant_id, &right).await;
    assert_eq!(granted.status, 200);
    let token = granted.json();
    assert_eq!((token["token_type"].as_str(), token["expires_in"].as_u64()), (Some("Bearer"), Some(3599)));
    let stats = emulator.stats();
    assert_eq!((stats.token_requests, stats.tokens_issued), (6, 1));
}

#[tokio::test]
async fn send_mail_checks_the_token_the_mailbox_and_the_message() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.expect("start");
    let client = Client::new(&emulator);
    let config = emulator.config().clone();
    let body = mail("alice@example.com").to_string();

    let anonymous = client.send_mail("", "alerts@contoso.com", body.clone()).await;
    assert_eq!((anonymous.status, graph_code(&anonymous).as_str()), (401, "InvalidAuthenticationToken"));
    let token = client.token(&config).await;

    let accepted = client.send_mail(&token, "alerts%40contoso.com", body.clone()).await;
    assert_eq!((accepted.status, accepted.body.as_str()), (202, ""));
    assert_eq!(emulator.messages()[0].to[0].address, "alice@example.com");

    let unknown = client.send_mail(&token, "nobody@contoso.com", body.clone()).await;
    assert_eq!((unknown.status, graph_code(&unknown).as_str()), (404, "ErrorInvalidUser"));
    let error = unknown.json();
    assert!(error["error"]["innerError"]["request-id"].is_string(), "{error}");
    let disabled = client.send_mail(&token, "onprem@contoso.com", body.clone()).await;
    assert_eq!((disabled.status, graph_code(&disabled).as_str()), (404, "MailboxNotEnabledForRESTAPI"));
    let blocked = client.send_mail(&token, "ceo@contoso.com", body.clone()).await;
    assert_eq!((blocked.status, graph_code(&blocked).as_str()), (403, "ErrorAccessDenied"));

    let bad = client.send_mail(&token, "alerts@contoso.com", mail("not-an-address").to_string()).await;
    assert_eq!((bad.status, graph_code(&bad).as_str()), (400, "ErrorInvalidRecipients"));
    let mut threaded = mail("alice@example.com");
    threaded["message"]["internetMessageHeaders"] = json!([{ "name": "References", "value": "<a@b>" }]);
    let threaded = client.send_mail(&token, "alerts@contoso.com", threaded.to_string()).await;
    assert_eq!((threaded.status, graph_code(&threaded).as_str()), (400, "InvalidInternetMessageHeader"));
    let mut huge = mail("alice@example.com");
    huge["message"]["body"]["content"] = json!("x".repeat(graph_emulator::MAX_REQUEST_BYTES));
    let huge = client.send_mail(&token, "alerts@contoso.com", huge.to_string()).await;
    assert_eq!(huge.status, 413);

    let lookup = |user: &'static str| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let authorization = format!("Bearer {token}");
            client
                .send(Method::GET, &format!("/v1.0/users/{user}?$select=id"), &[("authorization", &authorization)], "")
                .await
        }
    };
    assert_eq!(lookup("alerts@contoso.com").await.json()["id"], json!(graph_emulator::user_id("alerts@contoso.com")));
    assert_eq!(graph_code(&lookup("nobody@contoso.com").await), "Request_ResourceNotFound");
    emulator.set_user_read_all(false);
    let token = client.token(&config).await;
    let authorization = format!("Bearer {token}");
    let denied =
        client.send(Method::GET, "/v1.0/users/alerts@contoso.com", &[("authorization", &authorization)], "").await;
    assert_eq!((denied.status, graph_code(&denied).as_str()), (403, "Authorization_RequestDenied"));

    emulator.expire_tokens();
    let expired = client.send_mail(&token, "alerts@contoso.com", body).await;
    assert_eq!((expired.status, graph_code(&expired).as_str()), (401, "InvalidAuthenticationToken"));
    assert_eq!(emulator.messages().len(), 1);
}

#[tokio::test]
async fn throttling_by_budget_and_concurrency_and_the_fault_script() {
    let tenant = EmulatorConfig { requests_per_window: 6, ..EmulatorConfig::default() };
    let emulator = Emulator::start(tenant).await.expect("start");
    let client = Client::new(&emulator);
    let token = client.token(emulator.config()).await;
    let body = mail("alice@example.com").to_string();

    // Four slow sends at once fill the mailbox's concurrency; a fifth is throttled.
    emulator.script(Fault::Delay(Duration::from_millis(800)), 4);
    let slow: Vec<_> = (0..4)
        .map(|_| {
            let (client, token, body) = (client.clone(), token.clone(), body.clone());
            tokio::spawn(async move { client.send_mail(&token, "alerts@contoso.com", body).await.status })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fifth = client.send_mail(&token, "alerts@contoso.com", body.clone()).await;
    assert_eq!((fifth.status, graph_code(&fifth).as_str()), (429, "ApplicationThrottled"));
    assert_eq!(fifth.header("retry-after"), Some("1"));
    for send in slow {
        assert_eq!(send.await.expect("task"), 202);
    }
    assert_eq!(emulator.stats().max_concurrent, 4);

    // 503, then taken-and-504, then the sixth request of the window, then the budget is spent.
    emulator.script(Fault::Busy { retry_after_secs: 3 }, 1);
    emulator.script(Fault::AcceptThen504, 1);
    let busy = client.send_mail(&token, "alerts@contoso.com", body.clone()).await;
    assert_eq!((busy.status, busy.header("retry-after")), (503, Some("3")));
    let gateway = client.send_mail(&token, "alerts@contoso.com", body.clone()).await;
    assert_eq!(gateway.status, 504);
    assert_eq!(emulator.messages().len(), 5, "the 504 came after the message was taken");
    let spent = client.send_mail(&token, "alerts@contoso.com", body.clone()).await;
    assert_eq!(spent.status, 429);
    let wait: u64 = spent.header("retry-after").expect("retry-after").parse().expect("seconds");
    assert!((590..=600).contains(&wait), "{wait}");
    // Another mailbox has its own budget.
    assert_eq!(client.send_mail(&token, "soc@contoso.com", body).await.status, 202);
}
