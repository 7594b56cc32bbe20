//! The relay API, `/relay/v1/` (docs/relay-protocol.md): faults → version → body → auth →
//! endpoint. Every non-2xx answer is `{"error","message"}`; 400s are counted.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde_json::{Map, Value, json};

use crate::reply::{self, Reply};
use crate::server::{Shared, read_body};
use crate::store::{RegisterError, Registration, ResultItem};

/// What a garbled poll answers: 200, `application/json`, not JSON.
const GARBLED: &str = "{\"tasks\": [{\"id\": \"t-garbled\", \"kind\": \"uem.se\u{0}";

const ENDPOINTS: [&str; 8] =
    ["register", "poll", "heartbeat", "results", "outcomes", "inventory", "release", "session"];

pub async fn handle(shared: &Arc<Shared>, request: Request<Incoming>) -> Reply {
    let reply = serve(shared, request).await;
    if reply.status() == StatusCode::BAD_REQUEST {
        shared.lock().stats.bad_requests += 1;
    }
    reply
}

async fn serve(shared: &Arc<Shared>, request: Request<Incoming>) -> Reply {
    if let Some(status) = take_failure(shared) {
        return failure(status);
    }
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let Some(endpoint) = path.strip_prefix("/relay/v1/") else {
        let version = path.strip_prefix("/relay/v").and_then(|rest| rest.split('/').next()).unwrap_or_default();
        if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) {
            return unsupported(&format!("this relay does not serve /relay/v{version}/"));
        }
        return reply::error(StatusCode::NOT_FOUND, "not-found", &format!("no relay endpoint {path}"));
    };
    let endpoint = endpoint.to_string();
    match parts.headers.get("msc-relay-protocol").map(|v| v.to_str().unwrap_or("?")) {
        Some("1") => {}
        Some(other) => return unsupported(&format!("Msc-Relay-Protocol {other:?} is not supported")),
        None => return unsupported("the Msc-Relay-Protocol header is missing"),
    }
    if !ENDPOINTS.contains(&endpoint.as_str()) {
        return reply::error(StatusCode::NOT_FOUND, "not-found", &format!("no relay endpoint {path}"));
    }
    let expected = if endpoint == "session" { Method::DELETE } else { Method::POST };
    if parts.method != expected {
        let mut answer = reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            &format!("{path} takes {expected}, not {}", parts.method),
        );
        reply::header(&mut answer, "allow", expected);
        return answer;
    }
    let body = match read_body(&parts.headers, body).await {
        Ok(body) => body,
        Err(error) => return error.reply(),
    };
    let Some(bearer) = reply::bearer(&parts.headers).map(str::to_string) else {
        return unauthorized("the Authorization: Bearer header is missing");
    };
    if endpoint == "register" {
        return register(shared, &bearer, &body);
    }
    let Some((session, group)) = shared.lock().authenticate(&bearer) else {
        return unauthorized("unknown session (the relay restarted or declared it dead): register again");
    };
    if endpoint == "session" {
        let woken = shared.lock().end_session(session);
        shared.wake_groups(woken);
        return reply::json(StatusCode::OK, "{}");
    }
    let object = match parse_object(&body) {
        Ok(object) => object,
        Err(message) => return bad_request(&message),
    };
    match endpoint.as_str() {
        "poll" => poll(shared, session, group, &object).await,
        "heartbeat" => heartbeat(shared, session, &object),
        "results" => results(shared, session, object),
        "outcomes" => outcomes(shared, session, object),
        "inventory" => inventory(shared, object),
        _ => release(shared, session, &object),
    }
}

fn take_failure(shared: &Shared) -> Option<u16> {
    let mut faults = shared.faults();
    if faults.fail_requests == 0 {
        return None;
    }
    faults.fail_requests -= 1;
    Some(faults.fail_status)
}

fn failure(status: u16) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let code = match status.as_u16() {
        400 => "bad-request",
        401 => "unauthorized",
        413 => "too-large",
        429 => "rate-limited",
        503 => "unavailable",
        _ => "internal",
    };
    let mut answer = reply::error(status, code, "injected fault");
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        reply::header(&mut answer, "retry-after", 1);
    }
    answer
}

