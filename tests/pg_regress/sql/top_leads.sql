-- top_leads(attachment, n, include_disqualified) returns the n leads with the
-- highest total now, ties broken by key, leaving out disqualified leads unless
-- asked for. It is exact: every score row stores the highest total any later
-- read can give it (negative points at 0, positive ones as at the write, no
-- inactivity penalty), indexed, and top_leads ranks leads in that order until
-- the next bound is below the n-th total; every lead with pending events is
-- ranked too. This file checks it against a full sort of the current view over
-- 3,000 leads whose orders by fit, engagement, caps and decay all differ, in
-- both modes, as time passes and with events pending.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
CREATE SCHEMA tl;
CREATE TABLE tl.leads (id bigint PRIMARY KEY, size int, email text);
CREATE TABLE tl.events (lead_id bigint NOT NULL, type text NOT NULL, at timestamptz NOT NULL);
CREATE INDEX ON tl.events (lead_id);
SELECT lead_score.create_model('tl', '{
  "fit": {"rules": [
    {"name": "big", "when": {"field": "size", "gte": 500}, "points": 30},
    {"name": "mid", "when": {"field": "size", "gte": 100}, "points": 10},
    {"name": "competitor", "when": {"field": "email", "regex": "@rival\\.com$"}, "disqualify": true}]},
  "engagement": {
    "decay": {"kind": "exponential", "half_life": "3 days"},
    "categories": [{"name": "content", "cap": 25}],
    "cap": 120,
    "rules": [
      {"name": "visit", "event": "page_view", "points": 3},
      {"name": "download", "event": "download", "points": 8, "category": "content"},
      {"name": "webinar", "event": "webinar", "points": 15, "repeat": {"cap": 30}, "decay": {"kind": "none"}},
      {"name": "demo", "event": "demo_request", "points": 40, "repeat": "once", "decay": {"kind": "window", "window": "5 days"}},
      {"name": "bounce", "event": "bounce", "points": -25, "decay": {"kind": "exponential", "half_life": "1 day"}}]},
  "classification": {"grades": [{"name": "A", "min": 30}, {"name": "B"}],
                     "labels": [{"name": "hot", "min": 40}, {"name": "cold"}],
                     "quadrant": {"fit": 30, "engagement": 40}, "mql": {"min_total": 90}}
}') > 0 AS created;
-- 3,000 leads, one in ten a competitor's; 20,000 events over 20 days.
INSERT INTO tl.leads
SELECT i, (i * 7919) % 1000, CASE WHEN i % 10 = 3 THEN 'x@rival.com' ELSE 'x@acme.com' END
FROM generate_series(1, 3000) i;
INSERT INTO tl.events
SELECT 1 + (i * 104729) % 3000,
       (ARRAY['page_view', 'download', 'webinar', 'demo_request', 'bounce'])[1 + (i * 31) % 5],
       '2026-06-01 12:00+00'::timestamptz - ((i * 6151) % (20 * 86400)) * interval '1 second'
FROM generate_series(1, 20000) i;

-- top_leads against a full sort of the current view: the same leads in the same
-- order, for several n, with and without disqualified leads.
CREATE FUNCTION pg_temp.differences(att text) RETURNS TABLE (n int, include_disqualified boolean, same boolean)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    SELECT k.n, d.d,
           (SELECT array_agg(t.lead_key ORDER BY t.o) FROM lead_score.top_leads(att, k.n, d.d) WITH ORDINALITY AS t(lead_key, total, fit, engagement, grade, label, quadrant, mql, disqualified, o))
           IS NOT DISTINCT FROM
           (SELECT array_agg(c.lead_key::text ORDER BY c.total DESC, c.lead_key)
            FROM (SELECT * FROM lead_score.tl_current c WHERE d.d OR NOT c.disqualified ORDER BY c.total DESC, c.lead_key LIMIT k.n) c)
    FROM unnest(ARRAY[1, 10, 100, 1000, 5000]) k(n), unnest(ARRAY[false, true]) d(d);
END
$$;

