//! The instance's key-value store (`msc:host/kv`): a small in-memory cache kept across calls, for
//! things like a UEM session token. Each instance has its own; nothing is shared between
//! instances. Bounded per entry and in total so a plugin cannot grow the connector's memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::plugins::bindings::host::msc::host::kv::{Host, KvError};

pub const MAX_KEY_BYTES: usize = 256;
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
pub const MAX_ENTRIES: usize = 256;
pub const MAX_TOTAL_BYTES: usize = 1024 * 1024;

struct Entry {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

#[derive(Default)]
pub struct KvStore {
    entries: Mutex<HashMap<String, Entry>>,
}

impl KvStore {
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).filter(|e| e.live(Instant::now())).map(|e| e.value.clone())
    }

    pub fn set(&self, key: String, value: Vec<u8>, ttl: Option<Duration>) -> Result<(), KvError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(KvError::TooLarge(format!("keys are limited to {MAX_KEY_BYTES} bytes")));
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(KvError::TooLarge(format!("values are limited to {MAX_VALUE_BYTES} bytes")));
        }
        let Ok(mut entries) = self.entries.lock() else {
            return Err(KvError::Full("the store is unavailable".into()));
        };
        let now = Instant::now();
        entries.retain(|_, e| e.live(now));
        let replaced = entries.get(&key).map_or(0, |e| key.len() + e.value.len());
        let used: usize = entries.iter().map(|(k, e)| k.len() + e.value.len()).sum::<usize>() - replaced;
        if !entries.contains_key(&key) && entries.len() >= MAX_ENTRIES {
            return Err(KvError::Full(format!("at most {MAX_ENTRIES} entries per instance")));
        }
        if used + key.len() + value.len() > MAX_TOTAL_BYTES {
            return Err(KvError::Full(format!("at most {MAX_TOTAL_BYTES} bytes per instance")));
        }
        let expires = ttl.and_then(|t| now.checked_add(t));
        entries.insert(key, Entry { value, expires });
        Ok(())
    }

    pub fn delete(&self, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

/// `msc:host/kv` for one call.
pub struct KvView<'a>(pub &'a KvStore);

/// [`wasmtime::component::HasData`] marker for linking `msc:host/kv`.
pub struct Kv;

impl wasmtime::component::HasData for Kv {
    type Data<'a> = KvView<'a>;
}

impl Host for KvView<'_> {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        Ok(self.0.get(&key))
    }

    fn set(&mut self, key: String, value: Vec<u8>, ttl_ms: Option<u64>) -> wasmtime::Result<Result<(), KvError>> {
        Ok(self.0.set(key, value, ttl_ms.map(Duration::from_millis)))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.0.delete(&key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_delete_and_expiry() {
        let kv = KvStore::default();
        kv.set("token".into(), b"abc".to_vec(), None).expect("set");
        assert_eq!(kv.get("token").as_deref(), Some(&b"abc"[..]));
        kv.delete("token");
        assert_eq!(kv.get("token"), None);

        kv.set("short".into(), b"x".to_vec(), Some(Duration::ZERO)).expect("set");
        assert_eq!(kv.get("short"), None, "a zero TTL expires at once");
    }

    #[test]
    fn enforces_limits() {
        let kv = KvStore::default();
        assert!(matches!(kv.set("k".repeat(MAX_KEY_BYTES + 1), vec![], None), Err(KvError::TooLarge(_))));
        assert!(matches!(kv.set("k".into(), vec![0; MAX_VALUE_BYTES + 1], None), Err(KvError::TooLarge(_))));
        for i in 0..MAX_ENTRIES {
            kv.set(format!("k{i}"), vec![], None).expect("room");
        }
        assert!(matches!(kv.set("one-more".into(), vec![], None), Err(KvError::Full(_))));
        kv.set("k0".into(), b"replacing is fine".to_vec(), None).expect("replace");

        let kv = KvStore::default();
        for i in 0..(MAX_TOTAL_BYTES / MAX_VALUE_BYTES) - 1 {
            kv.set(format!("{i}"), vec![0; MAX_VALUE_BYTES], None).expect("room");
        }
        assert!(matches!(kv.set("last".into(), vec![0; MAX_VALUE_BYTES], None), Err(KvError::Full(_))));
    }
}
