//! What a tag platform (Google Tag Manager, later others) implements so the engine can sync a
//! customer's trackings to it without core knowing the platform: plan, then apply.
//!
//! A platform reads its remote state once, diffs it with the desired trackings into a
//! [`SyncPlan`] (like `terraform plan`: nothing written), then applies a plan and reports one
//! [`SyncOutcome`] per tracking, which the engine records with
//! [`Trackings::set_sync_status`](crate::Trackings::set_sync_status). External ids go in the
//! tracking's `external_ids` under the platform's [`name`](TagPlatform::name).

use crate::store::MaybeSend;
use crate::{Customer, Result, SyncUpdate, Tracking, TrackingId};

/// What a step of a plan does to a remote resource.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanAction {
    /// Create a resource that is missing.
    Create,
    /// Change a resource that differs.
    Update,
    /// Remove a resource no live tracking wants.
    Delete,
    /// Already as desired.
    Keep,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlanStep {
    /// What it does.
    pub action: PlanAction,
    /// The platform's resource type (`trigger`, `tag`, `conversion_action`, …).
    pub resource: String,
    /// The resource's name on the platform.
    pub name: String,
    /// The tracking it serves, if one (shared resources such as a conversion linker have none).
    pub tracking_id: Option<TrackingId>,
    /// The platform's detail of the change (fields that differ), for display.
    pub detail: serde_json::Value,
}

/// Everything a sync of one customer would do on one platform.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SyncPlan {
    /// The platform's name (the key in `external_ids`).
    pub platform: String,
    /// Steps in the order they would be applied.
    pub steps: Vec<PlanStep>,
}

impl SyncPlan {
    /// Whether applying would write anything.
    pub fn is_empty(&self) -> bool {
        self.steps.iter().all(|s| s.action == PlanAction::Keep)
    }
}

/// What applying a plan did for one tracking.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncOutcome {
    /// The tracking.
    pub tracking_id: TrackingId,
    /// Its new sync state (status, error text, the platform's external ids, the version synced).
    pub update: SyncUpdate,
}

/// A tag platform a customer's trackings sync to.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait TagPlatform: MaybeSend {
    /// The platform's name, e.g. `gtm`: its key in every tracking's `external_ids`.
    fn name(&self) -> &'static str;

    /// Read the platform's state for `customer` and diff it with `trackings` (the customer's
    /// live trackings and those deleted since the last sync). Writes nothing.
    ///
    /// # Errors
    /// `unauthorized`/`forbidden` for a bad connection, `rate_limited` with a retry-after,
    /// `network` when the platform cannot be reached.
    async fn plan(&self, customer: &Customer, trackings: &[Tracking]) -> Result<SyncPlan>;

    /// Apply `plan`, returning an outcome for every tracking it touched (a tracking whose step
    /// failed gets `failed` with the platform's message; the others still apply).
    ///
    /// # Errors
    /// As [`plan`](Self::plan), for failures that stop the whole apply.
    async fn apply(&self, customer: &Customer, plan: &SyncPlan) -> Result<Vec<SyncOutcome>>;
}
