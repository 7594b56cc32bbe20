//! Parsers for what a SIEM receives — RFC 5424 syslog, ArcSight CEF and QRadar LEEF — so tests
//! check delivered events field by field. They are strict where the specs say MUST (escaping,
//! field syntax): a formatter's escaping bug fails the test instead of parsing into something
//! plausible. `rfc5424`, `cef` and `leef` panic with the reason; the `try_` forms return it.
//! Included with `#[path]`.

#![allow(dead_code)]

/// An RFC 5424 message; NILVALUE (`-`) fields are `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Syslog5424 {
    pub pri: u8,
    pub version: u16,
    pub timestamp: Option<String>,
    pub hostname: Option<String>,
    pub app_name: Option<String>,
    pub procid: Option<String>,
    pub msgid: Option<String>,
    /// (SD-ID, [(PARAM-NAME, unescaped PARAM-VALUE)]), in order; empty for NILVALUE.
    pub structured_data: Vec<(String, Vec<(String, String)>)>,
    /// Whether MSG began with the UTF-8 BOM (which `msg` does not include).
    pub bom: bool,
    /// Empty when the message has none.
    pub msg: String,
}

impl Syslog5424 {
    pub fn facility(&self) -> u8 {
        self.pri / 8
    }

    pub fn severity(&self) -> u8 {
        self.pri % 8
    }

