//! JSON Schema of the config file, generated from the `Raw*` types the file is read into, so the
//! reference (`connector config reference`) and editor schemas (`connector config schema`) cannot
//! drift from what the connector accepts. This module holds the schemas of values the config
//! reads as text (durations, byte sizes) and the schema entry point.

use std::borrow::Cow;
use std::time::Duration;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

/// The JSON Schema (draft 2020-12) of the whole config file.
pub fn config_schema() -> Schema {
    let mut schema = SchemaGenerator::new(SchemaSettings::draft2020_12()).into_root_schema_for::<super::RawConfig>();
    schema.insert("title".into(), "Mobile Security Connector config".into());
    schema
}

/// Declares a marker type whose schema is `$schema`, written out wherever a field uses it
/// (`#[schemars(with = "…")]`): for values the config reads as text, or as anything.
macro_rules! inline_schema {
    ($(#[$doc:meta])* $name:ident, $schema_name:literal, $schema:tt) => {
        $(#[$doc])*
        pub struct $name;

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                $schema_name.into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

inline_schema!(
    /// A duration written as text: `30s`, `15m`, `8h`, `3d`, `1h 30m`.
    DurationText,
    "Duration",
    {
        "type": "string",
        "format": "duration",
        "pattern": r"^\s*\d+\s*[a-zµ]+(\s*\d+\s*[a-zµ]+)*\s*$",
        "examples": ["30s", "15m", "8h", "3d"],
    }
);

inline_schema!(
    /// A size in bytes written as text: `64MiB`, `1GiB`, `512KiB`.
    ByteSizeText,
    "ByteSize",
    { "type": "string", "format": "byte-size", "examples": ["64MiB", "1GiB"] }
);

inline_schema!(
    /// Any TOML value: settings whose meaning belongs to a plugin.
    AnyValue,
    "AnyValue",
    true
);

/// `duration` as the config writes it, for defaults in the schema.
pub fn duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// `bytes` as the config writes it (whole MiB or KiB where exact), for defaults in the schema.
pub fn bytes(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{}MiB", b / MIB),
        b if b >= KIB && b % KIB == 0 => format!("{}KiB", b / KIB),
        b => format!("{b}B"),
    }
}
