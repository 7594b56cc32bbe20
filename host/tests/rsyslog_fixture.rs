//! The rsyslog fixture and the SIEM parsers, proven before other tests rely on them: what is sent
//! over raw UDP, TCP and TLS sockets comes back from rsyslog byte for byte, once, across a
//! restart; and the parsers read hand-written RFC 5424, CEF and LEEF lines, escapes included.

#[path = "common/rsyslog.rs"]
mod rsyslog;
#[path = "common/siem_parse.rs"]
mod siem_parse;

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use rsyslog::{Input, Rsyslog};

const WAIT: Duration = Duration::from_secs(5);

/// RFC 6587 octet counting: `MSG-LEN SP SYSLOG-MSG`, the length in bytes.
fn frame(msg: &str) -> Vec<u8> {
    format!("{} {msg}", msg.len()).into_bytes()
}

fn send_udp(addr: SocketAddr, msg: &str) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.send_to(msg.as_bytes(), addr).expect("send datagram");
}

fn send_tcp(addr: SocketAddr, msgs: &[&str]) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    for msg in msgs {
        stream.write_all(&frame(msg)).expect("send");
    }
}

fn send_tls(addr: SocketAddr, ca_pem: &str, msgs: &[&str]) {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("pem")).expect("root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("server name");
    let connection = rustls::ClientConnection::new(Arc::new(config), name).expect("TLS client");
    let mut tls = rustls::StreamOwned::new(connection, TcpStream::connect(addr).expect("connect"));
    for msg in msgs {
        tls.write_all(&frame(msg)).expect("send over TLS");
    }
    tls.conn.send_close_notify();
    tls.flush().expect("close_notify");
}

