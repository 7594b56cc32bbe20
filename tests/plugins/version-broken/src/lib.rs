//! A build of the hot-swap test adapter whose self-test traps: a reload must refuse it.

const VERSION: &str = "broken";
include!("../../version-a/src/adapter.rs");
