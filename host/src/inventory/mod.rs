//! The inventory path (on-prem → cloud): page through a UEM's devices, drop the repeats a
//! shifting inventory produces, fetch each device's apps when asked, and tokenize every record
//! field by field before it goes anywhere. A `uem.sync` task streams the lines up the relay link
//! (`dispatch`); `connector uem sync` writes the same lines to a file, which is how an admin sees
//! exactly what the cloud gets.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::pii::{PiiFilter, TokenizeError};
use crate::plugins::CallError;
use crate::plugins::worlds::Error;
use crate::plugins::worlds::uem::{App, Device, DevicePage, DeviceQuery, Uem};

mod line;

pub use line::SyncedLine;
pub(crate) use line::{AppLine, DeviceLine};

/// More pages than any tenant has: a plugin whose cursor never ends is stopped here.
const MAX_PAGES: u32 = 100_000;
/// A page the UEM throttled or could not serve is asked for again this many times...
const PAGE_ATTEMPTS: u32 = 4;
/// ...waiting what the UEM asked, or this long when it did not say, and never longer than
/// [`MAX_WAIT`].
const DEFAULT_WAIT: Duration = Duration::from_secs(5);
const MAX_WAIT: Duration = Duration::from_secs(120);
/// How far before its start an incremental sync's successor reaches back: UEM clocks and ours
/// differ, and a device that reported while this sync paged must not fall between the two.
const WATERMARK_MARGIN: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("device {device}: {error}; the device was not sent")]
    Tokenize { device: String, error: TokenizeError },
    #[error("the plugin returned cursor `{0}` twice; stopping rather than looping")]
    CursorLoop(String),
    #[error("more than {MAX_PAGES} pages; stopping")]
    TooManyPages,
    #[error("writing the synced records: {0}")]
    Output(#[from] std::io::Error),
    #[error("the tokenizer thread stopped before the sync was done (a bug); nothing more was sent")]
    TokenizerStopped,
}

/// What to sync.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Devices per page the host asks for; the adapter may return fewer.
    pub page_size: u32,
    /// Incremental sync: only devices that reported at or after this time (ms since the epoch).
    pub changed_since_ms: Option<u64>,
    /// Fetch each device's installed apps too (one more call per device).
    pub apps: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self { page_size: 250, changed_since_ms: None, apps: true }
    }
}

/// One device ready to leave the premises: tokenized, with its tokenized apps when asked for.
pub struct SyncedDevice {
    pub device: Device,
    pub apps: Option<Vec<App>>,
}

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Distinct devices sent.
    pub devices: u64,
    /// Records dropped because their device was already sent in this sync (pages shifting
    /// while paging, or a device in two groups).
    pub repeats: u64,
    /// Devices that left the UEM between being listed and their apps being read; not sent.
    pub vanished: u64,
    pub pages: u32,
    /// Pages asked for again after the UEM throttled or failed.
    pub page_retries: u32,
    /// The `changed_since_ms` of the next incremental sync: this sync's start, less a margin.
    pub next_since_ms: u64,
}