    /// The first value of `name` in the SD-ELEMENT `id`.
    pub fn param(&self, id: &str, name: &str) -> Option<&str> {
        let (_, params) = self.structured_data.iter().find(|(sd_id, _)| sd_id == id)?;
        params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// An ArcSight CEF record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cef {
    pub version: u32,
    pub vendor: String,
    pub product: String,
    pub device_version: String,
    pub signature_id: String,
    pub name: String,
    pub severity: String,
    /// (key, unescaped value), in order.
    pub extension: Vec<(String, String)>,
}

impl Cef {
    /// The first value of extension key `key`.
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.extension.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// A QRadar LEEF 1.0 or 2.0 record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leef {
    /// `1.0` or `2.0`.
    pub version: String,
    pub vendor: String,
    pub product: String,
    pub product_version: String,
    pub event_id: String,
    /// Tab unless a LEEF 2.0 header declares another.
    pub delimiter: char,
    /// (key, unescaped value), in order.
    pub attributes: Vec<(String, String)>,
}

impl Leef {
    /// The first value of attribute `key`.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

pub fn rfc5424(line: &str) -> Syslog5424 {
    try_rfc5424(line).unwrap_or_else(|e| panic!("not RFC 5424 ({e}): {line:?}"))
}

/// Parses `<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]`.
pub fn try_rfc5424(line: &str) -> Result<Syslog5424, String> {
    let rest = line.strip_prefix('<').ok_or("no PRI")?;
    let (pri, rest) = rest.split_once('>').ok_or("unterminated PRI")?;
    let pri = number(pri, 3).filter(|&pri| pri <= 191).ok_or(format!("bad PRI {pri:?}"))? as u8;
    let (version, rest) = rest.split_once(' ').ok_or("no VERSION")?;
    let version = number(version, 3).filter(|&v| v > 0).ok_or(format!("bad VERSION {version:?}"))? as u16;
    let (timestamp, rest) = header_field(rest, "TIMESTAMP", 32)?;
    if let Some(timestamp) = &timestamp {
        check_timestamp(timestamp)?;
    }
    let (hostname, rest) = header_field(rest, "HOSTNAME", 255)?;
    let (app_name, rest) = header_field(rest, "APP-NAME", 48)?;
    let (procid, rest) = header_field(rest, "PROCID", 128)?;
    let (msgid, rest) = header_field(rest, "MSGID", 32)?;
    let (structured_data, rest) = structured_data(rest)?;
    let msg = match rest {
        "" => "",
        _ => rest.strip_prefix(' ').ok_or("no SP after STRUCTURED-DATA")?,
    };
    let (bom, msg) = match msg.strip_prefix('\u{feff}') {
        Some(msg) => (true, msg),
        None => (false, msg),
    };
    Ok(Syslog5424 {
        pri,
        version,
        timestamp,
        hostname,
        app_name,
        procid,
        msgid,
        structured_data,
        bom,
        msg: msg.to_string(),
    })
}

/// A decimal of 1..=`max_digits` digits without leading zeros.
fn number(text: &str, max_digits: usize) -> Option<u32> {
    let digits = !text.is_empty() && text.len() <= max_digits && text.bytes().all(|b| b.is_ascii_digit());
    (digits && (text == "0" || !text.starts_with('0'))).then(|| text.parse().ok()).flatten()
}

/// One space-terminated header field: PRINTUSASCII, at most `max` long, `-` for none.
fn header_field<'a>(text: &'a str, name: &str, max: usize) -> Result<(Option<String>, &'a str), String> {
    let (field, rest) = text.split_once(' ').ok_or(format!("no SP after {name}"))?;
    if field.is_empty() || field.len() > max || !field.bytes().all(|b| (33..=126).contains(&b)) {
        return Err(format!("bad {name} {field:?}"));
    }
    Ok(((field != "-").then(|| field.to_string()), rest))
}

/// `YYYY-MM-DDThh:mm:ss[.1-6 digits](Z|+hh:mm|-hh:mm)` (RFC 5424 section 6.2.3).
fn check_timestamp(timestamp: &str) -> Result<(), String> {
    // `d` stands for a digit; the field is ASCII (checked by `header_field`).
    let shape = |s: &str, pattern: &str| {
        s.len() == pattern.len()
            && s.bytes().zip(pattern.bytes()).all(|(c, p)| if p == b'd' { c.is_ascii_digit() } else { c == p })
    };
    let date_time = match timestamp.strip_suffix('Z') {
        Some(date_time) => Some(date_time),
        None => timestamp
            .split_at_checked(timestamp.len().saturating_sub(6))
            .filter(|(_, offset)| shape(offset, "+dd:dd") || shape(offset, "-dd:dd"))
            .map(|(date_time, _)| date_time),
    };
    let whole = date_time.and_then(|date_time| match date_time.split_once('.') {
        Some((whole, fraction)) => {
            let digits = (1..=6).contains(&fraction.len()) && fraction.bytes().all(|b| b.is_ascii_digit());
            digits.then_some(whole)
        }
        None => Some(date_time),
    });
    match whole {
        Some(whole) if shape(whole, "dddd-dd-ddTdd:dd:dd") => Ok(()),
        _ => Err(format!("bad TIMESTAMP {timestamp:?}")),
    }
}

type StructuredData = Vec<(String, Vec<(String, String)>)>;

/// NILVALUE or one or more `[SD-ID *(SP PARAM-NAME="PARAM-VALUE")]`; returns what follows.
fn structured_data(text: &str) -> Result<(StructuredData, &str), String> {
    if let Some(rest) = text.strip_prefix('-') {
        return Ok((Vec::new(), rest));
    }
    if !text.starts_with('[') {
        return Err("STRUCTURED-DATA is neither `-` nor `[`".to_string());
    }
    let mut elements = Vec::new();
    let mut rest = text;
    while let Some(after) = rest.strip_prefix('[') {
        let (id, mut after) = sd_name(after, "SD-ID")?;
        let mut params = Vec::new();
        loop {
            if let Some(next) = after.strip_prefix(']') {
                rest = next;
                break;
            }
            let param = after.strip_prefix(' ').ok_or(format!("expected SP or `]` in [{id}"))?;
            let (name, param) = sd_name(param, "PARAM-NAME")?;
            let value = param.strip_prefix("=\"").ok_or(format!("expected =\" after {name} in [{id}"))?;
            let (value, next) = param_value(value).map_err(|e| format!("{e} in [{id} {name}]"))?;
            params.push((name, value));
            after = next;
        }
        elements.push((id, params));
    }
    Ok((elements, rest))
}

/// SD-NAME: 1..=32 PRINTUSASCII except `=`, SP, `]` and `"`.
fn sd_name<'a>(text: &'a str, what: &str) -> Result<(String, &'a str), String> {
    let end = text.find(|c: char| !c.is_ascii_graphic() || matches!(c, '=' | ']' | '"')).unwrap_or(text.len());
    if end == 0 || end > 32 {
        return Err(format!("bad {what} at {text:?}"));
    }
    Ok((text[..end].to_string(), &text[end..]))
}

