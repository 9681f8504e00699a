//! Workers: claim due jobs in batches, run their handlers on tokio, report outcomes in batches,
//! keep leases alive, rescue dead workers' jobs, enqueue periodic jobs, prune.
//!
//! One worker runs these tasks on the caller's tokio runtime:
//! - a **fetcher** per queue: claims up to its free slots in one transaction, spawns each job,
//!   and sleeps until a job is added in this process, a slot frees, the next scheduled job is
//!   due, or the poll interval passes (other processes' jobs);
//! - a **completer**: every outcome goes through one channel and is written in batches (one
//!   transaction per batch), retried until storage takes it, so an outcome is never dropped; a
//!   job stays leased (heartbeats continue) until its outcome is durable;
//! - a **heartbeat**: extends the leases of running jobs every third of the lease, and aborts
//!   the handlers of jobs the worker no longer holds (cancelled, or rescued after a stall);
//! - **maintenance**: the rescuer, periodic jobs, pruning of old final jobs and of job events.
//!
//! Handlers run in their own tokio task, so a panic fails that attempt and the worker lives.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::{AbortHandle, JoinSet};

use super::cron::Periodic;
use super::{Claim, Finish, Job, JobId, Outcome, QueueStore};
use crate::resilience::RetryPolicy;
use crate::validate::Problems;
use crate::{Engine, Error, Result, TenantId, Timestamp};

/// Why an attempt failed, as a handler reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct HandlerError {
    /// What went wrong (recorded on the job).
    pub message: String,
    /// Wait at least this long before the next attempt (a 429's Retry-After).
    pub retry_after: Option<Duration>,
    /// No retry can fix it: discard the job now.
    pub discard: bool,
}

impl HandlerError {
    /// A failure worth retrying.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry_after: None,
            discard: false,
        }
    }

    /// A failure no retry can fix: the job is discarded.
    pub fn discard(message: impl Into<String>) -> Self {
        Self {
            discard: true,
            ..Self::new(message)
        }
    }
}

impl From<Error> for HandlerError {
    /// A core error retries if it says a retry may fix it, honouring its `retry_after`.
    fn from(e: Error) -> Self {
        Self {
            message: e.to_string(),
            retry_after: e.retry_after_secs().map(Duration::from_secs),
            discard: !e.is_retryable(),
        }
    }
}

/// What a handler gets: the job, and ways to report on it.
#[derive(Clone)]
pub struct JobContext {
    /// The job as claimed (its `attempt` is this attempt's number).
    pub job: Job,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("job", &self.job)
            .finish()
    }
}

impl JobContext {
    /// The arguments as `T`.
    ///
    /// # Errors
    /// A discarding [`HandlerError`] naming the bad field: bad arguments never get better.
    pub fn args<T: serde::de::DeserializeOwned>(&self) -> std::result::Result<T, HandlerError> {
        serde_path_to_error::deserialize(&self.job.args).map_err(|e| {
            HandlerError::discard(format!(
                "the args of job {} ({}) do not fit: {} at {}",
                self.job.id,
                self.job.kind,
                e.inner(),
                e.path()
            ))
        })
    }

    /// Record progress (0–100) and an optional note; published as a job event of its tenant.
    ///
    /// # Errors
    /// `invalid_input` for a percent above 100; `conflict` if the worker no longer holds the
    /// job; `storage` on failure.
    pub async fn progress(&self, percent: u8, message: Option<String>) -> Result<()> {
        self.shared
            .engine
            .jobs()
            .progress(
                self.job.id,
                self.job.attempt,
                &self.shared.id,
                percent,
                message,
            )
            .await
    }
}

/// Boxed future a handler returns.
pub type HandlerFuture =
    Pin<Box<dyn Future<Output = std::result::Result<(), HandlerError>> + Send>>;

/// Runs one kind of job.
pub trait Handler: Send + Sync + 'static {
    /// Run the job once.
    fn run(&self, ctx: JobContext) -> HandlerFuture;
}

impl<F, Fut> Handler for F
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<(), HandlerError>> + Send + 'static,
{
    fn run(&self, ctx: JobContext) -> HandlerFuture {
        Box::pin(self(ctx))
    }
}

/// How one kind runs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KindOptions {
    /// Fail an attempt that runs longer (default: the worker's `job_timeout`).
    pub timeout: Option<Duration>,
    /// The longest wait before a retry (default: the worker's `max_backoff`).
    pub max_backoff: Option<Duration>,
}

