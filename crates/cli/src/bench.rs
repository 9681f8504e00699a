//! `tagsmith bench`: the SQLite backend's creates, gets and paged lists per second, with raw
//! rusqlite point reads of the same rows as the floor, in one run.

use std::time::Instant;

use serde_json::json;
use tagsmith_core::{Engine, ListTrackings, NewTracking, TrackingId, from_json};

use crate::args::BenchArgs;
use crate::output::Printer;

pub fn run(args: &BenchArgs, out: &Printer) -> tagsmith_core::Result<()> {
    let dir = std::env::temp_dir().join(format!("tagsmith-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| tagsmith_core::Error::storage(e.to_string()))?;
    let path = dir.join("bench.db");
    let result = pollster::block_on(measure(args, &path));
    let _ = std::fs::remove_dir_all(&dir);
    let report = result?;
    if out.json {
        crate::output::emit(&report);
    } else {
        crate::output::emit(serde_json::to_string_pretty(&report).unwrap_or_default());
    }
    Ok(())
}

async fn measure(
    args: &BenchArgs,
    path: &std::path::Path,
) -> tagsmith_core::Result<serde_json::Value> {
    let tenants = args.tenants.max(1);
    let (engine, scopes) = seeded(path, tenants).await?;

    // As in the November runs: each request is built inside the timed loop.
    let start = Instant::now();
    let mut ids: Vec<(usize, TrackingId)> = Vec::with_capacity(args.trackings);
    for i in 0..args.trackings {
        let (h, customer) = &scopes[i % tenants];
        ids.push((i % tenants, h.create(new_tracking(customer, i)?).await?.id));
    }
    let create_s = start.elapsed().as_secs_f64();

    let gets = args.gets.max(1);
    let start = Instant::now();
    for n in 0..gets {
        let (t, id) = &ids[(n * 7919) % ids.len()];
        std::hint::black_box(scopes[*t].0.get(id).await?);
    }
    let get_s = start.elapsed().as_secs_f64();

    // One row read again and again: what the binding benches time, so their overhead compares.
    let (t, hot) = &ids[0];
    let start = Instant::now();
    for _ in 0..gets {
        std::hint::black_box(scopes[*t].0.get(hot).await?);
    }
    let hot_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut pages = 0usize;
    for (h, _) in &scopes {
        let mut cursor = None;
        loop {
            let page = h
                .list(&ListTrackings {
                    limit: Some(100),
                    cursor,
                    customer_id: None,
                })
                .await?;
            pages += 1;
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
    }
    let list_s = start.elapsed().as_secs_f64();
    engine.close()?;

    // The floor: the same point read as one prepared rusqlite statement, no engine around it.
    let conn = rusqlite::Connection::open(path)
        .map_err(|e| tagsmith_core::Error::storage(e.to_string()))?;
    let mut stmt = conn
        .prepare("SELECT * FROM trackings WHERE id = ?1 AND tenant_id IS NOT NULL AND deleted_at IS NULL")
        .map_err(|e| tagsmith_core::Error::storage(e.to_string()))?;
    let start = Instant::now();
    for n in 0..gets {
        let (_, id) = &ids[(n * 7919) % ids.len()];
        // Every column decoded, as the engine's read does (it also maps them into a Tracking).
        let row = stmt
            .query_row([id.as_str()], |r| {
                (0..r.as_ref().column_count())
                    .map(|i| r.get::<_, rusqlite::types::Value>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .ok();
        std::hint::black_box(row);
    }
    let raw_s = start.elapsed().as_secs_f64();

    let baseline_s = binding_baseline(&path.with_extension("small.db"), gets).await?;
    let creates = args.trackings.clamp(1, 20_000);
    let raw_create_s = raw_create_floor(&path.with_extension("raw.db"), creates).await?;
    let engine_create_s = engine_creates(&path.with_extension("engine.db"), creates).await?;
    let threaded_s = threaded_creates(&path.with_extension("threads.db"), creates).await?;

    let per_s = |n: usize, s: f64| (n as f64 / s).round();
    Ok(json!({
        "backend": "sqlite (file, WAL)",
        "trackings": args.trackings,
        "tenants": tenants,
        "creates_per_s": per_s(args.trackings, create_s),
        "gets_per_s": per_s(gets, get_s),
        "get_us": get_s * 1e6 / gets as f64,
        "same_row_get_us": hot_s * 1e6 / gets as f64,
        "binding_baseline_get_us": baseline_s * 1e6 / gets as f64,
        "raw_rusqlite_get_us": raw_s * 1e6 / gets as f64,
        "get_vs_raw_rusqlite": (get_s / raw_s * 100.0).round() / 100.0,
        "list_pages_of_100_per_s": per_s(pages, list_s),
        "same_run_creates": creates,
        "engine_creates_per_s": per_s(creates, engine_create_s),
        "raw_rusqlite_creates_per_s": per_s(creates, raw_create_s),
        "creates_vs_raw_rusqlite": (raw_create_s / engine_create_s * 100.0).round() / 100.0,
        "creates_per_s_4_threads_4_tenants": per_s(creates, threaded_s),
        "listed_rows_per_s": per_s(args.trackings, list_s),
    }))
}

/// The read the Python and Node benches time, in Rust: one tracking (same fields) in a fresh
/// one-tenant database, read `gets` times. The binding figures minus this are their overhead.
async fn binding_baseline(path: &std::path::Path, gets: usize) -> tagsmith_core::Result<f64> {
    let engine = Engine::open(path)?;
    let t = engine.create_tenant("Bench").await?;
    let c = engine
        .customers(t.id.clone())
        .create(from_json(
            json!({"name": "Shop", "website_url": "https://shop.example"}),
        )?)
        .await?;
    let trackings = engine.trackings(t.id);
    let tr = trackings
        .create(from_json(json!({
            "customer_id": c.id, "name": "Buy", "kind": "button_click", "selector": "button.buy",
            "ga4_event": "add_to_cart", "ga4_params": {"item_id": "sku-1"}
        }))?)
        .await?;
    for _ in 0..1000 {
        std::hint::black_box(trackings.get(&tr.id).await?);
    }
    let start = Instant::now();
    for _ in 0..gets {
        std::hint::black_box(trackings.get(&tr.id).await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    engine.close()?;
    Ok(elapsed)
}

fn storage_err(e: impl std::fmt::Display) -> tagsmith_core::Error {
    tagsmith_core::Error::storage(e.to_string())
}

/// A fresh database with one tenant and customer per entry of `tenants`, through the engine.
async fn seeded(
    path: &std::path::Path,
    tenants: usize,
) -> tagsmith_core::Result<(
    Engine,
    Vec<(tagsmith_core::Trackings, tagsmith_core::CustomerId)>,
)> {
    let engine = Engine::open(path)?;
    let mut scopes = Vec::new();
    for i in 0..tenants {
        let t = engine.create_tenant(&format!("Tenant {i}")).await?;
        let c = engine
            .customers(t.id.clone())
            .create(from_json(
                json!({"name": "Shop", "website_url": "https://shop.example"}),
            )?)
            .await?;
        scopes.push((engine.trackings(t.id), c.id));
    }
    Ok((engine, scopes))
}

fn new_tracking(
    customer: &tagsmith_core::CustomerId,
    i: usize,
) -> tagsmith_core::Result<NewTracking> {
    from_json(json!({
        "customer_id": customer, "name": format!("Tracking {i}"), "kind": "button_click",
        "selector": format!("#cta-{i}"), "ga4_event": "cta_click", "ga4_params": {"n": i.to_string()}
    }))
}

/// `n` engine creates into one tenant (each: validate, one IMMEDIATE transaction with the row
/// and its event, commit).
async fn engine_creates(path: &std::path::Path, n: usize) -> tagsmith_core::Result<f64> {
    let (engine, scopes) = seeded(path, 1).await?;
    let (h, customer) = &scopes[0];
    // Requests are built before the clock starts: the floor gets its values ready-made too.
    let requests = (0..n)
        .map(|i| new_tracking(customer, i))
        .collect::<tagsmith_core::Result<Vec<_>>>()?;
    let start = Instant::now();
    for new in requests {
        std::hint::black_box(h.create(new).await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    engine.close()?;
    Ok(elapsed)
}

/// The floor for creates: the same work as raw rusqlite on the same schema and indexes, in one
/// IMMEDIATE transaction per create: check the customer, insert the row, number and insert the
/// event.
async fn raw_create_floor(path: &std::path::Path, n: usize) -> tagsmith_core::Result<f64> {
    let (engine, scopes) = seeded(path, 1).await?;
    let customer = scopes[0].1.clone();
    let tenant_id: String = {
        let page = engine.list_tenants(&Default::default()).await?;
        page.items[0].id.to_string()
    };
    engine.close()?;
    let mut conn = rusqlite::Connection::open(path).map_err(storage_err)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(storage_err)?;
    let start = Instant::now();
    for i in 0..n {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(storage_err)?;
        {
            let exists = tx
                .prepare_cached("SELECT 1 FROM customers WHERE id = ?1 AND tenant_id = ?2 AND deleted_at IS NULL")
                .and_then(|mut s| s.exists([customer.as_str(), tenant_id.as_str()]))
                .map_err(storage_err)?;
            std::hint::black_box(exists);
            let id = format!("trk_raw{i:020}");
            let params = format!("{{\"n\":\"{i}\"}}");
            tx.prepare_cached(
                "INSERT INTO trackings (id, tenant_id, customer_id, name, kind, selector, url_match, url_value, \
                 ga4_event, ga4_params, ads_category, ads_value, ads_currency, scroll_percent, version, \
                 created_at, updated_at, sync_status, sync_error, external_ids, last_synced_at) \
                 VALUES (?1, ?2, ?3, ?4, 'button_click', ?5, NULL, NULL, 'cta_click', ?6, NULL, NULL, NULL, \
                 NULL, 1, ?7, ?7, 'pending', NULL, '{}', NULL)",
            )
            .and_then(|mut s| {
                s.execute(rusqlite::params![
                    id,
                    tenant_id,
                    customer.as_str(),
                    format!("Tracking {i}"),
                    format!("#cta-{i}"),
                    params,
                    i as i64
                ])
            })
            .map_err(storage_err)?;
            let seq: i64 = tx
                .prepare_cached("UPDATE tenants SET event_seq = event_seq + 1 WHERE id = ?1 RETURNING event_seq")
                .and_then(|mut s| s.query_row([tenant_id.as_str()], |r| r.get(0)))
                .map_err(storage_err)?;
            tx.prepare_cached(
                "INSERT INTO events (tenant_id, seq, entity, record_id, action, version, sync_status, at) \
                 VALUES (?1, ?2, 'tracking', ?3, 'created', 1, 'pending', ?4)",
            )
            .and_then(|mut s| s.execute(rusqlite::params![tenant_id, seq, id, i as i64]))
            .map_err(storage_err)?;
        }
        tx.commit().map_err(storage_err)?;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// `n` creates from 4 threads, each writing its own tenant, on one engine (SQLite's single
/// writer is the only serialization).
async fn threaded_creates(path: &std::path::Path, n: usize) -> tagsmith_core::Result<f64> {
    let (engine, scopes) = seeded(path, 4).await?;
    let per = n.div_ceil(4);
    let start = Instant::now();
    let outcomes: Vec<tagsmith_core::Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = scopes
            .iter()
            .map(|(h, customer)| {
                let requests = (0..per)
                    .map(|i| new_tracking(customer, i))
                    .collect::<Vec<_>>();
                s.spawn(move || {
                    pollster::block_on(async {
                        for new in requests {
                            std::hint::black_box(h.create(new?).await?);
                        }
                        Ok(())
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(tagsmith_core::Error::internal("bench thread panicked"))
                })
            })
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    outcomes
        .into_iter()
        .collect::<tagsmith_core::Result<Vec<()>>>()?;
    engine.close()?;
    Ok(elapsed * n as f64 / (per * 4) as f64)
}
