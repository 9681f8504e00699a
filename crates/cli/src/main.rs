//! `tagsmith`: the command line over tagsmith-core on an embedded SQLite file.

mod args;
mod bench;
mod bench_pg;
mod demo;
mod jobs;
mod output;

use clap::Parser;
use serde_json::{Map, Value, json};
use tagsmith_core::{
    CustomerId, Engine, Error, ListOptions, ListTrackings, TenantId, TrackingId, from_json,
};

use args::{Cli, Command, CustomerCmd, Paging, TenantCmd, TrackingCmd, TrackingFields};
use output::Printer;

fn main() {
    let raw: Vec<String> = std::env::args().collect();
    let json = raw.iter().any(|a| a == "--json");
    let printer = Printer { json };
    let cli = match Cli::try_parse_from(&raw) {
        Ok(cli) => cli,
        Err(e) => std::process::exit(output::usage_error(&printer, e)),
    };
    let printer = Printer { json: cli.json };
    std::panic::set_hook(Box::new(|info| {
        eprintln!("tagsmith: internal error: {info}")
    }));
    // No panic may reach the user as a crash with a backtrace: report it as `internal`.
    let outcome = std::panic::catch_unwind(|| run(&cli, &printer)).unwrap_or_else(|_| {
        Err(Error::internal(
            "tagsmith crashed; please report this with the command you ran",
        ))
    });
    if let Err(e) = outcome {
        printer.error(&e);
        std::process::exit(1);
    }
}

/// The engine options the global flags give.
fn options(cli: &Cli) -> tagsmith_core::EngineOptions {
    tagsmith_core::EngineOptions {
        schema: cli.schema.clone(),
        ..tagsmith_core::EngineOptions::default()
    }
}

fn run(cli: &Cli, out: &Printer) -> tagsmith_core::Result<()> {
    match &cli.command {
        Command::Demo => return demo::run(&cli.db, &options(cli), out),
        Command::Bench(args) => {
            return match cli
                .db
                .to_str()
                .filter(|d| tagsmith_core::is_postgres_url(d))
            {
                Some(url) => bench_pg::run(url, args, out),
                None => bench::run(args, out),
            };
        }
        Command::Jobs(args::JobsCmd::Bench { jobs, concurrency }) => {
            return jobs::bench(&cli.db, jobs, concurrency, out);
        }
        _ => {}
    }
    let opened = Engine::open_with(&cli.db, &options(cli))?;
    let engine = match &cli.acting_as {
        Some(actor) => match opened.acting_as(actor) {
            Ok(e) => e,
            Err(e) => {
                opened.close()?;
                return Err(e);
            }
        },
        None => opened,
    };
    if let Command::Events {
        tenant,
        filter,
        after,
        follow: true,
        ..
    } = &cli.command
    {
        let result = events_options(filter, after, &None)
            .and_then(|options| follow(&engine, &tenant.tenant, &options, out));
        engine.close()?;
        return result;
    }
    if let Command::Worker(args) = &cli.command {
        let result = jobs::worker(&engine, args, out);
        engine.close()?;
        return result;
    }
    let result = pollster::block_on(dispatch(&engine, &cli.command, out));
    engine.close()?;
    result
}

