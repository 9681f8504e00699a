//! What a job is: its states, the request that adds one, and the record storage keeps.

use serde::{Deserialize, Serialize};

use crate::validate::Problems;
use crate::{Error, Result, TenantId, Timestamp};

/// A job's number: assigned by storage, increasing in enqueue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for JobId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        s.parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Self)
            .ok_or_else(|| Error::invalid_field("id", s, "must be a positive job number"))
    }
}

wire_enum!(
    /// Where a job is in its life.
    JobState {
        /// Ready to be claimed.
        Available => "available",
        /// Waiting for its `scheduled_at`; claimed once that has passed.
        Scheduled => "scheduled",
        /// Claimed by a worker holding its lease.
        Running => "running",
        /// Failed an attempt; claimed again at `scheduled_at`.
        Retryable => "retryable",
        /// Done.
        Completed => "completed",
        /// Failed for good (out of attempts, unknown kind, bad args); its errors are kept.
        Discarded => "discarded",
        /// Cancelled by a host.
        Cancelled => "cancelled",
    }
);

impl JobState {
    /// The bit of this state in a unique-states mask.
    pub fn bit(self) -> u8 {
        1 << (Self::ALL.iter().position(|s| *s == self).unwrap_or(0) as u8)
    }

    /// Whether the job is done for good (completed, discarded or cancelled).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Discarded | Self::Cancelled)
    }

    /// The states a job moves between before it is final. A unique key always covers them, so
    /// no transition between them can meet a duplicate (River requires the same).
    pub const LIVE: &'static [JobState] = &[
        Self::Available,
        Self::Scheduled,
        Self::Running,
        Self::Retryable,
    ];
}

/// A set of states as a bit mask (bit `i` = `JobState::ALL[i]`).
pub fn state_mask(states: &[JobState]) -> u8 {
    states.iter().fold(0, |m, s| m | s.bit())
}

/// Attempts in all by default (as River and Oban).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 25;
/// The queue a job goes to unless it names one.
pub const DEFAULT_QUEUE: &str = "default";
/// Lowest priority number (runs last); 0 runs first.
pub const MAX_PRIORITY: u8 = 9;

/// A job to add (Python `jobs.enqueue(kind, args, **options)`, JS `jobs.enqueue({kind, ...})`,
/// CLI `tagsmith jobs enqueue`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    /// What to run: the handler registered for this kind (1–100 characters of `A-Za-z0-9_.:-`).
    pub kind: String,
    /// The handler's arguments (any JSON; `{}` when left out).
    #[serde(default = "empty_args")]
    pub args: serde_json::Value,
    /// The queue (default `default`); workers run the queues they are given.
    #[serde(default = "default_queue")]
    pub queue: String,
    /// The tenant the job works for; its state changes go to that tenant's event log. `None`
    /// for engine-wide jobs.
    #[serde(default)]
    pub tenant_id: Option<TenantId>,
    /// 0 (first) to 9 (last); default 0.
    #[serde(default)]
    pub priority: u8,
    /// Attempts in all before the job is discarded (1–1000, default 25).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Run no earlier than this (default: now).
    #[serde(default)]
    pub run_at: Option<Timestamp>,
    /// At most one job with this key exists in `unique_states` at a time; enqueueing another
    /// returns the existing one (`duplicate: true`).
    #[serde(default)]
    pub unique_key: Option<String>,
    /// The states the unique key is enforced over (default: every state before final; these
    /// are always included).
    #[serde(default)]
    pub unique_states: Option<Vec<JobState>>,
    /// At most one job with this key runs at a time (e.g. one sync per customer).
    #[serde(default)]
    pub concurrency_key: Option<String>,
}

fn empty_args() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}
fn default_queue() -> String {
    DEFAULT_QUEUE.to_owned()
}
fn default_max_attempts() -> u32 {
    DEFAULT_MAX_ATTEMPTS
}

impl crate::Request for NewJob {
    fn check(&self, _stood_in: &[&str]) -> Result<()> {
        self.validate()
    }
}

