//! Customers: the websites a tenant tracks.

use crate::validate::{self, Problems};
use crate::{CustomerId, TenantId, Timestamp};

/// A website or business a tenant tracks.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Customer {
    /// Opaque id (`cus_…`).
    pub id: CustomerId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Display name, byte-exact as given.
    pub name: String,
    /// Absolute http(s) URL of the site.
    pub website_url: String,
    /// State of the Google (GTM/Ads) connection.
    pub google: GoogleConnection,
    /// Optimistic-concurrency version: starts at 1, +1 on every change.
    pub version: i64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Whether the customer's Google accounts are connected (filled in by the Google issue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoogleConnection {
    /// No Google account linked yet.
    #[default]
    NotConnected,
    /// Linked and usable.
    Connected,
    /// Linked, but the last call failed (for example a revoked grant).
    Error,
}

impl GoogleConnection {
    /// The wire string (`not_connected`, `connected`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotConnected => "not_connected",
            Self::Connected => "connected",
            Self::Error => "error",
        }
    }

    /// Parse the wire string.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::NotConnected, Self::Connected, Self::Error]
            .into_iter()
            .find(|g| g.as_str() == text)
    }
}

/// Fields to create a customer (Python kwargs / JS options map 1:1).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// Display name, 1–200 characters.
    pub name: String,
    /// Absolute http(s) URL.
    pub website_url: String,
}

impl NewCustomer {
    pub(crate) fn validate(&self) -> crate::Result<()> {
        let mut p = Problems::default();
        validate::name(&mut p, "name", &self.name);
        validate::http_url(&mut p, "website_url", &self.website_url);
        p.into_result()
    }
}

/// Changes to a customer; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    /// The version the caller read; a stale one is `conflict`.
    pub version: i64,
    /// New name.
    #[serde(default, with = "crate::request::present")]
    pub name: Option<String>,
    /// New website URL.
    #[serde(default, with = "crate::request::present")]
    pub website_url: Option<String>,
}

impl CustomerPatch {
    pub(crate) fn apply(&self, c: &mut Customer) -> crate::Result<()> {
        if let Some(name) = &self.name {
            c.name.clone_from(name);
        }
        if let Some(url) = &self.website_url {
            c.website_url.clone_from(url);
        }
        let mut p = Problems::default();
        validate::name(&mut p, "name", &c.name);
        validate::http_url(&mut p, "website_url", &c.website_url);
        p.into_result()
    }
}
