-- Live scores where the data lives: attach a model to an application's own
-- tables and the scores stay current with every write, in the same transaction.
SET lead_score.as_of = '2026-06-01 12:00:00+00';  -- fixed time, so the output never changes

CREATE SCHEMA app;
CREATE TABLE app.people (
    person_id uuid PRIMARY KEY,
    sector    text,
    job       text,
    email     text
);
CREATE TABLE app.touches (
    touch_id  bigserial PRIMARY KEY,
    person    uuid NOT NULL REFERENCES app.people,
    kind      text NOT NULL,
    at        timestamptz NOT NULL,
    page      text
);
CREATE INDEX ON app.touches (person);

INSERT INTO app.people VALUES
  ('00000000-0000-0000-0000-000000000001', 'Software', 'VP Sales', 'ann@acme.com'),
  ('00000000-0000-0000-0000-000000000002', 'Retail', 'Intern', 'bo@rival.com'),
  ('00000000-0000-0000-0000-000000000003', 'Software', 'CTO', 'cy@globex.com');
INSERT INTO app.touches (person, kind, at, page) VALUES
  ('00000000-0000-0000-0000-000000000001', 'page_view', '2026-05-31 12:00+00', '/pricing'),
  ('00000000-0000-0000-0000-000000000003', 'demo_request', '2026-05-30 12:00+00', NULL);

SELECT lead_score.create_model('live', '{
  "fit": {"rules": [
    {"name": "software", "when": {"field": "sector", "eq": "Software"}, "points": 40},
    {"name": "senior", "when": {"field": "job", "regex": "\\b(vp|cto)\\b"}, "points": 20},
    {"name": "competitor", "when": {"field": "email", "regex": "@rival\\.com$"}, "disqualify": true}]},
  "engagement": {
    "properties": ["url"],
    "decay": {"kind": "exponential", "half_life": "7 days"},
    "categories": [{"name": "pricing", "watermark": 9}],
    "rules": [
      {"name": "visit", "event": "page_view", "points": 2},
      {"name": "pricing", "event": "page_view", "when": {"field": "url", "contains": "/pricing"}, "points": 5, "category": "pricing"},
      {"name": "demo", "event": "demo_request", "points": 30, "repeat": "once"}]},
  "alerts": [
    {"name": "pricing burst", "event": "page_view", "when": {"field": "url", "contains": "/pricing"}, "count": 3, "within": "1 hour"},
    {"name": "demo request", "event": "demo_request"}],
  "classification": {
    "grades": [{"name": "A", "min": 50}, {"name": "B"}],
    "labels": [{"name": "hot", "min": 20}, {"name": "cold"}],
    "quadrant": {"fit": 50, "engagement": 20},
    "mql": {"min_total": 80}}
}');

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
SELECT right(lead_key, 1) AS person, round(engagement::numeric, 3) AS engagement, quadrant FROM lead_score.top_leads('live', 2);
-- "Hottest now" is an index scan on the forward-decayed heat, with no sort over all leads.
EXPLAIN (COSTS OFF) SELECT lead_key FROM lead_score.live_current ORDER BY heat DESC LIMIT 100;

-- Time passes: decay alone takes person 1 out of MQL. tick() finds it and alerts once.
SET lead_score.as_of = '2026-06-20 12:00:00+00';
SELECT lead_score.tick() AS alerts_sent;
SELECT * FROM app.new_alerts;
SELECT lead_score.tick() AS alerts_sent;  -- nothing new crossed since

