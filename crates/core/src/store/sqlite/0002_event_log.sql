-- tagsmith schema 2: the durable per-tenant change event log, sync state beside the tracking
-- (external ids as one JSON map per platform instead of Google-named columns), and the record of
-- applied migrations with their checksums.
CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at INTEGER NOT NULL
);

-- The last sequence number given to the tenant's events: bumped in the writing transaction, so
-- numbers follow commit order without gaps and survive pruning.
ALTER TABLE tenants ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE events (
    tenant_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    entity      TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    action      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    sync_status TEXT,
    at          INTEGER NOT NULL,
    CONSTRAINT events_pk PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;

ALTER TABLE trackings ADD COLUMN external_ids TEXT NOT NULL DEFAULT '{}';
UPDATE trackings SET external_ids = json_patch(
    CASE WHEN gtm_trigger_id IS NULL AND gtm_tag_id IS NULL THEN '{}'
         ELSE json_object('gtm', json(json_patch(
             CASE WHEN gtm_trigger_id IS NULL THEN '{}' ELSE json_object('trigger_id', gtm_trigger_id) END,
             CASE WHEN gtm_tag_id IS NULL THEN '{}' ELSE json_object('tag_id', gtm_tag_id) END))) END,
    CASE WHEN ads_conversion_action_id IS NULL AND ads_conversion_label IS NULL THEN '{}'
         ELSE json_object('google_ads', json(json_patch(
             CASE WHEN ads_conversion_action_id IS NULL THEN '{}'
                  ELSE json_object('conversion_action_id', ads_conversion_action_id) END,
             CASE WHEN ads_conversion_label IS NULL THEN '{}'
                  ELSE json_object('conversion_label', ads_conversion_label) END))) END)
WHERE gtm_trigger_id IS NOT NULL OR gtm_tag_id IS NOT NULL
   OR ads_conversion_action_id IS NOT NULL OR ads_conversion_label IS NOT NULL;
ALTER TABLE trackings DROP COLUMN gtm_trigger_id;
ALTER TABLE trackings DROP COLUMN gtm_tag_id;
ALTER TABLE trackings DROP COLUMN ads_conversion_action_id;
ALTER TABLE trackings DROP COLUMN ads_conversion_label;
