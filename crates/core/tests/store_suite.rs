//! Store-level conformance: every trait method of every backend, called with a foreign tenant,
//! answers `not_found` (or nothing) and changes nothing; a unit of work dropped uncommitted
//! leaves no trace; aggregates a backend lacks answer `unavailable` naming them.
//! PostgreSQL runs it too (feature `postgres`; `TAGSMITH_TEST_POSTGRES` names the server, see
//! `scripts/postgres.sh`).
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

mod common;

use tagsmith_core::events::{Change, ChangeAction, Entity, EventFilter};
use tagsmith_core::page::Slice;
use tagsmith_core::store::memory::MemoryStore;
use tagsmith_core::store::sqlite::SqliteStore;
use tagsmith_core::store::{
    Aggregate, Backend, CustomerStore, EventStore, TenantStore, TrackingStore,
};
use tagsmith_core::{
    Customer, CustomerId, GoogleConnection, Storage, SyncStatus, SyncUpdate, Tenant, TenantId,
    Timestamp, Tracking, TrackingId,
};

/// What this suite exercises: the record stores and the event log, beside units of work.
trait Stores: TenantStore + CustomerStore + TrackingStore + EventStore + Backend {}
impl<T: TenantStore + CustomerStore + TrackingStore + EventStore + Backend> Stores for T {}

fn block<F: std::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

fn at() -> Timestamp {
    Timestamp::from_micros(1_760_000_000_000_000)
}

fn tenant(id: &str) -> Tenant {
    Tenant {
        id: TenantId::new(id),
        name: id.to_owned(),
        created_at: at(),
    }
}

fn customer(tenant: &str, id: &str) -> Customer {
    Customer {
        id: CustomerId::new(id),
        tenant_id: TenantId::new(tenant),
        name: id.to_owned(),
        website_url: "https://shop.example".into(),
        google: GoogleConnection::NotConnected,
        version: 1,
        created_at: at(),
        updated_at: at(),
    }
}

fn tracking(tenant: &str, customer: &str, id: &str) -> Tracking {
    let mut t: Tracking = serde_json::from_value(serde_json::json!({
        "id": id, "tenant_id": tenant, "customer_id": customer, "name": id, "kind": "button_click",
        "selector": "button.buy", "url_rule": null, "ga4_event": null, "ga4_params": {},
        "ads": null, "scroll_percent": null, "sync_status": "pending", "sync_error": null,
        "external_ids": {}, "version": 1, "created_at": "2025-10-09T08:53:20Z",
        "updated_at": "2025-10-09T08:53:20Z", "last_synced_at": null
    }))
    .unwrap();
    t.created_at = at();
    t.updated_at = at();
    t
}

fn change(id: &str) -> Change {
    Change {
        entity: Entity::Customer,
        id: id.to_owned(),
        action: ChangeAction::Created,
        version: 1,
        sync_status: None,
        job_state: None,
        at: at(),
        actor: None,
    }
}

fn not_found<T: std::fmt::Debug>(r: tagsmith_core::Result<T>, what: &str) {
    match r {
        Err(e) if e.code() == "not_found" => {}
        other => panic!("{what}: expected not_found, got {other:?}"),
    }
}

