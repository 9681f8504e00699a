//! Key casing for JavaScript runtimes: Rust and Python spell fields in snake_case, JS in
//! camelCase. The rules live here so the Node and WASM bindings convert the same way.
//!
//! Maps that hold data keyed by users or platforms (`ga4_params`, `external_ids`, a job's `args`) keep their
//! keys as given, at every depth.

use serde_json::{Map, Value};

/// Fields whose value is a user-keyed map: its keys are data, not field names.
const USER_MAPS: [&str; 3] = ["ga4_params", "external_ids", "args"];

/// `websiteUrl` → `website_url`.
pub fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `website_url` → `websiteUrl`.
pub fn camel_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Convert an options object from JS (camelCase keys) to the wire form (snake_case).
pub fn keys_to_snake(value: Value) -> Value {
    convert(value, &snake_case, &|k: &str| {
        USER_MAPS.contains(&snake_case(k).as_str())
    })
}

/// Convert a result (snake_case keys) to JS form (camelCase).
pub fn keys_to_camel(value: Value) -> Value {
    convert(value, &camel_case, &|k: &str| USER_MAPS.contains(&k))
}

/// Convert a dotted field path from an error (`url_rule.value`, `ga4_params.my_key`) to JS form
/// (`urlRule.value`, `ga4Params.my_key`).
pub fn field_path_to_camel(path: &str) -> String {
    let mut out = Vec::new();
    let mut user_data = false;
    for part in path.split('.') {
        if user_data {
            out.push(part.to_owned());
        } else {
            out.push(camel_case(part));
            user_data = USER_MAPS.contains(&part);
        }
    }
    out.join(".")
}

/// Serialize `value` straight to JSON text with camelCase keys (user maps keep theirs): the same
/// result as `keys_to_camel(serde_json::to_value(value))` without building the tree, which is
/// most of the cost of returning a record to JS.
///
/// # Errors
/// `internal` if the value cannot be serialized (a bug).
pub fn to_camel_json<T: serde::Serialize + ?Sized>(value: &T) -> crate::Result<String> {
    write_with(value, CamelKeys::default())
}

/// [`to_camel_json`] for a JS runtime that turns times into `Date`s: the time fields
/// (`createdAt`, `updatedAt`, `lastSyncedAt`, `at`) are written as milliseconds since the Unix
/// epoch, which `new Date(ms)` takes without parsing text. Not for JSON a host shows or stores
/// (times are RFC 3339 text there).
///
/// # Errors
/// `internal` if the value cannot be serialized (a bug).
pub fn to_js_json<T: serde::Serialize + ?Sized>(value: &T) -> crate::Result<String> {
    crate::timestamp::as_epoch_millis(|| write_with(value, CamelKeys::default()))
}

fn write_with<T: serde::Serialize + ?Sized>(
    value: &T,
    formatter: CamelKeys,
) -> crate::Result<String> {
    let mut out = Vec::with_capacity(512);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value
        .serialize(&mut ser)
        .map_err(|e| crate::Error::internal(format!("serializing a result: {e}")))?;
    String::from_utf8(out).map_err(|e| crate::Error::internal(format!("serializing a result: {e}")))
}

/// A compact JSON formatter that camelCases object keys, except inside user maps. A key is
/// gathered whole and converted once when it ends.
#[derive(Default)]
struct CamelKeys {
    /// One entry per open object: whether its keys are user data.
    user: Vec<bool>,
    /// The value being written belongs to a user-map key (its object's keys are data).
    next_is_user: bool,
    in_key: bool,
    /// The key being written (snake_case, as serialized).
    key: String,
}

impl CamelKeys {
    fn converting(&self) -> bool {
        self.in_key && !self.user.last().copied().unwrap_or(false)
    }

    /// Write `self.key` in camelCase (as [`camel_case`], without allocating): runs between
    /// underscores are written as they are, the byte after an underscore upper-cased.
    fn write_key<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        let bytes = self.key.as_bytes();
        let (mut start, mut upper) = (0, false);
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'_' && i > 0 {
                w.write_all(&bytes[start..i])?;
                (start, upper) = (i + 1, true);
            } else if upper {
                w.write_all(&[b.to_ascii_uppercase()])?;
                (start, upper) = (i + 1, false);
            }
        }
        w.write_all(&bytes[start..])
    }
}

