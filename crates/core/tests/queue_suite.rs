//! Queue conformance, in the manner of River's driver tests: every backend's `QueueStore`
//! answers the same calls the same way, with the clock passed in. PostgreSQL joins with one
//! `queue_suite!` line.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use tagsmith_core::queue::{Claim, Finish, JobFilter, JobId, JobState, NewJob, Outcome, Progress};
use tagsmith_core::store::CoreStore;
use tagsmith_core::store::memory::MemoryStore;
use tagsmith_core::store::sqlite::SqliteStore;
use tagsmith_core::{Tenant, TenantId, Timestamp};

mod common;

fn block<F: std::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

/// Seconds after a fixed instant.
fn t(secs: i64) -> Timestamp {
    Timestamp::from_micros(1_760_000_000_000_000 + secs * 1_000_000)
}

fn job(kind: &str) -> NewJob {
    NewJob::new(kind, serde_json::json!({"n": 1}))
}

fn claim<'a>(q: &'a str, worker: &'a str, limit: usize, now: i64) -> Claim<'a> {
    Claim {
        queue: q,
        worker,
        limit,
        now: t(now),
        lease_until: t(now + 30),
    }
}

fn ids(jobs: &[tagsmith_core::queue::Job]) -> Vec<i64> {
    jobs.iter().map(|j| j.id.0).collect()
}

fn done(id: JobId, attempt: u32, outcome: Outcome) -> Finish {
    Finish {
        id,
        attempt,
        outcome,
    }
}

fn claims_by_priority_then_time_then_id<S: CoreStore>(s: S) {
    block(async {
        let mut low = job("a");
        low.priority = 5;
        let mut later = job("b");
        later.run_at = Some(t(-5));
        let mut future = job("c");
        future.run_at = Some(t(100));
        let other_queue = job("d").queue("other");
        let added = s
            .enqueue(&[low, job("e"), later, future, other_queue, job("f")], t(0))
            .await
            .unwrap();
        let id = |i: usize| added[i].id.0;
        assert!(added.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(
            s.get_job(added[3].id).await.unwrap().state,
            JobState::Scheduled
        );
        let got = s.claim(&claim("default", "w1", 3, 0)).await.unwrap();
        // b is older (scheduled in the past), then e and f by id; a has priority 5.
        assert_eq!(ids(&got), [id(2), id(1), id(5)]);
        let j = &got[0];
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.attempt, 1);
        assert_eq!(j.lease_owner.as_deref(), Some("w1"));
        assert_eq!(j.lease_expires_at, Some(t(30)));
        assert_eq!(j.attempted_at, Some(t(0)));
        assert_eq!(j.args, serde_json::json!({"n": 1}));
        let got = s.claim(&claim("default", "w1", 10, 0)).await.unwrap();
        assert_eq!(ids(&got), [id(0)], "the future job is not due yet");
        assert!(
            s.claim(&claim("default", "w1", 10, 0))
                .await
                .unwrap()
                .is_empty()
        );
        let got = s.claim(&claim("default", "w1", 10, 100)).await.unwrap();
        assert_eq!(ids(&got), [id(3)], "due at its time");
        let got = s.claim(&claim("other", "w1", 10, 0)).await.unwrap();
        assert_eq!(ids(&got), [id(4)]);
    });
}

