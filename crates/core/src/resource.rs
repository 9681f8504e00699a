//! What the per-tenant handles (`Customers`, `Trackings`) have in common, so a binding writes
//! each operation once for every resource instead of once per resource: a [`Resource`] is
//! driven by a [`Call`] built from loose host arguments (JSON options, string ids) and answers
//! an [`Output`] every runtime serializes the same way. Adding an aggregate with the same five
//! operations costs an impl here and one line per binding.

use crate::{
    Customer, CustomerId, CustomerPatch, DeleteOptions, ListOptions, ListTrackings, NewCustomer,
    NewTracking, Page, Request, Result, Tracking, TrackingId, TrackingPatch, from_json,
};

/// A tenant's collection of records with create, get, list, update and delete.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait Resource: Clone + crate::store::MaybeSend + 'static {
    /// The record type.
    type Record: serde::Serialize + Clone + Send + 'static;
    /// Its id.
    type Id: From<String> + Send + Sync;
    /// The create request.
    type New: Request + Send;
    /// The update request (carries the expected `version`).
    type Patch: Request + Send;
    /// The list request.
    type List: Request + Send + Sync;

    /// Create a record.
    async fn create(&self, new: Self::New) -> Result<Self::Record>;
    /// Fetch one record.
    async fn get(&self, id: &Self::Id) -> Result<Self::Record>;
    /// One page of records.
    async fn list(&self, options: &Self::List) -> Result<Page<Self::Record>>;
    /// Change a record.
    async fn update(&self, id: &Self::Id, patch: Self::Patch) -> Result<Self::Record>;
    /// Soft-delete a record.
    async fn delete(&self, id: &Self::Id, expected_version: Option<i64>) -> Result<Self::Record>;
}

/// One operation on a resource, with its arguments as the host gave them (options already in
/// core's snake_case JSON).
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `create(options)`.
    Create(serde_json::Value),
    /// `get(id)`.
    Get(String),
    /// `list(options)`; absent options are `{}`.
    List(serde_json::Value),
    /// `update(id, patch)`.
    Update(String, serde_json::Value),
    /// `delete(id, options)`; absent options are `{}`.
    Delete(String, serde_json::Value),
}

/// What a [`Call`] answers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Output<R> {
    /// One record.
    One(R),
    /// One page of records.
    Page(Page<R>),
}

impl Call {
    /// Run this call on `resource`: parse the options with core's request rules, then call.
    ///
    /// # Errors
    /// `invalid_input` for bad options, then whatever the operation returns.
    pub async fn run<R: Resource>(self, resource: &R) -> Result<Output<R::Record>> {
        Ok(match self {
            Call::Create(new) => Output::One(resource.create(from_json(new)?).await?),
            Call::Get(id) => Output::One(resource.get(&R::Id::from(id)).await?),
            Call::List(options) => Output::Page(resource.list(&from_json(options)?).await?),
            Call::Update(id, patch) => {
                Output::One(resource.update(&R::Id::from(id), from_json(patch)?).await?)
            }
            Call::Delete(id, options) => {
                let options: DeleteOptions = from_json(options)?;
                Output::One(resource.delete(&R::Id::from(id), options.version).await?)
            }
        })
    }
}

macro_rules! resource {
    ($handle:ty, $record:ty, $id:ty, $new:ty, $patch:ty, $list:ty) => {
        #[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
        #[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
        impl Resource for $handle {
            type Record = $record;
            type Id = $id;
            type New = $new;
            type Patch = $patch;
            type List = $list;

            async fn create(&self, new: $new) -> Result<$record> {
                <$handle>::create(self, new).await
            }
            async fn get(&self, id: &$id) -> Result<$record> {
                <$handle>::get(self, id).await
            }
            async fn list(&self, options: &$list) -> Result<Page<$record>> {
                <$handle>::list(self, options).await
            }
            async fn update(&self, id: &$id, patch: $patch) -> Result<$record> {
                <$handle>::update(self, id, patch).await
            }
            async fn delete(&self, id: &$id, expected_version: Option<i64>) -> Result<$record> {
                <$handle>::delete(self, id, expected_version).await
            }
        }
    };
}

resource!(
    crate::Customers,
    Customer,
    CustomerId,
    NewCustomer,
    CustomerPatch,
    ListOptions
);
resource!(
    crate::Trackings,
    Tracking,
    TrackingId,
    NewTracking,
    TrackingPatch,
    ListTrackings
);
