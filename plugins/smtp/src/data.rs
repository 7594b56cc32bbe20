//! The message as written after `354` (RFC 5321 §4.5.2): every line ending CRLF (a bare CR or LF
//! becomes CRLF: the SMTP smuggling defence), a leading `.` doubled, and the end-of-data `.`
//! line sent separately by the caller, since that write decides whether the outcome is known.

use crate::error::SmtpError;
use crate::mime::MAX_LINE;

/// `message` ready for the wire, without the final `.` line.
pub fn stuffed(message: &[u8]) -> Result<Vec<u8>, SmtpError> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 64 + 2);
    let mut line_start = true;
    let mut length = 0;
    let mut i = 0;
    while i < message.len() {
        let byte = message[i];
        match byte {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                let crlf = byte == b'\r' && message.get(i + 1) == Some(&b'\n');
                i += if crlf { 2 } else { 1 };
                line_start = true;
                length = 0;
                continue;
            }
            b'.' if line_start => out.extend_from_slice(b".."),
            _ => out.push(byte),
        }
        line_start = false;
        length += 1;
        if length > MAX_LINE {
            return Err(SmtpError::LineTooLong);
        }
        i += 1;
    }
    if !line_start || out.is_empty() {
        out.extend_from_slice(b"\r\n");
    }
    Ok(out)
}

/// The end-of-data line.
pub const END: &[u8] = b".\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_are_stuffed_and_line_ends_normalised() {
        let wire = stuffed(b".first\r\nmid.dle\n..two\rlast.").expect("stuffed");
        assert_eq!(wire, b"..first\r\nmid.dle\r\n...two\r\nlast.\r\n");
    }

    #[test]
    fn a_lone_dot_line_cannot_end_the_message_early() {
        let wire = stuffed(b"a\r\n.\r\nRCPT TO:<evil@x>\r\n").expect("stuffed");
        assert_eq!(wire, b"a\r\n..\r\nRCPT TO:<evil@x>\r\n");
        // Smuggling with a bare LF before the dot is normalised first.
        let wire = stuffed(b"a\n.\nMAIL FROM:<evil@x>\n").expect("stuffed");
        assert_eq!(wire, b"a\r\n..\r\nMAIL FROM:<evil@x>\r\n");
        let wire = stuffed(b"a\r.\r").expect("stuffed");
        assert!(!wire.windows(5).any(|w| w == b"\r\n.\r\n"), "{:?}", String::from_utf8_lossy(&wire));
    }

    #[test]
    fn empty_and_terminated_messages_end_with_one_crlf() {
        assert_eq!(stuffed(b"").expect("stuffed"), b"\r\n");
        assert_eq!(stuffed(b"x\r\n").expect("stuffed"), b"x\r\n");
    }

    #[test]
    fn overlong_lines_are_a_bug_not_a_send() {
        assert!(stuffed(&vec![b'x'; 998]).is_ok());
        assert!(matches!(stuffed(&vec![b'x'; 999]), Err(SmtpError::LineTooLong)));
    }
}
