-- Engagement is an aggregate over a lead's activities: event type, time and
-- optional properties (named by the spec's engagement.properties).
CREATE TABLE crm.activities (
    lead_key    text REFERENCES crm.leads,
    type        text,
    occurred_at timestamptz,
    url         text
);

SELECT lead_score.create_model('web', '{
  "fit": {"rules": []},
  "engagement": {
    "properties": ["url"],
    "decay": {"kind": "exponential", "half_life": "10 days"},
    "categories": [{"name": "analytics", "cap": 15, "watermark": 10}],
    "rules": [
      {"name": "visit",     "event": "page_view", "points": 1},
      {"name": "pricing",   "event": "page_view", "when": {"field": "url", "contains": "/pricing"}, "points": 5, "repeat": {"cap": 10}},
      {"name": "analytics", "event": ["download", "webinar"], "when": {"field": "url", "regex": "analytics"}, "points": 8, "category": "analytics"},
      {"name": "demo",      "event": "demo_request", "points": 30, "repeat": "once", "decay": {"kind": "window", "window": "30 days"}},
      {"name": "unsubscribe", "event": "unsubscribe", "points": -20, "repeat": "once", "decay": {"kind": "none"}}
    ],
    "cap": 60,
    "floor_at_zero": true
  },
  "classification": {
    "grades": [{"name": "A", "min": 60}, {"name": "D"}],
    "labels": [{"name": "hot", "min": 40}, {"name": "warm", "min": 10}, {"name": "cold"}],
    "quadrant": {"fit": 40, "engagement": 20},
    "mql": {"min_total": 60}
  }
}');

-- Score as of a fixed time so the results below never change.
SET lead_score.as_of = '2026-06-01 00:00:00+00';

INSERT INTO crm.activities VALUES
  -- L1: a visit today, one 10 days ago (half-life: worth half), one 20 days ago (a quarter).
  ('L1', 'page_view', '2026-06-01 00:00+00', '/blog'),
  ('L1', 'page_view', '2026-05-22 00:00+00', '/blog'),
  ('L1', 'page_view', '2026-05-12 00:00+00', '/blog'),
  -- L2: four pricing views today: 4 × (1 visit + 5 pricing capped at 10) = 4 + 10.
  ('L2', 'page_view', '2026-06-01 00:00+00', '/pricing'),
  ('L2', 'page_view', '2026-06-01 00:00+00', '/pricing'),
  ('L2', 'page_view', '2026-06-01 00:00+00', '/pricing/enterprise'),
  ('L2', 'page_view', '2026-06-01 00:00+00', '/pricing'),
  -- L3: two demo requests (counted once, window 30 days), three analytics downloads (category cap 15).
  ('L3', 'demo_request', '2026-05-20 00:00+00', NULL),
  ('L3', 'demo_request', '2026-05-25 00:00+00', NULL),
  ('L3', 'download', '2026-06-01 00:00+00', '/whitepapers/analytics.pdf'),
  ('L3', 'download', '2026-06-01 00:00+00', '/whitepapers/analytics.pdf'),
  ('L3', 'webinar',  '2026-06-01 00:00+00', '/webinars/Analytics-Live'),
  -- L4: an old demo request (outside the window) and an unsubscribe: floored at 0.
  ('L4', 'demo_request', '2026-01-01 00:00+00', NULL),
  ('L4', 'unsubscribe',  '2026-03-01 00:00+00', NULL),
  -- L5: an event after the as-of time does not count yet.
  ('L5', 'demo_request', '2026-06-02 00:00+00', NULL);

SELECT lead_key,
       round(lead_score.engagement('web', type, occurred_at, url)::numeric, 6) AS engagement,
       lead_score.engagement_categories('web', type, occurred_at, url) AS categories
FROM crm.activities GROUP BY lead_key ORDER BY lead_key;

-- L1 checked against the definition: points × 2^(−age / half_life).
SELECT round(lead_score.engagement('web', type, occurred_at, url)::numeric, 9)
     = round((1 + 0.5 + 0.25)::numeric, 9) AS l1_exact
FROM crm.activities WHERE lead_key = 'L1';

-- The same events as of a later date: decay continues, and L5's event now counts.
SET lead_score.as_of = '2026-06-11 00:00:00+00';
SELECT lead_key, round(lead_score.engagement('web', type, occurred_at, url)::numeric, 6) AS engagement
FROM crm.activities GROUP BY lead_key ORDER BY lead_key;

-- Step decay: minus N points per full period without activity, from the last activity.
SELECT lead_score.create_model('stepwise', jsonb_set(lead_score.model_spec('web'),
       '{engagement,decay}', '{"kind": "step", "points": 2, "every": "7 days"}'));
SET lead_score.as_of = '2026-06-01 00:00:00+00';
SELECT lead_key, lead_score.engagement('stepwise', type, occurred_at, url) AS engagement
FROM crm.activities WHERE lead_key IN ('L1', 'L2') GROUP BY lead_key ORDER BY lead_key;
SET lead_score.as_of = '2026-06-16 00:00:00+00';  -- 15 days idle: two full weeks, −4
SELECT lead_key, lead_score.engagement('stepwise', type, occurred_at, url) AS engagement
FROM crm.activities WHERE lead_key IN ('L1', 'L2') GROUP BY lead_key ORDER BY lead_key;
RESET lead_score.as_of;
SHOW lead_score.as_of;
-- A value that is not a time is refused when it is set (22023), and the old one stays.
SET lead_score.as_of = 'last tuesday';
SET lead_score.as_of = '2026-13-01';
-- Nor is an infinite one: no score is read at it.
SET lead_score.as_of = 'infinity';
SHOW lead_score.as_of;
-- Nor blanks: only the empty value means now(). (Before, SET took '  ' as
-- now, and every read then failed on it.)
SET lead_score.as_of = '  ';
SHOW lead_score.as_of;
-- A new session knows the setting before anything loads the library (CREATE
-- EXTENSION made it a setting of the database, empty: now).
\c
SHOW lead_score.as_of;
-- There, SET cannot check it yet: a value that is not a time is refused at first
-- use, never read as now(), even once the library is loaded.
SET lead_score.as_of = 'last tuesday';
SELECT lead_score.scoring_time();
SELECT lead_score.engagement('web', type, occurred_at) FROM crm.activities WHERE lead_key = 'L1';
SHOW lead_score.as_of;
SELECT lead_score.scoring_time();
RESET lead_score.as_of;
SELECT lead_score.scoring_time() = now() AS now_again;
-- Nor an infinite one set there. (Before, scoring_time() read it as that time.)
\c
SET lead_score.as_of = 'infinity';
SELECT lead_score.scoring_time();
RESET lead_score.as_of;

-- Without properties: the aggregate also takes just (model, type, time).
SELECT lead_score.engagement('web', type, occurred_at) > 0 AS scored FROM crm.activities WHERE lead_key = 'L1';

-- Rows with a NULL type or time are skipped; a group of only such rows scores 0.
SELECT lead_score.engagement('web', NULL::text, NULL::timestamptz, NULL::text) AS empty_group;

-- Calling the transition function directly is refused.
SELECT lead_score_internal._engagement_trans(NULL, 'web', 'page_view', now());

-- Engagement sums are fixed point to 1e-9 points, exact up to ±9.2e9 points
-- of one rule for one lead (9,000 events of a rule of the largest points,
-- 1,000,000). Past that, reading the sum is an error that names the rule
-- (22003), never a number short of the true sum.
SELECT lead_score.create_model('huge', '{
  "fit": {"rules": []},
  "engagement": {"rules": [{"name": "deal", "event": "deal", "points": 1000000, "decay": {"kind": "none"}}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1}}
}') IS NOT NULL AS created;
SELECT lead_score.engagement('huge', 'deal', now()) AS nine_billion FROM generate_series(1, 9000);
SELECT lead_score.engagement('huge', 'deal', now()) FROM generate_series(1, 10000);
-- A rule whose repeat cap holds its points is exact however far its sum went.
SELECT lead_score.create_model('huge', jsonb_set(lead_score.model_spec('huge'), '{engagement,rules,0,repeat}', '{"cap": 50}')) AS version;
SELECT lead_score.engagement('huge', 'deal', now()) AS capped FROM generate_series(1, 10000);
SELECT lead_score.drop_model('huge');
