//! # tagsmith-crawler
//!
//! Crawls a customer's site, finds trackable elements and generates robust CSS selectors. The
//! fetcher, DOM trait, extractor and selector generator arrive with their own issue (see
//! `docs/ARCHITECTURE.md`); this crate already builds so the workspace layout is final.

pub use tagsmith_core::TrackingKind;
