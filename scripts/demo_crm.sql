-- A demo CRM generated deterministically from :seed (psql variables :seed,
-- :leads, :activities). Activity times are relative to today's midnight.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;  -- one process, so random() is reproducible
CREATE EXTENSION IF NOT EXISTS lead_score;
CREATE SCHEMA crm;

CREATE TABLE crm.leads (
    id             bigint PRIMARY KEY,
    full_name      text NOT NULL,
    email          text,
    phone          text,
    job_title      text,
    company        text,
    industry       text,
    employees      integer,
    annual_revenue numeric(14, 2),
    country        text,
    budget         text,     -- BANT: approved / planned / none
    decision_maker boolean,  -- BANT: authority
    need           text,     -- BANT: high / medium / low
    timeline       text,     -- BANT: this_quarter / this_year / later
    created_at     timestamptz NOT NULL
);

CREATE TABLE crm.activities (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL REFERENCES crm.leads (id),
    type        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    url         text
);

SELECT setseed((:seed % 1000) / 1000.0) AS seeded \gset

CREATE TEMP TABLE pick (kind text, i int, v text);
INSERT INTO pick SELECT 'first', i, v FROM unnest(ARRAY['Ana','Ben','Chloé','Dev','Emma','Femi','Grace','Hiro','Ines','Jon','Kira','Liam','Mia','Noah','Olu','Priya','Quinn','Rosa','Sam','Tariq','Uma','Vik','Wen','Yara','Zoe']) WITH ORDINALITY AS t(v, i);
INSERT INTO pick SELECT 'last', i, v FROM unnest(ARRAY['Adams','Berg','Costa','Dubois','Eze','Fischer','Garcia','Haddad','Ivanova','Jensen','Kim','Lopez','Meyer','Nakamura','Okafor','Patel','Rossi','Silva','Tanaka','Weber']) WITH ORDINALITY AS t(v, i);
INSERT INTO pick SELECT 'title', i, v FROM unnest(ARRAY[
  'CEO','CTO','CFO','VP Marketing','VP Engineering','Head of Data','Director of Sales','Director of IT',
  'Marketing Manager','IT Manager','Product Manager','Senior Engineer','Software Engineer','Data Analyst',
  'Sales Representative','Consultant','Student','Intern','Recruiter','Office Assistant',NULL,NULL]) WITH ORDINALITY AS t(v, i);
INSERT INTO pick SELECT 'industry', i, v FROM unnest(ARRAY[
  'Software','Software','Financial Services','Financial Services','Healthcare','Manufacturing','Retail',
  'Education','Government','Logistics','Media','Non-profit',NULL]) WITH ORDINALITY AS t(v, i);
INSERT INTO pick SELECT 'country', i, v FROM unnest(ARRAY[
  'US','US','US','GB','GB','DE','FR','NL','SE','CA','AU','IN','BR','NG','JP',NULL]) WITH ORDINALITY AS t(v, i);
INSERT INTO pick SELECT 'company', i, v FROM unnest(ARRAY[
  'Acme','Globex','Initech','Umbrella','Hooli','Vehement','Stark','Wayne','Wonka','Tyrell','Cyberdyne',
  'Soylent','Aperture','Massive Dynamic','Oscorp','Gringotts','Monsters Inc','Duff','Prestige','Nakatomi']) WITH ORDINALITY AS t(v, i);

CREATE TEMP TABLE counts AS SELECT kind, count(*)::int AS n FROM pick GROUP BY kind;
CREATE FUNCTION pg_temp.pick(k text, r float8) RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT v FROM pick WHERE kind = k AND i = 1 + floor(r * (SELECT n FROM counts WHERE kind = k))::int $$;

