//! Syslog headers (RFC 5424) for SIEM formatters: the priority from a facility and a severity,
//! the timestamp, and header fields cut to what the RFC allows. Formatters that write a whole
//! syslog message (RFC 5424 itself, or CEF and LEEF inside one) share this so every plugin
//! writes the same header.
//!
//! ```
//! use msc_sdk::syslog::{self, Facility, Header, Severity};
//!
//! let header = syslog::rfc5424_header(&Header {
//!     facility: Facility::LOCAL0,
//!     severity: Severity::Error,
//!     time_ms: 1_700_000_000_123,
//!     hostname: "connector-1",
//!     app_name: "msc",
//!     proc_id: None,
//!     msg_id: Some("Threat detected"),
//! });
//! assert_eq!(header, "<131>1 2023-11-14T22:13:20.123Z connector-1 msc - Threat_detected");
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Error, config, siem};

/// RFC 5424 §6.2.1 severities, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // the RFC's names say it all
pub enum Severity {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Informational = 6,
    Debug = 7,
}

impl Severity {
    /// The numeric code (0 to 7) that goes into the priority value.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<siem::Severity> for Severity {
    /// The mapping every formatter uses: critical → crit, high → err, medium → warning,
    /// low → notice, info → info. Nothing maps to emerg or alert, which mean the sender itself
    /// is unusable.
    fn from(severity: siem::Severity) -> Self {
        match severity {
            siem::Severity::Critical => Severity::Critical,
            siem::Severity::High => Severity::Error,
            siem::Severity::Medium => Severity::Warning,
            siem::Severity::Low => Severity::Notice,
            siem::Severity::Info => Severity::Informational,
        }
    }
}

/// A syslog facility, 0 to 23 (RFC 5424 §6.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facility(u8);

/// Names accepted for facilities, as syslog daemons spell them.
const FACILITY_NAMES: [(&str, u8); 24] = [
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("ntp", 12),
    ("audit", 13),
    ("alert", 14),
    ("clock", 15),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

impl Facility {
    /// `local0` (16): the default of every formatter, since it is the facility kept for
    /// site-defined senders and no operating system service uses it.
    pub const LOCAL0: Facility = Facility(16);

    /// The facility with this code, if it is one (0 to 23).
    pub fn new(code: u8) -> Option<Self> {
        (code <= 23).then_some(Facility(code))
    }

    /// A facility from its name (`local0`, `auth`, ...) or its code (`16`).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Ok(code) = text.parse::<u8>() {
            return Self::new(code);
        }
        FACILITY_NAMES.iter().find(|(name, _)| name.eq_ignore_ascii_case(text)).map(|&(_, code)| Facility(code))
    }

    /// The facility the instance's setting `key` names, [`Facility::LOCAL0`] when it is absent.
    pub fn setting(key: &str) -> Result<Self, Error> {
        let Some(text) = config::get(key) else {
            return Ok(Self::LOCAL0);
        };
        Self::parse(&text).ok_or_else(|| {
            Error::InvalidConfig(format!(
                "the setting `{key}` must be a syslog facility: a number from 0 to 23 or a name such as local0 or auth (got `{}`)",
                text.trim()
            ))
        })
    }

    /// The numeric code (0 to 23) that goes into the priority value.
    pub fn code(self) -> u8 {
        self.0
    }
}

/// What goes into an RFC 5424 header. Text fields may hold anything: [`rfc5424_header`] makes
/// them valid.
#[derive(Clone, Copy, Debug)]
pub struct Header<'a> {
    /// Which part of the system the message is from (`local0` …).
    pub facility: Facility,
    /// How severe the message is.
    pub severity: Severity,
    /// The event's time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The HOSTNAME field: who sends the message.
    pub hostname: &'a str,
    /// The APP-NAME field.
    pub app_name: &'a str,
    /// `None` writes the nil value `-`.
    pub proc_id: Option<&'a str>,
    /// `None` writes the nil value `-`.
    pub msg_id: Option<&'a str>,
}

