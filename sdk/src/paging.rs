//! Paging through vendor listings: the opaque cursor a plugin hands the host between pages, and
//! the "is there another page?" rule most REST APIs need.
//!
//! The host passes a page's `next-cursor` back unchanged in the next query. Whatever the plugin
//! needs to resume (page number, group, time filter) goes into it with [`encode_cursor`], and
//! [`decode_cursor`] reads it back, refusing with [`Error::InvalidInput`] a cursor this plugin
//! did not make (hand-edited, truncated, or from another plugin) rather than silently starting
//! over.
//!
//! ```
//! use msc_sdk::paging::{decode_cursor, encode_cursor, has_next_page};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct Resume { page: u32, group: Option<String> }
//!
//! // First call: no cursor yet.
//! let start: Option<Resume> = decode_cursor(None).unwrap();
//! assert_eq!(start, None);
//!
//! // 500 matches, 200 a page: after page 0 there is more.
//! assert!(has_next_page(0, 200, 200, Some(500)));
//! let cursor = encode_cursor(&Resume { page: 1, group: None }).unwrap();
//! let resumed: Option<Resume> = decode_cursor(Some(&cursor)).unwrap();
//! assert_eq!(resumed, Some(Resume { page: 1, group: None }));
//!
//! // Someone edited it: refused, not misread.
//! let mut tampered = cursor.clone();
//! tampered.insert(6, 'x');
//! assert!(decode_cursor::<Resume>(Some(&tampered)).is_err());
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// Marks the cursor format, so a later format can be told apart.
const PREFIX: &str = "c1.";

/// The cursor for `state`: URL-safe text holding it as JSON with a checksum. Not encrypted:
/// put no personal data or secret in it (the host stores and logs cursors).
pub fn encode_cursor<T: Serialize>(state: &T) -> Result<String, Error> {
    let json = serde_json::to_vec(state).map_err(|e| Error::Internal(format!("cannot encode the page cursor: {e}")))?;
    let mut bytes = json;
    bytes.extend_from_slice(&checksum(&bytes).to_be_bytes());
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The state in `cursor`; `Ok(None)` when there is none (the first page). A cursor that does
/// not decode to a `T` this plugin made is [`Error::InvalidInput`].
pub fn decode_cursor<T: DeserializeOwned>(cursor: Option<&str>) -> Result<Option<T>, Error> {
    let Some(cursor) = cursor.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let refused = |why: &str| {
        let shown: String = cursor.chars().take(24).collect();
        Error::InvalidInput(format!(
            "the page cursor `{}…` {why}; start the listing again without a cursor",
            shown.escape_debug()
        ))
    };
    let encoded = cursor.strip_prefix(PREFIX).ok_or_else(|| refused("was not made by this plugin"))?;
    let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| refused("is not valid base64"))?;
    let split = bytes.len().checked_sub(8).ok_or_else(|| refused("is truncated"))?;
    let (json, sum) = bytes.split_at(split);
    if sum != checksum(json).to_be_bytes() {
        return Err(refused("has been altered or truncated"));
    }
    serde_json::from_slice(json).map(Some).map_err(|_| refused("is from another version of the plugin"))
}

/// Whether a listing has another page after page `page` (counted from 0) of `page_size`
/// items, which returned `received` items: from `total` when the API says how many match, else
/// from a full page (an API that returns a short page has nothing more).
pub fn has_next_page(page: u64, page_size: u64, received: u64, total: Option<u64>) -> bool {
    if received == 0 {
        return false;
    }
    match total {
        Some(total) => (page + 1).saturating_mul(page_size) < total,
        None => received >= page_size,
    }
}

/// Fetches every page of a listing inside one call, for small listings a call needs whole (a
/// device's apps, the organization groups): `fetch(page)` is called with 0, 1, 2, … and returns
/// that page's items and whether another page follows. Stops with [`Error::Protocol`] after
/// `max_pages`, so an API that never says "last page" cannot hold the call until its deadline.
pub fn fetch_all<T>(
    max_pages: u32,
    mut fetch: impl FnMut(u32) -> Result<(Vec<T>, bool), Error>,
) -> Result<Vec<T>, Error> {
    let mut all = Vec::new();
    for page in 0..max_pages {
        let (items, more) = fetch(page)?;
        all.extend(items);
        if !more {
            return Ok(all);
        }
    }
    Err(Error::Protocol(format!("the listing did not end after {max_pages} pages")))
}

/// FNV-1a, 64 bits: detects edits and truncation of a cursor. Not a MAC: a cursor carries only
/// paging state, which a forger could as well ask for directly.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_others() {
        let cursor = encode_cursor(&(3u32, "Lab")).expect("encodes");
        assert_eq!(decode_cursor::<(u32, String)>(Some(&cursor)).expect("decodes"), Some((3, "Lab".into())));
        assert_eq!(decode_cursor::<u32>(Some("  ")).expect("blank"), None);
        for bad in ["7", "c1.!!", "c1.AAAA", &cursor[..cursor.len() - 2]] {
            let error = decode_cursor::<(u32, String)>(Some(bad)).expect_err(bad);
            assert!(matches!(error, Error::InvalidInput(_)), "{bad}: {error:?}");
        }
        // Right checksum, wrong shape: another version of the plugin.
        let other = encode_cursor(&"page two").expect("encodes");
        assert!(decode_cursor::<(u32, String)>(Some(&other)).is_err());
    }

    #[test]
    fn next_page_from_total_or_a_full_page() {
        assert!(has_next_page(0, 100, 100, None));
        assert!(!has_next_page(0, 100, 99, None));
        assert!(has_next_page(1, 100, 100, Some(201)));
        assert!(!has_next_page(1, 100, 100, Some(200)));
        assert!(!has_next_page(0, 100, 0, Some(500)), "an empty page ends the listing");
    }

    #[test]
    fn fetch_all_stops_at_the_last_page_or_the_limit() {
        let all = fetch_all(10, |page| Ok((vec![page; 2], page < 2))).expect("three pages");
        assert_eq!(all, vec![0, 0, 1, 1, 2, 2]);
        let endless = fetch_all(3, |page| Ok((vec![page], true)));
        assert!(matches!(endless, Err(Error::Protocol(_))));
    }
}
