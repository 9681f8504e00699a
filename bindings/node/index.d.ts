/* eslint-disable */

/**
 * @tagsmith/node: the tagsmith engine for Node.js.
 *
 * Every operation has a Promise form, run on libuv's thread pool, and a `…Sync` twin run
 * inline (a SQLite read is a few microseconds; an awaited Promise adds ~40 µs here, see
 * docs/BENCHMARKS.md, so prefer the Sync twins for embedded storage on a hot path).
 *
 * Threads (`worker_threads`): the native engine is `Send + Sync`, so Promise calls on one
 * `Engine` may run concurrently on the pool. JS objects (`Engine`, `Customers`, `Trackings`)
 * belong to the thread that created them and cannot be transferred or cloned with
 * `postMessage`; in a Worker, open its own engine on the same SQLite file (WAL mode, one writer
 * at a time, across threads and processes). An in-memory engine is visible only to its creator.
 * Results are plain data and can be posted anywhere. Errors lose `code` and `fields` through
 * `postMessage` (structured clone keeps only name, message and stack): post
 * `{ code, message, fields }` instead.
 *
 * Errors: every failure is an `Error` with a stable `code` (see {@link TagsmithError}), in the
 * Sync and the Promise forms alike.
 */

/** Stable error codes, the same in every tagsmith runtime. */
export type ErrorCode =
  | 'not_found'
  | 'already_exists'
  | 'invalid_input'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'timeout'
  | 'conflict'
  | 'unavailable'
  | 'storage'
  | 'network'
  | 'internal'

/** One invalid field of an `invalid_input` error. */
export interface FieldError {
  /** Field path in camelCase, dots for nesting (`urlRule.value`, `ga4Params.my_key`). */
  field: string
  /** The offending value as text (at most 200 characters). */
  value: string
  /** What is wrong and what is expected. */
  reason: string
}

/** What every tagsmith call throws or rejects with: an `Error` with these properties. */
export interface TagsmithError extends Error {
  code: ErrorCode
  /** Bad fields for `invalid_input`, else empty. */
  fields: FieldError[]
  /** The HTTP status a host can answer with (404, 409, 422, 500, …). */
  httpStatus: number
  /** Whether the same call may succeed later. */
  retryable: boolean
  /** Seconds to wait before retrying, when known (`rate_limited`). */
  retryAfterSecs?: number
}

/** RFC 3339 UTC time, e.g. `2026-11-23T05:00:00.123456Z`. */
/** A point in time (UTC); RFC 3339 text only in JSON and on the CLI. */
export type Time = Date

export interface Tenant {
  id: string
  name: string
  createdAt: Time
}

export type GoogleConnection = 'not_connected' | 'connected' | 'error'

export interface Customer {
  id: string
  tenantId: string
  name: string
  websiteUrl: string
  google: GoogleConnection
  version: number
  createdAt: Time
  updatedAt: Time
}

export type TrackingKind =
  | 'button_click'
  | 'link_click'
  | 'form_submit'
  | 'page_view'
  | 'element_visibility'
  | 'scroll_depth'
  | 'custom_event'

export type SyncStatus = 'pending' | 'syncing' | 'synced' | 'failed' | 'deleted'

export interface UrlRule {
  match: 'equals' | 'contains' | 'starts_with' | 'regex'
  value: string
}

export type AdsCategory =
  | 'purchase'
  | 'submit_lead_form'
  | 'signup'
  | 'contact'
  | 'page_view'
  | 'add_to_cart'
  | 'begin_checkout'
  | 'subscribe_paid'
  | 'phone_call_lead'
  | 'book_appointment'
  | 'request_quote'
  | 'get_directions'
  | 'outbound_click'
  | 'download'
  | 'engagement'
  | 'default'

export interface AdsConversion {
  category: AdsCategory
  value?: number | null
  currency?: string | null
}

export interface Tracking {
  id: string
  tenantId: string
  customerId: string
  name: string
  kind: TrackingKind
  selector: string | null
  urlRule: UrlRule | null
  ga4Event: string | null
  /** User data: keys are kept as given (not camelCased). */
  ga4Params: Record<string, string>
  ads: AdsConversion | null
  scrollPercent: number | null
  syncStatus: SyncStatus
  /** What the last sync reported (why it failed, or a warning); kept whatever the status. */
  syncError: string | null
  /**
   * Ids each tag platform assigned, by platform then key (`{ gtm: { trigger_id: '12' } }`);
   * keys are kept as given (not camelCased).
   */
  externalIds: Record<string, Record<string, string>>
  /** Version of the user's fields; sync state changes never move it. */
  version: number
  createdAt: Time
  updatedAt: Time
  lastSyncedAt: Time | null
}