INSERT INTO crm.leads
SELECT g,
       first || ' ' || last,
       CASE WHEN r_mail < 0.015 THEN lower(first) || '@rivalsoft.com'          -- competitor
            WHEN r_mail < 0.030 THEN 'test' || g || '@mailinator.com'           -- spam
            WHEN r_mail < 0.350 THEN lower(first) || g || '@gmail.com'
            ELSE lower(first) || '.' || lower(last) || '@' || lower(replace(company, ' ', '')) || '.com' END,
       CASE WHEN r_phone < 0.35 THEN NULL ELSE '+1-555-' || lpad((g % 10000)::text, 4, '0') END,
       title, company, industry,
       CASE WHEN r_size < 0.05 THEN NULL ELSE round(exp(r_size * ln(50000)))::int END,
       CASE WHEN r_size < 0.05 THEN NULL ELSE round((exp(r_size * ln(50000)) * (80000 + 120000 * r_rev))::numeric, -3) END,
       country,
       (ARRAY['approved','planned','none',NULL])[1 + floor(r_b * 4)::int],
       CASE WHEN r_a < 0.2 THEN NULL ELSE r_a > 0.6 END,
       (ARRAY['high','medium','low',NULL])[1 + floor(r_n * 4)::int],
       (ARRAY['this_quarter','this_year','later',NULL])[1 + floor(r_t * 4)::int],
       date_trunc('day', now()) - (r_created * 540) * interval '1 day'
FROM (
    SELECT g,
           pg_temp.pick('first', random()) AS first, pg_temp.pick('last', random()) AS last,
           pg_temp.pick('title', random()) AS title, pg_temp.pick('company', random()) AS company,
           pg_temp.pick('industry', random()) AS industry, pg_temp.pick('country', random()) AS country,
           random() AS r_mail, random() AS r_phone, random() AS r_size, random() AS r_rev,
           random() AS r_b, random() AS r_a, random() AS r_n, random() AS r_t, random() AS r_created
    FROM generate_series(1, :leads) AS g
) s;

-- Activity is skewed: a few leads are very active, most are quiet; each lead has
-- its own recency profile, so some are hot now and some went cold months ago.
INSERT INTO crm.activities (lead_id, type, occurred_at, url)
SELECT lead_id,
       CASE WHEN r < 0.50 THEN 'page_view' WHEN r < 0.62 THEN 'page_view'
            WHEN r < 0.76 THEN 'email_open' WHEN r < 0.85 THEN 'email_click'
            WHEN r < 0.91 THEN 'download' WHEN r < 0.945 THEN 'webinar'
            WHEN r < 0.975 THEN 'form_submit' WHEN r < 0.988 THEN 'demo_request'
            ELSE 'unsubscribe' END,
       date_trunc('day', now()) - power(r_age, 1 + (lead_id % 4)) * 365 * interval '1 day',
       CASE WHEN r < 0.50 THEN (ARRAY['/','/blog/scoring-101','/blog/intent-data','/product/analytics',
                                      '/product/automation','/customers','/careers','/careers/engineer'])[1 + floor(r_url * 8)::int]
            WHEN r < 0.62 THEN (ARRAY['/pricing','/pricing','/pricing/enterprise'])[1 + floor(r_url * 3)::int]
            WHEN r < 0.91 AND r >= 0.85 THEN (ARRAY['/whitepapers/analytics.pdf','/whitepapers/automation.pdf'])[1 + floor(r_url * 2)::int]
            WHEN r < 0.945 AND r >= 0.91 THEN (ARRAY['/webinars/analytics-live','/webinars/automation-live'])[1 + floor(r_url * 2)::int]
       END
FROM (
    SELECT 1 + floor(:leads * power(random(), 2.5))::bigint AS lead_id,
           random() AS r, random() AS r_age, random() AS r_url
    FROM generate_series(1, :activities)
) a;

CREATE INDEX ON crm.activities (lead_id);
ANALYZE crm.leads;
ANALYZE crm.activities;

