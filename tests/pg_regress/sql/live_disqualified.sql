-- A disqualified lead (a competitor, an applicant) is never an MQL, and is in
-- no hot category either: its engagement and category scores are computed and
-- shown in <name>_current, but it has no hot categories, <name>_categories has
-- no rows for it, no watermark alert is sent for it, and accounts leave its
-- categories out (accounts.sql). Both modes.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
SET client_min_messages = warning;
\getenv abs_srcdir PG_ABS_SRCDIR
\set model :abs_srcdir '/fixtures/live_model.sql'
CREATE SCHEMA dq;
CREATE TABLE dq.leads (id bigint PRIMARY KEY, sector text, job text, email text);
CREATE TABLE dq.acts (lead_id bigint NOT NULL, type text, occurred_at timestamptz, url text);
CREATE INDEX ON dq.acts (lead_id);
\i :model
INSERT INTO dq.leads VALUES (1, 'Software', 'Engineer', 'al@acme.com'), (2, 'Software', 'Engineer', 'bo@rival.com');
SELECT lead_score.attach('live', 'dq.leads', 'dq.acts', name => 'dqs') IS NOT NULL AS sync_attached,
       lead_score.attach('live', 'dq.leads', 'dq.acts', name => 'dqd', mode => 'deferred') IS NOT NULL AS deferred_attached;
-- Two pricing views each (5 points each, watermark 9): lead 1's pricing
-- category is hot, and alerts; competitor 2's scores the same, and is not.
INSERT INTO dq.acts VALUES (1, 'page_view', '2026-06-01 11:00+00', '/pricing'), (1, 'page_view', '2026-06-01 11:30+00', '/pricing'),
  (2, 'page_view', '2026-06-01 11:00+00', '/pricing'), (2, 'page_view', '2026-06-01 11:30+00', '/pricing');
SELECT lead_score.tick() AS deferred_alerts;
SELECT lead_key, disqualified_by, categories, hot_categories FROM lead_score.dqs_current ORDER BY lead_key;
SELECT lead_key, category, round(score::numeric, 3) AS score, hot FROM lead_score.dqs_categories ORDER BY 1, 2;
SELECT lead_key, category, round(score::numeric, 3) AS score, hot FROM lead_score.dqd_categories ORDER BY 1, 2;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment IN ('dqs', 'dqd') ORDER BY attachment, id;
DELETE FROM lead_score.alerts WHERE attachment IN ('dqs', 'dqd');
-- What explain_lead says of the competitor's category.
SELECT section, item, category, round(points::numeric, 3) AS points, detail
FROM lead_score.explain_lead('dqs', '2') WHERE section = 'summary' AND item = 'category';
-- Lead 1 turns out to be a competitor too: it leaves its hot category (no
-- alert is sent for leaving one). Lead 2 is no competitor after all: its
-- category is hot from now on, and alerts.
UPDATE dq.leads SET email = 'al@rival.com' WHERE id = 1;
UPDATE dq.leads SET email = 'bo@example.com' WHERE id = 2;
SELECT lead_key, disqualified_by, hot_categories FROM lead_score.dqd_current ORDER BY lead_key;
SELECT lead_key, category, hot FROM lead_score.dqs_categories ORDER BY 1, 2;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment IN ('dqs', 'dqd') ORDER BY attachment, id;
-- current_categories, over every attachment, leaves disqualified leads out too.
SELECT attachment, lead_key, category FROM lead_score.current_categories WHERE attachment IN ('dqs', 'dqd') ORDER BY 1, 2;
-- Every score equals a recompute.
SELECT (SELECT count(*) FROM lead_score.check_consistency('dqs')) AS sync_mismatches,
       (SELECT count(*) FROM lead_score.check_consistency('dqd')) AS deferred_mismatches;
SELECT lead_score.detach('dqd');
SELECT lead_score.detach('dqs');
SELECT lead_score.drop_model('live');
DROP SCHEMA dq CASCADE;
RESET lead_score.mock_now;
