//! Tenants on PostgreSQL.

use super::errors::{db_error, violated_unique};
use super::rows::{at, page, tenant_row};
use super::{PgStore, PgTx};
use crate::page::{Listed, Slice};
use crate::store::{TenantStore, TenantWrites, id_collision};
use crate::{Error, Result, Tenant, TenantId};

#[async_trait::async_trait]
impl TenantStore for PgStore {
    async fn get_tenant(&self, id: &TenantId) -> Result<Tenant> {
        let pool = self.pool();
        let sql = concat!("SELECT ", tenant_cols!(), " FROM tenants WHERE id = $1");
        let row = self
            .run(sqlx::query(sql).bind(id.as_str()).fetch_optional(pool))
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("tenant", id.as_str()))?;
        tenant_row(&row).map_err(db_error)
    }

    async fn list_tenants(&self, slice: Slice) -> Result<Listed<Tenant>> {
        let rows = concat!(
            "SELECT ",
            tenant_cols!(),
            " FROM tenants WHERE seq > $after ORDER BY seq LIMIT $limit"
        );
        self.run(page(
            self.pool(),
            rows,
            "SELECT count(*) FROM tenants",
            &[],
            slice,
            tenant_row,
        ))
        .await
    }
}

#[async_trait::async_trait]
impl TenantWrites for PgTx {
    async fn insert_tenant(&mut self, t: &Tenant) -> Result<()> {
        let store = self.store.clone();
        let conn = self.conn()?;
        store
            .run(
                sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(t.id.as_str())
                    .bind(&t.name)
                    .bind(at(t.created_at))
                    .execute(conn),
            )
            .await
            .map_err(|e| match violated_unique(&e).as_deref() {
                Some("tenants_id") => id_collision(t.id.as_str()),
                _ => db_error(e),
            })?;
        Ok(())
    }
}
