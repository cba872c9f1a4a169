-- The predictive score: a logistic model beside the rule score. A model's
-- "predictive" section holds an intercept and weighted features in log-odds:
-- conditions on lead fields, and engagement rules weighed per decayed event.
-- Every score then carries the probability of converting, a predictive score
-- (0 to 100) and the largest contributions, which add up exactly to the log-odds.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/fixtures/live_app.sql'
\i :fixtures

SELECT lead_score.create_model('pred', '{
  "fit": {"rules": [
    {"name": "software", "when": {"field": "sector", "eq": "Software"}, "points": 40},
    {"name": "competitor", "when": {"field": "email", "regex": "@rival\\.com$"}, "disqualify": true}]},
  "engagement": {
    "decay": {"kind": "exponential", "half_life": "7 days"},
    "rules": [
      {"name": "visit", "event": "page_view", "points": 2},
      {"name": "demo", "event": "demo_request", "points": 30, "repeat": "once"}]},
  "classification": {
    "grades": [{"name": "A", "min": 40}, {"name": "B"}],
    "labels": [{"name": "hot", "min": 20}, {"name": "cold"}],
    "quadrant": {"fit": 40, "engagement": 20},
    "mql": {"min_total": 60}},
  "predictive": {
    "intercept": -2.5,
    "features": [
      {"name": "software", "when": {"field": "sector", "eq": "Software"}, "weight": 1.2},
      {"name": "senior", "when": {"field": "job", "regex": "\\b(vp|cto)\\b"}, "weight": 0.8},
      {"name": "demo requests", "rule": "demo", "weight": 2.0},
      {"name": "visits", "rule": "visit", "weight": 0.3}],
    "top": 2}
}') AS version;

-- Any lead row, from scratch: probability, predictive score and the top 2
-- contributions. The field "job" joins the model's fields for the predictive
-- section only.
SELECT p.email, round(s.probability::numeric, 4) AS probability, s.predictive_score, s.top_features
FROM app.people p
CROSS JOIN LATERAL lead_score.score('pred', p,
    (SELECT lead_score.engagement_state('pred', t.kind, t.at) FROM app.touches t WHERE t.person = p.person_id)) s
ORDER BY p.email;

-- explain lists the intercept and every contribution; with the intercept they
-- add up to the log-odds on the summary row.
SELECT e.section, e.item, round(e.points::numeric, 6) AS log_odds, e.detail
FROM app.people p
CROSS JOIN LATERAL lead_score.explain('pred', p,
    (SELECT lead_score.engagement_state('pred', t.kind, t.at) FROM app.touches t WHERE t.person = p.person_id)) e
WHERE p.email = 'cy@globex.com' AND (e.section = 'predictive' OR e.item = 'predictive');

-- Live, in both modes: the current views carry the same columns, kept by the
-- triggers (which store the field features a lead fires) and exact as
-- engagement decays.
CREATE TABLE app.touches2 (LIKE app.touches INCLUDING ALL);
INSERT INTO app.touches2 SELECT * FROM app.touches;
SELECT lead_score.attach('pred', 'app.people', 'app.touches',
    '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind", "occurred_at": "at"}',
    name => 'pred_sync') IS NOT NULL AS attached;
SELECT lead_score.attach('pred', 'app.people', 'app.touches2',
    '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind", "occurred_at": "at"}',
    name => 'pred_deferred', mode => 'deferred') IS NOT NULL AS attached;
INSERT INTO app.touches (person, kind, at)
SELECT '00000000-0000-0000-0000-000000000001', 'demo_request', '2026-06-01 10:00+00';
INSERT INTO app.touches2 (person, kind, at)
SELECT '00000000-0000-0000-0000-000000000001', 'demo_request', '2026-06-01 10:00+00';
UPDATE app.people SET job = 'CTO' WHERE email = 'bo@rival.com';
SELECT right(c.lead_key::text, 1) AS person, round(c.probability::numeric, 4) AS probability,
       c.predictive_score, c.disqualified, c.top_features
