//! # tagsmith-google
//!
//! Syncs trackings to Google Tag Manager and Google Ads. The client, the stateful sandbox of
//! Google's APIs and the plan → apply sync arrive with their own issue (see
//! `docs/ARCHITECTURE.md`); this crate already builds so the workspace layout is final.

pub use tagsmith_core::{Tracking, TrackingKind};
