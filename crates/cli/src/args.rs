//! Command-line grammar. Every value is taken as text and handed to core, so a bad value gets
//! the same typed error as it would through any binding.

use clap::{Args, Parser, Subcommand};

/// tagsmith: tenants, customers and trackings on an embedded SQLite file or a shared PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "tagsmith", version, about)]
pub struct Cli {
    /// Print results and errors as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// SQLite database file (created if missing), or a PostgreSQL URL
    /// (`postgres://user:password@host:5432/db`; tables in the `tagsmith` schema).
    #[arg(
        long,
        global = true,
        default_value = "tagsmith.db",
        value_name = "PATH|URL"
    )]
    pub db: std::path::PathBuf,
    /// With a PostgreSQL --db: the schema holding tagsmith's tables (default tagsmith).
    #[arg(long, global = true, value_name = "NAME")]
    pub schema: Option<String>,
    /// Record this command's changes in the activity log as made by NAME (a user id, a
    /// script's name); read back with `events --actor NAME`.
    #[arg(long = "as", global = true, value_name = "NAME")]
    pub acting_as: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// Which events `tagsmith events` prints (all given conditions must hold).
#[derive(Debug, clap::Args)]
pub struct EventFilterArgs {
    /// Only changes of this kind of record: tenant, customer, tracking or job.
    #[arg(long)]
    pub entity: Option<String>,
    /// Only changes of the record with this id (its history).
    #[arg(long)]
    pub id: Option<String>,
    /// Only changes made by this actor (as named with --as on the write).
    #[arg(long)]
    pub actor: Option<String>,
    /// Only changes at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    #[arg(long)]
    pub since: Option<String>,
    /// Only changes before this time (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage tenants.
    #[command(subcommand)]
    Tenants(TenantCmd),
    /// Manage a tenant's customers (websites).
    #[command(subcommand)]
    Customers(CustomerCmd),
    /// Manage a tenant's trackings.
    #[command(subcommand)]
    Trackings(TrackingCmd),
    /// Print a tenant's activity log: its change events after a sequence number, from the
    /// durable log (any process on the same database sees them; poll with the printed last_seq,
    /// or --follow), optionally only those of one record, kind, actor or time range.
    Events {
        #[command(flatten)]
        tenant: Tenant,
        #[command(flatten)]
        filter: EventFilterArgs,
        /// Print events after this sequence number (default 0: from the oldest kept).
        #[arg(long)]
        after: Option<String>,
        /// At most this many events (default 1000; not with --follow).
        #[arg(long)]
        limit: Option<String>,
        /// Keep printing events as any process commits them, one per line (one JSON object per
        /// line with --json), until SIGTERM or Ctrl-C: woken by NOTIFY on PostgreSQL, polling
        /// the file every 200 ms on SQLite.
        #[arg(long)]
        follow: bool,
    },
    /// Manage the job queue.
    #[command(subcommand)]
    Jobs(JobsCmd),
    /// Run jobs of the queue until SIGTERM or Ctrl-C (a graceful shutdown: running jobs finish
    /// or are released), or until idle with --exit-when-idle.
    Worker(WorkerArgs),
    /// Run the offline end-to-end demo on the database file.
    Demo,
    /// Measure the storage backend (creates, gets, paged lists per second) against the same
    /// statements issued directly: raw rusqlite on a SQLite file (the default), raw sqlx with
    /// --db postgres://… (in a throwaway schema).
    Bench(BenchArgs),
}

#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create a tenant.
    Create {
        /// Display name.
        name: String,
    },
    /// Show one tenant.
    Get {
        /// Tenant id.
        id: String,
    },
    /// List tenants.
    List(Paging),
}

#[derive(Debug, Args)]
pub struct Paging {
    /// Page size (1–1000).
    #[arg(long)]
    pub limit: Option<String>,
    /// The next_cursor of the previous page.
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Debug, Args)]
pub struct Tenant {
    /// Tenant id.
    #[arg(long)]
    pub tenant: String,
}

