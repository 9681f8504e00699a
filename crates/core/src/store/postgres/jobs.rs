//! The job queue on PostgreSQL (schema 2): claims lock due jobs with `FOR UPDATE SKIP LOCKED`
//! so workers in many processes take disjoint batches; every transition out of `running` is
//! guarded by (state, attempt, lease owner) as on SQLite; a job added wakes listening workers
//! through `NOTIFY` on this schema's channel at commit.

use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};

use super::errors::db_error;
use super::rows::{at, json, opt_time_col, time_col, wire};
use super::{PgStore, PgTx};
use crate::events::{Change, ChangeAction};
use crate::queue::{
    AttemptError, Claim, Enqueued, Finish, Job, JobFilter, JobId, JobState, JobStats, JobWrites,
    NewJob, Outcome, Progress, QueueStore,
};
use crate::{Error, Result, TenantId, Timestamp};

macro_rules! job_cols {
    () => {
        "id, tenant_id, queue, kind, args, priority, state, attempt, max_attempts, scheduled_at, \
         unique_key, concurrency_key, errors, progress, lease_owner, lease_expires_at, \
         created_at, attempted_at, finalized_at"
    };
}

/// The channel workers of `schema` listen on.
pub(super) fn channel(schema: &str) -> String {
    format!("tagsmith_jobs.{schema}")
}

fn job_row(r: &PgRow) -> sqlx::Result<Job> {
    Ok(Job {
        id: JobId(r.try_get("id")?),
        tenant_id: r
            .try_get::<Option<String>, _>("tenant_id")?
            .map(TenantId::new),
        queue: r.try_get("queue")?,
        kind: r.try_get("kind")?,
        args: json(r, "args")?,
        priority: u8::try_from(r.try_get::<i16, _>("priority")?).unwrap_or(u8::MAX),
        state: wire(r, "state", JobState::parse)?,
        attempt: u32::try_from(r.try_get::<i32, _>("attempt")?).unwrap_or(0),
        max_attempts: u32::try_from(r.try_get::<i32, _>("max_attempts")?).unwrap_or(0),
        scheduled_at: time_col(r, "scheduled_at")?,
        unique_key: r.try_get("unique_key")?,
        concurrency_key: r.try_get("concurrency_key")?,
        errors: json(r, "errors")?,
        progress: r
            .try_get::<Option<Json<Progress>>, _>("progress")?
            .map(|p| p.0),
        lease_owner: r.try_get("lease_owner")?,
        lease_expires_at: opt_time_col(r, "lease_expires_at")?,
        created_at: time_col(r, "created_at")?,
        attempted_at: opt_time_col(r, "attempted_at")?,
        finalized_at: opt_time_col(r, "finalized_at")?,
    })
}

fn job_rows(rows: &[PgRow]) -> Result<Vec<Job>> {
    rows.iter()
        .map(job_row)
        .collect::<sqlx::Result<_>>()
        .map_err(db_error)
}

/// Append a job's change to its tenant's log (engine-wide jobs have no log).
async fn job_event(
    c: &mut PgConnection,
    tenant: Option<&str>,
    id: i64,
    action: ChangeAction,
    attempt: u32,
    state: JobState,
    now: Timestamp,
) -> Result<()> {
    let Some(tenant) = tenant else {
        return Ok(());
    };
    let change = Change::job(id, action, attempt, state, now);
    super::events::append(c, &TenantId::new(tenant), &change)
        .await
        .map(|_| ())
}

/// The state and run time of a new job.
fn initial(job: &NewJob, now: Timestamp) -> (JobState, Timestamp) {
    let due = job.run_at.unwrap_or(now);
    let state = if due > now {
        JobState::Scheduled
    } else {
        JobState::Available
    };
    (state, due)
}

