//! The admin API under `/admin/` (`Authorization: Bearer <admin token>`): the same operations as
//! the [`crate::Emulator`] methods, over HTTP, for the binary and scripts.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::TaskSpec;
use crate::reply::{self, Reply, percent_decode, query_param};
use crate::server::{Shared, read_body};

/// `POST /admin/faults`: any combination.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    #[serde(default)]
    drop_connections: bool,
    /// Restart the relay, listening again after this many milliseconds.
    restart_ms: Option<u64>,
    garble_polls: Option<u32>,
    fail_requests: Option<u32>,
    /// Status of `fail_requests` (default 503).
    fail_status: Option<u16>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NeedleRequest {
    needles: Vec<String>,
}

pub async fn handle(shared: &Arc<Shared>, request: Request<Incoming>) -> Reply {
    let (parts, body) = request.into_parts();
    if reply::bearer(&parts.headers) != Some(shared.admin_token.as_str()) {
        let mut answer = reply::error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the admin API needs Authorization: Bearer <admin token>",
        );
        reply::header(&mut answer, "www-authenticate", "Bearer");
        return answer;
    }
    let body = match read_body(&parts.headers, body).await {
        Ok(body) => body,
        Err(error) => return error.reply(),
    };
    let path = parts.uri.path().trim_end_matches('/');
    let query = parts.uri.query().unwrap_or_default();
    let method = &parts.method;
    match (method, path) {
        (&Method::POST, "/admin/tasks") => enqueue(shared, &body),
        (&Method::GET, "/admin/tasks") => {
            let state = query_param(query, "state");
            if let Some(state) = &state
                && !["queued", "leased", "completed"].contains(&state.as_str())
            {
                return bad_request("state must be queued, leased or completed");
            }
            reply::json_of(StatusCode::OK, &shared.lock().tasks(state.as_deref()))
        }
        (&Method::GET, path) if path.starts_with("/admin/tasks/") => {
            let id = percent_decode(&path["/admin/tasks/".len()..]).unwrap_or_default();
            match shared.lock().task(&id) {
                Some(view) => reply::json_of(StatusCode::OK, &view),
                None => reply::error(StatusCode::NOT_FOUND, "not-found", "no task with that id"),
            }
        }
        (&Method::POST, "/admin/raw-tasks") => {
            let frame = match serde_json::from_slice::<Value>(&body) {
                Ok(frame) => frame,
                Err(error) => return bad_request(&format!("the body is not JSON: {error}")),
            };
            match shared.enqueue_raw(query_param(query, "group").as_deref(), frame) {
                Ok(id) => reply::json_of(StatusCode::OK, &json!({ "id": id })),
                Err(message) => bad_request(&message),
            }
        }
        (&Method::GET, "/admin/results") => reply::json_of(StatusCode::OK, &shared.lock().completed()),
        (&Method::GET, "/admin/stats") => reply::json_of(StatusCode::OK, &shared.lock().stats()),
        (&Method::GET, "/admin/sessions") => reply::json_of(StatusCode::OK, &shared.lock().sessions()),
        (&Method::GET, "/admin/pii-violations") => reply::json_of(StatusCode::OK, &shared.lock().violations),
        (&Method::GET, "/admin/dashboard-requests") => reply::json_of(StatusCode::OK, &shared.dashboard_requests()),
        (&Method::POST, "/admin/find-plaintext") => match serde_json::from_slice::<NeedleRequest>(&body) {
            Ok(request) => {
                reply::json_of(StatusCode::OK, &json!({ "found": shared.lock().find_plaintext(&request.needles) }))
            }
            Err(error) => bad_request(&format!("expected {{\"needles\": [strings]}}: {error}")),
        },
        (&Method::POST, "/admin/faults") => faults(shared, &body),
        (_, "/admin/tasks" | "/admin/raw-tasks" | "/admin/results" | "/admin/stats" | "/admin/sessions")
        | (_, "/admin/pii-violations" | "/admin/find-plaintext" | "/admin/faults" | "/admin/dashboard-requests") => {
            reply::error(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", &format!("not with {method}"))
        }
        _ => reply::error(StatusCode::NOT_FOUND, "not-found", "no such admin endpoint"),
    }
}

fn bad_request(message: &str) -> Reply {
    reply::error(StatusCode::BAD_REQUEST, "bad-request", message)
}

fn enqueue(shared: &Shared, body: &[u8]) -> Reply {
    let specs = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| serde_json::from_value::<TaskSpec>(item).map_err(|e| format!("[{i}]: {e}")))
            .collect::<Result<Vec<_>, _>>(),
        Ok(item) => serde_json::from_value::<TaskSpec>(item).map(|spec| vec![spec]).map_err(|e| e.to_string()),
        Err(error) => Err(format!("the body is not JSON: {error}")),
    };
    let specs = match specs {
        Ok(specs) => specs,
        Err(message) => {
            return bad_request(&format!(
                "expected a task {{\"kind\",\"instance\"?,\"payload\"?,\"deadline_ms\"?,\"group\"?}} or an array of them: {message}"
            ));
        }
    };
    match shared.enqueue(specs) {
        Ok(ids) => reply::json_of(StatusCode::OK, &json!({ "ids": ids })),
        Err(message) => bad_request(&message),
    }
}

fn faults(shared: &Arc<Shared>, body: &[u8]) -> Reply {
    let request = match serde_json::from_slice::<FaultRequest>(body) {
        Ok(request) => request,
        Err(error) => {
            return bad_request(&format!(
                "expected {{\"drop_connections\"?, \"restart_ms\"?, \"garble_polls\"?, \"fail_requests\"?, \"fail_status\"?}}: {error}"
            ));
        }
    };
    if let Some(status) = request.fail_status
        && !(400..=599).contains(&status)
    {
        return bad_request("fail_status must be 400-599");
    }
    {
        let mut faults = shared.faults();
        if let Some(n) = request.garble_polls {
            faults.garble_polls = n;
        }
        if let Some(n) = request.fail_requests {
            faults.fail_requests = n;
            faults.fail_status = request.fail_status.unwrap_or(503);
        }
    }
    if request.drop_connections && request.restart_ms.is_none() {
        // After this answer is on its way.
        let shared = shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            shared.drop_connections();
        });
    }
    if let Some(pause) = request.restart_ms {
        let shared = shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if let Err(error) = shared.restart(Duration::from_millis(pause)).await {
                tracing::error!(%error, "the relay could not listen again");
            }
        });
    }
    reply::json(StatusCode::OK, r#"{"ok":true}"#)
}
