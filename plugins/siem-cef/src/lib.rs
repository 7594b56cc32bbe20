//! SIEM formatter: ArcSight Common Event Format (CEF rev 25), one event per record, by default
//! inside an RFC 5424 syslog header as ArcSight and QRadar syslog listeners expect.
//!
//! Settings (`[instances.NAME.config]`, all optional): `vendor` (default "MTD Cloud") and
//! `product` (default "Mobile Security Connector") for the CEF header; `syslog_header`
//! (default true; false writes the bare CEF line, for HTTP collectors); `facility` (default
//! `local0`). The field mapping is in `docs/siem-formats.md`.

mod record;
#[cfg(test)]
mod tests;

use msc_sdk::siem::{self, Event, Formatter, FormatterInfo, Framing, Origin};
use msc_sdk::syslog::{self, Facility};
use msc_sdk::{Error, config};

use record::record;

/// The instance's settings, read once per batch.
pub struct Settings {
    pub vendor: String,
    pub product: String,
    /// `Some`: each record starts with an RFC 5424 header of this facility.
    pub syslog: Option<Facility>,
}

impl Settings {
    fn load() -> Result<Self, Error> {
        Ok(Self {
            vendor: config::text_or("vendor", "MTD Cloud"),
            product: config::text_or("product", "Mobile Security Connector"),
            syslog: syslog::header_setting()?,
        })
    }
}

struct CefFormatter;

impl Formatter for CefFormatter {
    fn describe() -> FormatterInfo {
        // Octet counting: extension values never hold a raw newline, but framing by length
        // also survives a SIEM that splits on one.
        FormatterInfo { format: "CEF".into(), framing: Framing::OctetCounting, media_type: "text/plain".into() }
    }

    fn format(origin: Origin, events: Vec<Event>) -> Vec<Result<Vec<u8>, Error>> {
        siem::format_each(Settings::load(), &events, |settings, event| record(settings, &origin, event))
    }
}

msc_sdk::export_siem!(CefFormatter);