/// Add one job (or find the holder of its unique key).
async fn insert(c: &mut PgConnection, job: &NewJob, now: Timestamp) -> Result<Enqueued> {
    let (state, due) = initial(job, now);
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (tenant_id, queue, kind, args, priority, state, max_attempts, \
         scheduled_at, unique_key, unique_states, concurrency_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(job.tenant_id.as_ref().map(TenantId::as_str))
    .bind(&job.queue)
    .bind(&job.kind)
    .bind(Json(&job.args))
    .bind(i16::from(job.priority))
    .bind(state.as_str())
    .bind(i32::try_from(job.max_attempts).unwrap_or(i32::MAX))
    .bind(at(due))
    .bind(job.unique_key.as_deref())
    .bind(i32::from(job.unique_mask()))
    .bind(job.concurrency_key.as_deref())
    .bind(at(now))
    .fetch_optional(&mut *c)
    .await
    .map_err(db_error)?;
    match id {
        Some(id) => {
            let tenant = job.tenant_id.as_ref().map(TenantId::as_str);
            job_event(c, tenant, id, ChangeAction::Created, 0, state, now).await?;
            Ok(Enqueued {
                id: JobId(id),
                duplicate: false,
            })
        }
        None => {
            let existing: i64 = sqlx::query_scalar(
                "SELECT id FROM jobs WHERE unique_key = $1 \
                 AND (unique_states & job_state_bit(state)) <> 0",
            )
            .bind(job.unique_key.as_deref())
            .fetch_one(&mut *c)
            .await
            .map_err(db_error)?;
            Ok(Enqueued {
                id: JobId(existing),
                duplicate: true,
            })
        }
    }
}

/// One job without a unique key or a tenant, added and announced by one statement.
async fn insert_one(
    pool: &sqlx::PgPool,
    schema: &str,
    job: &NewJob,
    now: Timestamp,
) -> Result<Enqueued> {
    let (state, due) = initial(job, now);
    let id: i64 = sqlx::query_scalar(
        "WITH added AS (INSERT INTO jobs (queue, kind, args, priority, state, max_attempts, \
         scheduled_at, unique_states, concurrency_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id) \
         SELECT added.id FROM added, pg_notify($11, $1)",
    )
    .bind(&job.queue)
    .bind(&job.kind)
    .bind(Json(&job.args))
    .bind(i16::from(job.priority))
    .bind(state.as_str())
    .bind(i32::try_from(job.max_attempts).unwrap_or(i32::MAX))
    .bind(at(due))
    .bind(i32::from(job.unique_mask()))
    .bind(job.concurrency_key.as_deref())
    .bind(at(now))
    .bind(channel(schema))
    .fetch_one(pool)
    .await
    .map_err(db_error)?;
    Ok(Enqueued {
        id: JobId(id),
        duplicate: false,
    })
}

/// Add jobs without unique keys with one statement (ids ascend in input order).
async fn insert_many(
    c: &mut PgConnection,
    jobs: &[NewJob],
    now: Timestamp,
) -> Result<Vec<Enqueued>> {
    let mut tenants = Vec::with_capacity(jobs.len());
    let (mut queues, mut kinds, mut args, mut priorities, mut states) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut maxes, mut dues, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for j in jobs {
        let (state, due) = initial(j, now);
        tenants.push(j.tenant_id.as_ref().map(|t| t.as_str().to_owned()));
        queues.push(j.queue.clone());
        kinds.push(j.kind.clone());
        args.push(Json(&j.args));
        priorities.push(i16::from(j.priority));
        states.push(state.as_str());
        maxes.push(i32::try_from(j.max_attempts).unwrap_or(i32::MAX));
        dues.push(at(due));
        keys.push(j.concurrency_key.clone());
    }
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (tenant_id, queue, kind, args, priority, state, max_attempts, \
         scheduled_at, concurrency_key, created_at) \
         SELECT t, q, k, a, p, s, m, d, c, $10 FROM unnest($1::text[], $2::text[], $3::text[], \
         $4::jsonb[], $5::int2[], $6::text[], $7::int4[], $8::timestamptz[], $9::text[]) \
         AS u(t, q, k, a, p, s, m, d, c) RETURNING id",
    )
    .bind(&tenants)
    .bind(&queues)
    .bind(&kinds)
    .bind(&args)
    .bind(&priorities)
    .bind(&states)
    .bind(&maxes)
    .bind(&dues)
    .bind(&keys)
    .bind(at(now))
    .fetch_all(&mut *c)
    .await
    .map_err(db_error)?;
    ids.sort_unstable();
    let mut out = Vec::with_capacity(jobs.len());
    for (job, id) in jobs.iter().zip(ids) {
        if let Some(t) = &job.tenant_id {
            let state = initial(job, now).0;
            job_event(
                c,
                Some(t.as_str()),
                id,
                ChangeAction::Created,
                0,
                state,
                now,
            )
            .await?;
        }
        out.push(Enqueued {
            id: JobId(id),
            duplicate: false,
        });
    }
    Ok(out)
}

