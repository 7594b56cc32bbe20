//! Version B of the hot-swap test adapter.

const VERSION: &str = "B";
include!("../../version-a/src/adapter.rs");
