//! The tasks this connector holds: running, or answered with the result not yet acknowledged by
//! the relay. Heartbeats list both (so the relay keeps their leases), and a task held in either
//! state is never started twice. One lock covers both sets, so a task is always in one of them
//! until the relay has its result.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::task::AbortHandle;

#[derive(Default)]
struct Sets {
    running: HashMap<String, AbortHandle>,
    answered: HashSet<String>,
}

pub struct Held {
    sets: Mutex<Sets>,
    /// `running.len()`, published for `connector.status`.
    in_flight: Arc<AtomicUsize>,
}

impl Held {
    pub fn new(in_flight: Arc<AtomicUsize>) -> Self {
        Self { sets: Mutex::default(), in_flight }
    }

    fn lock(&self) -> MutexGuard<'_, Sets> {
        // The sets stay consistent whatever panicked while holding the lock: each update is one
        // insert or remove.
        self.sets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, sets: &Sets) {
        self.in_flight.store(sets.running.len(), Ordering::Relaxed);
    }

    /// Runs `spawn` and records the task as running, unless this connector already holds `id`
    /// (the relay re-issued a task it is running or has answered). The lock is held while
    /// spawning, so the task cannot be answered before it is recorded.
    pub fn start(&self, id: &str, spawn: impl FnOnce() -> AbortHandle) -> bool {
        let mut sets = self.lock();
        if sets.running.contains_key(id) || sets.answered.contains(id) {
            return false;
        }
        sets.running.insert(id.to_string(), spawn());
        self.publish(&sets);
        true
    }

    /// The task finished (or was refused before it ran): held now until its result is
    /// acknowledged.
    pub fn answered(&self, id: &str) {
        let mut sets = self.lock();
        sets.answered.insert(id.to_string());
        sets.running.remove(id);
        self.publish(&sets);
    }

    /// The relay has these results (or will never take them): the tasks are no longer held.
    pub fn acknowledged<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut sets = self.lock();
        for id in ids {
            sets.answered.remove(id);
        }
    }

    /// Stops the running tasks among `ids`; returns those stopped.
    pub fn cancel(&self, ids: &[String]) -> Vec<String> {
        let mut sets = self.lock();
        let stopped: Vec<String> = ids
            .iter()
            .filter_map(|id| sets.running.remove(id).map(|handle| (id, handle)))
            .map(|(id, handle)| {
                handle.abort();
                id.clone()
            })
            .collect();
        self.publish(&sets);
        stopped
    }

    /// Stops every running task (at the end of the drain); returns their ids.
    pub fn abort_running(&self) -> Vec<String> {
        let mut sets = self.lock();
        let stopped = sets
            .running
            .drain()
            .map(|(id, handle)| {
                handle.abort();
                id
            })
            .collect();
        self.publish(&sets);
        stopped
    }

    /// Every task held, for a heartbeat.
    pub fn ids(&self) -> Vec<String> {
        let sets = self.lock();
        sets.running.keys().chain(&sets.answered).cloned().collect()
    }

    pub fn running(&self) -> usize {
        self.lock().running.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_is_held_from_start_to_acknowledgement_and_never_started_twice() {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let held = Held::new(in_flight.clone());
        let idle = || tokio::spawn(std::future::pending::<()>()).abort_handle();
        assert!(held.start("t-1", idle));
        assert!(!held.start("t-1", idle), "already running");
        assert_eq!(in_flight.load(Ordering::Relaxed), 1);
        held.answered("t-1");
        assert_eq!((held.running(), held.ids()), (0, vec!["t-1".to_string()]));
        assert!(!held.start("t-1", idle), "answered, result not yet acknowledged");
        held.acknowledged(["t-1"]);
        assert!(held.ids().is_empty());
        assert!(held.start("t-1", idle), "a task the relay re-issues after acknowledging may run again");
        assert_eq!(held.cancel(&["t-1".to_string(), "t-9".to_string()]), ["t-1"]);
        assert_eq!(in_flight.load(Ordering::Relaxed), 0);
    }
}