#[test]
fn every_input_gets_exactly_what_was_sent_and_again_after_a_restart() {
    let mut rsyslog = Rsyslog::start();
    let udp = r#"<134>1 2025-01-02T03:04:05.678Z host.example app 42 ID1 [ev@32473 note="a \"quote\" \\ and \]"] one datagram"#;
    let tcp = [
        "<134>1 2025-01-02T03:04:05Z host app - - - first",
        "<134>1 2025-01-02T03:04:05Z host app - - - two\nlines, tab\there, non-ASCII: é ü 日本 — \"q\" \\",
        "<134>1 2025-01-02T03:04:05Z host app - - - ends with a newline\n",
    ];
    let tls = ["<134>1 - host app - - - \u{feff}over TLS", "<134>1 - host app - - - CEF:0|V|P|1|sig|name|7|msg=a\\=b"];
    send_udp(rsyslog.udp_addr(), udp);
    send_tcp(rsyslog.tcp_addr(), &tcp);
    send_tls(rsyslog.tls_addr(), rsyslog.ca_pem(), &tls);
    assert_eq!(rsyslog.wait_for(Input::Udp, 1, WAIT), [udp]);
    assert_eq!(rsyslog.wait_for(Input::Tcp, 3, WAIT), tcp);
    assert_eq!(rsyslog.wait_for(Input::Tls, 2, WAIT), tls);

    // What arrived parses back field by field.
    let datagram = siem_parse::rfc5424(&rsyslog.received(Input::Udp)[0]);
    assert_eq!(datagram.param("ev@32473", "note"), Some(r#"a "quote" \ and ]"#));
    assert_eq!(datagram.msg, "one datagram");
    let record = siem_parse::rfc5424(&rsyslog.received(Input::Tls)[0]);
    assert!(record.bom);
    assert_eq!(record.msg, "over TLS");
    assert_eq!(siem_parse::cef(&rsyslog.received(Input::Tls)[1]).ext("msg"), Some("a=b"));

    rsyslog.stop();
    let refused = TcpStream::connect(rsyslog.tcp_addr()).map(|_| ()).map_err(|e| e.kind());
    assert_eq!(refused, Err(ErrorKind::ConnectionRefused), "TCP input still listening after stop");

    rsyslog.restart();
    let (udp_again, tcp_again, tls_again) =
        ("<14>1 - h a - - - udp again", "<14>1 - h a - - - tcp again", "<14>1 - h a - - - tls again");
    send_udp(rsyslog.udp_addr(), udp_again);
    send_tcp(rsyslog.tcp_addr(), &[tcp_again]);
    send_tls(rsyslog.tls_addr(), rsyslog.ca_pem(), &[tls_again]);
    assert_eq!(rsyslog.wait_for(Input::Udp, 2, WAIT), [udp, udp_again]);
    assert_eq!(rsyslog.wait_for(Input::Tcp, 4, WAIT), [tcp[0], tcp[1], tcp[2], tcp_again]);
    assert_eq!(rsyslog.wait_for(Input::Tls, 3, WAIT), [tls[0], tls[1], tls_again]);
}

mod parsers {
    use super::siem_parse::*;

    #[test]
    fn rfc5424_reads_every_header_field_and_unescapes_structured_data() {
        let line = concat!(
            r#"<165>1 2003-10-11T22:14:15.003+02:00 mymachine.example.com evntslog 1234 ID47 "#,
            r#"[exampleSDID@32473 iut="3" eventSource="App\"li\\cation\]" path="C:\temp"][examplePriority@32473 class="high"]"#,
            " \u{feff}An application event log entry..."
        );
        let parsed = rfc5424(line);
        assert_eq!((parsed.pri, parsed.facility(), parsed.severity(), parsed.version), (165, 20, 5, 1));
        assert_eq!(parsed.timestamp.as_deref(), Some("2003-10-11T22:14:15.003+02:00"));
        assert_eq!(parsed.hostname.as_deref(), Some("mymachine.example.com"));
        assert_eq!(parsed.app_name.as_deref(), Some("evntslog"));
        assert_eq!(parsed.procid.as_deref(), Some("1234"));
        assert_eq!(parsed.msgid.as_deref(), Some("ID47"));
        let params = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(
            parsed.structured_data,
            vec![
                (
                    "exampleSDID@32473".to_string(),
                    params(&[("iut", "3"), ("eventSource", r#"App"li\cation]"#), ("path", r"C:\temp")])
                ),
                ("examplePriority@32473".to_string(), params(&[("class", "high")])),
            ]
        );
        assert!(parsed.bom);
        assert_eq!(parsed.msg, "An application event log entry...");
    }

    #[test]
    fn rfc5424_takes_nilvalues_and_a_missing_msg() {
        let parsed = rfc5424("<0>1 - - - - - -");
        assert_eq!((parsed.timestamp, parsed.hostname, parsed.app_name), (None, None, None));
        assert_eq!((parsed.procid, parsed.msgid), (None, None));
        assert!(parsed.structured_data.is_empty());
        assert_eq!((parsed.bom, parsed.msg.as_str()), (false, ""));
        let parsed = rfc5424("<14>1 2025-01-02T03:04:05Z h a - - - multi\nline ");
        assert_eq!(parsed.msg, "multi\nline ");
        assert_eq!(rfc5424("<14>1 - h a - - [x a=\"\"]").param("x", "a"), Some(""));
    }

    #[test]
    fn rfc5424_rejects_what_the_rfc_forbids() {
        for line in [
            "14>1 - h a - - - no PRI",
            "<192>1 - h a - - - PRI too big",
            "<014>1 - h a - - - leading zero",
            "<14>0 - h a - - - version 0",
            "<14>1 2025-01-02 03:04:05 h a - - - bad timestamp",
            "<14>1 2025-01-02T03:04:05.1234567Z h a - - - fraction too long",
            "<14>1 - h  a - - - empty field",
            "<14>1 - h a - - [x a=\"un]escaped\"] msg",
            "<14>1 - h a - - [x a=\"unterminated] msg",
            "<14>1 - h a - - [x a=b] unquoted",
            "<14>1 - h a - - -msg without SP",
            "<14>1 - h a-name-longer-than-forty-eight-characters-is-not-allowed - - -",
        ] {
            assert!(try_rfc5424(line).is_err(), "accepted {line:?}");
        }
    }

    #[test]
    fn cef_splits_the_header_on_unescaped_pipes_and_the_extension_on_keys() {
        let text = concat!(
            "<134>1 2025-01-02T03:04:05Z host mtd - - - ",
            r"CEF:0|Ven\|dor|Pro\\duct|1.2|sig-1|Risky app|10|",
            r"act=Alert msg=two words\nand a line\r cs1Label=Device Type cs1=a\=b c\\d ",
            r"duser=alice@example.com cs4=not key=sep ad.field[0]=x"
        );
        let parsed = cef(text);
        assert_eq!(parsed.version, 0);
        assert_eq!((parsed.vendor.as_str(), parsed.product.as_str()), ("Ven|dor", r"Pro\duct"));
        assert_eq!((parsed.device_version.as_str(), parsed.signature_id.as_str()), ("1.2", "sig-1"));
        assert_eq!((parsed.name.as_str(), parsed.severity.as_str()), ("Risky app", "10"));
        let pairs: Vec<(&str, &str)> = parsed.extension.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("act", "Alert"),
                ("msg", "two words\nand a line\r"),
                ("cs1Label", "Device Type"),
                ("cs1", r"a=b c\d"),
                ("duser", "alice@example.com"),
                ("cs4", "not"),
                ("key", "sep"),
                ("ad.field[0]", "x"),
            ]
        );
        assert_eq!(parsed.ext("cs1Label"), Some("Device Type"));
        assert!(cef("CEF:1|V|P|1|s|n|High|").extension.is_empty());
    }

    #[test]
    fn cef_rejects_unescaped_specials() {
        for text in [
            "no marker",
            "CEF:0|V|P|1|s|n|7",
            r"CEF:0|V|P\x|1|s|n|7|",
            "CEF:0|V|P|1|s|n|11|",
            "CEF:0|V|P|1|s|n|7|msg=a=b",
            r"CEF:0|V|P|1|s|n|7|msg=C:\temp",
            "CEF:0|V|P|1|s|n|7|msg=raw\nnewline",
            "CEF:0|V|P|1|s|n|7| msg=leading space",
            r"CEF:0|V|P|1|s|n|7|msg=dangling\",
        ] {
            assert!(try_cef(text).is_err(), "accepted {text:?}");
        }
    }

    #[test]
    fn leef_2_uses_the_declared_delimiter_and_unescapes_it() {
        let text = concat!(
            "<134>1 2025-01-02T03:04:05Z host mtd - - - ",
            r"LEEF:2.0|Lookout|MTD|1.0|THREAT|^|devTime=1700000000000^usrName=a\^b^msg=x\\y\nz=w^sev=7^"
        );
        let parsed = leef(text);
        assert_eq!(
            (parsed.version.as_str(), parsed.vendor.as_str(), parsed.product.as_str()),
            ("2.0", "Lookout", "MTD")
        );
        assert_eq!((parsed.product_version.as_str(), parsed.event_id.as_str()), ("1.0", "THREAT"));
        assert_eq!(parsed.delimiter, '^');
        let pairs: Vec<(&str, &str)> = parsed.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("devTime", "1700000000000"), ("usrName", "a^b"), ("msg", "x\\y\nz=w"), ("sev", "7")]);
        for (spec, delimiter) in [("x5E", '^'), ("0x7c", '|'), ("", '\t'), ("\t", '\t')] {
            let parsed = leef(&format!("LEEF:2.0|V|P|1|E|{spec}|a=1{delimiter}b=2"));
            assert_eq!((parsed.delimiter, parsed.attr("b")), (delimiter, Some("2")), "delimiter {spec:?}");
        }
    }

    #[test]
    fn leef_1_is_tab_separated() {
        let parsed = leef("LEEF:1.0|V|P|1|E|src=10.0.0.1\tcat=Alert\tmsg=a\\\tb");
        assert_eq!(parsed.delimiter, '\t');
        assert_eq!(
            (parsed.attr("src"), parsed.attr("cat"), parsed.attr("msg")),
            (Some("10.0.0.1"), Some("Alert"), Some("a\tb"))
        );
    }

    #[test]
    fn leef_rejects_malformed_records() {
        for text in [
            "LEEF:3.0|V|P|1|E|a=1",
            "LEEF:2.0|V|P|1|E|xZZ|a=1",
            "LEEF:2.0|V|P|1|E|^^|a=1",
            "LEEF:1.0|V|P|1|E|novalue",
            "LEEF:1.0|V|P|1|E|a=raw\nnewline",
            r"LEEF:1.0|V|P|1|E|a=C:\xtemp",
            "LEEF:1.0|V|P|1",
        ] {
            assert!(try_leef(text).is_err(), "accepted {text:?}");
        }
    }
}
