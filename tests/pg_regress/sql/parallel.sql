-- The engagement aggregates are parallel safe: workers build partial states
-- that a combine function merges. Parallel and serial results are identical.
CREATE TABLE crm.events AS
SELECT 'L' || (1 + i % 500) AS lead_key,
       (ARRAY['page_view', 'page_view', 'download', 'webinar', 'demo_request', 'unsubscribe'])[1 + (i * 7) % 6] AS type,
       '2026-06-01 00:00+00'::timestamptz - ((i * 37) % 8640) * interval '1 hour' AS occurred_at,
       (ARRAY['/pricing', '/blog', '/analytics', NULL])[1 + (i * 13) % 4] AS url
FROM generate_series(1, 200000) AS i;
ANALYZE crm.events;
SET lead_score.as_of = '2026-06-01 00:00:00+00';

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SET enable_sort = off;  -- keep the plan shape stable: hash aggregation in workers and leader

EXPLAIN (COSTS OFF)
SELECT lead_score.engagement('web', type, occurred_at, url) FROM crm.events;

EXPLAIN (COSTS OFF)
SELECT lead_key, lead_score.engagement('web', type, occurred_at, url)
FROM crm.events GROUP BY lead_key;

EXPLAIN (COSTS OFF)
CREATE TABLE crm.parallel_result AS
SELECT lead_key, lead_score.engagement('web', type, occurred_at, url) AS e
FROM crm.events GROUP BY lead_key;

CREATE TABLE crm.parallel_result AS
SELECT lead_key, lead_score.engagement('web', type, occurred_at, url) AS e,
       lead_score.engagement_categories('web', type, occurred_at, url) AS c
FROM crm.events GROUP BY lead_key;

SET max_parallel_workers_per_gather = 0;
CREATE TABLE crm.serial_result AS
SELECT lead_key, lead_score.engagement('web', type, occurred_at, url) AS e,
       lead_score.engagement_categories('web', type, occurred_at, url) AS c
FROM crm.events GROUP BY lead_key;

-- Exactly equal, not merely close: partial sums are fixed-point integers.
SELECT count(*) AS leads,
       count(*) FILTER (WHERE p.e = s.e AND p.c = s.c) AS identical,
       round(sum(s.e)::numeric, 3) AS total_engagement
FROM crm.parallel_result p JOIN crm.serial_result s USING (lead_key);
-- A small model's state (under 127 bytes) crosses the worker queue with a
-- 1-byte varlena header; the combine function must accept it.
SELECT lead_score.create_model('tiny', '{
  "fit": {"rules": []},
  "engagement": {"decay": {"kind": "exponential", "half_life": "7 days"},
                 "rules": [{"name": "visit", "event": "page_view", "points": 1},
                           {"name": "demo", "event": "demo_request", "points": 30, "repeat": "once"}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "cold"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1}}
}');
SET max_parallel_workers_per_gather = 2;
CREATE TABLE crm.tiny_parallel AS
SELECT lead_key, lead_score.engagement('tiny', type, occurred_at) AS e FROM crm.events GROUP BY lead_key;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE crm.tiny_serial AS
SELECT lead_key, lead_score.engagement('tiny', type, occurred_at) AS e FROM crm.events GROUP BY lead_key;
SELECT count(*) AS leads, count(*) FILTER (WHERE p.e = s.e) AS identical
FROM crm.tiny_parallel p JOIN crm.tiny_serial s USING (lead_key);
RESET ALL;
