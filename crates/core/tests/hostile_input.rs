//! Nothing panics on input: arbitrary JSON requests and arbitrary field text go through
//! `from_json` and the validators, and come out as a record or a typed `invalid_input`. And an
//! oracle: a create that succeeds reads back as the same record, holding what was asked for,
//! on memory and on SQLite (through its row mapping).
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::{Value, json};
use tagsmith_core::store::sqlite::SqliteStore;
use tagsmith_core::{
    CustomerPatch, Engine, ListTrackings, NewCustomer, NewTracking, Storage, SyncStatus, SystemEnv,
    TrackingPatch, from_json,
};

/// Any JSON value, biased towards the shapes requests have.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::from),
        prop_oneof![
            Just("button_click"),
            Just("page_view"),
            Just("scroll_depth"),
            Just("custom_event"),
            Just("regex"),
            Just("contains"),
            Just("purchase"),
            Just("EUR"),
            Just("https://x.example/"),
            Just("a[href^=\"tel:\"]"),
            Just("(unclosed"),
            Just("div:has(> p)"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        let key = prop_oneof![
            Just("customer_id".to_owned()),
            Just("name".to_owned()),
            Just("kind".to_owned()),
            Just("selector".to_owned()),
            Just("url_rule".to_owned()),
            Just("match".to_owned()),
            Just("value".to_owned()),
            Just("ga4_event".to_owned()),
            Just("ga4_params".to_owned()),
            Just("ads".to_owned()),
            Just("category".to_owned()),
            Just("currency".to_owned()),
            Just("scroll_percent".to_owned()),
            Just("version".to_owned()),
            Just("limit".to_owned()),
            Just("cursor".to_owned()),
            Just("website_url".to_owned()),
            "[a-z_]{1,12}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_are_records_or_typed_errors(body in any_json(), text in ".{0,300}", sqlite in any::<bool>()) {
        let engine = if sqlite {
            Engine::new(
                Storage::new(SqliteStore::in_memory().unwrap()),
                std::sync::Arc::new(SystemEnv),
            )
        } else {
            Engine::in_memory()
        };
        let t = pollster::block_on(engine.create_tenant("T")).unwrap();
        let customers = engine.customers(t.id.clone());
        let c = pollster::block_on(customers.create(NewCustomer {
            name: "Shop".into(),
            website_url: "https://shop.example".into(),
        }))
        .unwrap();
        let trackings = engine.trackings(t.id.clone());
        let expect_invalid = |r: tagsmith_core::Result<()>| match r {
            Ok(()) => Ok(()),
            Err(e) if e.code() == "invalid_input" || e.code() == "not_found" || e.code() == "already_exists" || e.code() == "conflict" => {
                prop_assert!(!e.message().is_empty());
                Ok(())
            }
            Err(e) => Err(TestCaseError::fail(format!("unexpected {e}"))),
        };

        let mut with_customer = body.clone();
        if let Value::Object(m) = &mut with_customer {
            m.insert("customer_id".into(), json!(c.id));
        }
        // A create that succeeds must read back as the record returned, holding the request.
        let create_and_read_back = |request: Value| -> Result<(), TestCaseError> {
            let new = match from_json::<NewTracking>(request) {
                Ok(new) => new,
                Err(e) => return expect_invalid(Err(e)),
            };
            let t = match pollster::block_on(trackings.create(new.clone())) {
                Ok(t) => t,
                Err(e) => return expect_invalid(Err(e)),
            };
            let back = pollster::block_on(trackings.get(&t.id)).unwrap();
            prop_assert_eq!(&back, &t);
            prop_assert_eq!(&t.name, &new.name);
            prop_assert_eq!(t.kind, new.kind);
            prop_assert_eq!(&t.selector, &new.selector);
            prop_assert_eq!(&t.url_rule, &new.url_rule);
            prop_assert_eq!(&t.ga4_event, &new.ga4_event);
            prop_assert_eq!(&t.ga4_params, &new.ga4_params);
            prop_assert_eq!(&t.ads, &new.ads);
            prop_assert_eq!(t.scroll_percent, new.scroll_percent);
            prop_assert_eq!((t.version, t.sync_status), (1, SyncStatus::Pending));
            Ok(())
        };
        for request in [body.clone(), with_customer] {
            create_and_read_back(request.clone())?;
            expect_invalid(from_json::<TrackingPatch>(request.clone()).map(|_| ()))?;
            expect_invalid(from_json::<CustomerPatch>(request.clone()).map(|_| ()))?;
            let listed = from_json::<ListTrackings>(request.clone())
                .and_then(|o| pollster::block_on(trackings.list(&o)).map(|_| ()));
            expect_invalid(listed)?;
        }
        // Free text in every validated field.
        for field in ["name", "selector", "ga4_event"] {
            let mut req = json!({"customer_id": c.id, "name": "x", "kind": "button_click", "selector": "#a"});
            req[field] = json!(text);
            create_and_read_back(req)?;
        }
        let regex = json!({"customer_id": c.id, "name": "r", "kind": "page_view",
                           "url_rule": {"match": "regex", "value": text}});
        create_and_read_back(regex)?;
        let site = json!({"name": text, "website_url": text});
        match from_json::<NewCustomer>(site).and_then(|n| pollster::block_on(customers.create(n))) {
            Ok(made) => {
                prop_assert_eq!(&made.name, &text);
                prop_assert_eq!(pollster::block_on(customers.get(&made.id)).unwrap(), made);
            }
            Err(e) => expect_invalid(Err(e))?,
        }
        expect_invalid(pollster::block_on(trackings.list(&ListTrackings { cursor: Some(text.clone()), ..Default::default() })).map(|_| ()))?;
    }
}