impl<'a> Header<'a> {
    /// The header every formatter writes for an event: its severity and time, the connector's
    /// host and app name, no proc id, and the event's type as the msg id. [`wrap`] shows it.
    pub fn for_event(facility: Facility, origin: &'a siem::Origin, event: &'a siem::Event) -> Self {
        Header {
            facility,
            severity: event.severity.into(),
            time_ms: event.time_ms,
            hostname: &origin.hostname,
            app_name: &origin.app_name,
            proc_id: None,
            msg_id: Some(&event.event_type),
        }
    }
}

/// Whether a formatter that may write bare lines starts each with a syslog header, and with
/// which facility: the settings `syslog_header` (default true) and `facility` (default
/// [`Facility::LOCAL0`]). `None` when `syslog_header` is false.
pub fn header_setting() -> Result<Option<Facility>, Error> {
    let syslog_header = config::parse::<bool>("syslog_header")?.unwrap_or(true);
    if syslog_header { Facility::setting("facility").map(Some) } else { Ok(None) }
}

/// `line` as the whole message of an RFC 5424 message for `event` when there is a `facility`
/// ([`Header::for_event`], then `-` for no structured data, then the line), or `line` alone
/// when there is none. No BOM before the line: CEF and LEEF parsers look for `CEF:` or `LEEF:`
/// at the start of the message.
///
/// ```
/// use msc_sdk::syslog::{self, Facility};
/// # use msc_sdk::siem::{Event, Origin, Severity};
/// # let origin = Origin { hostname: "connector-1".into(), app_name: "msc".into() };
/// # let event = Event {
/// #     id: "e-1".into(), event_type: "Threat detected".into(), time_ms: 1_700_000_000_123,
/// #     client_time_ms: None, severity: Severity::High, name: "Malicious app".into(),
/// #     attack_vector: None, threat_factors: vec![], signature: None, url: None, tenant: None,
/// #     message: None, device: None, app: None, network: None, fields: vec![],
/// # };
///
/// let record = syslog::wrap(Some(Facility::LOCAL0), &origin, &event, "CEF:0|...".into());
/// assert_eq!(record, "<131>1 2023-11-14T22:13:20.123Z connector-1 msc - Threat_detected - CEF:0|...");
/// assert_eq!(syslog::wrap(None, &origin, &event, "CEF:0|...".into()), "CEF:0|...");
/// ```
pub fn wrap(facility: Option<Facility>, origin: &siem::Origin, event: &siem::Event, line: String) -> String {
    match facility {
        Some(facility) => format!("{} - {line}", rfc5424_header(&Header::for_event(facility, origin, event))),
        None => line,
    }
}

/// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID`, without a trailing space: the caller adds
/// ` STRUCTURED-DATA` and, if any, ` MSG`.
///
/// The timestamp is UTC with milliseconds; a time after the year 9999, which RFC 3339 cannot
/// write, becomes the nil value `-`. In the text fields every character RFC 5424 does not allow
/// there (anything but printable US-ASCII, so spaces, controls and non-ASCII too) becomes `_`,
/// each field is cut to its RFC length (host name 255, app name 48, proc id 128, msg id 32
/// characters), and an empty field becomes `-`.
pub fn rfc5424_header(header: &Header<'_>) -> String {
    let pri = u16::from(header.facility.code()) * 8 + u16::from(header.severity.code());
    let timestamp = rfc3339_millis(header.time_ms).unwrap_or_else(|| "-".into());
    format!(
        "<{pri}>1 {timestamp} {} {} {} {}",
        header_field(header.hostname, 255),
        header_field(header.app_name, 48),
        header.proc_id.map_or_else(|| "-".into(), |p| header_field(p, 128)),
        header.msg_id.map_or_else(|| "-".into(), |m| header_field(m, 32)),
    )
}

/// `2023-11-14T22:13:20.123Z` for a time in milliseconds since the Unix epoch; `None` after the
/// year 9999.
pub fn rfc3339_millis(time_ms: u64) -> Option<String> {
    // 10000-01-01T00:00:00Z: RFC 3339 years have four digits.
    const YEAR_10000_MS: u64 = 253_402_300_800_000;
    if time_ms >= YEAR_10000_MS {
        return None;
    }
    let time: SystemTime = UNIX_EPOCH.checked_add(Duration::from_millis(time_ms))?;
    Some(humantime::format_rfc3339_millis(time).to_string())
}

