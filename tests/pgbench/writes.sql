-- One transaction of a busy CRM: events for two random leads, an event
-- reclassified, an event removed, and one transaction in ten rolled back.
\set a random(1, 1000)
\set b random(1, 1000)
\set r random(1, 10)
BEGIN;
INSERT INTO pb_events (lead_id, type, at, url) VALUES
  (:a, 'visit', now() - random() * interval '2 days', '/pricing'),
  (:b, 'download', now() - random() * interval '2 days', NULL);
UPDATE pb_events SET type = 'demo_request' WHERE id = (SELECT max(id) FROM pb_events WHERE lead_id = :b);
DELETE FROM pb_events WHERE id = (SELECT min(id) FROM pb_events WHERE lead_id = :a);
\if :r = 1
ROLLBACK;
\else
COMMIT;
\endif
