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
    let engine = Engine::open(path)?;
    let tenants = args.tenants.max(1);
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

    let start = Instant::now();
    let mut ids: Vec<(usize, TrackingId)> = Vec::with_capacity(args.trackings);
    for i in 0..args.trackings {
        let (h, customer) = &scopes[i % tenants];
        let new: NewTracking = from_json(json!({
            "customer_id": customer, "name": format!("Tracking {i}"), "kind": "button_click",
            "selector": format!("#cta-{i}"), "ga4_event": "cta_click", "ga4_params": {"n": i.to_string()}
        }))?;
        ids.push((i % tenants, h.create(new).await?.id));
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
