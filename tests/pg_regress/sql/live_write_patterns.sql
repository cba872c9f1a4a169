-- Every way an application writes its activities keeps the live scores equal
-- to a from-scratch recompute, in both modes: upserts of an idempotent event
-- feed, MERGE, writable CTEs that insert and update or delete in one
-- statement, the "move" idiom, and transactions that mix them.
--
-- (An INSERT adds its rows to the score; an UPDATE or DELETE recomputes its
-- leads from the table. Once a recompute has run in a statement, that
-- statement's inserts recompute too, as the recompute may already have counted
-- rows the statement inserted: ON CONFLICT and MERGE fire the UPDATE trigger
-- first.)
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/fixtures/live_app.sql'
\i :fixtures

-- Each pattern, then check_consistency (no rows: no mismatch) and the score of
-- the leads it touched, so a double count shows twice.
CREATE FUNCTION pg_temp.patterns() RETURNS TABLE (step integer, statement text, mismatches bigint, total_1 numeric, total_3 numeric)
LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    steps text[] := ARRAY[
      -- an idempotent feed: the first delivery inserts, the second updates
      $s$INSERT INTO app.touches (touch_id, person, kind, at, page) VALUES
         (100, '00000000-0000-0000-0000-000000000001', 'page_view', '2026-06-01 10:00+00', '/pricing')
         ON CONFLICT (touch_id) DO UPDATE SET page = excluded.page$s$,
      $s$INSERT INTO app.touches (touch_id, person, kind, at, page) VALUES
         (100, '00000000-0000-0000-0000-000000000001', 'page_view', '2026-06-01 10:00+00', '/pricing'),
         (101, '00000000-0000-0000-0000-000000000001', 'page_view', '2026-06-01 10:30+00', '/pricing')
         ON CONFLICT (touch_id) DO UPDATE SET page = excluded.page$s$,
      $s$MERGE INTO app.touches t USING (VALUES (101, '/docs'), (102, '/blog')) v(id, page) ON t.touch_id = v.id
         WHEN MATCHED THEN UPDATE SET page = v.page
         WHEN NOT MATCHED THEN INSERT (touch_id, person, kind, at, page)
              VALUES (v.id, '00000000-0000-0000-0000-000000000001', 'page_view', '2026-06-01 11:00+00', v.page)$s$,
      $s$WITH i AS (INSERT INTO app.touches (person, kind, at, page)
                    VALUES ('00000000-0000-0000-0000-000000000003', 'page_view', '2026-06-01 11:00+00', '/pricing') RETURNING person)
         UPDATE app.touches SET page = '/x' WHERE person IN (SELECT person FROM i)$s$,
      $s$WITH u AS (UPDATE app.touches SET page = '/y' WHERE person = '00000000-0000-0000-0000-000000000003' AND kind = 'demo_request' RETURNING person, kind, at)
         INSERT INTO app.touches (person, kind, at, page) SELECT person, 'page_view', at, '/pricing' FROM u$s$,
      -- the move idiom: delete a lead's rows and insert them again, in one statement
      $s$WITH d AS (DELETE FROM app.touches WHERE person = '00000000-0000-0000-0000-000000000001' RETURNING *)
         INSERT INTO app.touches (person, kind, at, page) SELECT person, kind, at, page FROM d$s$,
      -- a new lead and its first activity in one statement
      $s$WITH a AS (INSERT INTO app.touches (person, kind, at) VALUES ('00000000-0000-0000-0000-000000000009', 'demo_request', '2026-06-01 11:00+00') RETURNING person)
         INSERT INTO app.people (person_id, job) SELECT person, 'CTO' FROM a$s$,
      $s$WITH d AS (DELETE FROM app.touches WHERE touch_id = 100 RETURNING person)
         INSERT INTO app.touches (person, kind, at, page) SELECT person, 'page_view', '2026-06-01 11:30+00', '/pricing' FROM d$s$];
BEGIN
    FOR i IN 1 .. cardinality(steps) LOOP
        EXECUTE steps[i];
        step := i;
        statement := left(regexp_replace(steps[i], '\s+', ' ', 'g'), 34);
        SELECT count(*) INTO mismatches FROM lead_score.check_consistency(pg_temp.att());
        SELECT round(c.total::numeric, 3) INTO total_1 FROM lead_score.current_score(pg_temp.att(), '00000000-0000-0000-0000-000000000001'::uuid) c;
        SELECT round(c.total::numeric, 3) INTO total_3 FROM lead_score.current_score(pg_temp.att(), '00000000-0000-0000-0000-000000000003'::uuid) c;
        RETURN NEXT;
    END LOOP;
END
$$;

-- sync
SELECT lead_score.attach('live', 'app.people', 'app.touches',
    '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind",
      "occurred_at": "at", "properties": {"url": "page"}}', name => 'w');
