-- Activity updates and deletes leave a recompute marker. An activity UPDATE or
-- DELETE can change a lead's score in ways no delta can express (a capped or
-- "once" rule, the latest activity), so the lead is recomputed from the activity
-- table. It used to be recomputed in the writing statement, which then held the
-- lead's score row to commit: a transaction that updated an activity and then
-- waited for a row another writer of that lead held could deadlock with it.
-- Now the statement only appends a marker (a pending row with no type and no
-- time) per touched lead, holding nothing; every reader recomputes a marked lead
-- from the table with its own snapshot, and a fold replaces its score row: a
-- sync writer's commit, or tick() in deferred mode.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';

CREATE SCHEMA mk;
CREATE TABLE mk.leads (id bigint PRIMARY KEY, sector text, job text, email text);
CREATE TABLE mk.events (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL,
    type        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    url         text
);
CREATE INDEX ON mk.events (lead_id);
INSERT INTO mk.leads VALUES (1, 'Software', 'VP Sales'), (2, 'Software', 'CTO'), (3, 'Retail', 'Intern');
INSERT INTO mk.events (lead_id, type, occurred_at, url) VALUES
  (1, 'page_view', '2026-05-31 12:00+00', '/pricing'),
  (2, 'page_view', '2026-05-31 12:00+00', '/blog'),
  (2, 'page_view', '2026-05-31 13:00+00', '/docs'),
  (3, 'page_view', '2026-05-31 12:00+00', '/blog');

\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/fixtures/live_model.sql'
\i :fixtures
\set fixtures :abs_srcdir '/fixtures/try.sql'
\i :fixtures
SELECT lead_score.attach('live', 'mk.leads', 'mk.events', name => 'mk_sync');
SELECT lead_score.attach('live', 'mk.leads', 'mk.events', name => 'mk_deferred', mode => 'deferred');

CREATE VIEW mk.pending AS
SELECT 'sync' AS mode, lead_key, event_type, occurred_at FROM lead_score_internal.mk_sync_pending
UNION ALL
SELECT 'deferred', lead_key, event_type, occurred_at FROM lead_score_internal.mk_deferred_pending;
CREATE VIEW mk.both AS
SELECT s.lead_key, round(s.total::numeric, 3) AS sync_total, round(d.total::numeric, 3) AS deferred_total,
       s.mql AS sync_mql, d.mql AS deferred_mql
FROM lead_score.mk_sync_current s JOIN lead_score.mk_deferred_current d USING (lead_key);
SELECT * FROM mk.both ORDER BY lead_key;

-- 1. An update leaves a marker per lead it touches, in both modes; inside the
-- transaction every reader already sees the recomputed score (lead 2's docs
-- visit became a demo request: 30 points, and an MQL).
BEGIN;
UPDATE mk.events SET type = 'demo_request', url = NULL WHERE lead_id = 2 AND url = '/docs';
SELECT * FROM mk.pending ORDER BY mode, lead_key;
SELECT * FROM mk.both ORDER BY lead_key;
SELECT round(total::numeric, 3) AS total, mql FROM lead_score.current_score('mk_deferred', 2::bigint);
SELECT lead_key, round(total::numeric, 3) AS total FROM lead_score.top_leads('mk_deferred', 1);
SELECT (SELECT count(*) FROM lead_score.check_consistency('mk_sync')) AS sync_mismatches,
       (SELECT count(*) FROM lead_score.check_consistency('mk_deferred')) AS deferred_mismatches;
-- The stored row is stale until a fold: only the readers recompute.
SELECT round(total::numeric, 3) AS stored_total FROM lead_score_internal.mk_sync_scores WHERE lead_key = 2;
COMMIT;

-- 2. The sync commit folded its marker (recomputing lead 2 and alerting on its
-- demo request); the deferred marker waits for tick(), which does the same.
SELECT * FROM mk.pending ORDER BY mode, lead_key;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment LIKE 'mk%' ORDER BY id;
SELECT lead_score.tick() AS alerts_sent;
SELECT * FROM mk.pending ORDER BY mode, lead_key;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment LIKE 'mk%' ORDER BY id;
SELECT round(total::numeric, 3) AS stored_total FROM lead_score_internal.mk_deferred_scores WHERE lead_key = 2;
DELETE FROM lead_score.alerts WHERE attachment LIKE 'mk%';