async fn dispatch(engine: &Engine, command: &Command, out: &Printer) -> tagsmith_core::Result<()> {
    match command {
        Command::Tenants(cmd) => match cmd {
            TenantCmd::Create { name } => out.record(&engine.create_tenant(name).await?),
            TenantCmd::Get { id } => {
                out.record(&engine.get_tenant(&TenantId::new(id.as_str())).await?)
            }
            TenantCmd::List(paging) => {
                out.page(&engine.list_tenants(&list_options(paging)?).await?)
            }
        },
        Command::Customers(cmd) => match cmd {
            CustomerCmd::Create {
                tenant,
                name,
                website_url,
            } => {
                let new = from_json(json!({"name": name, "website_url": website_url}))?;
                out.record(&engine.customers(tenant.tenant.as_str()).create(new).await?)
            }
            CustomerCmd::List { tenant, paging } => out.page(
                &engine
                    .customers(tenant.tenant.as_str())
                    .list(&list_options(paging)?)
                    .await?,
            ),
            CustomerCmd::Get { tenant, id } => out.record(
                &engine
                    .customers(tenant.tenant.as_str())
                    .get(&CustomerId::new(id.as_str()))
                    .await?,
            ),
            CustomerCmd::Update {
                tenant,
                id,
                version,
                name,
                website_url,
            } => {
                let mut patch = Map::new();
                patch.insert("version".into(), integer("version", version)?);
                put(&mut patch, "name", name.as_deref().map(Value::from));
                put(
                    &mut patch,
                    "website_url",
                    website_url.as_deref().map(Value::from),
                );
                let patch = from_json(Value::Object(patch))?;
                let handle = engine.customers(tenant.tenant.as_str());
                out.record(&handle.update(&CustomerId::new(id.as_str()), patch).await?)
            }
            CustomerCmd::Delete {
                tenant,
                id,
                version,
            } => {
                let version = optional_version(version.as_deref())?;
                let handle = engine.customers(tenant.tenant.as_str());
                out.record(
                    &handle
                        .delete(&CustomerId::new(id.as_str()), version)
                        .await?,
                )
            }
        },
        Command::Trackings(cmd) => match cmd {
            TrackingCmd::Create {
                tenant,
                customer,
                name,
                kind,
                fields,
            } => {
                let mut new = tracking_fields(fields)?;
                new.insert("customer_id".into(), customer.as_str().into());
                new.insert("name".into(), name.as_str().into());
                new.insert("kind".into(), kind.as_str().into());
                let new = from_json(Value::Object(new))?;
                out.record(&engine.trackings(tenant.tenant.as_str()).create(new).await?)
            }
            TrackingCmd::List {
                tenant,
                customer,
                paging,
            } => {
                let options = ListTrackings {
                    customer_id: customer.as_deref().map(CustomerId::new),
                    ..from_json(paging_json(paging)?)?
                };
                out.page(
                    &engine
                        .trackings(tenant.tenant.as_str())
                        .list(&options)
                        .await?,
                )
            }
            TrackingCmd::Get { tenant, id } => out.record(
                &engine
                    .trackings(tenant.tenant.as_str())
                    .get(&TrackingId::new(id.as_str()))
                    .await?,
            ),
            TrackingCmd::Update {
                tenant,
                id,
                version,
                name,
                kind,
                fields,
                clear,
            } => {
                let mut patch = tracking_fields(fields)?;
                for field in clear {
                    // `null` clears; core names a field that cannot be cleared.
                    if patch.insert(field.clone(), Value::Null).is_some() {
                        return Err(Error::invalid_field(
                            field,
                            field,
                            "is both set and cleared",
                        ));
                    }
                }
                patch.insert("version".into(), integer("version", version)?);
                put(&mut patch, "name", name.as_deref().map(Value::from));
                put(&mut patch, "kind", kind.as_deref().map(Value::from));
                let patch = from_json(Value::Object(patch))?;
                let handle = engine.trackings(tenant.tenant.as_str());
                out.record(&handle.update(&TrackingId::new(id.as_str()), patch).await?)
            }
            TrackingCmd::Delete {
                tenant,
                id,
                version,
            } => {
                let version = optional_version(version.as_deref())?;
                let handle = engine.trackings(tenant.tenant.as_str());
                out.record(
                    &handle
                        .delete(&TrackingId::new(id.as_str()), version)
                        .await?,
                )
            }
        },
        Command::Events {
            tenant,
            filter,
            after,
            limit,
            ..
        } => {
            let options = events_options(filter, after, limit)?;
            let batch = engine
                .events_with(&TenantId::new(tenant.tenant.as_str()), &options)
                .await?;
            if out.json {
                return out.record(&batch);
            }
            // Text: one line per event, then where to resume.
            for e in &batch.events {
                output::emit(event_line(e));
            }
            if batch.missed > 0 {
                output::emit(format!("({} older events were pruned)", batch.missed));
            }
            if batch.reset {
                output::emit("(--after is ahead of the log: the database was replaced)");
            }
            output::emit(format!("last_seq: {}", batch.last_seq));
            Ok(())
        }
        Command::Jobs(cmd) => jobs::dispatch(engine, cmd, out).await,
        Command::Demo | Command::Bench(_) | Command::Worker(_) => Ok(()),
    }
}

/// One event as a line of text: `seq  entity id action vN [sync=…] [job=…]  at  [by actor]`.
fn event_line(e: &tagsmith_core::ChangeEvent) -> String {
    let mut line = format!(
        "{}  {} {} {} v{}",
        e.seq,
        e.entity.as_str(),
        e.id,
        e.action.as_str(),
        e.version
    );
    if let Some(s) = e.sync_status {
        line.push_str(&format!(" sync={}", s.as_str()));
    }
    if let Some(s) = e.job_state {
        line.push_str(&format!(" job={}", s.as_str()));
    }
    line.push_str(&format!("  {}", e.at));
    if let Some(a) = &e.actor {
        line.push_str(&format!("  by {a}"));
    }
    line
}

/// The `events` flags as core's options, checked (core names a bad field and its value).
fn events_options(
    filter: &args::EventFilterArgs,
    after: &Option<String>,
    limit: &Option<String>,
) -> tagsmith_core::Result<tagsmith_core::EventsOptions> {
    let number = |field: &str, v: &Option<String>| match v {
        Some(text) => integer(field, text),
        None => Ok(Value::Null),
    };
    let options: tagsmith_core::EventsOptions = from_json(json!({
        "after": number("after", after)?,
        "limit": number("limit", limit)?,
        "entity": filter.entity,
        "id": filter.id,
        "actor": filter.actor,
        "since": filter.since,
        "until": filter.until,
    }))?;
    tagsmith_core::Request::check(&options, &[])?;
    Ok(options)
}

