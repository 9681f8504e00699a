//! The job queue on SQLite: the `jobs` table of schema 3 (its claim index as schema 4 rewrote it), claimed in batches inside one
//! `BEGIN IMMEDIATE` transaction (SQLite has one writer, so no `SKIP LOCKED` is needed: River's
//! SQLite driver does the same), every transition out of `running` guarded by (state, attempt,
//! lease owner).

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::errors::sql_error;
use super::events::append;
use super::rows::{json, ts, wire};
use super::{SqliteStore, SqliteTx, closed};
use crate::events::{Change, ChangeAction};
use crate::queue::{
    AttemptError, Claim, Enqueued, Finish, Job, JobFilter, JobId, JobState, JobStats, JobWrites,
    NewJob, Outcome, Progress, QueueStore,
};
use crate::{Error, Result, TenantId, Timestamp};

const JOB_COLS: &str = "id, tenant_id, queue, kind, args, priority, state, attempt, max_attempts, \
     scheduled_at, unique_key, concurrency_key, errors, progress, lease_owner, lease_expires_at, \
     created_at, attempted_at, finalized_at";

/// The SQL of a state's bit in `unique_states` (as in the `jobs_unique` index).
const STATE_BIT: &str = "(CASE state WHEN 'available' THEN 1 WHEN 'scheduled' THEN 2 \
     WHEN 'running' THEN 4 WHEN 'retryable' THEN 8 WHEN 'completed' THEN 16 \
     WHEN 'discarded' THEN 32 WHEN 'cancelled' THEN 64 ELSE 0 END)";

fn job_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: JobId(r.get(0)?),
        tenant_id: r.get::<_, Option<String>>(1)?.map(TenantId::new),
        queue: r.get(2)?,
        kind: r.get(3)?,
        args: json(4, &r.get::<_, String>(4)?)?,
        priority: r.get(5)?,
        state: wire("state", &r.get::<_, String>(6)?, JobState::parse)?,
        attempt: r.get(7)?,
        max_attempts: r.get(8)?,
        scheduled_at: ts(r.get(9)?),
        unique_key: r.get(10)?,
        concurrency_key: r.get(11)?,
        errors: json(12, &r.get::<_, String>(12)?)?,
        progress: match r.get::<_, Option<String>>(13)? {
            Some(p) => Some(json(13, &p)?),
            None => None,
        },
        lease_owner: r.get(14)?,
        lease_expires_at: r.get::<_, Option<i64>>(15)?.map(ts),
        created_at: ts(r.get(16)?),
        attempted_at: r.get::<_, Option<i64>>(17)?.map(ts),
        finalized_at: r.get::<_, Option<i64>>(18)?.map(ts),
    })
}

/// Append a job's change to its tenant's log (engine-wide jobs have no log).
fn job_event(
    conn: &Connection,
    tenant: Option<&str>,
    id: i64,
    action: ChangeAction,
    attempt: u32,
    state: JobState,
    at: Timestamp,
) -> Result<()> {
    let Some(tenant) = tenant else {
        return Ok(());
    };
    let change = Change::job(id, action, attempt, state, at);
    append(conn, &TenantId::new(tenant), &change).map(|_| ())
}

