//! The host's handle on the queue: enqueue (one or many), list, get, retry, cancel, stats.

use super::{Enqueued, Job, JobFilter, JobId, JobStats, NewJob, QueueStore};
use crate::validate::Problems;
use crate::{Engine, Error, Result, TenantId};

/// The engine's job queue (`engine.jobs()`).
#[derive(Debug, Clone)]
pub struct Jobs {
    engine: Engine,
}

impl Jobs {
    pub(crate) fn new(engine: Engine) -> Self {
        Self { engine }
    }

    fn store(&self) -> Result<&dyn QueueStore> {
        self.engine.storage().jobs()
    }

    /// Add one job; a job whose unique key is held returns the holder with `duplicate: true`.
    ///
    /// # Errors
    /// `invalid_input` naming the bad fields; `not_found` for an unknown tenant.
    pub async fn enqueue(&self, job: NewJob) -> Result<Enqueued> {
        job.validate()?;
        let now = self.engine.now();
        let done = self
            .store()?
            .enqueue(std::slice::from_ref(&job), now)
            .await?;
        self.engine.jobs_enqueued(job.tenant_id.iter());
        done.into_iter()
            .next()
            .ok_or_else(|| Error::internal("enqueue returned nothing"))
    }

    /// Add many jobs in one transaction. Each is answered on its own: a bad one is rejected
    /// with its error (fields named `jobs[i].…`) and the good ones are added all the same.
    ///
    /// # Errors
    /// Only for the batch as a whole (storage failure, unknown tenant of a valid job).
    pub async fn enqueue_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Result<Enqueued>>> {
        let mut out: Vec<Option<Result<Enqueued>>> = Vec::with_capacity(jobs.len());
        let mut good = Vec::with_capacity(jobs.len());
        for (i, job) in jobs.into_iter().enumerate() {
            let mut p = Problems::default();
            job.problems(&mut p, "");
            if !p.is_empty() {
                // Only a bad item pays for naming its position.
                p = Problems::default();
                job.problems(&mut p, &format!("jobs[{i}]."));
            }
            match p.into_result() {
                Ok(()) => {
                    out.push(None);
                    good.push(job);
                }
                Err(e) => out.push(Some(Err(e))),
            }
        }
        let now = self.engine.now();
        let added = if good.is_empty() {
            Vec::new()
        } else {
            self.store()?.enqueue(&good, now).await?
        };
        self.engine
            .jobs_enqueued(good.iter().filter_map(|j| j.tenant_id.as_ref()));
        let mut added = added.into_iter();
        Ok(out
            .into_iter()
            .map(|slot| match slot {
                Some(err) => err,
                None => added
                    .next()
                    .ok_or_else(|| Error::internal("enqueue returned too few results")),
            })
            .collect())
    }

    /// [`enqueue_many`](Self::enqueue_many) from loose JSON items (the bindings' form, snake_case
    /// keys): each item is parsed on its own, so an item that does not parse is answered with
    /// its error (fields named `jobs[i].…`) and the others are added all the same.
    ///
    /// # Errors
    /// Only for the batch as a whole (storage failure, unknown tenant of a valid job).
    pub async fn enqueue_many_json(
        &self,
        items: Vec<serde_json::Value>,
    ) -> Result<Vec<Result<Enqueued>>> {
        let parsed: Vec<Result<NewJob>> = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                crate::from_json::<NewJob>(item)
                    .map_err(|e| e.with_field_prefix(&format!("jobs[{i}].")))
            })
            .collect();
        let good: Vec<NewJob> = parsed
            .iter()
            .filter_map(|p| p.as_ref().ok().cloned())
            .collect();
        let mut added = self.enqueue_many(good).await?.into_iter();
        Ok(parsed
            .into_iter()
            .map(|p| match p {
                Ok(_) => added
                    .next()
                    .unwrap_or_else(|| Err(Error::internal("enqueue returned too few results"))),
                Err(e) => Err(e),
            })
            .collect())
    }

    /// Record a running job's progress (0–100 and a note) for the attempt `attempt` held by
    /// worker `lease_owner` — what a handler in another runtime calls with the job it was given;
    /// published as a change event of the job's tenant.
    ///
    /// # Errors
    /// `invalid_input` for a percent above 100 or a note over 1000 characters; `conflict` if
    /// that worker no longer holds that attempt.
    pub async fn progress(
        &self,
        id: JobId,
        attempt: u32,
        lease_owner: &str,
        percent: u8,
        message: Option<String>,
    ) -> Result<()> {
        let mut p = Problems::default();
        if percent > 100 {
            p.add("percent", &percent.to_string(), "must be 0 to 100");
        }
        if let Some(m) = message.as_ref().filter(|m| m.chars().count() > 1000) {
            p.add("message", m, "must be at most 1000 characters");
        }
        p.into_result()?;
        let progress = super::Progress { percent, message };
        let store = self.store()?;
        if !store
            .set_progress(lease_owner, id, attempt, &progress, self.engine.now())
            .await?
        {
            return Err(Error::new(
                crate::ErrorKind::Conflict,
                format!("job {id} attempt {attempt} is no longer held by worker {lease_owner}"),
            ));
        }
        let job = store.get_job(id).await?;
        self.engine.wake_tenants(job.tenant_id.iter());
        Ok(())
    }

    /// Fetch a job.
    ///
    /// # Errors
    /// `not_found` if unknown (or pruned).
    pub async fn get(&self, id: JobId) -> Result<Job> {
        self.store()?.get_job(id).await
    }

    /// Jobs matching the filter, by id (page with `after`).
    ///
    /// # Errors
    /// `storage` if the queue cannot be read.
    pub async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        self.store()?.list_jobs(filter).await
    }

    /// Run a job that is not running again now (a discarded or cancelled one gets one more
    /// attempt).
    ///
    /// # Errors
    /// `not_found`; `conflict` if it is running; `already_exists` if another job holds its
    /// unique key.
    pub async fn retry(&self, id: JobId) -> Result<Job> {
        let job = self.store()?.retry(id, self.engine.now()).await?;
        self.engine.jobs_enqueued(job.tenant_id.iter());
        Ok(job)
    }

    /// Cancel a job that is not final; a running one's worker stops it at its next heartbeat.
    ///
    /// # Errors
    /// `not_found`; `conflict` if it is already final.
    pub async fn cancel(&self, id: JobId) -> Result<Job> {
        let job = self.store()?.cancel(id, self.engine.now()).await?;
        self.engine.wake_tenants(job.tenant_id.iter());
        Ok(job)
    }

    /// How many jobs are in each state (of one tenant, or all).
    ///
    /// # Errors
    /// `storage` if the queue cannot be read.
    pub async fn stats(&self, tenant: Option<&TenantId>) -> Result<JobStats> {
        self.store()?.stats(tenant).await
    }
}
