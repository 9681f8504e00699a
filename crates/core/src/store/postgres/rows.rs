//! Rows to records, times to `timestamptz`, and the paged query every list uses.

use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;

use super::errors::db_error;
use crate::page::{Listed, Slice};
use crate::{
    AdsCategory, AdsConversion, Customer, CustomerId, GoogleConnection, Result, SyncStatus, Tenant,
    TenantId, Timestamp, Tracking, TrackingId, TrackingKind, UrlMatch, UrlRule,
};

/// A time as PostgreSQL stores it (microseconds, as tagsmith keeps them).
pub(super) fn at(t: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.as_micros()) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A stored time.
pub(super) fn ts(t: OffsetDateTime) -> Timestamp {
    Timestamp::from_micros(i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX))
}

/// A time column.
pub(super) fn time_col(r: &PgRow, col: &str) -> sqlx::Result<Timestamp> {
    r.try_get::<OffsetDateTime, _>(col).map(ts)
}

/// An optional time column.
pub(super) fn opt_time_col(r: &PgRow, col: &str) -> sqlx::Result<Option<Timestamp>> {
    Ok(r.try_get::<Option<OffsetDateTime>, _>(col)?.map(ts))
}

/// A text column holding a wire enum: an unknown value means a newer writer, so say so.
pub(super) fn wire<T>(r: &PgRow, col: &str, parse: fn(&str) -> Option<T>) -> sqlx::Result<T> {
    let text: String = r.try_get(col)?;
    parse(&text).ok_or_else(|| unknown(col, &text))
}

/// An optional text column holding a wire enum.
pub(super) fn opt_wire<T>(
    r: &PgRow,
    col: &str,
    parse: fn(&str) -> Option<T>,
) -> sqlx::Result<Option<T>> {
    match r.try_get::<Option<String>, _>(col)? {
        Some(text) => parse(&text).map(Some).ok_or_else(|| unknown(col, &text)),
        None => Ok(None),
    }
}

fn unknown(col: &str, text: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: format!("unknown {col} {text:?} in the database").into(),
    }
}

/// A JSON column decoded to `T`.
pub(super) fn json<T: serde::de::DeserializeOwned>(r: &PgRow, col: &str) -> sqlx::Result<T> {
    r.try_get::<sqlx::types::Json<T>, _>(col).map(|j| j.0)
}

pub(super) fn tenant_row(r: &PgRow) -> sqlx::Result<Tenant> {
    Ok(Tenant {
        id: TenantId::new(r.try_get::<String, _>("id")?),
        name: r.try_get("name")?,
        created_at: time_col(r, "created_at")?,
    })
}

pub(super) fn customer_row(r: &PgRow) -> sqlx::Result<Customer> {
    Ok(Customer {
        id: CustomerId::new(r.try_get::<String, _>("id")?),
        tenant_id: TenantId::new(r.try_get::<String, _>("tenant_id")?),
        name: r.try_get("name")?,
        website_url: r.try_get("website_url")?,
        google: wire(r, "google", GoogleConnection::parse)?,
        version: r.try_get("version")?,
        created_at: time_col(r, "created_at")?,
        updated_at: time_col(r, "updated_at")?,
    })
}

pub(super) fn tracking_row(r: &PgRow) -> sqlx::Result<Tracking> {
    let url_rule = match (
        opt_wire(r, "url_match", UrlMatch::parse)?,
        r.try_get::<Option<String>, _>("url_value")?,
    ) {
        (Some(r#match), Some(value)) => Some(UrlRule { r#match, value }),
        _ => None,
    };
    let ads = match opt_wire(r, "ads_category", AdsCategory::parse)? {
        Some(category) => Some(AdsConversion {
            category,
            value: r.try_get("ads_value")?,
            currency: r.try_get("ads_currency")?,
        }),
        None => None,
    };
    Ok(Tracking {
        id: TrackingId::new(r.try_get::<String, _>("id")?),
        tenant_id: TenantId::new(r.try_get::<String, _>("tenant_id")?),
        customer_id: CustomerId::new(r.try_get::<String, _>("customer_id")?),
        name: r.try_get("name")?,
        kind: wire(r, "kind", TrackingKind::parse)?,
        selector: r.try_get("selector")?,
        url_rule,
        ga4_event: r.try_get("ga4_event")?,
        ga4_params: json(r, "ga4_params")?,
        ads,
        scroll_percent: r
            .try_get::<Option<i64>, _>("scroll_percent")?
            .map(|p| u32::try_from(p).unwrap_or(u32::MAX)),
        sync_status: wire(r, "sync_status", SyncStatus::parse)?,
        sync_error: r.try_get("sync_error")?,
        external_ids: json(r, "external_ids")?,
        version: r.try_get("version")?,
        created_at: time_col(r, "created_at")?,
        updated_at: time_col(r, "updated_at")?,
        last_synced_at: opt_time_col(r, "last_synced_at")?,
    })
}

/// Run a paged query in one statement: `rows` selects the page (`seq` among its columns) with
/// `after` and `limit` as its two parameters after the `leading` ones; `count` counts the whole
/// query from the same leading parameters. The count rides along as a scalar subquery, so total
/// and rows come from one snapshot; an empty page asks for the count alone.
pub(super) async fn page<'e, T>(
    conn: impl PgExecutor<'e> + Copy,
    rows: &str,
    count: &'static str,
    leading: &[&str],
    slice: Slice,
    map: fn(&PgRow) -> sqlx::Result<T>,
) -> Result<Listed<T>> {
    let after = slice.after.unwrap_or(0);
    let fetch = i64::from(slice.limit) + 1;
    let n = leading.len();
    let sql = format!(
        "SELECT ({count}) AS total, page.* FROM ({rows}) AS page ORDER BY page.seq",
        rows = rows
            .replace("$after", &format!("${}", n + 1))
            .replace("$limit", &format!("${}", n + 2))
    );
    // Built only from the stores' static statements.
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for v in leading {
        q = q.bind(*v);
    }
    let found: Vec<PgRow> = q
        .bind(after)
        .bind(fetch)
        .fetch_all(conn)
        .await
        .map_err(db_error)?;
    let total: i64 = match found.first() {
        Some(r) => r.try_get("total").map_err(db_error)?,
        None => {
            let mut q = sqlx::query_scalar::<_, i64>(count);
            for v in leading {
                q = q.bind(*v);
            }
            q.fetch_one(conn).await.map_err(db_error)?
        }
    };
    let mut items = Vec::with_capacity(found.len());
    for r in &found {
        items.push((
            r.try_get::<i64, _>("seq").map_err(db_error)?,
            map(r).map_err(db_error)?,
        ));
    }
    let more = items.len() > slice.limit as usize;
    items.truncate(slice.limit as usize);
    Ok(Listed {
        last_seq: items.last().map(|(s, _)| *s),
        items: items.into_iter().map(|(_, t)| t).collect(),
        more,
        total: u64::try_from(total).unwrap_or(0),
    })
}
