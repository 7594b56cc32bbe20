//! The durable event queues: one per SIEM target, in one embedded store (redb: an ACID,
//! crash-safe, pure-Rust B-tree file). An event task is acknowledged to the cloud only after its
//! records are committed here; a record leaves only after its target took it.
//!
//! Per target: `q:<target>` maps a sequence number to a formatted record (delivery order);
//! `seen:<target>` remembers the event ids queued in the last week, so an event the cloud sends
//! again (a task re-leased after a crash before its result arrived) is not delivered twice;
//! `meta` holds each target's next sequence number.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

/// Event ids are remembered this long for de-duplication.
const SEEN_FOR: Duration = Duration::from_secs(7 * 24 * 3600);
/// Forgetting old event ids scans a table: done once per this many appends.
const PRUNE_EVERY: u64 = 1000;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the event store {}: {reason}", path.display())]
    Store { path: PathBuf, reason: String },
    #[error(
        "the queue of SIEM target `{target}` is full ({queued} events waiting, at most {max}): the SIEM has not taken events for a while"
    )]
    Full { target: String, queued: u64, max: u64 },
}

/// What an append did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub queued: u64,
    /// Events already queued (or delivered) before: skipped.
    pub duplicates: u64,
}

pub struct EventStore {
    db: Database,
    path: PathBuf,
    appends: std::sync::atomic::AtomicU64,
}

impl EventStore {
    /// Opens (creating) `dir/events.redb`; `dir` is made with mode 0700 — the queue holds
    /// restored personal data.
    pub fn open(dir: &Path) -> Result<Self, QueueError> {
        let path = dir.join("events.redb");
        let error = |reason: String| QueueError::Store { path: path.clone(), reason };
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| error(format!("cannot create its folder: {e}")))?;
        let db = Database::create(&path).map_err(|e| error(e.to_string()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        }
        Ok(Self { db, path, appends: Default::default() })
    }

    /// Appends `records` (event id, formatted bytes) to `target`'s queue in one durable commit,
    /// skipping events seen before. Refuses the whole batch when it would exceed `max`.
    pub fn append(&self, target: &str, records: &[(String, Vec<u8>)], max: u64) -> Result<Appended, QueueError> {
        let (queue_name, seen_name, seq_key) = names(target);
        let queue_table: TableDefinition<u64, &[u8]> = TableDefinition::new(&queue_name);
        let seen_table: TableDefinition<&str, u64> = TableDefinition::new(&seen_name);
        let now = now_ms();
        let prune = self.appends.fetch_add(1, std::sync::atomic::Ordering::Relaxed).is_multiple_of(PRUNE_EVERY);
        let mut txn = self.db.begin_write().map_err(|e| self.error(e))?;
        txn.set_durability(Durability::Immediate).map_err(|e| self.error(e))?;
        let mut appended = Appended::default();
        {
            let mut queue = txn.open_table(queue_table).map_err(|e| self.error(e))?;
            let mut seen = txn.open_table(seen_table).map_err(|e| self.error(e))?;
            let mut meta = txn.open_table(META).map_err(|e| self.error(e))?;
            let queued = queue.len().map_err(|e| self.error(e))?;
            if queued + records.len() as u64 > max {
                return Err(QueueError::Full { target: target.to_string(), queued, max });
            }
            let mut seq = meta.get(seq_key.as_str()).map_err(|e| self.error(e))?.map_or(0, |v| v.value());
            for (event_id, bytes) in records {
                if seen.get(event_id.as_str()).map_err(|e| self.error(e))?.is_some() {
                    appended.duplicates += 1;
                    continue;
                }
                seen.insert(event_id.as_str(), now).map_err(|e| self.error(e))?;
                queue.insert(seq, bytes.as_slice()).map_err(|e| self.error(e))?;
                seq += 1;
                appended.queued += 1;
            }
            meta.insert(seq_key.as_str(), seq).map_err(|e| self.error(e))?;
            if prune {
                let cutoff = now.saturating_sub(SEEN_FOR.as_millis() as u64);
                seen.retain(|_, at| at >= cutoff).map_err(|e| self.error(e))?;
            }
        }
        txn.commit().map_err(|e| self.error(e))?;
        Ok(appended)
    }