/// How a worker runs.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerOptions {
    /// Queues to run, each with its concurrency (default `{"default": 10}`).
    pub queues: Vec<(String, usize)>,
    /// The worker's id, recorded as lease owner (default: host, process and a random suffix).
    pub id: Option<String>,
    /// How long a claim is held without a heartbeat, in ms (default 30 000, at most 30 000).
    pub lease_ms: u64,
    /// How often to look for jobs added by other processes, in ms (default 1000).
    pub poll_ms: u64,
    /// Fail an attempt running longer than this, in ms (default 60 000).
    pub job_timeout_ms: u64,
    /// The longest wait before a retry, in ms (default 24 h).
    pub max_backoff_ms: u64,
    /// How long final jobs are kept, in seconds (default 7 days).
    pub keep_final_secs: u64,
    /// How often maintenance (rescue, periodic jobs, pruning) runs, in ms (default 1000).
    pub maintenance_ms: u64,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            queues: vec![(super::DEFAULT_QUEUE.to_owned(), 10)],
            id: None,
            lease_ms: 30_000,
            poll_ms: 1000,
            job_timeout_ms: 60_000,
            max_backoff_ms: 24 * 3600 * 1000,
            keep_final_secs: 7 * 24 * 3600,
            maintenance_ms: 1000,
        }
    }
}

impl crate::Request for WorkerOptions {
    fn check(&self, _stood_in: &[&str]) -> Result<()> {
        self.validate()
    }
}

impl WorkerOptions {
    /// Check the values.
    ///
    /// # Errors
    /// `invalid_input` naming each bad field.
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::default();
        if self.queues.is_empty() {
            p.add("queues", "[]", "must name at least one queue");
        }
        for (i, (q, n)) in self.queues.iter().enumerate() {
            super::token(&mut p, &format!("queues[{i}]"), q);
            if !(1..=10_000).contains(n) {
                p.add(
                    &format!("queues[{i}].concurrency"),
                    &n.to_string(),
                    "must be 1 to 10000",
                );
            }
        }
        let ranges: [(&str, u64, u64, u64); 6] = [
            ("lease_ms", self.lease_ms, 100, 30_000),
            ("poll_ms", self.poll_ms, 1, 3_600_000),
            ("job_timeout_ms", self.job_timeout_ms, 1, 7 * 24 * 3_600_000),
            (
                "max_backoff_ms",
                self.max_backoff_ms,
                0,
                30 * 24 * 3_600_000,
            ),
            (
                "keep_final_secs",
                self.keep_final_secs,
                1,
                10 * 365 * 24 * 3600,
            ),
            ("maintenance_ms", self.maintenance_ms, 10, 3_600_000),
        ];
        for (field, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                p.add(field, &v.to_string(), format!("must be {lo} to {hi}"));
            }
        }
        if let Some(id) = &self.id
            && (id.is_empty() || id.len() > 200 || id.chars().any(char::is_control))
        {
            p.add(
                "id",
                id,
                "must be 1 to 200 characters without control characters",
            );
        }
        p.into_result()
    }
}

/// What a worker did, returned when it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WorkerReport {
    /// Attempts that succeeded.
    pub completed: u64,
    /// Attempts that failed and will be retried.
    pub retried: u64,
    /// Jobs discarded (out of attempts, unknown kind, bad args, a discarding error).
    pub discarded: u64,
    /// Jobs released unfinished at shutdown (back to available).
    pub released: u64,
    /// Jobs this worker lost (cancelled, or rescued after its lease ran out).
    pub lost: u64,
    /// Expired leases of other (dead) workers this worker rescued.
    pub rescued: u64,
}

#[derive(Default)]
struct Counters {
    completed: AtomicU64,
    retried: AtomicU64,
    discarded: AtomicU64,
    released: AtomicU64,
    lost: AtomicU64,
    rescued: AtomicU64,
}

struct Registered {
    handler: Arc<dyn Handler>,
    options: KindOptions,
}

/// A job being run: what the heartbeat renews and the completer reports.
struct Inflight {
    attempt: u32,
    tenant: Option<TenantId>,
    abort: Option<AbortHandle>,
    /// Its outcome is on its way to storage.
    reported: bool,
}

