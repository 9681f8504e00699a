//! The per-tenant change event log on SQLite: numbered from the tenant row's `event_seq`, bumped
//! in the writing transaction.

use rusqlite::{Connection, OptionalExtension, ToSql, params};

use super::SqliteStore;
use super::errors::sql_error;
use super::rows::{ts, wire};
use crate::events::{Change, ChangeAction, ChangeEvent, Entity, EventFilter, EventRange};
use crate::queue::JobState;
use crate::store::EventStore;
use crate::{Error, Result, SyncStatus, TenantId, Timestamp};

/// How many of the oldest events one prune looks at (bounded work per write).
const PRUNE_BATCH: i64 = 256;

pub(super) fn append(conn: &Connection, tenant: &TenantId, change: &Change) -> Result<u64> {
    let seq: i64 = conn
        .prepare_cached(
            "UPDATE tenants SET event_seq = event_seq + 1 WHERE id = ?1 RETURNING event_seq",
        )
        .and_then(|mut s| s.query_row([tenant.as_str()], |r| r.get(0)).optional())
        .map_err(sql_error)?
        .ok_or_else(|| Error::not_found("tenant", tenant.as_str()))?;
    conn.prepare_cached(
        "INSERT INTO events (tenant_id, seq, entity, record_id, action, version, sync_status, \
         job_state, at, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.as_str(),
            seq,
            change.entity.as_str(),
            change.id,
            change.action.as_str(),
            change.version,
            change.sync_status.map(SyncStatus::as_str),
            change.job_state.map(JobState::as_str),
            change.at.as_micros(),
            change.actor,
        ])
    })
    .map_err(sql_error)?;
    Ok(seq as u64)
}

pub(super) fn prune(
    conn: &Connection,
    tenant: &TenantId,
    keep_from: u64,
    older_than: Timestamp,
) -> Result<()> {
    // Only a prefix of the log is ever dropped (as in memory): the first event to keep among the
    // oldest ones marks the cut, even if a later event carries an older time (clocks step back,
    // processes disagree), so readers always learn of a gap through `oldest`.
    let keep_from = i64::try_from(keep_from).unwrap_or(i64::MAX);
    let oldest = conn
        .prepare_cached("SELECT seq, at FROM events WHERE tenant_id = ?1 ORDER BY seq LIMIT ?2")
        .and_then(|mut s| {
            s.query_map(params![tenant.as_str(), PRUNE_BATCH], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(sql_error)?;
    let cut = match oldest
        .iter()
        .find(|(seq, at)| *seq >= keep_from && *at >= older_than.as_micros())
    {
        Some((seq, _)) => *seq,
        None => match oldest.last() {
            Some((seq, _)) => seq + 1,
            None => return Ok(()),
        },
    };
    conn.prepare_cached("DELETE FROM events WHERE tenant_id = ?1 AND seq < ?2")
        .and_then(|mut s| s.execute(params![tenant.as_str(), cut]))
        .map_err(sql_error)?;
    Ok(())
}

/// The read of a tenant's log with the filter's conditions: one cached statement per combination
/// of conditions, so each is planned with the index that fits it.
fn select_events(filter: &EventFilter) -> String {
    let mut sql = String::from(
        "SELECT tenant_id, seq, entity, record_id, action, version, sync_status, at, job_state, \
         actor FROM events WHERE tenant_id = :tenant AND seq > :after",
    );
    let conditions = [
        (filter.entity.is_some(), " AND entity = :entity"),
        (filter.id.is_some(), " AND record_id = :id"),
        (filter.actor.is_some(), " AND actor = :actor"),
        (filter.since.is_some(), " AND at >= :since"),
        (filter.until.is_some(), " AND at < :until"),
    ];
    for (on, condition) in conditions {
        if on {
            sql.push_str(condition);
        }
    }
    sql.push_str(" ORDER BY seq LIMIT :limit");
    sql
}

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChangeEvent> {
    Ok(ChangeEvent {
        tenant_id: TenantId::new(r.get::<_, String>(0)?),
        seq: r.get::<_, i64>(1)? as u64,
        entity: wire("entity", &r.get::<_, String>(2)?, Entity::parse)?,
        id: r.get(3)?,
        action: wire("action", &r.get::<_, String>(4)?, ChangeAction::parse)?,
        version: r.get(5)?,
        sync_status: match r.get::<_, Option<String>>(6)? {
            Some(s) => Some(wire("sync_status", &s, SyncStatus::parse)?),
            None => None,
        },
        job_state: match r.get::<_, Option<String>>(8)? {
            Some(s) => Some(wire("job_state", &s, JobState::parse)?),
            None => None,
        },
        at: ts(r.get(7)?),
        actor: r.get(9)?,
    })
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl EventStore for SqliteStore {
    async fn read_events_where(
        &self,
        tenant: &TenantId,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<EventRange> {
        let sql = select_events(filter);
        self.read(|c| {
            // One read transaction: head, oldest and rows from the same snapshot.
            let snapshot = c.unchecked_transaction().map_err(sql_error)?;
            let head: i64 = snapshot
                .prepare_cached("SELECT event_seq FROM tenants WHERE id = ?1")
                .and_then(|mut s| s.query_row([tenant.as_str()], |r| r.get(0)).optional())
                .map_err(sql_error)?
                .unwrap_or(0);
            let oldest: Option<i64> = snapshot
                .prepare_cached("SELECT min(seq) FROM events WHERE tenant_id = ?1")
                .and_then(|mut s| s.query_row([tenant.as_str()], |r| r.get(0)))
                .map_err(sql_error)?;
            let events = snapshot
                .prepare_cached(&sql)
                .and_then(|mut s| {
                    let tenant_id = tenant.as_str();
                    let after = i64::try_from(after).unwrap_or(i64::MAX);
                    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                    let entity = filter.entity.map(Entity::as_str);
                    let since = filter.since.map(Timestamp::as_micros);
                    let until = filter.until.map(Timestamp::as_micros);
                    let mut bound: Vec<(&str, &dyn ToSql)> = vec![
                        (":tenant", &tenant_id as &dyn ToSql),
                        (":after", &after),
                        (":limit", &limit),
                    ];
                    let optional: [(&str, Option<&dyn ToSql>); 5] = [
                        (":entity", entity.as_ref().map(|v| v as &dyn ToSql)),
                        (":id", filter.id.as_ref().map(|v| v as &dyn ToSql)),
                        (":actor", filter.actor.as_ref().map(|v| v as &dyn ToSql)),
                        (":since", since.as_ref().map(|v| v as &dyn ToSql)),
                        (":until", until.as_ref().map(|v| v as &dyn ToSql)),
                    ];
                    bound.extend(optional.into_iter().filter_map(|(n, v)| Some((n, v?))));
                    s.query_map(bound.as_slice(), event_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql_error)?;
            Ok(EventRange {
                events,
                oldest: oldest.unwrap_or(head + 1) as u64,
                head: head as u64,
            })
        })
        .await
    }
}
