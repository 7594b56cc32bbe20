//! A real directory (Debian's OpenLDAP `slapd`) on loopback, as a company's would be: people,
//! groups, a service account, and TLS from a private CA on both ldaps:// and StartTLS.
//! `scripts/install-test-deps` installs it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use emulator_kit::private_ca::PrivateCa;

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";

pub const SUFFIX: &str = "dc=example,dc=com";
pub const PEOPLE: &str = "ou=people,dc=example,dc=com";
pub const GROUPS: &str = "ou=groups,dc=example,dc=com";
pub const ADMINS: &str = "cn=connector-admins,ou=groups,dc=example,dc=com";
pub const SERVICE_DN: &str = "cn=svc,dc=example,dc=com";
pub const SERVICE_PASSWORD: &str = "svc-password-1";
/// In connector-admins (and staff).
pub const ALICE_PASSWORD: &str = "alice-password-1";
/// In staff only.
pub const BOB_PASSWORD: &str = "bob-password-1";
/// `uid=dave(*)`: filter characters in the name itself; in connector-admins.
pub const DAVE: &str = "dave(*)";
pub const DAVE_PASSWORD: &str = "dave-password-1";
/// Two entries named `twin` (in different OUs), both in connector-admins.
pub const TWIN_PASSWORD: &str = "twin-password-1";

pub struct Slapd {
    child: Child,
    pub ldap_port: u16,
    pub ldaps_port: u16,
    /// The CA that signed the server's certificate (for `localhost` and `127.0.0.1`), PEM.
    pub ca_pem: String,
    dir: tempfile::TempDir,
}

impl Slapd {
    /// A fresh directory, loaded and accepting connections on both ports.
    pub fn start() -> Slapd {
        assert!(
            Path::new(SLAPD).is_file() && Path::new(SLAPADD).is_file(),
            "OpenLDAP's slapd is not installed: run `scripts/install-test-deps` (apt-get install slapd ldap-utils)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = |name: &str| dir.path().join(name);
        let ca = PrivateCa::new("Directory Test CA").expect("CA");
        std::fs::write(path("server.pem"), pem("CERTIFICATE", &ca.server_cert)).expect("write cert");
        std::fs::write(path("server.key"), pem("PRIVATE KEY", &ca.server_key)).expect("write key");
        std::fs::create_dir(path("db")).expect("mkdir db");
        std::fs::write(path("slapd.conf"), config(dir.path())).expect("write slapd.conf");
        std::fs::write(path("data.ldif"), DATA).expect("write LDIF");

        // Loaded offline, before the server starts: nothing to wait for but the process.
        let loaded = Command::new(SLAPADD)
            .arg("-q")
            .arg("-f")
            .arg(path("slapd.conf"))
            .arg("-l")
            .arg(path("data.ldif"))
            .output()
            .expect("run slapadd");
        assert!(loaded.status.success(), "slapadd failed: {}", String::from_utf8_lossy(&loaded.stderr));

        let (ldap_port, ldaps_port) = (free_port(), free_port());
        let log = std::fs::File::create(path("slapd.log")).expect("log file");
        let mut child = Command::new(SLAPD)
            .args(["-d", "0", "-f"])
            .arg(path("slapd.conf"))
            .arg("-h")
            .arg(format!("ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start slapd");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", ldaps_port)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", ldap_port)).is_err()
        {
            let log = || std::fs::read_to_string(path("slapd.log")).unwrap_or_default();
            if let Ok(Some(status)) = child.try_wait() {
                panic!("slapd exited ({status}): {}", log());
            }
            assert!(started.elapsed() < Duration::from_secs(10), "slapd did not start listening: {}", log());
            std::thread::sleep(Duration::from_millis(20));
        }
        Slapd { child, ldap_port, ldaps_port, ca_pem: ca.ca_pem.clone(), dir }
    }

    pub fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap_port)
    }

    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// Writes the server's CA to a file, for `ca_file`.
    pub fn ca_file(&self) -> PathBuf {
        let file = self.dir.path().join("ca.pem");
        std::fs::write(&file, &self.ca_pem).expect("write CA");
        file
    }

    /// Stops the server; its ports then refuse connections.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn config(dir: &Path) -> String {
    let dir = dir.display();
    format!(
        r#"include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
TLSCertificateFile {dir}/server.pem
TLSCertificateKeyFile {dir}/server.key

database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "cn=admin,{SUFFIX}"
rootpw admin-password-1
directory {dir}/db
# Passwords are only for binding; the service account reads everything else, users themselves.
access to attrs=userPassword
    by anonymous auth
    by * none
access to *
    by dn.exact="{SERVICE_DN}" read
    by self read
    by * none
"#
    )
}

const DATA: &str = "\
dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: people

dn: ou=contractors,ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: contractors

dn: ou=groups,dc=example,dc=com
objectClass: organizationalUnit
ou: groups

dn: cn=svc,dc=example,dc=com
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: svc
userPassword: svc-password-1

dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Alice Admin
sn: Admin
userPassword: alice-password-1

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob
cn: Bob Staff
sn: Staff
userPassword: bob-password-1

dn: uid=carol,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: carol
cn: Carol )(uid=*
sn: *)(|(uid=*
description: *
userPassword: carol-password-1

dn: uid=dave(*),ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: dave(*)
cn: Dave
sn: Parens
userPassword: dave-password-1

dn: uid=twin,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: twin
cn: Twin One
sn: Twin
userPassword: twin-password-1

dn: uid=twin,ou=contractors,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: twin
cn: Twin Two
sn: Twin
userPassword: twin-password-1

dn: cn=connector-admins,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: connector-admins
member: uid=alice,ou=people,dc=example,dc=com
member: uid=dave(*),ou=people,dc=example,dc=com
member: uid=twin,ou=people,dc=example,dc=com
member: uid=twin,ou=contractors,ou=people,dc=example,dc=com

dn: cn=staff,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: staff
member: uid=alice,ou=people,dc=example,dc=com
member: uid=bob,ou=people,dc=example,dc=com
member: uid=carol,ou=people,dc=example,dc=com
";

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}