/// Wake the workers of the queues at commit.
async fn notify(c: &mut PgConnection, schema: &str, queues: &[&str]) -> Result<()> {
    let mut queues = queues.to_vec();
    queues.sort_unstable();
    queues.dedup();
    for q in queues {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel(schema))
            .bind(q)
            .execute(&mut *c)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

async fn get(c: &mut PgConnection, id: JobId, lock: bool) -> Result<Job> {
    let sql = if lock {
        concat!(
            "SELECT ",
            job_cols!(),
            " FROM jobs WHERE id = $1 FOR UPDATE"
        )
    } else {
        concat!("SELECT ", job_cols!(), " FROM jobs WHERE id = $1")
    };
    let row = sqlx::query(sql)
        .bind(id.0)
        .fetch_optional(c)
        .await
        .map_err(db_error)?
        .ok_or_else(|| Error::not_found("job", &id.to_string()))?;
    job_row(&row).map_err(db_error)
}

/// `$body` (an async expression of a `Result`, using `$c: &mut PgConnection`) in one
/// transaction of `$store`, committed if it succeeds, inside the store's runtime.
macro_rules! in_tx {
    ($store:expr, |$c:ident| $body:expr) => {
        $store.run(async {
            let mut tx = $store.pool().begin().await.map_err(db_error)?;
            let $c: &mut PgConnection = &mut tx;
            let out = async { $body }.await?;
            tx.commit().await.map_err(db_error)?;
            Ok(out)
        })
    };
}

impl PgStore {
    /// Add `job` in the host's own transaction (any connection or transaction on the same
    /// database), through the schema's `enqueue_job` function: the job exists only if that
    /// transaction commits, and workers are woken when it does. `run_at` defaults to the
    /// transaction's start (`now()`).
    ///
    /// ```no_run
    /// # async fn demo(store: &tagsmith_core::store::postgres::PgStore) -> tagsmith_core::Result<()> {
    /// let mut tx = store.pool().begin().await.map_err(|e| tagsmith_core::Error::storage(e.to_string()))?;
    /// // … the host's own statements on `tx` …
    /// let job = tagsmith_core::queue::NewJob::new("send_receipt", serde_json::json!({"order": 7}));
    /// store.enqueue_in(&mut tx, &job).await?;
    /// tx.commit().await.map_err(|e| tagsmith_core::Error::storage(e.to_string()))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `invalid_input` naming each bad field; `not_found`-like `invalid_input` for an unknown
    /// tenant; the connection's errors as for any call.
    pub async fn enqueue_in(&self, conn: &mut PgConnection, job: &NewJob) -> Result<Enqueued> {
        job.validate()?;
        let states: Option<Vec<&str>> = job
            .unique_states
            .as_ref()
            .map(|s| s.iter().map(|s| s.as_str()).collect());
        // The schema name was checked to be a plain lowercase identifier.
        let sql = format!(
            "SELECT id, duplicate FROM {}.enqueue_job($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            self.schema()
        );
        let (id, duplicate): (i64, bool) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&job.kind)
            .bind(Json(&job.args))
            .bind(&job.queue)
            .bind(i32::from(job.priority))
            .bind(job.run_at.map(at))
            .bind(i32::try_from(job.max_attempts).unwrap_or(i32::MAX))
            .bind(job.unique_key.as_deref())
            .bind(job.tenant_id.as_ref().map(TenantId::as_str))
            .bind(job.concurrency_key.as_deref())
            .bind(states)
            .fetch_one(conn)
            .await
            .map_err(db_error)?;
        Ok(Enqueued {
            id: JobId(id),
            duplicate,
        })
    }
}

#[async_trait::async_trait]
impl JobWrites for PgTx {
    async fn enqueue_job(&mut self, job: &NewJob, now: Timestamp) -> Result<Enqueued> {
        let store = self.store.clone();
        let schema = store.schema().to_owned();
        let conn = self.conn()?;
        store
            .run(async move {
                let out = insert(&mut *conn, job, now).await?;
                if !out.duplicate {
                    notify(&mut *conn, &schema, &[job.queue.as_str()]).await?;
                }
                Ok(out)
            })
            .await
    }
}

