-- The source database of tests/dump/run.sh: a small CRM with a model of two
-- versions, a sync and a deferred attachment, history, outcomes, feedback,
-- evaluations and alerts, and deferred events still pending at the end.
-- Time is lead_score.mock_now (a mock_clock build), so every run is the same.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET lead_score.mock_now = '2026-06-01 12:00:00+00';

CREATE SCHEMA crm;
CREATE TABLE crm.leads (id bigint PRIMARY KEY, sector text, job text, email text, signed_up_at timestamptz, company text);
-- A name that needs quoting, so the dump's regclass values and triggers must quote it.
CREATE TABLE crm."Activity Log" (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL,
    kind        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    url         text
);
CREATE INDEX ON crm."Activity Log" (lead_id);
CREATE TABLE crm.deals (deal_id serial PRIMARY KEY, lead_id bigint NOT NULL, won boolean NOT NULL, closed_at timestamptz);

INSERT INTO crm.leads
SELECT i, CASE WHEN i % 2 = 0 THEN 'Software' ELSE 'Retail' END,
       CASE WHEN i % 3 = 0 THEN 'VP Sales' WHEN i % 5 = 0 THEN 'CTO' ELSE 'Analyst' END,
       CASE WHEN i % 17 = 0 THEN 'x' || i || '@rival.com' ELSE 'x' || i || '@acme.com' END,
       '2026-04-01 12:00+00'::timestamptz + (i % 15) * interval '1 day', 'co' || (i % 7)
FROM generate_series(1, 60) i;
INSERT INTO crm."Activity Log" (lead_id, kind, occurred_at, url)
SELECT 1 + i % 60, CASE WHEN i % 23 = 0 THEN 'demo_request' ELSE 'page_view' END,
       '2026-05-31 12:00+00'::timestamptz - (i % 40) * interval '19 hours',
       CASE WHEN i % 3 = 0 THEN '/pricing' WHEN i % 3 = 1 THEN '/blog' END
FROM generate_series(1, 400) i;

-- The model "live" of the regress suite, then a second version of it, with
-- account scores (so the account views and their alert state are dumped too).
\i :fixtures
SELECT lead_score.create_model('live',
    jsonb_set(jsonb_set(lead_score.model_spec('live'), '{engagement,rules,2,points}', '35'),
              '{classification,mql,min_total}', '75')
    || '{"accounts": {"field": "company", "cap": 60, "alert": 45}}',
    'demo requests count more; accounts') AS version;

SELECT lead_score.attach('live', 'crm.leads', 'crm."Activity Log"', '{"event_type": "kind"}', name => 'crm_sync');
SELECT lead_score.attach('live', 'crm.leads', 'crm."Activity Log"', '{"event_type": "kind"}',
                         name => 'crm_deferred', mode => 'deferred');

-- Outcomes, linked in place.
INSERT INTO crm.deals (lead_id, won, closed_at)
SELECT i, (i % 3 = 0) OR (i % 7 = 0), '2026-05-25 12:00+00'::timestamptz + (i % 5) * interval '1 day'
FROM generate_series(1, 60) i;
SELECT lead_score.link_outcomes(a, 'crm.deals', '{"lead_key": "lead_id", "won": "won", "closed_at": "closed_at"}')
FROM unnest(ARRAY['crm_sync', 'crm_deferred']) a;

-- History before attach, for the sync attachment.
SELECT lead_score.backfill_history('crm_sync', '2026-05-25 12:00+00', '1 day') > 0 AS backfilled;

-- Activity: a demo request and a pricing burst. The sync attachment alerts at
-- once; the deferred one keeps the events pending until tick().
SET lead_score.mock_now = '2026-06-01 12:10:00+00';
INSERT INTO crm."Activity Log" (lead_id, kind, occurred_at, url) VALUES
    (5, 'demo_request', '2026-06-01 12:05+00', NULL),
    (7, 'page_view', '2026-06-01 12:01+00', '/pricing'),
    (7, 'page_view', '2026-06-01 12:02+00', '/pricing'),
    (7, 'page_view', '2026-06-01 12:03+00', '/pricing');
UPDATE crm.leads SET job = 'VP Engineering' WHERE id = 8;
DELETE FROM crm."Activity Log" WHERE lead_id = 9 AND kind = 'page_view' AND url = '/blog';

-- An hour on: tick() folds, alerts and records history.
SET lead_score.mock_now = '2026-06-01 13:05:00+00';
SELECT lead_score.tick() > 0 AS alerted;
SELECT lead_score.set_history('crm_deferred', every => '30 minutes', retention => '1 year');

-- Sales feedback, one with a reason of the user's own.
INSERT INTO lead_score.feedback_reasons (reason, description) VALUES ('too_small', 'Company too small');
SELECT lead_score.record_feedback('crm_sync', '5', true) IS NOT NULL AS recorded;
SELECT lead_score.record_feedback('crm_sync', '7', false, 'no_budget', 'call in Q3') IS NOT NULL AS recorded;
SELECT lead_score.record_feedback('crm_deferred', '9', false, 'too_small') IS NOT NULL AS recorded;

-- Manual adjustments: one for good, one until a date, one ended.
SELECT lead_score.adjust('crm_sync', '5', 15, 'Met at the trade show') AS adjustment;
SELECT lead_score.adjust('crm_deferred', '9', -20, 'On leave', '2026-07-01 00:00+00') AS adjustment;
SELECT lead_score.adjust('crm_deferred', '7', 30, 'Asked for a quote') AS adjustment;
SELECT lead_score.end_adjustment(3) AS ended;

-- Both versions backtested (kept in lead_score.evaluations).
SELECT count(*) AS evaluated FROM lead_score.backtest('crm_sync', '2026-05-20 12:00+00');

SET lead_score.mock_now = '2026-06-01 13:40:00+00';
SELECT lead_score.record_history('crm_deferred') >= 0 AS recorded;

-- Last: events the deferred attachment has not folded yet when the dump is taken.
SET lead_score.mock_now = '2026-06-01 13:50:00+00';
INSERT INTO crm."Activity Log" (lead_id, kind, occurred_at, url) VALUES
    (12, 'demo_request', '2026-06-01 13:45+00', NULL),
    (3, 'page_view', '2026-06-01 13:46+00', '/pricing'),
    (44, 'page_view', '2026-06-01 13:47+00', '/blog');
