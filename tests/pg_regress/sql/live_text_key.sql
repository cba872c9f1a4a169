-- A text key works the same way as a uuid: the scores keep the lead's own key
-- type, and an enum event type is read through its own output function.
SET lead_score.mock_now = '2026-06-15 00:00:00+00';
CREATE SCHEMA shop;
CREATE TYPE shop.event_kind AS ENUM ('page_view', 'webinar');
CREATE TABLE shop.leads (code text PRIMARY KEY, sector text);
CREATE TABLE shop.events (code text REFERENCES shop.leads, kind shop.event_kind, occurred_at timestamptz);
CREATE INDEX ON shop.events (code);
INSERT INTO shop.leads VALUES ('L1', 'Software'), ('L2', 'Retail');
SELECT lead_score.create_model('shop', '{
  "fit": {"rules": [{"name": "software", "when": {"field": "sector", "eq": "Software"}, "points": 10}]},
  "engagement": {"decay": {"kind": "exponential", "half_life": "10 days"},
                 "rules": [{"name": "visit", "event": "page_view", "points": 2},
                           {"name": "webinar", "event": "webinar", "points": 15}]},
  "classification": {"grades": [{"name": "A", "min": 20}, {"name": "B"}], "labels": [{"name": "all"}],
                     "quadrant": {"fit": 10, "engagement": 10}, "mql": {"min_total": 20}}}');
SELECT lead_score.attach('shop', 'shop.leads', 'shop.events',
    '{"lead_key": "code", "activity_lead_key": "code", "event_type": "kind"}') IS NOT NULL AS attached;
SELECT pg_typeof(lead_key) AS key_type, count(*) AS leads FROM lead_score.shop_current GROUP BY 1;
-- A visit ten days ago is worth half its points; a webinar today all of them.
INSERT INTO shop.events VALUES ('L1', 'page_view', '2026-06-05 00:00+00'), ('L2', 'webinar', '2026-06-15 00:00+00');
SELECT l.code, round(c.fit::numeric, 3) AS fit, round(c.engagement::numeric, 3) AS engagement
FROM shop.leads l JOIN lead_score.shop_current c ON c.lead_key = l.code ORDER BY 1;
SELECT * FROM lead_score.check_consistency('shop');
-- An event with no type (a NULL enum) is no activity: it scores nothing and
-- leaves last_activity where it was, as in the aggregates (before, the enum's
-- output read it as '', an event of type '' on 06-14).
INSERT INTO shop.events VALUES ('L1', NULL, '2026-06-14 00:00+00');
SELECT c.lead_key, c.last_activity AS live,
       (lead_score.score('shop', l, (SELECT lead_score.engagement_state('shop', e.kind::text, e.occurred_at)
                                     FROM shop.events e WHERE e.code = l.code))).last_activity AS aggregates
FROM lead_score.shop_current c JOIN shop.leads l ON l.code = c.lead_key WHERE c.lead_key = 'L1';
-- A key too long for a btree index entry (over 2,704 bytes once compressed)
-- cannot be a lead: the lead table's primary key refuses it. The pending
-- table's index by lead key refuses it too, with the same error (54000), for
-- an event of a key that is no lead (the events here may have no lead, as a
-- visitor's, nor an index of their own), and the statement writes nothing.
ALTER TABLE shop.events DROP CONSTRAINT events_code_fkey;
DROP INDEX shop.events_code_idx;
SELECT string_agg(md5(g::text), '') AS long_key FROM generate_series(1, 100) g \gset
\set VERBOSITY terse
INSERT INTO shop.leads VALUES (:'long_key', 'Software');
INSERT INTO shop.events VALUES ('L1', 'webinar', '2026-06-15 00:00+00'), (:'long_key', 'webinar', '2026-06-15 00:00+00');
\set VERBOSITY default
SELECT count(*) AS events, (SELECT count(*) FROM lead_score_internal.shop_pending) AS pending FROM shop.events;
CREATE INDEX ON shop.events (code);
SELECT lead_score.detach('shop');

-- Live scores sum in floating point, the aggregates in fixed point: 0.3 - 0.1 -
-- 0.2 is -2.8e-17 live and exactly 0 recomputed. Classification compares both
-- rounded to a millionth of a point, so they agree even at a threshold of 0.
SELECT lead_score.create_model('noise', '{
  "fit": {"rules": []},
  "engagement": {"rules": [{"name": "a", "event": "page_view", "points": 0.3},
                           {"name": "b", "event": "page_view", "points": -0.1},
                           {"name": "c", "event": "page_view", "points": -0.2}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "warm", "min": 0}, {"name": "cold"}],
                     "quadrant": {"fit": 1, "engagement": 0}, "mql": {"min_total": 0}}}');
SELECT lead_score.attach('noise', 'shop.leads', 'shop.events',
    '{"lead_key": "code", "activity_lead_key": "code", "event_type": "kind"}') IS NOT NULL AS attached;
SELECT lead_key, engagement < 0 AS below_zero, label, quadrant, mql FROM lead_score.noise_current WHERE lead_key = 'L1';
SELECT * FROM lead_score.check_consistency('noise');
SELECT lead_score.detach('noise');
-- At the rounding's own edge (half a millionth under a threshold) the two sums
-- can classify apart: an event of 19.9999989994 points, one half-life old, is
-- 9.9999994997 live and 9.9999995 in fixed point, against a label at 10.
-- check_consistency compares every class, the label too (it compared only
-- quadrant and MQL, and returned nothing here).
SELECT lead_score.create_model('edge', '{
  "fit": {"rules": []},
  "engagement": {"decay": {"kind": "exponential", "half_life": "1 day"},
                 "rules": [{"name": "r", "event": "page_view", "points": 19.9999989994}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "hot", "min": 10}, {"name": "cold"}],
                     "quadrant": {"fit": 1000, "engagement": 1000}, "mql": {"min_total": 1000}}}');
SELECT lead_score.attach('edge', 'shop.leads', 'shop.events',
    '{"lead_key": "code", "activity_lead_key": "code", "event_type": "kind"}') IS NOT NULL AS attached;
DELETE FROM shop.events;
SELECT lead_score.rescore('edge');
INSERT INTO shop.events VALUES ('L2', 'page_view', '2026-06-14 00:00:00+00');
SELECT lead_key, round(engagement::numeric, 10) AS engagement, label FROM lead_score.edge_current WHERE lead_key = 'L2';
SELECT * FROM lead_score.check_consistency('edge');
SELECT lead_score.detach('edge');
RESET lead_score.mock_now;
DROP SCHEMA shop CASCADE;
SELECT lead_score.drop_model(m) FROM unnest(ARRAY['shop', 'noise', 'edge']) m;
