//! SIEM formatter: RFC 5424 syslog messages. The header carries the event's time, severity and
//! type; one structured-data element carries every field; the message is a human summary.
//!
//! Settings (`[instances.NAME.config]`, all optional): `facility` (default `local0`) and
//! `sd_id`, the structured-data element's id (default `mtd@32473`; 32473 is the example
//! enterprise number of RFC 5612, so sites with their own number set theirs). The field mapping
//! is in `docs/siem-formats.md`.

mod record;
#[cfg(test)]
mod tests;

use msc_sdk::siem::{self, Event, Formatter, FormatterInfo, Framing, Origin};
use msc_sdk::syslog::Facility;
use msc_sdk::{Error, config};

use record::record;

pub const DEFAULT_SD_ID: &str = "mtd@32473";

/// The instance's settings, read once per batch.
pub struct Settings {
    pub facility: Facility,
    pub sd_id: String,
}

impl Settings {
    fn load() -> Result<Self, Error> {
        let sd_id = match config::get("sd_id") {
            None => DEFAULT_SD_ID.to_string(),
            Some(text) => {
                let text = text.trim().to_string();
                check_sd_id(&text)
                    .map_err(|reason| Error::InvalidConfig(format!("the setting `sd_id` ({text:?}) {reason}")))?;
                text
            }
        };
        Ok(Self { facility: Facility::setting("facility")?, sd_id })
    }
}

/// Why `id` cannot be a private SD-ID (RFC 5424 §6.3.2, §7.2.2): `name@number`, at most 32
/// printable US-ASCII characters other than `=`, space, `]` and `"`, the number an enterprise
/// number (digits, optionally dotted). Ids without `@` are reserved for IANA.
pub fn check_sd_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 32 || !id.chars().all(is_sd_name_char) {
        return Err("must be 1 to 32 printable ASCII characters other than = ] \" and space".into());
    }
    let Some((name, number)) = id.split_once('@') else {
        return Err("must be name@enterprise-number, such as mtd@32473: ids without @ are reserved for IANA".into());
    };
    let number_ok = number.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    if name.is_empty() || !number_ok {
        return Err("must be name@enterprise-number, such as mtd@32473".into());
    }
    Ok(())
}

/// A character an SD-NAME (an SD-ID or a PARAM-NAME) may hold.
pub fn is_sd_name_char(c: char) -> bool {
    c.is_ascii_graphic() && !matches!(c, '=' | ']' | '"')
}

struct Rfc5424Formatter;

impl Formatter for Rfc5424Formatter {
    fn describe() -> FormatterInfo {
        // Octet counting: structured-data values and the message keep their line breaks.
        FormatterInfo { format: "RFC 5424".into(), framing: Framing::OctetCounting, media_type: "text/plain".into() }
    }

    fn format(origin: Origin, events: Vec<Event>) -> Vec<Result<Vec<u8>, Error>> {
        siem::format_each(Settings::load(), &events, |settings, event| record(settings, &origin, event))
    }
}

msc_sdk::export_siem!(Rfc5424Formatter);
