//! Trackings: "when THIS happens on THAT site, record conversion X".

use std::collections::BTreeMap;

use crate::request::double_option;
use crate::validate::{self, Problems};
use crate::{CustomerId, TenantId, Timestamp, TrackingId};

wire_enum!(
    /// What user action or page state fires the tracking.
    TrackingKind {
        /// A click on an element matching `selector`.
        ButtonClick => "button_click",
        /// A click on a link matching `selector`.
        LinkClick => "link_click",
        /// Submission of a form matching `selector`.
        FormSubmit => "form_submit",
        /// A page view whose URL matches `url_rule`.
        PageView => "page_view",
        /// An element matching `selector` becoming visible.
        ElementVisibility => "element_visibility",
        /// Scrolling past `scroll_percent` of the page.
        ScrollDepth => "scroll_depth",
        /// A dataLayer event named `ga4_event`.
        CustomEvent => "custom_event",
    }
);

wire_enum!(
    /// How `url_rule.value` is compared with the page URL.
    UrlMatch {
        /// The whole URL equals the value.
        Equals => "equals",
        /// The URL contains the value.
        Contains => "contains",
        /// The URL starts with the value.
        StartsWith => "starts_with",
        /// The URL matches the value as a regular expression.
        Regex => "regex",
    }
);

wire_enum!(
    /// Google Ads conversion action category.
    AdsCategory {
        /// A completed purchase.
        Purchase => "purchase",
        /// A submitted lead form.
        SubmitLeadForm => "submit_lead_form",
        /// A sign-up.
        Signup => "signup",
        /// A contact (call, email, chat).
        Contact => "contact",
        /// A key page view.
        PageView => "page_view",
        /// An add-to-cart.
        AddToCart => "add_to_cart",
        /// A checkout start.
        BeginCheckout => "begin_checkout",
        /// A paid subscription.
        SubscribePaid => "subscribe_paid",
        /// A phone-call lead.
        PhoneCallLead => "phone_call_lead",
        /// A booked appointment.
        BookAppointment => "book_appointment",
        /// A quote request.
        RequestQuote => "request_quote",
        /// A directions request.
        GetDirections => "get_directions",
        /// A click to another site.
        OutboundClick => "outbound_click",
        /// A download.
        Download => "download",
        /// Engagement.
        Engagement => "engagement",
        /// Anything else.
        Default => "default",
    }
);

wire_enum!(
    /// Where the tracking stands with Google Tag Manager / Google Ads.
    SyncStatus {
        /// Not yet synced, or changed since the last sync.
        Pending => "pending",
        /// A sync job is working on it.
        Syncing => "syncing",
        /// Live in the published GTM container.
        Synced => "synced",
        /// The last sync failed; see `sync_error`.
        Failed => "failed",
        /// Deleted here; removal from GTM follows.
        Deleted => "deleted",
    }
);

/// Ids a tag platform assigned, by platform (`gtm`, `google_ads`, …) then key.
pub type ExternalIds = BTreeMap<String, BTreeMap<String, String>>;

/// A sync outcome for one tracking, written beside the record without moving its `version`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncUpdate {
    /// The new status (`deleted` is set by deleting the tracking, never by a sync).
    pub status: SyncStatus,
    /// The text to keep as `sync_error` (`null` clears it); absent keeps the stored text.
    #[serde(default, with = "double_option")]
    pub error: Option<Option<String>>,
    /// Ids to record, per platform; a platform given an empty map is removed, platforms not
    /// named are kept.
    #[serde(default)]
    pub external_ids: ExternalIds,
    /// The tracking version this outcome was computed from: if the user changed the tracking
    /// since, the update is refused with `conflict` (the user's edit wins; sync again).
    #[serde(default)]
    pub version: Option<i64>,
}

impl SyncUpdate {
    /// An update to `status`, keeping the stored error text and external ids.
    pub fn status(status: SyncStatus) -> Self {
        Self {
            status,
            error: None,
            external_ids: ExternalIds::new(),
            version: None,
        }
    }

