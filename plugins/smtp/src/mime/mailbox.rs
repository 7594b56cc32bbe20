//! Mailboxes in address headers (RFC 5322 §3.4): `Display Name <local@domain>`, the name as
//! atoms, a quoted-string or encoded-words (RFC 2047 §5(3)), whichever it needs.

use super::encode::{encoded_words, one_line};

/// A quoted display name longer than this is sent as encoded-words, which fold.
const MAX_QUOTED: usize = 200;

/// The words of one mailbox; `email` was checked by [`crate::address::check_email`].
pub fn words(name: Option<&str>, email: &str) -> Vec<String> {
    let name = name.map(one_line);
    let name = name.as_deref().map(str::trim).unwrap_or("");
    if name.is_empty() {
        return vec![email.to_string()];
    }
    let mut words = phrase(name);
    words.push(format!("<{email}>"));
    words
}

/// The words of a mailbox list, commas attached to the mailbox they end.
pub fn list(mailboxes: &[Vec<String>]) -> Vec<String> {
    let mut words = Vec::new();
    for (i, mailbox) in mailboxes.iter().enumerate() {
        let mut mailbox = mailbox.clone();
        if i + 1 < mailboxes.len()
            && let Some(last) = mailbox.last_mut()
        {
            last.push(',');
        }
        words.extend(mailbox);
    }
    words
}

/// A display name: atoms when it is only atoms, a quoted-string when it is other printable
/// ASCII, encoded-words otherwise.
fn phrase(name: &str) -> Vec<String> {
    let printable = name.bytes().all(|b| (32..=126).contains(&b)) && !name.contains("=?");
    if !printable || name.len() > MAX_QUOTED {
        return encoded_words(name);
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    if name.split(' ').all(|word| !word.is_empty() && word.chars().all(atext)) {
        return name.split(' ').map(str::to_string).collect();
    }
    let escaped: String =
        name.chars().flat_map(|c| if matches!(c, '"' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
    vec![format!("\"{escaped}\"")]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(name: Option<&str>, email: &str) -> String {
        words(name, email).join(" ")
    }

    #[test]
    fn names_are_atoms_quoted_or_encoded() {
        assert_eq!(joined(None, "a@b.example"), "a@b.example");
        assert_eq!(joined(Some("  "), "a@b.example"), "a@b.example");
        assert_eq!(joined(Some("Grace Hopper"), "g@b.example"), "Grace Hopper <g@b.example>");
        assert_eq!(joined(Some("Hopper, Grace"), "g@b.example"), "\"Hopper, Grace\" <g@b.example>");
        assert_eq!(
            joined(Some("Grace \"Amazing\" O\\Hopper"), "g@b.example"),
            "\"Grace \\\"Amazing\\\" O\\\\Hopper\" <g@b.example>"
        );
        assert_eq!(joined(Some("Zoë"), "z@b.example"), "=?utf-8?B?Wm/Dqw==?= <z@b.example>");
    }

    #[test]
    fn a_name_cannot_inject_a_header_or_an_address() {
        let words = words(Some("Eve\r\nBcc: victim@example.com"), "e@b.example");
        assert!(words.iter().all(|w| !w.contains(['\r', '\n'])));
        assert_eq!(words.join(" "), "\"Eve  Bcc: victim@example.com\" <e@b.example>");
        let words = super::words(Some("x <evil@example.com>"), "e@b.example");
        assert_eq!(words.join(" "), "\"x <evil@example.com>\" <e@b.example>");
    }

    #[test]
    fn lists_separate_mailboxes_with_commas() {
        let list = list(&[words(Some("A"), "a@b.example"), words(None, "c@d.example")]);
        assert_eq!(list.join(" "), "A <a@b.example>, c@d.example");
    }
}
