//! The storage conformance suite: every backend runs the same behaviour tests, including a
//! property test that random interleaved operations across tenants never leak data.
//! PostgreSQL runs the same suite (feature `postgres`; `TAGSMITH_TEST_POSTGRES`, see
//! `tests/common`).
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use proptest::prelude::*;
use tagsmith_core::store::sqlite::SqliteStore;
use tagsmith_core::{
    CustomerId, CustomerPatch, Engine, EngineOptions, ErrorKind, EventRetention, ListOptions,
    ListTrackings, NewCustomer, NewTracking, Storage, SyncStatus, SyncUpdate, SystemEnv, TenantId,
    TrackingId, TrackingKind, TrackingPatch, from_json,
};

mod common;

fn block<F: std::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

fn ok<T>(r: tagsmith_core::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("unexpected error: {e}"))
}

fn code<T: std::fmt::Debug>(r: tagsmith_core::Result<T>) -> &'static str {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code(),
    }
}

fn new_customer(name: &str) -> NewCustomer {
    NewCustomer {
        name: name.to_owned(),
        website_url: format!("https://{}.example", name.to_lowercase()),
    }
}

fn new_tracking(customer: &CustomerId, name: &str) -> NewTracking {
    ok(from_json(serde_json::json!({
        "customer_id": customer, "name": name, "kind": "button_click", "selector": "button.cta"
    })))
}