/// `tagsmith events --follow`: the tenant's events after `after` that pass the filter, as they
/// commit, one per line.
fn follow(
    engine: &Engine,
    tenant: &str,
    options: &tagsmith_core::EventsOptions,
    out: &Printer,
) -> tagsmith_core::Result<()> {
    use tagsmith_core::Received;
    let after = options.after.unwrap_or(0);
    let filter = options.filter();
    let tenant = TenantId::new(tenant);
    tagsmith_core::queue::driving_runtime()?.block_on(async {
        let mut sub = engine.subscribe(&tenant, Some(after)).await?;
        let stop = jobs::stopped();
        tokio::pin!(stop);
        loop {
            // Woken by commits in this process (and by NOTIFY on PostgreSQL); the timeout
            // reads the log again for other processes' writes on SQLite.
            let got = tokio::select! {
                () = &mut stop => return Ok(()),
                got = tokio::time::timeout(std::time::Duration::from_millis(200), sub.next()) => got,
            };
            let line = match got {
                Err(_) => continue,
                Ok(received) => match received? {
                    Received::Event(e) if !filter.matches(&e) => continue,
                    Received::Event(e) if out.json => json!(e).to_string(),
                    Received::Event(e) => event_line(&e),
                    Received::Lagged { missed, resume_from } => {
                        json!({"lagged": missed, "resume_from": resume_from}).to_string()
                    }
                    Received::Reset { resume_from } => json!({"reset": true, "resume_from": resume_from}).to_string(),
                    _ => continue,
                },
            };
            output::emit(line);
        }
    })
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v);
    }
}

/// A numeric flag: a JSON number if it parses, else the text itself, so core's validation names
/// the field and the value.
fn number(text: &str) -> Value {
    // Non-finite numbers (nan, inf, 1e999) stay text: JSON has no place for them, and dropping
    // them to null would lose the value silently.
    text.parse::<i64>()
        .map(Value::from)
        .ok()
        .or_else(|| {
            let f = text.parse::<f64>().ok().filter(|f| f.is_finite())?;
            serde_json::Number::from_f64(f).map(Value::Number)
        })
        .unwrap_or_else(|| Value::from(text))
}

fn integer(field: &str, text: &str) -> tagsmith_core::Result<Value> {
    text.parse::<i64>()
        .map(Value::from)
        .map_err(|_| Error::invalid_field(field, text, "must be an integer"))
}

fn optional_version(text: Option<&str>) -> tagsmith_core::Result<Option<i64>> {
    text.map(|t| integer("version", t).map(|v| v.as_i64().unwrap_or_default()))
        .transpose()
}

fn paging_json(p: &Paging) -> tagsmith_core::Result<Value> {
    let mut map = Map::new();
    put(&mut map, "limit", p.limit.as_deref().map(number));
    put(&mut map, "cursor", p.cursor.as_deref().map(Value::from));
    Ok(Value::Object(map))
}

fn list_options(p: &Paging) -> tagsmith_core::Result<ListOptions> {
    from_json(paging_json(p)?)
}

fn tracking_fields(f: &TrackingFields) -> tagsmith_core::Result<Map<String, Value>> {
    let mut map = Map::new();
    put(&mut map, "selector", f.selector.as_deref().map(Value::from));
    if let Some(rule) = &f.url_rule {
        let (m, value) = rule.split_once(':').ok_or_else(|| {
            Error::invalid_field(
                "url_rule",
                rule,
                "must be MATCH:VALUE, e.g. contains:/checkout",
            )
        })?;
        map.insert("url_rule".into(), json!({"match": m, "value": value}));
    }
    put(
        &mut map,
        "ga4_event",
        f.ga4_event.as_deref().map(Value::from),
    );
    if !f.ga4_params.is_empty() {
        let mut params = Map::new();
        for p in &f.ga4_params {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| Error::invalid_field("ga4_params", p, "must be KEY=VALUE"))?;
            params.insert(k.to_owned(), v.into());
        }
        map.insert("ga4_params".into(), Value::Object(params));
    }
    if f.ads_category.is_some() || f.value.is_some() || f.currency.is_some() {
        let mut ads = Map::new();
        put(
            &mut ads,
            "category",
            f.ads_category.as_deref().map(Value::from),
        );
        put(&mut ads, "value", f.value.as_deref().map(number));
        put(&mut ads, "currency", f.currency.as_deref().map(Value::from));
        map.insert("ads".into(), Value::Object(ads));
    }
    put(
        &mut map,
        "scroll_percent",
        f.scroll_percent.as_deref().map(number),
    );
    Ok(map)
}
