//! Writing down what sends decided: a thread of its own commits the outbox's changes in groups,
//! so the next mail goes out while the last one's result is being written, and one fsync serves
//! every result that finished meanwhile. The deliverer flushes before it reads the outbox again.

use std::sync::Arc;

use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

use super::QUEUE;
use crate::store::Store;
use crate::store::outcomes::Outcomes;

/// One mail's change.
pub enum Change {
    /// Out of the outbox; its outcome waits for the relay.
    Done { seq: u64, task: String, frame: Box<RawValue> },
    /// Stays, with new bookkeeping (tries, next attempt, last error).
    Retry { seq: u64, entry: Vec<u8> },
}

enum Work {
    Change(Change),
    Flush(oneshot::Sender<()>),
}

pub struct Committer {
    work: mpsc::UnboundedSender<Work>,
}

impl Committer {
    /// Starts the committing thread; it ends when the committer is dropped, after the changes
    /// already added.
    pub fn start(store: Arc<Store>, outcomes: Arc<Outcomes>) -> Self {
        let (work, mut queue) = mpsc::unbounded_channel();
        tokio::task::spawn_blocking(move || {
            while let Some(first) = queue.blocking_recv() {
                let mut changes = Vec::new();
                let mut flushed = Vec::new();
                let mut next = Some(first);
                while let Some(item) = next.take().or_else(|| queue.try_recv().ok()) {
                    match item {
                        Work::Change(change) => changes.push(change),
                        Work::Flush(done) => flushed.push(done),
                    }
                }
                if !changes.is_empty() {
                    commit(&store, &outcomes, &changes);
                }
                for done in flushed {
                    let _ = done.send(());
                }
            }
        });
        Self { work }
    }

    pub fn add(&self, change: Change) {
        let _ = self.work.send(Work::Change(change));
    }

    /// Returns once every change added before is committed (or failed and was logged).
    pub async fn flush(&self) {
        let (done, committed) = oneshot::channel();
        if self.work.send(Work::Flush(done)).is_ok() {
            let _ = committed.await;
        }
    }
}

/// One commit for `changes`. When it fails, the mails stay in the outbox as they were and go
/// again: at least once, never lost.
fn commit(store: &Store, outcomes: &Outcomes, changes: &[Change]) {
    let written = store.write(|tx| {
        for change in changes {
            match change {
                Change::Done { seq, task, frame } => {
                    tx.remove(QUEUE, *seq)?;
                    Outcomes::add(tx, task, frame)?;
                }
                Change::Retry { seq, entry } => tx.update(QUEUE, *seq, entry)?,
            }
        }
        Ok(())
    });
    match written {
        Ok(()) if changes.iter().any(|c| matches!(c, Change::Done { .. })) => outcomes.added(),
        Ok(()) => {}
        Err(error) => tracing::error!(mails = changes.len(), "mail outbox: {error}; these mails stay queued"),
    }
}
