-- Deferred mode, for high-volume activity feeds: an activity INSERT or COPY only
-- appends its events to a pending table, so it touches no score row. Every
-- reader merges the pending events, so scores are still current inside the
-- writing transaction; tick() folds them into the score rows and sends the
-- alerts they caused. Every other write works as in sync mode.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';

CREATE SCHEMA feed;
CREATE TABLE feed.leads (id bigint PRIMARY KEY, sector text, job text, email text);
CREATE TABLE feed.events (
    id          bigserial PRIMARY KEY,
    lead_id     bigint NOT NULL,
    type        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    url         text
);
CREATE INDEX ON feed.events (lead_id);
INSERT INTO feed.leads VALUES (1, 'Software', 'VP Sales'), (2, 'Retail', 'Intern'), (3, 'Software', 'CTO');
INSERT INTO feed.events (lead_id, type, occurred_at, url) VALUES (1, 'page_view', '2026-05-31 12:00+00', '/pricing');

-- The model of live.sql.
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/fixtures/live_model.sql'
\i :fixtures
SELECT lead_score.create_model('feed', lead_score.model_spec('live'));

-- The same model attached twice to the same tables: sync (the default) and deferred.
-- The columns have the default names (id; lead_id, type, occurred_at), so no mapping.
SELECT lead_score.attach('feed', 'feed.leads', 'feed.events', name => 'feed_sync');
SELECT lead_score.attach('feed', 'feed.leads', 'feed.events', name => 'feed_deferred', mode => 'deferred');
SELECT name, mode FROM lead_score.attachments WHERE name LIKE 'feed%' ORDER BY name;

-- Both attachments side by side, and the alerts each has sent.
CREATE VIEW feed.both AS
SELECT s.lead_key, round(s.engagement::numeric, 3) AS sync_engagement, round(d.engagement::numeric, 3) AS deferred_engagement,
       s.mql AS sync_mql, d.mql AS deferred_mql, s.hot_categories AS sync_hot, d.hot_categories AS deferred_hot
FROM lead_score.feed_sync_current s JOIN lead_score.feed_deferred_current d USING (lead_key);
CREATE VIEW feed.alerts AS
SELECT attachment, lead_key, kind, detail FROM lead_score.alerts WHERE attachment LIKE 'feed%' ORDER BY id;
SELECT * FROM feed.both ORDER BY lead_key;

-- Inside the writing transaction both read the same scores, with the events
-- pending in both: the sync attachment's commit folds them and sends their
-- alerts; the deferred one keeps them for tick().
BEGIN;
INSERT INTO feed.events (lead_id, type, occurred_at, url)
SELECT 1, 'page_view', '2026-06-01 11:00+00'::timestamptz + i * interval '10 minutes', '/pricing'
FROM generate_series(0, 2) AS i;
SELECT * FROM feed.both ORDER BY lead_key;
SELECT (SELECT count(*) FROM lead_score_internal.feed_sync_pending) AS sync_pending,
       (SELECT count(*) FROM lead_score_internal.feed_deferred_pending) AS deferred_pending;
SELECT * FROM feed.alerts;
COMMIT;
-- The commit folded the sync attachment's events and sent its alerts.
SELECT (SELECT count(*) FROM lead_score_internal.feed_sync_pending) AS sync_pending,
       (SELECT count(*) FROM lead_score_internal.feed_deferred_pending) AS deferred_pending;
SELECT * FROM feed.alerts;
DELETE FROM lead_score.alerts;
SELECT * FROM lead_score.check_consistency('feed_deferred');
-- pending_summary() shows what waits, per attachment: a backlog for tick().
SELECT * FROM lead_score.pending_summary() WHERE attachment LIKE 'feed%';

-- tick() folds the pending events and sends the same alerts the sync attachment sent.
SELECT lead_score.tick() AS alerts_sent;
SELECT count(*) AS pending FROM lead_score_internal.feed_deferred_pending;
SELECT * FROM feed.alerts;
DELETE FROM lead_score.alerts;