/// Pages through the devices of `uem`, tokenizes each (and its apps) and passes it to `sink`, in
/// the order the UEM listed them. Each device is sent once, however often the UEM lists it. Only
/// device ids are kept in memory, never the records.
///
/// Tokenizing runs on a blocking thread, a page behind the plugin fetching the next one, so a
/// large sync uses two cores. At most [`PAGES_IN_FLIGHT`] pages wait for it.
pub async fn sync(
    uem: &Uem,
    filter: &Arc<PiiFilter>,
    options: &SyncOptions,
    mut sink: impl FnMut(SyncedDevice) -> std::io::Result<()>,
) -> Result<SyncReport, InventoryError> {
    let mut query = DeviceQuery {
        cursor: None,
        page_size: options.page_size,
        groups: Vec::new(),
        changed_since_ms: options.changed_since_ms,
    };
    let started = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut report = SyncReport {
        next_since_ms: u64::try_from(started.saturating_sub(WATERMARK_MARGIN).as_millis()).unwrap_or(0),
        ..SyncReport::default()
    };
    let (pages, mut tokenized, worker) = tokenizer(filter.clone());
    let mut sent = |batch: Result<Vec<SyncedDevice>, InventoryError>, report: &mut SyncReport| {
        for synced in batch? {
            sink(synced)?;
            report.devices += 1;
        }
        Ok::<_, InventoryError>(())
    };
    let mut seen = HashSet::new();
    loop {
        if report.pages >= MAX_PAGES {
            return Err(InventoryError::TooManyPages);
        }
        let page = next_page(uem, &query, &mut report).await?;
        report.pages += 1;
        let mut batch = Vec::with_capacity(page.devices.len());
        for device in page.devices {
            if !seen.insert(device.id.clone()) {
                report.repeats += 1;
                continue;
            }
            let apps = match options.apps {
                false => None,
                true => match uem.list_apps(&device.id).await {
                    Ok(apps) => Some(apps),
                    Err(CallError::Reported { error: Error::NotFound(_), .. }) => {
                        report.vanished += 1;
                        continue;
                    }
                    Err(error) => return Err(error.into()),
                },
            };
            batch.push(SyncedDevice { device, apps });
        }
        // The tokenizer thread stops early only if it panicked.
        pages.send(batch).await.map_err(|_| InventoryError::TokenizerStopped)?;
        while let Ok(batch) = tokenized.try_recv() {
            sent(batch, &mut report)?;
        }
        match page.next_cursor {
            Some(next) if query.cursor.as_deref() == Some(next.as_str()) => {
                return Err(InventoryError::CursorLoop(next));
            }
            Some(next) => query.cursor = Some(next),
            None => break,
        }
    }
    drop(pages);
    while let Some(batch) = tokenized.recv().await {
        sent(batch, &mut report)?;
    }
    // A thread that died mid-way closed its channel like one that finished: tell them apart.
    worker.await.map_err(|_| InventoryError::TokenizerStopped)?;
    Ok(report)
}

/// Pages of devices that may wait for the tokenizer thread.
const PAGES_IN_FLIGHT: usize = 2;

/// Pages to tokenize, and tokenized pages (or why one could not be).
type PagesIn = tokio::sync::mpsc::Sender<Vec<SyncedDevice>>;
type PagesOut = tokio::sync::mpsc::UnboundedReceiver<Result<Vec<SyncedDevice>, InventoryError>>;

/// A blocking thread that tokenizes each page sent to it and sends it back, in order. It ends
/// when the sending side is dropped. The way back is unbounded so the thread never waits on the
/// caller (no deadlock); the bounded way in keeps what is in flight to a few pages.
fn tokenizer(filter: Arc<PiiFilter>) -> (PagesIn, PagesOut, tokio::task::JoinHandle<()>) {
    let (pages, mut to_tokenize) = tokio::sync::mpsc::channel::<Vec<SyncedDevice>>(PAGES_IN_FLIGHT);
    let (done, tokenized) = tokio::sync::mpsc::unbounded_channel();
    let worker = tokio::task::spawn_blocking(move || {
        while let Some(mut batch) = to_tokenize.blocking_recv() {
            let result = batch.iter_mut().try_for_each(|synced| tokenize(&filter, synced)).map(|()| batch);
            if done.send(result).is_err() {
                break;
            }
        }
    });
    (pages, tokenized, worker)
}

/// Tokenizes a device and its apps in place; on error nothing of it may be sent.
fn tokenize(filter: &PiiFilter, synced: &mut SyncedDevice) -> Result<(), InventoryError> {
    let mut result = filter.outgoing(&mut synced.device);
    if let (Ok(()), Some(apps)) = (&result, &mut synced.apps) {
        result = filter.outgoing(apps);
    }
    result.map_err(|error| InventoryError::Tokenize { device: synced.device.id.clone(), error })
}

/// One page, asked for again (same cursor) when the UEM throttles or fails, waiting what it
/// asked: the plugin gives up within its call's deadline, the sync has more patience.
async fn next_page(uem: &Uem, query: &DeviceQuery, report: &mut SyncReport) -> Result<DevicePage, CallError> {
    let mut attempt = 1;
    loop {
        let retry = match uem.list_devices(query).await {
            Err(CallError::Reported { error: Error::RateLimited(r) | Error::Unavailable(r), .. })
                if attempt < PAGE_ATTEMPTS =>
            {
                r
            }
            other => return other,
        };
        let wait = retry.retry_after_ms.map(Duration::from_millis).unwrap_or(DEFAULT_WAIT).min(MAX_WAIT);
        tracing::warn!(attempt, wait = ?wait, "the UEM asked to retry a page later; waiting");
        tokio::time::sleep(wait).await;
        report.page_retries += 1;
        attempt += 1;
    }
}
