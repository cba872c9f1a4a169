-- A lead that decays out of MQL with no tick() since, and that a new event
-- (or a fit change) lifts back, is alerted as it happened: mql_lost (time
-- alone took it out), then mql (the write brought it back). A write judges the
-- stored state just before its events (or at its own time, with the old fit)
-- first, then the write. In both modes; before, neither alert was sent (it was
-- an MQL at both the last write and this one).
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
SET client_min_messages = warning;
\getenv abs_srcdir PG_ABS_SRCDIR
\set model :abs_srcdir '/fixtures/live_model.sql'
CREATE SCHEMA dip;
CREATE TABLE dip.leads (id bigint PRIMARY KEY, sector text, job text, email text);
CREATE TABLE dip.acts (lead_id bigint NOT NULL REFERENCES dip.leads ON UPDATE CASCADE,
                       type text, occurred_at timestamptz, url text);
CREATE INDEX ON dip.acts (lead_id);
\i :model
SELECT lead_score.create_model('live', jsonb_insert(lead_score.model_spec('live'), '{fit,rules,0}',
    '{"name": "enterprise", "when": {"field": "sector", "eq": "Enterprise"}, "points": 50}')) AS version;
-- Fit 60 (software, senior); a demo request (30 points, a 7-day half-life)
-- makes each lead an MQL (90 of the 80 needed).
INSERT INTO dip.leads SELECT g, 'Software', 'VP Sales', 'l' || g || '@acme.com' FROM generate_series(1, 5) g;
SELECT lead_score.attach('live', 'dip.leads', 'dip.acts', name => 'ds') IS NOT NULL AS sync_attached,
       lead_score.attach('live', 'dip.leads', 'dip.acts', name => 'dd', mode => 'deferred') IS NOT NULL AS deferred_attached;
INSERT INTO dip.acts SELECT g, 'demo_request', '2026-06-01 11:00+00', NULL FROM generate_series(1, 5) g;
SELECT lead_score.tick() >= 0 AS ticked;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment IN ('ds', 'dd') ORDER BY attachment, lead_key, id;
DELETE FROM lead_score.alerts WHERE attachment IN ('ds', 'dd');
-- Five days later, with no tick() since, the demo is worth 18.3 points: 78.3,
-- no MQL. A pricing page view (7 points) lifts lead 1 back to 85.3, and a
-- new sector (enterprise, 50 points for software's 40) lead 2 to 88.3; lead 3
-- gets the new sector and a new key at once (its activities follow the key).
SET lead_score.mock_now = '2026-06-06 11:00:00+00';
SELECT lead_key, round(total::numeric, 1) AS total, mql FROM lead_score.ds_current ORDER BY lead_key;
INSERT INTO dip.acts VALUES (1, 'page_view', '2026-06-06 10:59+00', '/pricing');
UPDATE dip.leads SET sector = 'Enterprise' WHERE id = 2;
UPDATE dip.leads SET id = 30, sector = 'Enterprise' WHERE id = 3;
-- Lead 4's new view comes with an older one, dated before the lead's last
-- write (a late event), and lead 5's is dated 06-04, after that write but
-- before the lead decayed out (a backdated event). A sync commit knows its
-- events were written now: mql_lost, then mql, for both. A deferred fold
-- knows only when they happened: it judges the stored state just before the
-- earliest, so it finds no crossing before lead 4's late event, nor before
-- lead 5's 06-04 (it was an MQL then), and sends neither. It never makes
-- one up; tick() every minute keeps such a window short.
INSERT INTO dip.acts VALUES (4, 'page_view', '2026-06-01 10:00+00', NULL), (4, 'page_view', '2026-06-06 10:59+00', '/pricing'),
  (5, 'page_view', '2026-06-04 12:00+00', '/pricing');
SELECT lead_score.tick() >= 0 AS ticked;
SELECT lead_key, round(total::numeric, 1) AS total, mql FROM lead_score.ds_current ORDER BY lead_key;
-- Each alert carries the total when its crossing happened: mql_lost and its
-- quadrant change the total just before the write (78.3, below the line;
-- they said the total after it, above the line, before), mql the total after.
SELECT attachment, lead_key, kind, detail, round(total::numeric, 1) AS total
FROM lead_score.alerts WHERE attachment IN ('ds', 'dd') ORDER BY attachment, lead_key, id;
DELETE FROM lead_score.alerts WHERE attachment IN ('ds', 'dd');
-- A tick() that ran in between would have sent the mql_lost; the write then
-- sends only the mql. Here: ten days on, out again, found by tick().
SET lead_score.mock_now = '2026-06-16 11:00:00+00';
SELECT lead_score.tick() >= 0 AS ticked;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment IN ('ds', 'dd') ORDER BY attachment, lead_key, id;
DELETE FROM lead_score.alerts WHERE attachment IN ('ds', 'dd');
INSERT INTO dip.acts VALUES (1, 'demo_request', '2026-06-16 10:59+00', NULL),
  (1, 'page_view', '2026-06-16 10:59+00', '/pricing'), (1, 'page_view', '2026-06-16 10:59:30+00', '/pricing');
SELECT lead_score.tick() >= 0 AS ticked;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment IN ('ds', 'dd') ORDER BY attachment, lead_key, id;
DELETE FROM lead_score.alerts WHERE attachment IN ('ds', 'dd');
-- A late event alone, an hour after the lead's last write: it adds its
-- points, and no crossing is made up (the lead was an MQL just before it).
SET lead_score.mock_now = '2026-06-16 12:00:00+00';
INSERT INTO dip.acts VALUES (1, 'page_view', '2026-06-10 10:00+00', NULL);
SELECT lead_score.tick() >= 0 AS ticked;
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment IN ('ds', 'dd') ORDER BY attachment, lead_key, id;
SELECT (SELECT count(*) FROM lead_score.check_consistency('ds')) AS sync_mismatches,
       (SELECT count(*) FROM lead_score.check_consistency('dd')) AS deferred_mismatches;
SELECT lead_score.detach('dd');
SELECT lead_score.detach('ds');
SELECT lead_score.drop_model('live');
DROP SCHEMA dip CASCADE;
RESET lead_score.mock_now;
