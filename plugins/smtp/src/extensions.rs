//! The service extensions a server lists in its EHLO reply (RFC 5321 §4.1.1.1).

use crate::reply::Reply;

/// What the server offers, from one EHLO reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    pub starttls: bool,
    /// RFC 2920: commands may be sent in groups.
    pub pipelining: bool,
    /// RFC 6531: UTF-8 addresses and headers.
    pub smtputf8: bool,
    /// RFC 6152.
    pub eight_bit_mime: bool,
    /// RFC 1870: `Some(0)` when offered without a limit.
    pub size: Option<u64>,
    /// SASL mechanisms, upper case.
    pub auth: Vec<String>,
    /// Every keyword, upper case, for the self-test.
    pub keywords: Vec<String>,
}

impl Extensions {
    /// Reads the keyword lines of an EHLO reply (every line after the first).
    pub fn parse(reply: &Reply) -> Extensions {
        let mut extensions = Extensions::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_whitespace();
            let Some(keyword) = words.next() else { continue };
            let keyword = keyword.to_ascii_uppercase();
            // Some servers still write the pre-standard `AUTH=PLAIN LOGIN`.
            let (keyword, first_param) = match keyword.split_once('=') {
                Some((k, p)) => (k.to_string(), Some(p.to_string())),
                None => (keyword, None),
            };
            let params: Vec<String> = first_param.into_iter().chain(words.map(str::to_string)).collect();
            match keyword.as_str() {
                "STARTTLS" => extensions.starttls = true,
                "PIPELINING" => extensions.pipelining = true,
                "SMTPUTF8" => extensions.smtputf8 = true,
                "8BITMIME" => extensions.eight_bit_mime = true,
                "SIZE" => extensions.size = Some(params.first().and_then(|p| p.parse().ok()).unwrap_or(0)),
                "AUTH" => {
                    for mechanism in params {
                        let mechanism = mechanism.to_ascii_uppercase();
                        if !extensions.auth.contains(&mechanism) {
                            extensions.auth.push(mechanism);
                        }
                    }
                }
                _ => {}
            }
            if !extensions.keywords.contains(&keyword) {
                extensions.keywords.push(keyword);
            }
        }
        extensions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_extensions_that_matter() {
        let reply = Reply::parse(
            "250-mail.example at your service\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n250-STARTTLS\r\n\
             250-AUTH LOGIN PLAIN XOAUTH2\r\n250-AUTH=LOGIN\r\n250-pipelining\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n",
        )
        .expect("reply");
        let e = Extensions::parse(&reply);
        assert!(e.starttls && e.pipelining && e.smtputf8 && e.eight_bit_mime);
        assert_eq!(e.size, Some(35_882_577));
        assert_eq!(e.auth, ["LOGIN", "PLAIN", "XOAUTH2"]);
        assert_eq!(
            e.keywords,
            ["SIZE", "8BITMIME", "STARTTLS", "AUTH", "PIPELINING", "ENHANCEDSTATUSCODES", "SMTPUTF8"]
        );
    }

    #[test]
    fn the_greeting_line_is_not_an_extension() {
        let e = Extensions::parse(&Reply::parse("250 STARTTLS\r\n").expect("reply"));
        assert_eq!(e, Extensions::default(), "a one-line reply offers nothing");
    }
}