/// Rows per multi-row insert.
const INSERT_ROWS: usize = 1000;

#[async_trait::async_trait]
impl QueueStore for PgStore {
    async fn enqueue(&self, jobs: &[NewJob], now: Timestamp) -> Result<Vec<Enqueued>> {
        let schema = self.schema().to_owned();
        if let [job] = jobs
            && job.unique_key.is_none()
            && job.tenant_id.is_none()
        {
            // The common single add (no key to be a duplicate of, no tenant log to write): one
            // statement in its own transaction, one round trip instead of four; the NOTIFY is
            // delivered at its commit as in the general path.
            return self
                .run(insert_one(self.pool(), &schema, job, now))
                .await
                .map(|e| vec![e]);
        }
        in_tx!(self, |c| {
            let mut out = Vec::with_capacity(jobs.len());
            let mut rest = jobs;
            while !rest.is_empty() {
                // Runs of jobs without a unique key go in multi-row inserts; the others
                // (which may be duplicates) one by one.
                let plain = rest
                    .iter()
                    .take(INSERT_ROWS)
                    .take_while(|j| j.unique_key.is_none())
                    .count();
                if plain > 1 {
                    out.extend(insert_many(&mut *c, &rest[..plain], now).await?);
                    rest = &rest[plain..];
                } else {
                    out.push(insert(&mut *c, &rest[0], now).await?);
                    rest = &rest[1..];
                }
            }
            let queues: Vec<&str> = jobs.iter().map(|j| j.queue.as_str()).collect();
            notify(&mut *c, &schema, &queues).await?;
            Ok(out)
        })
        .await
    }

    async fn claim(&self, claim: &Claim<'_>) -> Result<Vec<Job>> {
        // One call of the schema's `claim_jobs`: one round trip, its own transaction.
        let pool = self.pool().clone();
        self.run(async move {
            let mut c = pool.acquire().await.map_err(db_error)?;
            claim_in(&mut c, claim).await
        })
        .await
    }

    async fn heartbeat(
        &self,
        worker: &str,
        jobs: &[(JobId, u32)],
        lease_until: Timestamp,
    ) -> Result<Vec<JobId>> {
        let ids: Vec<i64> = jobs.iter().map(|(id, _)| id.0).collect();
        let attempts: Vec<i32> = jobs
            .iter()
            .map(|(_, a)| i32::try_from(*a).unwrap_or(i32::MAX))
            .collect();
        let held: Vec<i64> = self
            .run(
                sqlx::query_scalar(
                    "UPDATE jobs SET lease_expires_at = $1 \
                     FROM unnest($2::int8[], $3::int4[]) AS d(id, attempt) \
                     WHERE jobs.id = d.id AND jobs.state = 'running' \
                     AND jobs.attempt = d.attempt AND jobs.lease_owner = $4 RETURNING jobs.id",
                )
                .bind(at(lease_until))
                .bind(&ids)
                .bind(&attempts)
                .bind(worker)
                .fetch_all(self.pool()),
            )
            .await
            .map_err(db_error)?;
        Ok(jobs
            .iter()
            .filter(|(id, _)| !held.contains(&id.0))
            .map(|(id, _)| *id)
            .collect())
    }

    async fn finish(&self, worker: &str, done: &[Finish], now: Timestamp) -> Result<Vec<bool>> {
        if done.iter().all(|d| d.outcome == Outcome::Completed) {
            // The common case: one call of `complete_jobs`, its own transaction.
            let pool = self.pool().clone();
            return self
                .run(async move {
                    let mut c = pool.acquire().await.map_err(db_error)?;
                    finish_in(&mut c, worker, done, now).await
                })
                .await;
        }
        in_tx!(self, |c| finish_in(c, worker, done, now).await).await
    }

    // `finish_and_claim` is the trait's two calls: on PostgreSQL a commit costs a round trip,
    // not a file sync, so the outcomes need not share the claim's transaction.

