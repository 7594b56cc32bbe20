//! The endpoints, each taking its parsed request and answering as the service does.
//! Authentication, faults and versions are already dealt with when these run.

pub mod apps;
pub mod attributes;
pub mod devices;
pub mod groups;
pub mod search;
pub mod tags;

use crate::error::ApiError;
use crate::stats::Stats;

/// The most a page holds; a larger `pagesize` silently gives this many.
pub const MAX_PAGE_SIZE: usize = 500;

/// Query parameters. Names match ASCII case-insensitively, as ASP.NET binds them; the first
/// occurrence wins.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(encoded: &[u8]) -> Self {
        Self(form_urlencoded::parse(encoded).into_owned().collect())
    }

    /// A parameter that is present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, value)| key.eq_ignore_ascii_case(name) && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// A numeric parameter; 400 when it does not parse.
    pub fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|value| value.trim().parse().map_err(|_| ApiError::BadRequest(format!("Invalid value for {name}."))))
            .transpose()
    }
}

/// A 0-based page of `size` items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub page: usize,
    pub size: usize,
}

impl Page {
    /// Reads the page and page size parameters named `page` and `size`: the page defaults to 0,
    /// the size to 500 and is capped at 500; the size asked for is recorded.
    pub fn parse(params: &Params, page: &str, size: &str, stats: &mut Stats) -> Result<Self, ApiError> {
        let number = params.number(page)?.unwrap_or(0);
        let asked = params.number(size)?.unwrap_or(0);
        stats.max_page_size = stats.max_page_size.max(asked);
        let size = if asked == 0 { MAX_PAGE_SIZE } else { (asked as usize).min(MAX_PAGE_SIZE) };
        Ok(Self { page: usize::try_from(number).unwrap_or(usize::MAX), size })
    }

    /// This page's slice of `items`; empty past the end.
    pub fn of<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = self.page.saturating_mul(self.size).min(items.len());
        let end = start.saturating_add(self.size).min(items.len());
        &items[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_default_cap_and_refuse_junk() {
        let mut stats = Stats::default();
        let parse =
            |query: &str, stats: &mut Stats| Page::parse(&Params::parse(query.as_bytes()), "page", "pagesize", stats);
        assert_eq!(parse("", &mut stats), Ok(Page { page: 0, size: 500 }));
        assert_eq!(parse("Page=2&PageSize=10", &mut stats), Ok(Page { page: 2, size: 10 }));
        assert_eq!(parse("pagesize=1000", &mut stats), Ok(Page { page: 0, size: 500 }));
        assert_eq!(stats.max_page_size, 1000);
        assert!(parse("page=-1", &mut stats).is_err());
        assert!(parse("pagesize=ten", &mut stats).is_err());
        let items: Vec<u32> = (0..7).collect();
        assert_eq!(Page { page: 1, size: 5 }.of(&items), [5, 6]);
        assert!(Page { page: 9, size: 5 }.of(&items).is_empty());
        assert!(Page { page: usize::MAX, size: 500 }.of(&items).is_empty());
    }
}
