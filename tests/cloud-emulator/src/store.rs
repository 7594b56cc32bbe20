//! The relay's state: identity groups, sessions, task queues and leases, results, inventory and
//! events. Everything here is synchronous and runs under one mutex; the HTTP layer parses and
//! waits, this decides.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

use crate::config::{EmulatorConfig, TaskSpec};
use crate::pii::{self, Finder, PiiViolation};

/// A task's id, `t-…`; what results name.
pub type TaskId = String;

/// Extra lease time beyond a task's `deadline_ms`.
const LEASE_GRACE: Duration = Duration::from_secs(10);

/// What the emulator has seen since it started.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    /// Successful registrations.
    pub registrations: u64,
    /// Sessions alive now.
    pub sessions_live: u64,
    /// Sessions declared dead because they were silent for `session_timeout_ms`.
    pub sessions_expired: u64,
    /// Sessions ended by `DELETE /relay/v1/session`.
    pub sessions_ended: u64,
    /// Poll requests that passed authentication.
    pub polls: u64,
    /// Task frames handed out (reissues included, raw frames included).
    pub tasks_issued: u64,
    /// Handouts of a task that had been handed out before.
    pub tasks_reissued: u64,
    /// Leases that ended without a result (session died or ended, lease expired, restart).
    pub leases_lost: u64,
    /// Tasks completed (first accepted result).
    pub completed: u64,
    /// Results for tasks already completed.
    pub duplicates: u64,
    /// Results for task ids never issued (or of another group).
    pub unknown_results: u64,
    /// Later outcomes stored (`POST /relay/v1/outcomes`), once per task.
    pub outcomes: u64,
    /// Tasks released by connectors.
    pub released: u64,
    /// Inventory batches stored.
    pub inventory_batches: u64,
    /// Inventory batches answered again without being stored (same task, attempt and `seq`).
    pub inventory_duplicate_batches: u64,
    /// Device lines stored (a device sent twice counts twice).
    pub inventory_lines: u64,
    /// PII guard violations (see [`crate::Emulator::pii_violations`]).
    pub pii_violations: u64,
    /// Relay requests answered 400.
    pub bad_requests: u64,
    /// Tasks queued now (tracked tasks only).
    pub queued: u64,
    /// Tasks leased now.
    pub leased: u64,
    /// Distinct devices stored.
    pub devices: u64,
    /// Events stored.
    pub events: u64,
}

/// One task as the admin API shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TaskView {
    pub id: TaskId,
    pub kind: String,
    pub instance: Option<String>,
    pub group: String,
    pub payload: Value,
    pub deadline_ms: u64,
    /// `queued`, `leased` or `completed`.
    pub state: String,
    /// The attempt number of the current or next handout.
    pub attempt: u32,
    /// How many times it was handed out.
    pub issued: u32,
    /// The connector holding the lease, while leased.
    pub leased_to: Option<String>,
    /// `ok` or `error` once completed.
    pub status: Option<String>,
    pub result: Option<Value>,
    pub error: Option<Value>,
    /// The `connector_id` whose session sent the accepted result.
    pub completed_by: Option<String>,
    /// That connector's name.
    pub completed_by_name: Option<String>,
    /// The public id (`s-N`, not the secret) of the session that sent it.
    pub completed_session: Option<String>,
    /// The `attempt` the accepted result named.
    pub completed_attempt: Option<u64>,
    pub completed_at_ms: Option<u64>,
    /// Results for this task after the accepted one.
    pub duplicates: u64,
    /// The later outcome (`POST /relay/v1/outcomes`): `ok` or `error`, and its result or error.
    pub later_status: Option<String>,
    pub later_result: Option<Value>,
    pub later_error: Option<Value>,
}

/// A connector session as the admin API shows it (no secret).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SessionView {
    pub session: String,
    pub connector_id: String,
    pub name: String,
    pub version: String,
    pub run: String,
    pub group: String,
    pub keyring: String,
    pub capacity: u64,
    pub leases: Vec<TaskId>,
    pub idle_ms: u64,
}

/// A stored device line.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceEntry {
    pub instance: String,
    pub device: Value,
    /// `None` until a line with apps arrived.
    pub apps: Option<Vec<Value>>,
    /// The sync task that last sent it.
    pub task: String,
    pub received_ms: u64,
    /// Set from the dashboard (`POST …/label`); kept when later lines replace the device.
    pub label: Option<String>,
}

pub enum Entry {
    Task(u64),
    /// An untracked raw frame, serialized: handed out once.
    Raw(String),
}

pub struct Group {
    pub name: String,
    pub keyring: Option<String>,
    pub queue: VecDeque<Entry>,
}

enum TaskState {
    Queued,
    Leased { session: u64, granted: Instant, expires: Instant },
    Completed,
}