    pub(crate) fn validate(&self) -> crate::Result<()> {
        let mut p = Problems::default();
        if self.status == SyncStatus::Deleted {
            p.add(
                "status",
                self.status.as_str(),
                "is set by deleting the tracking, not by a sync outcome",
            );
        }
        if let Some(Some(e)) = &self.error
            && e.chars().count() > 2000
        {
            p.add("error", e, "must be at most 2000 characters");
        }
        for (platform, ids) in &self.external_ids {
            validate::key(&mut p, "external_ids", platform);
            for (key, value) in ids {
                let field = format!("external_ids.{platform}");
                validate::key(&mut p, &field, key);
                if value.is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
                    p.add(
                        &format!("{field}.{key}"),
                        value,
                        "must be 1 to 256 bytes without control characters",
                    );
                }
            }
        }
        p.into_result()
    }
}

/// Which page URLs a tracking applies to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlRule {
    /// How to compare.
    #[serde(rename = "match")]
    pub r#match: UrlMatch,
    /// What to compare with.
    pub value: String,
}

impl UrlRule {
    /// A rule whose value is checked (not empty, at most 2048 bytes, a regex that compiles).
    ///
    /// # Errors
    /// `invalid_input` naming `url_rule.value`.
    pub fn new(r#match: UrlMatch, value: impl Into<String>) -> crate::Result<Self> {
        let rule = Self {
            r#match,
            value: value.into(),
        };
        let mut p = Problems::default();
        rule.check(&mut p, "url_rule.value");
        p.into_result()?;
        Ok(rule)
    }

    pub(crate) fn check(&self, p: &mut Problems, field: &str) {
        if self.value.is_empty() {
            p.add(field, &self.value, "must not be empty");
        } else if self.value.len() > validate::MAX_URL_BYTES {
            p.add(field, &self.value, "must be at most 2048 bytes");
        } else if self.r#match == UrlMatch::Regex {
            validate::regex(p, field, &self.value);
        }
    }

    /// Whether `url` satisfies the rule, as the tracker and GTM's trigger conditions read it
    /// (`equals`, `contains`, `starts_with` compare text; `regex` searches, as GTM's
    /// "matches RegEx" does). A regex that does not compile matches nothing.
    ///
    /// ```
    /// use tagsmith_core::{UrlMatch, UrlRule};
    /// let thanks = UrlRule::new(UrlMatch::Regex, r"/checkout/thanks(\?.*)?$").unwrap();
    /// assert!(thanks.matches("https://shop.example/checkout/thanks?order=1"));
    /// assert!(!UrlRule::new(UrlMatch::StartsWith, "https://shop.example/blog").unwrap()
    ///     .matches("https://shop.example/"));
    /// ```
    pub fn matches(&self, url: &str) -> bool {
        match self.r#match {
            UrlMatch::Equals => url == self.value,
            UrlMatch::Contains => url.contains(&self.value),
            UrlMatch::StartsWith => url.starts_with(&self.value),
            UrlMatch::Regex => regex::RegexBuilder::new(&self.value)
                .size_limit(1 << 20)
                .build()
                .is_ok_and(|re| re.is_match(url)),
        }
    }
}

/// A Google Ads conversion recorded when the tracking fires.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdsConversion {
    /// Conversion action category.
    pub category: AdsCategory,
    /// Conversion value (finite, ≥ 0); needs `currency`.
    #[serde(default)]
    pub value: Option<f64>,
    /// ISO 4217 currency of `value`.
    #[serde(default)]
    pub currency: Option<String>,
}

/// What to record and where.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tracking {
    /// Opaque id (`trk_…`).
    pub id: TrackingId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// The customer (site) it belongs to, of the same tenant.
    pub customer_id: CustomerId,
    /// Name, unique among the customer's live trackings.
    pub name: String,
    /// What fires it.
    pub kind: TrackingKind,
    /// CSS selector of the element (click, form, visibility kinds).
    pub selector: Option<String>,
    /// Which URLs it applies to (required for `page_view`).
    pub url_rule: Option<UrlRule>,
    /// GA4 event name sent when it fires.
    pub ga4_event: Option<String>,
    /// GA4 event parameters.
    pub ga4_params: BTreeMap<String, String>,
    /// Google Ads conversion, if any.
    pub ads: Option<AdsConversion>,
    /// Scroll depth in percent (required for `scroll_depth`).
    pub scroll_percent: Option<u32>,
    /// Sync state with Google.
    pub sync_status: SyncStatus,
    /// What the last sync reported (why it failed, or a warning); kept whatever the status.
    pub sync_error: Option<String>,
    /// Ids of what the sync created on each tag platform, by platform then key
    /// (`{"gtm": {"trigger_id": "12", "tag_id": "13"}}`). Core knows no platform's fields.
    pub external_ids: ExternalIds,
    /// Optimistic-concurrency version of the user's fields: starts at 1, +1 on every user
    /// change. Sync state changes never move it, so a background sync cannot make a user's
    /// edit fail with `conflict`.
    pub version: i64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When the user's fields last changed.
    pub updated_at: Timestamp,
    /// When it was last synced successfully.
    pub last_synced_at: Option<Timestamp>,
}

