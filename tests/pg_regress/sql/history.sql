-- Score history: attach() records the starting distribution; tick() checks the
-- leads every hour (history_settings.every) and adds a row for each lead whose
-- grade, label, quadrant, MQL or disqualification changed; class_counts keeps
-- the day's leads per class for charts over time.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/fixtures/live_app.sql'
\i :fixtures

SELECT lead_score.attach('live', 'app.people', 'app.touches',
    '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind",
      "occurred_at": "at", "properties": {"url": "page"}}') IS NOT NULL AS attached;
-- The first rows: every lead as attach() scored it.
SELECT right(lead_key, 1) AS person, recorded_at, round(total::numeric, 3) AS total, grade, label, quadrant, mql
FROM lead_score.score_history ORDER BY lead_key, recorded_at;
SELECT day, dimension, class, leads FROM lead_score.history_daily WHERE dimension IN ('quadrant', 'mql') ORDER BY 2, 3;
SELECT attachment, every, retention, recorded_at FROM lead_score.history_settings;

-- Person 1 requests a demo: hot, act now, an MQL. A tick within the hour
-- records nothing yet; the first one after it records the change.
INSERT INTO app.touches (person, kind, at, page) VALUES
  ('00000000-0000-0000-0000-000000000001', 'demo_request', '2026-06-01 12:10+00', NULL);
SET lead_score.mock_now = '2026-06-01 12:30:00+00';
SELECT lead_score.tick() IS NOT NULL AS ticked;
SELECT count(*) AS rows FROM lead_score.score_history;
SET lead_score.mock_now = '2026-06-01 13:05:00+00';
SELECT lead_score.tick() IS NOT NULL AS ticked;
SELECT right(lead_key, 1) AS person, recorded_at, round(total::numeric, 3) AS total, label, quadrant, mql
FROM lead_score.score_history ORDER BY lead_key, recorded_at;

-- Two weeks on, decay alone moves leads: record_history checks at once.
SET lead_score.mock_now = '2026-06-15 12:00:00+00';
SELECT lead_score.record_history('live') AS rows_added;
-- The day's leads per class, in every dimension (NULL: no grade or label),
-- are what the current view counts.
SELECT dimension, class, leads FROM lead_score.class_counts WHERE day = '2026-06-15' ORDER BY 1, 2;
SELECT (SELECT array_agg(x ORDER BY x) FROM (
            SELECT format('%s/%s/%s', dimension, class, leads) AS x
            FROM lead_score.class_counts WHERE day = '2026-06-15') k)
     = (SELECT array_agg(x ORDER BY x) FROM (
            SELECT format('%s/%s/%s', d.dimension, d.class, count(*)) AS x FROM lead_score.live_current c
            CROSS JOIN LATERAL (VALUES ('grade', c.grade), ('label', c.label), ('quadrant', c.quadrant),
                                       ('mql', CASE WHEN c.mql THEN 'MQL' ELSE 'not MQL' END)) d(dimension, class)
            GROUP BY d.dimension, d.class) v) AS counts_match;
SELECT right(lead_key, 1) AS person, count(*) AS rows, max(recorded_at) AS last
FROM lead_score.score_history GROUP BY lead_key ORDER BY lead_key;
-- A lead's score over time, as a BI tool would chart it.
SELECT recorded_at, round(total::numeric, 3) AS total, quadrant
FROM lead_score.score_history WHERE lead_key = '00000000-0000-0000-0000-000000000001' ORDER BY recorded_at;
-- Leads per quadrant over time, one row per day and class.
SELECT day, class, leads FROM lead_score.history_daily WHERE dimension = 'quadrant' ORDER BY day, class;
-- Days are UTC days: a check at 23:30 UTC from a session in Tokyo (where it
-- is already the next day) counts on the UTC day.
SET lead_score.mock_now = '2026-06-15 23:30:00+00';
SET TimeZone = 'Asia/Tokyo';
SELECT lead_score.record_history('live') >= 0 AS checked;
RESET TimeZone;
SELECT day, count(*) AS classes FROM lead_score.class_counts WHERE day >= '2026-06-15' GROUP BY day ORDER BY day;
SET lead_score.mock_now = '2026-06-15 12:00:00+00';

