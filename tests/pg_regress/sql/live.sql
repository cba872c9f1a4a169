-- Live scores where the data lives: attach a model to an application's own
-- tables and the scores stay current with every write, in the same transaction.
-- Test builds let the clock stand still: lead_score.mock_now is the time
-- writers and readers take as now(), so the output never changes.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
-- Fixtures shared by the live-score files (tests/pg_regress/fixtures/).
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/fixtures/live_app.sql'
\i :fixtures

-- The mapping names the application's columns; the spec's "url" property is the "page" column.
SELECT lead_score.attach('live', 'app.people', 'app.touches',
    '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind",
      "occurred_at": "at", "properties": {"url": "page"}}');

-- Scores join back to the application's table on its own key type (uuid), with no cast.
CREATE VIEW app.scored AS
SELECT right(p.person_id::text, 1) AS person, p.job, round(c.fit::numeric, 2) AS fit,
       round(c.engagement::numeric, 3) AS engagement, c.quadrant, c.mql, c.hot_categories
FROM app.people p JOIN lead_score.live_current c ON c.lead_key = p.person_id;
SELECT * FROM app.scored ORDER BY person;
-- attach put a statement-level trigger per kind of write on each table, each
-- saying what it is (\d app.touches lists them).
SELECT c.relname AS "table", t.tgname AS trigger, obj_description(t.oid, 'pg_trigger') AS comment
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE t.tgrelid IN ('app.people'::regclass, 'app.touches'::regclass) AND NOT t.tgisinternal
ORDER BY 1, 2;

-- Three pricing views within an hour: a burst; person 1 also becomes an MQL,
-- moves to act_now and crosses the pricing watermark. One alert each.
INSERT INTO app.touches (person, kind, at, page)
SELECT '00000000-0000-0000-0000-000000000001', 'page_view', '2026-06-01 11:00+00'::timestamptz + i * interval '10 minutes', '/pricing'
FROM generate_series(0, 2) AS i;
SELECT * FROM app.scored ORDER BY person;
-- Alerts are rows in lead_score.alerts, also sent as JSON on NOTIFY channel lead_score_alerts.
CREATE VIEW app.new_alerts AS
SELECT right(lead_key, 1) AS person, attachment, kind, detail, round(total::numeric, 3) AS total
FROM lead_score.alerts ORDER BY id;
SELECT * FROM app.new_alerts;
DELETE FROM lead_score.alerts;  -- the tests below show only the alerts each step causes
-- A fourth view in the same hour is the same burst: no new alert.
INSERT INTO app.touches (person, kind, at, page) VALUES ('00000000-0000-0000-0000-000000000001', 'page_view', '2026-06-01 11:40+00', '/pricing');
SELECT count(*) AS alerts FROM lead_score.alerts;
-- A demo request fires at once (a burst of one). Another dated before it that
-- arrives after it (its transaction began first and committed last) is
-- another demo request: it fires too (before, it was taken for the one that
-- fired, and sent nothing).
INSERT INTO app.touches (person, kind, at) VALUES ('00000000-0000-0000-0000-000000000003', 'demo_request', '2026-06-01 11:50+00');
INSERT INTO app.touches (person, kind, at) VALUES ('00000000-0000-0000-0000-000000000003', 'demo_request', '2026-06-01 11:45+00');
SELECT person, kind, detail FROM app.new_alerts WHERE kind = 'burst';
DELETE FROM lead_score.alerts;
-- A disqualified lead (bo@rival.com, a competitor) sends no burst, as it is
-- never an MQL nor hot (it sent both before).
INSERT INTO app.touches (person, kind, at, page)
SELECT '00000000-0000-0000-0000-000000000002', 'page_view', '2026-06-01 11:00+00'::timestamptz + i * interval '10 minutes', '/pricing'
FROM generate_series(0, 2) AS i;
INSERT INTO app.touches (person, kind, at) VALUES ('00000000-0000-0000-0000-000000000002', 'demo_request', '2026-06-01 11:55+00');
SELECT count(*) AS alerts FROM lead_score.alerts;
DELETE FROM app.touches WHERE person = '00000000-0000-0000-0000-000000000002' AND at >= '2026-06-01 11:00+00';
DELETE FROM app.touches WHERE person = '00000000-0000-0000-0000-000000000003' AND kind = 'demo_request' AND at >= '2026-06-01 11:45+00';
DELETE FROM lead_score.alerts;

