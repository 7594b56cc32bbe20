//! Facts about the call in progress.

use std::time::Duration;

use crate::bindings::base::msc::host::call;

/// Time left before the connector stops this call. Retries and back-off must fit in it.
pub fn remaining() -> Duration {
    Duration::from_millis(call::remaining_ms())
}

/// The instance's name from the connector's config.
pub fn instance_name() -> String {
    call::instance_name()
}
