//! Opaque, prefixed record ids as newtypes, so a customer id cannot be passed where a tenant id
//! is expected.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The prefix every generated id of this type starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Wrap an id received from a host. Ids are opaque: an id that was never issued is
            /// simply `not_found` when used.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub(crate) fn generate(env: &dyn crate::Env) -> crate::Result<Self> {
                let mut bytes = [0u8; 12];
                env.fill_random(&mut bytes)?;
                Ok(Self(format!("{}{}", $prefix, hex::encode(bytes))))
            }

            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// Identifies a tenant (an agency or company using the host app).
    TenantId,
    "ten_"
);
id_type!(
    /// Identifies a customer (a tracked website) within a tenant.
    CustomerId,
    "cus_"
);
id_type!(
    /// Identifies a tracking within a tenant.
    TrackingId,
    "trk_"
);
