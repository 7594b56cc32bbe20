//! The dashboard: what connectors sent, exactly as stored (tokens), as HTML pages and JSON.
//! `Authorization: Bearer <dashboard token>` (the admin token works too). Personal values appear
//! only as text nodes, never inside attributes, so a restoring proxy in front can find them.

use std::fmt::Write;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde_json::{Map, Value, json};

use crate::reply::{self, Reply, escape, percent_decode, percent_encode};
use crate::server::Shared;
use crate::store::DeviceEntry;

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}\
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}th{background:#eee}";

pub fn handle(shared: &Shared, request: &Request<Incoming>) -> Reply {
    let token = reply::bearer(request.headers());
    if token != Some(shared.config.dashboard_token.as_str()) && token != Some(shared.admin_token.as_str()) {
        let mut answer = reply::error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the dashboard needs Authorization: Bearer <dashboard token>",
        );
        reply::header(&mut answer, "www-authenticate", "Bearer");
        return answer;
    }
    if request.method() != Method::GET {
        return reply::error(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "the dashboard is read-only");
    }
    let path = request.uri().path().trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    match segments.as_slice() {
        ["dashboard"] => devices_page(shared),
        ["dashboard", "events"] => events_page(shared),
        ["dashboard", "devices", instance, id] => match device_key(instance, id) {
            Some((instance, id)) => device_page(shared, &instance, &id),
            None => not_found_page(),
        },
        ["api", "devices"] => {
            let state = shared.lock();
            let list: Vec<Value> = state
                .devices
                .values()
                .map(|e| json!({"instance": e.instance, "device": e.device, "task": e.task, "received_ms": e.received_ms}))
                .collect();
            reply::json_of(StatusCode::OK, &list)
        }
        ["api", "devices", instance, id] => {
            let entry = device_key(instance, id).and_then(|key| shared.lock().devices.get(&key).cloned());
            match entry {
                Some(entry) => reply::json_of(
                    StatusCode::OK,
                    &json!({"instance": entry.instance, "device": entry.device, "apps": entry.apps.unwrap_or_default()}),
                ),
                None => reply::error(StatusCode::NOT_FOUND, "not-found", "no such device"),
            }
        }
        ["api", "apps"] => {
            let state = shared.lock();
            let mut list = Vec::new();
            for entry in state.devices.values() {
                for app in entry.apps.iter().flatten() {
                    let mut row = Map::new();
                    row.insert("instance".to_string(), Value::String(entry.instance.clone()));
                    row.insert("device_id".to_string(), entry.device.get("id").cloned().unwrap_or(Value::Null));
                    if let Value::Object(fields) = app {
                        for (key, value) in fields {
                            row.insert(key.clone(), value.clone());
                        }
                    }
                    list.push(Value::Object(row));
                }
            }
            reply::json_of(StatusCode::OK, &list)
        }
        ["api", "events"] => reply::json_of(StatusCode::OK, &shared.lock().events),
        _ if path.starts_with("/api/") => reply::error(StatusCode::NOT_FOUND, "not-found", "no such API path"),
        _ => not_found_page(),
    }
}

fn device_key(instance: &str, id: &str) -> Option<(String, String)> {
    Some((percent_decode(instance)?, percent_decode(id)?))
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<nav><a href=\"/dashboard\">Devices</a> | <a href=\"/dashboard/events\">Events</a></nav>\n\
         <h1>{}</h1>\n{body}</body>\n</html>\n",
        escape(title),
        escape(title)
    )
}

fn not_found_page() -> Reply {
    reply::html(StatusCode::NOT_FOUND, page("Not found", "<p>No such page.</p>\n"))
}

/// A stored value as cell text: strings as they are, `{"kind","value"}` records by their value,
/// null as nothing, anything else as JSON. Escaped.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => escape(text),
        Some(Value::Object(record)) if record.contains_key("value") && record.contains_key("kind") => {
            cell(record.get("value"))
        }
        Some(other) => escape(&other.to_string()),
    }
}

