-- The upgrade test's fixture: a small CRM with a model of two versions, a sync and a
-- deferred attachment, history, outcomes, feedback and alerts. Written against the
-- 0.1.0 API, since it runs before the upgrade too (tests/upgrade/run.sh).
SET client_min_messages = warning;
CREATE SCHEMA crm;
CREATE TABLE crm.leads (
    id bigint PRIMARY KEY, industry text, title text, email text, phone text,
    created_at timestamptz NOT NULL DEFAULT '2026-05-01');
CREATE TABLE crm.activities (
    id bigserial PRIMARY KEY, lead_id bigint NOT NULL REFERENCES crm.leads,
    type text NOT NULL, occurred_at timestamptz NOT NULL, url text);
CREATE INDEX ON crm.activities (lead_id);
CREATE TABLE crm.feed (LIKE crm.activities INCLUDING ALL);
CREATE INDEX ON crm.feed (lead_id);
CREATE TABLE crm.deals (lead_id bigint PRIMARY KEY, won boolean NOT NULL, closed_at timestamptz NOT NULL);
INSERT INTO crm.leads
SELECT i, (ARRAY['Software', 'Fintech', 'Retail'])[1 + i % 3],
       (ARRAY['VP Marketing', 'Engineer', 'Head of Sales', 'Student'])[1 + i % 4],
       'p' || i || CASE WHEN i % 25 = 0 THEN '@rival.com' ELSE '@example.com' END,
       CASE WHEN i % 3 = 0 THEN NULL ELSE '+1-555-0100' END,
       '2026-05-01'::timestamptz + (i % 60) * interval '1 day'
FROM generate_series(1, 200) i;
SELECT lead_score.create_model('m', '{
  "fit": {"rules": [
      {"name": "industry", "when": {"field": "industry", "in": ["Software", "Fintech"]}, "points": 20},
      {"name": "senior", "when": {"field": "title", "regex": "\\b(vp|head)\\b"}, "points": 15},
      {"name": "competitor", "when": {"field": "email", "regex": "@rival\\.com$"}, "disqualify": true}],
    "completeness": {"fields": ["email", "phone"], "points": 10}},
  "engagement": {"properties": ["url"],
    "categories": [{"name": "web", "cap": 30, "watermark": 10}, {"name": "sales", "watermark": 30}],
    "decay": {"kind": "exponential", "half_life": "30 days"},
    "rules": [
      {"name": "visit", "event": "page_view", "points": 2, "repeat": {"cap": 20}, "category": "web"},
      {"name": "pricing", "event": "page_view", "when": {"field": "url", "contains": "/pricing"}, "points": 5, "category": "web"},
      {"name": "demo", "event": "demo_request", "points": 40, "repeat": "once", "category": "sales"}],
    "cap": 100},
  "classification": {"grades": [{"name": "A", "min": 35}, {"name": "B", "min": 20}, {"name": "C"}],
    "labels": [{"name": "hot", "min": 40}, {"name": "warm", "min": 10}, {"name": "cold"}],
    "quadrant": {"fit": 30, "engagement": 25}, "mql": {"min_total": 60, "min_fit": 20}},
  "alerts": [{"name": "demo request", "event": "demo_request"}]
}');
INSERT INTO crm.activities (lead_id, type, occurred_at, url)
SELECT l.id, CASE WHEN k = 1 AND l.id % 7 = 0 THEN 'demo_request' ELSE 'page_view' END,
       now() - (k * 5 + l.id % 5) * interval '1 day', CASE WHEN k % 3 = 0 THEN '/pricing' ELSE '/blog' END
FROM crm.leads l, generate_series(1, 6) k WHERE k <= 1 + l.id % 6;
INSERT INTO crm.feed (lead_id, type, occurred_at, url) SELECT lead_id, type, occurred_at, url FROM crm.activities;
SELECT lead_score.attach('m', 'crm.leads', 'crm.activities', name => 'live');
SELECT lead_score.attach('m', 'crm.leads', 'crm.feed', name => 'feed', mode => 'deferred');
-- A second version, published after the attachments.
SELECT lead_score.create_model('m', jsonb_set(lead_score.model_spec('m'), '{fit,completeness,points}', '12'));
-- Writes in both modes, some left pending for the deferred attachment.
INSERT INTO crm.activities (lead_id, type, occurred_at, url)
SELECT id, 'demo_request', now() - interval '1 hour', NULL FROM crm.leads WHERE id % 11 = 0;
SELECT lead_score.tick();
INSERT INTO crm.feed (lead_id, type, occurred_at, url)
SELECT id, 'page_view', now() - interval '2 hours', '/pricing' FROM crm.leads WHERE id % 5 = 0;
UPDATE crm.leads SET title = 'Head of Growth' WHERE id % 9 = 0;
SELECT lead_score.record_history('live');
INSERT INTO crm.deals SELECT id, id % 3 = 0, now() - interval '1 day' FROM crm.leads WHERE id % 2 = 0;
SELECT lead_score.link_outcomes('live', 'crm.deals', '{"closed_at": "closed_at"}');
SELECT lead_score.record_feedback('live', '14', false, 'bad_fit', 'rep@example.com');
SELECT lead_score.record_feedback('live', '21', true, NULL, 'rep@example.com');
