//! `tagsmith bench --db postgres://…`: the engine's creates, gets and paged lists on PostgreSQL
//! against the same statements issued directly with sqlx (the floor), in one run, in a
//! throwaway schema that is dropped afterwards.
//!
//! The floor is what a host would write by hand on one connection: the create's transaction
//! (customer check `FOR SHARE`, the row, the tenant's event number, the event, the log's pruning
//! every 32 events), the point read with every column decoded, and the page query with its count.
//! The engine runs twice: called from a plain thread (as the bindings' sync calls are), and inside
//! a multi-threaded tokio runtime (as a Rust service calls it).

use std::time::Instant;

use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{Connection, PgConnection, Row};
use tagsmith_core::store::postgres::{PgOptions, PgStore};
use tagsmith_core::{
    CustomerId, Engine, Error, ListTrackings, Result, Storage, SystemEnv, TenantId, Trackings,
};

use crate::args::BenchArgs;
use crate::output::Printer;

/// The columns the engine reads for a tracking (the store's own list, decoded the same way).
const COLS: &str = "seq, id, tenant_id, customer_id, name, kind, selector, url_match, url_value, \
    ga4_event, ga4_params, ads_category, ads_value, ads_currency, scroll_percent, sync_status, \
    sync_error, external_ids, version, created_at, updated_at, last_synced_at";

/// Rows per listed page.
const PAGE: i64 = 100;

fn db_err(e: impl std::fmt::Display) -> Error {
    Error::storage(tagsmith_core::redact::secrets(&e.to_string()).into_owned())
}

pub fn run(url: &str, args: &BenchArgs, out: &Printer) -> Result<()> {
    let schema = format!("bench_crud_{}", std::process::id());
    let store = PgStore::connect(
        url,
        &PgOptions {
            schema: schema.clone(),
            ..PgOptions::default()
        },
    )?;
    let result = measure(url, &schema, &store, args);
    store.drop_schema()?;
    let report = result?;
    if !out.json {
        crate::output::emit(format_args!(
            "PostgreSQL, engine vs raw sqlx (lower is better; goal at most 1.3x): creates {:.2}x, \
             gets {:.2}x, list pages {:.2}x (in a tokio service: {:.2}x, {:.2}x, {:.2}x)",
            report["creates_vs_sqlx"].as_f64().unwrap_or_default(),
            report["gets_vs_sqlx"].as_f64().unwrap_or_default(),
            report["lists_vs_sqlx"].as_f64().unwrap_or_default(),
            report["in_tokio"]["creates_vs_sqlx"]
                .as_f64()
                .unwrap_or_default(),
            report["in_tokio"]["gets_vs_sqlx"]
                .as_f64()
                .unwrap_or_default(),
            report["in_tokio"]["lists_vs_sqlx"]
                .as_f64()
                .unwrap_or_default(),
        ));
    }
    crate::output::emit(report);
    Ok(())
}

/// What one side of the comparison took, in seconds.
#[derive(Debug, Clone, Copy)]
struct Times {
    creates: f64,
    gets: f64,
    lists: f64,
}

