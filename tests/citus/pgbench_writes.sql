-- One transaction of a busy CRM on the coordinator (tests/citus/run.sh): events
-- for two random leads (two shards, usually two workers), an event
-- reclassified, an event removed, a lead edited, and one in ten rolled back.
-- Every statement names its lead, as an application on Citus does.
\set a random(1, 2000)
\set b random(1, 2000)
\set r random(1, 10)
BEGIN;
INSERT INTO crm.activities (lead_id, type, occurred_at, url) VALUES
  (:a, 'visit', now() - random() * interval '2 days', '/pricing'),
  (:b, 'download', now() - random() * interval '2 days', NULL);
UPDATE crm.activities SET type = 'demo_request'
WHERE lead_id = :b AND id = (SELECT max(id) FROM crm.activities WHERE lead_id = :b);
DELETE FROM crm.activities
WHERE lead_id = :a AND id = (SELECT min(id) FROM crm.activities WHERE lead_id = :a);
-- (CASE, not an array subscript: Citus 13.2.2 on PostgreSQL 15.20 crashes
-- deparsing a subscript in an UPDATE's SET list.)
UPDATE crm.leads SET title = CASE :r % 4 WHEN 0 THEN 'VP' WHEN 1 THEN 'Engineer' WHEN 2 THEN 'CTO' ELSE 'Intern' END WHERE id = :a;
\if :r = 1
ROLLBACK;
\else
COMMIT;
\endif