SELECT lead_score.create_model('demo', $spec$
{
  "description": "Demo B2B model: ideal customer is a senior buyer at a mid-size software or finance company.",
  "fit": {
    "missing_values": ["n/a", "unknown"],
    "rules": [
      {"name": "target industry", "when": {"field": "industry", "in": ["Software", "Financial Services"]}, "points": 20},
      {"name": "adjacent industry", "when": {"field": "industry", "in": ["Healthcare", "Logistics", "Manufacturing"]}, "points": 8},
      {"name": "senior title", "when": {"field": "job_title", "regex": "\\b(ceo|cto|cfo|chief|vp|head|director)\\b"}, "points": 20},
      {"name": "manager title", "when": {"field": "job_title", "regex": "\\bmanager\\b"}, "points": 10},
      {"name": "mid-size company", "when": {"field": "employees", "between": [200, 10000]}, "points": 15},
      {"name": "small company", "when": {"field": "employees", "lt": 20}, "points": -10},
      {"name": "core market", "when": {"field": "country", "in": ["US", "GB", "DE", "NL", "SE", "CA"]}, "points": 10},
      {"name": "budget approved", "when": {"field": "budget", "eq": "approved"}, "points": 10},
      {"name": "decision maker", "when": {"field": "decision_maker", "eq": true}, "points": 8},
      {"name": "urgent need", "when": {"all": [{"field": "need", "eq": "high"}, {"field": "timeline", "in": ["this_quarter", "this_year"]}]}, "points": 7},
      {"name": "free mail", "when": {"field": "email", "regex": "@(gmail|yahoo|hotmail)\\."}, "points": -5},
      {"name": "student or intern", "when": {"field": "job_title", "in": ["Student", "Intern"]}, "points": -15},
      {"name": "competitor", "when": {"field": "email", "regex": "@rivalsoft\\.com$"}, "disqualify": true},
      {"name": "spam address", "when": {"field": "email", "regex": "^test[0-9]*@|@mailinator\\."}, "disqualify": true},
      {"name": "job applicant", "when": {"field": "job_title", "eq": "Recruiter"}, "disqualify": true}
    ],
    "completeness": {"fields": ["email", "phone", "job_title", "company", "industry", "employees", "country"], "points": 10},
    "min": 0,
    "max": 100
  },
  "engagement": {
    "properties": ["url"],
    "decay": {"kind": "exponential", "half_life": "30 days"},
    "categories": [
      {"name": "analytics", "cap": 40, "watermark": 20},
      {"name": "automation", "cap": 40, "watermark": 20}
    ],
    "rules": [
      {"name": "page view", "event": "page_view", "points": 1, "repeat": {"cap": 15}},
      {"name": "pricing view", "event": "page_view", "when": {"field": "url", "contains": "/pricing"}, "points": 5, "repeat": {"cap": 25}},
      {"name": "careers view", "event": "page_view", "when": {"field": "url", "contains": "/careers"}, "points": -3, "repeat": {"cap": 9}},
      {"name": "analytics content", "event": ["page_view", "download", "webinar"], "when": {"field": "url", "regex": "analytics"}, "points": 4, "category": "analytics"},
      {"name": "automation content", "event": ["page_view", "download", "webinar"], "when": {"field": "url", "regex": "automation"}, "points": 4, "category": "automation"},
      {"name": "email open", "event": "email_open", "points": 0.5, "repeat": {"cap": 5}},
      {"name": "email click", "event": "email_click", "points": 3, "repeat": {"cap": 15}},
      {"name": "whitepaper", "event": "download", "points": 8},
      {"name": "webinar", "event": "webinar", "points": 12},
      {"name": "form", "event": "form_submit", "points": 10, "repeat": "once"},
      {"name": "demo request", "event": "demo_request", "points": 40, "repeat": "once", "decay": {"kind": "window", "window": "90 days"}},
      {"name": "unsubscribe", "event": "unsubscribe", "points": -25, "repeat": "once", "decay": {"kind": "none"}}
    ],
    "cap": 100,
    "floor_at_zero": true
  },
  "classification": {
    "grades": [{"name": "A", "min": 70}, {"name": "B", "min": 50}, {"name": "C", "min": 30}, {"name": "D"}],
    "labels": [{"name": "hot", "min": 40}, {"name": "warm", "min": 15}, {"name": "cold"}],
    "quadrant": {"fit": 55, "engagement": 25},
    "mql": {"min_total": 90, "min_fit": 40}
  }
}
$spec$) AS demo_model_version \gset

-- Current scores for every lead, one row per lead: what a BI tool would read.
CREATE VIEW crm.lead_scores AS
WITH engagement AS (
    SELECT lead_id, lead_score.engagement_state('demo', type, occurred_at, url) AS state
    FROM crm.activities
    GROUP BY lead_id
)
SELECT l.id AS lead_id, l.full_name, l.job_title, l.company, s.*, e.state AS engagement_state
FROM crm.leads l
LEFT JOIN engagement e ON e.lead_id = l.id
CROSS JOIN LATERAL lead_score.score('demo', l, e.state) AS s;

-- Live scores with their history: attach the model, then rebuild the history
-- of the last 12 weeks (week by week, through the aggregates) for the charts.
SELECT lead_score.attach('demo', 'crm.leads', 'crm.activities') IS NOT NULL AS attached;
SELECT lead_score.backfill_history('demo', date_trunc('day', now()) - interval '12 weeks', '1 week') AS history_rows;
