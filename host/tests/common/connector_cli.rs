//! Running the `connector` binary from a test: the UEM CLI tests share these.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the connector without blocking an emulator that shares the test's runtime.
pub async fn connector(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_connector"))
            .args(&args)
            .env("MSC_LOG", "trace,wasmtime=info,cranelift_codegen=info,regalloc2=info")
            .output()
            .expect("run connector")
    })
    .await
    .expect("join")
}

/// Everything the run printed, stdout then stderr.
pub fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The stdout of a run that must have succeeded.
pub fn ok(output: &Output) -> String {
    assert!(output.status.success(), "{}", text(output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Writes `text` to `dir/name`, readable by its owner only (as a secret file must be).
pub fn write_secret(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
}