impl serde_json::ser::Formatter for CamelKeys {
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        // Inside a user map, nested objects are data too.
        let inherited = self.user.last().copied().unwrap_or(false);
        self.user
            .push(std::mem::take(&mut self.next_is_user) || inherited);
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.user.pop();
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.in_key = true;
        self.key.clear();
        if first { Ok(()) } else { w.write_all(b",") }
    }

    fn end_object_key<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.next_is_user = self.converting() && USER_MAPS.contains(&self.key.as_str());
        self.in_key = false;
        Ok(())
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b":")
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.next_is_user = false;
        Ok(())
    }

    fn end_string<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        if self.converting() {
            self.write_key(w)?;
        }
        w.write_all(b"\"")
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if self.converting() {
            self.key.push_str(fragment);
            return Ok(());
        }
        w.write_all(fragment.as_bytes())
    }

    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        char_escape: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        let mut escaped = Vec::new();
        serde_json::ser::CompactFormatter.write_char_escape(&mut escaped, char_escape)?;
        let escaped = String::from_utf8_lossy(&escaped);
        if self.converting() {
            self.key.push_str(&escaped);
            Ok(())
        } else {
            w.write_all(escaped.as_bytes())
        }
    }
}

fn convert(value: Value, rename: &dyn Fn(&str) -> String, keep: &dyn Fn(&str) -> bool) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if keep(&k) {
                        v
                    } else {
                        convert(v, rename, keep)
                    };
                    (rename(&k), v)
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| convert(v, rename, keep))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_keys_but_not_user_maps() {
        let js = json!({"customerId": "c", "urlRule": {"match": "contains"}, "ga4Params": {"myKey": "v"}});
        let wire = keys_to_snake(js.clone());
        assert_eq!(
            wire,
            json!({"customer_id": "c", "url_rule": {"match": "contains"}, "ga4_params": {"myKey": "v"}})
        );
        assert_eq!(keys_to_camel(wire), js);
        assert_eq!(field_path_to_camel("ga4_params.my_key"), "ga4Params.my_key");
        let nested = json!({"external_ids": {"google_ads": {"conversion_label": "l"}}});
        assert_eq!(
            keys_to_camel(nested),
            json!({"externalIds": {"google_ads": {"conversion_label": "l"}}})
        );
        assert_eq!(field_path_to_camel("ads.currency"), "ads.currency");
        assert_eq!(field_path_to_camel("website_url"), "websiteUrl");
    }

    #[test]
    fn streaming_camel_json_equals_the_tree_conversion() {
        let value = json!({
            "customer_id": "c", "url_rule": {"match": "contains", "value": "a_b"},
            "ga4_params": {"my_key": "v", "x_y": "z"}, "ads": null, "items": [{"next_cursor": 1}],
            "external_ids": {"google_ads": {"conversion_label": "x_1"}},
            "name": "quote \" and é_x", "_private": true, "a__b": 2
        });
        let streamed = to_camel_json(&value).unwrap_or_default();
        let parsed: Value = serde_json::from_str(&streamed).unwrap_or_default();
        assert_eq!(parsed, keys_to_camel(value));
    }

    #[test]
    fn js_json_writes_times_as_epoch_millis() {
        #[derive(serde::Serialize)]
        struct Record {
            created_at: crate::Timestamp,
            ga4_params: std::collections::BTreeMap<&'static str, &'static str>,
            name: &'static str,
        }
        let at = crate::Timestamp::from_micros(1_796_308_682_123_456);
        let value = Record {
            created_at: at,
            ga4_params: [("my_key", "v")].into(),
            name: "x\"y",
        };
        let js: Value =
            serde_json::from_str(&to_js_json(&value).unwrap_or_default()).unwrap_or_default();
        assert_eq!(
            js,
            json!({"createdAt": 1_796_308_682_123_i64, "ga4Params": {"my_key": "v"}, "name": "x\"y"})
        );
        // Outside `to_js_json`, times are RFC 3339 text again.
        assert_eq!(
            serde_json::to_value(at).unwrap_or_default(),
            json!(at.to_rfc3339())
        );
    }
}