FROM lead_score.pred_sync_current c ORDER BY c.lead_key;
SELECT count(*) AS same FROM lead_score.pred_sync_current s
JOIN lead_score.pred_deferred_current d USING (lead_key)
WHERE s.probability = d.probability AND s.top_features = d.top_features;
SELECT c.predictive_score, c.top_features
FROM lead_score.current_score('pred_deferred', '00000000-0000-0000-0000-000000000003') c;
-- Two weeks later the demo request of person 3 has decayed, and so has its
-- contribution; a recompute agrees in both modes.
SET lead_score.mock_now = '2026-06-15 12:00:00+00';
SELECT right(c.lead_key::text, 1) AS person, c.predictive_score, c.top_features -> 0 AS largest
FROM lead_score.pred_sync_current c ORDER BY c.lead_key;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('pred_sync');
SELECT count(*) AS mismatches FROM lead_score.check_consistency('pred_deferred');
SELECT lead_score.tick() IS NOT NULL AS ticked;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('pred_deferred');
-- lead_score.current_scores has them too.
SELECT attachment, count(*) FILTER (WHERE predictive_score IS NOT NULL) AS predicted
FROM lead_score.current_scores WHERE attachment LIKE 'pred%' GROUP BY attachment ORDER BY attachment;

-- A bad section is refused at its JSON path (22023), and nothing is stored.
SELECT lead_score.validate_spec(lead_score.model_spec('pred') || '{"predictive": {"intercept": 0, "features": [{"name": "x", "rule": "webinar", "weight": 1}]}}');
SELECT lead_score.validate_spec(lead_score.model_spec('pred') || '{"predictive": {"intercept": 0, "features": [{"name": "x", "when": {"field": "sector", "eq": "Software"}, "weight": 5000}]}}');
SELECT lead_score.validate_spec(lead_score.model_spec('pred') || '{"predictive": {"features": []}}');
-- A rule feature counts a rule's decayed points over its points; a rule under
-- half the aggregates' fixed-point unit (1e-9 a point) sums 0 there, so the
-- live and recomputed probabilities would differ: refused at the feature.
SELECT lead_score.validate_spec(jsonb_set(lead_score.model_spec('pred'), '{engagement,rules,0,points}', '1e-10'));

SELECT lead_score.detach('pred_sync'), lead_score.detach('pred_deferred');

-- Learned: suggest_points fits the outcomes and stores the logistic model as
-- the draft's predictive section, beside its integer points. With event_types
-- it also learns engagement rules: each type's events up to the lead's close,
-- decayed as the model decays them, become one rule with points per event.
INSERT INTO app.people (person_id, sector, job, email)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(100 + i), 12, '0'))::uuid,
       CASE WHEN i % 2 = 0 THEN 'Software' ELSE 'Retail' END,
       CASE WHEN i % 3 = 0 THEN 'VP Sales' ELSE 'Analyst' END, 'p' || i || '@acme.com'
FROM generate_series(1, 600) i;
INSERT INTO app.touches (person, kind, at)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(100 + i), 12, '0'))::uuid,
       CASE WHEN j = 1 AND i % 4 = 0 THEN 'demo_request' WHEN j % 3 = 0 THEN 'webinar' ELSE 'page_view' END,
       '2026-05-24 12:00+00'::timestamptz - (j * 3 + i % 3) * interval '1 day'
FROM generate_series(1, 600) i, generate_series(1, 8) j
WHERE j <= 1 + (i * 7919) % 8;
CREATE TABLE app.deals (deal_id serial PRIMARY KEY, person uuid NOT NULL, won boolean, closed_at timestamptz);
INSERT INTO app.deals (person, won, closed_at)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(100 + i), 12, '0'))::uuid,
       (hashtext('won' || i) & 1023) < 1024 * (0.1 + CASE WHEN i % 4 = 0 THEN 0.35 ELSE 0 END
                                            + CASE WHEN i % 2 = 0 THEN 0.2 ELSE 0 END
                                            + CASE WHEN (i * 7919) % 8 >= 5 THEN 0.2 ELSE 0 END),
       '2026-05-25 12:00+00'
