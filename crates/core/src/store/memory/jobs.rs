//! The job queue in memory: the reference behaviour the SQLite backend is held to by the queue
//! suite. Scans are linear; this backend is for tests and scratch work.

use std::collections::BTreeMap;

use super::{MemoryStore, MemoryTx, State, Undo, closed};
use crate::events::{Change, ChangeAction};
use crate::queue::{
    AttemptError, Claim, Enqueued, Finish, Job, JobFilter, JobId, JobState, JobStats, JobWrites,
    NewJob, Progress, QueueStore,
};
use crate::{Error, Result, TenantId, Timestamp};

/// The job table.
#[derive(Debug, Default)]
pub(super) struct Jobs {
    last_id: i64,
    /// Each job with its unique-states mask.
    rows: BTreeMap<i64, (Job, u8)>,
}

impl Jobs {
    pub(super) fn remove(&mut self, id: i64) {
        self.rows.remove(&id);
    }

    /// The job holding `key` among the states its mask covers (other than `except`).
    fn holder(&self, key: &str, except: i64) -> Option<i64> {
        self.rows.iter().find_map(|(id, (j, mask))| {
            (*id != except && j.unique_key.as_deref() == Some(key) && mask & j.state.bit() != 0)
                .then_some(*id)
        })
    }

    fn get(&self, id: JobId) -> Result<&Job> {
        self.rows
            .get(&id.0)
            .map(|(j, _)| j)
            .ok_or_else(|| Error::not_found("job", &id.to_string()))
    }
}

impl State {
    /// Append a job's change to its tenant's log (engine-wide jobs have none).
    fn job_event(&mut self, job: &Job, action: ChangeAction, at: Timestamp) -> Result<()> {
        let Some(tenant) = job.tenant_id.clone() else {
            return Ok(());
        };
        let change = Change::job(job.id, action, job.attempt, job.state, at);
        self.append(&tenant, &change).map(|_| ())
    }

    /// Insert a job (its tenant checked by the caller), or find its live duplicate.
    fn insert_job(&mut self, new: &NewJob, now: Timestamp) -> Result<Enqueued> {
        if let Some(t) = &new.tenant_id
            && !self.tenant_seq.contains_key(t)
        {
            return Err(Error::not_found("tenant", t.as_str()));
        }
        if let Some(key) = &new.unique_key
            && let Some(id) = self.jobs.holder(key, 0)
        {
            return Ok(Enqueued {
                id: JobId(id),
                duplicate: true,
            });
        }
        self.jobs.last_id += 1;
        let id = self.jobs.last_id;
        let at = new.run_at.unwrap_or(now);
        let job = Job {
            id: JobId(id),
            tenant_id: new.tenant_id.clone(),
            queue: new.queue.clone(),
            kind: new.kind.clone(),
            args: new.args.clone(),
            priority: new.priority,
            state: if at > now {
                JobState::Scheduled
            } else {
                JobState::Available
            },
            attempt: 0,
            max_attempts: new.max_attempts,
            scheduled_at: at,
            unique_key: new.unique_key.clone(),
            concurrency_key: new.concurrency_key.clone(),
            errors: Vec::new(),
            progress: None,
            lease_owner: None,
            lease_expires_at: None,
            created_at: now,
            attempted_at: None,
            finalized_at: None,
        };
        self.job_event(&job, ChangeAction::Created, now)?;
        self.jobs.rows.insert(id, (job, new.unique_mask()));
        Ok(Enqueued {
            id: JobId(id),
            duplicate: false,
        })
    }

    /// The running job `id` at `attempt`, if `guard` holds for it.
    fn running(&mut self, id: i64, attempt: u32, guard: impl Fn(&Job) -> bool) -> Option<&mut Job> {
        self.jobs
            .rows
            .get_mut(&id)
            .map(|(j, _)| j)
            .filter(|j| j.state == JobState::Running && j.attempt == attempt && guard(j))
    }

    /// Move a running job out of `running` (the guard already checked).
    fn leave_running(
        &mut self,
        id: i64,
        state: JobState,
        error: Option<AttemptError>,
        at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<()> {
        let Some((job, _)) = self.jobs.rows.get_mut(&id) else {
            return Ok(());
        };
        job.state = state;
        if state == JobState::Available {
            job.attempt -= 1;
        }
        if let Some(at) = at {
            job.scheduled_at = at;
        }
        job.errors.extend(error);
        job.finalized_at = state.is_final().then_some(now);
        job.lease_owner = None;
        job.lease_expires_at = None;
        let job = job.clone();
        self.job_event(&job, ChangeAction::StatusChanged, now)
    }
}

#[async_trait::async_trait]
impl JobWrites for MemoryTx<'_> {
    async fn enqueue_job(&mut self, job: &NewJob, now: Timestamp) -> Result<Enqueued> {
        let s = self.state()?;
        let done = s.insert_job(job, now)?;
        if !done.duplicate {
            if let Some(t) = &job.tenant_id {
                self.undo.push(Undo::EventAppended(t.clone()));
            }
            self.undo.push(Undo::JobInserted(done.id.0));
        }
        Ok(done)
    }
}