fn outcomes_are_guarded_by_attempt_and_owner<S: CoreStore>(s: S) {
    block(async {
        let added = s
            .enqueue(&[job("a"), job("b"), job("c"), job("d")], t(0))
            .await
            .unwrap();
        let got = s.claim(&claim("default", "w1", 4, 0)).await.unwrap();
        assert_eq!(got.len(), 4);
        let [a, b, c, d] = [added[0].id, added[1].id, added[2].id, added[3].id];
        // Another worker, or a stale attempt, changes nothing.
        let applied = s
            .finish("w2", &[done(a, 1, Outcome::Completed)], t(1))
            .await
            .unwrap();
        assert_eq!(applied, [false]);
        let applied = s
            .finish("w1", &[done(a, 2, Outcome::Completed)], t(1))
            .await
            .unwrap();
        assert_eq!(applied, [false]);
        assert_eq!(s.get_job(a).await.unwrap().state, JobState::Running);
        let applied = s
            .finish(
                "w1",
                &[
                    done(a, 1, Outcome::Completed),
                    done(
                        b,
                        1,
                        Outcome::Retry {
                            at: t(50),
                            error: "boom".into(),
                        },
                    ),
                    done(
                        c,
                        1,
                        Outcome::Discard {
                            error: "bad args".into(),
                        },
                    ),
                    done(d, 1, Outcome::Release),
                ],
                t(2),
            )
            .await
            .unwrap();
        assert_eq!(applied, [true, true, true, true]);
        let a = s.get_job(a).await.unwrap();
        assert_eq!(
            (a.state, a.finalized_at, a.lease_owner),
            (JobState::Completed, Some(t(2)), None)
        );
        let b = s.get_job(b).await.unwrap();
        assert_eq!(
            (b.state, b.scheduled_at, b.attempt),
            (JobState::Retryable, t(50), 1)
        );
        assert_eq!(b.errors.len(), 1);
        assert_eq!(
            (
                b.errors[0].attempt,
                b.errors[0].message.as_str(),
                b.errors[0].at
            ),
            (1, "boom", t(2))
        );
        assert_eq!(b.finalized_at, None);
        let c = s.get_job(c).await.unwrap();
        assert_eq!((c.state, c.finalized_at), (JobState::Discarded, Some(t(2))));
        assert_eq!(c.errors[0].message, "bad args");
        let d = s.get_job(d).await.unwrap();
        assert_eq!(
            (d.state, d.attempt, d.scheduled_at),
            (JobState::Available, 0, t(2))
        );
        // A second report of the same attempt changes nothing.
        let applied = s
            .finish(
                "w1",
                &[done(
                    a.id,
                    1,
                    Outcome::Discard {
                        error: "late".into(),
                    },
                )],
                t(3),
            )
            .await
            .unwrap();
        assert_eq!(applied, [false]);
        // The retry is claimed at its time, as attempt 2, and keeps its history.
        assert_eq!(
            ids(&s.claim(&claim("default", "w1", 10, 10)).await.unwrap()),
            [d.id.0]
        );
        let again = s.claim(&claim("default", "w1", 10, 50)).await.unwrap();
        assert_eq!(
            (again[0].id, again[0].attempt, again[0].errors.len()),
            (b.id, 2, 1)
        );
    });
}

fn expired_leases_are_rescued_and_late_workers_lose<S: CoreStore>(s: S) {
    block(async {
        let mut last_try = job("b");
        last_try.max_attempts = 1;
        let added = s
            .enqueue(&[job("a"), last_try, job("c")], t(0))
            .await
            .unwrap();
        let (a, b, c) = (added[0].id, added[1].id, added[2].id);
        s.claim(&claim("default", "w1", 3, 0)).await.unwrap();
        // c's worker is alive: its heartbeat extends the lease past the rescue.
        let lost = s.heartbeat("w1", &[(c, 1)], t(60)).await.unwrap();
        assert!(lost.is_empty());
        assert_eq!(
            s.rescue(t(30)).await.unwrap(),
            0,
            "not expired at the lease's end"
        );
        assert_eq!(s.rescue(t(31)).await.unwrap(), 2);
        let a_job = s.get_job(a).await.unwrap();
        assert_eq!(
            (a_job.state, a_job.lease_owner.as_deref()),
            (JobState::Retryable, None)
        );
        assert!(a_job.errors[0].message.contains("w1"), "{:?}", a_job.errors);
        assert_eq!(
            s.get_job(b).await.unwrap().state,
            JobState::Discarded,
            "out of attempts"
        );
        assert_eq!(s.get_job(c).await.unwrap().state, JobState::Running);
        // Another worker takes a; the first one's late report and heartbeat change nothing.
        let got = s.claim(&claim("default", "w2", 10, 31)).await.unwrap();
        assert_eq!((got[0].id, got[0].attempt), (a, 2));
        assert_eq!(
            s.finish("w1", &[done(a, 1, Outcome::Completed)], t(32))
                .await
                .unwrap(),
            [false]
        );
        assert_eq!(
            s.heartbeat("w1", &[(a, 1), (c, 1)], t(90)).await.unwrap(),
            [a]
        );
        assert_eq!(
            s.finish("w2", &[done(a, 2, Outcome::Completed)], t(33))
                .await
                .unwrap(),
            [true]
        );
        let a_job = s.get_job(a).await.unwrap();
        assert_eq!((a_job.state, a_job.attempt), (JobState::Completed, 2));
    });
}