/// Fields to create a tracking (Python kwargs / JS options map 1:1).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTracking {
    /// The customer (site), of the same tenant.
    pub customer_id: CustomerId,
    /// Name, unique among the customer's live trackings.
    pub name: String,
    /// What fires it.
    pub kind: TrackingKind,
    /// CSS selector.
    #[serde(default)]
    pub selector: Option<String>,
    /// URL rule.
    #[serde(default)]
    pub url_rule: Option<UrlRule>,
    /// GA4 event name.
    #[serde(default)]
    pub ga4_event: Option<String>,
    /// GA4 event parameters.
    #[serde(default)]
    pub ga4_params: BTreeMap<String, String>,
    /// Google Ads conversion.
    #[serde(default)]
    pub ads: Option<AdsConversion>,
    /// Scroll depth in percent.
    #[serde(default)]
    pub scroll_percent: Option<u32>,
}

/// Changes to a tracking; absent fields stay, `null` clears an optional field.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingPatch {
    /// The version the caller read; a stale one is `conflict`.
    pub version: i64,
    /// New name.
    #[serde(default, with = "crate::request::present")]
    pub name: Option<String>,
    /// New kind.
    #[serde(default, with = "crate::request::present")]
    pub kind: Option<TrackingKind>,
    /// New selector, or `null` to clear.
    #[serde(default, with = "double_option")]
    pub selector: Option<Option<String>>,
    /// New URL rule, or `null` to clear.
    #[serde(default, with = "double_option")]
    pub url_rule: Option<Option<UrlRule>>,
    /// New GA4 event, or `null` to clear.
    #[serde(default, with = "double_option")]
    pub ga4_event: Option<Option<String>>,
    /// New GA4 parameters (replaces all).
    #[serde(default, with = "crate::request::present")]
    pub ga4_params: Option<BTreeMap<String, String>>,
    /// New Ads conversion, or `null` to clear.
    #[serde(default, with = "double_option")]
    pub ads: Option<Option<AdsConversion>>,
    /// New scroll depth, or `null` to clear.
    #[serde(default, with = "double_option")]
    pub scroll_percent: Option<Option<u32>>,
}