/// Two tenants, A with a customer and a tracking; B owns nothing.
fn seed(store: &dyn Backend) {
    block(async {
        let mut tx = store.begin().await.unwrap();
        tx.tenants()
            .unwrap()
            .insert_tenant(&tenant("ten_a"))
            .await
            .unwrap();
        tx.tenants()
            .unwrap()
            .insert_tenant(&tenant("ten_b"))
            .await
            .unwrap();
        tx.customers()
            .unwrap()
            .insert_customer(&customer("ten_a", "cus_a"))
            .await
            .unwrap();
        tx.trackings()
            .unwrap()
            .insert_tracking(&tracking("ten_a", "cus_a", "trk_a"))
            .await
            .unwrap();
        tx.append_event(&TenantId::new("ten_a"), &change("cus_a"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
    });
}

fn foreign_tenant_touches_nothing<S: Stores>(store: S) {
    seed(&store);
    let b = TenantId::new("ten_b");
    let (cus, trk) = (CustomerId::new("cus_a"), TrackingId::new("trk_a"));
    let slice = Slice {
        after: None,
        limit: 100,
    };
    block(async {
        // Reads.
        not_found(store.get_customer(&b, &cus).await, "get_customer");
        not_found(store.get_tracking(&b, &trk).await, "get_tracking");
        assert_eq!(store.list_customers(&b, slice).await.unwrap().total, 0);
        assert_eq!(
            store.list_trackings(&b, None, slice).await.unwrap().total,
            0
        );
        assert_eq!(
            store
                .list_trackings(&b, Some(&cus), slice)
                .await
                .unwrap()
                .total,
            0
        );
        assert!(
            store
                .read_events(&b, 0, 100)
                .await
                .unwrap()
                .events
                .is_empty()
        );
        // Writes, each in its own unit that then commits (so nothing is hidden by a rollback).
        let mut foreign_customer = customer("ten_b", "cus_a");
        foreign_customer.version = 2;
        let mut foreign_tracking = tracking("ten_b", "cus_a", "trk_a");
        foreign_tracking.version = 2;
        let mut tx = store.begin().await.unwrap();
        not_found(
            tx.customers()
                .unwrap()
                .replace_customer(&foreign_customer, 1)
                .await,
            "replace_customer",
        );
        not_found(
            tx.customers()
                .unwrap()
                .delete_customer(&b, &cus, None, at())
                .await,
            "delete_customer",
        );
        not_found(
            tx.trackings()
                .unwrap()
                .replace_tracking(&foreign_tracking, 1)
                .await,
            "replace_tracking",
        );
        not_found(
            tx.trackings()
                .unwrap()
                .set_sync_state(&b, &trk, &SyncUpdate::status(SyncStatus::Synced), at())
                .await,
            "set_sync_state",
        );
        not_found(
            tx.trackings()
                .unwrap()
                .delete_tracking(&b, &trk, None, at())
                .await,
            "delete_tracking",
        );
        // A tracking of tenant B naming A's customer.
        not_found(
            tx.trackings()
                .unwrap()
                .insert_tracking(&tracking("ten_b", "cus_a", "trk_b"))
                .await,
            "insert_tracking",
        );
        // Pruning B's log never touches A's.
        tx.prune_events(&b, u64::MAX, Timestamp::from_micros(i64::MAX))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // A's records are exactly as they were.
        let a = TenantId::new("ten_a");
        let c = store.get_customer(&a, &cus).await.unwrap();
        assert_eq!((c.version, c.tenant_id.as_str()), (1, "ten_a"));
        let t = store.get_tracking(&a, &trk).await.unwrap();
        assert_eq!((t.version, t.sync_status), (1, SyncStatus::Pending));
        assert_eq!(store.read_events(&a, 0, 10).await.unwrap().events.len(), 1);
        not_found(
            store.get_tracking(&b, &TrackingId::new("trk_b")).await,
            "the refused insert",
        );
    });
}

fn an_uncommitted_unit_leaves_no_trace<S: Stores>(store: S) {
    seed(&store);
    let a = TenantId::new("ten_a");
    block(async {
        {
            let mut tx = store.begin().await.unwrap();
            tx.customers()
                .unwrap()
                .insert_customer(&customer("ten_a", "cus_new"))
                .await
                .unwrap();
            let mut renamed = customer("ten_a", "cus_a");
            renamed.name = "renamed".into();
            renamed.version = 2;
            tx.customers()
                .unwrap()
                .replace_customer(&renamed, 1)
                .await
                .unwrap();
            tx.trackings()
                .unwrap()
                .set_sync_state(
                    &a,
                    &TrackingId::new("trk_a"),
                    &SyncUpdate::status(SyncStatus::Synced),
                    at(),
                )
                .await
                .unwrap();
            assert_eq!(tx.append_event(&a, &change("cus_new")).await.unwrap(), 2);
            tx.prune_events(&a, u64::MAX, at()).await.unwrap();
            // Dropped here: an error on the way would do the same.
        }
        not_found(
            store.get_customer(&a, &CustomerId::new("cus_new")).await,
            "rolled-back insert",
        );
        assert_eq!(
            store
                .get_customer(&a, &CustomerId::new("cus_a"))
                .await
                .unwrap()
                .name,
            "cus_a"
        );
        let t = store
            .get_tracking(&a, &TrackingId::new("trk_a"))
            .await
            .unwrap();
        assert_eq!(t.sync_status, SyncStatus::Pending);
        let log = store.read_events(&a, 0, 10).await.unwrap();
        assert_eq!((log.head, log.events.len()), (1, 1), "{log:?}");
        // The next event takes the number the rolled-back one had: no gaps.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.append_event(&a, &change("cus_a")).await.unwrap(), 2);
        tx.commit().await.unwrap();
    });
}

fn an_event_for_an_unknown_tenant_is_refused<S: Stores>(store: S) {
    block(async {
        let mut tx = store.begin().await.unwrap();
        let r = tx
            .append_event(&TenantId::new("ten_nobody"), &change("x"))
            .await;
        not_found(r, "append_event");
    });
}

fn pruning_drops_only_a_prefix_of_the_log<S: Stores>(store: S) {
    seed(&store);
    let a = TenantId::new("ten_a");
    block(async {
        // A clock that stepped back: event 3 carries an older time than event 2.
        let mut tx = store.begin().await.unwrap();
        let mut late = change("x");
        late.at = Timestamp::from_micros(at().as_micros() + 10_000_000);
        tx.append_event(&a, &late).await.unwrap();
        let mut early = change("y");
        early.at = Timestamp::from_micros(at().as_micros() - 10_000_000);
        tx.append_event(&a, &early).await.unwrap();
        // Prune what is older than `at()`: event 1 is at `at()` (kept), so nothing goes, not even
        // event 3 behind it.
        tx.prune_events(&a, 0, at()).await.unwrap();
        tx.commit().await.unwrap();
        let log = store.read_events(&a, 0, 10).await.unwrap();
        assert_eq!(
            log.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        // Everything older than event 2's time: events 1 goes, 2 stays, and 3 stays behind it.
        let mut tx = store.begin().await.unwrap();
        tx.prune_events(&a, 0, Timestamp::from_micros(at().as_micros() + 1))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let log = store.read_events(&a, 0, 10).await.unwrap();
        assert_eq!(
            (
                log.oldest,
                log.events.iter().map(|e| e.seq).collect::<Vec<_>>()
            ),
            (2, vec![2, 3])
        );
    });
}

fn the_activity_log_reads_by_record_actor_and_time<S: Stores>(store: S) {
    seed(&store);
    let a = TenantId::new("ten_a");
    let b = TenantId::new("ten_b");
    let secs = |s: i64| Timestamp::from_micros(at().as_micros() + s * 1_000_000);
    block(async {
        // Events 2..=7 after the seed's one: two records, two actors (one unnamed), a job.
        let mut tx = store.begin().await.unwrap();
        for (i, (entity, id, actor)) in [
            (Entity::Customer, "cus_a", Some("user:1")),
            (Entity::Tracking, "trk_a", Some("user:2")),
            (Entity::Customer, "cus_a", None),
            (Entity::Job, "7", None),
            (Entity::Tracking, "trk_a", Some("user:1")),
            (Entity::Customer, "cus_b", Some("user:1")),
        ]
        .into_iter()
        .enumerate()
        {
            let mut c = change(id);
            c.entity = entity;
            c.actor = actor.map(str::to_owned);
            c.at = secs(i as i64 + 1);
            tx.append_event(&a, &c).await.unwrap();
        }
        // Another tenant's events with the same ids and actor never show.
        let mut other = change("cus_a");
        other.actor = Some("user:1".into());
        tx.append_event(&b, &other).await.unwrap();
        tx.commit().await.unwrap();

        let seqs = |filter: EventFilter, after: u64, limit: usize| {
            let store = &store;
            let a = a.clone();
            async move {
                let range = store
                    .read_events_where(&a, after, limit, &filter)
                    .await
                    .unwrap();
                assert_eq!(range.head, 7, "{range:?}");
                range.events.iter().map(|e| e.seq).collect::<Vec<_>>()
            }
        };
        let by_id = EventFilter {
            id: Some("cus_a".into()),
            ..EventFilter::default()
        };
        assert_eq!(seqs(by_id.clone(), 0, 10).await, [1, 2, 4]);
        assert_eq!(seqs(by_id.clone(), 1, 1).await, [2]);
        assert_eq!(seqs(by_id, 4, 10).await, Vec::<u64>::new());
        let user1 = EventFilter {
            actor: Some("user:1".into()),
            ..EventFilter::default()
        };
        assert_eq!(seqs(user1.clone(), 0, 10).await, [2, 6, 7]);
        let trackings_of_user1 = EventFilter {
            entity: Some(Entity::Tracking),
            ..user1
        };
        assert_eq!(seqs(trackings_of_user1, 0, 10).await, [6]);
        let jobs = EventFilter {
            entity: Some(Entity::Job),
            ..EventFilter::default()
        };
        assert_eq!(seqs(jobs, 0, 10).await, [5]);
        // A time range: at or after `since`, before `until`.
        let window = EventFilter {
            since: Some(secs(2)),
            until: Some(secs(4)),
            ..EventFilter::default()
        };
        assert_eq!(seqs(window, 0, 10).await, [3, 4]);
        let log = store.read_events(&a, 0, 10).await.unwrap().events;
        assert_eq!(log[1].actor.as_deref(), Some("user:1"));
        assert_eq!(log[3].actor, None);
        assert_eq!(log[4].entity, Entity::Job);
    });
}

fn replacing_reports_the_stored_sync_status<S: Stores>(store: S) {
    seed(&store);
    let a = TenantId::new("ten_a");
    block(async {
        let mut tx = store.begin().await.unwrap();
        tx.trackings()
            .unwrap()
            .set_sync_state(
                &a,
                &TrackingId::new("trk_a"),
                &SyncUpdate::status(SyncStatus::Synced),
                at(),
            )
            .await
            .unwrap();
        let mut edit = tracking("ten_a", "cus_a", "trk_a");
        edit.version = 2;
        // The caller read `pending` before the sync landed; storage says what it holds.
        let stored = tx
            .trackings()
            .unwrap()
            .replace_tracking(&edit, 1)
            .await
            .unwrap();
        assert_eq!(stored, SyncStatus::Synced);
        tx.commit().await.unwrap();
    });
}

macro_rules! store_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn foreign_tenant_touches_nothing() {
                super::foreign_tenant_touches_nothing($make);
            }
            #[test]
            fn an_uncommitted_unit_leaves_no_trace() {
                super::an_uncommitted_unit_leaves_no_trace($make);
            }
            #[test]
            fn pruning_drops_only_a_prefix_of_the_log() {
                super::pruning_drops_only_a_prefix_of_the_log($make);
            }
            #[test]
            fn the_activity_log_reads_by_record_actor_and_time() {
                super::the_activity_log_reads_by_record_actor_and_time($make);
            }
            #[test]
            fn replacing_reports_the_stored_sync_status() {
                super::replacing_reports_the_stored_sync_status($make);
            }
            #[test]
            fn an_event_for_an_unknown_tenant_is_refused() {
                super::an_event_for_an_unknown_tenant_is_refused($make);
            }
        }
    };
}

