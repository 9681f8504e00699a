// The option and result types every JS runtime of tagsmith shares, written once: spliced into
// @tagsmith/wasm's generated .d.ts (bindings/wasm/src/lib.rs, typescript_custom_section) and into
// @tagsmith/node's (bindings/node/scripts/dts-header.mjs writes dts-header.d.ts from it before
// napi-rs generates index.d.ts).

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