fn unique_keys_hold_over_their_states<S: CoreStore>(s: S) {
    block(async {
        let first = s
            .enqueue(&[job("sync").unique_key("sync:1")], t(0))
            .await
            .unwrap()[0];
        assert!(!first.duplicate);
        let again = s
            .enqueue(
                &[
                    job("sync").unique_key("sync:1"),
                    job("sync").unique_key("sync:2"),
                ],
                t(0),
            )
            .await
            .unwrap();
        assert_eq!((again[0].id, again[0].duplicate), (first.id, true));
        assert!(!again[1].duplicate);
        // Running still holds the key; completed does not (the default states).
        s.claim(&claim("default", "w", 10, 0)).await.unwrap();
        assert!(
            s.enqueue(&[job("sync").unique_key("sync:1")], t(1))
                .await
                .unwrap()[0]
                .duplicate
        );
        s.finish("w", &[done(first.id, 1, Outcome::Completed)], t(2))
            .await
            .unwrap();
        let next = s
            .enqueue(&[job("sync").unique_key("sync:1")], t(3))
            .await
            .unwrap()[0];
        assert!(!next.duplicate);
        // Running the completed one again would make two: refused.
        let err = s.retry(first.id, t(4)).await.unwrap_err();
        assert_eq!(err.code(), "already_exists", "{err}");
        // A key over every state dedupes against completed jobs too.
        let mut once = job("report").unique_key("daily:1");
        once.unique_states = Some(JobState::ALL.to_vec());
        let r = s.enqueue(std::slice::from_ref(&once), t(0)).await.unwrap()[0];
        s.cancel(r.id, t(1)).await.unwrap();
        let again = s.enqueue(&[once], t(2)).await.unwrap()[0];
        assert_eq!((again.id, again.duplicate), (r.id, true));
    });
}

fn one_job_per_concurrency_key_runs<S: CoreStore>(s: S) {
    block(async {
        let mut a = job("sync");
        a.concurrency_key = Some("customer:1".into());
        let b = a.clone();
        let mut c = a.clone();
        c.concurrency_key = Some("customer:2".into());
        let added = s.enqueue(&[a, b, c, job("free")], t(0)).await.unwrap();
        let got = s.claim(&claim("default", "w", 10, 0)).await.unwrap();
        assert_eq!(ids(&got), [added[0].id.0, added[2].id.0, added[3].id.0]);
        assert!(
            s.claim(&claim("default", "w", 10, 0))
                .await
                .unwrap()
                .is_empty()
        );
        s.finish("w", &[done(added[0].id, 1, Outcome::Completed)], t(1))
            .await
            .unwrap();
        let got = s.claim(&claim("default", "w", 10, 1)).await.unwrap();
        assert_eq!(ids(&got), [added[1].id.0]);
    });
}

fn cancel_retry_and_progress<S: CoreStore>(s: S) {
    block(async {
        let added = s.enqueue(&[job("a"), job("b")], t(0)).await.unwrap();
        let (a, b) = (added[0].id, added[1].id);
        let c = s.cancel(a, t(1)).await.unwrap();
        assert_eq!((c.state, c.finalized_at), (JobState::Cancelled, Some(t(1))));
        assert_eq!(s.cancel(a, t(2)).await.unwrap_err().code(), "conflict");
        assert_eq!(
            s.get_job(JobId(999_999)).await.unwrap_err().code(),
            "not_found"
        );
        assert_eq!(
            s.cancel(JobId(999_999), t(2)).await.unwrap_err().code(),
            "not_found"
        );
        let got = s.claim(&claim("default", "w", 10, 2)).await.unwrap();
        assert_eq!(ids(&got), [b.0], "a cancelled job is never claimed");
        assert_eq!(s.retry(b, t(3)).await.unwrap_err().code(), "conflict");
        let p = Progress {
            percent: 40,
            message: Some("page 4 of 10".into()),
        };
        assert!(s.set_progress("w", b, 1, &p, t(3)).await.unwrap());
        assert!(!s.set_progress("other", b, 1, &p, t(3)).await.unwrap());
        assert_eq!(s.get_job(b).await.unwrap().progress, Some(p));
        // Cancelling a running job makes its worker lose it.
        s.cancel(b, t(4)).await.unwrap();
        assert_eq!(s.heartbeat("w", &[(b, 1)], t(40)).await.unwrap(), [b]);
        assert_eq!(
            s.finish("w", &[done(b, 1, Outcome::Completed)], t(5))
                .await
                .unwrap(),
            [false]
        );
        // Retrying a final job gives it one more attempt.
        let mut one = job("x");
        one.max_attempts = 1;
        let x = s.enqueue(&[one], t(5)).await.unwrap()[0].id;
        s.claim(&claim("default", "w", 10, 5)).await.unwrap();
        s.finish(
            "w",
            &[done(x, 1, Outcome::Discard { error: "no".into() })],
            t(6),
        )
        .await
        .unwrap();
        let r = s.retry(x, t(7)).await.unwrap();
        assert_eq!(
            (r.state, r.max_attempts, r.finalized_at, r.errors.len()),
            (JobState::Available, 2, None, 1)
        );
        assert_eq!(s.retry(a, t(7)).await.unwrap().state, JobState::Available);
    });
}