/// PARAM-VALUE up to its closing quote: `\"`, `\\` and `\]` unescaped; any other backslash is
/// literal (RFC 5424 section 6.3.3); an unescaped `]` is an error, as the RFC requires escaping it.
fn param_value(text: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[i + 1..])),
            ']' => return Err("unescaped `]` in PARAM-VALUE".to_string()),
            '\\' => match text[i + 1..].chars().next() {
                Some(next @ ('"' | '\\' | ']')) => {
                    value.push(next);
                    chars.next();
                }
                _ => value.push('\\'),
            },
            c => value.push(c),
        }
    }
    Err("unterminated PARAM-VALUE".to_string())
}

pub fn cef(text: &str) -> Cef {
    try_cef(text).unwrap_or_else(|e| panic!("not CEF ({e}): {text:?}"))
}

/// Parses from the first `CEF:` on (anything before it, such as a syslog header, is skipped):
/// `CEF:Version|Vendor|Product|Device Version|Signature ID|Name|Severity|Extension`.
pub fn try_cef(text: &str) -> Result<Cef, String> {
    let start = text.find("CEF:").ok_or("no `CEF:`")?;
    let record = &text[start + "CEF:".len()..];
    if record.contains(['\r', '\n']) {
        return Err("raw CR or LF (CEF escapes them as \\r, \\n)".to_string());
    }
    let (header, extension) = header_fields(record, 7, false)?;
    let [version, vendor, product, device_version, signature_id, name, severity] =
        <[String; 7]>::try_from(header).map_err(|_| "header fields")?;
    let version = number(&version, 3).ok_or(format!("bad version {version:?}"))?;
    let named = ["Unknown", "Low", "Medium", "High", "Very-High"];
    if !(number(&severity, 2).is_some_and(|s| s <= 10) || named.contains(&severity.as_str())) {
        return Err(format!("bad severity {severity:?}"));
    }
    let extension = cef_extension(extension)?;
    Ok(Cef { version, vendor, product, device_version, signature_id, name, severity, extension })
}

/// `count` `|`-terminated header fields with `\|` and `\\` unescaped, and the rest of the record.
/// CEF forbids any other backslash in the header; LEEF does not say, so there it is literal (`lenient`).
fn header_fields(record: &str, count: usize, lenient: bool) -> Result<(Vec<String>, &str), String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = record.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '|' => {
                fields.push(std::mem::take(&mut field));
                if fields.len() == count {
                    return Ok((fields, &record[i + 1..]));
                }
            }
            '\\' => match record[i + 1..].chars().next() {
                Some(next @ ('|' | '\\')) => {
                    field.push(next);
                    chars.next();
                }
                _ if lenient => field.push('\\'),
                _ => return Err(format!("unescaped `\\` in header field {}", fields.len() + 1)),
            },
            c => field.push(c),
        }
    }
    Err(format!("{} of {count} header fields", fields.len()))
}

/// CEF extension keys: `[A-Za-z0-9_.\[\]]+`.
fn key_len(text: &[u8]) -> usize {
    text.iter().take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'[' | b']')).count()
}

/// `key=value` pairs separated by single spaces: a value runs until the next ` key=`.
fn cef_extension(extension: &str) -> Result<Vec<(String, String)>, String> {
    let bytes = extension.as_bytes();
    let mut pairs = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let key = key_len(&bytes[at..]);
        if key == 0 || bytes.get(at + key) != Some(&b'=') {
            return Err(format!("expected `key=` at {:?}", &extension[at..]));
        }
        let value_start = at + key + 1;
        // Keys hold no backslash, so a `=` right after a key run is never an escaped one.
        let mut end = value_start;
        while end < bytes.len() {
            match bytes[end] {
                b'\\' => end += 2,
                b' ' if key_len(&bytes[end + 1..]) > 0 => {
                    let next = end + 1 + key_len(&bytes[end + 1..]);
                    if bytes.get(next) == Some(&b'=') {
                        break;
                    }
                    end += 1;
                }
                _ => end += 1,
            }
        }
        let end = end.min(bytes.len());
        let name = &extension[at..at + key];
        let value = cef_value(&extension[value_start..end]).map_err(|e| format!("{e} in the value of {name}"))?;
        pairs.push((name.to_string(), value));
        at = end + 1;
    }
    Ok(pairs)
}

