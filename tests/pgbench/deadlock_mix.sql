-- Single-statement writes of a busy CRM, each its own transaction: multi-row
-- inserts in either key order, fit changes, lead key changes, activity updates
-- and deletes, one row each. Plain tables never deadlock on these, so attached
-- tables must not either (tests/pgbench/deadlocks.sh). With :tx = 1, one
-- transaction in eight instead writes one lead in two statements (an insert,
-- then a delete).
\set k random(1, :leads)
\set j random(1, :leads)
\set op random(1, 7 + :tx)
\if :op = 1
INSERT INTO :"events" (lead_id, type, at, url) VALUES (:k, 'visit', now(), '/pricing'), (:j, 'download', now(), NULL);
\elif :op = 2
INSERT INTO :"events" (lead_id, type, at, url) VALUES (:j, 'visit', now(), '/pricing'), (:k, 'demo_request', now(), NULL);
\elif :op = 3
UPDATE :"leads" SET industry = CASE WHEN industry = 'Software' THEN 'Retail' ELSE 'Software' END WHERE id = :k;
\elif :op = 4
UPDATE :"leads" SET id = -id WHERE id IN (:k, -:k);
\elif :op = 5
UPDATE :"events" SET url = '/docs' WHERE id = (SELECT max(id) FROM :"events" WHERE lead_id = :k);
\elif :op = 6
DELETE FROM :"events" WHERE id = (SELECT min(id) FROM :"events" WHERE lead_id = :k);
\elif :op = 7
INSERT INTO :"events" (lead_id, type, at) SELECT g, 'visit', now() FROM (VALUES (:k), (:j), (-:k)) AS v(g);
\else
BEGIN;
INSERT INTO :"events" (lead_id, type, at, url) VALUES (:k, 'visit', now(), '/pricing');
DELETE FROM :"events" WHERE id = (SELECT min(id) FROM :"events" WHERE lead_id = :k);
COMMIT;
\endif
