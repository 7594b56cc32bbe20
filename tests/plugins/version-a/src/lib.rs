//! Version A of the hot-swap test adapter.

const VERSION: &str = "A";
include!("adapter.rs");