fn unsupported(message: &str) -> Reply {
    reply::json_of(
        StatusCode::UPGRADE_REQUIRED,
        &json!({"error": "unsupported-protocol", "message": message, "supported": [1]}),
    )
}

fn unauthorized(message: &str) -> Reply {
    let mut answer = reply::error(StatusCode::UNAUTHORIZED, "unauthorized", message);
    reply::header(&mut answer, "www-authenticate", "Bearer");
    answer
}

fn bad_request(message: &str) -> Reply {
    reply::error(StatusCode::BAD_REQUEST, "bad-request", message)
}

// ----- parsing -----

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err("the body must be a JSON object".to_string()),
        Err(error) => Err(format!("the body is not JSON: {error}")),
    }
}

fn field<'a>(object: &'a Map<String, Value>, at: &str, key: &str) -> Result<&'a Value, String> {
    object.get(key).ok_or_else(|| format!("`{at}{key}` is missing"))
}

fn text<'a>(object: &'a Map<String, Value>, at: &str, key: &str) -> Result<&'a str, String> {
    field(object, at, key)?.as_str().ok_or_else(|| format!("`{at}{key}` must be a string"))
}

fn number(object: &Map<String, Value>, at: &str, key: &str) -> Result<u64, String> {
    field(object, at, key)?.as_u64().ok_or_else(|| format!("`{at}{key}` must be a non-negative integer"))
}

fn optional_number(object: &Map<String, Value>, at: &str, key: &str) -> Result<Option<u64>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => number(object, at, key).map(Some),
    }
}

fn array<'a>(object: &'a Map<String, Value>, at: &str, key: &str) -> Result<&'a Vec<Value>, String> {
    field(object, at, key)?.as_array().ok_or_else(|| format!("`{at}{key}` must be an array"))
}

fn nested<'a>(object: &'a Map<String, Value>, at: &str, key: &str) -> Result<&'a Map<String, Value>, String> {
    field(object, at, key)?.as_object().ok_or_else(|| format!("`{at}{key}` must be an object"))
}

fn strings(object: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    array(object, "", key)?
        .iter()
        .enumerate()
        .map(|(i, v)| v.as_str().map(str::to_string).ok_or_else(|| format!("`{key}[{i}]` must be a string")))
        .collect()
}

// ----- endpoints -----

fn register(shared: &Shared, enrollment: &str, body: &[u8]) -> Reply {
    let parsed = parse_object(body).and_then(|object| parse_registration(&object));
    let (protocol, registration) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => return bad_request(&message),
    };
    if protocol != 1 {
        return unsupported(&format!("protocol {protocol} is not supported"));
    }
    let name = registration.name.clone();
    let registered = shared.lock().register(enrollment, registration);
    match registered {
        Ok(registered) => {
            tracing::info!(connector = name, id = registered.connector_id, group = registered.group, "registered");
            let config = &shared.config;
            reply::json_of(
                StatusCode::OK,
                &json!({
                    "session": registered.session,
                    "connector_id": registered.connector_id,
                    "group": registered.group,
                    "heartbeat_ms": config.heartbeat_ms,
                    "session_timeout_ms": config.session_timeout_ms,
                    "poll_wait_ms": config.poll_wait_ms,
                    "max_batch": config.max_batch,
                }),
            )
        }
        Err(RegisterError::UnknownToken) => unauthorized("the enrollment token is not known"),
        Err(RegisterError::KeyringMismatch { group, fixed, offered }) => reply::error(
            StatusCode::CONFLICT,
            "keyring-mismatch",
            &format!(
                "keyring fingerprint {offered} differs from {fixed}, the fingerprint group {group} was registered \
                 with: every connector of a group must share one PII keyring"
            ),
        ),
    }
}

