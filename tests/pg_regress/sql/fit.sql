-- Fit reads the user's own lead rows: the spec's field names are column names,
-- and any column types work. Nothing is copied.
CREATE SCHEMA crm;
CREATE TABLE crm.leads (
    lead_key    text PRIMARY KEY,
    email       varchar(200),
    phone       text,
    title       text,
    industry    text,
    employees   integer,
    revenue     numeric(14, 2),
    country     char(2),
    budget      text,
    decision_maker boolean
);
INSERT INTO crm.leads VALUES
  ('L1', 'ann@acme.com',    '+1 555 0100', 'VP Marketing',      'Software', 800,  12000000, 'US', 'approved', true),
  ('L2', 'bo@gmail.com',    NULL,          'Student',           'Education', 3,   NULL,     'IN', NULL,       NULL),
  ('L3', 'cy@rival.com',    '+44 20 0000', 'Director of Sales', 'Software', 1200, 90000000, 'GB', 'planned',  true),
  ('L4', 'di@globex.com',   'Select',      'Head of Data',      'Select',   NULL, NULL,     'DE', 'none',     false),
  ('L5', NULL,              NULL,          NULL,                NULL,       NULL, NULL,     NULL, NULL,       NULL);

SELECT lead_score.create_model('b2b', '{
  "fit": {
    "missing_values": ["Select"],
    "rules": [
      {"name": "target industry", "when": {"field": "industry", "in": ["Software", "Financial Services"]}, "points": 20},
      {"name": "senior title",    "when": {"field": "title", "regex": "\\b(vp|chief|head|director)\\b"}, "points": 15},
      {"name": "mid-size",        "when": {"field": "employees", "between": [200, 5000]}, "points": 10},
      {"name": "big revenue",     "when": {"field": "revenue", "gte": 10000000}, "points": 5},
      {"name": "core market",     "when": {"field": "country", "in": ["US", "GB"]}, "points": 5},
      {"name": "budget",          "when": {"field": "budget", "eq": "approved"}, "points": 10},
      {"name": "authority",       "when": {"field": "decision_maker", "eq": true}, "points": 5},
      {"name": "free mail",       "when": {"field": "email", "contains": "@gmail."}, "points": -5},
      {"name": "student",         "when": {"any": [{"field": "title", "eq": "Student"}, {"field": "title", "eq": "Intern"}]}, "points": -15},
      {"name": "no phone",        "when": {"not": {"field": "phone", "present": true}}, "points": -2},
      {"name": "competitor",      "when": {"field": "email", "regex": "@rival\\.com$"}, "disqualify": true}
    ],
    "completeness": {"fields": ["email", "phone", "title", "industry", "employees"], "points": 10},
    "min": 0,
    "max": 100
  },
  "engagement": {"rules": []},
  "classification": {
    "grades": [{"name": "A", "min": 60}, {"name": "B", "min": 35}, {"name": "C", "min": 15}, {"name": "D"}],
    "labels": [{"name": "hot", "min": 50}, {"name": "warm", "min": 20}, {"name": "cold"}],
    "quadrant": {"fit": 40, "engagement": 20},
    "mql": {"min_total": 60, "min_fit": 30}
  }
}');

-- Fit per lead. L4's "Select" placeholders count as missing; L5 has nothing.
SELECT l.lead_key,
       lead_score.fit('b2b', l) AS fit,
       lead_score.grade('b2b', lead_score.fit('b2b', l)) AS grade,
       lead_score.disqualified_by('b2b', l) AS disqualified_by
FROM crm.leads l ORDER BY l.lead_key;

-- L1 by hand: 20 + 15 + 10 + 5 + 5 + 10 + 5 + completeness 5/5 × 10 = 80.
SELECT lead_score.fit('b2b', l) = 20 + 15 + 10 + 5 + 5 + 10 + 5 + 10 AS l1_matches_hand_sum
FROM crm.leads l WHERE lead_key = 'L1';

-- A view or subquery renames columns for a model: here a table with other names.
CREATE TABLE crm.contacts (id int, job text, sector text, email_address text);
INSERT INTO crm.contacts VALUES (1, 'Chief Executive', 'Software', 'x@y.com');
SELECT c.id, lead_score.fit('b2b', x) AS fit
FROM crm.contacts c
CROSS JOIN LATERAL (SELECT c.job AS title, c.sector AS industry, c.email_address AS email,
                           NULL::text AS phone, NULL::int AS employees, NULL::numeric AS revenue,
                           NULL::text AS country, NULL::text AS budget, NULL::bool AS decision_maker) x;

-- A model field that is not a column is an error naming both, with SQLSTATE 42703.
SELECT lead_score.fit('b2b', c) FROM crm.contacts c;
DO $$ BEGIN PERFORM lead_score.fit('b2b', c) FROM crm.contacts c;
EXCEPTION WHEN undefined_column THEN RAISE NOTICE 'SQLSTATE %', SQLSTATE; END $$;

-- NULL row or model: NULL (the function is strict).
SELECT lead_score.fit('b2b', NULL::crm.leads) IS NULL AS null_lead;

-- Scores far past any real points still classify by value: a millionth of
-- 1e303 overflows, and such a fit read as infinite graded A (min 2e303) and
-- made an MQL (min_fit 3e303). Now B, and no MQL.
SELECT lead_score.create_model('huge', '{
  "fit": {"rules": [{"name": "a", "when": {"field": "x", "eq": 1}, "points": 1}], "min": 1e303, "max": 1e303},
  "engagement": {"rules": [{"name": "v", "event": "v", "points": 1}]},
  "classification": {"grades": [{"name": "A", "min": 2e303}, {"name": "B"}],
                     "labels": [{"name": "hot", "min": 1e300}, {"name": "cold"}],
                     "quadrant": {"fit": 5e303, "engagement": 1},
                     "mql": {"min_total": 1.7e308, "min_fit": 3e303}}}');
SELECT lead_score.grade('huge', 1e303), lead_score.is_mql('huge', 1e303, 0),
       lead_score.quadrant('huge', 1e303, 0);
SELECT lead_score.drop_model('huge');
