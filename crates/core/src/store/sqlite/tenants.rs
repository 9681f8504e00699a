//! Tenants on SQLite.

use rusqlite::{OptionalExtension, params};

use super::errors::{sql_error, violated_unique};
use super::rows::{TENANT_COLS, page, tenant_row};
use super::{SqliteStore, SqliteTx};
use crate::page::{Listed, Slice};
use crate::store::{TenantStore, TenantWrites, id_collision};
use crate::{Error, Result, Tenant, TenantId};

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl TenantStore for SqliteStore {
    async fn get_tenant(&self, id: &TenantId) -> Result<Tenant> {
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {TENANT_COLS} FROM tenants WHERE id = ?1"))
                .and_then(|mut s| s.query_row([id.as_str()], tenant_row).optional())
                .map_err(sql_error)?
                .ok_or_else(|| Error::not_found("tenant", id.as_str()))
        })
        .await
    }

    async fn list_tenants(&self, slice: Slice) -> Result<Listed<Tenant>> {
        self.read(|c| {
            page(
                c,
                &format!("SELECT {TENANT_COLS} FROM tenants WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
                "SELECT count(*) FROM tenants",
                &[],
                slice,
                tenant_row,
            )
        })
        .await
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl TenantWrites for SqliteTx<'_> {
    async fn insert_tenant(&mut self, t: &Tenant) -> Result<()> {
        self.conn()?
            .prepare_cached("INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![t.id.as_str(), t.name, t.created_at.as_micros()]))
            .map_err(|e| match violated_unique(&e) {
                Some("tenants_id") => id_collision(t.id.as_str()),
                _ => sql_error(e),
            })?;
        Ok(())
    }
}
