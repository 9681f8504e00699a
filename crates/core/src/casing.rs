//! Key casing for JavaScript runtimes: Rust and Python spell fields in snake_case, JS in
//! camelCase. The rules live here so the Node and WASM bindings convert the same way.
//!
//! Maps that hold user data (`ga4_params`) keep their keys as given.

use serde_json::{Map, Value};

/// Fields whose value is a user-keyed map: its keys are data, not field names.
const USER_MAPS: [&str; 1] = ["ga4_params"];

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
        assert_eq!(field_path_to_camel("ads.currency"), "ads.currency");
        assert_eq!(field_path_to_camel("website_url"), "websiteUrl");
    }
}