struct Shared {
    engine: Engine,
    id: String,
    options: WorkerOptions,
    handlers: HashMap<String, Registered>,
    periodic: Vec<Periodic>,
    inflight: Mutex<HashMap<JobId, Inflight>>,
    counters: Counters,
    /// Outcomes on their way to storage: written by the next claim (in its transaction) or by
    /// the completer, whichever comes first.
    outcomes: Mutex<Vec<Finish>>,
    /// An outcome was added (wakes the completer).
    outcome_added: Notify,
    /// A slot freed or an outcome landed (fetchers and `run_until_idle` look again).
    settled: Notify,
    /// Tenants whose logs got job events since the last prune.
    touched: Mutex<std::collections::HashSet<TenantId>>,
}

impl Shared {
    fn store(&self) -> Result<&dyn QueueStore> {
        self.engine.storage().jobs()
    }

    fn lease(&self) -> Duration {
        Duration::from_millis(self.options.lease_ms)
    }

    fn inflight(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Inflight>> {
        self.inflight.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hand an attempt's outcome to storage (the next claim or the completer writes it).
    fn report(&self, outcome: Finish) {
        self.outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(outcome);
        self.outcome_added.notify_one();
    }

    /// Take the outcomes waiting to be written.
    fn take_outcomes(&self) -> Vec<Finish> {
        std::mem::take(&mut *self.outcomes.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Put back outcomes storage did not take (first, in order), for the completer to retry.
    fn return_outcomes(&self, mut batch: Vec<Finish>) {
        let mut pending = self.outcomes.lock().unwrap_or_else(|p| p.into_inner());
        batch.append(&mut pending);
        *pending = batch;
        drop(pending);
        self.outcome_added.notify_one();
    }

    /// Outcomes storage took: the jobs leave this worker (a lost one is counted).
    fn settle(&self, batch: &[Finish], applied: &[bool]) {
        let mut tenants = Vec::new();
        {
            let mut inflight = self.inflight();
            for (f, ok) in batch.iter().zip(applied) {
                if let Some(job) = inflight.remove(&f.id)
                    && let Some(t) = job.tenant
                {
                    tenants.push(t);
                }
                if !ok {
                    self.counters.lost.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        self.touched(tenants.iter());
        self.settled.notify_waiters();
    }

    /// Wake the subscribers of tenants whose logs got job events, and remember them for pruning.
    fn touched<'t>(&self, tenants: impl Iterator<Item = &'t TenantId> + Clone) {
        self.engine.wake_tenants(tenants.clone());
        let mut set = self.touched.lock().unwrap_or_else(|p| p.into_inner());
        for t in tenants {
            if !set.contains(t) {
                set.insert(t.clone());
            }
        }
    }
}

fn after(t: Timestamp, d: Duration) -> Timestamp {
    let micros = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    Timestamp::from_micros(t.as_micros().saturating_add(micros))
}

/// Storage failed (locked, removed, full): wait before trying again, longer each time.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis((50u64 << failures.min(7)).min(5_000))
}

/// A worker being set up: register handlers and periodic jobs, then [`start`](Self::start) or
/// [`run_until_idle`](Self::run_until_idle).
pub struct Worker {
    engine: Engine,
    options: WorkerOptions,
    handlers: HashMap<String, Registered>,
    periodic: Vec<Periodic>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("options", &self.options)
            .field("kinds", &self.handlers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Worker {
    /// A worker on `engine`'s queue with the built-in kinds `noop` and `sleep` (`{"ms": N}`).
    ///
    /// # Errors
    /// `invalid_input` naming bad options; `unavailable` if the storage has no queue.
    pub fn new(engine: &Engine, options: WorkerOptions) -> Result<Self> {
        options.validate()?;
        engine.storage().jobs()?;
        let mut w = Self {
            engine: engine.clone(),
            options,
            handlers: HashMap::new(),
            periodic: Vec::new(),
        };
        w.register("noop", |_ctx: JobContext| async { Ok(()) });
        w.register("sleep", |ctx: JobContext| async move {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Sleep {
                ms: u64,
            }
            let a: Sleep = ctx.args()?;
            tokio::time::sleep(Duration::from_millis(a.ms)).await;
            Ok(())
        });
        Ok(w)
    }

    /// Run `handler` for jobs of `kind` (replacing any handler of that kind).
    pub fn register(&mut self, kind: &str, handler: impl Handler) -> &mut Self {
        self.register_with(kind, handler, KindOptions::default())
    }

    /// [`register`](Self::register) with a timeout or backoff cap of its own.
    pub fn register_with(
        &mut self,
        kind: &str,
        handler: impl Handler,
        options: KindOptions,
    ) -> &mut Self {
        self.handlers.insert(
            kind.to_owned(),
            Registered {
                handler: Arc::new(handler),
                options,
            },
        );
        self
    }

    /// Enqueue `job` at every occurrence of the cron `expression` (5 fields, or 6 with
    /// seconds), once per occurrence however many workers run it.
    ///
    /// # Errors
    /// `invalid_input` naming `cron` for a bad expression, or the job's bad fields.
    pub fn periodic(&mut self, name: &str, expression: &str, job: super::NewJob) -> Result<()> {
        let p = Periodic::new(name, expression, job, self.engine.now())?;
        self.periodic.retain(|q| q.name() != name);
        self.periodic.push(p);
        Ok(())
    }

    /// Start the worker's tasks on the current tokio runtime.
    pub fn start(self) -> WorkerHandle {
        let (stop_tx, stop_rx) = watch::channel(false);
        let id = self.options.id.clone().unwrap_or_else(default_id);
        let shared = Arc::new(Shared {
            engine: self.engine,
            id,
            options: self.options,
            handlers: self.handlers,
            periodic: self.periodic,
            inflight: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            outcomes: Mutex::new(Vec::new()),
            outcome_added: Notify::new(),
            settled: Notify::new(),
            touched: Mutex::new(std::collections::HashSet::new()),
        });
        let mut tasks = JoinSet::new();
        let running = Arc::new(Mutex::new(JoinSet::new()));
        for (queue, concurrency) in shared.options.queues.clone() {
            tasks.spawn(fetch(
                shared.clone(),
                queue,
                concurrency,
                stop_rx.clone(),
                running.clone(),
            ));
        }
        let completer = tokio::spawn(complete(shared.clone()));
        let heartbeat = tokio::spawn(heartbeat(shared.clone()));
        tasks.spawn(maintain(shared.clone(), stop_rx));
        WorkerHandle {
            shared,
            stop: stop_tx,
            tasks,
            running,
            completer,
            heartbeat,
        }
    }

    /// Run until no job is available, running or retryable (so expired leases of dead workers
    /// and pending retries are waited out, but not jobs scheduled for later), then stop.
    ///
    /// # Errors
    /// `storage` if the queue cannot be read for long.
    pub async fn run_until_idle(self) -> Result<WorkerReport> {
        let handle = self.start();
        let shared = handle.shared.clone();
        let mut failures = 0;
        loop {
            let settled = shared.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            if shared.inflight().is_empty() {
                match shared.store()?.has_pending(shared.engine.now()).await {
                    Ok(false) => break,
                    Ok(true) => failures = 0,
                    Err(e) if failures < 50 && e.is_retryable() => failures += 1,
                    Err(e) => {
                        handle.shutdown(Duration::from_secs(1)).await;
                        return Err(e);
                    }
                }
            }
            tokio::select! {
                () = settled => {}
                () = tokio::time::sleep(Duration::from_millis(25)) => {}
            }
        }
        Ok(handle.shutdown(Duration::from_secs(30)).await)
    }
}

fn default_id() -> String {
    let mut r = [0u8; 4];
    // An id only needs to differ between live workers; a failed random read still gives the
    // process id.
    let _ = crate::Env::fill_random(&crate::SystemEnv, &mut r);
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
    format!("{host}-{}-{}", std::process::id(), hex::encode(r))
}

/// The runtime a host without one drives a worker on (`block_on(worker.run_until_idle())`):
/// one thread. The queue's work is mostly the single SQLite writer's, so a current-thread
/// runtime does it without cross-thread wake-ups (25–40 % faster than two worker threads on the
/// project's 2-core machine); handlers that burn CPU belong on `spawn_blocking`.
///
/// # Errors
/// `internal` if the runtime cannot start.
pub fn driving_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the worker runtime: {e}")))
}

/// A running worker.
pub struct WorkerHandle {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    running: Arc<Mutex<JoinSet<()>>>,
    completer: tokio::task::JoinHandle<()>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("id", &self.shared.id)
            .finish()
    }
}

impl WorkerHandle {
    /// The worker's id (the lease owner of its jobs).
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// What it has done so far.
    pub fn report(&self) -> WorkerReport {
        let c = &self.shared.counters;
        WorkerReport {
            completed: c.completed.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            discarded: c.discarded.load(Ordering::Relaxed),
            released: c.released.load(Ordering::Relaxed),
            lost: c.lost.load(Ordering::Relaxed),
            rescued: c.rescued.load(Ordering::Relaxed),
        }
    }

    /// Stop claiming, let running jobs finish within `deadline`, release the rest (back to
    /// available, the attempt not counted), write every outcome, and stop.
    pub async fn shutdown(mut self, deadline: Duration) -> WorkerReport {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
        let mut running =
            std::mem::take(&mut *self.running.lock().unwrap_or_else(|p| p.into_inner()));
        let finished = tokio::time::timeout(deadline, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            // Abort what is left, and release it: its attempt did not run to its end.
            let left: Vec<(JobId, u32)> = {
                let inflight = self.shared.inflight();
                inflight
                    .iter()
                    .filter(|(_, f)| !f.reported)
                    .map(|(id, f)| (*id, f.attempt))
                    .collect()
            };
            running.abort_all();
            while running.join_next().await.is_some() {}
            for (id, attempt) in left {
                self.shared
                    .counters
                    .released
                    .fetch_add(1, Ordering::Relaxed);
                self.shared.report(Finish {
                    id,
                    attempt,
                    outcome: Outcome::Release,
                });
            }
        }
        // Wait for the completer to write every outcome (it removes each job once written),
        // giving up after a while if storage stays unavailable: those jobs' leases run out and
        // the rescuer returns them.
        let shared = self.shared.clone();
        let _ = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let settled = shared.settled.notified();
                tokio::pin!(settled);
                settled.as_mut().enable();
                if shared.inflight().is_empty() {
                    break;
                }
                settled.await;
            }
        })
        .await;
        self.completer.abort();
        self.heartbeat.abort();
        self.report()
    }
}

/// Claim and spawn jobs of one queue until told to stop.
async fn fetch(
    shared: Arc<Shared>,
    queue: String,
    concurrency: usize,
    mut stop: watch::Receiver<bool>,
    running: Arc<Mutex<JoinSet<()>>>,
) {
    let slots = Arc::new(Semaphore::new(concurrency));
    let poll = Duration::from_millis(shared.options.poll_ms);
    // While jobs keep coming, claim in batches of at least half of the slots, so one
    // transaction claims many jobs instead of one per finished job.
    let batch = (concurrency / 2).max(1);
    let mut drained = true;
    let mut failures = 0;
    // Jobs added by other processes (where the backend can tell).
    let anywhere = shared.store().ok().and_then(QueueStore::added_anywhere);
    while !*stop.borrow() {
        let added = shared.engine.job_added().notified();
        tokio::pin!(added);
        added.as_mut().enable();
        let elsewhere = anywhere.as_deref().map(Notify::notified);
        tokio::pin!(elsewhere);
        if let Some(n) = elsewhere.as_mut().as_pin_mut() {
            n.enable();
        }
        let free = slots.available_permits();
        let mut wait = poll;
        if free >= if drained { 1 } else { batch } {
            let now = shared.engine.now();
            let claim = Claim {
                queue: &queue,
                worker: &shared.id,
                limit: free,
                now,
                lease_until: after(now, shared.lease()),
            };
            // Outcomes waiting to be written go in the claim's transaction: one commit instead
            // of two while jobs keep coming.
            let done = shared.take_outcomes();
            let claimed = match shared.store() {
                Ok(store) => store.finish_and_claim(&shared.id, &done, &claim).await,
                Err(e) => Err(e),
            };
            let claimed = match claimed {
                Ok((applied, jobs)) => {
                    shared.settle(&done, &applied);
                    Ok(jobs)
                }
                Err(e) => {
                    if !done.is_empty() {
                        shared.return_outcomes(done);
                    }
                    Err(e)
                }
            };
            match claimed {
                Ok(jobs) => {
                    failures = 0;
                    drained = jobs.len() < free;
                    shared.touched(jobs.iter().filter_map(|j| j.tenant_id.as_ref()));
                    for job in jobs {
                        let Ok(permit) = slots.clone().try_acquire_owned() else {
                            break;
                        };
                        spawn_job(&shared, job, permit, &running);
                    }
                    if !drained {
                        continue;
                    }
                    if let Ok(store) = shared.store()
                        && let Ok(Some(due)) = store.next_due(&queue).await
                    {
                        let until = due.as_micros() - shared.engine.now().as_micros();
                        let until = Duration::from_micros(until.max(0) as u64);
                        // Not sooner than 10 ms: a due job may be waiting for its concurrency key.
                        wait = wait.min(until.max(Duration::from_millis(10)));
                    }
                }
                Err(_) => {
                    failures += 1;
                    wait = backoff(failures);
                }
            }
        }
        // Slots are short (all busy, or jobs keep coming and fewer than a batch are free): wait
        // for enough of them, woken once rather than per finished job.
        let free = slots.available_permits();
        let need = if drained { 1 } else { batch };
        let slots_freed = async {
            if free >= need {
                std::future::pending::<()>().await;
            }
            let _ = slots.acquire_many(need as u32).await;
        };
        tokio::select! {
            () = added => drained = true,
            () = async {
                match elsewhere.as_mut().as_pin_mut() {
                    Some(n) => n.await,
                    None => std::future::pending().await,
                }
            } => drained = true,
            () = slots_freed => {}
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}

fn spawn_job(
    shared: &Arc<Shared>,
    job: Job,
    permit: tokio::sync::OwnedSemaphorePermit,
    running: &Arc<Mutex<JoinSet<()>>>,
) {
    let id = job.id;
    let mut inflight = shared.inflight();
    inflight.insert(
        id,
        Inflight {
            attempt: job.attempt,
            tenant: job.tenant_id.clone(),
            abort: None,
            reported: false,
        },
    );
    let s = shared.clone();
    let mut set = running.lock().unwrap_or_else(|p| p.into_inner());
    // Reap finished tasks so the set stays small.
    while set.try_join_next().is_some() {}
    let abort = set.spawn(async move {
        let outcome = execute(&s, job).await;
        drop(permit);
        if let Some(f) = s.inflight().get_mut(&id) {
            f.reported = true;
        }
        s.report(outcome);
    });
    // Held in the map's lock: the task cannot report before its handle is recorded.
    if let Some(f) = inflight.get_mut(&id) {
        f.abort = Some(abort);
    }
}

/// Run one attempt in this task (so a lost lease or a shutdown aborts the handler with it).
async fn execute(shared: &Arc<Shared>, job: Job) -> Finish {
    use futures_util::FutureExt;
    let (id, attempt, max) = (job.id, job.attempt, job.max_attempts);
    let Some(reg) = shared.handlers.get(&job.kind) else {
        shared.counters.discarded.fetch_add(1, Ordering::Relaxed);
        return Finish {
            id,
            attempt,
            outcome: Outcome::Discard {
                error: format!(
                    "no handler for kind {:?} on worker {}: register one, then retry the job",
                    job.kind, shared.id
                ),
            },
        };
    };
    let timeout = reg
        .options
        .timeout
        .unwrap_or(Duration::from_millis(shared.options.job_timeout_ms));
    let ctx = JobContext {
        job,
        shared: shared.clone(),
    };
    // A panic, even while the handler builds its future, fails this attempt only.
    let run = std::panic::AssertUnwindSafe(async { reg.handler.run(ctx).await }).catch_unwind();
    let result = match tokio::time::timeout(timeout, run).await {
        Ok(Ok(r)) => r,
        Ok(Err(panic)) => Err(HandlerError::new(format!(
            "the handler panicked: {}",
            panic_message(panic.as_ref())
        ))),
        Err(_) => Err(HandlerError::new(format!(
            "timed out after {} ms",
            timeout.as_millis()
        ))),
    };
    let outcome = match result {
        Ok(()) => {
            shared.counters.completed.fetch_add(1, Ordering::Relaxed);
            Outcome::Completed
        }
        Err(e) if e.discard || attempt >= max => {
            shared.counters.discarded.fetch_add(1, Ordering::Relaxed);
            Outcome::Discard {
                error: clip(e.message),
            }
        }
        Err(e) => {
            shared.counters.retried.fetch_add(1, Ordering::Relaxed);
            let policy = RetryPolicy {
                max_delay: reg
                    .options
                    .max_backoff
                    .unwrap_or(Duration::from_millis(shared.options.max_backoff_ms)),
                ..RetryPolicy::default()
            };
            let wait = policy.delay(attempt, e.retry_after);
            Outcome::Retry {
                at: after(shared.engine.now(), wait),
                error: clip(e.message),
            }
        }
    };
    Finish {
        id,
        attempt,
        outcome,
    }
}

/// Errors are kept on the job: at most 2000 characters each.
fn clip(mut message: String) -> String {
    if let Some((i, _)) = message.char_indices().nth(2000) {
        message.truncate(i);
        message.push('…');
    }
    message
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic".to_owned())
}

/// Write the outcomes no claim took, in batches, retrying a batch until storage takes it.
async fn complete(shared: Arc<Shared>) {
    let mut failures = 0;
    loop {
        shared.outcome_added.notified().await;
        // Under load, let a batch gather for a moment (or a claim take it): every transaction
        // writes whole pages to the WAL, so fewer, larger ones cost less per job. An outcome
        // waits at most a millisecond more.
        let waiting = shared
            .outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len();
        if waiting > 1 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        loop {
            let batch = shared.take_outcomes();
            if batch.is_empty() {
                break;
            }
            let written = match shared.store() {
                Ok(store) => store.finish(&shared.id, &batch, shared.engine.now()).await,
                Err(e) => Err(e),
            };
            match written {
                Ok(applied) => {
                    failures = 0;
                    shared.settle(&batch, &applied);
                }
                Err(_) => {
                    // Locked or gone for now: keep the batch, wait, try again. The jobs stay
                    // leased meanwhile (the heartbeat renews them), so nothing is rescued early.
                    shared.return_outcomes(batch);
                    failures += 1;
                    tokio::time::sleep(backoff(failures)).await;
                }
            }
        }
    }
}

/// Extend the leases of running jobs, and abort the ones this worker lost, until the worker
/// is shut down (leases stay renewed while a shutdown waits for outcomes to be written).
async fn heartbeat(shared: Arc<Shared>) {
    let every = shared.lease() / 3;
    loop {
        tokio::time::sleep(every).await;
        beat(&shared).await;
    }
}

async fn beat(shared: &Arc<Shared>) {
    let held: Vec<(JobId, u32)> = shared
        .inflight()
        .iter()
        .map(|(id, f)| (*id, f.attempt))
        .collect();
    if held.is_empty() {
        return;
    }
    let until = after(shared.engine.now(), shared.lease());
    let Ok(store) = shared.store() else { return };
    let Ok(lost) = store.heartbeat(&shared.id, &held, until).await else {
        return;
    };
    let mut inflight = shared.inflight();
    for id in lost {
        // An outcome already on its way is reported as lost by the completer instead.
        if let Some(f) = inflight.get(&id)
            && let Some(abort) = &f.abort
            && !abort.is_finished()
        {
            abort.abort();
            inflight.remove(&id);
            shared.counters.lost.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Rescue expired leases, enqueue periodic jobs, prune final jobs and job events.
async fn maintain(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis(shared.options.maintenance_ms);
    let mut last_prune: Option<Timestamp> = None;
    let mut periodic = shared.periodic.clone();
    loop {
        let now = shared.engine.now();
        if let Ok(store) = shared.store() {
            if let Ok(n) = store.rescue(now).await
                && n > 0
            {
                shared.counters.rescued.fetch_add(n, Ordering::Relaxed);
                shared.engine.job_added().notify_waiters();
            }
            let mut added = false;
            for p in &mut periodic {
                if let Some(job) = p.due(now)
                    && shared.engine.jobs().enqueue(job).await.is_ok()
                {
                    p.advance(now);
                    added = true;
                }
            }
            if added {
                shared.engine.job_added().notify_waiters();
            }
            if last_prune.is_none_or(|t| now.as_micros() - t.as_micros() > 60_000_000) {
                last_prune = Some(now);
                let keep = Duration::from_secs(shared.options.keep_final_secs);
                let before = Timestamp::from_micros(
                    now.as_micros() - i64::try_from(keep.as_micros()).unwrap_or(i64::MAX / 2),
                );
                let _ = store.prune(before, 10_000).await;
                prune_job_events(&shared).await;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Apply the event retention to the logs this worker appended job events to (outside the
/// engine's units of work, which prune as they go).
async fn prune_job_events(shared: &Arc<Shared>) {
    let tenants: Vec<TenantId> = {
        let mut set = shared.touched.lock().unwrap_or_else(|p| p.into_inner());
        set.drain().collect()
    };
    for t in tenants {
        let _ = shared.engine.prune_log(&t).await;
    }
}
