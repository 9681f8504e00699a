//! Cursor pagination: `{items, total, next_cursor}` with an opaque cursor bound to the tenant
//! and the query it came from.

use crate::{CustomerId, Error};

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 1000;

/// Paging options for listing customers (and tenants).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListOptions {
    /// Page size, 1 to 1000 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Paging and filter options for listing trackings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListTrackings {
    /// Page size, 1 to 1000 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Only this customer's trackings.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Page<T> {
    /// The records on this page, oldest first.
    pub items: Vec<T>,
    /// How many records the whole query matches.
    pub total: u64,
    /// Pass back as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// What a backend is asked for: rows after an internal sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// Exclusive lower bound on the backend's insertion sequence.
    pub after: Option<i64>,
    /// Maximum rows to return.
    pub limit: u32,
}

/// What a backend answers: rows in insertion order with the last one's sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    /// Up to `limit` rows.
    pub items: Vec<T>,
    /// Sequence number of the last row returned.
    pub last_seq: Option<i64>,
    /// Whether more rows follow.
    pub more: bool,
    /// Rows the query matches in all.
    pub total: u64,
}

/// Binds a cursor to the list it came from: which records, which tenant, which filter.
pub(crate) struct CursorScope<'a> {
    pub(crate) entity: &'a str,
    pub(crate) tenant: &'a str,
    pub(crate) filter: &'a str,
}

impl CursorScope<'_> {
    fn text(&self, seq: i64) -> String {
        format!("v1|{}|{}|{}|{seq}", self.entity, self.tenant, self.filter)
    }

    /// Turn paging options into a backend slice.
    pub(crate) fn slice(&self, limit: Option<u32>, cursor: Option<&str>) -> crate::Result<Slice> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::invalid_field(
                "limit",
                &limit.to_string(),
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match cursor {
            None => None,
            Some(c) => Some(self.decode(c).ok_or_else(|| {
                Error::invalid_field(
                    "cursor",
                    c,
                    "is not a cursor of this list (it belongs to another tenant, query or version)",
                )
            })?),
        };
        Ok(Slice { after, limit })
    }

    fn decode(&self, cursor: &str) -> Option<i64> {
        let text = String::from_utf8(hex::decode(cursor).ok()?).ok()?;
        let (prefix, seq) = text.rsplit_once('|')?;
        let seq: i64 = seq.parse().ok()?;
        (self.text(seq).rsplit_once('|')?.0 == prefix).then_some(seq)
    }

    /// Wrap a backend answer as a page.
    pub(crate) fn page<T>(&self, listed: Listed<T>) -> Page<T> {
        let next_cursor = match (listed.more, listed.last_seq) {
            (true, Some(seq)) => Some(hex::encode(self.text(seq))),
            _ => None,
        };
        Page {
            items: listed.items,
            total: listed.total,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_is_bound_to_tenant_and_filter() {
        let a = CursorScope {
            entity: "tracking",
            tenant: "ten_a",
            filter: "",
        };
        let b = CursorScope {
            entity: "tracking",
            tenant: "ten_b",
            filter: "",
        };
        let page = a.page(Listed {
            items: vec![1],
            last_seq: Some(7),
            more: true,
            total: 2,
        });
        let cursor = page.next_cursor.unwrap_or_default();
        assert_eq!(
            a.slice(None, Some(&cursor)).ok().and_then(|s| s.after),
            Some(7)
        );
        assert_eq!(
            b.slice(None, Some(&cursor)).err().map(|e| e.code()),
            Some("invalid_input")
        );
        assert!(a.slice(Some(0), None).is_err());
        assert!(a.slice(None, Some("zz")).is_err());
    }
}
