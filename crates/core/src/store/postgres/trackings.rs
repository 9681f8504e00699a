//! Trackings on PostgreSQL: user fields under `version`, sync state beside them.

use sqlx::PgConnection;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::types::Json;

use super::errors::{db_error, violated_unique};
use super::rows::{at, page, tracking_row};
use super::{PgStore, PgTx};
use crate::page::{Listed, Slice};
use crate::store::{TrackingStore, TrackingWrites, duplicate_tracking, id_collision, stale};
use crate::{
    CustomerId, Error, Result, SyncStatus, SyncUpdate, TenantId, Timestamp, Tracking, TrackingId,
};

/// A live tracking of `tenant`, locked for this transaction's write.
async fn lock_live_tracking(
    c: &mut PgConnection,
    tenant: &TenantId,
    id: &TrackingId,
) -> Result<Tracking> {
    let sql = concat!(
        "SELECT ",
        tracking_cols!(),
        " FROM trackings WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL FOR UPDATE"
    );
    let row = sqlx::query(sql)
        .bind(id.as_str())
        .bind(tenant.as_str())
        .fetch_optional(c)
        .await
        .map_err(db_error)?
        .ok_or_else(|| Error::not_found("tracking", id.as_str()))?;
    tracking_row(&row).map_err(db_error)
}

/// Bind the user fields as `$1…$17` (id and tenant first).
fn bind_user_fields<'q>(
    q: Query<'q, sqlx::Postgres, PgArguments>,
    t: &'q Tracking,
) -> Query<'q, sqlx::Postgres, PgArguments> {
    q.bind(t.id.as_str())
        .bind(t.tenant_id.as_str())
        .bind(t.customer_id.as_str())
        .bind(t.name.as_str())
        .bind(t.kind.as_str())
        .bind(t.selector.as_deref())
        .bind(t.url_rule.as_ref().map(|u| u.r#match.as_str()))
        .bind(t.url_rule.as_ref().map(|u| u.value.as_str()))
        .bind(t.ga4_event.as_deref())
        .bind(Json(&t.ga4_params))
        .bind(t.ads.as_ref().map(|a| a.category.as_str()))
        .bind(t.ads.as_ref().and_then(|a| a.value))
        .bind(t.ads.as_ref().and_then(|a| a.currency.as_deref()))
        .bind(t.scroll_percent.map(i64::from))
        .bind(t.version)
        .bind(at(t.created_at))
        .bind(at(t.updated_at))
}

/// A failed write of a tracking's user fields, by the constraint it hit.
fn write_error(t: &Tracking, e: sqlx::Error) -> Error {
    match violated_unique(&e).as_deref() {
        Some("trackings_id") => id_collision(t.id.as_str()),
        Some("trackings_live_name") => duplicate_tracking(&t.name),
        _ => db_error(e),
    }
}

#[async_trait::async_trait]
impl TrackingStore for PgStore {
    async fn get_tracking(&self, tenant: &TenantId, id: &TrackingId) -> Result<Tracking> {
        let sql = concat!(
            "SELECT ",
            tracking_cols!(),
            " FROM trackings WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL"
        );
        let row = self
            .run(
                sqlx::query(sql)
                    .bind(id.as_str())
                    .bind(tenant.as_str())
                    .fetch_optional(self.pool()),
            )
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("tracking", id.as_str()))?;
        tracking_row(&row).map_err(db_error)
    }

    async fn list_trackings(
        &self,
        tenant: &TenantId,
        customer: Option<&CustomerId>,
        slice: Slice,
    ) -> Result<Listed<Tracking>> {
        match customer {
            None => {
                let rows = concat!(
                    "SELECT ",
                    tracking_cols!(),
                    " FROM trackings WHERE tenant_id = $1 \
                     AND deleted_at IS NULL AND seq > $after ORDER BY seq LIMIT $limit"
                );
                self.run(page(
                    self.pool(),
                    rows,
                    "SELECT count(*) FROM trackings WHERE tenant_id = $1 AND deleted_at IS NULL",
                    &[tenant.as_str()],
                    slice,
                    tracking_row,
                ))
                .await
            }
            Some(cus) => {
                let rows = concat!(
                    "SELECT ",
                    tracking_cols!(),
                    " FROM trackings WHERE tenant_id = $1 \
                     AND customer_id = $2 AND deleted_at IS NULL AND seq > $after \
                     ORDER BY seq LIMIT $limit"
                );
                self.run(page(
                    self.pool(),
                    rows,
                    "SELECT count(*) FROM trackings WHERE tenant_id = $1 AND customer_id = $2 \
                     AND deleted_at IS NULL",
                    &[tenant.as_str(), cus.as_str()],
                    slice,
                    tracking_row,
                ))
                .await
            }
        }
    }
}