struct Outcome {
    status: String,
    result: Option<Value>,
    error: Option<Value>,
    attempt: Option<u64>,
    connector_id: String,
    connector_name: String,
    session: String,
    at_ms: u64,
}

struct Task {
    id: String,
    group: usize,
    kind: String,
    instance: Option<String>,
    /// Serialized once, at enqueue.
    payload: String,
    deadline_ms: u64,
    /// The frame handed out as-is, serialized (raw tasks).
    raw: Option<String>,
    attempt: u32,
    issued: u32,
    state: TaskState,
    outcome: Option<Outcome>,
    /// The outcome posted after the result (a queued mail's delivery).
    later: Option<Outcome>,
    duplicates: u64,
}

impl Task {
    /// A task just enqueued: first attempt, never handed out.
    fn queued(
        id: String,
        group: usize,
        kind: String,
        instance: Option<String>,
        payload: String,
        deadline_ms: u64,
        raw: Option<String>,
    ) -> Self {
        Task {
            id,
            group,
            kind,
            instance,
            payload,
            deadline_ms,
            raw,
            attempt: 1,
            issued: 0,
            state: TaskState::Queued,
            outcome: None,
            later: None,
            duplicates: 0,
        }
    }
}

struct Session {
    num: u64,
    token: String,
    group: usize,
    connector_id: String,
    name: String,
    version: String,
    run: String,
    keyring: String,
    capacity: u64,
    last_seen: Instant,
    leases: BTreeSet<u64>,
    /// The last two heartbeats, newest first: a lease granted before the older one was the
    /// connector's to list.
    heartbeats: [Option<Instant>; 2],
}

/// A registration, validated.
pub struct Registration {
    pub name: String,
    pub version: String,
    pub run: String,
    pub keyring: String,
    pub capacity: u64,
}

/// One result, validated.
pub struct ResultItem {
    pub task: String,
    pub attempt: Option<u64>,
    pub status: String,
    pub result: Option<Value>,
    pub error: Option<Value>,
}

#[derive(Default, Serialize)]
pub struct ResultsAnswer {
    pub accepted: Vec<String>,
    pub duplicate: Vec<String>,
    pub unknown: Vec<String>,
}

pub enum RegisterError {
    UnknownToken,
    KeyringMismatch { group: String, fixed: String, offered: String },
}

pub struct Registered {
    pub session: String,
    pub connector_id: String,
    pub group: String,
}