fn header_field(text: &str, max: usize) -> String {
    let field: String = text.chars().take(max).map(|c| if c.is_ascii_graphic() { c } else { '_' }).collect();
    if field.is_empty() { "-".into() } else { field }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(hostname: &str, app_name: &str, msg_id: Option<&str>) -> String {
        rfc5424_header(&Header {
            facility: Facility::LOCAL0,
            severity: Severity::Informational,
            time_ms: 0,
            hostname,
            app_name,
            proc_id: None,
            msg_id,
        })
    }

    #[test]
    fn priority_is_facility_times_eight_plus_severity() {
        let mut h = Header {
            facility: Facility::new(0).expect("kern"),
            severity: Severity::Emergency,
            time_ms: 0,
            hostname: "h",
            app_name: "a",
            proc_id: Some("42"),
            msg_id: None,
        };
        assert_eq!(rfc5424_header(&h), "<0>1 1970-01-01T00:00:00.000Z h a 42 -");
        h.facility = Facility::new(23).expect("local7");
        h.severity = Severity::Debug;
        assert!(rfc5424_header(&h).starts_with("<191>1 "));
    }

    #[test]
    fn event_severities_map_to_syslog_severities() {
        let codes: Vec<u8> = [
            siem::Severity::Critical,
            siem::Severity::High,
            siem::Severity::Medium,
            siem::Severity::Low,
            siem::Severity::Info,
        ]
        .into_iter()
        .map(|s| Severity::from(s).code())
        .collect();
        assert_eq!(codes, [2, 3, 4, 5, 6]);
    }

    #[test]
    fn header_fields_become_printable_ascii_of_the_allowed_length() {
        assert_eq!(
            header("東京 host", "m s\tc", Some("Threat\r\ndetected")),
            "<134>1 1970-01-01T00:00:00.000Z ___host m_s_c - Threat__detected"
        );
        assert_eq!(header("", "", Some("")), "<134>1 1970-01-01T00:00:00.000Z - - - -");
        let long = "x".repeat(300);
        let out = header(&long, &long, Some(&long));
        let fields: Vec<&str> = out.split(' ').collect();
        assert_eq!((fields[2].len(), fields[3].len(), fields[5].len()), (255, 48, 32));
    }

    #[test]
    fn wrapped_lines_follow_the_events_header_and_no_structured_data() {
        let (origin, event) = (siem::testing::origin(), siem::testing::full_event());
        let record = wrap(Some(Facility::LOCAL0), &origin, &event, "LEEF:2.0|x - y".into());
        let (header, line) = siem::testing::split_syslog(&record);
        assert_eq!(
            header,
            Some(
                [
                    "<132>1",
                    "2023-11-14T22:13:20.123Z",
                    "connector-1",
                    "msc",
                    "-",
                    "type_a|b=c\\d\\=e\\nf]g\"h_i_j__k_l^"
                ]
                .map(String::from)
                .to_vec()
            )
        );
        assert_eq!(line, "LEEF:2.0|x - y");
        assert_eq!(wrap(None, &origin, &event, "LEEF:2.0|x - y".into()), "LEEF:2.0|x - y");
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds_until_year_9999() {
        assert_eq!(rfc3339_millis(1_700_000_000_123).as_deref(), Some("2023-11-14T22:13:20.123Z"));
        assert_eq!(rfc3339_millis(253_402_300_799_999).as_deref(), Some("9999-12-31T23:59:59.999Z"));
        assert_eq!(rfc3339_millis(253_402_300_800_000), None);
        assert_eq!(rfc3339_millis(u64::MAX), None);
    }

    #[test]
    fn facilities_parse_from_names_and_codes() {
        assert_eq!(Facility::parse("local0"), Some(Facility::LOCAL0));
        assert_eq!(Facility::parse(" AUTH "), Facility::new(4));
        assert_eq!(Facility::parse("13"), Facility::new(13));
        assert_eq!(Facility::parse("24"), None);
        assert_eq!(Facility::parse("local8"), None);
        assert_eq!(Facility::parse(""), None);
    }
}
