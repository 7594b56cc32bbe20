//! The instance's small key-value cache, kept across calls (not across connector restarts).

use std::time::Duration;

use crate::Error;
use crate::bindings::base::msc::host::kv::{self, KvError};

/// The value stored under `key`, unless it is missing or expired.
pub fn get(key: &str) -> Option<Vec<u8>> {
    kv::get(key)
}

/// Stores `value`; with `ttl` it disappears after that long.
pub fn set(key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), Error> {
    let ttl_ms = ttl.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
    kv::set(key, value, ttl_ms).map_err(|e| match e {
        KvError::TooLarge(m) | KvError::Full(m) => Error::Internal(format!("key-value store: {m}")),
    })
}

/// Removes `key` (nothing happens when it is missing).
pub fn delete(key: &str) {
    kv::delete(key)
}
