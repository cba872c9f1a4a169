-- A sync writer's commit folds the rows its statements appended to the pending
-- table, found by their ctids (a TID scan), whatever the table's statistics
-- say. Autovacuum of a busy sync attachment's pending table finds it mostly
-- dead and records about one live row over many pages; with those statistics
-- a plain index scan of the whole lead key index, filtered by ctid, looked
-- cheaper to the planner than a TID scan, and every commit read every entry of
-- the index, dead ones included (69,155 buffers for one commit after a pgbench
-- run, against 1). The commit's fold now finds those rows by ctid alone.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';

CREATE SCHEMA cf;
CREATE TABLE cf.leads (id bigint PRIMARY KEY, sector text, job text, email text);
CREATE TABLE cf.events (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL,
    type        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    url         text
);
CREATE INDEX ON cf.events (lead_id);
INSERT INTO cf.leads VALUES (1, 'Software', 'VP Sales'), (2, 'Software', 'CTO'), (3, 'Retail', 'Intern');

\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/fixtures/live_model.sql'
\i :fixtures
SELECT lead_score.attach('live', 'cf.leads', 'cf.events', name => 'cf_sync');
INSERT INTO cf.events (lead_id, type, occurred_at, url) VALUES (1, 'page_view', '2026-05-31 12:00+00', '/pricing');

-- The statistics autovacuum left on such a table (set here by hand: pages,
-- and one live row).
UPDATE pg_class SET relpages = 1735, reltuples = 1
WHERE oid = 'lead_score_internal.cf_sync_pending'::regclass;

-- A single-row insert and its commit: the fold reads the lead key index of
-- the pending table not once (the statement before the insert sends this
-- session's statistics; the one after it, the insert's).
SELECT pg_stat_force_next_flush();
SELECT idx_scan AS scans_before FROM pg_stat_user_indexes
WHERE indexrelid = 'lead_score_internal.cf_sync_pending_lead_key'::regclass \gset
INSERT INTO cf.events (lead_id, type, occurred_at, url) VALUES (2, 'page_view', '2026-05-31 12:00+00', '/pricing');
SELECT pg_stat_force_next_flush();
SELECT idx_scan - :scans_before AS index_scans_by_the_commit FROM pg_stat_user_indexes
WHERE indexrelid = 'lead_score_internal.cf_sync_pending_lead_key'::regclass;

-- The fold took the rows: nothing waits, and the scores are a recompute's.
SELECT count(*) AS pending_after_commit FROM lead_score_internal.cf_sync_pending;
SELECT lead_key, round(total::numeric, 3) AS total FROM lead_score.cf_sync_current ORDER BY lead_key;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('cf_sync');

-- The fold sets its planner settings for its transaction only (set_config's
-- is_local): the session's are as they were.
SELECT current_setting('enable_seqscan') AS enable_seqscan, current_setting('enable_indexscan') AS enable_indexscan;

SELECT lead_score.detach('cf_sync');
DROP SCHEMA cf CASCADE;
SELECT lead_score.drop_model('live');
DELETE FROM lead_score.alerts WHERE attachment LIKE 'cf%';