    async fn set_progress(
        &self,
        worker: &str,
        id: JobId,
        attempt: u32,
        progress: &Progress,
        now: Timestamp,
    ) -> Result<bool> {
        in_tx!(self, |c| {
            let tenant: Option<Option<String>> = sqlx::query_scalar(
                "UPDATE jobs SET progress = $1 WHERE id = $2 AND state = 'running' \
                     AND attempt = $3 AND lease_owner = $4 RETURNING tenant_id",
            )
            .bind(Json(progress))
            .bind(id.0)
            .bind(i32::try_from(attempt).unwrap_or(i32::MAX))
            .bind(worker)
            .fetch_optional(&mut *c)
            .await
            .map_err(db_error)?;
            let Some(tenant) = tenant else {
                return Ok(false);
            };
            job_event(
                c,
                tenant.as_deref(),
                id.0,
                ChangeAction::Updated,
                attempt,
                JobState::Running,
                now,
            )
            .await?;
            Ok(true)
        })
        .await
    }

    async fn rescue(&self, now: Timestamp) -> Result<u64> {
        in_tx!(self, |c| {
            let expired: Vec<(i64, i32, i32, Option<String>)> = sqlx::query_as(
                "SELECT id, attempt, max_attempts, lease_owner FROM jobs \
                     WHERE state = 'running' AND lease_expires_at < $1 LIMIT 1000 \
                     FOR UPDATE SKIP LOCKED",
            )
            .bind(at(now))
            .fetch_all(&mut *c)
            .await
            .map_err(db_error)?;
            let mut n = 0;
            for (id, attempt, max, owner) in expired {
                let attempt = u32::try_from(attempt).unwrap_or(0);
                let error = AttemptError::lease_expired(now, attempt, owner.as_deref());
                let state = if attempt >= u32::try_from(max).unwrap_or(0) {
                    JobState::Discarded
                } else {
                    JobState::Retryable
                };
                if let Some(tenant) = transition(
                    &mut *c,
                    id,
                    attempt,
                    Guard::LeaseExpired,
                    state,
                    now,
                    Some(&error),
                    Some(now),
                )
                .await?
                {
                    job_event(
                        &mut *c,
                        tenant.as_deref(),
                        id,
                        ChangeAction::StatusChanged,
                        attempt,
                        state,
                        now,
                    )
                    .await?;
                    n += 1;
                }
            }
            Ok(n)
        })
        .await
    }

    async fn retry(&self, id: JobId, now: Timestamp) -> Result<Job> {
        in_tx!(self, |c| {
            let job = get(&mut *c, id, true).await?;
            job.check_retryable()?;
            sqlx::query(
                "UPDATE jobs SET state = 'available', scheduled_at = $2, finalized_at = NULL, \
                     max_attempts = greatest(max_attempts, attempt + 1) WHERE id = $1",
            )
            .bind(id.0)
            .bind(at(now))
            .execute(&mut *c)
            .await
            .map_err(|e| match super::errors::violated_unique(&e).as_deref() {
                Some("jobs_unique") => job.unique_key_taken(),
                _ => db_error(e),
            })?;
            let tenant = job.tenant_id.as_ref().map(TenantId::as_str);
            job_event(
                &mut *c,
                tenant,
                id.0,
                ChangeAction::StatusChanged,
                job.attempt,
                JobState::Available,
                now,
            )
            .await?;
            get(&mut *c, id, false).await
        })
        .await
    }

    async fn cancel(&self, id: JobId, now: Timestamp) -> Result<Job> {
        in_tx!(self, |c| {
            let job = get(&mut *c, id, true).await?;
            job.check_cancellable()?;
            sqlx::query(
                "UPDATE jobs SET state = 'cancelled', finalized_at = $2, lease_owner = NULL, \
                     lease_expires_at = NULL WHERE id = $1",
            )
            .bind(id.0)
            .bind(at(now))
            .execute(&mut *c)
            .await
            .map_err(db_error)?;
            let tenant = job.tenant_id.as_ref().map(TenantId::as_str);
            job_event(
                &mut *c,
                tenant,
                id.0,
                ChangeAction::StatusChanged,
                job.attempt,
                JobState::Cancelled,
                now,
            )
            .await?;
            get(&mut *c, id, false).await
        })
        .await
    }

