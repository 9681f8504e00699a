//! Tenants: the isolation boundary. Every other record belongs to exactly one.

use crate::{TenantId, Timestamp};

/// An agency or company using the host application.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tenant {
    /// Opaque id (`ten_…`).
    pub id: TenantId,
    /// Display name, byte-exact as given.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
}
