//! The connector's durable store: one embedded database file (redb: ACID, crash-safe, pure Rust)
//! holding every queue whose contents must survive a restart or an outage — the SIEM targets'
//! event queues, the mail outbox, and the outcomes waiting for the relay. Work the cloud hands
//! over is acknowledged only after it is committed here.
//!
//! A queue is an ordered map from a sequence number to bytes the owner chose, plus the ids queued
//! in the last week (so an item the cloud sends again, a task re-leased after a crash, is not
//! queued twice). Several changes to several queues commit together through [`Store::write`]:
//! "this mail left the outbox" and "its outcome waits for the relay" are one commit, never half.

pub mod outcomes;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};

/// The store's file inside its folder.
pub const FILE_NAME: &str = "connector.redb";
/// Item ids are remembered this long for de-duplication.
const SEEN_FOR: Duration = Duration::from_secs(7 * 24 * 3600);
/// Forgetting old ids scans a table: done once per this many appends.
const PRUNE_EVERY: u64 = 1000;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the durable store {}: {reason}", path.display())]
    Unavailable { path: PathBuf, reason: String },
    #[error("the queue `{queue}` is full ({queued} items waiting, at most {max})")]
    Full { queue: String, queued: u64, max: u64 },
}

/// What an append did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub queued: u64,
    /// Items already queued (or delivered) before: skipped.
    pub duplicates: u64,
}

pub struct Store {
    db: Database,
    path: PathBuf,
    appends: AtomicU64,
}

impl Store {
    /// Opens (creating) the store in `dir`, made with mode 0700: queues hold restored personal
    /// data (formatted SIEM records).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(FILE_NAME);
        let error = |reason: String| StoreError::Unavailable { path: path.clone(), reason };
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| error(format!("cannot create its folder: {e}")))?;
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => error(
                "another process has it open (a second connector?): give each connector its own `[store] dir`".into(),
            ),
            other => error(other.to_string()),
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
        }
        Ok(Self { db, path, appends: AtomicU64::new(0) })
    }

    /// Runs `change` in one write transaction and commits it durably (fsync) before returning.
    /// When `change` fails nothing of it is kept.
    pub fn write<T>(&self, change: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut txn = self.db.begin_write().map_err(|e| self.error(e))?;
        txn.set_durability(Durability::Immediate).map_err(|e| self.error(e))?;
        let value = change(&mut Tx { txn: &txn, store: self })?;
        txn.commit().map_err(|e| self.error(e))?;
        Ok(value)
    }

    /// Appends `items` (id, bytes) to `queue` in one durable commit. See [`Tx::append`].
    pub fn append(&self, queue: &str, items: &[(String, Vec<u8>)], max: u64) -> Result<Appended, StoreError> {
        self.write(|tx| tx.append(queue, items, max))
    }

    /// Removes `queue`'s items up to and including `seq`, durably.
    pub fn remove_through(&self, queue: &str, seq: u64) -> Result<(), StoreError> {
        self.write(|tx| tx.remove_through(queue, seq))
    }

    /// The oldest items of `queue`, at most `max_items` and about `max_bytes` (always at least
    /// one when any is queued).
    pub fn peek(&self, queue: &str, max_items: usize, max_bytes: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let name = Names::of(queue);
        let txn = self.db.begin_read().map_err(|e| self.error(e))?;
        let table = match txn.open_table(name.items()) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.error(e)),
        };
        let mut out = Vec::new();
        let mut bytes = 0;
        for entry in table.range(0..).map_err(|e| self.error(e))? {
            let (seq, value) = entry.map_err(|e| self.error(e))?;
            if !out.is_empty() && (out.len() >= max_items || bytes + value.value().len() > max_bytes) {
                break;
            }
            bytes += value.value().len();
            out.push((seq.value(), value.value().to_vec()));
        }
        Ok(out)
    }

    /// How many items `queue` has waiting.
    pub fn len(&self, queue: &str) -> Result<u64, StoreError> {
        let name = Names::of(queue);
        let txn = self.db.begin_read().map_err(|e| self.error(e))?;
        match txn.open_table(name.items()) {
            Ok(table) => table.len().map_err(|e| self.error(e)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(self.error(e)),
        }
    }

    fn error(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable { path: self.path.clone(), reason: e.to_string() }
    }
}

/// Changes inside one [`Store::write`].
pub struct Tx<'a> {
    txn: &'a WriteTransaction,
    store: &'a Store,
}