impl NewJob {
    /// A job of `kind` with `args` and every default.
    pub fn new(kind: impl Into<String>, args: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            args,
            queue: default_queue(),
            tenant_id: None,
            priority: 0,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            run_at: None,
            unique_key: None,
            unique_states: None,
            concurrency_key: None,
        }
    }

    /// Send it to `queue`.
    #[must_use]
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }

    /// Make it a job of `tenant`.
    #[must_use]
    pub fn tenant(mut self, tenant: TenantId) -> Self {
        self.tenant_id = Some(tenant);
        self
    }

    /// Run it no earlier than `at`.
    #[must_use]
    pub fn run_at(mut self, at: Timestamp) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Deduplicate on `key` over the default states.
    #[must_use]
    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    /// Check every field, reporting each bad one.
    ///
    /// # Errors
    /// `invalid_input` naming every bad field.
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::default();
        self.problems(&mut p, "");
        p.into_result()
    }

    pub(crate) fn problems(&self, p: &mut Problems, prefix: &str) {
        let f = |name: &str| format!("{prefix}{name}");
        for (name, value) in [("kind", &self.kind), ("queue", &self.queue)] {
            if !is_token(value) {
                token(p, &f(name), value);
            }
        }
        if self.priority > MAX_PRIORITY {
            p.add(
                &f("priority"),
                &self.priority.to_string(),
                format!("must be 0 to {MAX_PRIORITY}"),
            );
        }
        if !(1..=1000).contains(&self.max_attempts) {
            p.add(
                &f("max_attempts"),
                &self.max_attempts.to_string(),
                "must be 1 to 1000",
            );
        }
        for (name, key) in [
            ("unique_key", &self.unique_key),
            ("concurrency_key", &self.concurrency_key),
        ] {
            if let Some(k) = key
                && (k.is_empty() || k.len() > 512 || k.chars().any(char::is_control))
            {
                p.add(
                    &f(name),
                    k,
                    "must be 1 to 512 bytes without control characters",
                );
            }
        }
        if let Some(states) = &self.unique_states
            && self.unique_key.is_none()
        {
            p.add(
                &f("unique_states"),
                &format!("{states:?}"),
                "needs a unique_key",
            );
        }
        let args_len = json_len(&self.args);
        if args_len > 1 << 20 {
            p.add(
                &f("args"),
                &format!("{args_len} bytes"),
                "must be at most 1 MiB of JSON",
            );
        }
    }

    /// The unique-states mask stored with the job (0 without a unique key).
    pub fn unique_mask(&self) -> u8 {
        match (&self.unique_key, &self.unique_states) {
            (None, _) => 0,
            (Some(_), None) => state_mask(JobState::LIVE),
            (Some(_), Some(s)) => state_mask(s) | state_mask(JobState::LIVE),
        }
    }
}

/// The length of a value's JSON text, counted without building it.
fn json_len(v: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// What a kind or queue name must be.
const TOKEN_RULE: &str = "must be 1 to 100 characters of A-Z a-z 0-9 _ . : -";

/// Check a kind or queue name, naming `field` if it is bad.
pub(crate) fn token(p: &mut Problems, field: &str, value: &str) {
    if !is_token(value) {
        p.add(field, value, TOKEN_RULE);
    }
}

/// A kind or queue name: 1–100 characters of `A-Za-z0-9_.:-`.
fn is_token(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 100
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// One failed attempt, kept on the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptError {
    /// When it failed.
    pub at: Timestamp,
    /// Which attempt (1 for the first).
    pub attempt: u32,
    /// What the handler (or the worker) reported.
    pub message: String,
}

impl AttemptError {
    /// The error the rescuer records on an attempt whose worker's lease ran out.
    pub fn lease_expired(at: Timestamp, attempt: u32, owner: Option<&str>) -> Self {
        Self {
            at,
            attempt,
            message: format!(
                "the lease of worker {} ran out: it stopped or stalled",
                owner.unwrap_or("?")
            ),
        }
    }
}

impl Job {
    /// `conflict` if this job may not be retried now (it is running); every backend says so
    /// the same way.
    pub fn check_retryable(&self) -> Result<()> {
        if self.state == JobState::Running {
            return Err(Error::new(
                crate::ErrorKind::Conflict,
                format!(
                    "job {} is running: cancel it first, or let it finish",
                    self.id
                ),
            ));
        }
        Ok(())
    }

    /// `conflict` if this job may not be cancelled (it is already final).
    pub fn check_cancellable(&self) -> Result<()> {
        if self.state.is_final() {
            return Err(Error::new(
                crate::ErrorKind::Conflict,
                format!("job {} is already {}", self.id, self.state),
            ));
        }
        Ok(())
    }

    /// `already_exists`: running this job again would duplicate its unique key.
    pub fn unique_key_taken(&self) -> Error {
        Error::new(
            crate::ErrorKind::AlreadyExists,
            format!(
                "job {} cannot run again: another job holds its unique key {:?}",
                self.id,
                self.unique_key.as_deref().unwrap_or_default()
            ),
        )
    }
}

/// How far a running job says it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// 0 to 100.
    pub percent: u8,
    /// A short note for people watching.
    pub message: Option<String>,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// Its number.
    pub id: JobId,
    /// The tenant it works for (none for engine-wide jobs).
    pub tenant_id: Option<TenantId>,
    /// Its queue.
    pub queue: String,
    /// Its kind.
    pub kind: String,
    /// Its arguments.
    pub args: serde_json::Value,
    /// 0 runs first.
    pub priority: u8,
    /// Its state.
    pub state: JobState,
    /// Attempts started so far (the running one included).
    pub attempt: u32,
    /// Attempts in all before it is discarded.
    pub max_attempts: u32,
    /// When it may run (next).
    pub scheduled_at: Timestamp,
    /// Its unique key, if any.
    pub unique_key: Option<String>,
    /// Its concurrency key, if any.
    pub concurrency_key: Option<String>,
    /// One entry per failed attempt, oldest first.
    pub errors: Vec<AttemptError>,
    /// The last progress its handler reported.
    pub progress: Option<Progress>,
    /// The worker holding it (while running).
    pub lease_owner: Option<String>,
    /// When that worker's lease runs out unless renewed.
    pub lease_expires_at: Option<Timestamp>,
    /// When it was added.
    pub created_at: Timestamp,
    /// When its latest attempt started.
    pub attempted_at: Option<Timestamp>,
    /// When it became completed, discarded or cancelled.
    pub finalized_at: Option<Timestamp>,
}