#[derive(Debug, Subcommand)]
pub enum CustomerCmd {
    /// Create a customer.
    Create {
        #[command(flatten)]
        tenant: Tenant,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Absolute http(s) URL of the site.
        #[arg(long)]
        website_url: String,
    },
    /// List customers.
    List {
        #[command(flatten)]
        tenant: Tenant,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one customer.
    Get {
        #[command(flatten)]
        tenant: Tenant,
        /// Customer id.
        id: String,
    },
    /// Change a customer.
    Update {
        #[command(flatten)]
        tenant: Tenant,
        /// Customer id.
        id: String,
        /// The version you read (stale versions are refused).
        #[arg(long)]
        version: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New website URL.
        #[arg(long)]
        website_url: Option<String>,
    },
    /// Delete a customer and its trackings.
    Delete {
        #[command(flatten)]
        tenant: Tenant,
        /// Customer id.
        id: String,
        /// Only if still at this version.
        #[arg(long)]
        version: Option<String>,
    },
}

/// Fields of a tracking, as flags.
#[derive(Debug, Args)]
pub struct TrackingFields {
    /// CSS selector of the element.
    #[arg(long)]
    pub selector: Option<String>,
    /// URL rule as MATCH:VALUE, MATCH one of equals, contains, starts_with, regex.
    #[arg(long, value_name = "MATCH:VALUE")]
    pub url_rule: Option<String>,
    /// GA4 event name.
    #[arg(long)]
    pub ga4_event: Option<String>,
    /// GA4 event parameter as KEY=VALUE (repeatable).
    #[arg(long = "ga4-param", value_name = "KEY=VALUE")]
    pub ga4_params: Vec<String>,
    /// Google Ads conversion category (purchase, submit_lead_form, signup, contact, …).
    #[arg(long)]
    pub ads_category: Option<String>,
    /// Google Ads conversion value.
    #[arg(long)]
    pub value: Option<String>,
    /// Currency of the value (ISO 4217).
    #[arg(long)]
    pub currency: Option<String>,
    /// Scroll depth in percent (scroll_depth trackings).
    #[arg(long)]
    pub scroll_percent: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TrackingCmd {
    /// Create a tracking.
    Create {
        #[command(flatten)]
        tenant: Tenant,
        /// Customer id (of the same tenant).
        #[arg(long)]
        customer: String,
        /// Name, unique per customer.
        #[arg(long)]
        name: String,
        /// button_click, link_click, form_submit, page_view, element_visibility, scroll_depth, custom_event.
        #[arg(long)]
        kind: String,
        #[command(flatten)]
        fields: TrackingFields,
    },
    /// List trackings.
    List {
        #[command(flatten)]
        tenant: Tenant,
        /// Only this customer's.
        #[arg(long)]
        customer: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one tracking.
    Get {
        #[command(flatten)]
        tenant: Tenant,
        /// Tracking id.
        id: String,
    },
    /// Change a tracking (only the flags given change).
    Update {
        #[command(flatten)]
        tenant: Tenant,
        /// Tracking id.
        id: String,
        /// The version you read (stale versions are refused).
        #[arg(long)]
        version: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New kind.
        #[arg(long)]
        kind: Option<String>,
        #[command(flatten)]
        fields: TrackingFields,
        /// Clear an optional field: selector, url_rule, ga4_event, ads or scroll_percent
        /// (repeatable).
        #[arg(long, value_name = "FIELD")]
        clear: Vec<String>,
    },
    /// Delete a tracking.
    Delete {
        #[command(flatten)]
        tenant: Tenant,
        /// Tracking id.
        id: String,
        /// Only if still at this version.
        #[arg(long)]
        version: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Trackings to create in all.
    #[arg(long, default_value_t = 100_000)]
    pub trackings: usize,
    /// Tenants they are spread over.
    #[arg(long, default_value_t = 10)]
    pub tenants: usize,
    /// Point reads to time.
    #[arg(long, default_value_t = 200_000)]
    pub gets: usize,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_grammar_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}

#[derive(Debug, Subcommand)]
pub enum JobsCmd {
    /// Add jobs (any kind: one no worker knows is discarded when claimed, its error recorded).
    Enqueue {
        /// The handler's kind (built in: noop, sleep with {"ms": N}).
        #[arg(long)]
        kind: String,
        /// Arguments as JSON (default {}).
        #[arg(long)]
        args: Option<String>,
        /// How many identical jobs to add, in one transaction (default 1).
        #[arg(long, allow_hyphen_values = true)]
        count: Option<String>,
        /// Queue (default "default").
        #[arg(long)]
        queue: Option<String>,
        /// The tenant the job works for (its events go to that tenant's log).
        #[arg(long)]
        tenant: Option<String>,
        /// 0 (first) to 9 (last).
        #[arg(long, allow_hyphen_values = true)]
        priority: Option<String>,
        /// Attempts in all (default 25).
        #[arg(long, allow_hyphen_values = true)]
        max_attempts: Option<String>,
        /// Run no earlier than this RFC 3339 time.
        #[arg(long)]
        run_at: Option<String>,
        /// Skip if a live job holds this key.
        #[arg(long)]
        unique_key: Option<String>,
    },
    /// List jobs by id.
    List {
        /// Only this state.
        #[arg(long)]
        state: Option<String>,
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
        /// Only this queue.
        #[arg(long)]
        queue: Option<String>,
        /// Only ids above this one (paging).
        #[arg(long)]
        after: Option<String>,
        /// At most this many (default 100).
        #[arg(long)]
        limit: Option<String>,
    },
    /// Show one job with its errors.
    Get {
        /// Job id.
        id: String,
    },
    /// Run a job that is not running again now.
    Retry {
        /// Job id.
        id: String,
    },
    /// Cancel a job that is not final.
    Cancel {
        /// Job id.
        id: String,
    },
    /// Jobs per state.
    Stats {
        /// Only this tenant's jobs.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Enqueue N no-op jobs in one call on a fresh file, burn them down, measure pickup
    /// latency with an idle worker; prints one JSON line last.
    /// With `--db postgres://…` it runs on a throwaway schema of that database (dropped after).
    Bench {
        /// Jobs to enqueue and burn down.
        #[arg(long, default_value = "100000", allow_hyphen_values = true)]
        jobs: String,
        /// Jobs run at once.
        #[arg(long, default_value = "100", allow_hyphen_values = true)]
        concurrency: String,
    },
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Queues to run, comma-separated (default "default").
    #[arg(long)]
    pub queues: Option<String>,
    /// Jobs run at once per queue (default 10).
    #[arg(long, allow_hyphen_values = true)]
    pub concurrency: Option<String>,
    /// Stop once no job is available, running or retryable.
    #[arg(long)]
    pub exit_when_idle: bool,
    /// Lease length in ms (default 30000): a killed worker's jobs come back after it.
    #[arg(long)]
    pub lease_ms: Option<String>,
    /// Longest wait before a retry, in ms (default a day).
    #[arg(long)]
    pub max_backoff_ms: Option<String>,
    /// How long to let running jobs finish at shutdown, in ms (default 10000).
    #[arg(long)]
    pub shutdown_ms: Option<String>,
}
