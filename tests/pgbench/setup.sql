-- 1,000 leads with some history, a model, and live scores attached twice:
-- sync, and deferred (folded by the tick() transactions among the writers).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS lead_score;
CREATE TABLE pb_leads (id bigint PRIMARY KEY, industry text, title text);
CREATE TABLE pb_events (id bigserial PRIMARY KEY, lead_id bigint NOT NULL, type text NOT NULL, at timestamptz NOT NULL, url text);
CREATE INDEX ON pb_events (lead_id);
INSERT INTO pb_leads SELECT i, (ARRAY['Software', 'Retail', 'Finance'])[1 + i % 3], (ARRAY['VP', 'Engineer', 'CTO', 'Intern'])[1 + i % 4]
FROM generate_series(1, 1000) i;
INSERT INTO pb_events (lead_id, type, at, url)
SELECT 1 + i % 1000, (ARRAY['visit', 'visit', 'download', 'demo_request'])[1 + i % 4], now() - (i % 700) * interval '1 hour',
       (ARRAY['/pricing', '/blog', NULL])[1 + i % 3]
FROM generate_series(1, 20000) i;
SELECT lead_score.create_model('pb', '{
  "fit": {"rules": [{"name": "software", "when": {"field": "industry", "eq": "Software"}, "points": 40},
                    {"name": "senior", "when": {"field": "title", "regex": "^(vp|cto)$"}, "points": 20}]},
  "engagement": {"properties": ["url"], "decay": {"kind": "exponential", "half_life": "3 days"},
    "categories": [{"name": "pricing", "cap": 30, "watermark": 10}],
    "rules": [{"name": "visit", "event": "visit", "points": 2, "repeat": {"cap": 20}},
              {"name": "pricing", "event": "visit", "when": {"field": "url", "contains": "/pricing"}, "points": 5, "category": "pricing"},
              {"name": "download", "event": "download", "points": 8},
              {"name": "demo", "event": "demo_request", "points": 40, "repeat": "once"}],
    "cap": 100},
  "alerts": [{"name": "pricing burst", "event": "visit", "when": {"field": "url", "contains": "/pricing"}, "count": 3, "within": "1 hour"}],
  "classification": {"grades": [{"name": "A", "min": 50}, {"name": "B"}], "labels": [{"name": "hot", "min": 40}, {"name": "cold"}],
    "quadrant": {"fit": 50, "engagement": 40}, "mql": {"min_total": 100}}
}');
SELECT lead_score.attach('pb', 'pb_leads', 'pb_events', '{"occurred_at": "at"}') IS NOT NULL AS attached;
SELECT lead_score.attach('pb', 'pb_leads', 'pb_events', '{"occurred_at": "at"}', name => 'pb_deferred', mode => 'deferred') IS NOT NULL AS attached;