thread_local! {
    /// Temporary directories of this test thread, removed when the test's thread ends (after
    /// the test has dropped its engines).
    static TEMP_DIRS: std::cell::RefCell<Vec<tempfile::TempDir>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn temp_db(tag: &str) -> std::path::PathBuf {
    let dir = tempfile::Builder::new()
        .prefix("tagsmith-conf-")
        .tempdir()
        .unwrap_or_else(|e| panic!("temp dir: {e}"));
    let path = dir.path().join(format!("{tag}.db"));
    TEMP_DIRS.with(|d| d.borrow_mut().push(dir));
    path
}

mod suite {
    use super::*;

    pub fn paging_walks_every_record_once(engine: Engine) {
        let t = ok(block(engine.create_tenant("Pager")));
        let customers = engine.customers(t.id.clone());
        let shop = ok(block(customers.create(new_customer("Shop"))));
        let trackings = engine.trackings(t.id.clone());
        for i in 0..23 {
            ok(block(
                trackings.create(new_tracking(&shop.id, &format!("t{i:02}"))),
            ));
        }
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = ok(block(trackings.list(&ListTrackings {
                limit: Some(7),
                cursor: cursor.clone(),
                customer_id: None,
            })));
            assert_eq!(page.total, 23);
            seen.extend(page.items.into_iter().map(|t| t.name));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let want: Vec<_> = (0..23).map(|i| format!("t{i:02}")).collect();
        assert_eq!(seen, want);
        // A cursor is bound to its query: reusing it with a filter is refused.
        let page = ok(block(trackings.list(&ListTrackings {
            limit: Some(5),
            ..Default::default()
        })));
        let err = block(trackings.list(&ListTrackings {
            limit: Some(5),
            cursor: page.next_cursor,
            customer_id: Some(shop.id.clone()),
        }));
        assert_eq!(code(err), "invalid_input");
    }

    pub fn stale_versions_conflict(engine: Engine) {
        let t = ok(block(engine.create_tenant("Versions")));
        let customers = engine.customers(t.id.clone());
        let c = ok(block(customers.create(new_customer("Shop"))));
        let a = CustomerPatch {
            version: 1,
            name: Some("A".into()),
            ..Default::default()
        };
        let b = CustomerPatch {
            version: 1,
            name: Some("B".into()),
            ..Default::default()
        };
        assert_eq!(ok(block(customers.update(&c.id, a))).version, 2);
        assert_eq!(code(block(customers.update(&c.id, b))), "conflict");
        assert_eq!(ok(block(customers.get(&c.id))).name, "A");
        let tr = ok(block(
            engine
                .trackings(t.id.clone())
                .create(new_tracking(&c.id, "x")),
        ));
        let p = TrackingPatch {
            version: 7,
            name: Some("y".into()),
            ..Default::default()
        };
        assert_eq!(
            code(block(engine.trackings(t.id).update(&tr.id, p))),
            "conflict"
        );
    }

    pub fn deleting_a_customer_deletes_its_trackings(engine: Engine) {
        let t = ok(block(engine.create_tenant("Cascade")));
        let customers = engine.customers(t.id.clone());
        let trackings = engine.trackings(t.id.clone());
        let a = ok(block(customers.create(new_customer("A"))));
        let b = ok(block(customers.create(new_customer("B"))));
        let ta = ok(block(trackings.create(new_tracking(&a.id, "x"))));
        let tb = ok(block(trackings.create(new_tracking(&b.id, "x"))));
        ok(block(customers.delete(&a.id, Some(1))));
        assert_eq!(code(block(trackings.get(&ta.id))), "not_found");
        assert_eq!(ok(block(trackings.get(&tb.id))).name, "x");
        assert_eq!(
            code(block(trackings.create(new_tracking(&a.id, "y")))),
            "not_found"
        );
        let page = ok(block(trackings.list(&ListTrackings::default())));
        assert_eq!(page.total, 1);
    }

    fn next_event(sub: &mut tagsmith_core::Subscription) -> Option<tagsmith_core::Received> {
        ok(block(sub.try_next()))
    }

    pub fn the_activity_log_names_actors_and_filters(engine: Engine) {
        let t = ok(block(engine.create_tenant("Activity")));
        let alice = ok(engine.acting_as("user:alice"));
        let bob = ok(engine.acting_as("user:bob"));
        let shop = ok(block(
            alice.customers(t.id.clone()).create(new_customer("Shop")),
        ));
        let other = ok(block(
            engine.customers(t.id.clone()).create(new_customer("Other")),
        ));
        let tr = ok(block(
            bob.trackings(t.id.clone())
                .create(new_tracking(&shop.id, "buy")),
        ));
        let patch = CustomerPatch {
            version: 1,
            name: Some("Shop 2".into()),
            ..Default::default()
        };
        ok(block(bob.customers(t.id.clone()).update(&shop.id, patch)));
        let read = |json: serde_json::Value| {
            let options: tagsmith_core::EventsOptions = ok(from_json(json));
            ok(block(engine.events_with(&t.id, &options)))
        };
        let all = read(serde_json::json!({}));
        let actors: Vec<_> = all.events.iter().map(|e| e.actor.as_deref()).collect();
        // The tenant's creation (unnamed), alice's create, an unnamed create, bob's two writes.
        assert_eq!(
            actors,
            [
                None,
                Some("user:alice"),
                None,
                Some("user:bob"),
                Some("user:bob")
            ]
        );
        let history = read(serde_json::json!({"id": shop.id.as_str()}));
        let seqs: Vec<_> = history.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [2, 5]);
        assert_eq!(history.last_seq, 5);
        let by_bob = read(serde_json::json!({"actor": "user:bob", "entity": "tracking"}));
        assert_eq!(by_bob.events.len(), 1);
        assert_eq!(by_bob.events[0].id, tr.id.to_string());
        // A short filtered read resumes after the head: polling again reads nothing twice.
        assert_eq!(by_bob.last_seq, 5);
        let again = read(serde_json::json!({"actor": "user:bob", "after": by_bob.last_seq}));
        assert!(again.events.is_empty() && again.last_seq == 5, "{again:?}");
        // A full page resumes after its last match.
        let page = read(serde_json::json!({"entity": "customer", "limit": 1}));
        assert_eq!((page.events[0].seq, page.last_seq), (2, 2));
        let page = read(serde_json::json!({"entity": "customer", "limit": 2, "after": 2}));
        let seqs: Vec<_> = page.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 5]);
        // Time ranges: everything is in [first.at, now]; nothing before the first event.
        let first = all.events[0].at.to_rfc3339();
        assert_eq!(read(serde_json::json!({"since": first})).events.len(), 5);
        assert!(read(serde_json::json!({"until": first})).events.is_empty());
        let _ = other;
        // Bad filters and actors are named.
        for (json, field) in [
            (serde_json::json!({"entity": "planet"}), "entity"),
            (serde_json::json!({"since": "yesterday"}), "since"),
            (serde_json::json!({"id": ""}), "id"),
            (
                serde_json::json!({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}),
                "until",
            ),
        ] {
            let err = tagsmith_core::from_json::<tagsmith_core::EventsOptions>(json.clone())
                .and_then(|o| block(engine.events_with(&t.id, &o)))
                .expect_err(&json.to_string());
            assert_eq!(err.code(), "invalid_input", "{json}");
            assert_eq!(err.fields()[0].field, field, "{json}: {err}");
        }
        for bad in ["", "  ", "a\u{7}b", &"x".repeat(201)] {
            let err = engine.acting_as(bad).expect_err(bad);
            assert_eq!(err.fields()[0].field, "actor");
        }
    }

    pub fn change_events_follow_commits(engine: Engine) {
        let t = ok(block(engine.create_tenant("Events")));
        let other = ok(block(engine.create_tenant("Other")));
        let mut sub = ok(block(engine.subscribe(&t.id, None)));
        let mut other_sub = ok(block(engine.subscribe(&other.id, None)));
        let c = ok(block(
            engine.customers(t.id.clone()).create(new_customer("Shop")),
        ));
        let tr = ok(block(
            engine
                .trackings(t.id.clone())
                .create(new_tracking(&c.id, "x")),
        ));
        let bad = block(
            engine
                .trackings(t.id.clone())
                .create(new_tracking(&c.id, "x")),
        );
        assert_eq!(code(bad), "already_exists");
        ok(block(engine.trackings(t.id.clone()).delete(&tr.id, None)));
        let mut seen = Vec::new();
        while let Some(tagsmith_core::Received::Event(e)) = next_event(&mut sub) {
            seen.push((e.seq, e.id, e.action.as_str()));
        }
        let ids: Vec<_> = seen.iter().map(|s| s.1.clone()).collect();
        assert_eq!(
            ids,
            vec![c.id.to_string(), tr.id.to_string(), tr.id.to_string()],
            "{seen:?}"
        );
        // The tenant's own creation is event 1; the failed create left no number behind.
        assert_eq!(
            seen.iter().map(|s| s.0).collect::<Vec<_>>(),
            vec![2, 3, 4],
            "sequence numbers: {seen:?}"
        );
        assert!(
            next_event(&mut other_sub).is_none(),
            "another tenant saw events"
        );
        // Resume from a known sequence number.
        let mut resumed = ok(block(engine.subscribe(&t.id, Some(seen[0].0))));
        match next_event(&mut resumed) {
            Some(tagsmith_core::Received::Event(e)) => assert_eq!(e.id, tr.id.to_string()),
            other => panic!("resume gave {other:?}"),
        }
        // Resuming ahead of the log (a restored backup) is a reset, never a silent gap.
        let ahead = ok(block(engine.events(&t.id, 10_000, 10)));
        assert!(ahead.reset && ahead.events.is_empty(), "{ahead:?}");
        assert_eq!(ahead.last_seq, 4);
        let resumed = ok(block(engine.events(&t.id, ahead.last_seq, 10)));
        assert!(!resumed.reset && resumed.events.is_empty());
        assert!(ok(block(engine.events(&t.id, u64::MAX, 10))).reset);
        let mut sub_ahead = ok(block(engine.subscribe(&t.id, Some(u64::MAX))));
        assert!(matches!(
            next_event(&mut sub_ahead),
            Some(tagsmith_core::Received::Reset { .. })
        ));
        // Polling an unknown tenant is empty, not an error.
        let unknown = ok(block(engine.events(&TenantId::new("ten_unknown"), 0, 10)));
        assert!(unknown.events.is_empty() && !unknown.reset && unknown.missed == 0);
        // A waiting subscriber is woken by a commit in another thread.
        let mut waiting = ok(block(engine.subscribe(&t.id, None)));
        let writer = engine.customers(t.id.clone());
        let handle = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            ok(block(writer.create(new_customer("Second"))))
        });
        let got = ok(block(waiting.next()));
        let c2 = handle.join().unwrap();
        match got {
            tagsmith_core::Received::Event(e) => assert_eq!(e.id, c2.id.to_string()),
            other => panic!("{other:?}"),
        }
        // close() wakes a waiting subscriber with `unavailable`.
        let mut parked = ok(block(engine.subscribe(&t.id, None)));
        let closer = engine.clone();
        let handle = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            ok(closer.close());
        });
        assert_eq!(code(block(parked.next())), "unavailable");
        handle.join().unwrap();
    }

    pub fn the_log_is_pruned_and_slow_readers_are_told(make: fn(EngineOptions) -> Engine) {
        let engine = make(EngineOptions {
            event_retention: EventRetention {
                max_events: 100,
                max_age_secs: 3600,
            },
            ..Default::default()
        });
        let t = ok(block(engine.create_tenant("Lag")));
        let mut sub = ok(block(engine.subscribe(&t.id, None)));
        let customers = engine.customers(t.id.clone());
        let c = ok(block(customers.create(new_customer("Shop"))));
        let mut version = 1;
        for i in 0..300 {
            let patch = CustomerPatch {
                version,
                name: Some(format!("n{i}")),
                ..Default::default()
            };
            version = ok(block(customers.update(&c.id, patch))).version;
        }
        // 302 events written; at most 100 + one pruning interval kept.
        let all = ok(block(engine.events(&t.id, 0, 10_000)));
        assert!(all.missed > 0, "nothing was pruned");
        assert!(
            (100..=100 + 32).contains(&all.events.len()),
            "kept {} events",
            all.events.len()
        );
        assert_eq!(all.missed + all.events.len() as u64, 302);
        assert_eq!(all.last_seq, 302);
        assert!(all.events.windows(2).all(|w| w[1].seq == w[0].seq + 1));
        match next_event(&mut sub) {
            Some(tagsmith_core::Received::Lagged {
                missed,
                resume_from,
            }) => {
                assert_eq!(
                    missed,
                    all.missed - 1,
                    "the subscriber started after event 1"
                );
                assert_eq!(resume_from, all.events[0].seq);
            }
            other => panic!("expected lag, got {other:?}"),
        }
        match next_event(&mut sub) {
            Some(tagsmith_core::Received::Event(e)) => assert_eq!(e.seq, all.events[0].seq),
            other => panic!("{other:?}"),
        }
        // Polling in pages walks the rest without gaps.
        let mut after = all.events[0].seq;
        let mut n = 1;
        loop {
            let page = ok(block(engine.events(&t.id, after, 7)));
            assert_eq!(page.missed, 0);
            if page.events.is_empty() {
                break;
            }
            assert_eq!(page.events[0].seq, after + 1);
            n += page.events.len();
            after = page.last_seq;
        }
        assert_eq!(n, all.events.len());
        // A retention of 0 still keeps the event just written.
        // (Hosts' options are validated; a Rust caller building options by hand is clamped.)
        let zero = Engine::with_options(
            Storage::memory(),
            Arc::new(SystemEnv),
            &EngineOptions {
                event_retention: EventRetention {
                    max_events: 0,
                    max_age_secs: 3600,
                },
                ..Default::default()
            },
        );
        let z = ok(block(zero.create_tenant("Zero")));
        ok(block(
            zero.customers(z.id.clone()).create(new_customer("Shop")),
        ));
        let last = ok(block(zero.events(&z.id, 0, 10)));
        assert_eq!(
            (
                last.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
                last.missed
            ),
            (vec![2], 1)
        );
        // Another tenant's log is untouched by this one's pruning.
        let other = ok(block(engine.create_tenant("Quiet")));
        let quiet = ok(block(engine.events(&other.id, 0, 10)));
        assert_eq!((quiet.events.len(), quiet.missed), (1, 0));
    }

    pub fn events_follow_commit_order_under_concurrent_writers(engine: Engine) {
        let t = ok(block(engine.create_tenant("Order")));
        let u = ok(block(engine.create_tenant("Other order")));
        let customers = engine.customers(t.id.clone());
        let c = ok(block(customers.create(new_customer("Shop"))));
        std::thread::scope(|s| {
            for w in 0..4 {
                let customers = customers.clone();
                let id = c.id.clone();
                s.spawn(move || {
                    let mut done = 0;
                    while done < 25 {
                        let current = ok(block(customers.get(&id)));
                        let patch = CustomerPatch {
                            version: current.version,
                            name: Some(format!("w{w}-{done}")),
                            ..Default::default()
                        };
                        match block(customers.update(&id, patch)) {
                            Ok(_) => done += 1,
                            Err(e) if e.code() == "conflict" => {}
                            Err(e) => panic!("{e}"),
                        }
                    }
                });
            }
            // Another tenant writes at the same time, in its own sequence.
            let other = engine.customers(u.id.clone());
            s.spawn(move || {
                for i in 0..25 {
                    ok(block(other.create(new_customer(&format!("o{i}")))));
                }
            });
        });
        let batch = ok(block(engine.events(&t.id, 0, 1000)));
        let versions: Vec<i64> = batch
            .events
            .iter()
            .filter(|e| e.id == c.id.as_str())
            .map(|e| e.version)
            .collect();
        assert_eq!(
            versions,
            (1..=101).collect::<Vec<_>>(),
            "events out of commit order"
        );
        let seqs: Vec<u64> = batch.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=102).collect::<Vec<_>>(), "gaps in the sequence");
        let other = ok(block(engine.events(&u.id, 0, 1000)));
        assert_eq!(
            other.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (1..=26).collect::<Vec<_>>()
        );
    }

    pub fn sync_state_lives_beside_the_users_version(engine: Engine) {
        let t = ok(block(engine.create_tenant("Sync")));
        let c = ok(block(
            engine.customers(t.id.clone()).create(new_customer("Shop")),
        ));
        let trackings = engine.trackings(t.id.clone());
        let tr = ok(block(trackings.create(new_tracking(&c.id, "x"))));
        let mut update = SyncUpdate::status(SyncStatus::Synced);
        update.version = Some(1);
        update.external_ids.insert(
            "gtm".into(),
            [("trigger_id".to_owned(), "12".to_owned())].into(),
        );
        update.error = Some(Some("tag paused by GTM".into()));
        let synced = ok(block(trackings.set_sync_status(&tr.id, update)));
        assert!(synced.last_synced_at.is_some());
        assert_eq!(synced.version, 1, "a sync outcome moved the user's version");
        assert_eq!(synced.external_ids["gtm"]["trigger_id"], "12");
        assert_eq!(synced.sync_error.as_deref(), Some("tag paused by GTM"));
        // The user edits with the version read before the sync: no conflict.
        let patch = TrackingPatch {
            version: 1,
            selector: Some(Some("#other".into())),
            ..Default::default()
        };
        let edited = ok(block(trackings.update(&tr.id, patch)));
        assert_eq!(edited.version, 2);
        assert_eq!(edited.sync_status, SyncStatus::Pending);
        assert_eq!(edited.external_ids["gtm"]["trigger_id"], "12", "ids kept");
        assert_eq!(
            edited.sync_error.as_deref(),
            Some("tag paused by GTM"),
            "text kept"
        );
        assert_eq!(ok(block(trackings.get(&tr.id))), edited);
        // A sync outcome computed from version 1 is now the one refused.
        let mut late = SyncUpdate::status(SyncStatus::Synced);
        late.version = Some(1);
        assert_eq!(
            code(block(trackings.set_sync_status(&tr.id, late))),
            "conflict"
        );
        // `deleted` is not a sync outcome; bad platform keys are named.
        let err = block(trackings.set_sync_status(&tr.id, SyncUpdate::status(SyncStatus::Deleted)));
        assert_eq!(code(err), "invalid_input");
        let mut bad = SyncUpdate::status(SyncStatus::Failed);
        bad.external_ids
            .insert("Not A Key".into(), Default::default());
        let err = block(trackings.set_sync_status(&tr.id, bad)).unwrap_err();
        assert_eq!(err.fields()[0].field, "external_ids");
        // An empty map removes a platform's ids.
        let mut clear = SyncUpdate::status(SyncStatus::Pending);
        clear.external_ids.insert("gtm".into(), Default::default());
        assert!(
            ok(block(trackings.set_sync_status(&tr.id, clear)))
                .external_ids
                .is_empty()
        );
        let actions: Vec<_> = ok(block(engine.events(&t.id, 0, 100)))
            .events
            .into_iter()
            .filter(|e| e.id == tr.id.as_str())
            .map(|e| (e.action.as_str(), e.sync_status, e.version))
            .collect();
        assert_eq!(
            actions,
            vec![
                ("created", Some(SyncStatus::Pending), 1),
                ("status_changed", Some(SyncStatus::Synced), 1),
                ("updated", Some(SyncStatus::Pending), 2),
                ("status_changed", Some(SyncStatus::Pending), 2),
                ("status_changed", Some(SyncStatus::Pending), 2),
            ]
        );
    }

    pub fn closed_engines_refuse_calls(engine: Engine) {
        let t = ok(block(engine.create_tenant("Close")));
        ok(engine.close());
        ok(engine.close());
        let err = block(engine.customers(t.id).list(&ListOptions::default()));
        assert_eq!(code(err), "unavailable");
    }
}

