-- Inserts only (the common case), so deferred events stay pending until a tick().
\set c random(1, 1000)
\set d random(1, 1000)
INSERT INTO pb_events (lead_id, type, at, url) VALUES
  (:c, 'visit', now() - random() * interval '1 hour', '/pricing'),
  (:d, 'visit', now() - random() * interval '1 hour', '/pricing'),
  (:c, 'demo_request', now() - random() * interval '1 day', NULL);