pub struct State {
    pub groups: Vec<Group>,
    enrollment: HashMap<String, usize>,
    tasks: HashMap<u64, Task>,
    ids: HashMap<String, u64>,
    next_seq: u64,
    nonce: String,
    sessions: HashMap<u64, Session>,
    by_token: HashMap<String, u64>,
    next_session: u64,
    connector_ids: HashMap<(usize, String, String), String>,
    completions: Vec<u64>,
    pub devices: BTreeMap<(String, String), DeviceEntry>,
    batches: HashMap<(String, u64, u64), usize>,
    pub events: Vec<Value>,
    pub violations: Vec<PiiViolation>,
    pub stats: Stats,
    session_timeout: Duration,
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// `bytes` random bytes, hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        // No OS randomness: fall back to the clock (tests only; never reached on Linux).
        let seed = now_ms() ^ u64::from(std::process::id());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed.rotate_left(i as u32 * 7) as u8) ^ (i as u8);
        }
    }
    let mut out = String::with_capacity(bytes * 2);
    for b in buf {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl State {
    pub fn new(config: &EmulatorConfig) -> Self {
        let mut groups: Vec<Group> = Vec::new();
        let mut enrollment = HashMap::new();
        for (name, token) in &config.groups {
            let index = match groups.iter().position(|g| &g.name == name) {
                Some(index) => index,
                None => {
                    groups.push(Group { name: name.clone(), keyring: None, queue: VecDeque::new() });
                    groups.len() - 1
                }
            };
            enrollment.insert(token.clone(), index);
        }
        Self {
            groups,
            enrollment,
            tasks: HashMap::new(),
            ids: HashMap::new(),
            next_seq: 1,
            nonce: random_hex(3),
            sessions: HashMap::new(),
            by_token: HashMap::new(),
            next_session: 1,
            connector_ids: HashMap::new(),
            completions: Vec::new(),
            devices: BTreeMap::new(),
            batches: HashMap::new(),
            events: Vec::new(),
            violations: Vec::new(),
            stats: Stats::default(),
            session_timeout: Duration::from_millis(config.session_timeout_ms),
        }
    }

    pub fn group_index(&self, name: Option<&str>) -> Option<usize> {
        match name {
            None => (!self.groups.is_empty()).then_some(0),
            Some(name) => self.groups.iter().position(|g| g.name == name),
        }
    }

    // ----- sessions -----

    pub fn register(&mut self, token: &str, reg: Registration) -> Result<Registered, RegisterError> {
        let group = *self.enrollment.get(token).ok_or(RegisterError::UnknownToken)?;
        let entry = &mut self.groups[group];
        match &entry.keyring {
            Some(fixed) if *fixed != reg.keyring => {
                return Err(RegisterError::KeyringMismatch {
                    group: entry.name.clone(),
                    fixed: fixed.clone(),
                    offered: reg.keyring,
                });
            }
            Some(_) => {}
            None => entry.keyring = Some(reg.keyring.clone()),
        }
        let next = self.connector_ids.len() + 1;
        let connector_id = self
            .connector_ids
            .entry((group, reg.name.clone(), reg.run.clone()))
            .or_insert_with(|| format!("c-{next}"))
            .clone();
        let num = self.next_session;
        self.next_session += 1;
        let token = format!("s{}", random_hex(24));
        self.sessions.insert(
            num,
            Session {
                num,
                token: token.clone(),
                group,
                connector_id: connector_id.clone(),
                name: reg.name,
                version: reg.version,
                run: reg.run,
                keyring: reg.keyring,
                capacity: reg.capacity,
                last_seen: Instant::now(),
                leases: BTreeSet::new(),
                heartbeats: [None, None],
            },
        );
        self.by_token.insert(token.clone(), num);
        self.stats.registrations += 1;
        Ok(Registered { session: token, connector_id, group: self.groups[group].name.clone() })
    }

    /// The live session a bearer token names, refreshed; with its group.
    pub fn authenticate(&mut self, token: &str) -> Option<(u64, usize)> {
        let num = *self.by_token.get(token)?;
        let session = self.sessions.get_mut(&num)?;
        session.last_seen = Instant::now();
        Some((num, session.group))
    }

    /// Ends a session; its leases are lost. Returns the group to wake.
    pub fn end_session(&mut self, num: u64) -> Option<usize> {
        let session = self.remove_session(num)?;
        self.stats.sessions_ended += 1;
        Some(session)
    }

    fn remove_session(&mut self, num: u64) -> Option<usize> {
        let session = self.sessions.remove(&num)?;
        self.by_token.remove(&session.token);
        let seqs: Vec<u64> = session.leases.into_iter().collect();
        self.requeue_front(session.group, &seqs, true);
        Some(session.group)
    }

    /// Sessions silent for `session_timeout` die; leases past their expiry are lost. Returns the
    /// groups that got tasks back.
    pub fn reap(&mut self, now: Instant, check_leases: bool) -> Vec<usize> {
        let timeout = self.session_timeout;
        let dead: Vec<u64> =
            self.sessions.values().filter(|s| now.duration_since(s.last_seen) > timeout).map(|s| s.num).collect();
        let mut woken = Vec::new();
        for num in dead {
            if let Some(group) = self.remove_session(num) {
                self.stats.sessions_expired += 1;
                woken.push(group);
            }
        }
        if check_leases {
            let mut expired: Vec<(u64, u64)> = Vec::new();
            for session in self.sessions.values() {
                for seq in &session.leases {
                    if let Some(Task { state: TaskState::Leased { expires, .. }, .. }) = self.tasks.get(seq)
                        && *expires <= now
                    {
                        expired.push((session.num, *seq));
                    }
                }
            }
            for (num, seq) in expired {
                if let Some(session) = self.sessions.get_mut(&num) {
                    session.leases.remove(&seq);
                    let group = session.group;
                    self.requeue_front(group, &[seq], true);
                    woken.push(group);
                }
            }
        }
        woken.sort_unstable();
        woken.dedup();
        woken
    }

    /// Forgets every session (a relay restart); their leases are lost. Returns the groups to wake.
    pub fn forget_sessions(&mut self) -> Vec<usize> {
        let nums: Vec<u64> = self.sessions.keys().copied().collect();
        let mut woken: Vec<usize> = nums.into_iter().filter_map(|num| self.remove_session(num)).collect();
        woken.sort_unstable();
        woken.dedup();
        woken
    }

    /// Puts `seqs` (in this order) at the front of the group's queue, with attempt + 1 when `bump`.
    fn requeue_front(&mut self, group: usize, seqs: &[u64], bump: bool) {
        for seq in seqs.iter().rev() {
            let Some(task) = self.tasks.get_mut(seq) else { continue };
            if !matches!(task.state, TaskState::Leased { .. }) {
                continue;
            }
            task.state = TaskState::Queued;
            if bump {
                task.attempt += 1;
                self.stats.leases_lost += 1;
            }
            self.stats.leased = self.stats.leased.saturating_sub(1);
            self.stats.queued += 1;
            self.groups[group].queue.push_front(Entry::Task(*seq));
        }
    }

    // ----- tasks -----

    pub fn enqueue(&mut self, group: usize, spec: TaskSpec) -> TaskId {
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = format!("t-{}{seq:06x}", self.nonce);
        if spec.kind == "siem.events"
            && let Some(Value::Array(events)) = spec.payload.get("events")
        {
            for event in events {
                self.guard(event, || format!("event of {id}"), None);
            }
            self.events.extend(events.iter().cloned());
            self.stats.events = self.events.len() as u64;
        }
        self.insert_task(
            seq,
            Task::queued(id.clone(), group, spec.kind, spec.instance, spec.payload.to_string(), spec.deadline_ms, None),
        );
        self.groups[group].queue.push_back(Entry::Task(seq));
        id
    }

    fn insert_task(&mut self, seq: u64, task: Task) {
        self.ids.insert(task.id.clone(), seq);
        self.tasks.insert(seq, task);
        self.stats.queued += 1;
    }

    /// A frame handed out as-is; tracked like a task when it has a string `id` not yet known.
    pub fn enqueue_raw(&mut self, group: usize, frame: Value) -> Option<TaskId> {
        let serialized = frame.to_string();
        let id = frame.get("id").and_then(Value::as_str).filter(|id| !self.ids.contains_key(*id));
        let Some(id) = id.map(str::to_string) else {
            self.groups[group].queue.push_back(Entry::Raw(serialized));
            return None;
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let text = |key: &str| frame.get(key).and_then(Value::as_str).map(str::to_string);
        self.insert_task(
            seq,
            Task::queued(
                id.clone(),
                group,
                text("kind").unwrap_or_default(),
                text("instance"),
                frame.get("payload").map(Value::to_string).unwrap_or_else(|| "null".to_string()),
                frame.get("deadline_ms").and_then(Value::as_u64).unwrap_or(30_000),
                Some(serialized),
            ),
        );
        self.groups[group].queue.push_back(Entry::Task(seq));
        Some(id)
    }

    /// Leases up to `count` queued tasks of the session's group to it; their frames, serialized.
    pub fn take(&mut self, num: u64, count: usize) -> Option<Vec<String>> {
        let session = self.sessions.get_mut(&num)?;
        session.last_seen = Instant::now();
        let group = session.group;
        let now = Instant::now();
        let mut frames = Vec::new();
        while frames.len() < count {
            let Some(entry) = self.groups[group].queue.pop_front() else { break };
            match entry {
                Entry::Raw(frame) => {
                    self.stats.tasks_issued += 1;
                    frames.push(frame);
                }
                Entry::Task(seq) => {
                    let Some(task) = self.tasks.get_mut(&seq) else { continue };
                    if !matches!(task.state, TaskState::Queued) {
                        continue; // completed while queued
                    }
                    task.state = TaskState::Leased {
                        session: num,
                        granted: now,
                        expires: now + Duration::from_millis(task.deadline_ms) + LEASE_GRACE,
                    };
                    if task.issued > 0 {
                        self.stats.tasks_reissued += 1;
                    }
                    task.issued += 1;
                    self.stats.tasks_issued += 1;
                    self.stats.queued = self.stats.queued.saturating_sub(1);
                    self.stats.leased += 1;
                    frames.push(frame(task));
                    session.leases.insert(seq);
                }
            }
        }
        Some(frames)
    }

    /// Extends the listed leases; returns the listed tasks not leased to this session (to cancel)
    /// and the group to wake when unlisted leases were queued again.
    pub fn heartbeat(&mut self, num: u64, in_flight: &[String]) -> (Vec<String>, Option<usize>) {
        self.heartbeat_at(num, in_flight, Instant::now())
    }

    fn heartbeat_at(&mut self, num: u64, in_flight: &[String], now: Instant) -> (Vec<String>, Option<usize>) {
        let mut cancel = Vec::new();
        let mut listed = HashSet::new();
        let Some(group) = self.sessions.get(&num).map(|s| s.group) else { return (cancel, None) };
        for id in in_flight {
            let leased_here =
                self.ids.get(id).and_then(|seq| self.tasks.get_mut(seq).map(|task| (*seq, task))).and_then(
                    |(seq, task)| {
                        let expiry = now + Duration::from_millis(task.deadline_ms) + LEASE_GRACE;
                        match &mut task.state {
                            TaskState::Leased { session, expires, .. } if *session == num => {
                                *expires = expiry;
                                Some(seq)
                            }
                            // Queued again while this connector still held it (its session was lost,
                            // e.g. across a relay restart): it stays with the connector that has it,
                            // rather than being stopped there and run again elsewhere. Its stale
                            // queue entry is skipped when handed out.
                            TaskState::Queued if task.group == group => {
                                task.state = TaskState::Leased { session: num, granted: now, expires: expiry };
                                self.stats.queued = self.stats.queued.saturating_sub(1);
                                self.stats.leased += 1;
                                Some(seq)
                            }
                            _ => None,
                        }
                    },
                );
            if let Some(seq) = leased_here
                && let Some(session) = self.sessions.get_mut(&num)
            {
                session.leases.insert(seq);
            }
            match leased_here {
                Some(seq) => {
                    listed.insert(seq);
                }
                None => cancel.push(id.clone()),
            }
        }
        // A lease granted before the second-to-last heartbeat that this one does not list never
        // reached the connector (a poll answer lost with its connection): queue it again now
        // rather than at its expiry.
        let Some(session) = self.sessions.get_mut(&num) else { return (cancel, None) };
        let cutoff = session.heartbeats[1];
        session.heartbeats = [Some(now), session.heartbeats[0]];
        let group = session.group;
        if let Some(cutoff) = cutoff {
            let unlisted: Vec<u64> = session
                .leases
                .iter()
                .filter(|seq| !listed.contains(*seq))
                .filter(|seq| {
                    matches!(self.tasks.get(*seq), Some(Task { state: TaskState::Leased { granted, .. }, .. }) if *granted < cutoff)
                })
                .copied()
                .collect();
            if !unlisted.is_empty() {
                for seq in &unlisted {
                    session.leases.remove(seq);
                }
                self.requeue_front(group, &unlisted, true);
                return (cancel, Some(group));
            }
        }
        (cancel, None)
    }

    pub fn release(&mut self, num: u64, ids: &[String]) -> (Vec<String>, Option<usize>) {
        let Some(session) = self.sessions.get_mut(&num) else { return (Vec::new(), None) };
        let group = session.group;
        let mut released = Vec::new();
        let mut seqs = Vec::new();
        for id in ids {
            let Some(seq) = self.ids.get(id) else { continue };
            let leased_here = self
                .tasks
                .get(seq)
                .is_some_and(|t| matches!(t.state, TaskState::Leased { session, .. } if session == num));
            if leased_here && session.leases.remove(seq) {
                seqs.push(*seq);
                released.push(id.clone());
            }
        }
        self.stats.released += seqs.len() as u64;
        self.requeue_front(group, &seqs, false);
        (released, (!seqs.is_empty()).then_some(group))
    }

    pub fn results(&mut self, num: u64, items: Vec<ResultItem>) -> ResultsAnswer {
        let mut answer = ResultsAnswer::default();
        let Some(session) = self.sessions.get(&num) else { return answer };
        let (group, connector_id, connector_name) = (session.group, session.connector_id.clone(), session.name.clone());
        let session_id = format!("s-{num}");
        let at_ms = now_ms();
        for item in items {
            let seq = self.ids.get(&item.task).copied();
            let Some((seq, task)) = seq.and_then(|seq| self.tasks.get_mut(&seq).map(|t| (seq, t))) else {
                self.stats.unknown_results += 1;
                answer.unknown.push(item.task);
                continue;
            };
            if task.group != group || task.issued == 0 {
                self.stats.unknown_results += 1;
                answer.unknown.push(item.task);
                continue;
            }
            match task.state {
                TaskState::Completed => {
                    task.duplicates += 1;
                    self.stats.duplicates += 1;
                    answer.duplicate.push(item.task);
                    continue;
                }
                TaskState::Leased { session, .. } => {
                    if let Some(holder) = self.sessions.get_mut(&session) {
                        holder.leases.remove(&seq);
                    }
                    self.stats.leased = self.stats.leased.saturating_sub(1);
                }
                TaskState::Queued => self.stats.queued = self.stats.queued.saturating_sub(1),
            }
            task.state = TaskState::Completed;
            task.outcome = Some(Outcome {
                status: item.status,
                result: item.result,
                error: item.error,
                attempt: item.attempt,
                connector_id: connector_id.clone(),
                connector_name: connector_name.clone(),
                session: session_id.clone(),
                at_ms,
            });
            self.stats.completed += 1;
            self.completions.push(seq);
            if let Some(outcome) = self.tasks.get(&seq).and_then(|t| t.outcome.as_ref()) {
                let mut found = Vec::new();
                if let Some(result) = &outcome.result {
                    pii::check(result, || format!("result of {}", item.task), Some("result"), &mut found);
                }
                if let Some(error) = &outcome.error {
                    pii::check(error, || format!("error of {}", item.task), Some("error"), &mut found);
                }
                self.stats.pii_violations += found.len() as u64;
                self.violations.extend(found);
            }
            answer.accepted.push(item.task);
        }
        answer
    }

    /// Stores the later outcome of completed tasks, once each. An outcome for a task whose
    /// result has not arrived yet is left unlisted: the connector sends it again.
    pub fn outcomes(&mut self, num: u64, items: Vec<ResultItem>) -> ResultsAnswer {
        let mut answer = ResultsAnswer::default();
        let Some(session) = self.sessions.get(&num) else { return answer };
        let (group, connector_id, connector_name) = (session.group, session.connector_id.clone(), session.name.clone());
        for item in items {
            let Some(task) = self.ids.get(&item.task).and_then(|seq| self.tasks.get_mut(seq)) else {
                answer.unknown.push(item.task);
                continue;
            };
            if task.group != group || task.issued == 0 {
                answer.unknown.push(item.task);
                continue;
            }
            if !matches!(task.state, TaskState::Completed) {
                continue;
            }
            if task.later.is_some() {
                answer.duplicate.push(item.task);
                continue;
            }
            let mut found = Vec::new();
            if let Some(result) = &item.result {
                pii::check(result, || format!("outcome of {}", item.task), Some("result"), &mut found);
            }
            if let Some(error) = &item.error {
                pii::check(error, || format!("outcome error of {}", item.task), Some("error"), &mut found);
            }
            task.later = Some(Outcome {
                status: item.status,
                result: item.result,
                error: item.error,
                attempt: item.attempt,
                connector_id: connector_id.clone(),
                connector_name: connector_name.clone(),
                session: format!("s-{num}"),
                at_ms: now_ms(),
            });
            self.stats.outcomes += 1;
            self.stats.pii_violations += found.len() as u64;
            self.violations.extend(found);
            answer.accepted.push(item.task);
        }
        answer
    }

    fn guard(&mut self, value: &Value, location: impl FnOnce() -> String, root: Option<&str>) {
        let found = pii::check(value, location, root, &mut self.violations);
        self.stats.pii_violations += found as u64;
    }

    /// Stores an inventory batch once per (task, seq); the number of lines it holds.
    /// Stores batch `seq` of attempt `attempt` of sync `task`; a batch already stored is answered
    /// again without being stored twice. A new attempt (the task re-issued) stores afresh.
    pub fn inventory(&mut self, task: &str, attempt: u64, instance: &str, seq: u64, lines: Vec<Value>) -> usize {
        let key = (task.to_string(), attempt, seq);
        if let Some(stored) = self.batches.get(&key) {
            self.stats.inventory_duplicate_batches += 1;
            return *stored;
        }
        let count = lines.len();
        let received_ms = now_ms();
        for (index, mut line) in lines.into_iter().enumerate() {
            self.guard(&line, || format!("inventory of {task} seq {seq} line {index}"), None);
            let line_instance = line.get("instance").and_then(Value::as_str).unwrap_or(instance).to_string();
            let Some(object) = line.as_object_mut() else { continue };
            let device = object.remove("device").unwrap_or(Value::Null);
            let apps = match object.remove("apps") {
                Some(Value::Array(apps)) => Some(apps),
                _ => None,
            };
            let id = device.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            let key = (line_instance.clone(), id);
            match self.devices.get_mut(&key) {
                Some(entry) => {
                    entry.device = device;
                    if apps.is_some() {
                        entry.apps = apps;
                    }
                    entry.task = task.to_string();
                    entry.received_ms = received_ms;
                }
                None => {
                    let entry = DeviceEntry {
                        instance: line_instance,
                        device,
                        apps,
                        task: task.to_string(),
                        received_ms,
                        label: None,
                    };
                    self.devices.insert(key, entry);
                }
            }
            self.stats.inventory_lines += 1;
        }
        self.stats.devices = self.devices.len() as u64;
        self.stats.inventory_batches += 1;
        self.batches.insert(key, count);
        count
    }

    // ----- read-outs -----

    pub fn stats(&self) -> Stats {
        let mut stats = self.stats.clone();
        stats.sessions_live = self.sessions.len() as u64;
        stats
    }

    pub fn is_completed(&self, id: &str) -> bool {
        self.ids.get(id).and_then(|seq| self.tasks.get(seq)).is_some_and(|t| matches!(t.state, TaskState::Completed))
    }

    pub fn task(&self, id: &str) -> Option<TaskView> {
        self.ids.get(id).map(|seq| self.view(*seq))
    }

    fn view(&self, seq: u64) -> TaskView {
        let Some(task) = self.tasks.get(&seq) else { unreachable!("ids and tasks agree") };
        let (state, leased_to) = match &task.state {
            TaskState::Queued => ("queued", None),
            TaskState::Leased { session, .. } => ("leased", self.sessions.get(session).map(|s| s.connector_id.clone())),
            TaskState::Completed => ("completed", None),
        };
        let outcome = task.outcome.as_ref();
        TaskView {
            id: task.id.clone(),
            kind: task.kind.clone(),
            instance: task.instance.clone(),
            group: self.groups[task.group].name.clone(),
            payload: serde_json::from_str(&task.payload).unwrap_or(Value::Null),
            deadline_ms: task.deadline_ms,
            state: state.to_string(),
            attempt: task.attempt,
            issued: task.issued,
            leased_to,
            status: outcome.map(|o| o.status.clone()),
            result: outcome.and_then(|o| o.result.clone()),
            error: outcome.and_then(|o| o.error.clone()),
            completed_by: outcome.map(|o| o.connector_id.clone()),
            completed_by_name: outcome.map(|o| o.connector_name.clone()),
            completed_session: outcome.map(|o| o.session.clone()),
            completed_attempt: outcome.and_then(|o| o.attempt),
            completed_at_ms: outcome.map(|o| o.at_ms),
            duplicates: task.duplicates,
            later_status: task.later.as_ref().map(|o| o.status.clone()),
            later_result: task.later.as_ref().and_then(|o| o.result.clone()),
            later_error: task.later.as_ref().and_then(|o| o.error.clone()),
        }
    }

    /// Tasks in a state (`None` = all), in enqueue order.
    pub fn tasks(&self, state: Option<&str>) -> Vec<TaskView> {
        let mut seqs: Vec<u64> = self
            .tasks
            .iter()
            .filter(|(_, t)| {
                let name = match t.state {
                    TaskState::Queued => "queued",
                    TaskState::Leased { .. } => "leased",
                    TaskState::Completed => "completed",
                };
                state.is_none_or(|s| s == name)
            })
            .map(|(seq, _)| *seq)
            .collect();
        seqs.sort_unstable();
        seqs.into_iter().map(|seq| self.view(seq)).collect()
    }

    /// Completed tasks in completion order.
    pub fn completed(&self) -> Vec<TaskView> {
        self.completions.iter().map(|seq| self.view(*seq)).collect()
    }

    pub fn sessions(&self) -> Vec<SessionView> {
        let now = Instant::now();
        let mut sessions: Vec<&Session> = self.sessions.values().collect();
        sessions.sort_by_key(|s| s.num);
        sessions
            .into_iter()
            .map(|s| SessionView {
                session: format!("s-{}", s.num),
                connector_id: s.connector_id.clone(),
                name: s.name.clone(),
                version: s.version.clone(),
                run: s.run.clone(),
                group: self.groups[s.group].name.clone(),
                keyring: s.keyring.clone(),
                capacity: s.capacity,
                leases: s.leases.iter().filter_map(|seq| self.tasks.get(seq)).map(|t| t.id.clone()).collect(),
                idle_ms: now.duration_since(s.last_seen).as_millis() as u64,
            })
            .collect()
    }

    pub fn find_plaintext(&self, needles: &[String]) -> Vec<String> {
        let finder = Finder::new(needles);
        let mut out = Vec::new();
        for seq in &self.completions {
            let Some(task) = self.tasks.get(seq) else { continue };
            let Some(outcome) = &task.outcome else { continue };
            if let Some(result) = &outcome.result {
                finder.scan(result, &format!("result of {}", task.id), &mut out);
            }
            if let Some(error) = &outcome.error {
                finder.scan(error, &format!("error of {}", task.id), &mut out);
            }
            if let Some(later) = &task.later {
                for value in later.result.iter().chain(&later.error) {
                    finder.scan(value, &format!("outcome of {}", task.id), &mut out);
                }
            }
        }
        for entry in self.devices.values() {
            let id = entry.device.get("id").and_then(Value::as_str).unwrap_or_default();
            let location = format!("device {}/{id}", entry.instance);
            finder.scan(&entry.device, &location, &mut out);
            if let Some(apps) = &entry.apps {
                for app in apps {
                    finder.scan(app, &format!("{location} apps"), &mut out);
                }
            }
        }
        for (index, event) in self.events.iter().enumerate() {
            finder.scan(event, &format!("event {index}"), &mut out);
        }
        out
    }
}

/// `{"id","kind","instance","attempt","deadline_ms","payload"}`, or the raw frame as-is.
fn frame(task: &Task) -> String {
    if let Some(raw) = &task.raw {
        return raw.clone();
    }
    let mut out = String::with_capacity(128);
    out.push_str("{\"id\":");
    out.push_str(&json_string(&task.id));
    out.push_str(",\"kind\":");
    out.push_str(&json_string(&task.kind));
    if let Some(instance) = &task.instance {
        out.push_str(",\"instance\":");
        out.push_str(&json_string(instance));
    }
    let _ = write!(out, ",\"attempt\":{},\"deadline_ms\":{},\"payload\":", task.attempt, task.deadline_ms);
    out.push_str(&task.payload);
    out.push('}');
    out
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn registration() -> Registration {
        Registration {
            name: "hq-1".to_string(),
            version: "0.1.0".to_string(),
            run: "r".to_string(),
            keyring: "k".to_string(),
            capacity: 8,
        }
    }

    #[test]
    fn leases_expire_deadline_plus_ten_seconds_after_the_last_heartbeat() {
        let config = EmulatorConfig { session_timeout_ms: 3_600_000, ..EmulatorConfig::default() };
        let mut state = State::new(&config);
        let registered = state.register("demo-enrollment-token", registration()).ok().expect("registered");
        let (session, _) = state.authenticate(&registered.session).expect("session");
        let spec = TaskSpec { deadline_ms: 1000, ..TaskSpec::new("uem.test", Some("m"), json!({})) };
        let id = state.enqueue(0, spec);
        assert_eq!(state.take(session, 10).map(|f| f.len()), Some(1));
        let start = Instant::now();
        assert!(state.reap(start + Duration::from_millis(10_500), true).is_empty());
        let beat = start + Duration::from_millis(10_500);
        assert_eq!(state.heartbeat_at(session, std::slice::from_ref(&id), beat), (Vec::<String>::new(), None));
        assert!(state.reap(start + Duration::from_secs(12), true).is_empty(), "the heartbeat extended it");
        assert_eq!(state.reap(start + Duration::from_millis(21_600), true), [0]);
        let view = state.task(&id).expect("task");
        assert_eq!((view.state.as_str(), view.attempt), ("queued", 2));
        let frames = state.take(session, 10).expect("frames");
        assert!(frames[0].contains("\"attempt\":2"), "{frames:?}");
        let other = state.register("demo-enrollment-token", registration()).ok().expect("registered");
        let (other, _) = state.authenticate(&other.session).expect("session");
        let (cancel, _) = state.heartbeat(other, std::slice::from_ref(&id));
        assert_eq!(cancel, std::slice::from_ref(&id), "leased to another session");
    }

    #[test]
    fn a_lease_two_heartbeats_old_that_the_connector_does_not_list_is_queued_again() {
        let config = EmulatorConfig { session_timeout_ms: 3_600_000, ..EmulatorConfig::default() };
        let mut state = State::new(&config);
        let registered = state.register("demo-enrollment-token", registration()).ok().expect("registered");
        let (session, _) = state.authenticate(&registered.session).expect("session");
        let kept = state.enqueue(0, TaskSpec::new("uem.test", Some("m"), json!({})));
        let lost = state.enqueue(0, TaskSpec::new("uem.test", Some("m"), json!({})));
        assert_eq!(state.take(session, 10).map(|f| f.len()), Some(2));
        let start = Instant::now();
        let listed = std::slice::from_ref(&kept);
        // The first heartbeat after the grant may not list it yet (the poll answer may still be
        // on its way), nor may the second; the third must.
        assert_eq!(state.heartbeat_at(session, listed, start + Duration::from_millis(10)), (vec![], None));
        assert_eq!(state.heartbeat_at(session, listed, start + Duration::from_millis(500)), (vec![], None));
        assert_eq!(state.task(&lost).map(|t| t.state), Some("leased".to_string()));
        assert_eq!(state.heartbeat_at(session, listed, start + Duration::from_millis(1000)), (vec![], Some(0)));
        let view = state.task(&lost).expect("task");
        assert_eq!((view.state.as_str(), view.attempt), ("queued", 2));
        assert_eq!(state.task(&kept).map(|t| t.state), Some("leased".to_string()));
    }

    #[test]
    fn a_task_queued_again_while_its_connector_still_holds_it_stays_with_that_connector() {
        let mut state = State::new(&EmulatorConfig::default());
        let first = state.register("demo-enrollment-token", registration()).ok().expect("registered");
        let (session, _) = state.authenticate(&first.session).expect("session");
        let id = state.enqueue(0, TaskSpec::new("uem.test", Some("m"), json!({})));
        assert_eq!(state.take(session, 10).map(|f| f.len()), Some(1));
        state.forget_sessions(); // the relay restarted
        assert_eq!(state.task(&id).map(|t| t.state), Some("queued".to_string()));
        let again = state.register("demo-enrollment-token", registration()).ok().expect("registered");
        let (session, _) = state.authenticate(&again.session).expect("session");
        let (cancel, _) = state.heartbeat(session, std::slice::from_ref(&id));
        assert!(cancel.is_empty(), "not stopped where it runs: {cancel:?}");
        assert_eq!(state.task(&id).map(|t| t.state), Some("leased".to_string()));
        assert_eq!(state.take(session, 10).map(|f| f.len()), Some(0), "not handed out a second time");
    }
}