CREATE FUNCTION pg_temp.att() RETURNS text LANGUAGE sql AS $$ SELECT 'w' $$;
SELECT * FROM pg_temp.patterns();
-- The same, all in one transaction, from the same starting rows.
BEGIN;
DELETE FROM app.touches WHERE touch_id >= 100 OR page IN ('/x', '/y') OR person = '00000000-0000-0000-0000-000000000009';
DELETE FROM app.people WHERE person_id = '00000000-0000-0000-0000-000000000009';
SELECT * FROM pg_temp.patterns();
COMMIT;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('w');
-- A lead write beside an activity insert, in one statement, after a delete in
-- the same transaction, whose marker waits for the commit (see the deferred
-- case below): the insert is counted once.
BEGIN;
DELETE FROM app.touches WHERE person = '00000000-0000-0000-0000-000000000003' AND kind = 'page_view';
SELECT count(*) AS markers FROM lead_score_internal.w_pending WHERE occurred_at IS NULL;
WITH u AS (UPDATE app.people SET job = job WHERE person_id = '00000000-0000-0000-0000-000000000003' RETURNING person_id)
INSERT INTO app.touches (person, kind, at, page) SELECT person_id, 'page_view', '2026-06-01 11:45+00', '/pricing' FROM u;
COMMIT;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('w');
SELECT lead_score.detach('w');

-- deferred: the same patterns, with inserts going to the pending table.
DELETE FROM app.touches WHERE touch_id > 2;
DELETE FROM app.people WHERE person_id = '00000000-0000-0000-0000-000000000009';
UPDATE app.touches SET page = '/pricing' WHERE touch_id = 1;
UPDATE app.touches SET page = NULL WHERE touch_id = 2;
SELECT lead_score.attach('live', 'app.people', 'app.touches',
    '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind",
      "occurred_at": "at", "properties": {"url": "page"}}', name => 'w', mode => 'deferred');
SELECT * FROM pg_temp.patterns();
SELECT lead_score.tick() >= 0 AS ticked;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('w');
SELECT count(*) AS pending FROM lead_score_internal.w_pending;

-- A lead write beside an activity insert, in one statement, while the lead has
-- a recompute marker pending (a delete tick() has not folded): the lead
-- trigger, which fires first here (its statement ran first), folds and so
-- recomputes the lead from the table, which already holds the statement's new
-- activity, so that insert's trigger recomputes too rather than add the
-- activity again (it was counted twice).
DELETE FROM app.touches WHERE person = '00000000-0000-0000-0000-000000000003' AND kind = 'page_view';
SELECT count(*) AS markers FROM lead_score_internal.w_pending WHERE occurred_at IS NULL;
WITH u AS (UPDATE app.people SET job = job WHERE person_id = '00000000-0000-0000-0000-000000000003' RETURNING person_id)
INSERT INTO app.touches (person, kind, at, page) SELECT person_id, 'page_view', '2026-06-01 11:45+00', '/pricing' FROM u;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('w');
SELECT round(total::numeric, 3) AS total_3 FROM lead_score.current_score('w', '00000000-0000-0000-0000-000000000003'::uuid);
-- The same for tick() run in a statement that inserts activities.
DELETE FROM app.touches WHERE person = '00000000-0000-0000-0000-000000000003' AND kind = 'page_view';
WITH a AS (INSERT INTO app.touches (person, kind, at, page)
           VALUES ('00000000-0000-0000-0000-000000000003', 'page_view', '2026-06-01 11:50+00', '/pricing') RETURNING person)
SELECT lead_score.tick() >= 0 AS ticked FROM (SELECT count(*) FROM a) x;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('w');
SELECT round(total::numeric, 3) AS total_3 FROM lead_score.current_score('w', '00000000-0000-0000-0000-000000000003'::uuid);
-- A reader in a statement whose writable CTE inserts an activity of a lead
-- with a recompute marker pending: current_score, top_leads and the view
-- recompute the lead as the statement's snapshot shows the table, without the
-- CTE's row, as a from-scratch score in the same statement does (they counted
-- it: 66.998 against 60.000). The insert counts it once the statement ends.
DELETE FROM app.touches WHERE person = '00000000-0000-0000-0000-000000000003' AND kind = 'page_view';
SELECT count(*) AS markers FROM lead_score_internal.w_pending WHERE occurred_at IS NULL;
WITH a AS (INSERT INTO app.touches (person, kind, at, page)
           VALUES ('00000000-0000-0000-0000-000000000003', 'page_view', '2026-06-01 11:55+00', '/pricing') RETURNING person)
SELECT (SELECT count(*) FROM a) AS inserted,
       (SELECT round((lead_score.score('live', p,
                 (SELECT lead_score.engagement_state('live', t.kind, t.at, t.page) FROM app.touches t WHERE t.person = p.person_id))).total::numeric, 3)
        FROM app.people p WHERE p.person_id = '00000000-0000-0000-0000-000000000003') AS from_scratch,
       (SELECT round(total::numeric, 3) FROM lead_score.current_score('w', '00000000-0000-0000-0000-000000000003'::uuid)) AS current_score,
       (SELECT round(total::numeric, 3) FROM lead_score.top_leads('w', 10) WHERE lead_key = '00000000-0000-0000-0000-000000000003') AS top_leads,
       (SELECT round(total::numeric, 3) FROM lead_score.w_current WHERE lead_key = '00000000-0000-0000-0000-000000000003') AS view;
SELECT round(total::numeric, 3) AS total_3_after FROM lead_score.current_score('w', '00000000-0000-0000-0000-000000000003'::uuid);
SELECT count(*) AS mismatches FROM lead_score.check_consistency('w');
SELECT lead_score.detach('w');

RESET lead_score.mock_now;
DROP SCHEMA app CASCADE;
SELECT lead_score.drop_model('live');
