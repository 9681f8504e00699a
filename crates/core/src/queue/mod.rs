//! The durable job queue: jobs in the engine's own storage, claimed in batches under a per-job
//! lease, run by tokio workers ([`Worker`]), retried with backoff, rescued when a worker dies.
//!
//! - **Storage** ([`QueueStore`]) keeps jobs and applies transitions; every transition out of
//!   `running` is guarded by (state, attempt, lease owner), so a worker that lost its lease (it
//!   stalled past the lease and the rescuer gave the job to another) changes nothing. Backends:
//!   memory and SQLite (one `BEGIN IMMEDIATE` per claim or batch of completions), both passing
//!   `tests/queue_suite.rs`.
//! - **Policy** lives here, not in backends: backoff, timeouts, unknown kinds, concurrency.
//! - **Enqueue in the same commit as a change**: [`JobWrites`] is a writer of the engine's unit
//!   of work, so a tracking edit and the sync job it causes commit together or not at all.
//! - Delivery is at least once: a handler may run again after its worker died mid-job, so
//!   handlers use `job.id` and `attempt` as idempotency keys.
//!
//! Native only: the browser build has the job model (events name job states) but no queue.

#[cfg(not(target_arch = "wasm32"))]
mod api;
#[cfg(not(target_arch = "wasm32"))]
mod cron;
mod model;
pub(crate) use model::token;
#[cfg(not(target_arch = "wasm32"))]
mod worker;

#[cfg(not(target_arch = "wasm32"))]
pub use api::Jobs;
#[cfg(not(target_arch = "wasm32"))]
pub use cron::Periodic;
pub use model::{
    AttemptError, Claim, DEFAULT_MAX_ATTEMPTS, DEFAULT_QUEUE, Enqueued, Finish, Job, JobFilter,
    JobId, JobState, JobStats, Landing, MAX_PRIORITY, NewJob, Outcome, Progress, state_mask,
};
#[cfg(not(target_arch = "wasm32"))]
pub use worker::{
    Handler, HandlerError, HandlerFuture, JobContext, KindOptions, Worker, WorkerHandle,
    WorkerOptions, WorkerReport, driving_runtime,
};

#[cfg(not(target_arch = "wasm32"))]
use crate::{Result, Timestamp};

/// Job writes inside the engine's unit of work (committed with the change that caused them).
#[cfg(not(target_arch = "wasm32"))]
#[async_trait::async_trait]
pub trait JobWrites: Send {
    /// Add a job (validated by the caller), or find the live duplicate of its unique key.
    /// A tenant job's `created` event is appended in the same transaction.
    async fn enqueue_job(&mut self, job: &NewJob, now: Timestamp) -> Result<Enqueued>;
}

/// Jobs in storage. Backends store and apply guarded transitions; timing policy comes from the
/// caller. Transitions of tenant jobs append that tenant's change events in the same
/// transaction.
#[cfg(not(target_arch = "wasm32"))]
#[async_trait::async_trait]
pub trait QueueStore: Send + Sync {
    /// Add jobs (validated by the caller) in one transaction, in order.
    async fn enqueue(&self, jobs: &[NewJob], now: Timestamp) -> Result<Vec<Enqueued>>;

    /// Move up to `claim.limit` due jobs of the queue (available, or scheduled/retryable whose
    /// time has come; by priority, then time, then id) to `running` with `attempt + 1` and the
    /// worker's lease, in one transaction. A job whose concurrency key is already running is
    /// skipped, and at most one job per key is claimed.
    async fn claim(&self, claim: &Claim<'_>) -> Result<Vec<Job>>;

    /// Extend the lease of the worker's running jobs `(id, attempt)` to `lease_until`; returns
    /// the ones it no longer holds (rescued, cancelled, finished elsewhere).
    async fn heartbeat(
        &self,
        worker: &str,
        jobs: &[(JobId, u32)],
        lease_until: Timestamp,
    ) -> Result<Vec<JobId>>;

    /// Apply attempt outcomes in one transaction, each only if the job is still `running` with
    /// that attempt under this worker's lease; returns, per item, whether it applied.
    async fn finish(&self, worker: &str, done: &[Finish], now: Timestamp) -> Result<Vec<bool>>;

    /// [`finish`](Self::finish) then [`claim`](Self::claim), in one transaction where the
    /// backend can (a worker's completions ride along with its next claim).
    async fn finish_and_claim(
        &self,
        worker: &str,
        done: &[Finish],
        claim: &Claim<'_>,
    ) -> Result<(Vec<bool>, Vec<Job>)> {
        let applied = if done.is_empty() {
            Vec::new()
        } else {
            self.finish(worker, done, claim.now).await?
        };
        Ok((applied, self.claim(claim).await?))
    }

    /// Record a running job's progress (guarded like `finish`); whether it applied.
    async fn set_progress(
        &self,
        worker: &str,
        id: JobId,
        attempt: u32,
        progress: &Progress,
        now: Timestamp,
    ) -> Result<bool>;

    /// Return running jobs whose lease ran out before `now` to `retryable` (due now), or
    /// `discarded` when out of attempts, recording the lost attempt; returns how many.
    async fn rescue(&self, now: Timestamp) -> Result<u64>;

    /// Put a job that is not running back to `available` now (a final job gets one more
    /// attempt). `conflict` if running; `already_exists` if its unique key is taken meanwhile.
    async fn retry(&self, id: JobId, now: Timestamp) -> Result<Job>;

    /// Cancel a job that is not final (a running one's worker loses it at its next heartbeat).
    /// `conflict` if it is already final.
    async fn cancel(&self, id: JobId, now: Timestamp) -> Result<Job>;

    /// Fetch a job; `not_found` if unknown.
    async fn get_job(&self, id: JobId) -> Result<Job>;

    /// Jobs matching `filter`, by id.
    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>>;

    /// Jobs per state (of one tenant, or all).
    async fn stats(&self, tenant: Option<&crate::TenantId>) -> Result<JobStats>;

    /// Whether any job is one a worker still has to wait for: available, running, retryable, or
    /// scheduled no later than `now` (what `run_until_idle` waits out). Cheap: it stops at the
    /// first such job.
    async fn has_pending(&self, now: Timestamp) -> Result<bool>;

    /// The earliest `scheduled_at` of a job waiting in `queue` (scheduled or retryable), so an
    /// idle worker knows when to look again.
    async fn next_due(&self, queue: &str) -> Result<Option<Timestamp>>;

    /// Delete up to `limit` final jobs finalized before `before`; returns how many.
    async fn prune(&self, before: Timestamp, limit: usize) -> Result<u64>;

    /// Woken whenever any process adds a job (PostgreSQL: `LISTEN` on the schema's channel,
    /// which every enqueue `NOTIFY`s at commit), so idle workers look again at once. `None`
    /// where the backend has no such signal: the engine wakes its own process's workers, and
    /// workers poll for the rest.
    fn added_anywhere(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }
}