fn insert(conn: &Connection, job: &NewJob, now: Timestamp) -> Result<Enqueued> {
    let (state, at) = initial(job, now);
    let args =
        serde_json::to_string(&job.args).map_err(|e| Error::internal(format!("job args: {e}")))?;
    let id: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO jobs (tenant_id, queue, kind, args, priority, state, max_attempts, \
             scheduled_at, unique_key, unique_states, concurrency_key, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .and_then(|mut s| {
            s.query_row(
                params![
                    job.tenant_id.as_ref().map(TenantId::as_str),
                    job.queue,
                    job.kind,
                    args,
                    job.priority,
                    state.as_str(),
                    job.max_attempts,
                    at.as_micros(),
                    job.unique_key,
                    job.unique_mask(),
                    job.concurrency_key,
                    now.as_micros(),
                ],
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(sql_error)?;
    match id {
        Some(id) => {
            let tenant = job.tenant_id.as_ref().map(TenantId::as_str);
            job_event(conn, tenant, id, ChangeAction::Created, 0, state, now)?;
            Ok(Enqueued {
                id: JobId(id),
                duplicate: false,
            })
        }
        None => {
            let existing: i64 = conn
                .prepare_cached(&format!(
                    "SELECT id FROM jobs WHERE unique_key = ?1 AND unique_key IS NOT NULL \
                     AND (unique_states & {STATE_BIT}) != 0"
                ))
                .and_then(|mut s| s.query_row([&job.unique_key], |r| r.get(0)))
                .map_err(sql_error)?;
            Ok(Enqueued {
                id: JobId(existing),
                duplicate: true,
            })
        }
    }
}

/// Rows per multi-row insert (12 parameters each, far below SQLite's limit).
const INSERT_ROWS: usize = 64;

/// The state and run time of a new job.
fn initial(job: &NewJob, now: Timestamp) -> (JobState, Timestamp) {
    let at = job.run_at.unwrap_or(now);
    let state = if at > now {
        JobState::Scheduled
    } else {
        JobState::Available
    };
    (state, at)
}

/// The multi-row insert of [`INSERT_ROWS`] jobs, built once.
fn insert_rows_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "INSERT INTO jobs (tenant_id, queue, kind, args, priority, state, max_attempts, \
             scheduled_at, unique_key, unique_states, concurrency_key, created_at) VALUES {}",
            vec!["(?,?,?,?,?,?,?,?,NULL,0,?,?)"; INSERT_ROWS].join(",")
        )
    })
}

/// Insert [`INSERT_ROWS`] jobs without unique keys in one statement. The writer holds the
/// database, so their ids are the consecutive numbers ending at the last inserted rowid.
fn insert_rows(conn: &Connection, jobs: &[NewJob], now: Timestamp) -> Result<Vec<Enqueued>> {
    let sql = insert_rows_sql();
    let args: Vec<String> = jobs
        .iter()
        .map(|j| serde_json::to_string(&j.args))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::internal(format!("job args: {e}")))?;
    let mut stmt = conn.prepare_cached(sql).map_err(sql_error)?;
    // Bound in place (SQLite copies each value): no per-value allocation.
    let mut i = 0;
    let mut bind = |v: &dyn rusqlite::ToSql| {
        i += 1;
        stmt.raw_bind_parameter(i, v)
    };
    for (job, args) in jobs.iter().zip(&args) {
        let (state, at) = initial(job, now);
        (|| -> rusqlite::Result<()> {
            bind(&job.tenant_id.as_ref().map(TenantId::as_str))?;
            bind(&job.queue)?;
            bind(&job.kind)?;
            bind(args)?;
            bind(&job.priority)?;
            bind(&state.as_str())?;
            bind(&job.max_attempts)?;
            bind(&at.as_micros())?;
            bind(&job.concurrency_key)?;
            bind(&now.as_micros())
        })()
        .map_err(sql_error)?;
    }
    stmt.raw_execute().map_err(sql_error)?;
    drop(stmt);
    let last = conn.last_insert_rowid();
    let first = last - jobs.len() as i64 + 1;
    let mut out = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        let id = first + i as i64;
        if let Some(t) = &job.tenant_id {
            let state = initial(job, now).0;
            job_event(
                conn,
                Some(t.as_str()),
                id,
                ChangeAction::Created,
                0,
                state,
                now,
            )?;
        }
        out.push(Enqueued {
            id: JobId(id),
            duplicate: false,
        });
    }
    Ok(out)
}

fn get(conn: &Connection, id: JobId) -> Result<Job> {
    conn.prepare_cached(&format!("SELECT {JOB_COLS} FROM jobs WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id.0], job_row).optional())
        .map_err(sql_error)?
        .ok_or_else(|| Error::not_found("job", &id.to_string()))
}

impl SqliteStore {
    /// Run `f` in one `BEGIN IMMEDIATE` transaction on the writer.
    async fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut guard = self.writer.lock().await;
        let conn = guard.as_mut().ok_or_else(closed)?;
        self.check_file()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_error)?;
        let out = f(&tx)?;
        tx.commit().map_err(sql_error)?;
        Ok(out)
    }
}

#[async_trait::async_trait]
impl JobWrites for SqliteTx<'_> {
    async fn enqueue_job(&mut self, job: &NewJob, now: Timestamp) -> Result<Enqueued> {
        insert(self.conn()?, job, now)
    }
}

/// The filter of the `jobs_due` index (schema 4), written the same way in every query that
/// should use it: SQLite matches a partial index's filter by its expression.
macro_rules! waiting {
    () => {
        "(state = 'available' OR state = 'scheduled' OR state = 'retryable')"
    };
}