fn parse_registration(object: &Map<String, Value>) -> Result<(u64, Registration), String> {
    {
        let protocol = number(object, "", "protocol")?;
        let connector = nested(object, "", "connector")?;
        let registration = Registration {
            name: text(connector, "connector.", "name")?.to_string(),
            version: text(connector, "connector.", "version")?.to_string(),
            run: text(connector, "connector.", "run")?.to_string(),
            keyring: text(object, "", "keyring")?.to_string(),
            capacity: number(object, "", "capacity")?,
        };
        for (i, instance) in array(object, "", "instances")?.iter().enumerate() {
            let at = format!("instances[{i}].");
            let instance = instance.as_object().ok_or_else(|| format!("`instances[{i}]` must be an object"))?;
            text(instance, &at, "name")?;
            text(instance, &at, "kind")?;
        }
        if registration.keyring.is_empty() {
            return Err("`keyring` must not be empty".to_string());
        }
        Ok((protocol, registration))
    }
}

async fn poll(shared: &Arc<Shared>, session: u64, group: usize, object: &Map<String, Value>) -> Reply {
    let (credit, wait_ms) = match parse_poll(object) {
        Ok(parsed) => parsed,
        Err(message) => return bad_request(&message),
    };
    shared.lock().stats.polls += 1;
    {
        let mut faults = shared.faults();
        if faults.garble_polls > 0 {
            faults.garble_polls -= 1;
            return reply::json(StatusCode::OK, GARBLED);
        }
    }
    let count = usize::try_from(credit).unwrap_or(usize::MAX).min(shared.config.max_batch).max(1);
    let wait = Duration::from_millis(wait_ms.unwrap_or(shared.config.poll_wait_ms).min(shared.config.poll_wait_ms));
    let deadline = tokio::time::Instant::now() + wait;
    let Some(wake) = shared.wake.get(group) else { return unauthorized("unknown group") };
    loop {
        let mut notified = pin!(wake.notified());
        notified.as_mut().enable();
        let timed_out = {
            let mut state = shared.lock();
            let Some(frames) = state.take(session, count) else {
                return unauthorized("the session died while its poll waited: register again");
            };
            if !frames.is_empty() {
                return tasks_reply(&frames);
            }
            tokio::time::Instant::now() >= deadline
        };
        if timed_out {
            return tasks_reply(&[]);
        }
        let _ = tokio::time::timeout_at(deadline, notified).await;
    }
}

fn parse_poll(object: &Map<String, Value>) -> Result<(u64, Option<u64>), String> {
    let credit = number(object, "", "credit")?;
    if credit == 0 {
        return Err("`credit` must be at least 1 (a connector without free capacity does not poll)".to_string());
    }
    Ok((credit, optional_number(object, "", "wait_ms")?))
}

fn tasks_reply(frames: &[String]) -> Reply {
    let mut body = String::with_capacity(12 + frames.iter().map(|f| f.len() + 1).sum::<usize>());
    body.push_str("{\"tasks\":[");
    for (i, frame) in frames.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(frame);
    }
    body.push_str("]}");
    reply::json(StatusCode::OK, body)
}

fn heartbeat(shared: &Shared, session: u64, object: &Map<String, Value>) -> Reply {
    let in_flight = match strings(object, "in_flight") {
        Ok(ids) => ids,
        Err(message) => return bad_request(&message),
    };
    let (cancel, requeued) = shared.lock().heartbeat(session, &in_flight);
    shared.wake_groups(requeued);
    reply::json_of(StatusCode::OK, &json!({ "cancel": cancel }))
}

fn release(shared: &Shared, session: u64, object: &Map<String, Value>) -> Reply {
    let ids = match strings(object, "tasks") {
        Ok(ids) => ids,
        Err(message) => return bad_request(&message),
    };
    let (released, group) = shared.lock().release(session, &ids);
    shared.wake_groups(group);
    reply::json_of(StatusCode::OK, &json!({ "released": released }))
}

