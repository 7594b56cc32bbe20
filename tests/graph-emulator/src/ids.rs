//! Identifiers the emulator makes up: request and trace ids shaped like GUIDs, and the
//! timestamps its error bodies carry.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// 64 unpredictable bits (a fresh hasher seed each time), for tokens and ids.
pub fn random() -> u64 {
    RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A random GUID-shaped id, as Graph's `request-id` and the identity platform's `trace_id`.
pub fn guid() -> String {
    guid_of(random(), random())
}

/// 128 bits written as a version-4 GUID.
pub fn guid_of(a: u64, b: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48 & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// Now, as `2025-01-31T12:00:00Z`.
pub fn timestamp() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn guids_look_like_guids_and_differ() {
        let (a, b) = (super::guid(), super::guid());
        assert_ne!(a, b);
        let lengths: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(lengths, [8, 4, 4, 4, 12], "{a}");
        assert!(super::timestamp().ends_with('Z'));
    }
}
