//! Email addresses as they may appear in `MAIL FROM:<…>`, `RCPT TO:<…>` and address headers:
//! a dot-atom local part, `@`, a domain (RFC 5321 §4.1.2), UTF-8 allowed only where the server
//! offers SMTPUTF8. Anything that could smuggle a command or a header (spaces, CR, LF, `<>`) is
//! refused rather than escaped.

/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the angle brackets.
const MAX_ADDRESS: usize = 254;

/// Why a string is not an address the plugin will send to.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("it is empty")]
    Empty,
    #[error("it is longer than {MAX_ADDRESS} bytes")]
    TooLong,
    #[error("it has no `@` between a local part and a domain")]
    NoAt,
    #[error("its local part holds a character addresses cannot carry unquoted")]
    BadLocalPart,
    #[error("its domain is not a domain name")]
    BadDomain,
}

/// Checks `email` is `local@domain` with nothing a protocol line could trip over.
pub fn check_email(email: &str) -> Result<(), AddressError> {
    if email.is_empty() {
        return Err(AddressError::Empty);
    }
    if email.len() > MAX_ADDRESS {
        return Err(AddressError::TooLong);
    }
    let (local, domain) = email.rsplit_once('@').ok_or(AddressError::NoAt)?;
    if local.is_empty() || domain.is_empty() {
        return Err(AddressError::NoAt);
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii();
    let dot_atom = local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(|c| atext(c) && !c.is_control()));
    if !dot_atom {
        return Err(AddressError::BadLocalPart);
    }
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric()))
    };
    let literal = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')).is_some_and(|inside| {
        // `[192.0.2.1]`, `[IPv6:2001:db8::1]`
        !inside.is_empty() && inside.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':'))
    });
    if !literal && !domain.split('.').all(label) {
        return Err(AddressError::BadDomain);
    }
    Ok(())
}

/// The part after the last `@` (the whole string if there is none).
pub fn domain(email: &str) -> &str {
    email.rsplit_once('@').map_or(email, |(_, domain)| domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_and_international_addresses_pass() {
        for ok in [
            "a@b.example",
            "first.last+tag@sub.corp.example",
            "o'brien@corp.example",
            "zoë@bücher.example",
            "x@[127.0.0.1]",
            "x@[IPv6:::1]",
        ] {
            assert_eq!(check_email(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn anything_that_could_inject_is_refused() {
        assert_eq!(check_email(""), Err(AddressError::Empty));
        assert_eq!(check_email("no-at.example"), Err(AddressError::NoAt));
        assert_eq!(check_email("@b.example"), Err(AddressError::NoAt));
        assert_eq!(check_email(&format!("{}@b.example", "a".repeat(250))), Err(AddressError::TooLong));
        for bad in [
            "a b@c.example",
            "a\r\nRCPT TO:<x@y>@c.example",
            "a>@c.example",
            "<a@c.example",
            ".a@c.example",
            "a..b@c.example",
            "\"q\"@c.example",
            "a@c.example\r\nBcc: x@y",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
        for bad in ["a@-c.example", "a@c..example", "a@c example", "a@c.example>", "a@[1.2.3.4\r\n]"] {
            assert_eq!(check_email(bad), Err(AddressError::BadDomain), "{bad:?}");
        }
    }

    #[test]
    fn domain_is_after_the_last_at() {
        assert_eq!(domain("alerts@corp.example"), "corp.example");
    }
}
