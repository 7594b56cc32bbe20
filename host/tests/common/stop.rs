//! Stopping a test server the way an administrator would (included with `#[path]`).

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// SIGTERM, so the server writes out what it accepted and closes its ports, then waits up to
/// 5 s; SIGKILL after that. (std can only SIGKILL.)
pub fn terminate(mut child: Child) {
    let asked = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    if asked.is_ok_and(|status| status.success()) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
