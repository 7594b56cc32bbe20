//! SIEM formatter: IBM QRadar Log Event Extended Format (LEEF 2.0), one event per record, by
//! default inside an RFC 5424 syslog header as QRadar's syslog listeners expect.
//!
//! Settings (`[instances.NAME.config]`, all optional): `vendor` (default "MTD Cloud") and
//! `product` (default "Mobile Security Connector") for the LEEF header; `delimiter`, the
//! attribute separator (default tab; one character, or its code as `x5E`/`0x5E`);
//! `syslog_header` (default true; false writes the bare LEEF line, for HTTP collectors);
//! `facility` (default `local0`). The field mapping is in `docs/siem-formats.md`.

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
    pub delimiter: char,
    /// `Some`: each record starts with an RFC 5424 header of this facility.
    pub syslog: Option<Facility>,
}

impl Settings {
    fn load() -> Result<Self, Error> {
        let delimiter = match config::get("delimiter") {
            None => '\t',
            Some(text) => parse_delimiter(&text)
                .map_err(|reason| Error::InvalidConfig(format!("the setting `delimiter` ({text:?}) {reason}")))?,
        };
        Ok(Self {
            vendor: config::text_or("vendor", "MTD Cloud"),
            product: config::text_or("product", "Mobile Security Connector"),
            delimiter,
            syslog: syslog::header_setting()?,
        })
    }
}

/// The attribute delimiter from its setting: one character, or its code in hex after `x` or
/// `0x` (LEEF 2.0's two spellings). It must be ASCII and unable to appear in a key or in the
/// header's own syntax, so a parser can always split on it.
pub fn parse_delimiter(text: &str) -> Result<char, String> {
    let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix('x')).filter(|h| !h.is_empty());
    let c = match hex {
        Some(hex) if hex.len() <= 4 && hex.chars().all(|c| c.is_ascii_hexdigit()) => u32::from_str_radix(hex, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| "is not a character code".to_string())?,
        Some(_) => return Err("must be one character, or its code as 1 to 4 hex digits after x or 0x".into()),
        None => {
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => return Err("must be one character, or its code as x5E or 0x5E".into()),
            }
        }
    };
    if !c.is_ascii() || c == '\0' || c.is_ascii_alphanumeric() || matches!(c, '_' | '|' | '=' | '\\' | '\r' | '\n') {
        return Err("must be an ASCII punctuation, space or control character other than | = \\ _ CR LF NUL".into());
    }
    Ok(c)
}

struct LeefFormatter;

impl Formatter for LeefFormatter {
    fn describe() -> FormatterInfo {
        // Octet counting: values never hold a raw newline, but framing by length also
        // survives a SIEM that splits on one.
        FormatterInfo { format: "LEEF".into(), framing: Framing::OctetCounting, media_type: "text/plain".into() }
    }

    fn format(origin: Origin, events: Vec<Event>) -> Vec<Result<Vec<u8>, Error>> {
        siem::format_each(Settings::load(), &events, |settings, event| record(settings, &origin, event))
    }
}

msc_sdk::export_siem!(LeefFormatter);