-- History from before attach: backfill_history scores every lead through the
-- aggregates as of each day (with its current attributes) and replaces the
-- history with what changed day by day, then now.
SELECT lead_score.backfill_history('live', '2026-05-29 12:00+00', '1 day') AS rows_added;
SELECT day, class, leads FROM lead_score.history_daily
WHERE dimension = 'quadrant' AND day <= '2026-06-04' ORDER BY day, class;
SELECT right(lead_key, 1) AS person, recorded_at, quadrant, mql
FROM lead_score.score_history ORDER BY lead_key, recorded_at;
SELECT lead_score.backfill_history('live', '2026-07-01', '1 day');
SELECT lead_score.backfill_history('live', '1990-01-01', '1 hour');
-- A step of months and days of opposite signs moves as the calendar says:
-- from 31 January, '1 mon -30 days 1 hour' goes back to 29 January, and the
-- backfill went round for ever. Refused where a step does not move forward;
-- the history is as it was.
SELECT count(*) AS history_rows FROM lead_score.score_history \gset
SELECT lead_score.backfill_history('live', '2026-01-31 00:00+00', '1 mon -30 days 1 hour');
SELECT count(*) = :history_rows AS history_kept FROM lead_score.score_history;
-- A step past 1000 years is refused by name (it overflowed the clock: 22008).
SELECT lead_score.backfill_history('live', '2026-05-01', '178000000 years');
-- Step k is since + k × step on UTC's calendar, whatever the session's time
-- zone: from 31 January by a month, the last day of each shorter month and
-- back to the 31st (added step by step, in New York's time, the steps were
-- 28 February, 28 March 11:00 UTC after the change to summer time, and so on).
BEGIN;
SET LOCAL TimeZone = 'America/New_York';
SELECT lead_score.backfill_history('live', '2026-01-31 12:00+00', '1 mon') >= 0 AS backfilled;
SELECT day FROM lead_score.class_counts WHERE attachment = 'live' GROUP BY day ORDER BY day;
ROLLBACK;

-- Settings: how often, and for how long. Rows older than the retention go,
-- but each lead keeps its latest.
SELECT lead_score.set_history('live', every => '1 day', retention => '7 days');
SET lead_score.mock_now = '2026-06-16 12:00:00+00';
SELECT lead_score.tick() IS NOT NULL AS ticked;
SELECT right(lead_key, 1) AS person, count(*) AS rows, min(recorded_at) AS first
FROM lead_score.score_history GROUP BY lead_key ORDER BY lead_key;
SELECT lead_score.set_history('live', every => '0 hours');
-- At most 1000 years (which means never), so that every tick() can check:
-- one attachment's setting 1000000 years failed every tick() with 22008.
SELECT lead_score.set_history('live', every => '1000000 years');
SELECT lead_score.set_history('live', retention => '300000 years');
UPDATE lead_score.history_settings SET retention = '5000 years' WHERE attachment = 'live';
SELECT lead_score.set_history('live', every => '1000 years', retention => '1000 years');
SELECT lead_score.tick() IS NOT NULL AS ticked, lead_score.record_history('live') >= 0 AS recorded;
SELECT lead_score.set_history('live', every => '1 day', retention => '7 days');
-- An argument left out keeps its setting: changing how often alone does not
-- shorten the retention back to its default, which the next check would have
-- applied by deleting rows.
SELECT lead_score.set_history('live', every => '2 hours');
SELECT every, retention FROM lead_score.history_settings WHERE attachment = 'live';
SELECT lead_score.set_history('live', retention => '30 days');
SELECT every, retention FROM lead_score.history_settings WHERE attachment = 'live';
SELECT lead_score.set_history('live', every => '1 day', retention => '7 days');
SELECT lead_score.set_history('nope');
-- Readers see the history; they cannot write it or record it.
SET ROLE lead_score_reader;
SELECT count(*) > 0 AS readable FROM lead_score.score_history;
SELECT lead_score.record_history('live');
RESET ROLE;

-- A deleted lead keeps its history rows (retention keeps its latest), and the
-- next check drops its head, the class its last row recorded: heads stay one
-- per lead (they grew with every deleted or re-keyed lead before).
DELETE FROM app.touches WHERE person = '00000000-0000-0000-0000-000000000003';
DELETE FROM app.people WHERE person_id = '00000000-0000-0000-0000-000000000003';
SELECT lead_score.record_history('live') >= 0 AS checked;
SELECT (SELECT count(*) FROM lead_score_internal._history_heads WHERE attachment = 'live') AS heads,
       (SELECT count(*) FROM app.people) AS leads,
       (SELECT count(*) FROM lead_score.score_history WHERE lead_key = '00000000-0000-0000-0000-000000000003') > 0 AS rows_kept;

-- detach removes the attachment's history with its scores (copy it first to keep it).
SELECT lead_score.detach('live');
SELECT (SELECT count(*) FROM lead_score.score_history) AS rows,
       (SELECT count(*) FROM lead_score.class_counts) AS counts,
       (SELECT count(*) FROM lead_score.history_settings) AS settings;

RESET lead_score.mock_now;
DROP SCHEMA app CASCADE;
SELECT lead_score.drop_model('live');
