//! Trackings on SQLite: user fields under `version`, sync state beside them.

use rusqlite::{Connection, OptionalExtension, params};

use super::errors::{sql_error, violated_unique};
use super::rows::{TRACKING_COLS, page, tracking_row};
use super::{SqliteStore, SqliteTx};
use crate::page::{Listed, Slice};
use crate::store::{TrackingStore, TrackingWrites, duplicate_tracking, id_collision, stale};
use crate::{
    CustomerId, Error, Result, SyncStatus, SyncUpdate, TenantId, Timestamp, Tracking, TrackingId,
};

fn live_tracking(c: &Connection, tenant: &TenantId, id: &TrackingId) -> Result<Tracking> {
    c.prepare_cached(&format!(
        "SELECT {TRACKING_COLS} FROM trackings WHERE id = ?1 AND tenant_id = ?2 AND deleted_at IS NULL"
    ))
    .and_then(|mut s| s.query_row([id.as_str(), tenant.as_str()], tracking_row).optional())
    .map_err(sql_error)?
    .ok_or_else(|| Error::not_found("tracking", id.as_str()))
}

fn encode<T: serde::Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("encoding {what}: {e}")))
}

/// The user fields in the order of `?1…?17` below (id and tenant first).
fn user_params(t: &Tracking) -> Result<[Box<dyn rusqlite::ToSql + '_>; 17]> {
    Ok([
        Box::new(t.id.as_str()),
        Box::new(t.tenant_id.as_str()),
        Box::new(t.customer_id.as_str()),
        Box::new(t.name.as_str()),
        Box::new(t.kind.as_str()),
        Box::new(t.selector.as_deref()),
        Box::new(t.url_rule.as_ref().map(|u| u.r#match.as_str())),
        Box::new(t.url_rule.as_ref().map(|u| u.value.as_str())),
        Box::new(t.ga4_event.as_deref()),
        Box::new(encode(&t.ga4_params, "ga4_params")?),
        Box::new(t.ads.as_ref().map(|a| a.category.as_str())),
        Box::new(t.ads.as_ref().and_then(|a| a.value)),
        Box::new(t.ads.as_ref().and_then(|a| a.currency.as_deref())),
        Box::new(t.scroll_percent),
        Box::new(t.version),
        Box::new(t.created_at.as_micros()),
        Box::new(t.updated_at.as_micros()),
    ])
}

fn write_user_fields(
    tx: &Connection,
    sql: &str,
    t: &Tracking,
    extra: &[&dyn rusqlite::ToSql],
) -> Result<()> {
    let values = user_params(t)?;
    let mut refs: Vec<&dyn rusqlite::ToSql> = values.iter().map(|b| b.as_ref()).collect();
    refs.extend_from_slice(extra);
    match tx
        .prepare_cached(sql)
        .and_then(|mut s| s.execute(refs.as_slice()))
    {
        Ok(_) => Ok(()),
        Err(e) => Err(match violated_unique(&e) {
            Some("trackings_id") => id_collision(t.id.as_str()),
            Some("trackings_live_name") => duplicate_tracking(&t.name),
            _ => sql_error(e),
        }),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl TrackingStore for SqliteStore {
    async fn get_tracking(&self, tenant: &TenantId, id: &TrackingId) -> Result<Tracking> {
        self.read(|c| live_tracking(c, tenant, id)).await
    }

    async fn list_trackings(
        &self,
        tenant: &TenantId,
        customer: Option<&CustomerId>,
        slice: Slice,
    ) -> Result<Listed<Tracking>> {
        self.read(|c| match customer {
            None => page(
                c,
                &format!(
                    "SELECT {TRACKING_COLS} FROM trackings WHERE tenant_id = ?1 AND deleted_at IS NULL \
                     AND seq > ?2 ORDER BY seq LIMIT ?3"
                ),
                "SELECT count(*) FROM trackings WHERE tenant_id = ?1 AND deleted_at IS NULL",
                &[&tenant.as_str()],
                slice,
                tracking_row,
            ),
            Some(cus) => page(
                c,
                &format!(
                    "SELECT {TRACKING_COLS} FROM trackings WHERE tenant_id = ?1 AND customer_id = ?2 \
                     AND deleted_at IS NULL AND seq > ?3 ORDER BY seq LIMIT ?4"
                ),
                "SELECT count(*) FROM trackings WHERE tenant_id = ?1 AND customer_id = ?2 AND deleted_at IS NULL",
                &[&tenant.as_str(), &cus.as_str()],
                slice,
                tracking_row,
            ),
        })
        .await
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl TrackingWrites for SqliteTx<'_> {
    async fn insert_tracking(&mut self, t: &Tracking) -> Result<()> {
        let tx = self.conn()?;
        let customer_is_live = tx
            .prepare_cached(
                "SELECT 1 FROM customers WHERE id = ?1 AND tenant_id = ?2 AND deleted_at IS NULL",
            )
            .and_then(|mut s| s.exists([t.customer_id.as_str(), t.tenant_id.as_str()]))
            .map_err(sql_error)?;
        if !customer_is_live {
            return Err(Error::not_found("customer", t.customer_id.as_str()));
        }
        let external_ids = encode(&t.external_ids, "external_ids")?;
        let last_synced = t.last_synced_at.map(Timestamp::as_micros);
        write_user_fields(
            tx,
            "INSERT INTO trackings (id, tenant_id, customer_id, name, kind, selector, url_match, url_value, \
             ga4_event, ga4_params, ads_category, ads_value, ads_currency, scroll_percent, version, \
             created_at, updated_at, sync_status, sync_error, external_ids, last_synced_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
            t,
            &[
                &t.sync_status.as_str(),
                &t.sync_error,
                &external_ids,
                &last_synced,
            ],
        )
    }

    async fn replace_tracking(
        &mut self,
        t: &Tracking,
        expected_version: i64,
    ) -> Result<SyncStatus> {
        let tx = self.conn()?;
        let current = live_tracking(tx, &t.tenant_id, &t.id)?;
        if current.version != expected_version {
            return Err(stale(
                "tracking",
                t.id.as_str(),
                expected_version,
                current.version,
            ));
        }
        write_user_fields(
            tx,
            "UPDATE trackings SET customer_id = ?3, name = ?4, kind = ?5, selector = ?6, url_match = ?7, \
             url_value = ?8, ga4_event = ?9, ga4_params = ?10, ads_category = ?11, ads_value = ?12, \
             ads_currency = ?13, scroll_percent = ?14, version = ?15, created_at = ?16, updated_at = ?17 \
             WHERE id = ?1 AND tenant_id = ?2",
            t,
            &[],
        )?;
        Ok(current.sync_status)
    }

    async fn set_sync_state(
        &mut self,
        tenant: &TenantId,
        id: &TrackingId,
        update: &SyncUpdate,
        at: Timestamp,
    ) -> Result<Tracking> {
        let tx = self.conn()?;
        let mut t = live_tracking(tx, tenant, id)?;
        if let Some(v) = update.version.filter(|v| *v != t.version) {
            return Err(stale("tracking", id.as_str(), v, t.version));
        }
        t.apply_sync(update, at);
        let external_ids = encode(&t.external_ids, "external_ids")?;
        tx.prepare_cached(
            "UPDATE trackings SET sync_status = ?3, sync_error = ?4, external_ids = ?5, last_synced_at = ?6 \
             WHERE id = ?1 AND tenant_id = ?2",
        )
        .and_then(|mut s| {
            s.execute(params![
                id.as_str(),
                tenant.as_str(),
                t.sync_status.as_str(),
                t.sync_error,
                external_ids,
                t.last_synced_at.map(Timestamp::as_micros),
            ])
        })
        .map_err(sql_error)?;
        Ok(t)
    }

    async fn delete_tracking(
        &mut self,
        tenant: &TenantId,
        id: &TrackingId,
        expected_version: Option<i64>,
        at: Timestamp,
    ) -> Result<Tracking> {
        let tx = self.conn()?;
        let current = live_tracking(tx, tenant, id)?;
        if let Some(v) = expected_version.filter(|v| *v != current.version) {
            return Err(stale("tracking", id.as_str(), v, current.version));
        }
        tx.prepare_cached(&format!(
            "UPDATE trackings SET deleted_at = ?3, updated_at = ?3, version = version + 1, \
             sync_status = 'deleted' WHERE id = ?1 AND tenant_id = ?2 RETURNING {TRACKING_COLS}"
        ))
        .and_then(|mut s| {
            s.query_row(
                params![id.as_str(), tenant.as_str(), at.as_micros()],
                tracking_row,
            )
        })
        .map_err(sql_error)
    }
}