impl MemoryStore {
    async fn with_mut<T>(&self, f: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let mut guard = self.lock().await?;
        f(guard.as_mut().ok_or_else(closed)?)
    }
}

#[async_trait::async_trait]
impl QueueStore for MemoryStore {
    async fn enqueue(&self, jobs: &[NewJob], now: Timestamp) -> Result<Vec<Enqueued>> {
        self.with_mut(|s| {
            // All or nothing, like one transaction: every tenant must exist before any insert.
            if let Some(t) = jobs
                .iter()
                .filter_map(|j| j.tenant_id.as_ref())
                .find(|t| !s.tenant_seq.contains_key(*t))
            {
                return Err(Error::not_found("tenant", t.as_str()));
            }
            jobs.iter().map(|j| s.insert_job(j, now)).collect()
        })
        .await
    }

    async fn claim(&self, claim: &Claim<'_>) -> Result<Vec<Job>> {
        self.with_mut(|s| {
            let mut due: Vec<&Job> = s
                .jobs
                .rows
                .values()
                .map(|(j, _)| j)
                .filter(|j| {
                    matches!(
                        j.state,
                        JobState::Available | JobState::Scheduled | JobState::Retryable
                    ) && j.queue == claim.queue
                        && j.scheduled_at <= claim.now
                })
                .collect();
            due.sort_by_key(|j| (j.priority, j.scheduled_at, j.id));
            let mut busy: Vec<String> = s
                .jobs
                .rows
                .values()
                .filter(|(j, _)| j.state == JobState::Running)
                .filter_map(|(j, _)| j.concurrency_key.clone())
                .collect();
            let mut ids = Vec::new();
            for j in due {
                if ids.len() >= claim.limit {
                    break;
                }
                if let Some(k) = &j.concurrency_key {
                    if busy.contains(k) {
                        continue;
                    }
                    busy.push(k.clone());
                }
                ids.push(j.id.0);
            }
            let mut claimed = Vec::with_capacity(ids.len());
            for id in ids {
                let Some((job, _)) = s.jobs.rows.get_mut(&id) else {
                    continue;
                };
                job.state = JobState::Running;
                job.attempt += 1;
                job.attempted_at = Some(claim.now);
                job.lease_owner = Some(claim.worker.to_owned());
                job.lease_expires_at = Some(claim.lease_until);
                let job = job.clone();
                s.job_event(&job, ChangeAction::StatusChanged, claim.now)?;
                claimed.push(job);
            }
            Ok(claimed)
        })
        .await
    }

    async fn heartbeat(
        &self,
        worker: &str,
        jobs: &[(JobId, u32)],
        lease_until: Timestamp,
    ) -> Result<Vec<JobId>> {
        self.with_mut(|s| {
            let mut lost = Vec::new();
            for (id, attempt) in jobs {
                match s.running(id.0, *attempt, |j| j.lease_owner.as_deref() == Some(worker)) {
                    Some(j) => j.lease_expires_at = Some(lease_until),
                    None => lost.push(*id),
                }
            }
            Ok(lost)
        })
        .await
    }

    async fn finish(&self, worker: &str, done: &[Finish], now: Timestamp) -> Result<Vec<bool>> {
        self.with_mut(|s| {
            let mut applied = Vec::with_capacity(done.len());
            for d in done {
                let holds = s
                    .running(d.id.0, d.attempt, |j| {
                        j.lease_owner.as_deref() == Some(worker)
                    })
                    .is_some();
                if !holds {
                    applied.push(false);
                    continue;
                }
                let to = d.landing(now);
                s.leave_running(d.id.0, to.state, to.error, to.run_at, now)?;
                applied.push(true);
            }
            Ok(applied)
        })
        .await
    }

    async fn set_progress(
        &self,
        worker: &str,
        id: JobId,
        attempt: u32,
        progress: &Progress,
        now: Timestamp,
    ) -> Result<bool> {
        self.with_mut(|s| {
            let Some(job) = s.running(id.0, attempt, |j| j.lease_owner.as_deref() == Some(worker))
            else {
                return Ok(false);
            };
            job.progress = Some(progress.clone());
            let job = job.clone();
            s.job_event(&job, ChangeAction::Updated, now)?;
            Ok(true)
        })
        .await
    }