SELECT lead_score.attach('tl', 'tl.leads', 'tl.events', '{"lead_key": "id", "activity_lead_key": "lead_id", "event_type": "type", "occurred_at": "at"}', name => 'tl') IS NOT NULL AS attached;
SELECT * FROM pg_temp.differences('tl') WHERE NOT same;
-- The leads come with their scores; disqualified ones only when asked for.
SELECT lead_key, round(total::numeric, 3) AS total, grade, quadrant, mql, disqualified FROM lead_score.top_leads('tl', 5);
SELECT count(*) FILTER (WHERE disqualified) AS disqualified FROM lead_score.top_leads('tl', 1000, include_disqualified => true);
-- Two days later, with no write: decay has reordered the leads, the bounds still hold.
SET lead_score.mock_now = '2026-06-03 12:00:00+00';
SELECT * FROM pg_temp.differences('tl') WHERE NOT same;
-- New events for a few leads, and a bounce that takes points off now but less later.
INSERT INTO tl.events SELECT i, 'demo_request', '2026-06-03 11:00+00' FROM generate_series(2900, 2950) i;
INSERT INTO tl.events SELECT i, 'bounce', '2026-06-03 11:30+00' FROM generate_series(1, 3000, 7) i;
SELECT * FROM pg_temp.differences('tl') WHERE NOT same;
SET lead_score.mock_now = '2026-06-04 12:00:00+00';
SELECT * FROM pg_temp.differences('tl') WHERE NOT same;
-- A read as of a past time cannot use the bounds (scores were higher then):
-- top_leads sorts every lead instead, and is still exact.
SET lead_score.as_of = '2026-06-03 11:45:00+00';
SELECT * FROM pg_temp.differences('tl') WHERE NOT same;
RESET lead_score.as_of;
-- n = 0 gives no row; a negative n is an error.
SELECT count(*) AS rows FROM lead_score.top_leads('tl', 0);
SELECT * FROM lead_score.top_leads('tl', -1);
-- The largest n asks for every lead: the full sort's leads, in its order.
SELECT (SELECT array_agg(t.lead_key ORDER BY t.o) FROM lead_score.top_leads('tl', 2147483647) WITH ORDINALITY AS t(lead_key, total, fit, engagement, grade, label, quadrant, mql, disqualified, o))
     = (SELECT array_agg(c.lead_key::text ORDER BY c.total DESC, c.lead_key) FROM lead_score.tl_current c WHERE NOT c.disqualified) AS every_lead;