impl Tx<'_> {
    /// Appends `items` (id, bytes) to `queue`, skipping ids seen in the last week. Refuses the
    /// whole batch when the queue would then hold more than `max`.
    pub fn append(&mut self, queue: &str, items: &[(String, Vec<u8>)], max: u64) -> Result<Appended, StoreError> {
        let name = Names::of(queue);
        let err = |e: &dyn std::fmt::Display| self.store.error(e);
        let now = now_ms();
        let prune = self.store.appends.fetch_add(1, Ordering::Relaxed).is_multiple_of(PRUNE_EVERY);
        let mut table = self.txn.open_table(name.items()).map_err(|e| err(&e))?;
        let mut seen = self.txn.open_table(name.seen()).map_err(|e| err(&e))?;
        let mut meta = self.txn.open_table(META).map_err(|e| err(&e))?;
        let queued = table.len().map_err(|e| err(&e))?;
        if queued + items.len() as u64 > max {
            return Err(StoreError::Full { queue: queue.to_string(), queued, max });
        }
        let mut seq = meta.get(name.seq.as_str()).map_err(|e| err(&e))?.map_or(0, |v| v.value());
        let mut appended = Appended::default();
        for (id, bytes) in items {
            if seen.get(id.as_str()).map_err(|e| err(&e))?.is_some() {
                appended.duplicates += 1;
                continue;
            }
            seen.insert(id.as_str(), now).map_err(|e| err(&e))?;
            table.insert(seq, bytes.as_slice()).map_err(|e| err(&e))?;
            seq += 1;
            appended.queued += 1;
        }
        meta.insert(name.seq.as_str(), seq).map_err(|e| err(&e))?;
        if prune {
            let cutoff = now.saturating_sub(SEEN_FOR.as_millis() as u64);
            seen.retain(|_, at| at >= cutoff).map_err(|e| err(&e))?;
        }
        Ok(appended)
    }

    /// Replaces the bytes of item `seq` of `queue` (an outbox entry's attempt count); does
    /// nothing when the item is gone.
    pub fn update(&mut self, queue: &str, seq: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let name = Names::of(queue);
        let mut table = self.txn.open_table(name.items()).map_err(|e| self.store.error(e))?;
        if table.get(seq).map_err(|e| self.store.error(e))?.is_some() {
            table.insert(seq, bytes).map_err(|e| self.store.error(e))?;
        }
        Ok(())
    }

    /// Removes item `seq` of `queue`.
    pub fn remove(&mut self, queue: &str, seq: u64) -> Result<(), StoreError> {
        let name = Names::of(queue);
        let mut table = self.txn.open_table(name.items()).map_err(|e| self.store.error(e))?;
        table.remove(seq).map_err(|e| self.store.error(e))?;
        Ok(())
    }

    /// Removes `queue`'s items up to and including `seq`.
    pub fn remove_through(&mut self, queue: &str, seq: u64) -> Result<(), StoreError> {
        let name = Names::of(queue);
        let mut table = self.txn.open_table(name.items()).map_err(|e| self.store.error(e))?;
        table.retain_in(..=seq, |_, _| false).map_err(|e| self.store.error(e))
    }
}

/// Runs store work (file I/O, fsync) off the async workers.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(StoreError::Unavailable { path: "(store task)".into(), reason: e.to_string() }))
}

/// A queue's tables and sequence counter.
struct Names {
    items: String,
    seen: String,
    seq: String,
}

impl Names {
    fn of(queue: &str) -> Self {
        Self { items: format!("q:{queue}"), seen: format!("seen:{queue}"), seq: format!("seq:{queue}") }
    }

    fn items(&self) -> TableDefinition<'_, u64, &'static [u8]> {
        TableDefinition::new(&self.items)
    }

    fn seen(&self) -> TableDefinition<'_, &'static str, u64> {
        TableDefinition::new(&self.seen)
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(ids: std::ops::Range<u32>) -> Vec<(String, Vec<u8>)> {
        ids.map(|i| (format!("e{i}"), format!("record {i}").into_bytes())).collect()
    }

    #[test]
    fn items_come_out_in_order_once_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        assert_eq!(store.append("soc", &items(0..5), 100).expect("append"), Appended { queued: 5, duplicates: 0 });
        assert_eq!(store.append("soc", &items(3..8), 100).expect("append"), Appended { queued: 3, duplicates: 2 });
        assert_eq!(store.len("soc").expect("len"), 8);
        assert_eq!(store.len("other").expect("len"), 0);
        let first = store.peek("soc", 3, 1 << 20).expect("peek");
        assert_eq!(
            first.iter().map(|(_, r)| String::from_utf8_lossy(r).into_owned()).collect::<Vec<_>>(),
            ["record 0", "record 1", "record 2"]
        );
        store.remove_through("soc", first[2].0).expect("remove");
        drop(store);
        let store = Store::open(dir.path()).expect("reopen");
        let rest = store.peek("soc", 100, 1 << 20).expect("peek");
        assert_eq!(rest.len(), 5);
        assert_eq!(rest[0].1, b"record 3");
        assert_eq!(
            store.append("soc", &items(0..2), 100).expect("append").duplicates,
            2,
            "delivered ids are remembered"
        );
    }

    #[test]
    fn a_store_in_use_says_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = Store::open(dir.path()).expect("open");
        let Err(error) = Store::open(dir.path()) else { panic!("opened twice") };
        assert!(error.to_string().contains("give each connector its own `[store] dir`"), "{error}");
    }

    #[test]
    fn a_full_queue_refuses_the_whole_batch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store.append("soc", &items(0..8), 10).expect("append");
        let error = store.append("soc", &items(8..11), 10).expect_err("full");
        assert!(matches!(error, StoreError::Full { queued: 8, max: 10, .. }), "{error}");
        assert_eq!(store.len("soc").expect("len"), 8, "nothing of the refused batch");
        assert_eq!(store.peek("soc", 100, 10).expect("peek").len(), 1, "at least one item even above max_bytes");
    }

    #[test]
    fn changes_to_several_queues_commit_together_or_not_at_all() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store.append("outbox", &items(0..2), 10).expect("append");
        let [(first, _), _] = store.peek("outbox", 2, 1 << 20).expect("peek")[..] else { panic!("two items") };
        // A failure halfway through leaves both queues as they were.
        let failed = store.write(|tx| {
            tx.remove("outbox", first)?;
            tx.append("outcomes", &items(0..1), 0)
        });
        assert!(matches!(failed, Err(StoreError::Full { .. })));
        assert_eq!((store.len("outbox").expect("len"), store.len("outcomes").expect("len")), (2, 0));
        store
            .write(|tx| {
                tx.update("outbox", first + 1, b"attempted")?;
                tx.remove("outbox", first)?;
                tx.append("outcomes", &items(0..1), 10)
            })
            .expect("write");
        let left = store.peek("outbox", 10, 1 << 20).expect("peek");
        assert_eq!(left, [(first + 1, b"attempted".to_vec())]);
        assert_eq!(store.len("outcomes").expect("len"), 1);
    }
}
