-- A small CRM for the examples: 10 leads, their activities, a model and a live
-- attachment named "crm" (so lead_score.crm_current, current_score('crm', …),
-- top_leads('crm', …) and alerts on channel lead_score_alerts).
-- Activity times are relative to now(), so every run scores the same way.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS lead_score;
CREATE SCHEMA crm;

CREATE TABLE crm.leads (
    id         bigint PRIMARY KEY,
    full_name  text NOT NULL,
    email      text,
    job_title  text,
    company    text,
    industry   text,
    employees  integer,
    country    text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE crm.activities (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL REFERENCES crm.leads (id),
    type        text NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    url         text
);
CREATE INDEX ON crm.activities (lead_id);

INSERT INTO crm.leads (id, full_name, email, job_title, company, industry, employees, country) VALUES
    (1,  'Ana Adams',    'ana.adams@acme.com',       'VP Engineering',      'Acme',      'Software',           800,  'US'),
    (2,  'Ben Berg',     'ben.berg@globex.com',      'CTO',                 'Globex',    'Software',           2500, 'DE'),
    (3,  'Chloé Costa',  'chloe.costa@initech.com',  'Director of IT',      'Initech',   'Financial Services', 400,  'GB'),
    (4,  'Dev Dubois',   'dev.dubois@hooli.com',     'Head of Data',        'Hooli',     'Financial Services', 1500, 'GB'),
    (5,  'Emma Eze',     'emma.eze@stark.com',       'Marketing Manager',   'Stark',     'Healthcare',         300,  'NL'),
    (6,  'Femi Fischer', 'femi@wayne.com',           'Chief Data Officer',  'Wayne',     'Software',           5000, 'US'),
    (7,  'Grace Garcia', 'grace.garcia@gmail.com',   'Student',             NULL,        NULL,                 NULL, 'BR'),
    (8,  'Hiro Haddad',  'hiro@rivalsoft.com',       'VP Marketing',        'RivalSoft', 'Software',           900,  'US'),
    (9,  'Ines Ivanova', 'ines@tinyshop.com',        'Owner',               'Tiny Shop', 'Retail',             4,    'FR'),
    (10, 'Jon Jensen',   'jon.jensen@umbrella.com',  'Software Engineer',   'Umbrella',  'Manufacturing',      150,  'CA');

INSERT INTO crm.activities (lead_id, type, occurred_at, url)
SELECT lead_id, type, now() - age, url
FROM (VALUES
    -- 1: a hot, well-fitting lead that already asked for a demo
    (1, 'page_view',    interval '2 days',  '/product/analytics'),
    (1, 'page_view',    interval '2 days',  '/pricing'),
    (1, 'download',     interval '5 days',  '/whitepapers/analytics.pdf'),
    (1, 'webinar',      interval '9 days',  '/webinars/analytics-live'),
    (1, 'demo_request', interval '1 day',   NULL),
    -- 2: a good fit that reads a lot
    (2, 'page_view',    interval '1 day',   '/pricing'),
    (2, 'page_view',    interval '3 days',  '/pricing/enterprise'),
    (2, 'download',     interval '4 days',  '/whitepapers/automation.pdf'),
    (2, 'webinar',      interval '20 days', '/webinars/automation-live'),
    -- 3: a good fit, barely engaged
    (3, 'page_view',    interval '12 days', '/'),
    -- 4: the lead the psycopg example brings to life (it adds a demo request)
    (4, 'page_view',    interval '6 days',  '/blog/scoring-101'),
    (4, 'page_view',    interval '6 days',  '/customers'),
    -- 5: a middling fit, somewhat engaged
    (5, 'page_view',    interval '3 days',  '/product/automation'),
    (5, 'email_click',  interval '3 days',  NULL),
    -- 7: keen, but a student on a free mail address
    (7, 'page_view',    interval '1 day',   '/pricing'),
    (7, 'page_view',    interval '1 day',   '/pricing'),
    (7, 'download',     interval '2 days',  '/whitepapers/analytics.pdf'),
    (7, 'webinar',      interval '2 days',  '/webinars/analytics-live'),
    (7, 'demo_request', interval '2 days',  NULL),
    -- 8: a competitor studying the pricing page
    (8, 'page_view',    interval '1 day',   '/pricing'),
    (8, 'page_view',    interval '1 day',   '/pricing/enterprise'),
    (8, 'demo_request', interval '1 day',   NULL),
    -- 10: reads the careers page, unsubscribed long ago
    (10, 'page_view',   interval '30 days', '/careers/engineer'),
    (10, 'unsubscribe', interval '60 days', NULL)
) AS a (lead_id, type, age, url);

SELECT lead_score.create_model('crm', $spec$
{
  "description": "Example model: senior buyers at mid-size software or finance companies.",
  "fit": {
    "rules": [
      {"name": "target industry", "when": {"field": "industry", "in": ["Software", "Financial Services"]}, "points": 20},
      {"name": "adjacent industry", "when": {"field": "industry", "in": ["Healthcare", "Manufacturing"]}, "points": 8},
      {"name": "senior title", "when": {"field": "job_title", "regex": "\\b(ceo|cto|chief|vp|head|director)\\b"}, "points": 20},
      {"name": "manager title", "when": {"field": "job_title", "regex": "\\bmanager\\b"}, "points": 10},
      {"name": "mid-size company", "when": {"field": "employees", "between": [200, 10000]}, "points": 15},
      {"name": "small company", "when": {"field": "employees", "lt": 20}, "points": -10},
      {"name": "core market", "when": {"field": "country", "in": ["US", "GB", "DE", "NL", "CA"]}, "points": 10},
      {"name": "free mail", "when": {"field": "email", "regex": "@(gmail|yahoo|hotmail)\\."}, "points": -5},
      {"name": "student", "when": {"field": "job_title", "eq": "Student"}, "points": -15},
      {"name": "competitor", "when": {"field": "email", "regex": "@rivalsoft\\.com$"}, "disqualify": true}
    ],
    "completeness": {"fields": ["email", "job_title", "company", "industry", "employees", "country"], "points": 10},
    "min": 0,
    "max": 100
  },
  "engagement": {
    "properties": ["url"],
    "decay": {"kind": "exponential", "half_life": "30 days"},
    "rules": [
      {"name": "page view", "event": "page_view", "points": 1, "repeat": {"cap": 15}},
      {"name": "pricing view", "event": "page_view", "when": {"field": "url", "contains": "/pricing"}, "points": 5, "repeat": {"cap": 25}},
      {"name": "careers view", "event": "page_view", "when": {"field": "url", "contains": "/careers"}, "points": -3, "repeat": {"cap": 9}},
      {"name": "email click", "event": "email_click", "points": 3, "repeat": {"cap": 15}},
      {"name": "whitepaper", "event": "download", "points": 8},
      {"name": "webinar", "event": "webinar", "points": 12},
      {"name": "demo request", "event": "demo_request", "points": 40, "repeat": "once", "decay": {"kind": "window", "window": "90 days"}},
      {"name": "unsubscribe", "event": "unsubscribe", "points": -25, "repeat": "once", "decay": {"kind": "none"}}
    ],
    "cap": 100,
    "floor_at_zero": true
  },
  "classification": {
    "grades": [{"name": "A", "min": 70}, {"name": "B", "min": 50}, {"name": "C", "min": 30}, {"name": "D"}],
    "labels": [{"name": "hot", "min": 40}, {"name": "warm", "min": 15}, {"name": "cold"}],
    "quadrant": {"fit": 50, "engagement": 25},
    "mql": {"min_total": 90, "min_fit": 40}
  },
  "alerts": [
    {"name": "demo request", "event": "demo_request"},
    {"name": "pricing burst", "event": "page_view", "when": {"field": "url", "contains": "/pricing"}, "count": 3, "within": "1 hour"}
  ]
}
$spec$);

-- Live scores: from now on every write to crm.leads or crm.activities updates
-- lead_score_internal.crm_scores in the same transaction, and raises alerts.
SELECT lead_score.attach('crm', 'crm.leads', 'crm.activities');