-- A second model on the same tables, e.g. a draft next to the live version.
SELECT lead_score.create_model('draft', jsonb_set(lead_score.model_spec('live'), '{fit,rules,1,points}', '35'));
SELECT lead_score.attach('draft', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'));
SELECT attachment, right(lead_key, 1) AS person, fit, quadrant FROM lead_score.current_scores ORDER BY 1, 2;

-- Publishing a new version rescores its attachments at once (retroactively, like Pardot).
SELECT lead_score.create_model('live', jsonb_set(lead_score.model_spec('live'), '{fit,rules,0,points}', '45'));
SELECT right(lead_key::text, 1) AS person, fit, model_version FROM lead_score.live_current ORDER BY 1;
SELECT * FROM lead_score.check_consistency('live');

-- TRUNCATE empties every lead's engagement.
TRUNCATE app.touches;
SELECT right(lead_key::text, 1) AS person, engagement, last_activity FROM lead_score.live_current ORDER BY 1;

-- 5000 half-lives later, with tick() moving the landmark as it runs, nothing overflows.
SELECT lead_score.create_model('fast', jsonb_set(lead_score.model_spec('live'), '{engagement,decay,half_life}', '"1 hour"'));
SELECT lead_score.attach('fast', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'));
DO $$
DECLARE t timestamptz := '2026-06-20 12:00:00+00';
BEGIN
    FOR i IN 1..100 LOOP
        t := t + interval '50 hours';
        PERFORM set_config('lead_score.as_of', t::text, true);
        INSERT INTO app.touches (person, kind, at, page) VALUES ('00000000-0000-0000-0000-000000000001', 'page_view', t, '/pricing');
        PERFORM lead_score.tick();
    END LOOP;
    -- 100 × 50 hours = 5000 half-lives.
END $$;
-- Read at the last event: its 7 points (visit + pricing), older events long decayed.
SELECT set_config('lead_score.as_of', ('2026-06-20 12:00:00+00'::timestamptz + interval '5000 hours')::text, false) IS NOT NULL AS at_last_event;
SELECT engagement = 'Infinity' OR engagement = 'NaN' OR engagement IS NULL AS broken, round(engagement::numeric, 6) AS engagement
FROM lead_score.fast_current WHERE lead_key = '00000000-0000-0000-0000-000000000001';
SELECT * FROM lead_score.check_consistency('fast');
SELECT landmark > '2026-12-01' AS landmark_moved FROM lead_score.attachments WHERE name = 'fast';

-- Window decay stays exact in live scores for "once" and capped rules: they keep
-- only their most recent event times (one, or enough to reach the cap).
SET lead_score.as_of = '2026-06-20 12:00:00+00';
TRUNCATE app.touches;  -- the events above are dated after this section's time
SELECT lead_score.create_model('recent', jsonb_set(lead_score.model_spec('live'), '{engagement,rules,2,decay}',
                                                   '{"kind": "window", "window": "14 days"}'));
SELECT lead_score.attach('recent', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'));
INSERT INTO app.touches (person, kind, at) VALUES ('00000000-0000-0000-0000-000000000004', 'demo_request', '2026-06-10 12:00+00');
SELECT right(lead_key::text, 1) AS person, engagement, mql FROM lead_score.recent_current
WHERE lead_key = '00000000-0000-0000-0000-000000000004';
DELETE FROM lead_score.alerts;
-- Five days later the demo request is 15 days old: out of the window. tick() alerts.
SET lead_score.as_of = '2026-06-25 12:00:00+00';
SELECT right(lead_key::text, 1) AS person, engagement, mql FROM lead_score.recent_current
WHERE lead_key = '00000000-0000-0000-0000-000000000004';
SELECT lead_score.tick() > 0 AS alerted;
SELECT person, attachment, kind, detail FROM app.new_alerts WHERE attachment = 'recent';
SELECT * FROM lead_score.check_consistency('recent');
SELECT lead_score.detach('recent');
SET lead_score.as_of = '2027-01-14 20:00:00+00';

-- A text key works the same way: crm.leads (from fit.sql) is keyed by text.
SET lead_score.as_of = '2026-06-15 00:00:00+00';
SELECT lead_score.attach('full', 'crm.leads', 'crm.activities',
    '{"lead_key": "lead_key", "activity_lead_key": "lead_key", "event_type": "type", "occurred_at": "occurred_at"}',
    name => 'crm_full') IS NOT NULL AS attached;
SELECT pg_typeof(lead_key) AS key_type, count(*) AS leads FROM lead_score.crm_full_current GROUP BY 1;
INSERT INTO crm.activities VALUES ('L1', 'page_view', '2026-05-31 00:00+00', '/pricing');
SELECT l.lead_key, round(c.engagement::numeric, 3) AS engagement
FROM crm.leads l JOIN lead_score.crm_full_current c USING (lead_key) WHERE l.lead_key = 'L1';
SELECT * FROM lead_score.check_consistency('crm_full');
SELECT lead_score.detach('crm_full');
SET lead_score.as_of = '2027-01-14 20:00:00+00';

-- Mistakes are refused with a SQLSTATE and a message naming the problem.
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
SELECT lead_score.create_model('windowed', jsonb_set(lead_score.model_spec('live'), '{engagement,decay}', '{"kind": "window", "window": "30 days"}'));
SELECT mistake, pg_temp.try(statement) AS error FROM (VALUES
  ('no such column', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{"lead_key": "id"}', name => 'typo')$$),
  ('key types differ', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{"lead_key": "person_id",
      "activity_lead_key": "touch_id", "event_type": "kind", "occurred_at": "at", "properties": {"url": "page"}}', name => 'types')$$),
  ('unknown mapping key', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{"lead_kee": "x"}', name => 'keys')$$),
  ('bad name', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{}', name => 'Live Scores')$$),
  ('window decay', $$SELECT lead_score.attach('windowed', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'))$$),
  ('no such model', $$SELECT lead_score.attach('nope', 'app.people', 'app.touches')$$)
) AS t(mistake, statement);

-- detach removes triggers, functions, scores and views; a view of the
-- application's own that uses them must go first.
SELECT lead_score.detach('live');
DROP VIEW app.scored;
SELECT lead_score.detach('draft'), lead_score.detach('fast'), lead_score.detach('live'), lead_score.detach('live');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid IN ('app.people'::regclass, 'app.touches'::regclass) AND NOT tgisinternal;
RESET lead_score.as_of;