-- The materialized scores always equal a from-scratch recompute.
SELECT * FROM lead_score.check_consistency('live');

-- A rolled-back transaction leaves neither a score change nor an alert.
BEGIN;
INSERT INTO app.touches (person, kind, at) VALUES ('00000000-0000-0000-0000-000000000002', 'demo_request', '2026-06-01 10:00+00');
SELECT right(lead_key::text, 1) AS person, round(engagement::numeric, 3) AS engagement FROM lead_score.live_current
WHERE lead_key = '00000000-0000-0000-0000-000000000002';
ROLLBACK;
SELECT count(*) AS alerts, (SELECT round(engagement::numeric, 3) FROM lead_score.live_current
                            WHERE lead_key = '00000000-0000-0000-0000-000000000002') AS engagement
FROM lead_score.alerts;

-- Savepoints: only the released part counts.
BEGIN;
SAVEPOINT a;
INSERT INTO app.touches (person, kind, at, page) VALUES ('00000000-0000-0000-0000-000000000003', 'page_view', '2026-06-01 09:00+00', '/blog');
ROLLBACK TO SAVEPOINT a;
INSERT INTO app.touches (person, kind, at, page) VALUES ('00000000-0000-0000-0000-000000000003', 'page_view', '2026-06-01 09:30+00', '/docs');
COMMIT;
SELECT * FROM lead_score.check_consistency('live');

-- COPY goes through the same statement-level trigger.
COPY app.touches (person, kind, at, page) FROM STDIN;
00000000-0000-0000-0000-000000000003	page_view	2026-05-28 08:00:00+00	/pricing
00000000-0000-0000-0000-000000000003	page_view	2026-05-29 08:00:00+00	/blog
\.

-- UPDATE and DELETE of activities recompute the leads they touch.
UPDATE app.touches SET page = '/pricing/enterprise' WHERE page = '/docs';
DELETE FROM app.touches WHERE kind = 'demo_request';
-- A fit attribute changes: person 3 leaves the target sector.
UPDATE app.people SET sector = 'Retail' WHERE person_id = '00000000-0000-0000-0000-000000000003';
-- A new lead, and a lead deleted with its activities.
INSERT INTO app.people VALUES ('00000000-0000-0000-0000-000000000004', 'Software', 'VP', 'di@initech.com');
DELETE FROM app.touches WHERE person = '00000000-0000-0000-0000-000000000002';
DELETE FROM app.people WHERE person_id = '00000000-0000-0000-0000-000000000002';
SELECT * FROM app.scored ORDER BY person;
SELECT * FROM lead_score.check_consistency('live');
-- Person 3 lost the demo request (no longer an MQL) and then the target sector.
SELECT * FROM app.new_alerts;
DELETE FROM lead_score.alerts;