fn stats_lists_pending_and_pruning<S: CoreStore>(s: S) {
    block(async {
        let mut later = job("later");
        later.run_at = Some(t(100));
        assert!(!s.has_pending(t(0)).await.unwrap(), "nothing queued");
        s.enqueue(&[later], t(0)).await.unwrap();
        assert!(
            !s.has_pending(t(0)).await.unwrap(),
            "the later job is not due yet"
        );
        assert!(s.has_pending(t(100)).await.unwrap());
        let added = s
            .enqueue(&[job("a"), job("b"), job("c").queue("q2")], t(0))
            .await
            .unwrap();
        assert!(s.has_pending(t(0)).await.unwrap());
        assert_eq!(s.next_due("default").await.unwrap(), Some(t(0)));
        s.claim(&claim("default", "w", 1, 0)).await.unwrap();
        s.finish("w", &[done(added[0].id, 1, Outcome::Completed)], t(1))
            .await
            .unwrap();
        let st = s.stats(None).await.unwrap();
        assert_eq!(
            (st.available, st.scheduled, st.completed, st.running),
            (2, 1, 1, 0)
        );
        let s = &s;
        let kinds = |f: JobFilter| async move {
            s.list_jobs(&f)
                .await
                .unwrap()
                .into_iter()
                .map(|j| j.kind)
                .collect::<Vec<_>>()
        };
        let f = JobFilter {
            state: Some(JobState::Available),
            ..JobFilter::default()
        };
        assert_eq!(kinds(f).await, ["b", "c"]);
        let f = JobFilter {
            queue: Some("q2".into()),
            ..JobFilter::default()
        };
        assert_eq!(kinds(f).await, ["c"]);
        let f = JobFilter {
            after: Some(added[0].id),
            limit: Some(1),
            ..JobFilter::default()
        };
        assert_eq!(kinds(f).await, ["b"]);
        assert_eq!(
            s.prune(t(1), 100).await.unwrap(),
            0,
            "finalized at t(1), not before"
        );
        assert_eq!(s.prune(t(2), 100).await.unwrap(), 1);
        assert_eq!(
            s.get_job(added[0].id).await.unwrap_err().code(),
            "not_found"
        );
        assert_eq!(s.stats(None).await.unwrap().completed, 0);
    });
}