/// Unescapes `\=`, `\\`, `\n` and `\r`; a raw `=` or any other backslash is an error (the spec
/// requires escaping `=` and `\` in values).
fn cef_value(text: &str) -> Result<String, String> {
    let mut value = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('=') => value.push('='),
                Some('\\') => value.push('\\'),
                Some('n') => value.push('\n'),
                Some('r') => value.push('\r'),
                other => return Err(format!("bad escape `\\{}`", other.map(String::from).unwrap_or_default())),
            },
            '=' => return Err("unescaped `=`".to_string()),
            c => value.push(c),
        }
    }
    Ok(value)
}

pub fn leef(text: &str) -> Leef {
    try_leef(text).unwrap_or_else(|e| panic!("not LEEF ({e}): {text:?}"))
}

/// Parses from the first `LEEF:` on: `LEEF:1.0|Vendor|Product|Version|EventID|attributes` or
/// `LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|attributes`, where the delimiter is one
/// character or `xHH`/`0xHH` hex (empty: tab).
pub fn try_leef(text: &str) -> Result<Leef, String> {
    let start = text.find("LEEF:").ok_or("no `LEEF:`")?;
    let record = &text[start + "LEEF:".len()..];
    if record.contains(['\r', '\n']) {
        return Err("raw CR or LF (LEEF escapes a newline as \\n)".to_string());
    }
    let version = record.split('|').next().unwrap_or_default();
    let count = match version {
        "1.0" => 5,
        "2.0" => 6,
        _ => return Err(format!("unknown LEEF version {version:?}")),
    };
    let (mut header, attributes) = header_fields(record, count, true)?;
    let delimiter = match header.get(5) {
        Some(spec) => leef_delimiter(spec)?,
        None => '\t',
    };
    header.truncate(5);
    let [version, vendor, product, product_version, event_id] =
        <[String; 5]>::try_from(header).map_err(|_| "header fields")?;
    let attributes = leef_attributes(attributes, delimiter)?;
    Ok(Leef { version, vendor, product, product_version, event_id, delimiter, attributes })
}

fn leef_delimiter(spec: &str) -> Result<char, String> {
    let mut chars = spec.chars();
    match (chars.next(), chars.next()) {
        (None, _) => return Ok('\t'),
        (Some(c), None) => return Ok(c),
        _ => {}
    }
    let hex = spec.strip_prefix("0x").or_else(|| spec.strip_prefix('x')).unwrap_or_default();
    let valid = (1..=4).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    valid
        .then(|| u32::from_str_radix(hex, 16).ok().and_then(char::from_u32))
        .flatten()
        .ok_or(format!("bad delimiter {spec:?}"))
}

/// `key=value` attributes split on the unescaped delimiter; `\<delimiter>`, `\\` and `\n` are
/// unescaped, any other backslash is an error. Empty segments (a trailing delimiter) are skipped.
fn leef_attributes(text: &str, delimiter: char) -> Result<Vec<(String, String)>, String> {
    let mut segments = vec![String::new()];
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let segment = segments.last_mut().expect("one segment at least");
        match c {
            '\\' => match chars.next() {
                Some(next) if next == delimiter || next == '\\' => segment.push(next),
                Some('n') => segment.push('\n'),
                // Our LEEF writes CR and tab (the default delimiter) as `\r` and `\t`, so no raw
                // delimiter or line break is ever inside a value.
                Some('r') => segment.push('\r'),
                Some('t') => segment.push('\t'),
                other => return Err(format!("bad escape `\\{}`", other.map(String::from).unwrap_or_default())),
            },
            c if c == delimiter => segments.push(String::new()),
            c => segment.push(c),
        }
    }
    segments
        .into_iter()
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
            _ => Err(format!("attribute without `key=`: {segment:?}")),
        })
        .collect()
}
