-- tagsmith schema 1: tenants, customers, trackings. `seq` orders lists and backs cursors;
-- `id` is the opaque public id. Soft-deleted rows keep `deleted_at`.
CREATE TABLE tenants (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE customers (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    name        TEXT NOT NULL,
    website_url TEXT NOT NULL,
    google      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER
);
CREATE INDEX customers_live ON customers (tenant_id, seq) WHERE deleted_at IS NULL;

CREATE TABLE trackings (
    seq                      INTEGER PRIMARY KEY,
    id                       TEXT NOT NULL UNIQUE,
    tenant_id                TEXT NOT NULL REFERENCES tenants (id),
    customer_id              TEXT NOT NULL REFERENCES customers (id),
    name                     TEXT NOT NULL,
    kind                     TEXT NOT NULL,
    selector                 TEXT,
    url_match                TEXT,
    url_value                TEXT,
    ga4_event                TEXT,
    ga4_params               TEXT NOT NULL,
    ads_category             TEXT,
    ads_value                REAL,
    ads_currency             TEXT,
    scroll_percent           INTEGER,
    sync_status              TEXT NOT NULL,
    sync_error               TEXT,
    gtm_trigger_id           TEXT,
    gtm_tag_id               TEXT,
    ads_conversion_action_id TEXT,
    ads_conversion_label     TEXT,
    version                  INTEGER NOT NULL,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    last_synced_at           INTEGER,
    deleted_at               INTEGER
);
CREATE INDEX trackings_live ON trackings (tenant_id, seq) WHERE deleted_at IS NULL;
CREATE INDEX trackings_live_customer ON trackings (tenant_id, customer_id, seq) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX trackings_live_name ON trackings (tenant_id, customer_id, name) WHERE deleted_at IS NULL;