/** One page of a list. */
export interface Page<T> {
  items: T[]
  /** How many records the whole query matches. */
  total: number
  /** Pass back as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null
}

export interface ListOptions {
  /** Page size, 1 to 1000 (default 50). */
  limit?: number
  /** The `nextCursor` of the previous page. */
  cursor?: string | null
}

export interface ListTrackings extends ListOptions {
  /** Only this customer's trackings. */
  customerId?: string | null
}

export interface NewCustomer {
  name: string
  websiteUrl: string
}

/** `version` is the expected current version; other fields are changed when present. */
export interface CustomerPatch {
  version: number
  name?: string
  websiteUrl?: string
}

export interface NewTracking {
  customerId: string
  name: string
  kind: TrackingKind
  selector?: string | null
  urlRule?: UrlRule | null
  ga4Event?: string | null
  ga4Params?: Record<string, string>
  ads?: AdsConversion | null
  scrollPercent?: number | null
}

/** `version` is the expected current version; present fields change, `null` clears. */
export interface TrackingPatch {
  version: number
  name?: string
  kind?: TrackingKind
  selector?: string | null
  urlRule?: UrlRule | null
  ga4Event?: string | null
  ga4Params?: Record<string, string>
  ads?: AdsConversion | null
  scrollPercent?: number | null
}

/** One committed change, numbered per tenant from 1. */
export interface ChangeEvent {
  seq: number
  tenantId: string
  entity: 'tenant' | 'customer' | 'tracking' | 'job'
  id: string
  action: 'created' | 'updated' | 'deleted' | 'status_changed'
  /** The record's version; a job's attempt. */
  version: number
  syncStatus: SyncStatus | null
  /** A job's state after the change. */
  jobState: JobState | null
  at: Time
  /** Who made the change (`engine.actingAs(actor)`); `null` when not named and for job transitions. */
  actor: string | null
}

/** Which events of the activity log `engine.events` returns; every given condition must hold. */
export interface EventFilter {
  /** Only changes of this kind of record. */
  entity?: 'tenant' | 'customer' | 'tracking' | 'job'
  /** Only changes of the record with this id (its history). */
  id?: string
  /** Only changes made by this actor. */
  actor?: string
  /** Only changes at or after this time (a `Date` in Node, or RFC 3339 text). */
  since?: Date | string
  /** Only changes before this time. */
  until?: Date | string
}

/** A tenant's change events after a sequence number (`engine.events`), from the durable log. */
export interface EventBatch {
  events: ChangeEvent[]
  /** Events after `after` pruned before they were read: reload state from storage. */
  missed: number
  /** Pass as `after` next time. */
  lastSeq: number
  /** `after` was ahead of the log (the database was replaced or restored): reload state, then poll from `lastSeq`. */
  reset: boolean
}

/** How much of each tenant's change event log is kept. */
export interface EventRetention {
  /** Most events kept per tenant (default 10 000, at least 1). */
  maxEvents?: number
  /** Oldest event kept, in seconds (default 30 days, at least 1). */
  maxAgeSecs?: number
}

/** Engine options: `Engine.open(path, opts)` (Node). */
export interface EngineOptions {
  eventRetention?: EventRetention
  /** SQLite: how long a write waits for another process's lock, in ms (default 5000, at most 3600000). */
  busyTimeoutMs?: number
  /** Enqueue a sync job of this kind with every tracking change, in the same commit (native only). */
  syncJobs?: { kind: string; queue?: string }
  /** PostgreSQL: the schema holding tagsmith's tables (default `tagsmith`). */
  schema?: string
}

export type JobState = 'available' | 'scheduled' | 'running' | 'retryable' | 'completed' | 'discarded' | 'cancelled'