/// Random interleaved operations across tenants never let one tenant read, list, update or
/// delete another's data.
mod isolation {
    use super::*;

    #[derive(Debug, Clone)]
    pub enum Op {
        CreateCustomer { tenant: usize },
        CreateTracking { tenant: usize, customer: usize },
        Get { actor: usize, record: usize },
        Update { actor: usize, record: usize },
        Delete { actor: usize, record: usize },
        List { actor: usize },
    }

    pub fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..3usize).prop_map(|tenant| Op::CreateCustomer { tenant }),
            (0..3usize, 0..8usize)
                .prop_map(|(tenant, customer)| Op::CreateTracking { tenant, customer }),
            (0..3usize, 0..16usize).prop_map(|(actor, record)| Op::Get { actor, record }),
            (0..3usize, 0..16usize).prop_map(|(actor, record)| Op::Update { actor, record }),
            (0..3usize, 0..16usize).prop_map(|(actor, record)| Op::Delete { actor, record }),
            (0..3usize).prop_map(|actor| Op::List { actor }),
        ]
    }

    #[derive(Clone)]
    enum Rec {
        Customer(CustomerId),
        /// A tracking and the customer it belongs to (so the model knows what a delete cascades).
        Tracking(TrackingId, CustomerId),
    }

    pub fn run(engine: Engine, ops: Vec<Op>) -> Result<(), TestCaseError> {
        let tenants: Vec<TenantId> = (0..3)
            .map(|i| ok(block(engine.create_tenant(&format!("T{i}")))).id)
            .collect();
        // Model: every record with its owner and whether it is live.
        let mut records: Vec<(usize, Rec, i64, bool)> = Vec::new();
        let mut live_customers: HashMap<usize, Vec<CustomerId>> = HashMap::new();
        let mut n = 0;
        for op in ops {
            n += 1;
            match op {
                Op::CreateCustomer { tenant } => {
                    let c = ok(block(
                        engine
                            .customers(tenants[tenant].clone())
                            .create(new_customer(&format!("c{n}"))),
                    ));
                    live_customers.entry(tenant).or_default().push(c.id.clone());
                    records.push((tenant, Rec::Customer(c.id), 1, true));
                }
                Op::CreateTracking { tenant, customer } => {
                    // Pick a customer of any tenant: a foreign one must be not_found.
                    let all: Vec<(usize, CustomerId)> = live_customers
                        .iter()
                        .flat_map(|(t, cs)| cs.iter().map(move |c| (*t, c.clone())))
                        .collect();
                    if all.is_empty() {
                        continue;
                    }
                    let (owner, cid) = all[customer % all.len()].clone();
                    let r = block(
                        engine
                            .trackings(tenants[tenant].clone())
                            .create(new_tracking(&cid, &format!("t{n}"))),
                    );
                    if owner == tenant {
                        records.push((tenant, Rec::Tracking(ok(r).id, cid), 1, true));
                    } else {
                        prop_assert_eq!(code(r), "not_found");
                    }
                }
                Op::Get { actor, record }
                | Op::Update { actor, record }
                | Op::Delete { actor, record }
                    if !records.is_empty() =>
                {
                    let kind = match op {
                        Op::Get { .. } => "get",
                        Op::Update { .. } => "update",
                        _ => "delete",
                    };
                    let i = record % records.len();
                    let (owner, rec, version, live) = records[i].clone();
                    let t = tenants[actor].clone();
                    let name = Some(format!("u{n}"));
                    let outcome: Result<i64, &str> = match &rec {
                        Rec::Customer(id) => {
                            let h = engine.customers(t);
                            match kind {
                                "get" => block(h.get(id)),
                                "update" => block(h.update(
                                    id,
                                    CustomerPatch {
                                        version,
                                        name,
                                        ..Default::default()
                                    },
                                )),
                                _ => block(h.delete(id, None)),
                            }
                            .map(|c| c.version)
                            .map_err(|e| e.code())
                        }
                        Rec::Tracking(id, _) => {
                            let h = engine.trackings(t);
                            match kind {
                                "get" => block(h.get(id)),
                                "update" => block(h.update(
                                    id,
                                    TrackingPatch {
                                        version,
                                        name,
                                        ..Default::default()
                                    },
                                )),
                                _ => block(h.delete(id, None)),
                            }
                            .map(|c| c.version)
                            .map_err(|e| e.code())
                        }
                    };
                    if owner != actor || !live {
                        prop_assert_eq!(outcome, Err("not_found"));
                        continue;
                    }
                    let v = outcome
                        .map_err(|c| TestCaseError::fail(format!("own record refused: {c}")))?;
                    records[i].2 = v;
                    if kind == "delete" {
                        records[i].3 = false;
                        if let Rec::Customer(id) = &rec {
                            live_customers.entry(owner).or_default().retain(|c| c != id);
                            // Its trackings went with it (by the model, not by asking the engine).
                            for r in records.iter_mut().filter(|r| r.0 == owner && r.3) {
                                if matches!(&r.1, Rec::Tracking(_, cid) if cid == id) {
                                    r.3 = false;
                                }
                            }
                        }
                    }
                }
                Op::List { actor } => {
                    let t = tenants[actor].clone();
                    let cs = ok(block(engine.customers(t.clone()).list(&ListOptions {
                        limit: Some(1000),
                        cursor: None,
                    })));
                    let ts = ok(block(engine.trackings(t).list(&ListTrackings {
                        limit: Some(1000),
                        ..Default::default()
                    })));
                    prop_assert!(cs.items.iter().all(|c| c.tenant_id == tenants[actor]));
                    prop_assert!(ts.items.iter().all(|c| c.tenant_id == tenants[actor]));
                    // Exactly the tenant's live records, by id.
                    let mut want_c: Vec<String> = Vec::new();
                    let mut want_t: Vec<String> = Vec::new();
                    for r in records.iter().filter(|r| r.0 == actor && r.3) {
                        match &r.1 {
                            Rec::Customer(id) => want_c.push(id.to_string()),
                            Rec::Tracking(id, _) => want_t.push(id.to_string()),
                        }
                    }
                    let got_c: Vec<String> = cs.items.iter().map(|c| c.id.to_string()).collect();
                    let got_t: Vec<String> = ts.items.iter().map(|t| t.id.to_string()).collect();
                    prop_assert_eq!(got_c, want_c);
                    prop_assert_eq!(got_t, want_t);
                    prop_assert_eq!(cs.total, cs.items.len() as u64);
                    prop_assert_eq!(ts.total, ts.items.len() as u64);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

macro_rules! backend_suite {
    ($name:ident, $make:expr, $with:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn paging_walks_every_record_once() {
                suite::paging_walks_every_record_once($make);
            }
            #[test]
            fn stale_versions_conflict() {
                suite::stale_versions_conflict($make);
            }
            #[test]
            fn deleting_a_customer_deletes_its_trackings() {
                suite::deleting_a_customer_deletes_its_trackings($make);
            }
            #[test]
            fn the_activity_log_names_actors_and_filters() {
                suite::the_activity_log_names_actors_and_filters($make);
            }
            #[test]
            fn change_events_follow_commits() {
                suite::change_events_follow_commits($make);
            }
            #[test]
            fn the_log_is_pruned_and_slow_readers_are_told() {
                suite::the_log_is_pruned_and_slow_readers_are_told($with);
            }
            #[test]
            fn events_follow_commit_order_under_concurrent_writers() {
                suite::events_follow_commit_order_under_concurrent_writers($make);
            }
            #[test]
            fn sync_state_lives_beside_the_users_version() {
                suite::sync_state_lives_beside_the_users_version($make);
            }
            #[test]
            fn closed_engines_refuse_calls() {
                suite::closed_engines_refuse_calls($make);
            }

            proptest! {
                #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
                #[test]
                fn tenants_never_see_each_other(ops in proptest::collection::vec(isolation::op(), 1..60)) {
                    isolation::run($make, ops)?;
                }
            }
        }
    };
}

fn memory_with(o: EngineOptions) -> Engine {
    Engine::with_options(Storage::memory(), Arc::new(SystemEnv), &o)
}

fn sqlite_memory_with(o: EngineOptions) -> Engine {
    Engine::with_options(
        Storage::new(ok(SqliteStore::in_memory())),
        Arc::new(SystemEnv),
        &o,
    )
}

fn sqlite_file_with(o: EngineOptions) -> Engine {
    ok(Engine::open_with(temp_db("suite"), &o))
}

backend_suite!(memory, memory_with(EngineOptions::default()), memory_with);
backend_suite!(
    sqlite_memory,
    sqlite_memory_with(EngineOptions::default()),
    sqlite_memory_with
);
backend_suite!(
    sqlite_file,
    sqlite_file_with(EngineOptions::default()),
    sqlite_file_with
);

#[cfg(feature = "postgres")]
fn postgres_with(o: EngineOptions) -> Engine {
    Engine::with_options(
        ok(Storage::postgres(
            &common::postgres_url(),
            &common::postgres_options(),
        )),
        Arc::new(SystemEnv),
        &o,
    )
}

#[cfg(feature = "postgres")]
backend_suite!(
    postgres,
    postgres_with(EngineOptions::default()),
    postgres_with
);

// SQLite file specifics: durability, corrupt, newer and locked files.
#[test]
fn sqlite_reopen_keeps_data() {
    let path = temp_db("reopen");
    let engine = ok(Engine::open(&path));
    let t = ok(block(engine.create_tenant("Keep 🚀")));
    let c = ok(block(
        engine.customers(t.id.clone()).create(new_customer("Shop")),
    ));
    ok(engine.close());
    let again = ok(Engine::open(&path));
    assert_eq!(ok(block(again.get_tenant(&t.id))).name, "Keep 🚀");
    assert_eq!(ok(block(again.customers(t.id).get(&c.id))).name, "Shop");
}

#[test]
fn sqlite_corrupt_file_is_a_storage_error() {
    let path = temp_db("corrupt");
    ok(std::fs::write(
        &path,
        b"this is not a database, just some bytes of text........".repeat(100),
    )
    .map_err(|e| tagsmith_core::Error::storage(e.to_string())));
    let err = Engine::open(&path).map(|_| ()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.message().contains("not a tagsmith database"), "{err}");
}

#[test]
fn sqlite_newer_schema_is_refused_naming_both_versions() {
    let path = temp_db("newer");
    ok(Engine::open(&path).and_then(|e| e.close()));
    let conn = rusqlite_conn(&path);
    conn.pragma_update(None, "user_version", 99)
        .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    let err = Engine::open(&path).map(|_| ()).unwrap_err();
    assert_eq!(err.code(), "storage");
    let v = tagsmith_core::store::sqlite::SCHEMA_VERSION.to_string();
    assert!(
        err.message().contains("99") && err.message().contains(&v),
        "{err}"
    );
}

#[test]
fn sqlite_negative_schema_version_is_refused() {
    let path = temp_db("negative");
    ok(Engine::open(&path).and_then(|e| e.close()));
    rusqlite_conn(&path)
        .pragma_update(None, "user_version", -3)
        .unwrap_or_else(|e| panic!("{e}"));
    let err = Engine::open(&path).map(|_| ()).unwrap_err();
    assert_eq!(err.code(), "storage");
    assert!(err.message().contains("-3"), "{err}");
}

#[test]
fn sqlite_locked_file_is_a_storage_error_not_a_hang() {
    let path = temp_db("locked");
    let engine = ok(Engine::open(&path));
    let t = ok(block(engine.create_tenant("Locked")));
    let conn = rusqlite_conn(&path);
    conn.execute_batch("BEGIN EXCLUSIVE")
        .unwrap_or_else(|e| panic!("{e}"));
    let err = block(engine.customers(t.id).create(new_customer("Shop"))).unwrap_err();
    assert_eq!(err.code(), "storage");
    assert!(err.message().contains("locked"), "{err}");
}

#[test]
fn sqlite_readers_run_beside_the_writer_and_never_go_back_in_time() {
    let engine = ok(Engine::open(temp_db("threads")));
    let t = ok(block(engine.create_tenant("Threads")));
    let customers = engine.customers(t.id.clone());
    let c = ok(block(customers.create(new_customer("Shop"))));
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut version = 1;
            for i in 0..150 {
                let patch = CustomerPatch {
                    version,
                    name: Some(format!("v{i}")),
                    ..Default::default()
                };
                version = ok(block(customers.update(&c.id, patch))).version;
                ok(block(customers.create(new_customer(&format!("Extra{i}")))));
            }
            done.store(true, std::sync::atomic::Ordering::Release);
        });
        let readers: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    let (mut last_version, mut last_total) = (0, 0);
                    while !done.load(std::sync::atomic::Ordering::Acquire) {
                        let seen = ok(block(customers.get(&c.id)));
                        assert!(seen.version >= last_version, "read went back in time");
                        last_version = seen.version;
                        let page = ok(block(customers.list(&ListOptions {
                            limit: Some(1000),
                            cursor: None,
                        })));
                        assert_eq!(
                            page.items.len() as u64,
                            page.total,
                            "count and rows disagree"
                        );
                        assert!(page.total >= last_total);
                        last_total = page.total;
                    }
                })
            })
            .collect();
        for r in readers {
            r.join().unwrap_or_else(|_| panic!("reader failed"));
        }
    });
    assert_eq!(ok(block(customers.get(&c.id))).version, 151);
}

