//! Config problems that point at the file, line, column and key, as `connector check` prints them:
//! `connector.toml:12:9: instances.maas360.grants.http[0]: "ftp://x" is not an http(s) URL`.
//!
//! Validation code speaks in key paths; [`SourceIndex`] turns paths into lines and serde's byte
//! spans back into key paths, from the spanned TOML document.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Where a value sits in the config, e.g. `instances.maas360.grants.http[0]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<Segment>);

impl KeyPath {
    pub fn root() -> Self {
        Self::default()
    }

    /// This path with a key appended.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.into()));
        path
    }

    /// This path with an array index appended.
    pub fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no place in the file (e.g. the file cannot be read).
    pub line: usize,
    /// 1-based.
    pub column: usize,
    /// The key the problem is about; empty for the whole file.
    pub key: KeyPath,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if self.severity == Severity::Warning {
            write!(f, ": warning")?;
        }
        if !self.key.segments().is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a config file; the config is refused if any is an error.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for diagnostic in self.errors() {
            if !first {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
            first = false;
        }
        Ok(())
    }
}

/// The config file's text and its spanned parse, to place problems in it.
pub struct SourceIndex<'a> {
    file: &'a Path,
    text: &'a str,
    document: Option<toml::Spanned<DeTable<'a>>>,
}

impl<'a> SourceIndex<'a> {
    /// Parses `text` for spans. A syntax error comes back as a diagnostic.
    pub fn parse(file: &'a Path, text: &'a str) -> Result<Self, Diagnostic> {
        match DeTable::parse(text) {
            Ok(document) => Ok(Self { file, text, document: Some(document) }),
            Err(error) => {
                let index = Self { file, text, document: None };
                let key = error.span().map(|span| index.path_at(span.start)).unwrap_or_default();
                Err(index.diagnostic_at(
                    Severity::Error,
                    error.span().map(|s| s.start),
                    key,
                    error.message().trim_end().to_string(),
                ))
            }
        }
    }

    /// A diagnostic for `key`, placed at the key's value (or its nearest existing parent).
    pub fn at_key(&self, severity: Severity, key: KeyPath, message: impl Into<String>) -> Diagnostic {
        let offset = self.span_of(&key).map(|span| span.start);
        self.diagnostic_at(severity, offset, key, message.into())
    }

    /// A diagnostic for a serde error, with the key found from the error's span.
    pub fn from_de_error(&self, error: &toml::de::Error) -> Diagnostic {
        let offset = error.span().map(|span| span.start);
        let key = offset.map(|o| self.path_at(o)).unwrap_or_default();
        self.diagnostic_at(Severity::Error, offset, key, error.message().trim_end().to_string())
    }

    fn diagnostic_at(&self, severity: Severity, offset: Option<usize>, key: KeyPath, message: String) -> Diagnostic {
        let (line, column) = offset.map(|o| line_column(self.text, o)).unwrap_or((0, 0));
        Diagnostic { severity, file: self.file.to_path_buf(), line, column, key, message }
    }

    /// The span of the value at `key`; for a missing key, the span of its nearest existing
    /// parent's key, so "missing field" points at the table that lacks it.
    fn span_of(&self, key: &KeyPath) -> Option<Range<usize>> {
        let document = self.document.as_ref()?;
        let mut best: Option<Range<usize>> = None;
        let mut table: Option<&DeTable<'_>> = Some(document.get_ref());
        let mut array: Option<&[toml::Spanned<DeValue<'_>>]> = None;
        for segment in key.segments() {
            let value = match (segment, table, array) {
                (Segment::Key(name), Some(t), _) => {
                    t.iter().find(|(k, _)| k.get_ref().as_ref() == name.as_str()).map(|(k, v)| {
                        best = Some(k.span());
                        v
                    })
                }
                (Segment::Index(i), _, Some(items)) => items.get(*i),
                _ => None,
            };
            let Some(value) = value else { break };
            // A `[header]` table's span starts before its key: point at the key. An inline
            // value (including an inline table) starts after it: point at the value.
            let key_start = best.as_ref().map_or(0, |b| b.start);
            if value.span().start > key_start || best.is_none() {
                best = Some(value.span());
            }
            (table, array) = match value.get_ref() {
                DeValue::Table(t) => (Some(t), None),
                DeValue::Array(items) => (None, Some(items.as_ref())),
                _ => (None, None),
            };
        }
        best
    }

    /// The path of the deepest key whose key or value contains `offset`. Header tables'
    /// spans do not cover their children, so the whole document is searched.
    fn path_at(&self, offset: usize) -> KeyPath {
        let mut best = KeyPath::root();
        if let Some(document) = self.document.as_ref() {
            for (key, value) in document.get_ref() {
                deepest_at(KeyPath::root().key(key.get_ref().as_ref()), Some(key.span()), value, offset, &mut best);
            }
        }
        best
    }
}

/// Records in `best` the longest path at or below `path` that holds `offset`.
fn deepest_at(
    path: KeyPath,
    key_span: Option<Range<usize>>,
    value: &toml::Spanned<DeValue<'_>>,
    offset: usize,
    best: &mut KeyPath,
) {
    let here = key_span.is_some_and(|s| contains(&s, offset)) || contains(&value.span(), offset);
    if here && path.0.len() > best.0.len() {
        *best = path.clone();
    }
    match value.get_ref() {
        DeValue::Table(table) => {
            for (key, child) in table {
                deepest_at(path.key(key.get_ref().as_ref()), Some(key.span()), child, offset, best);
            }
        }
        DeValue::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                deepest_at(path.index(i), None, child, offset, best);
            }
        }
        _ => {}
    }
}

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"[connector]
name = "hq"

[instances.maas360]
plugin = "maas360.wasm"
kind = "uem"

[instances.maas360.grants]
http = ["https://a.example", "ftp://b.example"]
"#;

    #[test]
    fn key_path_display() {
        let path = KeyPath::root().key("instances").key("m").key("http").index(1);
        assert_eq!(path.to_string(), "instances.m.http[1]");
    }

    #[test]
    fn places_keys_on_their_lines() {
        let file = Path::new("c.toml");
        let index = SourceIndex::parse(file, TEXT).expect("parses");
        let http1 = KeyPath::root().key("instances").key("maas360").key("grants").key("http").index(1);
        let d = index.at_key(Severity::Error, http1, "bad");
        assert_eq!((d.line, d.column), (9, 30));
        assert_eq!(d.to_string(), "c.toml:9:30: instances.maas360.grants.http[1]: bad");

        let kind = KeyPath::root().key("instances").key("maas360").key("kind");
        assert_eq!(index.at_key(Severity::Error, kind, "x").line, 6);

        // A missing key points at the table that lacks it.
        let missing = KeyPath::root().key("instances").key("maas360").key("deadline");
        assert_eq!(index.at_key(Severity::Error, missing, "x").line, 4);
    }

    #[test]
    fn finds_key_from_offset() {
        let file = Path::new("c.toml");
        let index = SourceIndex::parse(file, TEXT).expect("parses");
        let offset = TEXT.find("\"uem\"").expect("present");
        assert_eq!(index.path_at(offset).to_string(), "instances.maas360.kind");
    }

    #[test]
    fn syntax_errors_have_lines() {
        let file = Path::new("c.toml");
        let text = "[connector]\nname = \"hq\"\nplugin_dir = \n";
        let Err(d) = SourceIndex::parse(file, text) else { panic!("must fail") };
        assert_eq!(d.line, 3);
    }
}
