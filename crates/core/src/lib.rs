//! # tagsmith-core
//!
//! The engine behind tagsmith: tenants, their customers (websites) and trackings, validated at
//! the edge, stored on a pluggable backend (memory or SQLite; PostgreSQL later), with per-tenant
//! change events. Every call is scoped to a tenant; another tenant's record is `not_found`.
//!
//! ```
//! # fn main() -> tagsmith_core::Result<()> { pollster::block_on(async {
//! use tagsmith_core::{Engine, NewCustomer, NewTracking, TrackingKind, ErrorKind};
//!
//! let engine = Engine::in_memory();
//! let acme = engine.create_tenant("Acme Agency").await?;
//! let shop = engine
//!     .customers(acme.id.clone())
//!     .create(NewCustomer { name: "Shop".into(), website_url: "https://shop.example".into() })
//!     .await?;
//! let new: NewTracking = tagsmith_core::from_json(serde_json::json!({
//!     "customer_id": shop.id, "name": "Buy button", "kind": "button_click",
//!     "selector": "button.buy", "ga4_event": "add_to_cart",
//! }))?;
//! let tracking = engine.trackings(acme.id.clone()).create(new).await?;
//! assert_eq!(tracking.kind, TrackingKind::ButtonClick);
//!
//! // Another tenant cannot see it.
//! let other = engine.create_tenant("Other").await?;
//! let err = engine.trackings(other.id).get(&tracking.id).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::NotFound);
//! # Ok(()) }) }
//! ```

#[macro_use]
mod wire;

pub mod casing;
mod css;
mod customer;
mod engine;
mod env;
mod error;
pub mod events;
pub mod ffi;
mod ga4;
mod id;
pub mod page;
pub mod queue;
pub mod redact;
mod request;
#[cfg(not(target_arch = "wasm32"))]
pub mod resilience;
pub mod resource;
pub mod store;
pub mod sync;
mod tenant;
mod timestamp;
mod tracking;
mod validate;

pub use css::CssSelector;
pub use customer::{Customer, CustomerPatch, GoogleConnection, NewCustomer};
#[cfg(all(feature = "postgres", not(target_arch = "wasm32")))]
pub use engine::is_postgres_url;
pub use engine::{Customers, Engine, EngineOptions, SyncJobs, Trackings};
pub use env::Env;
#[cfg(not(target_arch = "wasm32"))]
pub use env::SystemEnv;
pub use error::{Error, ErrorKind, FieldError, Result};
pub use events::{ChangeEvent, EventBatch, EventFilter, EventRetention, Received, Subscription};
pub use ga4::{Ga4EventName, Ga4ParamName};
pub use id::{CustomerId, TenantId, TrackingId};
pub use page::{ListOptions, ListTrackings, Page};
pub use request::{DeleteOptions, EventsOptions, Request, from_json};
pub use store::{Aggregate, Storage};
pub use tenant::Tenant;
pub use timestamp::Timestamp;
pub use tracking::{
    AdsCategory, AdsConversion, ExternalIds, NewTracking, SyncStatus, SyncUpdate, Tracking,
    TrackingKind, TrackingPatch, UrlMatch, UrlRule,
};