/// Due jobs of a queue, in claim order.
const DUE: &str = concat!(
    "SELECT id, concurrency_key FROM jobs WHERE ",
    waiting!(),
    " AND queue = ?1 AND scheduled_at <= ?2 ORDER BY priority, scheduled_at, id LIMIT ?3"
);

#[async_trait::async_trait]
impl QueueStore for SqliteStore {
    async fn enqueue(&self, jobs: &[NewJob], now: Timestamp) -> Result<Vec<Enqueued>> {
        self.write(|c| {
            let mut out = Vec::with_capacity(jobs.len());
            let mut rest = jobs;
            while !rest.is_empty() {
                // Runs of jobs without a unique key go in multi-row inserts; the others (which
                // may be duplicates) one by one.
                let plain = rest
                    .iter()
                    .take(INSERT_ROWS)
                    .take_while(|j| j.unique_key.is_none())
                    .count();
                if plain == INSERT_ROWS {
                    out.extend(insert_rows(c, &rest[..plain], now)?);
                    rest = &rest[plain..];
                } else {
                    out.push(insert(c, &rest[0], now)?);
                    rest = &rest[1..];
                }
            }
            Ok(out)
        })
        .await
    }

    async fn claim(&self, claim: &Claim<'_>) -> Result<Vec<Job>> {
        self.write(|c| claim_in(c, claim)).await
    }

    async fn heartbeat(
        &self,
        worker: &str,
        jobs: &[(JobId, u32)],
        lease_until: Timestamp,
    ) -> Result<Vec<JobId>> {
        self.write(|c| {
            let mut stmt = c
                .prepare_cached(
                    "UPDATE jobs SET lease_expires_at = ?1 WHERE id = ?2 AND state = 'running' \
                     AND attempt = ?3 AND lease_owner = ?4",
                )
                .map_err(sql_error)?;
            let mut lost = Vec::new();
            for (id, attempt) in jobs {
                let n = stmt
                    .execute(params![lease_until.as_micros(), id.0, attempt, worker])
                    .map_err(sql_error)?;
                if n == 0 {
                    lost.push(*id);
                }
            }
            Ok(lost)
        })
        .await
    }

    async fn finish(&self, worker: &str, done: &[Finish], now: Timestamp) -> Result<Vec<bool>> {
        self.write(|c| finish_in(c, worker, done, now)).await
    }