-- Every kind of write, with events still pending: new events (one for lead 4,
-- which does not exist yet), an activity UPDATE and DELETE (each appends a
-- recompute marker, a pending row with no time, for the leads it touches: every
-- reader recomputes those leads from the table until a fold does), a fit change
-- (folds that lead's pending events first, recomputing it if marked) and a new
-- lead (its events come from the table).
INSERT INTO feed.events (lead_id, type, occurred_at, url) VALUES
  (3, 'demo_request', '2026-06-01 09:00+00', NULL),
  (2, 'page_view', '2026-06-01 09:00+00', '/blog'),
  (1, 'page_view', '2026-06-01 09:00+00', '/docs'),
  (4, 'page_view', '2026-06-01 09:00+00', '/pricing');
SELECT lead_key, count(*) AS pending FROM lead_score_internal.feed_deferred_pending GROUP BY 1 ORDER BY 1;
UPDATE feed.events SET url = '/pricing/enterprise' WHERE url = '/docs';
DELETE FROM feed.events WHERE lead_id = 2;
UPDATE feed.leads SET sector = 'Retail' WHERE id = 3;
INSERT INTO feed.leads VALUES (4, 'Software', 'VP');
SELECT lead_key, count(*) FILTER (WHERE occurred_at IS NOT NULL) AS events,
       count(*) FILTER (WHERE occurred_at IS NULL) AS markers
FROM lead_score_internal.feed_deferred_pending GROUP BY 1 ORDER BY 1;
-- The same, summed per attachment: lead 3's event went with its fit change and
-- lead 4's with its creation; two events and two marked leads wait.
SELECT * FROM lead_score.pending_summary() WHERE attachment LIKE 'feed%';
SELECT * FROM feed.both ORDER BY lead_key;
SELECT * FROM lead_score.check_consistency('feed_deferred');
SELECT * FROM lead_score.check_consistency('feed_sync');
-- The sync attachment alerted on lead 3's demo request at the INSERT; the
-- deferred one when the fit change folded it, before reclassifying the lead.
-- Then both alerted on the fit change itself: the same alerts, in the same order.
SELECT * FROM feed.alerts;
DELETE FROM lead_score.alerts;

-- Functions for applications read the pending events too.
INSERT INTO feed.events (lead_id, type, occurred_at) VALUES (4, 'demo_request', '2026-06-01 10:00+00');
SELECT attachment, round(total::numeric, 3) AS total, quadrant, mql
FROM (VALUES ('feed_sync'), ('feed_deferred')) AS a(attachment),
     LATERAL lead_score.current_score(a.attachment, 4::bigint);
SELECT lead_key, round(total::numeric, 3) AS total, quadrant FROM lead_score.top_leads('feed_deferred', 2);
SELECT lead_key, round(total::numeric, 3) AS total, quadrant FROM lead_score.top_leads('feed_sync', 2);

-- COPY appends like INSERT; TRUNCATE empties engagement and the pending events.
COPY feed.events (lead_id, type, occurred_at, url) FROM STDIN;
1	page_view	2026-05-28 08:00:00+00	/pricing
4	page_view	2026-05-29 08:00:00+00	/blog
\.
SELECT count(*) AS pending FROM lead_score_internal.feed_deferred_pending;
SELECT * FROM lead_score.check_consistency('feed_deferred');
TRUNCATE feed.events;
SELECT count(*) AS pending FROM lead_score_internal.feed_deferred_pending;
SELECT * FROM feed.both ORDER BY lead_key;

-- rescore recomputes from the tables and leaves nothing pending.
INSERT INTO feed.events (lead_id, type, occurred_at, url) VALUES (1, 'page_view', '2026-06-01 08:00+00', '/pricing');
SELECT lead_score.rescore('feed_deferred') AS leads;
SELECT count(*) AS pending FROM lead_score_internal.feed_deferred_pending;
SELECT * FROM lead_score.check_consistency('feed_deferred');

-- Events of a key that is no lead (a visitor who never becomes one) wait in
-- the pending table in both modes, as lead 4's did above. tick() drops them
-- once no snapshot in use can have missed their activity (a lead created later
-- counts them from the activity table), so they do not pile up until a rescore.
INSERT INTO feed.events (lead_id, type, occurred_at, url) VALUES (777, 'page_view', '2026-06-01 09:00+00', '/pricing');
SELECT (SELECT count(*) FROM lead_score_internal.feed_sync_pending WHERE lead_key = 777) AS sync_pending,
       (SELECT count(*) FROM lead_score_internal.feed_deferred_pending WHERE lead_key = 777) AS deferred_pending;
-- (Ticks again, each in a transaction of its own, while another session's
-- snapshot, an autovacuum's say, is older than the insert.)
CREATE PROCEDURE feed.tick_until_dropped() LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..100 LOOP
        PERFORM lead_score.tick();
        COMMIT;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM lead_score_internal.feed_sync_pending WHERE lead_key = 777)
              AND NOT EXISTS (SELECT 1 FROM lead_score_internal.feed_deferred_pending WHERE lead_key = 777);
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
CALL feed.tick_until_dropped();
SELECT (SELECT count(*) FROM lead_score_internal.feed_sync_pending WHERE lead_key = 777) AS sync_pending,
       (SELECT count(*) FROM lead_score_internal.feed_deferred_pending WHERE lead_key = 777) AS deferred_pending;
-- The visitor becomes a lead: its page view counts, read from the activity table.
INSERT INTO feed.leads VALUES (777, 'Software', 'CTO');
SELECT lead_key, sync_engagement, deferred_engagement FROM feed.both WHERE lead_key = 777;
SELECT * FROM lead_score.check_consistency('feed_deferred');
SELECT * FROM lead_score.check_consistency('feed_sync');
DELETE FROM feed.leads WHERE id = 777;
DELETE FROM feed.events WHERE lead_id = 777;
-- The delete left a recompute marker of key 777, no lead again: dropped as its
-- events were above (ticks until no older snapshot can have missed it).
CALL feed.tick_until_dropped();
DELETE FROM lead_score.alerts;

-- An event with no time counts nowhere: not in the aggregates, not live, in
-- either mode, whether inserted, recomputed or counted for a new lead.
ALTER TABLE feed.events ALTER COLUMN occurred_at DROP NOT NULL;
INSERT INTO feed.events (lead_id, type, occurred_at, url) VALUES (1, 'page_view', NULL, '/pricing'), (2, 'demo_request', NULL, NULL);
INSERT INTO feed.events (lead_id, type, occurred_at) VALUES (9, 'demo_request', NULL);
INSERT INTO feed.leads VALUES (9, 'Software', 'CTO');
UPDATE feed.events SET url = '/docs' WHERE lead_id = 2 AND occurred_at IS NULL;
-- (A recompute marker has neither type nor time.)
SELECT count(*) AS pending_without_time FROM lead_score_internal.feed_deferred_pending
WHERE occurred_at IS NULL AND event_type IS NOT NULL;
SELECT lead_score.tick() >= 0 AS ticked;
SELECT * FROM lead_score.check_consistency('feed_deferred');
SELECT * FROM lead_score.check_consistency('feed_sync');
DELETE FROM feed.leads WHERE id = 9;
DELETE FROM feed.events WHERE occurred_at IS NULL;
-- Deleting the activities of a lead already deleted leaves a recompute marker of
-- its key, in both modes, as an event of a key that is no lead does: tick()
-- drops it (a lead created later counts its activities from the table).
SELECT lead_key, event_type, occurred_at FROM lead_score_internal.feed_sync_pending;
ALTER TABLE feed.events ALTER COLUMN occurred_at SET NOT NULL;

-- Applications need no grants on lead_score's objects: here a role that may only
-- insert into feed.events, in a new session (so nothing is cached yet).
CREATE ROLE regress_feed_app;
GRANT USAGE ON SCHEMA feed TO regress_feed_app;
GRANT INSERT ON feed.events TO regress_feed_app;
GRANT USAGE ON SEQUENCE feed.events_id_seq TO regress_feed_app;
\c -
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
SET ROLE regress_feed_app;
INSERT INTO feed.events (lead_id, type, occurred_at, url) VALUES (1, 'page_view', '2026-06-01 08:30+00', '/blog');
RESET ROLE;
SELECT count(*) AS pending FROM lead_score_internal.feed_deferred_pending;
SELECT * FROM lead_score.check_consistency('feed_deferred');
DROP OWNED BY regress_feed_app;
DROP ROLE regress_feed_app;

-- Inserts go through a C trigger that copies each event into the pending table.
-- It needs text (or varchar) event types and properties and a timestamptz time;
-- an activity table with other types gets an equivalent plpgsql trigger.
CREATE TABLE feed.legacy_events (lead_id bigint, type varchar(20), at timestamp, url text);
SELECT lead_score.attach('feed', 'feed.leads', 'feed.legacy_events', '{"occurred_at": "at", "time_zone": "UTC"}',
                         name => 'feed_legacy', mode => 'deferred') IS NOT NULL AS attached;
SELECT c.relname AS activities, t.tgfoid::regproc AS trigger_function
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE t.tgname IN ('lead_score_feed_deferred_ins', 'lead_score_feed_legacy_ins') AND c.relname <> 'leads'
ORDER BY 1;
SET TIME ZONE 'UTC';
INSERT INTO feed.legacy_events VALUES (1, 'page_view', '2026-06-01 07:00', '/pricing'), (NULL, 'page_view', '2026-06-01 07:00', NULL);
SELECT lead_key, event_type, occurred_at FROM lead_score_internal.feed_legacy_pending;
SELECT * FROM lead_score.check_consistency('feed_legacy');
RESET TIME ZONE;
SELECT lead_score.detach('feed_legacy');

-- The C trigger runs only as the trigger attach() installed, on its own table.
CREATE TABLE feed.other (lead_id bigint, type text, occurred_at timestamptz);
CREATE TRIGGER sneaky AFTER INSERT ON feed.other REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_score_internal._append_pending('feed_deferred');
INSERT INTO feed.other VALUES (1, 'demo_request', '2026-06-01 07:00+00');
DROP TRIGGER sneaky ON feed.other;
CREATE TRIGGER lead_score_feed_deferred_ins AFTER INSERT ON feed.other REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION lead_score_internal._append_pending('feed_deferred');
INSERT INTO feed.other VALUES (1, 'demo_request', '2026-06-01 07:00+00');
DROP TABLE feed.other;

-- A sync commit folds the rows it appended by ctid, and after more than 10,000
-- in one transaction every pending event of the attachment, as tick() does:
-- either way nothing of it is left pending, and the scores are exact.
INSERT INTO feed.events (lead_id, type, occurred_at, url)
SELECT 1 + g % 3, 'page_view', '2026-05-20 00:00+00'::timestamptz + g * interval '1 second', '/blog'
FROM generate_series(1, 10001) g;
SELECT (SELECT count(*) FROM lead_score_internal.feed_sync_pending WHERE occurred_at IS NOT NULL) AS sync_pending,
       (SELECT count(*) FROM lead_score.check_consistency('feed_sync')) AS sync_mismatches,
       (SELECT count(*) FROM lead_score.check_consistency('feed_deferred')) AS deferred_mismatches;
DELETE FROM feed.events WHERE occurred_at >= '2026-05-20 00:00+00' AND occurred_at < '2026-05-21 00:00+00' AND url = '/blog';
DELETE FROM lead_score.alerts;

-- The mode must be one of the two.
SELECT lead_score.attach('feed', 'feed.leads', 'feed.events', name => 'feed_lazy', mode => 'lazy');
-- An attachment that does not exist is named as such.
SELECT * FROM lead_score.top_leads('feed_nope', 5);

-- detach removes the pending table, the fold function and the views too.
DROP VIEW feed.both;
SELECT lead_score.detach('feed_deferred'), lead_score.detach('feed_sync');
SELECT count(*) AS objects_left FROM pg_class WHERE relnamespace IN ('lead_score'::regnamespace, 'lead_score_internal'::regnamespace) AND relname LIKE 'feed\_%';
SELECT count(*) AS functions_left FROM pg_proc WHERE pronamespace IN ('lead_score'::regnamespace, 'lead_score_internal'::regnamespace) AND proname LIKE 'feed\_%';
RESET lead_score.mock_now;
DROP SCHEMA feed CASCADE;
SELECT lead_score.drop_model(m) FROM unnest(ARRAY['live', 'feed']) m;
