//! One `LISTEN` connection per store for the schema's two channels: `tagsmith_jobs.<schema>`
//! (every enqueue notifies it at commit; workers wait on [`Listener::jobs`]) and
//! `tagsmith_events.<schema>` (every event append notifies it with the tenant id; the engine's
//! watcher wakes that tenant's subscribers). A lost connection is made again after a pause and
//! wakes everyone, since notices may have been missed meanwhile.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::{Notify, oneshot};

use super::PgStore;
use crate::TenantId;
use crate::store::ChangeWatcher;

/// The store's listening task, started on first use, stopped when the store goes.
pub(super) struct Listener {
    /// Woken when any process adds a job.
    pub(super) jobs: Arc<Notify>,
    /// Called with the tenant whose log another process (or this one) appended to.
    watchers: Arc<Mutex<Vec<ChangeWatcher>>>,
    _stop: oneshot::Sender<()>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").finish_non_exhaustive()
    }
}

impl Listener {
    /// Add a watcher of event appends.
    pub(super) fn watch(&self, wake: ChangeWatcher) {
        self.watchers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(wake);
    }
}

impl PgStore {
    /// The listening task (started now if it is not running yet).
    pub(super) fn listener(&self) -> &Listener {
        self.inner.listener.get_or_init(|| {
            let jobs = Arc::new(Notify::new());
            let watchers = Arc::new(Mutex::new(Vec::new()));
            let (stop, stopped) = oneshot::channel();
            let task = listen(
                self.pool().clone(),
                self.schema().to_owned(),
                jobs.clone(),
                watchers.clone(),
            );
            self.inner.handle.spawn(async move {
                tokio::select! {
                    () = task => {}
                    _ = stopped => {}
                }
            });
            Listener {
                jobs,
                watchers,
                _stop: stop,
            }
        })
    }
}

/// Call every watcher with `tenant`.
fn tell(watchers: &Mutex<Vec<ChangeWatcher>>, tenant: Option<&TenantId>) {
    let all: Vec<ChangeWatcher> = watchers.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for w in all {
        w(tenant);
    }
}

async fn listen(
    pool: sqlx::PgPool,
    schema: String,
    jobs: Arc<Notify>,
    watchers: Arc<Mutex<Vec<ChangeWatcher>>>,
) {
    let job_channel = super::jobs::channel(&schema);
    let event_channel = super::events::channel(&schema);
    loop {
        if let Ok(mut listener) = PgListener::connect_with(&pool).await
            && listener
                .listen_all([job_channel.as_str(), event_channel.as_str()])
                .await
                .is_ok()
        {
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) if n.channel() == job_channel => jobs.notify_waiters(),
                    Ok(Some(n)) => tell(&watchers, Some(&TenantId::new(n.payload()))),
                    // The connection was lost (or failed): listen again.
                    Ok(None) | Err(_) => break,
                }
            }
        }
        // Notices may have been missed: everyone looks again.
        jobs.notify_waiters();
        tell(&watchers, None);
        if pool.is_closed() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