/** Options of a new job (`jobs.enqueue(kind, args, opts)`). */
export interface EnqueueOptions {
  /** Default `default`. */
  queue?: string
  /** The tenant the job works for: its state changes go to that tenant's event log. */
  tenantId?: string
  /** 0 (first) to 9 (last). */
  priority?: number
  /** Attempts in all (1–1000, default 25). */
  maxAttempts?: number
  /** RFC 3339 time: run no earlier. */
  runAt?: string
  /** Skip (answering the holder, `duplicate: true`) while a job with this key is in `uniqueStates`. */
  uniqueKey?: string
  uniqueStates?: JobState[]
  /** One job with this key runs at a time. */
  concurrencyKey?: string
}

export interface Enqueued {
  id: number
  duplicate: boolean
}

/** An item `enqueueMany` refused (the others were added). */
export interface JobItemError {
  code: string
  message: string
  fields: FieldError[]
}

export interface JobRecord {
  id: number
  tenantId: string | null
  queue: string
  kind: string
  args: unknown
  priority: number
  state: JobState
  attempt: number
  maxAttempts: number
  scheduledAt: Time
  uniqueKey: string | null
  concurrencyKey: string | null
  /** One entry per failed attempt. */
  errors: Array<{ at: Time; attempt: number; message: string }>
  progress: { percent: number; message: string | null } | null
  leaseOwner: string | null
  leaseExpiresAt: Time | null
  createdAt: Time
  attemptedAt: Time | null
  finalizedAt: Time | null
}

export interface JobFilter {
  state?: JobState
  kind?: string
  queue?: string
  tenantId?: string
  /** Only ids above this one (paging). */
  after?: number
  /** Default 100, at most 1000. */
  limit?: number
}

export interface JobStats {
  available: number
  scheduled: number
  running: number
  retryable: number
  completed: number
  discarded: number
  cancelled: number
}

export interface WorkerOptions {
  /** `[name, concurrency]` pairs (default `[['default', 10]]`). */
  queues?: Array<[string, number]>
  id?: string
  /** At most 30000 (default). */
  leaseMs?: number
  pollMs?: number
  jobTimeoutMs?: number
  maxBackoffMs?: number
  keepFinalSecs?: number
  maintenanceMs?: number
}

export interface WorkerReport {
  completed: number
  retried: number
  discarded: number
  released: number
  lost: number
  rescued: number
}

export interface DeleteOptions {
  /** The expected current version (`conflict` if stale). */
  version?: number
}

/** `await using engine = await Engine.open(path)` closes it at the end of the block. */
export interface Engine {
  [Symbol.asyncDispose](): Promise<void>
  [Symbol.dispose](): void
}


/** Handlers get the job as a plain object and may return a value or a Promise. */
export interface Worker {
  /** Run `handler(job)` for jobs of `kind`; a throw or a rejection fails that attempt (its message is recorded) and the worker lives on. */
  register(
    kind: string,
    handler: (job: JobRecord) => unknown,
    opts?: { timeoutMs?: number; maxBackoffMs?: number },
  ): void
}

/**
 * Which binding artifact the generated loader actually loaded: `'native'` for
 * a native addon, otherwise the `platformArchABI` of the WASI flavor. Every
 * flavor napi-rs can build is listed, because `NAPI_RS_NATIVE_LIBRARY_PATH`
 * can point the loader at a WASI artifact this package does not build itself.
 */
export declare const __napiBindingTarget: 'native' | 'wasm32-wasi' | 'wasm32-wasip1'

/** r" One tenant's customers (from `engine.customers(tenantId)`). Same thread rules as `Engine`. */
export declare class Customers {
  /**
   * Create a record. `invalid_input` naming every bad field, `not_found` for another
   * tenant's parent, `already_exists` for a duplicate.
   */
  create(opts: NewCustomer): Promise<Customer>
  /** `create`, inline. */
  createSync(opts: NewCustomer): Customer
  /** Fetch a record of this tenant. `not_found` if unknown, deleted or another tenant's. */
  get(id: string): Promise<Customer>
  /** `get`, inline. */
  getSync(id: string): Customer
  /** One page of this tenant's records, oldest first. */
  list(opts?: ListOptions): Promise<Page<Customer>>
  /** `list`, inline. */
  listSync(opts?: ListOptions): Page<Customer>
  /**
   * Change a record if `opts.version` is current (`conflict` otherwise); `null`
   * clears an optional field.
   */
  update(id: string, opts: CustomerPatch): Promise<Customer>
  /** `update`, inline. */
  updateSync(id: string, opts: CustomerPatch): Customer
  /** Soft-delete a record; `opts.version` guards against a stale read. */
  delete(id: string, opts?: DeleteOptions): Promise<Customer>
  /** `delete`, inline. */
  deleteSync(id: string, opts?: DeleteOptions): Customer
}