/// What enqueueing one job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Enqueued {
    /// The job's id (the existing job's when it was a duplicate).
    pub id: JobId,
    /// A job with the same unique key already existed; nothing was added.
    pub duplicate: bool,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs of this kind.
    pub kind: Option<String>,
    /// Only jobs of this queue.
    pub queue: Option<String>,
    /// Only jobs of this tenant.
    pub tenant_id: Option<TenantId>,
    /// Only jobs with a larger id (paging: pass the last id seen).
    pub after: Option<JobId>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<usize>,
}

impl crate::Request for JobFilter {}

impl JobFilter {
    /// The page size asked for, defaulted and capped.
    pub fn page_size(&self) -> usize {
        self.limit.unwrap_or(100).clamp(1, 1000)
    }
}

/// How many jobs are in each state (`tagsmith jobs stats --json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JobStats {
    /// Ready to run.
    pub available: u64,
    /// Waiting for their time.
    pub scheduled: u64,
    /// Held by a worker.
    pub running: u64,
    /// Waiting for another attempt.
    pub retryable: u64,
    /// Done.
    pub completed: u64,
    /// Failed for good.
    pub discarded: u64,
    /// Cancelled.
    pub cancelled: u64,
}

impl JobStats {
    /// Add `n` jobs in `state`.
    pub fn add(&mut self, state: JobState, n: u64) {
        let slot = match state {
            JobState::Available => &mut self.available,
            JobState::Scheduled => &mut self.scheduled,
            JobState::Running => &mut self.running,
            JobState::Retryable => &mut self.retryable,
            JobState::Completed => &mut self.completed,
            JobState::Discarded => &mut self.discarded,
            JobState::Cancelled => &mut self.cancelled,
        };
        *slot += n;
    }
}

/// A worker's claim: up to `limit` due jobs of `queue`, leased to `worker` until `lease_until`.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    /// The queue.
    pub queue: &'a str,
    /// The claiming worker's id.
    pub worker: &'a str,
    /// Most jobs to take.
    pub limit: usize,
    /// Now (jobs scheduled up to now are due).
    pub now: Timestamp,
    /// The lease's end.
    pub lease_until: Timestamp,
}

/// How an attempt ended, as the worker reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It succeeded: the job is completed.
    Completed,
    /// It failed: retry at the given time (`retryable`), keeping the error.
    Retry {
        /// When to try again.
        at: Timestamp,
        /// The error.
        error: String,
    },
    /// It failed for good: `discarded`, keeping the error.
    Discard {
        /// The error.
        error: String,
    },
    /// Not run to its end (worker shutting down): back to `available`, the attempt not counted.
    Release,
}

/// One attempt's end, guarded by the attempt and lease owner it was claimed with.
#[derive(Debug, Clone, PartialEq)]
pub struct Finish {
    /// The job.
    pub id: JobId,
    /// The attempt the worker ran.
    pub attempt: u32,
    /// How it ended.
    pub outcome: Outcome,
}

/// Where an attempt's outcome moves its job (every backend applies the same).
#[derive(Debug, Clone, PartialEq)]
pub struct Landing {
    /// The job's state after it.
    pub state: JobState,
    /// The error kept on the job, if the attempt failed.
    pub error: Option<AttemptError>,
    /// When the job runs next, if it will (`scheduled_at`).
    pub run_at: Option<Timestamp>,
    /// The attempt its change event names (a released attempt is not counted).
    pub logged_attempt: u32,
}

impl Finish {
    /// Where this outcome moves the job, reported at `now`.
    pub fn landing(&self, now: Timestamp) -> Landing {
        let error = |message: &String| AttemptError {
            at: now,
            attempt: self.attempt,
            message: message.clone(),
        };
        let (state, error, run_at) = match &self.outcome {
            Outcome::Completed => (JobState::Completed, None, None),
            Outcome::Retry { at, error: e } => (JobState::Retryable, Some(error(e)), Some(*at)),
            Outcome::Discard { error: e } => (JobState::Discarded, Some(error(e)), None),
            Outcome::Release => (JobState::Available, None, Some(now)),
        };
        let logged_attempt = if state == JobState::Available {
            self.attempt.saturating_sub(1)
        } else {
            self.attempt
        };
        Landing {
            state,
            error,
            run_at,
            logged_attempt,
        }
    }
}
