//! The fault script: what the next `sendMail` requests suffer, in order, one fault each.

use std::collections::VecDeque;
use std::time::Duration;

/// One scripted fault for one `sendMail` request (after authentication, permission, mailbox and
/// throttling checks passed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 503 `ErrorServerBusy` with `Retry-After`; the message is not taken.
    Busy { retry_after_secs: u64 },
    /// 429 `ApplicationThrottled` with `Retry-After`; the message is not taken.
    Throttled { retry_after_secs: u64 },
    /// The message is taken (stored as sent), then the answer is 504: the ambiguous failure.
    AcceptThen504,
    /// The request waits this long, then is handled as usual; a client that gives up first
    /// finds the message sent anyway.
    Delay(Duration),
}

#[derive(Default)]
pub struct Script {
    next: VecDeque<Fault>,
}

impl Script {
    pub fn push(&mut self, fault: Fault, times: u32) {
        self.next.extend(std::iter::repeat_n(fault, times as usize));
    }

    /// The fault for the next request, if any is left.
    pub fn take(&mut self) -> Option<Fault> {
        self.next.pop_front()
    }

    pub fn clear(&mut self) {
        self.next.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_run_in_order_and_run_out() {
        let mut script = Script::default();
        script.push(Fault::Busy { retry_after_secs: 2 }, 2);
        script.push(Fault::AcceptThen504, 1);
        assert_eq!(script.take(), Some(Fault::Busy { retry_after_secs: 2 }));
        assert_eq!(script.take(), Some(Fault::Busy { retry_after_secs: 2 }));
        assert_eq!(script.take(), Some(Fault::AcceptThen504));
        assert_eq!(script.take(), None);
    }
}
