//! The per-tenant change event log on PostgreSQL: numbered from the tenant row's `event_seq`,
//! bumped in the writing transaction (its row lock orders writers of one tenant, so numbers
//! follow commit order without gaps, across processes).

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::PgStore;
use super::errors::db_error;
use super::rows::{at, opt_wire, time_col, wire};
use crate::events::{Change, ChangeAction, ChangeEvent, Entity, EventFilter, EventRange};
use crate::queue::JobState;
use crate::store::EventStore;
use crate::{Error, Result, SyncStatus, TenantId, Timestamp};

/// How many of the oldest events one prune looks at (bounded work per write).
const PRUNE_BATCH: i64 = 256;

/// The channel an append notifies (with the tenant id) at commit.
pub(super) fn channel(schema: &str) -> String {
    format!("tagsmith_events.{schema}")
}

pub(super) async fn append(
    conn: &mut PgConnection,
    tenant: &TenantId,
    change: &Change,
) -> Result<u64> {
    // The tenant's subscribers in every process are woken when this commits (one notice per
    // tenant and transaction: PostgreSQL folds equal ones).
    let seq: i64 = sqlx::query_scalar(
        "UPDATE tenants SET event_seq = event_seq + 1 WHERE id = $1 \
         RETURNING event_seq, pg_notify('tagsmith_events.' || current_schema(), id)",
    )
    .bind(tenant.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?
    .ok_or_else(|| Error::not_found("tenant", tenant.as_str()))?;
    sqlx::query(
        "INSERT INTO events (tenant_id, seq, entity, record_id, action, version, sync_status, \
         job_state, at, actor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tenant.as_str())
    .bind(seq)
    .bind(change.entity.as_str())
    .bind(&change.id)
    .bind(change.action.as_str())
    .bind(change.version)
    .bind(change.sync_status.map(SyncStatus::as_str))
    .bind(change.job_state.map(JobState::as_str))
    .bind(at(change.at))
    .bind(change.actor.as_deref())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(u64::try_from(seq).unwrap_or(0))
}

pub(super) async fn prune(
    conn: &mut PgConnection,
    tenant: &TenantId,
    keep_from: u64,
    older_than: Timestamp,
) -> Result<()> {
    // Only a prefix of the log is ever dropped (as on the other backends): the first event to
    // keep among the oldest ones marks the cut, even if a later event carries an older time.
    let keep_from = i64::try_from(keep_from).unwrap_or(i64::MAX);
    let oldest: Vec<(i64, time::OffsetDateTime)> =
        sqlx::query_as("SELECT seq, at FROM events WHERE tenant_id = $1 ORDER BY seq LIMIT $2")
            .bind(tenant.as_str())
            .bind(PRUNE_BATCH)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
    let older_than = at(older_than);
    let cut = match oldest
        .iter()
        .find(|(seq, t)| *seq >= keep_from && *t >= older_than)
    {
        Some((seq, _)) => *seq,
        None => match oldest.last() {
            Some((seq, _)) => seq + 1,
            None => return Ok(()),
        },
    };
    sqlx::query("DELETE FROM events WHERE tenant_id = $1 AND seq < $2")
        .bind(tenant.as_str())
        .bind(cut)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

fn event_row(tenant: &TenantId, r: &PgRow) -> sqlx::Result<ChangeEvent> {
    Ok(ChangeEvent {
        tenant_id: tenant.clone(),
        seq: u64::try_from(r.try_get::<i64, _>("seq")?).unwrap_or(0),
        entity: wire(r, "entity", Entity::parse)?,
        id: r.try_get("record_id")?,
        action: wire(r, "action", ChangeAction::parse)?,
        version: r.try_get("version")?,
        sync_status: opt_wire(r, "sync_status", SyncStatus::parse)?,
        job_state: opt_wire(r, "job_state", JobState::parse)?,
        at: time_col(r, "at")?,
        actor: r.try_get("actor")?,
    })
}

#[async_trait::async_trait]
impl EventStore for PgStore {
    fn watch_changes(&self, wake: crate::store::ChangeWatcher) -> bool {
        self.listener().watch(wake);
        true
    }

    async fn read_events_where(
        &self,
        tenant: &TenantId,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<EventRange> {
        // One statement, so head, oldest and rows come from one snapshot; an unknown tenant
        // gives no row (an empty log), a tenant without events one row of NULL events. Each
        // combination of conditions is its own (cached) statement, planned with the index that
        // fits it.
        let mut conditions = String::new();
        let mut n = 3;
        let mut next = |column: &str, op: &str, on: bool| {
            if on {
                n += 1;
                conditions.push_str(&format!(" AND {column} {op} ${n}"));
            }
        };
        next("entity", "=", filter.entity.is_some());
        next("record_id", "=", filter.id.is_some());
        next("actor", "=", filter.actor.is_some());
        next("at", ">=", filter.since.is_some());
        next("at", "<", filter.until.is_some());
        let sql = format!(
            "SELECT t.event_seq AS head, \
             (SELECT min(seq) FROM events WHERE tenant_id = $1) AS oldest, e.* \
             FROM tenants t LEFT JOIN LATERAL (SELECT seq, entity, record_id, action, \
             version, sync_status, job_state, at, actor FROM events WHERE tenant_id = $1 \
             AND seq > $2{conditions} ORDER BY seq LIMIT $3) e ON true WHERE t.id = $1 \
             ORDER BY e.seq"
        );
        // Built only from the static text above.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        if let Some(e) = filter.entity {
            q = q.bind(e.as_str());
        }
        if let Some(id) = &filter.id {
            q = q.bind(id.as_str());
        }
        if let Some(a) = &filter.actor {
            q = q.bind(a.as_str());
        }
        if let Some(t) = filter.since {
            q = q.bind(at(t));
        }
        if let Some(t) = filter.until {
            q = q.bind(at(t));
        }
        let rows = self.run(q.fetch_all(self.pool())).await.map_err(db_error)?;
        let Some(first) = rows.first() else {
            return Ok(EventRange {
                events: Vec::new(),
                oldest: 1,
                head: 0,
            });
        };
        let head: i64 = first.try_get("head").map_err(db_error)?;
        let oldest: Option<i64> = first.try_get("oldest").map_err(db_error)?;
        let mut events = Vec::with_capacity(rows.len());
        for r in &rows {
            if r.try_get::<Option<i64>, _>("seq")
                .map_err(db_error)?
                .is_some()
            {
                events.push(event_row(tenant, r).map_err(db_error)?);
            }
        }
        Ok(EventRange {
            events,
            oldest: u64::try_from(oldest.unwrap_or(head + 1)).unwrap_or(0),
            head: u64::try_from(head).unwrap_or(0),
        })
    }
}
