-- tagsmith on PostgreSQL, schema 1: tenants, customers, trackings and the per-tenant change
-- event log, as on SQLite (schemas 1-2) with PostgreSQL types. Runs with search_path set to
-- tagsmith's schema. `seq` orders lists and backs cursors; `id` is the opaque public id;
-- soft-deleted rows keep `deleted_at`. Constraint names match SQLite's so errors map alike.
CREATE TABLE tenants (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT NOT NULL CONSTRAINT tenants_id UNIQUE,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    -- The last sequence number given to the tenant's events: bumped in the writing transaction.
    event_seq  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE customers (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          TEXT NOT NULL CONSTRAINT customers_id UNIQUE,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    website_url TEXT NOT NULL,
    google      TEXT NOT NULL,
    version     BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    deleted_at  TIMESTAMPTZ
);
CREATE INDEX customers_live ON customers (tenant_id, seq) WHERE deleted_at IS NULL;

CREATE TABLE trackings (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             TEXT NOT NULL CONSTRAINT trackings_id UNIQUE,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    customer_id    TEXT NOT NULL REFERENCES customers (id),
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    selector       TEXT,
    url_match      TEXT,
    url_value      TEXT,
    ga4_event      TEXT,
    ga4_params     JSONB NOT NULL,
    ads_category   TEXT,
    ads_value      DOUBLE PRECISION,
    ads_currency   TEXT,
    scroll_percent BIGINT,
    sync_status    TEXT NOT NULL,
    sync_error     TEXT,
    external_ids   JSONB NOT NULL DEFAULT '{}',
    version        BIGINT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    last_synced_at TIMESTAMPTZ,
    deleted_at     TIMESTAMPTZ
);
CREATE INDEX trackings_live ON trackings (tenant_id, seq) WHERE deleted_at IS NULL;
CREATE INDEX trackings_live_customer ON trackings (tenant_id, customer_id, seq)
    WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX trackings_live_name ON trackings (tenant_id, customer_id, name)
    WHERE deleted_at IS NULL;

CREATE TABLE events (
    tenant_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    entity      TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    action      TEXT NOT NULL,
    version     BIGINT NOT NULL,
    sync_status TEXT,
    job_state   TEXT,
    at          TIMESTAMPTZ NOT NULL,
    CONSTRAINT events_pk PRIMARY KEY (tenant_id, seq)
);
