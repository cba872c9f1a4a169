-- A `timestamp` or `date` activity time names no instant on its own.
-- PostgreSQL reads one in the session's TimeZone wherever it meets a
-- timestamptz, so writers in different zones would store different instants
-- for the same value, and every recompute would read it in yet another zone.
-- An attachment reads such a time in one zone, `mapping.time_zone`: by default
-- the TimeZone of the session that attaches, stored in its mapping. Writers,
-- readers, rescore and check_consistency then agree in every session.
SET lead_score.mock_now = '2026-06-20 12:00:00+00';
\getenv abs_srcdir PG_ABS_SRCDIR
\set try :abs_srcdir '/fixtures/try.sql'
\i :try
BEGIN;
CREATE SCHEMA tz;
CREATE TABLE tz.leads (id int PRIMARY KEY);
CREATE TABLE tz.acts (lead_id int NOT NULL, type text NOT NULL, at timestamp NOT NULL);
CREATE INDEX ON tz.acts (lead_id);
CREATE TABLE tz.visits (lead_id int NOT NULL, type text NOT NULL, day date NOT NULL);
CREATE INDEX ON tz.visits (lead_id);
CREATE TABLE tz.acts_tz (lead_id int NOT NULL, type text NOT NULL, at timestamptz NOT NULL);
CREATE INDEX ON tz.acts_tz (lead_id);
INSERT INTO tz.leads SELECT generate_series(1, 3);
-- 40 points, halved every 3 hours.
SELECT lead_score.create_model('tz', '{"fit": {"rules": []},
  "engagement": {"decay": {"kind": "exponential", "half_life": "3 hours"},
                 "rules": [{"name": "demo", "event": "demo", "points": 40}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 100}}}') IS NOT NULL AS published;