    async fn get_job(&self, id: JobId) -> Result<Job> {
        let pool = self.pool().clone();
        self.run(async move {
            let mut c = pool.acquire().await.map_err(db_error)?;
            get(&mut c, id, false).await
        })
        .await
    }

    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        let rows = self
            .run(
                sqlx::query(concat!(
                    "SELECT ",
                    job_cols!(),
                    " FROM jobs WHERE id > $1 AND ($2::text IS NULL OR state = $2) \
                     AND ($3::text IS NULL OR kind = $3) AND ($4::text IS NULL OR queue = $4) \
                     AND ($5::text IS NULL OR tenant_id = $5) ORDER BY id LIMIT $6"
                ))
                .bind(filter.after.map_or(0, |a| a.0))
                .bind(filter.state.map(JobState::as_str))
                .bind(filter.kind.as_deref())
                .bind(filter.queue.as_deref())
                .bind(filter.tenant_id.as_ref().map(TenantId::as_str))
                .bind(i64::try_from(filter.page_size()).unwrap_or(1000))
                .fetch_all(self.pool()),
            )
            .await
            .map_err(db_error)?;
        job_rows(&rows)
    }

    async fn stats(&self, tenant: Option<&TenantId>) -> Result<JobStats> {
        let rows: Vec<(String, i64)> = self
            .run(
                sqlx::query_as(
                    "SELECT state, count(*) FROM jobs WHERE $1::text IS NULL OR tenant_id = $1 \
                     GROUP BY state",
                )
                .bind(tenant.map(TenantId::as_str))
                .fetch_all(self.pool()),
            )
            .await
            .map_err(db_error)?;
        let mut stats = JobStats::default();
        for (state, n) in rows {
            let state = JobState::parse(&state).ok_or_else(|| {
                Error::storage(format!("unknown job state {state:?} in the database"))
            })?;
            stats.add(state, u64::try_from(n).unwrap_or(0));
        }
        Ok(stats)
    }

    async fn has_pending(&self, now: Timestamp) -> Result<bool> {
        self.run(
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE lease_expires_at IS NOT NULL) \
                 OR EXISTS (SELECT 1 FROM jobs WHERE state IN ('available', 'scheduled', \
                 'retryable') AND (state <> 'scheduled' OR scheduled_at <= $1))",
            )
            .bind(at(now))
            .fetch_one(self.pool()),
        )
        .await
        .map_err(db_error)
    }

    async fn next_due(&self, queue: &str) -> Result<Option<Timestamp>> {
        let t: Option<time::OffsetDateTime> = self
            .run(
                sqlx::query_scalar(
                    "SELECT min(scheduled_at) FROM jobs \
                     WHERE state IN ('available', 'scheduled', 'retryable') AND queue = $1",
                )
                .bind(queue)
                .fetch_one(self.pool()),
            )
            .await
            .map_err(db_error)?;
        Ok(t.map(super::rows::ts))
    }

    fn added_anywhere(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        Some(self.listener().jobs.clone())
    }

    async fn prune(&self, before: Timestamp, limit: usize) -> Result<u64> {
        // Short statements of at most 1000 rows each, so pruning never holds many locks.
        let mut deleted = 0u64;
        while (deleted as usize) < limit {
            let batch = (limit - deleted as usize).min(1000);
            let n = self
                .run(
                    sqlx::query(
                        "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs \
                         WHERE state IN ('completed', 'discarded', 'cancelled') \
                         AND finalized_at < $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)",
                    )
                    .bind(at(before))
                    .bind(i64::try_from(batch).unwrap_or(1000))
                    .execute(self.pool()),
                )
                .await
                .map_err(db_error)?
                .rows_affected();
            deleted += n;
            if (n as usize) < batch {
                break;
            }
        }
        Ok(deleted)
    }
}

/// Claim up to `claim.limit` due jobs (see [`QueueStore::claim`]) with the schema's
/// `claim_jobs`: rows other workers are claiming are skipped (`FOR UPDATE SKIP LOCKED`), keys are
/// checked under per-key advisory locks, tenant jobs are logged.
async fn claim_in(c: &mut PgConnection, claim: &Claim<'_>) -> Result<Vec<Job>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        job_cols!(),
        " FROM claim_jobs($1, $2, $3, $4, $5)"
    ))
    .bind(claim.queue)
    .bind(at(claim.now))
    .bind(i32::try_from(claim.limit).unwrap_or(i32::MAX))
    .bind(claim.worker)
    .bind(at(claim.lease_until))
    .fetch_all(c)
    .await
    .map_err(db_error)?;
    job_rows(&rows)
}