FROM generate_series(1, 600) i;
SELECT lead_score.attach('pred', 'app.people', 'app.touches',
    '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind", "occurred_at": "at"}',
    name => 'pred_sync') IS NOT NULL AS attached;
SELECT lead_score.link_outcomes('pred_sync', 'app.deals', '{"lead_key": "person", "won": "won", "closed_at": "closed_at"}');
-- An event at -infinity is infinitely old: it weighs nothing, as the engine
-- decays it (subtracting the infinite time failed the fit with 22008). So
-- does one 1,500 half-lives before its lead's close, under the least float8
-- (power() raised an underflow), while one 600 half-lives before weighs about
-- 2e-181: a value like any other, whose square vanishes in the fit.
INSERT INTO app.touches (person, kind, at) VALUES
  ('00000000-0000-0000-0000-000000000101', 'page_view', '-infinity'),
  ('00000000-0000-0000-0000-000000000102', 'page_view', '2026-05-25 12:00+00'::timestamptz - 1500 * interval '7 days'),
  ('00000000-0000-0000-0000-000000000103', 'webinar', '2026-05-25 12:00+00'::timestamptz - 600 * interval '7 days');
SELECT version, rule, condition, points, round(coefficient::numeric, 3) AS coefficient
FROM lead_score.suggest_points('pred_sync', ARRAY['sector', 'job'], max_points => 20,
                               event_types => ARRAY['demo_request', 'page_view', 'webinar'])
ORDER BY rule;
-- The draft's engagement rules and predictive section.
SELECT jsonb_pretty(lead_score.model_spec('pred', 2) -> 'engagement' -> 'rules') AS engagement_rules;
SELECT f ->> 'name' AS feature, coalesce(f ->> 'rule', f -> 'when' ->> 'field') AS reads,
       round((f ->> 'weight')::numeric, 3) AS weight
FROM jsonb_array_elements(lead_score.model_spec('pred', 2) -> 'predictive' -> 'features') f ORDER BY 1;
-- The predictive section is the logistic regression itself: the same fit by
-- lead_score.logistic_regression on a hand-built design (the decayed events
-- up to the close, 7-day half-life) gives the same coefficients.
CREATE TEMP VIEW design AS
SELECT d.won,
       (p.sector = 'Software')::int::float8 AS software,
       (p.job = 'VP Sales')::int::float8 AS vp,
       coalesce(sum(power(2::float8, -extract(epoch FROM d.closed_at - t.at)::float8 / (7 * 86400))) FILTER (WHERE t.kind = 'demo_request'), 0) AS demo,
       coalesce(sum(power(2::float8, -extract(epoch FROM d.closed_at - t.at)::float8 / (7 * 86400))) FILTER (WHERE t.kind = 'page_view'), 0) AS visits,
       coalesce(sum(power(2::float8, -extract(epoch FROM d.closed_at - t.at)::float8 / (7 * 86400))) FILTER (WHERE t.kind = 'webinar'), 0) AS webinars
FROM app.deals d JOIN app.people p ON p.person_id = d.person
LEFT JOIN app.touches t ON t.person = d.person AND t.at <= d.closed_at
      AND t.at > d.closed_at - 1074 * interval '7 days'  -- older (and -infinity) weighs 0
GROUP BY d.deal_id, d.won, p.sector, p.job;
WITH fitted AS (
    SELECT feature, coefficient FROM lead_score.logistic_regression('design', 'won',
        ARRAY['software', 'vp', 'demo', 'visits', 'webinars'], l2 => 1)),
