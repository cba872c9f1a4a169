-- Inserts only, the common case (tests/citus/run.sh).
\set c random(1, 2000)
\set d random(1, 2000)
INSERT INTO crm.activities (lead_id, type, occurred_at, url) VALUES
  (:c, 'visit', now() - random() * interval '1 hour', '/pricing'),
  (:d, 'visit', now() - random() * interval '1 hour', '/pricing'),
  (:c, 'demo_request', now() - random() * interval '1 day', NULL);
