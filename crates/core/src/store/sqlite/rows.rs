//! Rows to records, and the paged query every list uses.

use rusqlite::{Connection, Row};

use super::errors::sql_error;
use crate::page::{Listed, Slice};
use crate::{
    AdsCategory, AdsConversion, Customer, CustomerId, GoogleConnection, Result, SyncStatus, Tenant,
    TenantId, Timestamp, Tracking, TrackingId, TrackingKind, UrlMatch, UrlRule,
};

pub(super) fn ts(micros: i64) -> Timestamp {
    Timestamp::from_micros(micros)
}

/// Text columns holding wire enums: an unknown value means a newer writer, so say so.
pub(super) fn wire<T>(
    column: &str,
    text: &str,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown {column} {text:?} in the database").into(),
        )
    })
}

/// A JSON text column.
pub(super) fn json<T: serde::de::DeserializeOwned>(
    index: usize,
    text: &str,
) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) const TENANT_COLS: &str = "seq, id, name, created_at";

pub(super) fn tenant_row(r: &Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: TenantId::new(r.get::<_, String>(1)?),
        name: r.get(2)?,
        created_at: ts(r.get(3)?),
    })
}

pub(super) const CUSTOMER_COLS: &str =
    "seq, id, tenant_id, name, website_url, google, version, created_at, updated_at";

pub(super) fn customer_row(r: &Row<'_>) -> rusqlite::Result<Customer> {
    Ok(Customer {
        id: CustomerId::new(r.get::<_, String>(1)?),
        tenant_id: TenantId::new(r.get::<_, String>(2)?),
        name: r.get(3)?,
        website_url: r.get(4)?,
        google: wire("google", &r.get::<_, String>(5)?, GoogleConnection::parse)?,
        version: r.get(6)?,
        created_at: ts(r.get(7)?),
        updated_at: ts(r.get(8)?),
    })
}

pub(super) const TRACKING_COLS: &str = "seq, id, tenant_id, customer_id, name, kind, selector, url_match, \
    url_value, ga4_event, ga4_params, ads_category, ads_value, ads_currency, scroll_percent, sync_status, \
    sync_error, external_ids, version, created_at, updated_at, last_synced_at";

pub(super) fn tracking_row(r: &Row<'_>) -> rusqlite::Result<Tracking> {
    let url_rule = match (
        r.get::<_, Option<String>>(7)?,
        r.get::<_, Option<String>>(8)?,
    ) {
        (Some(m), Some(value)) => Some(UrlRule {
            r#match: wire("url_match", &m, UrlMatch::parse)?,
            value,
        }),
        _ => None,
    };
    let ads = match r.get::<_, Option<String>>(11)? {
        Some(c) => Some(AdsConversion {
            category: wire("ads_category", &c, AdsCategory::parse)?,
            value: r.get(12)?,
            currency: r.get(13)?,
        }),
        None => None,
    };
    Ok(Tracking {
        id: TrackingId::new(r.get::<_, String>(1)?),
        tenant_id: TenantId::new(r.get::<_, String>(2)?),
        customer_id: CustomerId::new(r.get::<_, String>(3)?),
        name: r.get(4)?,
        kind: wire("kind", &r.get::<_, String>(5)?, TrackingKind::parse)?,
        selector: r.get(6)?,
        url_rule,
        ga4_event: r.get(9)?,
        ga4_params: json(10, &r.get::<_, String>(10)?)?,
        ads,
        scroll_percent: r.get(14)?,
        sync_status: wire("sync_status", &r.get::<_, String>(15)?, SyncStatus::parse)?,
        sync_error: r.get(16)?,
        external_ids: json(17, &r.get::<_, String>(17)?)?,
        version: r.get(18)?,
        created_at: ts(r.get(19)?),
        updated_at: ts(r.get(20)?),
        last_synced_at: r.get::<_, Option<i64>>(21)?.map(ts),
    })
}

/// Run a paged query: `sql` selects `seq` first, takes `?after` and `?limit` as its last two
/// parameters; `count_sql` takes the leading parameters.
pub(super) fn page<T>(
    conn: &Connection,
    sql: &str,
    count_sql: &str,
    leading: &[&dyn rusqlite::ToSql],
    slice: Slice,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Listed<T>> {
    // One read transaction, so the total and the rows come from the same snapshot.
    let snapshot = conn.unchecked_transaction().map_err(sql_error)?;
    let total: i64 = snapshot
        .prepare_cached(count_sql)
        .and_then(|mut s| s.query_row(leading, |r| r.get(0)))
        .map_err(sql_error)?;
    let after = slice.after.unwrap_or(0);
    let fetch = i64::from(slice.limit) + 1;
    let mut args: Vec<&dyn rusqlite::ToSql> = leading.to_vec();
    args.push(&after);
    args.push(&fetch);
    let mut stmt = snapshot.prepare_cached(sql).map_err(sql_error)?;
    let mut rows = stmt
        .query_map(args.as_slice(), |r| Ok((r.get::<_, i64>(0)?, map(r)?)))
        .map_err(sql_error)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql_error)?;
    let more = rows.len() > slice.limit as usize;
    rows.truncate(slice.limit as usize);
    Ok(Listed {
        last_seq: rows.last().map(|(s, _)| *s),
        items: rows.into_iter().map(|(_, t)| t).collect(),
        more,
        total: total as u64,
    })
}