impl Tracking {
    pub(crate) fn from_new(
        id: TrackingId,
        tenant_id: TenantId,
        new: NewTracking,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            tenant_id,
            customer_id: new.customer_id,
            name: new.name,
            kind: new.kind,
            selector: new.selector,
            url_rule: new.url_rule,
            ga4_event: new.ga4_event,
            ga4_params: new.ga4_params,
            ads: new.ads,
            scroll_percent: new.scroll_percent,
            sync_status: SyncStatus::Pending,
            sync_error: None,
            external_ids: ExternalIds::new(),
            version: 1,
            created_at: now,
            updated_at: now,
            last_synced_at: None,
        }
    }

    /// Apply a patch. A change to what is tracked puts a synced or failed tracking back to
    /// `pending`, so the next sync picks it up.
    pub(crate) fn apply(&mut self, patch: TrackingPatch) {
        let before = self.clone();
        let TrackingPatch {
            version: _,
            name,
            kind,
            selector,
            url_rule,
            ga4_event,
            ga4_params,
            ads,
            scroll_percent,
        } = patch;
        if let Some(v) = name {
            self.name = v;
        }
        if let Some(v) = kind {
            self.kind = v;
        }
        if let Some(v) = selector {
            self.selector = v;
        }
        if let Some(v) = url_rule {
            self.url_rule = v;
        }
        if let Some(v) = ga4_event {
            self.ga4_event = v;
        }
        if let Some(v) = ga4_params {
            self.ga4_params = v;
        }
        if let Some(v) = ads {
            self.ads = v;
        }
        if let Some(v) = scroll_percent {
            self.scroll_percent = v;
        }
        if *self != before && self.sync_status != SyncStatus::Deleted {
            self.sync_status = SyncStatus::Pending;
        }
    }

    /// Apply a sync update (already checked against the stored version) at time `at`.
    pub(crate) fn apply_sync(&mut self, update: &SyncUpdate, at: Timestamp) {
        self.sync_status = update.status;
        if let Some(error) = &update.error {
            self.sync_error.clone_from(error);
        }
        for (platform, ids) in &update.external_ids {
            if ids.is_empty() {
                self.external_ids.remove(platform);
            } else {
                self.external_ids.insert(platform.clone(), ids.clone());
            }
        }
        if update.status == SyncStatus::Synced {
            self.last_synced_at = Some(at);
        }
    }

    /// Check every field and the kind-specific rules; report all problems at once.
    pub(crate) fn validate(&self) -> crate::Result<()> {
        self.validate_with(true)
    }

    /// [`validate`](Self::validate), optionally without the rules of its kind (when the kind
    /// given was not a kind at all, its rules would only add noise).
    pub(crate) fn validate_with(&self, kind_rules: bool) -> crate::Result<()> {
        let mut p = Problems::default();
        validate::name(&mut p, "name", &self.name);
        if let Some(s) = &self.selector {
            validate::css_selector(&mut p, "selector", s);
        }
        if let Some(rule) = &self.url_rule {
            rule.check(&mut p, "url_rule.value");
        }
        if let Some(e) = &self.ga4_event {
            validate::ga4_name(&mut p, "ga4_event", e, true);
        }
        if self.ga4_params.len() > validate::MAX_GA4_PARAMS {
            let n = self.ga4_params.len().to_string();
            p.add(
                "ga4_params",
                &n,
                format!("GA4 allows at most {} parameters", validate::MAX_GA4_PARAMS),
            );
        }
        for (key, value) in &self.ga4_params {
            let field = format!("ga4_params.{key}");
            validate::ga4_name(&mut p, &field, key, false);
            if value.chars().count() > validate::MAX_GA4_VALUE_CHARS {
                p.add(
                    &field,
                    value,
                    format!(
                        "must be at most {} characters",
                        validate::MAX_GA4_VALUE_CHARS
                    ),
                );
            }
        }
        if let Some(ads) = &self.ads {
            match ads.value {
                Some(v) if !v.is_finite() || v < 0.0 => {
                    p.add("ads.value", &v.to_string(), "must be a finite number ≥ 0")
                }
                Some(v) if ads.currency.is_none() => p.add(
                    "ads.currency",
                    "",
                    format!("is required when ads.value is set (value {v})"),
                ),
                _ => {}
            }
            if let Some(c) = &ads.currency {
                validate::currency(&mut p, "ads.currency", c);
            }
        }
        if let Some(pct) = self.scroll_percent
            && !(1..=100).contains(&pct)
        {
            p.add(
                "scroll_percent",
                &pct.to_string(),
                "must be between 1 and 100",
            );
        }
        if kind_rules {
            self.validate_kind(&mut p);
        }
        p.into_result()
    }

    fn validate_kind(&self, p: &mut Problems) {
        let kind = self.kind.as_str();
        match self.kind {
            TrackingKind::ButtonClick
            | TrackingKind::LinkClick
            | TrackingKind::FormSubmit
            | TrackingKind::ElementVisibility => {
                if self.selector.is_none() {
                    p.add("selector", "", format!("is required for kind {kind}"));
                }
            }
            TrackingKind::PageView => {
                if self.url_rule.is_none() {
                    p.add("url_rule", "", format!("is required for kind {kind}"));
                }
            }
            TrackingKind::ScrollDepth => {
                if self.scroll_percent.is_none() {
                    p.add("scroll_percent", "", format!("is required for kind {kind}"));
                }
            }
            TrackingKind::CustomEvent => {
                if self.ga4_event.is_none() {
                    p.add(
                        "ga4_event",
                        "",
                        format!("is required for kind {kind} (the dataLayer event name)"),
                    );
                }
            }
        }
        if self.kind != TrackingKind::ScrollDepth
            && let Some(pct) = self.scroll_percent
        {
            p.add(
                "scroll_percent",
                &pct.to_string(),
                format!("applies only to kind scroll_depth, not {kind}"),
            );
        }
    }
}