/// The items of a `results` or `outcomes` request (`key`), which have the same shape.
fn parse_results(
    mut object: Map<String, Value>,
    key: &str,
    max_batch: usize,
) -> Result<Vec<ResultItem>, (StatusCode, String)> {
    let bad = |message: String| (StatusCode::BAD_REQUEST, message);
    array(&object, "", key).map_err(bad)?;
    let Some(Value::Array(items)) = object.remove(key) else { unreachable!("checked: an array") };
    if items.len() > max_batch {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{} {key} in one request; at most max_batch = {max_batch}", items.len()),
        ));
    }
    let mut parsed = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("{key}[{i}].");
        let Value::Object(mut item) = item else { return Err(bad(format!("`{key}[{i}]` must be an object"))) };
        let task = text(&item, &at, "task").map_err(bad)?.to_string();
        let attempt = number(&item, &at, "attempt").map_err(bad)?;
        let status = text(&item, &at, "status").map_err(bad)?.to_string();
        let (result, error) = match status.as_str() {
            "ok" => {
                field(&item, &at, "result").map_err(bad)?;
                (item.remove("result"), None)
            }
            "error" => {
                let error = nested(&item, &at, "error").map_err(bad)?;
                let at = format!("{at}error.");
                text(error, &at, "code").map_err(bad)?;
                text(error, &at, "message").map_err(bad)?;
                if let Some(retryable) = error.get("retryable")
                    && !retryable.is_boolean()
                {
                    return Err(bad(format!("`{at}retryable` must be a boolean")));
                }
                (None, item.remove("error"))
            }
            other => return Err(bad(format!("`{at}status` must be \"ok\" or \"error\", not {other:?}"))),
        };
        parsed.push(ResultItem { task, attempt: Some(attempt), status, result, error });
    }
    Ok(parsed)
}

fn results(shared: &Shared, session: u64, object: Map<String, Value>) -> Reply {
    let items = match parse_results(object, "results", shared.config.max_batch) {
        Ok(items) => items,
        Err((status, message)) => return refused_items(status, &message),
    };
    let answer = shared.lock().results(session, items);
    if !answer.accepted.is_empty() {
        shared.completed.notify_waiters();
    }
    reply::json_of(StatusCode::OK, &answer)
}

/// Later outcomes of completed tasks (a queued mail delivered or refused).
fn outcomes(shared: &Shared, session: u64, object: Map<String, Value>) -> Reply {
    let items = match parse_results(object, "outcomes", shared.config.max_batch) {
        Ok(items) => items,
        Err((status, message)) => return refused_items(status, &message),
    };
    let answer = shared.lock().outcomes(session, items);
    reply::json_of(StatusCode::OK, &answer)
}

fn refused_items(status: StatusCode, message: &str) -> Reply {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return reply::error(StatusCode::PAYLOAD_TOO_LARGE, "too-large", message);
    }
    bad_request(message)
}

fn inventory(shared: &Shared, mut object: Map<String, Value>) -> Reply {
    let parsed = parse_inventory(&object);
    let (task, attempt, instance, seq) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => return bad_request(&message),
    };
    let devices = match object.remove("devices") {
        Some(Value::Array(devices)) => devices,
        _ => Vec::new(),
    };
    let stored = shared.lock().inventory(&task, attempt, &instance, seq, devices);
    reply::json_of(StatusCode::OK, &json!({ "stored": stored }))
}

fn parse_inventory(object: &Map<String, Value>) -> Result<(String, u64, String, u64), String> {
    {
        let task = text(object, "", "task")?.to_string();
        let attempt = match object.get("attempt") {
            None => 1,
            Some(_) => number(object, "", "attempt")?,
        };
        let instance = text(object, "", "instance")?.to_string();
        let seq = number(object, "", "seq")?;
        let devices = array(object, "", "devices")?;
        for (i, line) in devices.iter().enumerate() {
            let at = format!("devices[{i}].");
            let line = line.as_object().ok_or_else(|| format!("`devices[{i}]` must be an object"))?;
            if line.get("instance").is_some_and(|v| !v.is_string()) {
                return Err(format!("`{at}instance` must be a string"));
            }
            let device = nested(line, &at, "device")?;
            text(device, &format!("{at}device."), "id")?;
            if line.get("apps").is_some_and(|v| !v.is_array() && !v.is_null()) {
                return Err(format!("`{at}apps` must be an array"));
            }
        }
        Ok((task, attempt, instance, seq))
    }
}