#[async_trait::async_trait]
impl TrackingWrites for PgTx {
    async fn insert_tracking(&mut self, t: &Tracking) -> Result<()> {
        let store = self.store.clone();
        let conn = self.conn()?;
        store
            .run(async {
                // Locked against a concurrent delete of the customer until this commits.
                let customer_is_live = sqlx::query(
                    "SELECT 1 FROM customers WHERE id = $1 AND tenant_id = $2 \
                     AND deleted_at IS NULL FOR SHARE",
                )
                .bind(t.customer_id.as_str())
                .bind(t.tenant_id.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_error)?
                .is_some();
                if !customer_is_live {
                    return Err(Error::not_found("customer", t.customer_id.as_str()));
                }
                let q = sqlx::query(
                    "INSERT INTO trackings (id, tenant_id, customer_id, name, kind, selector, \
                     url_match, url_value, ga4_event, ga4_params, ads_category, ads_value, \
                     ads_currency, scroll_percent, version, created_at, updated_at, sync_status, \
                     sync_error, external_ids, last_synced_at) VALUES ($1, $2, $3, $4, $5, $6, \
                     $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
                );
                bind_user_fields(q, t)
                    .bind(t.sync_status.as_str())
                    .bind(t.sync_error.as_deref())
                    .bind(Json(&t.external_ids))
                    .bind(t.last_synced_at.map(at))
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| write_error(t, e))?;
                Ok(())
            })
            .await
    }

    async fn replace_tracking(
        &mut self,
        t: &Tracking,
        expected_version: i64,
    ) -> Result<SyncStatus> {
        let store = self.store.clone();
        let conn = self.conn()?;
        store
            .run(async {
                let current = lock_live_tracking(&mut *conn, &t.tenant_id, &t.id).await?;
                if current.version != expected_version {
                    return Err(stale(
                        "tracking",
                        t.id.as_str(),
                        expected_version,
                        current.version,
                    ));
                }
                let q = sqlx::query(
                    "UPDATE trackings SET customer_id = $3, name = $4, kind = $5, selector = $6, \
                     url_match = $7, url_value = $8, ga4_event = $9, ga4_params = $10, \
                     ads_category = $11, ads_value = $12, ads_currency = $13, \
                     scroll_percent = $14, version = $15, created_at = $16, updated_at = $17 \
                     WHERE id = $1 AND tenant_id = $2",
                );
                bind_user_fields(q, t)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| write_error(t, e))?;
                Ok(current.sync_status)
            })
            .await
    }

    async fn set_sync_state(
        &mut self,
        tenant: &TenantId,
        id: &TrackingId,
        update: &SyncUpdate,
        when: Timestamp,
    ) -> Result<Tracking> {
        let store = self.store.clone();
        let conn = self.conn()?;
        store
            .run(async {
                let mut t = lock_live_tracking(&mut *conn, tenant, id).await?;
                if let Some(v) = update.version.filter(|v| *v != t.version) {
                    return Err(stale("tracking", id.as_str(), v, t.version));
                }
                t.apply_sync(update, when);
                sqlx::query(
                    "UPDATE trackings SET sync_status = $3, sync_error = $4, external_ids = $5, \
                     last_synced_at = $6 WHERE id = $1 AND tenant_id = $2",
                )
                .bind(id.as_str())
                .bind(tenant.as_str())
                .bind(t.sync_status.as_str())
                .bind(t.sync_error.as_deref())
                .bind(Json(&t.external_ids))
                .bind(t.last_synced_at.map(at))
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
                Ok(t)
            })
            .await
    }

    async fn delete_tracking(
        &mut self,
        tenant: &TenantId,
        id: &TrackingId,
        expected_version: Option<i64>,
        when: Timestamp,
    ) -> Result<Tracking> {
        let store = self.store.clone();
        let conn = self.conn()?;
        store
            .run(async {
                let current = lock_live_tracking(&mut *conn, tenant, id).await?;
                if let Some(v) = expected_version.filter(|v| *v != current.version) {
                    return Err(stale("tracking", id.as_str(), v, current.version));
                }
                let sql = concat!(
                    "UPDATE trackings SET deleted_at = $3, updated_at = $3, version = version + 1, \
                     sync_status = 'deleted' WHERE id = $1 AND tenant_id = $2 RETURNING ",
                    tracking_cols!()
                );
                let row = sqlx::query(sql)
                    .bind(id.as_str())
                    .bind(tenant.as_str())
                    .bind(at(when))
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_error)?;
                tracking_row(&row).map_err(db_error)
            })
            .await
    }
}
