//! The admin API under `/_emulator/`: the fault knobs and read-outs over HTTP, for the binary and
//! manual testing. It has no authentication: it is meant for loopback use only.

use std::str::FromStr;

use hyper::{Method, StatusCode};

use crate::api::Params;
use crate::reply::{self, Reply};
use crate::tenant::Tenant;

const KNOBS: [&str; 6] = ["expire-tokens", "throttle", "fail", "html-login", "lock", "churn"];

/// Answers `method` on `/_emulator/{path}`.
pub fn handle(tenant: &Tenant, method: &Method, path: &str, query: &Params) -> Reply {
    match (method, path) {
        (&Method::POST, knob) if KNOBS.contains(&knob) => match turn(tenant, knob, query) {
            Ok(()) => reply::json(StatusCode::OK, r#"{"ok":true}"#),
            Err(message) => reply::json(StatusCode::BAD_REQUEST, serde_json::json!({ "error": message }).to_string()),
        },
        (&Method::GET, "stats") => reply::json_of(StatusCode::OK, &tenant.stats()),
        (&Method::GET, path) if path.starts_with("devices/") => match tenant.device(&path["devices/".len()..]) {
            Some(device) => reply::json_of(StatusCode::OK, &device),
            None => reply::not_found("Device not found"),
        },
        (_, path) if KNOBS.contains(&path) || path == "stats" || path.starts_with("devices/") => {
            reply::error_page(StatusCode::METHOD_NOT_ALLOWED)
        }
        _ => reply::error_page(StatusCode::NOT_FOUND),
    }
}

/// Turns one knob with the query's parameters.
fn turn(tenant: &Tenant, knob: &str, query: &Params) -> Result<(), String> {
    match knob {
        "expire-tokens" => tenant.expire_tokens(),
        "throttle" => tenant.throttle(required(query, "requests")?, optional(query, "retry_after", 1)?),
        "fail" => {
            let status: u16 = optional(query, "status", 503)?;
            if !(400..=599).contains(&status) {
                return Err("status must be 400-599".to_string());
            }
            tenant.fail(required(query, "requests")?, status);
        }
        "html-login" => tenant.html_login(required(query, "requests")?),
        "lock" => tenant.lock_account(required(query, "locked")?),
        _ => tenant.churn(optional(query, "after", 0)?, optional(query, "insert", 0)?, optional(query, "remove", 0)?),
    }
    Ok(())
}

fn required<T: FromStr>(query: &Params, name: &str) -> Result<T, String> {
    let value = query.non_empty(name).ok_or_else(|| format!("missing parameter {name}"))?;
    value.parse().map_err(|_| format!("invalid parameter {name}"))
}

fn optional<T: FromStr>(query: &Params, name: &str, default: T) -> Result<T, String> {
    match query.non_empty(name) {
        None => Ok(default),
        Some(_) => required(query, name),
    }
}