fn table(out: &mut String, headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    out.push_str("<table>\n<thead><tr>");
    for header in headers {
        let _ = write!(out, "<th>{}</th>", escape(header));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for value in row {
            let _ = write!(out, "<td>{value}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn device_link(entry: &DeviceEntry) -> String {
    let id = entry.device.get("id").and_then(Value::as_str).unwrap_or_default();
    format!(
        "<a href=\"/dashboard/devices/{}/{}\">details</a>",
        escape(&percent_encode(&entry.instance)),
        escape(&percent_encode(id))
    )
}

fn os(device: &Value) -> String {
    let name = cell(device.get("os_name"));
    let version = cell(device.get("os_version"));
    if version.is_empty() { name } else { format!("{name} {version}") }
}

fn devices_page(shared: &Shared) -> Reply {
    let state = shared.lock();
    let mut body = format!("<p>{} devices.</p>\n", state.devices.len());
    let rows = state.devices.values().map(|entry| {
        let d = &entry.device;
        vec![
            escape(&entry.instance),
            cell(d.get("id")),
            cell(d.get("name")),
            cell(d.get("owner")),
            cell(d.get("email")),
            cell(d.get("phone")),
            cell(d.get("platform")),
            cell(d.get("model")),
            os(d),
            time(d.get("last_seen_ms")),
            device_link(entry),
        ]
    });
    table(
        &mut body,
        &["Instance", "Id", "Name", "Owner", "Email", "Phone", "Platform", "Model", "OS", "Last seen", ""],
        rows,
    );
    drop(state);
    reply::html(StatusCode::OK, page("Devices", &body))
}

fn device_page(shared: &Shared, instance: &str, id: &str) -> Reply {
    let Some(entry) = shared.lock().devices.get(&(instance.to_string(), id.to_string())).cloned() else {
        return not_found_page();
    };
    let mut body = String::new();
    let fields = entry.device.as_object().cloned().unwrap_or_default();
    let mut rows = vec![vec!["instance".to_string(), escape(&entry.instance)]];
    for (key, value) in &fields {
        let shown = if key.ends_with("_ms") { time(Some(value)) } else { cell(Some(value)) };
        rows.push(vec![escape(key), shown]);
    }
    table(&mut body, &["Field", "Value"], rows);
    body.push_str("<h2>Apps</h2>\n");
    match &entry.apps {
        None => body.push_str("<p>No apps were synced for this device.</p>\n"),
        Some(apps) => {
            let rows = apps.iter().map(|app| {
                vec![
                    cell(app.get("name")),
                    cell(app.get("identifier")),
                    cell(app.get("version")),
                    cell(app.get("size_bytes")),
                    cell(app.get("managed")),
                ]
            });
            table(&mut body, &["Name", "Identifier", "Version", "Size (bytes)", "Managed"], rows);
        }
    }
    reply::html(StatusCode::OK, page(&format!("Device {id}"), &body))
}

fn events_page(shared: &Shared) -> Reply {
    let events = shared.lock().events.clone();
    let mut body = format!("<p>{} events.</p>\n", events.len());
    let rows = events.iter().map(|event| {
        let device = event.get("device");
        let field = |key: &str| cell(device.and_then(|d| d.get(key)));
        vec![
            time(event.get("time_ms")),
            cell(event.get("id")),
            cell(event.get("event_type")),
            cell(event.get("severity")),
            cell(event.get("name")),
            field("id"),
            field("name"),
            field("owner"),
            field("email"),
            field("phone"),
        ]
    });
    table(
        &mut body,
        &["Time", "Id", "Type", "Severity", "Name", "Device", "Device name", "Owner", "Email", "Phone"],
        rows,
    );
    reply::html(StatusCode::OK, page("Events", &body))
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`; other values as cells.
fn time(value: Option<&Value>) -> String {
    let Some(ms) = value.and_then(Value::as_u64) else { return cell(value) };
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Howard Hinnant's days-to-civil.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc() {
        assert_eq!(time(Some(&json!(0))), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(Some(&json!(1_793_491_200_000u64))), "2026-11-01 00:00:00 UTC");
        assert_eq!(time(Some(&json!("x<"))), "x&lt;");
    }
}