drafted AS (
    SELECT 'intercept' AS feature, (lead_score.model_spec('pred', 2) -> 'predictive' ->> 'intercept')::float8 AS weight
    UNION ALL
    SELECT CASE f ->> 'name' WHEN 'sector = Software' THEN 'software' WHEN 'job = VP Sales' THEN 'vp'
                WHEN 'demo_request events' THEN 'demo' WHEN 'page_view events' THEN 'visits'
                WHEN 'webinar events' THEN 'webinars' END, (f ->> 'weight')::float8
    FROM jsonb_array_elements(lead_score.model_spec('pred', 2) -> 'predictive' -> 'features') f)
SELECT fitted.feature, abs(fitted.coefficient - drafted.weight) < 1e-8 AS same
FROM fitted JOIN drafted USING (feature) ORDER BY 1;
-- Published, the draft scores every lead with a predictive score, and the
-- probabilities are calibrated on the leads it learned from.
SELECT lead_score.create_model('pred', lead_score.model_spec('pred', 2)) AS published;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('pred_sync');
SET lead_score.as_of = '2026-05-25 12:00+00';
WITH r AS (
    SELECT d.won, s.probability FROM app.deals d
    JOIN app.people p ON p.person_id = d.person
    CROSS JOIN LATERAL lead_score.score('pred', p,
        (SELECT lead_score.engagement_state('pred', t.kind, t.at) FROM app.touches t
         WHERE t.person = p.person_id AND t.at <= d.closed_at)) s)
SELECT round(abs(avg(probability) - avg(won::int))::numeric, 3) AS mean_gap,
       round(avg(power(probability - won::int, 2))::numeric, 3) AS brier
FROM r;
RESET lead_score.as_of;

SELECT lead_score.detach('pred_sync');

-- A fit that takes seconds stops at a cancel or statement_timeout (57014):
-- suggest_points here chooses 3 of 149 levels of a field for 9,000 leads, a
-- fit of 9,000 rows for every candidate of every round, and ran to its end
-- (about 12 s in a debug build) before it saw a cancel.
CREATE SCHEMA slow;
CREATE TABLE slow.leads (id int PRIMARY KEY, segment text);
CREATE TABLE slow.events (id serial PRIMARY KEY, lead_id int NOT NULL, type text NOT NULL, at timestamptz NOT NULL);
CREATE INDEX ON slow.events (lead_id);
INSERT INTO slow.leads SELECT g, 'S' || (g % 150) FROM generate_series(1, 9000) g;
CREATE TABLE slow.deals (lead_id int, won boolean, closed_at timestamptz);
INSERT INTO slow.deals SELECT g, (hashtext('won' || g) & 1023) < 200 + 4 * (g % 150), '2026-05-25' FROM generate_series(1, 9000) g;
SELECT lead_score.create_model('slow', '{"fit": {"rules": []}, "engagement": {"rules": [{"name": "visit", "event": "visit", "points": 1}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}], "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 100}}}') AS version;
SELECT lead_score.attach('slow', 'slow.leads', 'slow.events', '{"occurred_at": "at"}') IS NOT NULL AS attached;
SELECT lead_score.link_outcomes('slow', 'slow.deals', '{"lead_key": "lead_id", "won": "won", "closed_at": "closed_at"}');
SET statement_timeout = '200ms';
DO $$
DECLARE
  started timestamptz := clock_timestamp();
BEGIN
  PERFORM lead_score.suggest_points('slow', ARRAY['segment'], max_rules => 3);
  RAISE NOTICE 'not cancelled';
EXCEPTION WHEN query_canceled THEN
  RAISE NOTICE 'cancelled (%) within 2 seconds: %', SQLSTATE, clock_timestamp() - started < interval '2 seconds';
END $$;
RESET statement_timeout;
SELECT max(version) AS versions_still FROM lead_score.model_versions v JOIN lead_score.models m ON m.id = v.model_id WHERE m.name = 'slow';
SELECT lead_score.detach('slow');
DROP SCHEMA slow CASCADE;
SELECT lead_score.drop_model('slow');
RESET lead_score.mock_now;
DROP SCHEMA app CASCADE;
SELECT lead_score.drop_model('pred'), lead_score.drop_model('live');