SET LOCAL client_min_messages = warning;
-- Attached in UTC, without a zone: the mapping stores the session's (UTC as
-- Etc/UTC, see below).
SET LOCAL TimeZone = 'UTC';
SELECT lead_score.attach('tz', 'tz.leads', 'tz.acts', '{"occurred_at": "at"}') IS NOT NULL AS attached;
-- Deferred, with a zone of its own (a name ending in _d: its triggers fire
-- after tz's for every write).
SELECT lead_score.attach('tz', 'tz.leads', 'tz.acts', '{"occurred_at": "at", "time_zone": "Asia/Tokyo"}',
                         name => 'tz_d', mode => 'deferred') IS NOT NULL AS attached;
-- A date: midnight in the zone.
SELECT lead_score.attach('tz', 'tz.leads', 'tz.visits', '{"occurred_at": "day"}', name => 'tz_day') IS NOT NULL AS attached;
-- A timestamptz is an instant: no zone is stored.
SELECT lead_score.attach('tz', 'tz.leads', 'tz.acts_tz', '{"occurred_at": "at"}', name => 'instant') IS NOT NULL AS attached;
RESET client_min_messages;
SELECT name, mapping ->> 'time_zone' AS time_zone FROM lead_score.attachments WHERE model = 'tz' ORDER BY name;

-- The same value, 09:00, written by sessions in three zones, for three leads.
SET LOCAL TimeZone = 'America/New_York';
INSERT INTO tz.acts VALUES (1, 'demo', '2026-06-20 09:00');
SET LOCAL TimeZone = 'Asia/Kolkata';
INSERT INTO tz.acts VALUES (2, 'demo', '2026-06-20 09:00');
SET LOCAL TimeZone = 'UTC';
INSERT INTO tz.acts VALUES (3, 'demo', '2026-06-20 09:00');
-- 'tz' reads 09:00 UTC, 3 hours ago: 20 points for every lead. (In each
-- writer's zone it was 13:00 UTC for lead 1, an hour ahead and capped at the
-- write, 40 points; and 03:30 UTC for lead 2, 40 · 2^-2.83.)
-- 'tz_d' reads 09:00 in Tokyo, 00:00 UTC, 12 hours ago: 2.5 points.
SET LOCAL TimeZone = 'Europe/Berlin';
SELECT lead_key, round(engagement::numeric, 6) AS engagement FROM lead_score.tz_current ORDER BY lead_key;
SELECT lead_key, round(engagement::numeric, 6) AS engagement FROM lead_score.tz_d_current ORDER BY lead_key;
-- A recompute in a fourth zone agrees: no lead is reported.
SELECT * FROM lead_score.check_consistency('tz');
SELECT * FROM lead_score.check_consistency('tz_d');
-- The fold, and rescore, in yet another zone store the same.
SET LOCAL TimeZone = 'Pacific/Auckland';
SELECT lead_score.tick() IS NOT NULL AS ticked;
SELECT count(*) AS still_pending FROM lead_score_internal.tz_d_pending;
SELECT lead_key, round(engagement::numeric, 6) AS engagement FROM lead_score.tz_d_current ORDER BY lead_key;
SET LOCAL client_min_messages = warning;
SELECT lead_score.rescore('tz') AS rescored;
RESET client_min_messages;
SELECT * FROM lead_score.check_consistency('tz');
-- The aggregates give the same given the instant: the time in the attachment's zone.
SELECT l.id AS lead_key,
       round(lead_score.engagement_score((SELECT lead_score.engagement_state('tz', a.type, a.at AT TIME ZONE 'UTC')
                                         FROM tz.acts a WHERE a.lead_id = l.id))::numeric, 6) AS engagement
FROM tz.leads l ORDER BY l.id;
-- timeline shows each event's instant, here in Auckland's time (UTC+12).
SELECT occurred_at, event_type, round(points::numeric, 6) AS points FROM lead_score.timeline('tz', '1');

-- A date, 2026-06-20 in UTC: midnight, 12 hours ago.
SET LOCAL TimeZone = 'America/Los_Angeles';
INSERT INTO tz.visits VALUES (1, 'demo', '2026-06-20');
SELECT lead_key, round(engagement::numeric, 6) AS engagement FROM lead_score.tz_day_current WHERE lead_key = '1';
SELECT * FROM lead_score.check_consistency('tz_day');

-- UTC and its aliases are stored as Etc/UTC, which PostgreSQL cannot read as
-- an abbreviation.
SET LOCAL client_min_messages = warning;
SELECT lead_score.attach('tz', 'tz.leads', 'tz.acts', '{"occurred_at": "at", "time_zone": "Zulu"}', name => 'zulu') IS NOT NULL AS attached;
RESET client_min_messages;
SELECT mapping ->> 'time_zone' AS time_zone FROM lead_score.attachments WHERE name = 'zulu';
SELECT lead_score.detach('zulu');

-- Refused, SQLSTATE 22023, naming mapping.time_zone: a zone the zone database
-- does not list, a POSIX string (5 is UTC-5 there, the opposite of SET TIME
-- ZONE 5), names PostgreSQL could read as abbreviations (CET has no summer
-- time as an abbreviation and has it as a zone; EST is +10 in the Australia
-- set), a zone that is not a JSON string, a zone for a timestamptz, and a
-- session's TimeZone that could be read as an abbreviation.
SELECT mistake, pg_temp.try(statement) AS error FROM (VALUES
  ('unknown zone', $$SELECT lead_score.attach('tz', 'tz.leads', 'tz.acts', '{"occurred_at": "at", "time_zone": "Mars/Olympus"}', name => 'bad')$$),
  ('POSIX string', $$SELECT lead_score.attach('tz', 'tz.leads', 'tz.acts', '{"occurred_at": "at", "time_zone": "5"}', name => 'bad')$$),
  ('abbreviation', $$SELECT lead_score.attach('tz', 'tz.leads', 'tz.acts', '{"occurred_at": "at", "time_zone": "CET"}', name => 'bad')$$),
  ('abbreviation', $$SELECT lead_score.attach('tz', 'tz.leads', 'tz.acts', '{"occurred_at": "at", "time_zone": "EST"}', name => 'bad')$$),
  ('not a string', $$SELECT lead_score.attach('tz', 'tz.leads', 'tz.acts', '{"occurred_at": "at", "time_zone": 9}', name => 'bad')$$),
  ('timestamptz', $$SELECT lead_score.attach('tz', 'tz.leads', 'tz.acts_tz', '{"occurred_at": "at", "time_zone": "UTC"}', name => 'bad')$$),
  ('session in CET', $$SELECT set_config('TimeZone', 'CET', true), lead_score.attach('tz', 'tz.leads', 'tz.acts', '{"occurred_at": "at"}', name => 'bad')$$)
) t(mistake, statement);
-- Nothing was written.
SELECT count(*) AS bad_attachments FROM lead_score.attachments WHERE name = 'bad';
ROLLBACK;

-- lead_score.as_of names the instant its text names when it is set, kept as
-- UTC text: later TimeZone, DateStyle or timezone_abbreviations settings, or
-- a function with its own, do not move it (the text was read again at each
-- use: '2026-01-07 20:00' set in New York scored at 20:00 UTC once the session
-- was in UTC, and '01/02/2026' set under MDY became 1 February under DMY).
SELECT lead_score.scoring_time() IS NOT NULL AS loaded;  -- the library, so SET checks
BEGIN;
SET LOCAL TimeZone = 'America/New_York';
SET LOCAL lead_score.as_of = '2026-01-07 20:00';
SHOW lead_score.as_of;
SET LOCAL TimeZone = 'UTC';
SELECT lead_score.scoring_time();
SET LOCAL DateStyle = 'ISO, MDY';
SET LOCAL lead_score.as_of = '01/02/2026';
SET LOCAL DateStyle = 'ISO, DMY';
SELECT lead_score.scoring_time();
SET LOCAL lead_score.as_of = '0044-03-15 12:00:00.5+00 BC';
SHOW lead_score.as_of;
ROLLBACK;