fn measure(url: &str, schema: &str, store: &PgStore, args: &BenchArgs) -> Result<Value> {
    // PostgreSQL commits are slower than SQLite's: fewer rows by default, the same shape.
    let creates = args.trackings.clamp(1, 5_000);
    let gets = args.gets.clamp(1, 20_000);
    let engine = Engine::new(Storage::new(store.clone()), std::sync::Arc::new(SystemEnv));
    let seeded = pollster::block_on(seed(&engine, "Engine"));
    let (trackings, tenant, customer) = seeded?;
    let floor_tenant = pollster::block_on(seed(&engine, "Floor"))?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(db_err)?;
    let mut conn = rt.block_on(connect(url, schema))?;

    // Interleaved rounds, medians: the machine's noise hits both sides alike.
    let mut engine_runs = Vec::new();
    let mut floor_runs = Vec::new();
    for round in 0..3 {
        engine_runs.push(pollster::block_on(engine_side(
            &trackings, &customer, creates, gets, round,
        ))?);
        floor_runs.push(rt.block_on(floor_side(
            &mut conn,
            &floor_tenant.1,
            &floor_tenant.2,
            creates,
            gets,
            round,
        ))?);
    }
    drop(rt);
    engine.close()?;

    // The same engine work inside a multi-threaded runtime (a Rust service): the store runs on
    // the host's runtime instead of its own.
    let service = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(db_err)?;
    let in_tokio = service.block_on(async {
        let store = PgStore::connect(
            url,
            &PgOptions {
                schema: schema.to_owned(),
                ..PgOptions::default()
            },
        )?;
        let engine = Engine::new(Storage::new(store), std::sync::Arc::new(SystemEnv));
        let handle = engine.trackings(tenant.clone());
        let mut runs = Vec::new();
        for round in 3..6 {
            runs.push(engine_side(&handle, &customer, creates, gets, round).await?);
        }
        engine.close()?;
        Ok::<_, Error>(runs)
    })?;
    drop(service);

    let e = median(&engine_runs);
    let f = median(&floor_runs);
    let t = median(&in_tokio);
    let ratio = |a: f64, b: f64| (a / b * 100.0).round() / 100.0;
    let per_s = |n: usize, s: f64| (n as f64 / s).round();
    let pages = (creates as f64 / PAGE as f64).ceil() as usize;
    Ok(json!({
        "backend": "postgres",
        "creates": creates,
        "gets": gets,
        "rounds": 3,
        "engine": {
            "creates_per_s": per_s(creates, e.creates),
            "get_us": e.gets * 1e6 / gets as f64,
            "list_pages_per_s": per_s(pages, e.lists),
        },
        "engine_in_tokio": {
            "creates_per_s": per_s(creates, t.creates),
            "get_us": t.gets * 1e6 / gets as f64,
            "list_pages_per_s": per_s(pages, t.lists),
        },
        "sqlx": {
            "creates_per_s": per_s(creates, f.creates),
            "get_us": f.gets * 1e6 / gets as f64,
            "list_pages_per_s": per_s(pages, f.lists),
        },
        "creates_vs_sqlx": ratio(e.creates, f.creates),
        "gets_vs_sqlx": ratio(e.gets, f.gets),
        "lists_vs_sqlx": ratio(e.lists, f.lists),
        "in_tokio": {
            "creates_vs_sqlx": ratio(t.creates, f.creates),
            "gets_vs_sqlx": ratio(t.gets, f.gets),
            "lists_vs_sqlx": ratio(t.lists, f.lists),
        },
    }))
}

fn median(runs: &[Times]) -> Times {
    let pick = |f: fn(&Times) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Times {
        creates: pick(|t| t.creates),
        gets: pick(|t| t.gets),
        lists: pick(|t| t.lists),
    }
}

/// A tenant and a customer, through the engine.
async fn seed(engine: &Engine, name: &str) -> Result<(Trackings, TenantId, CustomerId)> {
    let t = engine.create_tenant(name).await?;
    let c = engine
        .customers(t.id.clone())
        .create(tagsmith_core::from_json(
            json!({"name": "Shop", "website_url": "https://shop.example"}),
        )?)
        .await?;
    Ok((engine.trackings(t.id.clone()), t.id, c.id))
}

fn new_tracking(
    customer: &CustomerId,
    round: usize,
    i: usize,
) -> Result<tagsmith_core::NewTracking> {
    tagsmith_core::from_json(json!({
        "customer_id": customer, "name": format!("Tracking {round}-{i}"), "kind": "button_click",
        "selector": format!("#cta-{i}"), "ga4_event": "cta_click", "ga4_params": {"n": i.to_string()}
    }))
}