    /// The oldest records of `target`, at most `max_records` and about `max_bytes` (always at
    /// least one when any is queued).
    pub fn peek(&self, target: &str, max_records: usize, max_bytes: usize) -> Result<Vec<(u64, Vec<u8>)>, QueueError> {
        let (queue_name, _, _) = names(target);
        let queue_table: TableDefinition<u64, &[u8]> = TableDefinition::new(&queue_name);
        let txn = self.db.begin_read().map_err(|e| self.error(e))?;
        let queue = match txn.open_table(queue_table) {
            Ok(queue) => queue,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.error(e)),
        };
        let mut out = Vec::new();
        let mut bytes = 0;
        for entry in queue.range(0..).map_err(|e| self.error(e))? {
            let (seq, record) = entry.map_err(|e| self.error(e))?;
            if !out.is_empty() && (out.len() >= max_records || bytes + record.value().len() > max_bytes) {
                break;
            }
            bytes += record.value().len();
            out.push((seq.value(), record.value().to_vec()));
        }
        Ok(out)
    }

    /// Removes `target`'s records up to and including `seq`: they were delivered.
    pub fn remove_through(&self, target: &str, seq: u64) -> Result<(), QueueError> {
        let (queue_name, _, _) = names(target);
        let queue_table: TableDefinition<u64, &[u8]> = TableDefinition::new(&queue_name);
        let mut txn = self.db.begin_write().map_err(|e| self.error(e))?;
        txn.set_durability(Durability::Immediate).map_err(|e| self.error(e))?;
        {
            let mut queue = txn.open_table(queue_table).map_err(|e| self.error(e))?;
            queue.retain_in(..=seq, |_, _| false).map_err(|e| self.error(e))?;
        }
        txn.commit().map_err(|e| self.error(e))
    }

    /// How many records `target` has waiting.
    pub fn len(&self, target: &str) -> Result<u64, QueueError> {
        let (queue_name, _, _) = names(target);
        let queue_table: TableDefinition<u64, &[u8]> = TableDefinition::new(&queue_name);
        let txn = self.db.begin_read().map_err(|e| self.error(e))?;
        match txn.open_table(queue_table) {
            Ok(queue) => queue.len().map_err(|e| self.error(e)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(self.error(e)),
        }
    }

    fn error(&self, e: impl std::fmt::Display) -> QueueError {
        QueueError::Store { path: self.path.clone(), reason: e.to_string() }
    }
}

/// Runs store work (file I/O, fsync) off the async workers.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, QueueError> + Send + 'static,
) -> Result<T, QueueError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(QueueError::Store { path: "(store task)".into(), reason: e.to_string() }))
}

fn names(target: &str) -> (String, String, String) {
    (format!("q:{target}"), format!("seen:{target}"), format!("seq:{target}"))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(ids: std::ops::Range<u32>) -> Vec<(String, Vec<u8>)> {
        ids.map(|i| (format!("e{i}"), format!("record {i}").into_bytes())).collect()
    }

    #[test]
    fn records_come_out_in_order_once_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EventStore::open(dir.path()).expect("open");
        assert_eq!(store.append("soc", &records(0..5), 100).expect("append"), Appended { queued: 5, duplicates: 0 });
        assert_eq!(store.append("soc", &records(3..8), 100).expect("append"), Appended { queued: 3, duplicates: 2 });
        assert_eq!(store.len("soc").expect("len"), 8);
        assert_eq!(store.len("other").expect("len"), 0);
        let first = store.peek("soc", 3, 1 << 20).expect("peek");
        assert_eq!(
            first.iter().map(|(_, r)| String::from_utf8_lossy(r).into_owned()).collect::<Vec<_>>(),
            ["record 0", "record 1", "record 2"]
        );
        store.remove_through("soc", first[2].0).expect("remove");
        drop(store);
        let store = EventStore::open(dir.path()).expect("reopen");
        let rest = store.peek("soc", 100, 1 << 20).expect("peek");
        assert_eq!(rest.len(), 5);
        assert_eq!(rest[0].1, b"record 3");
        assert_eq!(
            store.append("soc", &records(0..2), 100).expect("append").duplicates,
            2,
            "delivered ids are remembered"
        );
    }

    #[test]
    fn a_full_queue_refuses_the_whole_batch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EventStore::open(dir.path()).expect("open");
        store.append("soc", &records(0..8), 10).expect("append");
        let error = store.append("soc", &records(8..11), 10).expect_err("full");
        assert!(matches!(error, QueueError::Full { queued: 8, max: 10, .. }), "{error}");
        assert_eq!(store.len("soc").expect("len"), 8, "nothing of the refused batch");
        assert_eq!(store.peek("soc", 100, 10).expect("peek").len(), 1, "at least one record even above max_bytes");
    }
}