-- A bound is set when its row is written, so as scores decay with no write,
-- bounds go stale: top_leads stays exact, but walks past every lead whose
-- bound is at or above the n-th total. Sixteen days on (over five half-lives),
-- tick() rewrites the rows of the 10,000 highest bounds (here, every lead's)
-- whose bound is more than 1% above what their state gives now, as a write
-- would; the scores stay as they were.
SET lead_score.mock_now = '2026-06-20 12:00:00+00';
CREATE TEMP VIEW stale AS
SELECT s.lead_key FROM lead_score_internal.tl_scores s
CROSS JOIN LATERAL (SELECT coalesce(s.fit, 0) + lead_score_internal._live_bound(s.state, '2026-06-20 11:00+00') AS now_bound) b
WHERE s.bound - b.now_bound > 0.01 * (1 + abs(b.now_bound));
CREATE TEMP VIEW walked AS  -- the leads top_leads('tl', 100) ranks at least
SELECT count(*) AS leads FROM lead_score_internal.tl_scores s
WHERE s.bound >= (SELECT min(t.total) FROM lead_score.top_leads('tl', 100) t);
CREATE TEMP TABLE before_tick AS SELECT c.*, (SELECT w.leads FROM walked w) AS walked FROM lead_score.tl_current c;
SELECT count(*) > 1000 AS many_stale FROM stale;
SELECT lead_score.tick() >= 0 AS ticked;
SELECT count(*) AS stale FROM stale;
SELECT (SELECT max(b.walked) FROM before_tick b) AS walked_before, (SELECT w.leads FROM walked w) AS walked_after;
SELECT count(*) AS changed FROM before_tick b JOIN lead_score.tl_current c USING (lead_key)
WHERE abs(b.total - c.total) > 1e-9 OR b.quadrant <> c.quadrant OR b.mql <> c.mql;
SELECT * FROM pg_temp.differences('tl') WHERE NOT same;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('tl');
DROP VIEW stale, walked;
SELECT lead_score.detach('tl');

-- A round reads 10,000 bounds; while one lowers 100 or more, tick() runs
-- another from where it stopped, down the index. 12,000 leads, all stale:
-- one tick() lowers every bound.
CREATE TABLE tl.many (id bigint PRIMARY KEY, size int, email text);
CREATE TABLE tl.many_events (lead_id bigint NOT NULL, type text NOT NULL, at timestamptz NOT NULL);
INSERT INTO tl.many SELECT i, (i * 7919) % 1000, 'x@acme.com' FROM generate_series(1, 12000) i;
INSERT INTO tl.many_events SELECT i, 'page_view', '2026-06-20 12:00+00'::timestamptz - (i % 200) * interval '1 hour'
FROM generate_series(1, 12000) i;
SET client_min_messages = warning;  -- attach's progress notices say how long it took
SELECT lead_score.attach('tl', 'tl.many', 'tl.many_events', '{"lead_key": "id", "activity_lead_key": "lead_id", "event_type": "type", "occurred_at": "at"}', name => 'many') IS NOT NULL AS attached;
RESET client_min_messages;
SET lead_score.mock_now = '2026-07-06 12:00:00+00';
CREATE TEMP VIEW stale AS
SELECT s.lead_key FROM lead_score_internal.many_scores s
CROSS JOIN LATERAL (SELECT coalesce(s.fit, 0) + lead_score_internal._live_bound(s.state, '2026-07-06 11:00+00') AS now_bound) b
WHERE s.bound - b.now_bound > 0.01 * (1 + abs(b.now_bound));
SELECT count(*) AS stale_before FROM stale;
SELECT lead_score.tick() >= 0 AS ticked;
SELECT count(*) AS stale_after FROM stale;
SELECT (SELECT array_agg(t.lead_key ORDER BY t.o) FROM lead_score.top_leads('many', 100) WITH ORDINALITY AS t(lead_key, total, fit, engagement, grade, label, quadrant, mql, disqualified, o))
     = (SELECT array_agg(c.lead_key::text ORDER BY c.total DESC, c.lead_key)
        FROM (SELECT * FROM lead_score.many_current c WHERE NOT c.disqualified ORDER BY c.total DESC, c.lead_key LIMIT 100) c) AS exact;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('many');
DROP VIEW stale;
SELECT lead_score.detach('many');
DROP TABLE tl.many, tl.many_events;
SET lead_score.mock_now = '2026-06-20 12:00:00+00';

-- Deferred: events wait in the pending table, and top_leads ranks their leads too.
SET lead_score.mock_now = '2026-06-04 12:00:00+00';
SELECT lead_score.attach('tl', 'tl.leads', 'tl.events', '{"lead_key": "id", "activity_lead_key": "lead_id", "event_type": "type", "occurred_at": "at"}', name => 'tl', mode => 'deferred') IS NOT NULL AS attached;
INSERT INTO tl.events SELECT 1 + (i * 7) % 3000, 'webinar', '2026-06-04 11:00+00' FROM generate_series(1, 400) i;
INSERT INTO tl.events SELECT i, 'bounce', '2026-06-04 11:50+00' FROM generate_series(1, 3000, 11) i;
SELECT count(*) > 0 AS pending FROM lead_score_internal.tl_pending;
SELECT * FROM pg_temp.differences('tl') WHERE NOT same;
-- A demo request each for 1,000 leads: more leads than a round ranks first
-- by bound or by what their events can add, so most come in only because
-- their bound plus what their events can add reaches the floor.
INSERT INTO tl.events SELECT 1 + (i * 3) % 3000, 'demo_request', '2026-06-04 11:55+00' FROM generate_series(1, 1000) i;
SELECT * FROM pg_temp.differences('tl') WHERE NOT same;
-- Forty events each for 150 leads: their pending events lift them above every
-- stored bound, so the best leads are not at the top of the index. What each
-- lead's events can add is bounded by their own state (caps, repeats, decay),
-- and the leads they can lift most are ranked first.
INSERT INTO tl.events
SELECT 2000 + i % 150, t, '2026-06-04 11:00+00'::timestamptz + (i % 50) * interval '1 minute'
FROM generate_series(1, 1500) i, unnest(ARRAY['demo_request', 'webinar', 'download', 'page_view']) t;
SELECT count(*) FILTER (WHERE t.lead_key::bigint BETWEEN 2000 AND 2149) AS lifted,
       min(t.total) > (SELECT max(s.bound) FROM lead_score_internal.tl_scores s) AS above_every_bound
FROM lead_score.top_leads('tl', 20) t;
SELECT * FROM pg_temp.differences('tl') WHERE NOT same;
-- Deleted demo requests leave recompute markers: those leads can have any
-- score, so they are ranked wherever their bound stands, the leads at the top
-- of the index among them.
DELETE FROM tl.events WHERE type = 'demo_request' AND (lead_id % 7 = 0 OR lead_id IN (SELECT t.lead_key::bigint FROM lead_score.top_leads('tl', 20) t));
SELECT count(DISTINCT lead_key) > 20 AS marked FROM lead_score_internal.tl_pending WHERE occurred_at IS NULL;
SELECT * FROM pg_temp.differences('tl') WHERE NOT same;
SELECT lead_score.tick() >= 0 AS ticked;
SELECT * FROM pg_temp.differences('tl') WHERE NOT same;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('tl');
SELECT lead_score.detach('tl');

RESET lead_score.mock_now;
DROP SCHEMA tl CASCADE;
SELECT lead_score.drop_model('tl');