/// Apply attempt outcomes (see [`QueueStore::finish`]).
async fn finish_in(
    c: &mut PgConnection,
    worker: &str,
    done: &[Finish],
    now: Timestamp,
) -> Result<Vec<bool>> {
    let completed: Vec<&Finish> = done
        .iter()
        .filter(|d| d.outcome == Outcome::Completed)
        .collect();
    let mut applied = std::collections::HashSet::new();
    if !completed.is_empty() {
        let ids: Vec<i64> = completed.iter().map(|d| d.id.0).collect();
        let attempts: Vec<i32> = completed
            .iter()
            .map(|d| i32::try_from(d.attempt).unwrap_or(i32::MAX))
            .collect();
        let ids: Vec<i64> = sqlx::query_scalar("SELECT complete_jobs($1, $2, $3, $4)")
            .bind(worker)
            .bind(at(now))
            .bind(&ids)
            .bind(&attempts)
            .fetch_all(&mut *c)
            .await
            .map_err(db_error)?;
        applied.extend(ids);
    }
    let mut out = Vec::with_capacity(done.len());
    for d in done {
        out.push(match d.outcome {
            Outcome::Completed => applied.contains(&d.id.0),
            _ => finish_one(&mut *c, worker, d, now).await?,
        });
    }
    Ok(out)
}

async fn finish_one(
    c: &mut PgConnection,
    worker: &str,
    d: &Finish,
    now: Timestamp,
) -> Result<bool> {
    let id = d.id.0;
    let to = d.landing(now);
    let Some(tenant) = transition(
        &mut *c,
        id,
        d.attempt,
        Guard::Owner(worker),
        to.state,
        now,
        to.error.as_ref(),
        to.run_at,
    )
    .await?
    else {
        return Ok(false);
    };
    job_event(
        c,
        tenant.as_deref(),
        id,
        ChangeAction::StatusChanged,
        to.logged_attempt,
        to.state,
        now,
    )
    .await?;
    Ok(true)
}

/// What else a transition out of `running` requires besides the state and attempt.
enum Guard<'a> {
    /// The worker still holds the lease (a worker reporting its attempt).
    Owner(&'a str),
    /// The lease is still expired (the rescuer).
    LeaseExpired,
}

/// Move a running job (attempt `attempt`, `guard` holding) to `state`; returns its tenant if it
/// moved, `None` if the guard no longer holds.
#[allow(clippy::too_many_arguments)]
async fn transition(
    c: &mut PgConnection,
    id: i64,
    attempt: u32,
    guard: Guard<'_>,
    state: JobState,
    now: Timestamp,
    error: Option<&AttemptError>,
    scheduled_at: Option<Timestamp>,
) -> Result<Option<Option<String>>> {
    // One statement per guard, the same but for the guard's condition on `$3`.
    macro_rules! transition_sql {
        ($guard:literal) => {
            concat!(
                "UPDATE jobs SET state = $4::text, \
                 attempt = CASE WHEN $4::text = 'available' THEN attempt - 1 ELSE attempt END, \
                 scheduled_at = coalesce($6::timestamptz, scheduled_at), \
                 errors = CASE WHEN $5::jsonb IS NULL THEN errors \
                     ELSE errors || jsonb_build_array($5::jsonb) END, \
                 finalized_at = CASE WHEN $4::text IN ('completed', 'discarded', 'cancelled') \
                     THEN $7::timestamptz END, \
                 lease_owner = NULL, lease_expires_at = NULL \
                 WHERE id = $1 AND state = 'running' AND attempt = $2 AND ",
                $guard,
                " RETURNING tenant_id"
            )
        };
    }
    let sql = match guard {
        Guard::Owner(_) => transition_sql!("lease_owner = $3"),
        Guard::LeaseExpired => transition_sql!("lease_expires_at < $3"),
    };
    let q = sqlx::query_scalar::<_, Option<String>>(sql)
        .bind(id)
        .bind(i32::try_from(attempt).unwrap_or(i32::MAX));
    let q = match guard {
        Guard::Owner(w) => q.bind(w),
        Guard::LeaseExpired => q.bind(at(now)),
    };
    q.bind(state.as_str())
        .bind(error.map(Json))
        .bind(scheduled_at.map(at))
        .bind(at(now))
        .fetch_optional(c)
        .await
        .map_err(db_error)
}
