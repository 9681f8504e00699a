//! `tagsmith demo`: the whole product, offline, on the embedded SQLite file. Later capabilities
//! (crawl a bundled site, plan a GTM sync, ingest GA4 data, render metrics) add their steps here.

use std::path::Path;

use serde_json::{Value, json};
use tagsmith_core::{
    Engine, Error, ListOptions, ListTrackings, NewTracking, Received, SyncStatus, SyncUpdate,
    TenantId, TrackingPatch, from_json,
};

use crate::output::Printer;

pub fn run(
    db: &Path,
    options: &tagsmith_core::EngineOptions,
    out: &Printer,
) -> tagsmith_core::Result<()> {
    let engine = Engine::open_with(db, options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    let report = runtime.block_on(steps(&engine, db, out));
    engine.close()?;
    let report = report?;
    if out.json {
        crate::output::emit(report);
    }
    Ok(())
}

/// Print a step for a person (under `--json` only the final report is printed).
fn say(out: &Printer, text: impl AsRef<str>) {
    if !out.json {
        crate::output::emit(text.as_ref());
    }
}

async fn steps(engine: &Engine, db: &Path, out: &Printer) -> tagsmith_core::Result<Value> {
    let shown = tagsmith_core::redact::secrets(&db.display().to_string()).into_owned();
    let backend = match engine.backend() {
        "postgres" => "PostgreSQL",
        _ => "embedded SQLite",
    };
    say(
        out,
        format!("tagsmith demo: {backend} at {shown} (offline)\n"),
    );

    let acme = engine.create_tenant("Acme Agency").await?;
    let mut events = engine.subscribe(&acme.id, None).await?;
    say(
        out,
        format!("1. Created tenant {:?} ({})", acme.name, acme.id),
    );

    let customers = engine.customers(acme.id.clone());
    let shop = customers
        .create(from_json(json!({"name": "Schuhhaus Müller 👟", "website_url": "https://schuhhaus-mueller.example/"}))?)
        .await?;
    say(
        out,
        format!(
            "2. Created customer {:?} for {} ({})",
            shop.name, shop.website_url, shop.id
        ),
    );

    let trackings = engine.trackings(acme.id.clone());
    let specs = [
        json!({"name": "Add to cart", "kind": "button_click", "selector": "button.add-to-cart",
               "ga4_event": "add_to_cart", "ga4_params": {"placement": "product_page"},
               "ads": {"category": "add_to_cart"}}),
        json!({"name": "Call us", "kind": "link_click", "selector": "a[href^=\"tel:\"]",
               "ga4_event": "contact_call", "ads": {"category": "contact"}}),
        json!({"name": "Contact form", "kind": "form_submit", "selector": "form#contact",
               "ga4_event": "generate_lead", "ads": {"category": "submit_lead_form", "value": 25, "currency": "EUR"}}),
        json!({"name": "Order confirmed", "kind": "page_view",
               "url_rule": {"match": "regex", "value": "^https://schuhhaus-mueller\\.example/checkout/thanks"},
               "ga4_event": "purchase", "ads": {"category": "purchase"}}),
        json!({"name": "Read 75%", "kind": "scroll_depth", "scroll_percent": 75, "ga4_event": "scroll_75"}),
    ];
    let mut created = Vec::new();
    for mut spec in specs {
        spec["customer_id"] = json!(shop.id);
        let t = trackings.create(from_json::<NewTracking>(spec)?).await?;
        created.push(t);
    }
    say(out, format!("3. Created {} trackings:", created.len()));
    for t in &created {
        let what = t.selector.clone().or_else(|| {
            t.url_rule
                .as_ref()
                .map(|r| format!("url {} {}", r.r#match, r.value))
        });
        let what = what.unwrap_or_else(|| format!("{}%", t.scroll_percent.unwrap_or_default()));
        say(
            out,
            format!(
                "   - {:<16} {:<14} {}  → GA4 {}",
                t.name,
                t.kind,
                what,
                t.ga4_event.as_deref().unwrap_or("-")
            ),
        );
    }

    let first = trackings
        .list(&ListTrackings {
            limit: Some(3),
            ..Default::default()
        })
        .await?;
    let rest = trackings
        .list(&ListTrackings {
            limit: Some(3),
            cursor: first.next_cursor.clone(),
            ..Default::default()
        })
        .await?;
    say(
        out,
        format!(
            "4. Listed trackings 3 per page: page 1 has {}, page 2 has {}, total {}",
            first.items.len(),
            rest.items.len(),
            first.total
        ),
    );

    let buy = &created[0];
    let updated = trackings
        .update(
            &buy.id,
            TrackingPatch {
                version: buy.version,
                selector: Some(Some("button#add-to-cart".into())),
                ..Default::default()
            },
        )
        .await?;
    let stale = trackings
        .update(
            &buy.id,
            TrackingPatch {
                version: buy.version,
                name: Some("Lost update".into()),
                ..Default::default()
            },
        )
        .await
        .err();
    say(
        out,
        format!(
            "5. Updated {:?}: version {} → {}; a second write with the old version was refused: {}",
            buy.name,
            buy.version,
            updated.version,
            stale.as_ref().map_or("(accepted!)", Error::code)
        ),
    );

    let bad = trackings
        .create(from_json(json!({
            "customer_id": shop.id, "name": "Broken", "kind": "button_click",
            "selector": "button[type=", "ga4_event": "google_click", "ads": {"category": "purchase", "value": 10}
        }))?)
        .await
        .err();
    say(out, "6. Rejected bad input, every field named:");
    for f in bad.as_ref().map(Error::fields).unwrap_or_default() {
        say(
            out,
            format!("   - {} = {:?}: {}", f.field, f.value, f.reason),
        );
    }

    let rival = engine.create_tenant("Rival Agency").await?;
    let cross = engine.customers(rival.id.clone()).get(&shop.id).await.err();
    let rival_view = engine
        .trackings(rival.id.clone())
        .list(&ListTrackings::default())
        .await?;
    say(
        out,
        format!(
            "7. Tenant {:?} asked for {:?}'s customer: {}; its own tracking list holds {}",
            rival.name,
            acme.name,
            cross.as_ref().map_or("(leaked!)", Error::code),
            rival_view.total
        ),
    );

    // A background sync reports an outcome for "Call us" while its user edits it from the
    // version read before: the outcome lives beside the record, so neither write fails.
    let call = &created[1];
    let mut outcome = SyncUpdate::status(SyncStatus::Synced);
    outcome.version = Some(call.version);
    outcome.external_ids.insert(
        "gtm".into(),
        [("trigger_id".to_owned(), "demo-12".to_owned())].into(),
    );
    let synced = trackings.set_sync_status(&call.id, outcome).await?;
    let edited = trackings
        .update(
            &call.id,
            TrackingPatch {
                version: call.version,
                name: Some("Call the shop".into()),
                ..Default::default()
            },
        )
        .await?;
    say(
        out,
        format!(
            "8. A sync marked {:?} {} (GTM trigger {}) at version {}; the user's edit from that \
             version still went through: version {}, status {} until the next sync",
            call.name,
            synced.sync_status,
            synced.external_ids["gtm"]["trigger_id"],
            synced.version,
            edited.version,
            edited.sync_status
        ),
    );

    let mut seen = Vec::new();
    while let Some(Received::Event(e)) = events.try_next().await? {
        seen.push(e);
    }
    say(
        out,
        format!(
            "9. {} change events for {:?} (seq {}..{}) in the database's durable log: any process \
             resumes them with `tagsmith events --tenant {} --after N`, ready for WebSockets/SSE",
            seen.len(),
            acme.name,
            seen.first().map_or(0, |e| e.seq),
            seen.last().map_or(0, |e| e.seq),
            acme.id
        ),
    );

    let jobs = jobs(engine, &acme.id, &created, out).await?;

    let tenants = engine
        .list_tenants(&ListOptions {
            limit: Some(1),
            cursor: None,
        })
        .await?;
    say(
        out,
        format!(
            "\nDone. {} now holds {} tenants; run again and it keeps them.",
            shown, tenants.total
        ),
    );

    Ok(json!({
        "database": shown,
        "tenant": acme,
        "customer": shop,
        "trackings": created,
        "pages": [first.items.len(), rest.items.len()],
        "stale_update": stale.as_ref().map(Error::to_json),
        "rejected": bad.as_ref().map(Error::to_json),
        "cross_tenant_read": cross.as_ref().map(Error::to_json),
        "events": seen,
        "sync_outcome": synced,
        "edited_after_sync": edited,
        "jobs": jobs,
        "tenants_in_database": tenants.total,
        "rival_tenant": TenantId::clone(&rival.id),
    }))
}

/// Step 10: the durable queue. Jobs of the tenant publish its trackings (marking them synced,
/// reporting progress), a duplicate is absorbed by its unique key, and a job that fails once is
/// retried by the backoff policy; a worker runs them all until idle.
async fn jobs(
    engine: &Engine,
    tenant: &TenantId,
    trackings: &[tagsmith_core::Tracking],
    out: &Printer,
) -> tagsmith_core::Result<Value> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tagsmith_core::queue::{HandlerError, JobContext, KindOptions, NewJob, Worker};

    let publish = |t: &tagsmith_core::Tracking| {
        NewJob::new("publish_tracking", json!({"tracking_id": t.id}))
            .tenant(tenant.clone())
            .unique_key(format!("publish:{}", t.id))
    };
    let mut batch: Vec<NewJob> = trackings.iter().map(publish).collect();
    batch.push(publish(&trackings[0])); // a duplicate: absorbed by the unique key
    batch.push(NewJob::new("flaky_upstream", json!({})).tenant(tenant.clone()));
    let added = engine.jobs().enqueue_many(batch).await?;
    let duplicates = added
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|e| e.duplicate))
        .count();

    let mut worker = Worker::new(engine, tagsmith_core::queue::WorkerOptions::default())?;
    let handle = engine.clone();
    worker.register("publish_tracking", move |ctx: JobContext| {
        let engine = handle.clone();
        async move {
            #[derive(serde::Deserialize)]
            struct Args {
                tracking_id: tagsmith_core::TrackingId,
            }
            let args: Args = ctx.args()?;
            let tenant = ctx
                .job
                .tenant_id
                .clone()
                .ok_or_else(|| HandlerError::discard("publish_tracking needs a tenant job"))?;
            ctx.progress(50, Some("planned".into())).await?;
            let mut done = SyncUpdate::status(SyncStatus::Synced);
            done.external_ids.insert(
                "demo".into(),
                [("job".to_owned(), ctx.job.id.to_string())].into(),
            );
            engine
                .trackings(tenant)
                .set_sync_status(&args.tracking_id, done)
                .await?;
            Ok(())
        }
    });
    let tries = Arc::new(AtomicU32::new(0));
    let counter = tries.clone();
    worker.register_with(
        "flaky_upstream",
        move |_ctx: JobContext| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(HandlerError::new("Google answered 503 (demo)"))
                } else {
                    Ok(())
                }
            }
        },
        KindOptions {
            timeout: None,
            max_backoff: Some(std::time::Duration::from_millis(50)),
        },
    );
    let report = worker.run_until_idle().await?;
    let stats = engine.jobs().stats(Some(tenant)).await?;
    let flaky_id = added
        .last()
        .and_then(|r| r.as_ref().ok())
        .map(|e| e.id)
        .ok_or_else(|| Error::internal("the demo's flaky job was not added"))?;
    let flaky = engine.jobs().get(flaky_id).await?;
    say(
        out,
        format!(
            "10. Queued {} jobs ({} duplicate absorbed by its unique key); a worker ran them \
             until idle: {} completed, {} retried. The flaky job failed with {:?} and succeeded \
             on attempt {}. Stats: {} completed. Try `tagsmith jobs list` and `tagsmith worker`.",
            added.len() - duplicates,
            duplicates,
            report.completed,
            report.retried,
            flaky.errors.first().map_or("", |e| e.message.as_str()),
            flaky.attempt,
            stats.completed
        ),
    );
    Ok(json!({"report": report, "stats": stats, "retried_job": flaky}))
}
