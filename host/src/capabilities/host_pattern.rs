//! Host names in grants: an exact name or address, or `*.example.com` for any subdomain. Shared by
//! the HTTP and network-stream grants so both match hosts the same way.

use std::fmt;
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPattern {
    /// One host name (lower-cased) or IP address.
    Exact(String),
    /// `*.example.com`: any name ending in `.example.com`, not `example.com` itself.
    Subdomains(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HostPatternError {
    #[error("empty host name")]
    Empty,
    #[error("`{0}` is not a valid host name or IP address")]
    Invalid(String),
    #[error("`{0}`: a wildcard may only be a leading `*.` followed by at least two labels")]
    BadWildcard(String),
}

impl HostPattern {
    pub fn parse(text: &str) -> Result<Self, HostPatternError> {
        let text = text.trim().trim_end_matches('.');
        if text.is_empty() {
            return Err(HostPatternError::Empty);
        }
        if let Some(suffix) = text.strip_prefix("*.") {
            if suffix.contains('*') || !suffix.contains('.') || !is_dns_name(suffix) {
                return Err(HostPatternError::BadWildcard(text.to_string()));
            }
            return Ok(Self::Subdomains(suffix.to_ascii_lowercase()));
        }
        let unbracketed = text.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return Ok(Self::Exact(ip.to_string()));
        }
        if text.contains('*') {
            return Err(HostPatternError::BadWildcard(text.to_string()));
        }
        if !is_dns_name(text) {
            return Err(HostPatternError::Invalid(text.to_string()));
        }
        Ok(Self::Exact(text.to_ascii_lowercase()))
    }

    /// Whether `host` (as it will be connected to) matches. IPv6 may come bracketed.
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        let unbracketed = host.trim_start_matches('[').trim_end_matches(']');
        let host = match unbracketed.parse::<IpAddr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => host.to_ascii_lowercase(),
        };
        match self {
            Self::Exact(name) => host == *name,
            Self::Subdomains(suffix) => {
                host.strip_suffix(suffix.as_str()).is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.'))
            }
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(name) if name.contains(':') => write!(f, "[{name}]"),
            Self::Exact(name) => f.write_str(name),
            Self::Subdomains(suffix) => write!(f, "*.{suffix}"),
        }
    }
}

/// A DNS name whose last label is not all digits: resolvers read names like `127.1` or
/// `010.0.0.1` as IPv4 addresses (8.0.0.1 for the latter), so they must be written as addresses.
fn is_dns_name(name: &str) -> bool {
    let numeric_tld = name.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()));
    !numeric_tld
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_wildcard() {
        let exact = HostPattern::parse("Services.Fiberlink.com").expect("valid");
        assert!(exact.matches("services.fiberlink.com"));
        assert!(exact.matches("SERVICES.fiberlink.com."));
        assert!(!exact.matches("evil-services.fiberlink.com"));
        assert!(!exact.matches("services.fiberlink.com.evil.net"));

        let wildcard = HostPattern::parse("*.maas360.com").expect("valid");
        assert!(wildcard.matches("services.m3.maas360.com"));
        assert!(!wildcard.matches("maas360.com"));
        assert!(!wildcard.matches("evilmaas360.com"));
    }

    #[test]
    fn addresses() {
        let v4 = HostPattern::parse("127.0.0.1").expect("valid");
        assert!(v4.matches("127.0.0.1"));
        assert!(!v4.matches("127.0.0.2"));
        let v6 = HostPattern::parse("[::1]").expect("valid");
        assert!(v6.matches("[::1]"));
        assert!(v6.matches("0:0:0:0:0:0:0:1"));
        assert_eq!(v6.to_string(), "[::1]");
    }

    #[test]
    fn rejects_bad_patterns() {
        for bad in ["", "*", "*.com", "a.*.com", "exa mple.com", "-a.com", "a..b", "010.0.0.1", "127.1", "*.0.0.1"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