-- 3. A lead's new events and its marker: readers recompute the lead from the
-- table, which holds the new events too, so nothing counts twice; a fold that
-- moves the marker drops every pending row of the lead it sees.
INSERT INTO mk.events (lead_id, type, occurred_at, url) VALUES (1, 'page_view', '2026-06-01 09:00+00', '/pricing');
DELETE FROM mk.events WHERE lead_id = 1 AND occurred_at = '2026-05-31 12:00+00';
INSERT INTO mk.events (lead_id, type, occurred_at, url) VALUES (1, 'page_view', '2026-06-01 10:00+00', '/pricing');
SELECT mode, lead_key, count(*) FILTER (WHERE occurred_at IS NOT NULL) AS events,
       count(*) FILTER (WHERE occurred_at IS NULL) AS markers
FROM mk.pending GROUP BY 1, 2 ORDER BY 1, 2;
SELECT * FROM mk.both ORDER BY lead_key;
SELECT (SELECT count(*) FROM lead_score.check_consistency('mk_sync')) AS sync_mismatches,
       (SELECT count(*) FROM lead_score.check_consistency('mk_deferred')) AS deferred_mismatches;
SELECT lead_score.tick() >= 0 AS ticked;
SELECT count(*) AS pending FROM mk.pending;
SELECT (SELECT count(*) FROM lead_score.check_consistency('mk_sync')) AS sync_mismatches,
       (SELECT count(*) FROM lead_score.check_consistency('mk_deferred')) AS deferred_mismatches;

-- 4. top_leads ranks a marked lead by its recomputed score, whatever its stored
-- row says: lead 3's blog visit becomes a demo request, which puts it in the top
-- two (its stored score, and the bound of its stored row, would leave it out).
UPDATE mk.leads SET sector = 'Software', job = 'CTO' WHERE id = 3;
SELECT lead_key, round(total::numeric, 3) AS total FROM lead_score.top_leads('mk_deferred', 2);
UPDATE mk.events SET type = 'demo_request', url = NULL WHERE lead_id = 3;
SELECT round(total::numeric, 3) AS stored_total FROM lead_score_internal.mk_deferred_scores WHERE lead_key = 3;
SELECT lead_key, round(total::numeric, 3) AS total FROM lead_score.top_leads('mk_deferred', 2);
SELECT lead_key, round(total::numeric, 3) AS total FROM lead_score.mk_deferred_current ORDER BY total DESC, lead_key;
-- Moving lead 2's activities an hour back lowers it a little, read the same way.
UPDATE mk.events SET occurred_at = occurred_at - interval '1 hour' WHERE lead_id = 2;
SELECT lead_key, round(total::numeric, 3) AS total FROM lead_score.top_leads('mk_deferred', 3);
SELECT lead_key, round(total::numeric, 3) AS total FROM lead_score.mk_deferred_current ORDER BY total DESC, lead_key;
SELECT lead_score.tick() >= 0 AS ticked;
DELETE FROM lead_score.alerts WHERE attachment LIKE 'mk%';

-- 5. Readers recompute a marked lead as the activity table's owner, through
-- lead_score_internal._read_states, which anyone who may read the attachment's
-- scores (its current view, say) may run, and nobody else.
CREATE ROLE regress_mk_viewer;
GRANT USAGE ON SCHEMA lead_score, lead_score_internal TO regress_mk_viewer;
GRANT SELECT ON lead_score.mk_deferred_current TO regress_mk_viewer;
CREATE ROLE regress_mk_nobody;
GRANT USAGE ON SCHEMA lead_score_internal TO regress_mk_nobody;
UPDATE mk.events SET occurred_at = occurred_at - interval '1 hour' WHERE lead_id = 3;
SET ROLE regress_mk_viewer;
SELECT lead_key, round(total::numeric, 3) AS total FROM lead_score.mk_deferred_current ORDER BY lead_key;
-- Only with keys of the attachment's key type, so no cast or operator the
-- caller chose runs as the table's owner.
SELECT pg_temp.try($$SELECT lead_score_internal._read_states('mk_deferred', ARRAY['3'::text])$$) AS other_key_type;
SELECT pg_temp.try($$SELECT lead_score_internal._read_states('mk_deferred', ARRAY[NULL, 3]::bigint[])$$) AS null_key;
SET ROLE regress_mk_nobody;
SELECT pg_temp.try($$SELECT lead_score_internal._read_states('mk_deferred', ARRAY[3::bigint])$$) AS nobody_reads_activities;
RESET ROLE;
SELECT (SELECT count(*) FROM lead_score.check_consistency('mk_deferred')) AS deferred_mismatches;
REVOKE ALL ON SCHEMA lead_score_internal FROM regress_mk_nobody;
REVOKE ALL ON SCHEMA lead_score, lead_score_internal FROM regress_mk_viewer;
DROP OWNED BY regress_mk_viewer;
DROP ROLE regress_mk_viewer, regress_mk_nobody;