fn rusqlite_conn(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn engine_options_from_hosts_are_checked_by_name() {
    let bad: EngineOptions = ok(from_json(serde_json::json!({
        "event_retention": {"max_events": 0, "max_age_secs": 0}, "busy_timeout_ms": 99_999_999
    })));
    let err = Engine::open_with(temp_db("bad-options"), &bad)
        .map(|_| ())
        .unwrap_err();
    let fields: Vec<&str> = err.fields().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "event_retention.max_events",
            "event_retention.max_age_secs",
            "busy_timeout_ms"
        ]
    );
    let ok_options: EngineOptions = ok(from_json(
        serde_json::json!({"event_retention": {"max_events": 5}, "busy_timeout_ms": 250}),
    ));
    assert_eq!(ok_options.event_retention.max_events, 5);
    assert_eq!(ok_options.event_retention.max_age_secs, 30 * 24 * 3600);
    let engine = ok(Engine::open_with(temp_db("options"), &ok_options));
    assert_eq!(engine.backend(), "sqlite");
}

#[test]
fn kinds_are_the_documented_strings() {
    let kinds: Vec<_> = TrackingKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "button_click",
            "link_click",
            "form_submit",
            "page_view",
            "element_visibility",
            "scroll_depth",
            "custom_event"
        ]
    );
}