/**
 * A tagsmith engine over a SQLite file or memory.
 *
 * Threads: the native engine is `Send + Sync` and Promise methods run on a tokio runtime
 * concurrently. A JS `Engine` object belongs to the thread (main or `worker_threads` Worker)
 * that created it and cannot be posted to another; open the same SQLite file in each worker
 * instead (SQLite in WAL mode serializes writers across connections and processes).
 */
export declare class Engine {
  /** An engine on in-memory storage (tests, scratch work); data is lost on close. */
  static inMemory(): Engine
  /**
   * Open (create and migrate if needed) a SQLite database file, with optional
   * `{ eventRetention: { maxEvents, maxAgeSecs }, busyTimeoutMs }`. Rejects with
   * `invalid_input` for bad options, `storage` if the file is not a database, is locked, or was
   * written by a newer tagsmith.
   */
  static open(path: string, opts?: EngineOptions): Promise<Engine>
  /** `open`, blocking the calling thread. */
  static openSync(path: string, opts?: EngineOptions): Engine
  /** The storage backend's name: `memory`, `sqlite` or `postgres`. */
  get backend(): string
  /**
   * The tenant's activity log: change events after sequence number `after` (default 0: from
   * the oldest kept), at most `limit` (default 1000), optionally only those matching
   * `filter` (`{ entity, id, actor, since, until }`; times as `Date`s or RFC 3339 text), read
   * from the durable log: any process on the same database sees them. Poll with `lastSeq` to
   * follow changes (e.g. to forward them over SSE); `missed` > 0 means some were pruned
   * before they were read.
   */
  events(tenantId: string, after?: number, limit?: number, filter?: EventFilter): EventBatch
  /**
   * A handle on the same engine whose writes the activity log records as made by `actor`
   * (read back as `event.actor` and with `events(t, 0, 100, { actor })`). Throws
   * `invalid_input` for an empty actor, one over 200 characters, or control characters.
   */
  actingAs(actor: string): Engine
  /** The actor this handle's writes are recorded as made by, or `null`. */
  get actor(): string | null
  /** The job queue: enqueue, list, get, retry, cancel, stats. */
  jobs(): Jobs
  /**
   * A worker running jobs with JS handlers, with optional `{ queues: [[name, concurrency]],
   * leaseMs, pollMs, jobTimeoutMs, maxBackoffMs, keepFinalSecs, maintenanceMs, id }`.
   */
  worker(opts?: WorkerOptions): Worker
  /** Close the storage; later calls fail with `unavailable`. Safe to call twice. */
  close(): void
  /** Create a tenant. `invalid_input` for a bad name. */
  createTenant(name: string): Promise<Tenant>
  /** `createTenant`, inline. */
  createTenantSync(name: string): Tenant
  /** Fetch a tenant. `not_found` if unknown. */
  getTenant(id: string): Promise<Tenant>
  /** `getTenant`, inline. */
  getTenantSync(id: string): Tenant
  /** List tenants (the host's administrative view), oldest first. */
  listTenants(opts?: ListOptions): Promise<Page<Tenant>>
  /** `listTenants`, inline. */
  listTenantsSync(opts?: ListOptions): Page<Tenant>
  /** The customers of one tenant. Returns at once; each operation checks the tenant. */
  customers(tenantId: string): Customers
  /** The trackings of one tenant. Returns at once; each operation checks the tenant. */
  trackings(tenantId: string): Trackings
}

