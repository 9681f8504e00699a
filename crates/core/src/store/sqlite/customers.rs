//! Customers on SQLite.

use rusqlite::{Connection, OptionalExtension, params};

use super::errors::{sql_error, violated_unique};
use super::rows::{CUSTOMER_COLS, TRACKING_COLS, customer_row, page, tracking_row};
use super::{SqliteStore, SqliteTx};
use crate::page::{Listed, Slice};
use crate::store::{CustomerStore, CustomerWrites, id_collision, stale};
use crate::{Customer, CustomerId, Error, Result, TenantId, Timestamp, Tracking};

pub(super) fn live_customer(
    c: &Connection,
    tenant: &TenantId,
    id: &CustomerId,
) -> Result<Customer> {
    c.prepare_cached(&format!(
        "SELECT {CUSTOMER_COLS} FROM customers WHERE id = ?1 AND tenant_id = ?2 AND deleted_at IS NULL"
    ))
    .and_then(|mut s| s.query_row([id.as_str(), tenant.as_str()], customer_row).optional())
    .map_err(sql_error)?
    .ok_or_else(|| Error::not_found("customer", id.as_str()))
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl CustomerStore for SqliteStore {
    async fn get_customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<Customer> {
        self.read(|c| live_customer(c, tenant, id)).await
    }

    async fn list_customers(&self, tenant: &TenantId, slice: Slice) -> Result<Listed<Customer>> {
        self.read(|c| {
            page(
                c,
                &format!(
                    "SELECT {CUSTOMER_COLS} FROM customers WHERE tenant_id = ?1 AND deleted_at IS NULL \
                     AND seq > ?2 ORDER BY seq LIMIT ?3"
                ),
                "SELECT count(*) FROM customers WHERE tenant_id = ?1 AND deleted_at IS NULL",
                &[&tenant.as_str()],
                slice,
                customer_row,
            )
        })
        .await
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl CustomerWrites for SqliteTx<'_> {
    async fn insert_customer(&mut self, c: &Customer) -> Result<()> {
        let tx = self.conn()?;
        let tenant_exists = tx
            .prepare_cached("SELECT 1 FROM tenants WHERE id = ?1")
            .and_then(|mut s| s.exists([c.tenant_id.as_str()]))
            .map_err(sql_error)?;
        if !tenant_exists {
            return Err(Error::not_found("tenant", c.tenant_id.as_str()));
        }
        tx.prepare_cached(
            "INSERT INTO customers (id, tenant_id, name, website_url, google, version, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .and_then(|mut s| {
            s.execute(params![
                c.id.as_str(),
                c.tenant_id.as_str(),
                c.name,
                c.website_url,
                c.google.as_str(),
                c.version,
                c.created_at.as_micros(),
                c.updated_at.as_micros()
            ])
        })
        .map_err(|e| match violated_unique(&e) {
            Some("customers_id") => id_collision(c.id.as_str()),
            _ => sql_error(e),
        })?;
        Ok(())
    }

    async fn replace_customer(&mut self, c: &Customer, expected_version: i64) -> Result<()> {
        let tx = self.conn()?;
        let current = live_customer(tx, &c.tenant_id, &c.id)?;
        if current.version != expected_version {
            return Err(stale(
                "customer",
                c.id.as_str(),
                expected_version,
                current.version,
            ));
        }
        tx.prepare_cached(
            "UPDATE customers SET name = ?3, website_url = ?4, google = ?5, version = ?6, updated_at = ?7 \
             WHERE id = ?1 AND tenant_id = ?2",
        )
        .and_then(|mut s| {
            s.execute(params![
                c.id.as_str(),
                c.tenant_id.as_str(),
                c.name,
                c.website_url,
                c.google.as_str(),
                c.version,
                c.updated_at.as_micros()
            ])
        })
        .map_err(sql_error)?;
        Ok(())
    }

    async fn delete_customer(
        &mut self,
        tenant: &TenantId,
        id: &CustomerId,
        expected_version: Option<i64>,
        at: Timestamp,
    ) -> Result<(Customer, Vec<Tracking>)> {
        let tx = self.conn()?;
        let mut customer = live_customer(tx, tenant, id)?;
        if let Some(v) = expected_version.filter(|v| *v != customer.version) {
            return Err(stale("customer", id.as_str(), v, customer.version));
        }
        customer.version += 1;
        customer.updated_at = at;
        tx.prepare_cached(
            "UPDATE customers SET deleted_at = ?3, updated_at = ?3, version = ?4 WHERE id = ?1 AND tenant_id = ?2",
        )
        .and_then(|mut s| s.execute(params![id.as_str(), tenant.as_str(), at.as_micros(), customer.version]))
        .map_err(sql_error)?;
        let gone = tx
            .prepare_cached(&format!(
                "UPDATE trackings SET deleted_at = ?3, updated_at = ?3, version = version + 1, \
                 sync_status = 'deleted' WHERE tenant_id = ?1 AND customer_id = ?2 AND deleted_at IS NULL \
                 RETURNING {TRACKING_COLS}"
            ))
            .and_then(|mut s| {
                s.query_map(params![tenant.as_str(), id.as_str(), at.as_micros()], tracking_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(sql_error)?;
        Ok((customer, gone))
    }
}
