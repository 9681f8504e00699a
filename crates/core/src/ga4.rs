//! GA4 names as types: an event name or parameter name that exists has passed GA4's rules
//! (letters, digits and underscores, a letter first, at most 40 characters, no reserved prefix;
//! events also not one GA4 collects itself). The Google sync and the tracker use these, so every
//! crate applies the same rules.

use crate::validate::{self, Problems};

macro_rules! ga4_name {
    ($(#[$doc:meta])* $name:ident, $field:literal, $is_event:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Check `text` against GA4's rules.
            ///
            /// # Errors
            #[doc = concat!("`invalid_input` naming the field `", $field, "` and what is wrong.")]
            pub fn parse(text: &str) -> crate::Result<Self> {
                let mut p = Problems::default();
                validate::ga4_name(&mut p, $field, text, $is_event);
                p.into_result()?;
                Ok(Self(text.to_owned()))
            }

            /// The name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::Error;

            fn from_str(s: &str) -> crate::Result<Self> {
                Self::parse(s)
            }
        }
    };
}

ga4_name!(
    /// A GA4 event name (`generate_lead`), never a reserved one (`session_start`).
    ///
    /// ```
    /// assert!(tagsmith_core::Ga4EventName::parse("generate_lead").is_ok());
    /// assert!(tagsmith_core::Ga4EventName::parse("session_start").is_err());
    /// ```
    Ga4EventName,
    "ga4_event",
    true
);

ga4_name!(
    /// A GA4 event parameter name (`item_id`).
    Ga4ParamName,
    "ga4_params",
    false
);