    async fn rescue(&self, now: Timestamp) -> Result<u64> {
        self.with_mut(|s| {
            let expired: Vec<(i64, u32, u32, Option<String>)> = s
                .jobs
                .rows
                .values()
                .map(|(j, _)| j)
                .filter(|j| {
                    j.state == JobState::Running && j.lease_expires_at.is_some_and(|t| t < now)
                })
                .map(|j| (j.id.0, j.attempt, j.max_attempts, j.lease_owner.clone()))
                .collect();
            let n = expired.len() as u64;
            for (id, attempt, max, owner) in expired {
                let error = AttemptError::lease_expired(now, attempt, owner.as_deref());
                let state = if attempt >= max {
                    JobState::Discarded
                } else {
                    JobState::Retryable
                };
                s.leave_running(id, state, Some(error), Some(now), now)?;
            }
            Ok(n)
        })
        .await
    }

    async fn retry(&self, id: JobId, now: Timestamp) -> Result<Job> {
        self.with_mut(|s| {
            let job = s.jobs.get(id)?.clone();
            job.check_retryable()?;
            if let Some(key) = &job.unique_key
                && s.jobs.holder(key, id.0).is_some()
            {
                return Err(job.unique_key_taken());
            }
            let Some((j, _)) = s.jobs.rows.get_mut(&id.0) else {
                return Err(Error::not_found("job", &id.to_string()));
            };
            j.state = JobState::Available;
            j.scheduled_at = now;
            j.finalized_at = None;
            j.max_attempts = j.max_attempts.max(j.attempt + 1);
            let j = j.clone();
            s.job_event(&j, ChangeAction::StatusChanged, now)?;
            Ok(j)
        })
        .await
    }

    async fn cancel(&self, id: JobId, now: Timestamp) -> Result<Job> {
        self.with_mut(|s| {
            let Some((j, _)) = s.jobs.rows.get_mut(&id.0) else {
                return Err(Error::not_found("job", &id.to_string()));
            };
            j.check_cancellable()?;
            j.state = JobState::Cancelled;
            j.finalized_at = Some(now);
            j.lease_owner = None;
            j.lease_expires_at = None;
            let j = j.clone();
            s.job_event(&j, ChangeAction::StatusChanged, now)?;
            Ok(j)
        })
        .await
    }

    async fn get_job(&self, id: JobId) -> Result<Job> {
        self.with(|s| s.jobs.get(id).cloned()).await
    }

    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        self.with(|s| {
            let after = filter.after.map_or(0, |a| a.0);
            Ok(s.jobs
                .rows
                .range(after + 1..)
                .map(|(_, (j, _))| j)
                .filter(|j| {
                    filter.state.is_none_or(|st| j.state == st)
                        && filter.kind.as_ref().is_none_or(|k| &j.kind == k)
                        && filter.queue.as_ref().is_none_or(|q| &j.queue == q)
                        && filter
                            .tenant_id
                            .as_ref()
                            .is_none_or(|t| j.tenant_id.as_ref() == Some(t))
                })
                .take(filter.page_size())
                .cloned()
                .collect())
        })
        .await
    }

    async fn stats(&self, tenant: Option<&TenantId>) -> Result<JobStats> {
        self.with(|s| {
            let mut stats = JobStats::default();
            for (j, _) in s.jobs.rows.values() {
                if tenant.is_none_or(|t| j.tenant_id.as_ref() == Some(t)) {
                    stats.add(j.state, 1);
                }
            }
            Ok(stats)
        })
        .await
    }

    async fn has_pending(&self, now: Timestamp) -> Result<bool> {
        self.with(|s| {
            Ok(s.jobs.rows.values().any(|(j, _)| match j.state {
                JobState::Available | JobState::Running | JobState::Retryable => true,
                JobState::Scheduled => j.scheduled_at <= now,
                _ => false,
            }))
        })
        .await
    }

    async fn next_due(&self, queue: &str) -> Result<Option<Timestamp>> {
        self.with(|s| {
            Ok(s.jobs
                .rows
                .values()
                .map(|(j, _)| j)
                .filter(|j| {
                    j.queue == queue
                        && matches!(
                            j.state,
                            JobState::Available | JobState::Scheduled | JobState::Retryable
                        )
                })
                .map(|j| j.scheduled_at)
                .min())
        })
        .await
    }

    async fn prune(&self, before: Timestamp, limit: usize) -> Result<u64> {
        self.with_mut(|s| {
            let old: Vec<i64> = s
                .jobs
                .rows
                .values()
                .map(|(j, _)| j)
                .filter(|j| j.state.is_final() && j.finalized_at.is_some_and(|t| t < before))
                .take(limit)
                .map(|j| j.id.0)
                .collect();
            for id in &old {
                s.jobs.remove(*id);
            }
            Ok(old.len() as u64)
        })
        .await
    }
}