fn tenant_jobs_publish_their_states<S: CoreStore>(s: S) {
    use tagsmith_core::events::{ChangeAction, Entity};
    block(async {
        let ten = TenantId::new("ten_jobs");
        let mut tx = s.begin().await.unwrap();
        tx.tenants()
            .unwrap()
            .insert_tenant(&Tenant {
                id: ten.clone(),
                name: "Jobs".into(),
                created_at: t(0),
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let id = s
            .enqueue(&[job("a").tenant(ten.clone())], t(0))
            .await
            .unwrap()[0]
            .id;
        s.claim(&claim("default", "w", 1, 0)).await.unwrap();
        s.finish("w", &[done(id, 1, Outcome::Completed)], t(1))
            .await
            .unwrap();
        let log = s.read_events(&ten, 0, 10).await.unwrap().events;
        let seen: Vec<_> = log
            .iter()
            .map(|e| (e.entity, e.action, e.job_state, e.version))
            .collect();
        assert_eq!(
            seen,
            [
                (
                    Entity::Job,
                    ChangeAction::Created,
                    Some(JobState::Available),
                    0
                ),
                (
                    Entity::Job,
                    ChangeAction::StatusChanged,
                    Some(JobState::Running),
                    1
                ),
                (
                    Entity::Job,
                    ChangeAction::StatusChanged,
                    Some(JobState::Completed),
                    1
                ),
            ]
        );
        assert!(log.iter().all(|e| e.id == id.to_string()));
        assert_eq!(s.stats(Some(&ten)).await.unwrap().completed, 1);
        // A job of an unknown tenant is refused with the whole batch.
        let err = s
            .enqueue(
                &[job("b"), job("c").tenant(TenantId::new("ten_nobody"))],
                t(2),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "not_found");
        assert_eq!(s.stats(None).await.unwrap().available, 0);
    });
}

fn a_job_enqueued_in_a_dropped_unit_is_not_there<S: CoreStore>(s: S) {
    block(async {
        let mut tx = s.begin().await.unwrap();
        let id = tx
            .jobs()
            .unwrap()
            .enqueue_job(&job("a"), t(0))
            .await
            .unwrap()
            .id;
        drop(tx);
        assert_eq!(s.get_job(id).await.unwrap_err().code(), "not_found");
        let mut tx = s.begin().await.unwrap();
        let id = tx
            .jobs()
            .unwrap()
            .enqueue_job(&job("b"), t(0))
            .await
            .unwrap()
            .id;
        tx.commit().await.unwrap();
        assert_eq!(s.get_job(id).await.unwrap().kind, "b");
    });
}

fn completions_ride_along_with_the_next_claim<S: CoreStore>(s: S) {
    block(async {
        let added = s
            .enqueue(&[job("a"), job("b"), job("c")], t(0))
            .await
            .unwrap();
        s.claim(&claim("default", "w", 1, 0)).await.unwrap();
        let late = done(added[0].id, 1, Outcome::Completed);
        let stale = done(added[1].id, 1, Outcome::Completed); // never claimed
        let (applied, got) = s
            .finish_and_claim("w", &[late, stale], &claim("default", "w", 2, 1))
            .await
            .unwrap();
        assert_eq!(applied, [true, false]);
        assert_eq!(ids(&got), [added[1].id.0, added[2].id.0]);
        assert_eq!(
            s.get_job(added[0].id).await.unwrap().state,
            JobState::Completed
        );
    });
}

macro_rules! queue_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn claims_by_priority_then_time_then_id() {
                super::claims_by_priority_then_time_then_id($make);
            }
            #[test]
            fn outcomes_are_guarded_by_attempt_and_owner() {
                super::outcomes_are_guarded_by_attempt_and_owner($make);
            }
            #[test]
            fn expired_leases_are_rescued_and_late_workers_lose() {
                super::expired_leases_are_rescued_and_late_workers_lose($make);
            }
            #[test]
            fn unique_keys_hold_over_their_states() {
                super::unique_keys_hold_over_their_states($make);
            }
            #[test]
            fn one_job_per_concurrency_key_runs() {
                super::one_job_per_concurrency_key_runs($make);
            }
            #[test]
            fn cancel_retry_and_progress() {
                super::cancel_retry_and_progress($make);
            }
            #[test]
            fn stats_lists_pending_and_pruning() {
                super::stats_lists_pending_and_pruning($make);
            }
            #[test]
            fn tenant_jobs_publish_their_states() {
                super::tenant_jobs_publish_their_states($make);
            }
            #[test]
            fn completions_ride_along_with_the_next_claim() {
                super::completions_ride_along_with_the_next_claim($make);
            }
            #[test]
            fn a_job_enqueued_in_a_dropped_unit_is_not_there() {
                super::a_job_enqueued_in_a_dropped_unit_is_not_there($make);
            }
        }
    };
}

thread_local! {
    static TEMP_DIRS: std::cell::RefCell<Vec<tempfile::TempDir>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn sqlite_file() -> SqliteStore {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("queue.db")).unwrap();
    TEMP_DIRS.with(|d| d.borrow_mut().push(dir));
    store
}

queue_suite!(memory, MemoryStore::default());
queue_suite!(sqlite_file, sqlite_file());
#[cfg(feature = "postgres")]
queue_suite!(postgres, common::postgres_store());
