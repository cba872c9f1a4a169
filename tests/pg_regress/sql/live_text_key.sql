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
SELECT lead_score.detach('shop');
RESET lead_score.mock_now;
DROP SCHEMA shop CASCADE;
SELECT lead_score.drop_model('shop');