store_suite!(memory, MemoryStore::default());
store_suite!(sqlite_memory, SqliteStore::in_memory().unwrap());
thread_local! {
    /// This test thread's temporary directories, removed when the thread ends (after the test
    /// dropped its store).
    static TEMP_DIRS: std::cell::RefCell<Vec<tempfile::TempDir>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn sqlite_file() -> SqliteStore {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("store.db")).unwrap();
    TEMP_DIRS.with(|d| d.borrow_mut().push(dir));
    store
}

store_suite!(sqlite_file, sqlite_file());
#[cfg(feature = "postgres")]
store_suite!(postgres, common::postgres_store());

#[test]
fn every_core_backend_states_its_aggregates() {
    let want = [
        Aggregate::Tenants,
        Aggregate::Customers,
        Aggregate::Trackings,
        Aggregate::Events,
        Aggregate::Jobs,
    ];
    assert_eq!(Storage::memory().capabilities(), want);
    assert_eq!(
        Storage::new(SqliteStore::in_memory().unwrap()).capabilities(),
        want
    );
}

#[test]
fn a_missing_aggregate_is_unavailable_naming_it() {
    let memory = Arc::new(MemoryStore::default());
    let storage = Storage::builder(memory.clone())
        .tenants(memory.clone())
        .events(memory)
        .build();
    assert_eq!(
        storage.capabilities(),
        [Aggregate::Tenants, Aggregate::Events]
    );
    let engine = tagsmith_core::Engine::new(storage, Arc::new(tagsmith_core::SystemEnv));
    let t = block(engine.create_tenant("Partial")).unwrap();
    let err = block(engine.customers(t.id).get(&CustomerId::new("cus_x"))).unwrap_err();
    assert_eq!(err.code(), "unavailable");
    assert!(err.message().contains("customers"), "{err}");
    assert!(!err.is_retryable());
}

#[test]
fn closing_sqlite_during_a_write_closes_nothing() {
    let store = sqlite_file();
    seed(&store);
    let a = TenantId::new("ten_a");
    block(async {
        let tx = store.begin().await.unwrap();
        let err = store.close().unwrap_err();
        assert_eq!((err.code(), err.is_retryable()), ("unavailable", true));
        // Reads still work: the readers were not closed.
        assert_eq!(store.read_events(&a, 0, 10).await.unwrap().events.len(), 1);
        drop(tx);
        store.close().unwrap();
        assert_eq!(
            store.read_events(&a, 0, 10).await.unwrap_err().code(),
            "unavailable"
        );
    });
}
