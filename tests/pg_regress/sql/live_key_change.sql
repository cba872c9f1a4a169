-- A lead whose key an UPDATE changes stays the same lead: its score moves to
-- the new key, and its alerts go on from where they were (no second "became
-- an MQL", no burst again for the same events, and an mql_lost if the change
-- also takes it out of MQL). In both modes; the activities follow the key by
-- a foreign key ON UPDATE CASCADE, as an application's usually do.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
SET client_min_messages = warning;
\getenv abs_srcdir PG_ABS_SRCDIR
\set model :abs_srcdir '/fixtures/live_model.sql'
CREATE SCHEMA kc;
CREATE TABLE kc.leads (id bigint PRIMARY KEY, sector text, job text, email text);
CREATE TABLE kc.acts (lead_id bigint NOT NULL REFERENCES kc.leads ON UPDATE CASCADE,
                      type text, occurred_at timestamptz, url text);
CREATE INDEX ON kc.acts (lead_id);
\i :model
INSERT INTO kc.leads VALUES (1, 'Software', 'VP Sales', 'a@acme.com'),
  (2, 'Retail', 'Intern', 'b@globex.com'), (3, 'Retail', 'Intern', 'c@globex.com');
SELECT lead_score.attach('live', 'kc.leads', 'kc.acts', name => 'ks') IS NOT NULL AS sync_attached,
       lead_score.attach('live', 'kc.leads', 'kc.acts', name => 'kd', mode => 'deferred') IS NOT NULL AS deferred_attached;
-- Three pricing views within the hour: lead 1 becomes an MQL, its pricing
-- category reaches its watermark, and the burst fires, once per attachment.
INSERT INTO kc.acts VALUES (1, 'page_view', '2026-06-01 11:00+00', '/pricing'),
  (1, 'page_view', '2026-06-01 11:10+00', '/pricing'), (1, 'page_view', '2026-06-01 11:20+00', '/pricing');
SELECT lead_score.tick() AS deferred_alerts;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment IN ('ks', 'kd') ORDER BY attachment, id;
DELETE FROM lead_score.alerts WHERE attachment IN ('ks', 'kd');
-- The key changes: the score moves, and nothing is alerted (before, the new
-- key was a new lead: mql, quadrant, watermark and the burst again).
UPDATE kc.leads SET id = 100 WHERE id = 1;
SELECT lead_score.tick() AS deferred_alerts;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment IN ('ks', 'kd') ORDER BY attachment, id;
SELECT lead_key, round(total::numeric, 3) AS total, mql FROM lead_score.ks_current ORDER BY lead_key;
-- A key change that also drops it out of MQL alerts that, under the new key.
UPDATE kc.leads SET id = 200, sector = 'Retail' WHERE id = 100;
SELECT lead_score.tick() AS deferred_alerts;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment IN ('ks', 'kd') ORDER BY attachment, id;
DELETE FROM lead_score.alerts WHERE attachment IN ('ks', 'kd');
-- So does a statement that changes one key among rows whose keys stay: one
-- key goes, one new key comes.
UPDATE kc.leads SET id = CASE WHEN id = 200 THEN 201 ELSE id END, email = lower(email) WHERE id IN (200, 2);
SELECT lead_score.tick() AS deferred_alerts;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment IN ('ks', 'kd') ORDER BY attachment, id;
-- A statement that changes several rows' keys does not say which old key
-- became which new one: each new key is scored as a new lead, and alerts
-- as one (here, lead 3000's pricing events fire their burst under it again).
INSERT INTO kc.acts VALUES (3, 'page_view', '2026-06-01 11:30+00', '/pricing'),
  (3, 'page_view', '2026-06-01 11:31+00', '/pricing'), (3, 'page_view', '2026-06-01 11:32+00', '/pricing');
SELECT lead_score.tick() AS deferred_alerts;
DELETE FROM lead_score.alerts WHERE attachment IN ('ks', 'kd');
UPDATE kc.leads SET id = id * 1000 WHERE id IN (2, 3);
SELECT lead_score.tick() AS deferred_alerts;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment IN ('ks', 'kd') ORDER BY attachment, id;
-- A writable CTE that frees a key and takes it again in one statement, whose
-- query does not read the CTE to its end (EXISTS): PostgreSQL then finishes
-- the CTE, and queues its trigger, last. The key's score row stays the lead
-- that holds the key now (before, that last trigger deleted it for good: the
-- lead was missing from the views and from top_leads until a rescore).
INSERT INTO kc.leads VALUES (7, 'Software', 'VP Sales', 'g@acme.com'), (8, 'Retail', 'Intern', 'h@acme.com'),
  (9, 'Software', 'Intern', 'i@acme.com');
INSERT INTO kc.acts VALUES (7, 'page_view', '2026-06-01 11:00+00', '/pricing'), (8, 'page_view', '2026-06-01 11:00+00', '/docs'),
  (9, 'page_view', '2026-06-01 11:00+00', '/pricing');
-- Lead 7 deleted and inserted again (its activities stay its own).
WITH d AS (DELETE FROM kc.leads WHERE id = 7 RETURNING id)
INSERT INTO kc.leads SELECT 7, 'Software', 'CTO', 'g@acme.com' WHERE EXISTS (SELECT 1 FROM d);
-- Lead 8 deleted and lead 9 moved onto its key.
WITH d AS (DELETE FROM kc.leads WHERE id = 8 RETURNING id)
UPDATE kc.leads SET id = 8 WHERE id = 9 AND EXISTS (SELECT 1 FROM d);
-- Lead 7 moved to key 700 (its activities with it), and a new lead 7.
WITH u AS (UPDATE kc.leads SET id = 700 WHERE id = 7 RETURNING id)
INSERT INTO kc.leads SELECT 7, 'Retail', 'Intern', 'j@acme.com' WHERE EXISTS (SELECT 1 FROM u);
SELECT lead_score.tick() >= 0 AS ticked;
SELECT l.id AS lead, s.lead_key IS NOT NULL AS scored_sync, d.lead_key IS NOT NULL AS scored_deferred,
       round(s.total::numeric, 3) AS total
FROM kc.leads l LEFT JOIN lead_score.ks_current s ON s.lead_key = l.id LEFT JOIN lead_score.kd_current d ON d.lead_key = l.id
WHERE l.id IN (7, 8, 700) ORDER BY 1;
-- Every score equals a recompute.
SELECT (SELECT count(*) FROM lead_score.check_consistency('ks')) AS sync_mismatches,
       (SELECT count(*) FROM lead_score.check_consistency('kd')) AS deferred_mismatches;
SELECT lead_score.detach('kd');
SELECT lead_score.detach('ks');
SELECT lead_score.drop_model('live');
DROP SCHEMA kc CASCADE;
RESET lead_score.mock_now;
