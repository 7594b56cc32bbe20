//! The dashboard's HTML pages. Stored values appear only as escaped text nodes; the one
//! attribute holding what a user typed is the search box's value.

use std::fmt::Write;

use hyper::StatusCode;
use serde_json::Value;

use super::Filter;
use super::encoding::View;
use crate::reply::{self, Reply, escape, percent_encode};
use crate::server::Shared;
use crate::store::DeviceEntry;

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}\
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}th{background:#eee}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<nav><a href=\"/dashboard\">Devices</a> | <a href=\"/dashboard/events\">Events</a></nav>\n\
         <h1>{}</h1>\n{body}</body>\n</html>\n",
        escape(title),
        escape(title)
    )
}

/// An HTML page; its view name goes into the `dash_view` cookie.
fn html(view: &'static str, status: StatusCode, title: &str, body: &str) -> Reply {
    let mut reply = reply::html(status, page(title, body));
    reply.extensions_mut().insert(View(view));
    reply
}

pub fn not_found() -> Reply {
    html("not-found", StatusCode::NOT_FOUND, "Not found", "<p>No such page.</p>\n")
}

pub fn error_page(status: StatusCode, title: &str, message: &str) -> Reply {
    html("error", status, title, &format!("<p>{}</p>\n", escape(message)))
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

/// `/dashboard/devices/{instance}/{id}`, segments percent-encoded.
fn device_path(instance: &str, id: &str) -> String {
    format!("/dashboard/devices/{}/{}", percent_encode(instance), percent_encode(id))
}

fn device_link(entry: &DeviceEntry) -> String {
    let id = entry.device.get("id").and_then(Value::as_str).unwrap_or_default();
    format!("<a href=\"{}\">details</a>", escape(&device_path(&entry.instance, id)))
}

fn os(device: &Value) -> String {
    let name = cell(device.get("os_name"));
    let version = cell(device.get("os_version"));
    if version.is_empty() { name } else { format!("{name} {version}") }
}

pub fn devices(shared: &Shared, filter: &Filter) -> Reply {
    let state = shared.lock();
    let q = filter.q.as_deref().unwrap_or_default();
    let mut body = format!(
        "<form method=\"get\" action=\"/dashboard\"><input name=\"q\" type=\"search\" value=\"{}\">\
         <button>Search</button></form>\n",
        escape(q)
    );
    if filter.q.is_some() {
        let _ = writeln!(body, "<p>Results for {}</p>", escape(q));
    }
    let selected = filter.select(state.devices.values());
    let _ = writeln!(body, "<p>{} devices.</p>", selected.len());
    let rows = selected.into_iter().map(|entry| {
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
    html("devices", StatusCode::OK, "Devices", &body)
}

pub fn device(shared: &Shared, instance: &str, id: &str) -> Reply {
    let Some(entry) = shared.lock().devices.get(&(instance.to_string(), id.to_string())).cloned() else {
        return not_found();
    };
    let mut body = format!(
        "<p>Label: <span id=\"label\">{}</span></p>\n<form method=\"post\" action=\"{}/label\">\
         <input name=\"label\"><button>Set label</button></form>\n",
        escape(entry.label.as_deref().unwrap_or_default()),
        escape(&device_path(instance, id))
    );
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
    html("device", StatusCode::OK, &format!("Device {id}"), &body)
}

pub fn events(shared: &Shared) -> Reply {
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
    html("events", StatusCode::OK, "Events", &body)
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
    use serde_json::json;

    use super::*;

    #[test]
    fn times_are_utc() {
        assert_eq!(time(Some(&json!(0))), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(Some(&json!(1_793_491_200_000u64))), "2026-11-01 00:00:00 UTC");
        assert_eq!(time(Some(&json!("x<"))), "x&lt;");
    }
}