-- Functions for applications: one lead's score by its own key, and the hottest leads.
SELECT round(total::numeric, 3) AS total, grade, label, quadrant
FROM lead_score.current_score('live', '00000000-0000-0000-0000-000000000001'::uuid);
-- The key may be written as text (or left untyped); a key that is not a lead gives
-- no row, and an attachment that does not exist an error naming it.
SELECT round(total::numeric, 3) AS total, grade FROM lead_score.current_score('live', '00000000-0000-0000-0000-000000000001');
SELECT count(*) AS rows FROM lead_score.current_score('live', '00000000-0000-0000-0000-0000000000ff'::uuid);
SELECT * FROM lead_score.current_score('nope', 1);
SELECT * FROM lead_score.current_score('nope', '1');
-- (The query current_score runs names the attachment's view; it too checks the attachment exists.)
SELECT lead_score_internal._sql('nope', 'current_score');
SELECT lead_score_internal._sql('nope', 'current_score_text');
-- The leads with the highest total now, ties by key. Disqualified leads (a
-- competitor's staff) are left out unless asked for. top_leads walks an
-- index of each lead's highest possible total, so it reads a few leads, not all
-- (tests/pg_regress/sql/top_leads.sql checks it against a full sort).
SELECT right(lead_key, 1) AS person, round(total::numeric, 3) AS total, quadrant, disqualified FROM lead_score.top_leads('live', 2);
SELECT right(lead_key, 1) AS person, round(total::numeric, 3) AS total, disqualified
FROM lead_score.top_leads('live', 10, include_disqualified => true);
-- Readers take no transaction id, so they run on a hot standby too.
BEGIN;
SELECT count(*) AS leads FROM lead_score.top_leads('live', 2);
SELECT count(*) AS rows FROM lead_score.current_score('live', '00000000-0000-0000-0000-000000000001');
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_transaction_id;
COMMIT;
-- A sales rep's timeline of one lead: its activities, newest first, the rules
-- each matches and the points it gives now (decayed; before caps).
SELECT occurred_at, event_type, properties, rules, round(points::numeric, 3) AS points
FROM lead_score.timeline('live', '00000000-0000-0000-0000-000000000001');
SELECT * FROM lead_score.timeline('nope', '1');

-- Time passes: decay alone takes person 1 out of MQL. tick() finds it and alerts once.
SET lead_score.mock_now = '2026-06-20 12:00:00+00';
SELECT lead_score.tick() AS alerts_sent;
SELECT * FROM app.new_alerts;
SELECT lead_score.tick() AS alerts_sent;  -- nothing new crossed since

-- A second model on the same tables, e.g. a draft next to the live version.
SELECT lead_score.create_model('draft', jsonb_set(lead_score.model_spec('live'), '{fit,rules,1,points}', '35'));
SELECT lead_score.attach('draft', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'));
SELECT attachment, right(lead_key, 1) AS person, fit, quadrant FROM lead_score.current_scores ORDER BY 1, 2;
-- current_scores is a view with a branch per attachment: a filter on attachment
-- reads only that attachment's score rows (and pending events), and the others
-- are never scanned.
\set scans :abs_srcdir '/fixtures/scans.sql'
\i :scans
-- (The attachments' own tables: how the planner reads the two-row catalog
-- tables beside them depends on when autovacuum last looked.)
SELECT s AS scan FROM pg_temp.scans($$SELECT lead_key, total FROM lead_score.current_scores WHERE attachment = 'draft'$$) s
WHERE s ~ '^(draft|live)_' ORDER BY 1;
-- Category scores in long form, one row per lead and category, for BI tools:
-- per attachment with the key's own type, and for every attachment. Person 2 is
-- disqualified: a disqualified lead has no category scores.
SELECT right(lead_key::text, 1) AS person, category, round(score::numeric, 3) AS score, hot
FROM lead_score.live_categories ORDER BY 1, 2;
SELECT attachment, count(*) AS rows, count(*) FILTER (WHERE hot) AS hot
FROM lead_score.current_categories GROUP BY attachment ORDER BY 1;
-- It has every column of lead_score.score, after attachment, model and the key as text.
SELECT attname FROM pg_attribute WHERE attrelid = 'lead_score.current_scores'::regclass AND attnum > 0 ORDER BY attnum;

-- Publishing a new version rescores its attachments at once (retroactively, like Pardot).
SELECT lead_score.create_model('live', jsonb_set(lead_score.model_spec('live'), '{fit,rules,0,points}', '45'));
SELECT right(lead_key::text, 1) AS person, fit, model_version FROM lead_score.live_current ORDER BY 1;
SELECT * FROM lead_score.check_consistency('live');

-- TRUNCATE empties every lead's engagement.
TRUNCATE app.touches;
SELECT right(lead_key::text, 1) AS person, engagement, last_activity FROM lead_score.live_current ORDER BY 1;

-- rescore() and publishing keep when each burst last fired: a set of events
-- that has not fired yet still can. Two views within an hour fire; a third
-- starts a new set, which fires with the fourth, across a rescore and a publish.
CREATE TABLE app.b_leads (id int PRIMARY KEY, title text);
CREATE TABLE app.b_acts (lead_id int NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL);
CREATE INDEX ON app.b_acts (lead_id);
INSERT INTO app.b_leads VALUES (1, 'x'), (2, 'x'), (3, 'x');
SELECT lead_score.create_model('b', '{"fit": {"rules": []},
  "engagement": {"rules": [{"name": "view", "event": "page_view", "points": 1}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "cold"}], "quadrant": {"fit": 50, "engagement": 50}, "mql": {"min_total": 100}},
  "alerts": [{"name": "burst", "event": "page_view", "count": 2, "within": "1 hour"}]}') AS version;
SELECT lead_score.attach('b', 'app.b_leads', 'app.b_acts', '{"lead_key": "id", "activity_lead_key": "lead_id", "event_type": "type", "occurred_at": "occurred_at"}') IS NOT NULL AS attached;
DELETE FROM lead_score.alerts;
INSERT INTO app.b_acts SELECT i, 'page_view', t FROM generate_series(1, 3) i, unnest(ARRAY['2026-06-01 11:10+00', '2026-06-01 11:20+00']::timestamptz[]) t;
INSERT INTO app.b_acts SELECT i, 'page_view', '2026-06-01 11:30+00' FROM generate_series(1, 3) i;
SELECT lead_score.rescore('b') >= 0 AS rescored;  -- each lead's next set is half there
SELECT lead_score.create_model('b', lead_score.model_spec('b') || '{"description": "same rules"}') AS version;
INSERT INTO app.b_acts SELECT i, 'page_view', '2026-06-01 11:40+00' FROM generate_series(1, 3) i;
SELECT lead_key, count(*) AS bursts FROM lead_score.alerts WHERE attachment = 'b' AND kind = 'burst' GROUP BY 1 ORDER BY 1;
-- A burst redefined under its name (now two downloads) does not fire on
-- history at publishing: lead 1's two downloads were before it, and count as
-- fired. Two new ones do.
INSERT INTO app.b_acts VALUES (1, 'download', '2026-06-01 11:50+00'), (1, 'download', '2026-06-01 11:55+00');
DELETE FROM lead_score.alerts;
SELECT lead_score.create_model('b', jsonb_set(lead_score.model_spec('b'), '{alerts,0,event}', '"download"')) AS version;
SELECT count(*) AS alerts_at_publish FROM lead_score.alerts WHERE attachment = 'b';
INSERT INTO app.b_acts VALUES (1, 'download', '2026-06-01 11:58+00');
INSERT INTO app.b_acts VALUES (1, 'download', '2026-06-01 11:59+00');
SELECT lead_key, kind, detail FROM lead_score.alerts WHERE attachment = 'b' ORDER BY id;
SELECT lead_score.detach('b');

-- detach removes triggers, functions, scores and views; a view of the
-- application's own that uses them must go first.
SELECT lead_score.detach('live');
DROP VIEW app.scored;
SELECT lead_score.detach('draft'), lead_score.detach('live'), lead_score.detach('live');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid IN ('app.people'::regclass, 'app.touches'::regclass) AND NOT tgisinternal;
-- With nothing attached, current_scores is still there, and empty.
SELECT count(*) AS rows_left FROM lead_score.current_scores;
RESET lead_score.mock_now;
DROP SCHEMA app CASCADE;
SELECT lead_score.drop_model(m) FROM unnest(ARRAY['live', 'draft', 'b']) m;

