-- tagsmith PostgreSQL schema 3: the change event log as the tenant's activity log: who made each
-- change (the actor the host names, NULL for none and for job transitions), and an index for
-- reading one record's history.
ALTER TABLE events ADD COLUMN actor text;
CREATE INDEX events_by_record ON events (tenant_id, record_id, seq);