/// One round through the engine: `creates` creates, `gets` point reads spread over them, and
/// every page of the round's rows.
async fn engine_side(
    trackings: &Trackings,
    customer: &CustomerId,
    creates: usize,
    gets: usize,
    round: usize,
) -> Result<Times> {
    let requests = (0..creates)
        .map(|i| new_tracking(customer, round, i))
        .collect::<Result<Vec<_>>>()?;
    let start = Instant::now();
    let mut ids = Vec::with_capacity(creates);
    for new in requests {
        ids.push(trackings.create(new).await?.id);
    }
    let created = start.elapsed().as_secs_f64();
    let start = Instant::now();
    for n in 0..gets {
        std::hint::black_box(trackings.get(&ids[(n * 7919) % ids.len()]).await?);
    }
    let got = start.elapsed().as_secs_f64();
    // Every page of the tenant's rows (earlier rounds' too), timed per row listed.
    let start = Instant::now();
    let mut cursor = None;
    let mut listed = 0;
    loop {
        let page = trackings
            .list(&ListTrackings {
                limit: Some(PAGE as u32),
                cursor,
                customer_id: None,
            })
            .await?;
        listed += page.items.len();
        std::hint::black_box(&page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    let lists = start.elapsed().as_secs_f64() * creates as f64 / listed.max(1) as f64;
    Ok(Times {
        creates: created,
        gets: got,
        lists,
    })
}

async fn connect(url: &str, schema: &str) -> Result<PgConnection> {
    let options: PgConnectOptions = url.parse().map_err(db_err)?;
    let options = options.options([("search_path", schema)]);
    PgConnection::connect_with(&options).await.map_err(db_err)
}

/// Every column of a tracking row, decoded into its Rust type (the engine's read also maps them
/// into a `Tracking`).
/// `at` is the first tracking column's index (the page query puts `total` before them).
fn decode(r: &PgRow, at: usize) -> sqlx::Result<Value> {
    let seq: i64 = r.try_get(at)?;
    let texts: Vec<Option<String>> = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15, 16]
        .iter()
        .map(|&i| r.try_get::<Option<String>, _>(at + i))
        .collect::<sqlx::Result<_>>()?;
    let params: sqlx::types::Json<Value> = r.try_get(at + 10)?;
    let value: Option<f64> = r.try_get(at + 12)?;
    let scroll: Option<i64> = r.try_get(at + 14)?;
    let external: sqlx::types::Json<Value> = r.try_get(at + 17)?;
    let version: i64 = r.try_get(at + 18)?;
    let times: Vec<Option<time::OffsetDateTime>> = [19, 20, 21]
        .iter()
        .map(|&i| r.try_get::<Option<time::OffsetDateTime>, _>(at + i))
        .collect::<sqlx::Result<_>>()?;
    Ok(json!([
        seq,
        texts,
        params.0,
        value,
        scroll,
        external.0,
        version,
        times.len()
    ]))
}

/// One round of the floor: the engine's statements, issued directly on one connection.
async fn floor_side(
    conn: &mut PgConnection,
    tenant: &TenantId,
    customer: &CustomerId,
    creates: usize,
    gets: usize,
    round: usize,
) -> Result<Times> {
    let now = time::OffsetDateTime::now_utc();
    let start = Instant::now();
    let mut ids = Vec::with_capacity(creates);
    for i in 0..creates {
        let id = format!("trk_floor{round}x{i:020}");
        let mut tx = conn.begin().await.map_err(db_err)?;
        let live = sqlx::query(
            "SELECT 1 FROM customers WHERE id = $1 AND tenant_id = $2 \
             AND deleted_at IS NULL FOR SHARE",
        )
        .bind(customer.as_str())
        .bind(tenant.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        std::hint::black_box(live);
        sqlx::query(
            "INSERT INTO trackings (id, tenant_id, customer_id, name, kind, selector, \
             url_match, url_value, ga4_event, ga4_params, ads_category, ads_value, \
             ads_currency, scroll_percent, version, created_at, updated_at, sync_status, \
             sync_error, external_ids, last_synced_at) VALUES ($1, $2, $3, $4, $5, $6, \
             $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
        )
        .bind(&id)
        .bind(tenant.as_str())
        .bind(customer.as_str())
        .bind(format!("Tracking {round}-{i}"))
        .bind("button_click")
        .bind(format!("#cta-{i}"))
        .bind(None::<String>)
        .bind(None::<String>)
        .bind("cta_click")
        .bind(sqlx::types::Json(json!({"n": i.to_string()})))
        .bind(None::<String>)
        .bind(None::<f64>)
        .bind(None::<String>)
        .bind(None::<i64>)
        .bind(1_i64)
        .bind(now)
        .bind(now)
        .bind("pending")
        .bind(None::<String>)
        .bind(sqlx::types::Json(json!({})))
        .bind(None::<time::OffsetDateTime>)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let seq: i64 = sqlx::query_scalar(
            "UPDATE tenants SET event_seq = event_seq + 1 WHERE id = $1 \
             RETURNING event_seq, pg_notify('tagsmith_events.' || current_schema(), id)",
        )
        .bind(tenant.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO events (tenant_id, seq, entity, record_id, action, version, \
             sync_status, job_state, at, actor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tenant.as_str())
        .bind(seq)
        .bind("tracking")
        .bind(&id)
        .bind("created")
        .bind(1_i64)
        .bind("pending")
        .bind(None::<String>)
        .bind(now)
        .bind(None::<String>)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if seq % 32 == 0 {
            // The log's retention, as the engine applies it every 32 events.
            let oldest: Vec<(i64, time::OffsetDateTime)> = sqlx::query_as(
                "SELECT seq, at FROM events WHERE tenant_id = $1 ORDER BY seq LIMIT 256",
            )
            .bind(tenant.as_str())
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            std::hint::black_box(&oldest);
            sqlx::query("DELETE FROM events WHERE tenant_id = $1 AND seq < $2")
                .bind(tenant.as_str())
                .bind(seq - 10_000)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        ids.push(id);
    }
    let created = start.elapsed().as_secs_f64();

    let get = format!(
        "SELECT {COLS} FROM trackings WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL"
    );
    let start = Instant::now();
    for n in 0..gets {
        let row = sqlx::query(sqlx::AssertSqlSafe(get.as_str()))
            .bind(ids[(n * 7919) % ids.len()].as_str())
            .bind(tenant.as_str())
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?;
        std::hint::black_box(decode(&row, 0).map_err(db_err)?);
    }
    let got = start.elapsed().as_secs_f64();

    let page = format!(
        "SELECT (SELECT count(*) FROM trackings WHERE tenant_id = $1 AND deleted_at IS NULL) \
         AS total, page.* FROM (SELECT {COLS} FROM trackings WHERE tenant_id = $1 \
         AND deleted_at IS NULL AND seq > $2 ORDER BY seq LIMIT $3) AS page ORDER BY page.seq"
    );
    let start = Instant::now();
    let mut after = 0_i64;
    let mut listed = 0;
    loop {
        let rows = sqlx::query(sqlx::AssertSqlSafe(page.as_str()))
            .bind(tenant.as_str())
            .bind(after)
            .bind(PAGE + 1)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        let total: i64 = rows
            .first()
            .map_or(Ok(0), |r| r.try_get("total"))
            .map_err(db_err)?;
        std::hint::black_box(total);
        let kept = rows.len().min(PAGE as usize);
        for r in &rows[..kept] {
            std::hint::black_box(decode(r, 1).map_err(db_err)?);
        }
        listed += kept;
        match rows.get(kept.saturating_sub(1)) {
            Some(last) if rows.len() > kept => after = last.try_get("seq").map_err(db_err)?,
            _ => break,
        }
    }
    let lists = start.elapsed().as_secs_f64() * creates as f64 / listed.max(1) as f64;
    Ok(Times {
        creates: created,
        gets: got,
        lists,
    })
}