/** The engine's job queue, from `engine.jobs()`. */
export declare class Jobs {
  /**
   * Add a job: `enqueue(kind, args?, { queue, tenantId, priority, maxAttempts, runAt,
   * uniqueKey, uniqueStates, concurrencyKey })` → `{ id, duplicate }`.
   */
  enqueue(kind: string, args?: unknown, opts?: EnqueueOptions): Promise<Enqueued>
  /**
   * Add many jobs in one transaction: `enqueueMany([{ kind, args, ...options }])`. Each is
   * answered on its own: `{ id, duplicate }`, or `{ error }` for a bad one (the others are
   * added all the same).
   */
  enqueueMany(jobs: Array<{ kind: string; args?: unknown } & EnqueueOptions>): Promise<Array<Enqueued | { error: JobItemError }>>
  /**
   * From a handler: record the job's progress, `progress(job, percent, message?)`, with the
   * job object the handler was given (its `id`, `attempt` and `leaseOwner`). Published as a
   * change event of the job's tenant; `conflict` once the worker no longer holds the job.
   */
  progress(job: JobRecord, percent: number, message?: string): Promise<void>
  /** Fetch a job (with its errors and progress). `not_found` if unknown. */
  get(id: number): Promise<JobRecord>
  /** Jobs by id: `list({ state, kind, queue, tenantId, after, limit })`. */
  list(opts?: JobFilter): Promise<JobRecord[]>
  /** Run a job that is not running again now. `conflict` if it is running. */
  retry(id: number): Promise<JobRecord>
  /** Cancel a job that is not final. `conflict` if it already is. */
  cancel(id: number): Promise<JobRecord>
  /** Jobs per state (of one tenant, or all). */
  stats(tenantId?: string): Promise<JobStats>
}

/** r" One tenant's trackings (from `engine.trackings(tenantId)`). Same thread rules as `Engine`. */
export declare class Trackings {
  /**
   * Create a record. `invalid_input` naming every bad field, `not_found` for another
   * tenant's parent, `already_exists` for a duplicate.
   */
  create(opts: NewTracking): Promise<Tracking>
  /** `create`, inline. */
  createSync(opts: NewTracking): Tracking
  /** Fetch a record of this tenant. `not_found` if unknown, deleted or another tenant's. */
  get(id: string): Promise<Tracking>
  /** `get`, inline. */
  getSync(id: string): Tracking
  /** One page of this tenant's records, oldest first. */
  list(opts?: ListTrackings): Promise<Page<Tracking>>
  /** `list`, inline. */
  listSync(opts?: ListTrackings): Page<Tracking>
  /**
   * Change a record if `opts.version` is current (`conflict` otherwise); `null`
   * clears an optional field.
   */
  update(id: string, opts: TrackingPatch): Promise<Tracking>
  /** `update`, inline. */
  updateSync(id: string, opts: TrackingPatch): Tracking
  /** Soft-delete a record; `opts.version` guards against a stale read. */
  delete(id: string, opts?: DeleteOptions): Promise<Tracking>
  /** `delete`, inline. */
  deleteSync(id: string, opts?: DeleteOptions): Tracking
}

/**
 * Runs jobs with JS handlers, from `engine.worker(opts)`. Built in: `noop`, and `sleep` with
 * args `{ ms }`. `register` handlers, then `runUntilIdle()`, or `start()` and later
 * `shutdown()`.
 */
export declare class Worker {
  /**
   * Run `handler(job)` (returning a value or a Promise) for jobs of `kind`, with optional
   * `{ timeoutMs, maxBackoffMs }`.
   */
  _register(kind: string, handler: unknown, opts?: { timeoutMs?: number; maxBackoffMs?: number }): void
  /**
   * Enqueue a job at every occurrence of a cron expression, once per occurrence however many
   * workers run it: `periodic(name, cron, kind, args?, opts?)`.
   */
  periodic(name: string, cron: string, kind: string, args?: unknown, opts?: EnqueueOptions): void
  /** Run until no job is available, running or retryable; resolves with the report. */
  runUntilIdle(): Promise<WorkerReport>
  /** Start running jobs in the background (returns at once). */
  start(): void
  /**
   * Stop: running jobs get `deadlineMs` (default 10 000) to finish, the rest are released;
   * resolves with the report.
   */
  shutdown(deadlineMs?: number): Promise<WorkerReport>
}

/**
 * One bare Promise round trip (the tokio runtime and back, resolving `undefined`): the floor
 * the bench compares an awaited `get` with. Not part of the API.
 */
export declare function __tagsmithNoopForBench(): Promise<void>

/**
 * Raise a Rust panic inside a guarded call: the test suite checks it arrives as an `internal`
 * error, never as a crash of the Node process. Not part of the API.
 */
export declare function __tagsmithPanicForTests(): void
