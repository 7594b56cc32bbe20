//! Facts about the call in progress (`msc:host/call`): how long it has left, and whose it is.

use std::time::Instant;

use crate::ids::InstanceName;
use crate::plugins::bindings::host::msc::host::call::Host;

/// `msc:host/call` for one call.
pub struct CallView<'a> {
    pub instance: &'a InstanceName,
    pub deadline: Instant,
}

/// [`wasmtime::component::HasData`] marker for linking `msc:host/call`.
pub struct Call;

impl wasmtime::component::HasData for Call {
    type Data<'a> = CallView<'a>;
}

impl Host for CallView<'_> {
    fn remaining_ms(&mut self) -> wasmtime::Result<u64> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        Ok(u64::try_from(left.as_millis()).unwrap_or(u64::MAX))
    }

    fn instance_name(&mut self) -> wasmtime::Result<String> {
        Ok(self.instance.to_string())
    }
}
