//! Customers on PostgreSQL.

use sqlx::{PgConnection, Row};

use super::errors::{db_error, violated_unique};
use super::rows::{at, customer_row, page, tracking_row};
use super::{PgStore, PgTx};
use crate::page::{Listed, Slice};
use crate::store::{CustomerStore, CustomerWrites, id_collision, stale};
use crate::{Customer, CustomerId, Error, Result, TenantId, Timestamp, Tracking};

/// A live customer of `tenant`, locked for this transaction's write.
pub(super) async fn lock_live_customer(
    c: &mut PgConnection,
    tenant: &TenantId,
    id: &CustomerId,
) -> Result<Customer> {
    let sql = concat!(
        "SELECT ",
        customer_cols!(),
        " FROM customers WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL FOR UPDATE"
    );
    let row = sqlx::query(sql)
        .bind(id.as_str())
        .bind(tenant.as_str())
        .fetch_optional(c)
        .await
        .map_err(db_error)?
        .ok_or_else(|| Error::not_found("customer", id.as_str()))?;
    customer_row(&row).map_err(db_error)
}

#[async_trait::async_trait]
impl CustomerStore for PgStore {
    async fn get_customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<Customer> {
        let sql = concat!(
            "SELECT ",
            customer_cols!(),
            " FROM customers WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL"
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
            .ok_or_else(|| Error::not_found("customer", id.as_str()))?;
        customer_row(&row).map_err(db_error)
    }

    async fn list_customers(&self, tenant: &TenantId, slice: Slice) -> Result<Listed<Customer>> {
        let rows = concat!(
            "SELECT ",
            customer_cols!(),
            " FROM customers WHERE tenant_id = $1 AND deleted_at IS NULL \
             AND seq > $after ORDER BY seq LIMIT $limit"
        );
        self.run(page(
            self.pool(),
            rows,
            "SELECT count(*) FROM customers WHERE tenant_id = $1 AND deleted_at IS NULL",
            &[tenant.as_str()],
            slice,
            customer_row,
        ))
        .await
    }
}

#[async_trait::async_trait]
impl CustomerWrites for PgTx {
    async fn insert_customer(&mut self, c: &Customer) -> Result<()> {
        let store = self.store.clone();
        let conn = self.conn()?;
        store
            .run(async {
                let tenant_exists = sqlx::query("SELECT 1 FROM tenants WHERE id = $1")
                    .bind(c.tenant_id.as_str())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_error)?
                    .is_some();
                if !tenant_exists {
                    return Err(Error::not_found("tenant", c.tenant_id.as_str()));
                }
                sqlx::query(
                    "INSERT INTO customers (id, tenant_id, name, website_url, google, version, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(c.id.as_str())
                .bind(c.tenant_id.as_str())
                .bind(&c.name)
                .bind(&c.website_url)
                .bind(c.google.as_str())
                .bind(c.version)
                .bind(at(c.created_at))
                .bind(at(c.updated_at))
                .execute(&mut *conn)
                .await
                .map_err(|e| match violated_unique(&e).as_deref() {
                    Some("customers_id") => id_collision(c.id.as_str()),
                    _ => db_error(e),
                })?;
                Ok(())
            })
            .await
    }

    async fn replace_customer(&mut self, c: &Customer, expected_version: i64) -> Result<()> {
        let store = self.store.clone();
        let conn = self.conn()?;
        store
            .run(async {
                let current = lock_live_customer(&mut *conn, &c.tenant_id, &c.id).await?;
                if current.version != expected_version {
                    return Err(stale(
                        "customer",
                        c.id.as_str(),
                        expected_version,
                        current.version,
                    ));
                }
                sqlx::query(
                    "UPDATE customers SET name = $3, website_url = $4, google = $5, \
                     version = $6, updated_at = $7 WHERE id = $1 AND tenant_id = $2",
                )
                .bind(c.id.as_str())
                .bind(c.tenant_id.as_str())
                .bind(&c.name)
                .bind(&c.website_url)
                .bind(c.google.as_str())
                .bind(c.version)
                .bind(at(c.updated_at))
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
                Ok(())
            })
            .await
    }

    async fn delete_customer(
        &mut self,
        tenant: &TenantId,
        id: &CustomerId,
        expected_version: Option<i64>,
        when: Timestamp,
    ) -> Result<(Customer, Vec<Tracking>)> {
        let store = self.store.clone();
        let conn = self.conn()?;
        store
            .run(async {
                let mut customer = lock_live_customer(&mut *conn, tenant, id).await?;
                if let Some(v) = expected_version.filter(|v| *v != customer.version) {
                    return Err(stale("customer", id.as_str(), v, customer.version));
                }
                customer.version += 1;
                customer.updated_at = when;
                sqlx::query(
                    "UPDATE customers SET deleted_at = $3, updated_at = $3, version = $4 \
                     WHERE id = $1 AND tenant_id = $2",
                )
                .bind(id.as_str())
                .bind(tenant.as_str())
                .bind(at(when))
                .bind(customer.version)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
                let sql = concat!(
                    "UPDATE trackings SET deleted_at = $3, updated_at = $3, version = version + 1, \
                     sync_status = 'deleted' WHERE tenant_id = $1 AND customer_id = $2 \
                     AND deleted_at IS NULL RETURNING ",
                    tracking_cols!()
                );
                let rows = sqlx::query(sql)
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .bind(at(when))
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_error)?;
                // In creation order, as the other backends answer.
                let mut gone = rows
                    .iter()
                    .map(|r| Ok((r.try_get::<i64, _>("seq")?, tracking_row(r)?)))
                    .collect::<sqlx::Result<Vec<_>>>()
                    .map_err(db_error)?;
                gone.sort_by_key(|(seq, _)| *seq);
                Ok((customer, gone.into_iter().map(|(_, t)| t).collect()))
            })
            .await
    }
}