    async fn finish_and_claim(
        &self,
        worker: &str,
        done: &[Finish],
        claim: &Claim<'_>,
    ) -> Result<(Vec<bool>, Vec<Job>)> {
        self.write(|c| {
            let applied = finish_in(c, worker, done, claim.now)?;
            Ok((applied, claim_in(c, claim)?))
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
        let text = serde_json::to_string(progress)
            .map_err(|e| Error::internal(format!("job progress: {e}")))?;
        self.write(|c| {
            let tenant: Option<Option<String>> = c
                .prepare_cached(
                    "UPDATE jobs SET progress = ?1 WHERE id = ?2 AND state = 'running' \
                     AND attempt = ?3 AND lease_owner = ?4 RETURNING tenant_id",
                )
                .and_then(|mut s| {
                    s.query_row(params![text, id.0, attempt, worker], |r| r.get(0))
                        .optional()
                })
                .map_err(sql_error)?;
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
            )?;
            Ok(true)
        })
        .await
    }

    async fn rescue(&self, now: Timestamp) -> Result<u64> {
        self.write(|c| {
            let expired = c
                .prepare_cached(
                    "SELECT id, attempt, max_attempts, lease_owner FROM jobs \
                     WHERE state = 'running' AND lease_expires_at < ?1 LIMIT 1000",
                )
                .and_then(|mut s| {
                    s.query_map([now.as_micros()], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, u32>(1)?,
                            r.get::<_, u32>(2)?,
                            r.get::<_, Option<String>>(3)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql_error)?;
            let mut n = 0;
            for (id, attempt, max, owner) in expired {
                let error = AttemptError::lease_expired(now, attempt, owner.as_deref());
                let state = if attempt >= max {
                    JobState::Discarded
                } else {
                    JobState::Retryable
                };
                // Guarded like every transition: still running the same attempt, lease still
                // expired (a heartbeat may have landed since the scan).
                if let Some(tenant) = transition(
                    c,
                    id,
                    attempt,
                    Guard::LeaseExpired,
                    state,
                    now,
                    Some(&error),
                    Some(now),
                )? {
                    job_event(
                        c,
                        tenant.as_deref(),
                        id,
                        ChangeAction::StatusChanged,
                        attempt,
                        state,
                        now,
                    )?;
                    n += 1;
                }
            }
            Ok(n)
        })
        .await
    }

    async fn retry(&self, id: JobId, now: Timestamp) -> Result<Job> {
        self.write(|c| {
            let job = get(c, id)?;
            job.check_retryable()?;
            c.prepare_cached(
                "UPDATE jobs SET state = 'available', scheduled_at = ?2, finalized_at = NULL, \
                 max_attempts = max(max_attempts, attempt + 1) WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id.0, now.as_micros()]))
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ConstraintViolation) => job.unique_key_taken(),
                _ => sql_error(e),
            })?;
            let tenant = job.tenant_id.as_ref().map(TenantId::as_str);
            job_event(
                c,
                tenant,
                id.0,
                ChangeAction::StatusChanged,
                job.attempt,
                JobState::Available,
                now,
            )?;
            get(c, id)
        })
        .await
    }

    async fn cancel(&self, id: JobId, now: Timestamp) -> Result<Job> {
        self.write(|c| {
            let job = get(c, id)?;
            job.check_cancellable()?;
            c.prepare_cached(
                "UPDATE jobs SET state = 'cancelled', finalized_at = ?2, lease_owner = NULL, \
                 lease_expires_at = NULL WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![id.0, now.as_micros()]))
            .map_err(sql_error)?;
            let tenant = job.tenant_id.as_ref().map(TenantId::as_str);
            job_event(
                c,
                tenant,
                id.0,
                ChangeAction::StatusChanged,
                job.attempt,
                JobState::Cancelled,
                now,
            )?;
            get(c, id)
        })
        .await
    }

    async fn get_job(&self, id: JobId) -> Result<Job> {
        self.read(|c| get(c, id)).await
    }

    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        let mut sql = format!("SELECT {JOB_COLS} FROM jobs WHERE id > ?1");
        use rusqlite::types::Value;
        let mut args: Vec<Value> = vec![Value::Integer(filter.after.map_or(0, |a| a.0))];
        let mut and = |col: &str, v: String| {
            args.push(Value::Text(v));
            sql.push_str(&format!(" AND {col} = ?{}", args.len()));
        };
        if let Some(s) = filter.state {
            and("state", s.as_str().to_owned());
        }
        if let Some(k) = &filter.kind {
            and("kind", k.clone());
        }
        if let Some(q) = &filter.queue {
            and("queue", q.clone());
        }
        if let Some(t) = &filter.tenant_id {
            and("tenant_id", t.as_str().to_owned());
        }
        sql.push_str(&format!(" ORDER BY id LIMIT {}", filter.page_size()));
        self.read(|c| {
            c.prepare(&sql)
                .and_then(|mut s| {
                    s.query_map(rusqlite::params_from_iter(args.iter()), job_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql_error)
        })
        .await
    }

    async fn stats(&self, tenant: Option<&TenantId>) -> Result<JobStats> {
        self.read(|c| {
            let rows = c
                .prepare_cached(
                    "SELECT state, count(*) FROM jobs WHERE ?1 IS NULL OR tenant_id = ?1 \
                     GROUP BY state",
                )
                .and_then(|mut s| {
                    s.query_map([tenant.map(TenantId::as_str)], |r| {
                        Ok((
                            wire("state", &r.get::<_, String>(0)?, JobState::parse)?,
                            r.get::<_, i64>(1)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql_error)?;
            let mut stats = JobStats::default();
            for (state, n) in rows {
                stats.add(state, n as u64);
            }
            Ok(stats)
        })
        .await
    }

    async fn has_pending(&self, now: Timestamp) -> Result<bool> {
        self.read(|c| {
            c.prepare_cached(concat!(
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'running') \
                     OR EXISTS (SELECT 1 FROM jobs WHERE ",
                waiting!(),
                " AND (state <> 'scheduled' OR scheduled_at <= ?1))"
            ))
            .and_then(|mut s| s.query_row([now.as_micros()], |r| r.get::<_, bool>(0)))
            .map_err(sql_error)
        })
        .await
    }

    async fn next_due(&self, queue: &str) -> Result<Option<Timestamp>> {
        self.read(|c| {
            c.prepare_cached(concat!(
                "SELECT min(scheduled_at) FROM jobs WHERE ",
                waiting!(),
                " AND queue = ?1"
            ))
            .and_then(|mut s| s.query_row([queue], |r| r.get::<_, Option<i64>>(0)))
            .map(|t| t.map(ts))
            .map_err(sql_error)
        })
        .await
    }

    async fn prune(&self, before: Timestamp, limit: usize) -> Result<u64> {
        // No index on finalized_at (it would cost every completion an index write): scan the
        // oldest jobs by id in bounded windows, one short transaction each, where final jobs
        // gather as they age.
        let mut deleted = 0u64;
        let mut after = 0i64;
        for _ in 0..PRUNE_WINDOWS {
            let (n, last) = self
                .write(|c| {
                    let rows = c
                        .prepare_cached(
                            "SELECT id, state IN ('completed', 'discarded', 'cancelled') \
                             AND finalized_at < ?2 FROM jobs WHERE id > ?1 ORDER BY id LIMIT ?3",
                        )
                        .and_then(|mut s| {
                            s.query_map(params![after, before.as_micros(), PRUNE_SCAN], |r| {
                                Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?))
                            })?
                            .collect::<rusqlite::Result<Vec<_>>>()
                        })
                        .map_err(sql_error)?;
                    let old: Vec<i64> = rows.iter().filter(|r| r.1).map(|r| r.0).collect();
                    let ids = serde_json::to_string(&old)
                        .map_err(|e| Error::internal(format!("job ids: {e}")))?;
                    let n = c
                        .prepare_cached(
                            "DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(?1))",
                        )
                        .and_then(|mut s| s.execute([ids]))
                        .map_err(sql_error)?;
                    Ok((n as u64, rows.last().map(|r| r.0)))
                })
                .await?;
            deleted += n;
            match last {
                Some(id) if (deleted as usize) < limit => after = id,
                _ => break,
            }
        }
        Ok(deleted)
    }
}

/// Jobs looked at per pruning transaction, and transactions per prune.
const PRUNE_SCAN: i64 = 2000;
const PRUNE_WINDOWS: usize = 50;

/// Claim up to `claim.limit` due jobs (see [`QueueStore::claim`]).
fn claim_in(c: &Connection, claim: &Claim<'_>) -> Result<Vec<Job>> {
    let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);

    let due = c
        .prepare_cached(DUE)
        .and_then(|mut s| {
            s.query_map(params![claim.queue, claim.now.as_micros(), limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql_error)?;
    if due.iter().all(|(_, key)| key.is_none()) {
        return claim_all(c, claim, &due);
    }
    let mut keys: Vec<String> = Vec::new();
    let mut claimed = Vec::with_capacity(due.len());
    for (id, key) in due {
        if let Some(k) = key {
            let busy = keys.contains(&k)
                || c.prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'running' \
                         AND concurrency_key = ?1)",
                )
                .and_then(|mut s| s.query_row([&k], |r| r.get::<_, bool>(0)))
                .map_err(sql_error)?;
            if busy {
                continue;
            }
            keys.push(k);
        }
        let job = c
            .prepare_cached(&format!(
                "UPDATE jobs SET state = 'running', attempt = attempt + 1, \
                     attempted_at = ?2, lease_owner = ?3, lease_expires_at = ?4 \
                     WHERE id = ?1 RETURNING {JOB_COLS}"
            ))
            .and_then(|mut s| {
                s.query_row(
                    params![
                        id,
                        claim.now.as_micros(),
                        claim.worker,
                        claim.lease_until.as_micros()
                    ],
                    job_row,
                )
            })
            .map_err(sql_error)?;
        job_event(
            c,
            job.tenant_id.as_ref().map(TenantId::as_str),
            id,
            ChangeAction::StatusChanged,
            job.attempt,
            JobState::Running,
            claim.now,
        )?;
        claimed.push(job);
    }
    Ok(claimed)
}

/// Apply attempt outcomes (see [`QueueStore::finish`]).
fn finish_in(c: &Connection, worker: &str, done: &[Finish], now: Timestamp) -> Result<Vec<bool>> {
    let completed: Vec<(i64, u32)> = done
        .iter()
        .filter(|d| d.outcome == Outcome::Completed)
        .map(|d| (d.id.0, d.attempt))
        .collect();
    let applied = if completed.is_empty() {
        Vec::new()
    } else {
        complete_all(c, worker, &completed, now)?
    };
    for (id, tenant) in &applied {
        if tenant.is_some() {
            let attempt = done.iter().find(|d| d.id.0 == *id).map_or(0, |d| d.attempt);
            job_event(
                c,
                tenant.as_deref(),
                *id,
                ChangeAction::StatusChanged,
                attempt,
                JobState::Completed,
                now,
            )?;
        }
    }
    let applied: std::collections::HashSet<i64> = applied.into_iter().map(|(id, _)| id).collect();
    done.iter()
        .map(|d| match d.outcome {
            Outcome::Completed => Ok(applied.contains(&d.id.0)),
            _ => finish_one(c, worker, d, now),
        })
        .collect()
}

/// Claim the jobs whose ids are the JSON array `?1`, returning them.
fn claim_all_sql() -> String {
    format!(
        "UPDATE jobs SET state = 'running', attempt = attempt + 1, attempted_at = ?2, \
         lease_owner = ?3, lease_expires_at = ?4 \
         WHERE id IN (SELECT value FROM json_each(?1)) RETURNING {JOB_COLS}"
    )
}

/// Complete the attempts `[[id, attempt], ...]` of `?1` still leased to worker `?2`.
const COMPLETE_ALL: &str = "UPDATE jobs SET state = 'completed', finalized_at = ?3, \
     lease_owner = NULL, lease_expires_at = NULL \
     FROM (SELECT value ->> 0 AS id, value ->> 1 AS attempt FROM json_each(?1)) AS d \
     WHERE jobs.id = d.id AND jobs.state = 'running' AND jobs.attempt = d.attempt \
     AND jobs.lease_owner = ?2 RETURNING jobs.id, jobs.tenant_id";

/// Claim the due jobs found (none with a concurrency key) with one statement.
fn claim_all(c: &Connection, claim: &Claim<'_>, due: &[(i64, Option<String>)]) -> Result<Vec<Job>> {
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(&due.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .map_err(|e| Error::internal(format!("job ids: {e}")))?;
    let mut jobs = c
        .prepare_cached(&claim_all_sql())
        .and_then(|mut s| {
            s.query_map(
                params![
                    ids,
                    claim.now.as_micros(),
                    claim.worker,
                    claim.lease_until.as_micros()
                ],
                job_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql_error)?;
    // RETURNING gives no order: restore the claim order.
    let order: std::collections::HashMap<i64, usize> = due
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    jobs.sort_by_key(|j| order.get(&j.id.0).copied());
    for job in &jobs {
        if job.tenant_id.is_some() {
            job_event(
                c,
                job.tenant_id.as_ref().map(TenantId::as_str),
                job.id.0,
                ChangeAction::StatusChanged,
                job.attempt,
                JobState::Running,
                claim.now,
            )?;
        }
    }
    Ok(jobs)
}

/// Complete the worker's attempts `(id, attempt)` with one statement; returns the ones that
/// applied with their tenants.
fn complete_all(
    c: &Connection,
    worker: &str,
    done: &[(i64, u32)],
    now: Timestamp,
) -> Result<Vec<(i64, Option<String>)>> {
    let pairs = serde_json::to_string(done).map_err(|e| Error::internal(format!("jobs: {e}")))?;
    c.prepare_cached(COMPLETE_ALL)
        .and_then(|mut s| {
            s.query_map(params![pairs, worker, now.as_micros()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql_error)
}

fn finish_one(c: &Connection, worker: &str, d: &Finish, now: Timestamp) -> Result<bool> {
    let id = d.id.0;
    let to = d.landing(now);
    let tenant = transition(
        c,
        id,
        d.attempt,
        Guard::Owner(worker),
        to.state,
        now,
        to.error.as_ref(),
        to.run_at,
    )?;
    let Some(tenant) = tenant else {
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
    )?;
    Ok(true)
}

/// What else a transition out of `running` requires besides the state and attempt.
enum Guard<'a> {
    /// The worker still holds the lease (a worker reporting its attempt).
    Owner(&'a str),
    /// The lease is still expired (the rescuer: a heartbeat may have landed since its scan).
    LeaseExpired,
}

/// Move a running job (attempt `attempt`, `guard` holding) to `state`; returns its tenant if it
/// moved, `None` if the guard no longer holds.
#[allow(clippy::too_many_arguments)]
fn transition(
    c: &Connection,
    id: i64,
    attempt: u32,
    guard: Guard<'_>,
    state: JobState,
    now: Timestamp,
    error: Option<&AttemptError>,
    scheduled_at: Option<Timestamp>,
) -> Result<Option<Option<String>>> {
    let error = match error {
        Some(e) => {
            Some(serde_json::to_string(e).map_err(|e| Error::internal(format!("job error: {e}")))?)
        }
        None => None,
    };
    use rusqlite::types::Value;
    let (guard, guard_arg) = match guard {
        Guard::Owner(w) => ("lease_owner = ?3", Value::Text(w.to_owned())),
        Guard::LeaseExpired => ("lease_expires_at < ?3", Value::Integer(now.as_micros())),
    };
    let sql = format!(
        "UPDATE jobs SET state = ?4, \
         attempt = CASE WHEN ?4 = 'available' THEN attempt - 1 ELSE attempt END, \
         scheduled_at = coalesce(?6, scheduled_at), \
         errors = CASE WHEN ?5 IS NULL THEN errors ELSE json_insert(errors, '$[#]', json(?5)) END, \
         finalized_at = CASE WHEN ?4 IN ('completed', 'discarded', 'cancelled') THEN ?7 END, \
         lease_owner = NULL, lease_expires_at = NULL \
         WHERE id = ?1 AND state = 'running' AND attempt = ?2 AND {guard} RETURNING tenant_id"
    );
    c.prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(
                params![
                    id,
                    attempt,
                    guard_arg,
                    state.as_str(),
                    error,
                    scheduled_at.map(Timestamp::as_micros),
                    now.as_micros(),
                ],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
        })
        .map_err(sql_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The planner's choice for `sql` (its `EXPLAIN QUERY PLAN` details, joined).
    fn plan(c: &Connection, sql: &str) -> String {
        let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let n = stmt.parameter_count();
        let args = vec![rusqlite::types::Value::Null; n];
        stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
            .join("; ")
    }

    #[test]
    fn the_waiting_queries_use_the_claim_index() {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::migrate::migrate(&mut c).unwrap();
        assert!(
            plan(&c, DUE).contains("USING INDEX jobs_due"),
            "{}",
            plan(&c, DUE)
        );
        let next = concat!(
            "SELECT min(scheduled_at) FROM jobs WHERE ",
            waiting!(),
            " AND queue = ?1"
        );
        assert!(plan(&c, next).contains("jobs_due"), "{}", plan(&c, next));
        let expired = "SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < ?1";
        assert!(
            plan(&c, expired).contains("jobs_leases"),
            "{}",
            plan(&c, expired)
        );
    }

    /// The claim and completion statements stay prepared across calls with new values (the
    /// store turns on SQLite's query planner stability guarantee; without it the claim scan
    /// was prepared again on every call).
    #[test]
    fn hot_statements_are_not_prepared_again() {
        use rusqlite::StatementStatus::RePrepare;
        let store = SqliteStore::in_memory().unwrap();
        let mut guard = store.writer.try_lock().unwrap();
        let c = guard.as_mut().unwrap();
        let jobs: Vec<NewJob> = (0..10)
            .map(|_| NewJob::new("noop", serde_json::json!({})))
            .collect();
        for round in 0..5i64 {
            let now = Timestamp::from_micros(1_000_000 + round * 1_000);
            for job in &jobs {
                insert(c, job, now).unwrap();
            }
            let worker = format!("w{round}");
            let claim = Claim {
                queue: crate::queue::DEFAULT_QUEUE,
                worker: &worker,
                limit: 10,
                now,
                lease_until: Timestamp::from_micros(now.as_micros() + 1_000),
            };
            let claimed = claim_in(c, &claim).unwrap();
            assert_eq!(claimed.len(), 10);
            let done: Vec<Finish> = claimed
                .iter()
                .map(|j| Finish {
                    id: j.id,
                    attempt: j.attempt,
                    outcome: Outcome::Completed,
                })
                .collect();
            assert!(
                finish_in(c, &worker, &done, now)
                    .unwrap()
                    .iter()
                    .all(|a| *a)
            );
        }
        for sql in [DUE, &claim_all_sql(), COMPLETE_ALL] {
            let n = c.prepare_cached(sql).unwrap().get_status(RePrepare);
            assert_eq!(n, 0, "prepared again {n} times: {sql}");
        }
    }
}