-- 6. A marker of a key that is no lead (its activities deleted after the lead)
-- waits, as such a key's events do, until tick() drops it.
SELECT lead_score.tick() >= 0 AS ticked;
DELETE FROM mk.leads WHERE id = 3;
DELETE FROM mk.events WHERE lead_id = 3;
SELECT * FROM mk.pending ORDER BY mode, lead_key;

-- A marked lead's events are read by the lead key index whatever the
-- statistics say. Analyzed while one lead had every event, then loaded, the
-- table's statistics show one lead key for all its rows: a read of one marked
-- lead then scanned the whole table (a view over many marked leads took time
-- quadratic in the table). Now it probes the index.
CREATE TABLE mk.many (id bigint PRIMARY KEY, sector text, job text, email text);
CREATE TABLE mk.many_events (id bigserial PRIMARY KEY, lead_id bigint NOT NULL, type text NOT NULL,
                             occurred_at timestamptz NOT NULL, url text) WITH (autovacuum_enabled = off);
CREATE INDEX ON mk.many_events (lead_id);
INSERT INTO mk.many VALUES (1, 'Software', 'CTO');
INSERT INTO mk.many_events (lead_id, type, occurred_at) SELECT 1, 'page_view', '2026-05-31 12:00+00' FROM generate_series(1, 20);
ANALYZE mk.many, mk.many_events;
SELECT lead_score.attach('live', 'mk.many', 'mk.many_events', name => 'mk_stats', mode => 'deferred') IS NOT NULL AS attached;
INSERT INTO mk.many SELECT g, 'Retail', 'Intern' FROM generate_series(2, 2000) g;
INSERT INTO mk.many_events (lead_id, type, occurred_at)
SELECT 1 + g % 2000, 'page_view', '2026-05-31 12:00+00'::timestamptz - g * interval '1 minute' FROM generate_series(1, 20000) g;
DELETE FROM mk.many_events WHERE lead_id = 7 AND id % 3 = 0;  -- leaves a marker for lead 7
SELECT n_distinct AS lead_keys_by_the_statistics FROM pg_stats
WHERE schemaname = 'mk' AND tablename = 'many_events' AND attname = 'lead_id';
-- (The scans of this transaction: PostgreSQL 15's counts also hold earlier
-- transactions' not reported yet, so the read's are the difference.)
BEGIN;
SELECT seq_scan AS seq_before, idx_scan AS idx_before FROM pg_stat_xact_user_tables
WHERE relid = 'mk.many_events'::regclass \gset
SELECT lead_key, round(engagement::numeric, 3) AS engagement FROM lead_score.mk_stats_current WHERE lead_key = 7;
SELECT seq_scan - :seq_before AS seq_scans, idx_scan - :idx_before AS index_scans FROM pg_stat_xact_user_tables
WHERE relid = 'mk.many_events'::regclass;
COMMIT;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('mk_stats');
SELECT lead_score.detach('mk_stats');

DROP VIEW mk.both, mk.pending;
SELECT lead_score.detach('mk_sync');
SELECT lead_score.detach('mk_deferred');
DROP SCHEMA mk CASCADE;
SELECT lead_score.drop_model('live');
DELETE FROM lead_score.alerts WHERE attachment LIKE 'mk%';
