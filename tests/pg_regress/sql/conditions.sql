-- Conditions read values as PostgreSQL shows them: string operators (contains,
-- regex) see a number or boolean as its ::text, and blank text is absent for
-- lead fields and event properties alike.
CREATE SCHEMA cond;
CREATE TABLE cond.leads (id int, score real, budget numeric(10, 2), ratio float8, big bigint, vip boolean, note text);
INSERT INTO cond.leads VALUES
  (1, 0.1, 100.50, 1e20, 123456789012, true, 'call me'),
  (2, 2.5, 7, 0.00001, -5, false, '   '),
  (3, NULL, NULL, NULL, NULL, NULL, '');
SELECT id, score::text, budget::text, ratio::text, big::text, vip::text FROM cond.leads ORDER BY id;
SELECT lead_score.create_model('cond', '{
  "fit": {"rules": [
    {"name": "real contains", "when": {"field": "score", "contains": "0.1"}, "points": 1},
    {"name": "real regex", "when": {"field": "score", "regex": "^0\\.1$"}, "points": 2},
    {"name": "numeric keeps its scale", "when": {"field": "budget", "contains": ".50"}, "points": 4},
    {"name": "float8 exponent", "when": {"field": "ratio", "regex": "e[+-]"}, "points": 8},
    {"name": "bigint digits", "when": {"field": "big", "contains": "9012"}, "points": 16},
    {"name": "boolean text", "when": {"field": "vip", "contains": "tru"}, "points": 32},
    {"name": "note present", "when": {"field": "note", "present": true}, "points": 64},
    {"name": "numbers compare as numbers", "when": {"field": "budget", "eq": "100.5"}, "points": 128},
    {"name": "no ratio", "when": {"field": "ratio", "present": false}, "points": 256}]},
  "engagement": {"properties": ["url"], "rules": [
    {"name": "with url", "event": "visit", "when": {"field": "url", "present": true}, "points": 1},
    {"name": "without url", "event": "visit", "when": {"field": "url", "present": false}, "points": 10}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1000}}
}');
-- Lead 1 matches every rule but the last: 255 points. Lead 2 matches the
-- exponent only (1e-05); its blank note is absent. Lead 3 has no ratio: 256.
SELECT id, lead_score.fit('cond', l) FROM cond.leads l ORDER BY id;
-- Numeric operators compare a real at the number it prints as: 0.1 equals
-- the spec's 0.1 and is at most 0.1. Widened to float8 it is
-- 0.10000000149011612 (so PostgreSQL's own 0.1::real = 0.1 is false), which
-- matched gt and none of the others before: lead 1 had 16 points, not 15.
-- Lead 2 (2.5, exact either way) has 24.
SELECT lead_score.create_model('cond_real', '{
  "fit": {"rules": [
    {"name": "eq", "when": {"field": "score", "eq": 0.1}, "points": 1},
    {"name": "lte", "when": {"field": "score", "lte": 0.1}, "points": 2},
    {"name": "between", "when": {"field": "score", "between": [0, 0.1]}, "points": 4},
    {"name": "in", "when": {"field": "score", "in": [0.1, 2.5]}, "points": 8},
    {"name": "gt", "when": {"field": "score", "gt": 0.1}, "points": 16}]},
  "engagement": {"rules": [{"name": "visit", "event": "visit", "points": 1}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1000}}
}');
SELECT id, score::text, lead_score.fit('cond_real', l) FROM cond.leads l ORDER BY id;
-- Digit for digit PostgreSQL's text, where Rust's shortest text differs: the
-- real 70434816 prints as 7.0434816e+07 (70434820, a decimal on the edge of
-- its rounding interval, reads back to it too) and 334031.625 as 334031.62
-- (a tie, to even); the float8 123456789012345.625 as 123456789012345.62.
-- Before, the first was read as 70434820 (only gt 70434817 matched: 8 points)
-- and the others' last digit as 3 (the price failed eq). Now all but gt: 55.
SELECT lead_score.create_model('cond_digits', '{
  "fit": {"rules": [
    {"name": "eq", "when": {"field": "score", "eq": 70434816}, "points": 1},
    {"name": "lte", "when": {"field": "score", "lte": 70434816}, "points": 2},
    {"name": "contains", "when": {"field": "score", "contains": "7.0434816e+07"}, "points": 4},
    {"name": "gt", "when": {"field": "score", "gt": 70434817}, "points": 8},
    {"name": "float8 contains", "when": {"field": "ratio", "contains": "123456789012345.62"}, "points": 16},
    {"name": "real price", "when": {"field": "budget", "eq": 334031.62}, "points": 32}]},
  "engagement": {"rules": [{"name": "visit", "event": "visit", "points": 1}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1000}}
}');
SELECT score::text, ratio::text, lead_score.fit('cond_digits', l)
FROM (SELECT 70434816::real AS score, 123456789012345.625::float8 AS ratio, 334031.62::real AS budget) l;
-- Integers compare exactly, whatever their size: a bigint snowflake id past
-- 2^53 against an integer of the spec (a JSON number or a string), and a
-- numeric's digits or integral text as well. As float8, 9007199254740992
-- equalled 9007199254740993 and was not below it (the first lead scored 13).
SELECT lead_score.create_model('cond_ids', '{
  "fit": {"rules": [
    {"name": "id eq", "when": {"field": "big", "in": [9007199254740993, "1234567890123456789"]}, "points": 1},
    {"name": "id below", "when": {"field": "big", "lt": 9007199254740993}, "points": 2},
    {"name": "numeric eq", "when": {"field": "budget", "eq": 9007199254740993}, "points": 4},
    {"name": "text eq", "when": {"field": "note", "eq": 9007199254740993}, "points": 8}]},
  "engagement": {"rules": [{"name": "visit", "event": "visit", "points": 1}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1000}}
}');
SELECT big, lead_score.fit('cond_ids', l)
FROM (VALUES (9007199254740992::bigint, 9007199254740992::numeric, '9007199254740992'),
             (9007199254740993, 9007199254740993.00, ' 9007199254740993 '),
             (1234567890123456789, 1234567890123456789, '1234567890123456789')) l(big, budget, note)
ORDER BY big;
-- Every number but a float8 or real column's compares exactly, as
-- PostgreSQL's numeric does: the spec's number as written (fraction,
-- exponent, past 64 bits) against an integer, a numeric's digits or text.
-- PostgreSQL's own comparisons agree. As float8, 0.30000000000000001 was
-- not above 0.3, 1 was gte 1.00000000000000001, 0.29999999999999999e0 was not
-- below 3e-1, and 18446744073709551616 equalled 18446744073709551617: the
-- leads scored 2, 10 and 10.
SELECT lead_score.create_model('cond_exact', '{
  "fit": {"rules": [
    {"name": "numeric above", "when": {"field": "budget", "gt": 0.3}, "points": 1},
    {"name": "int gte", "when": {"field": "big", "gte": 1.00000000000000001}, "points": 2},
    {"name": "text exponent", "when": {"field": "note", "lt": 3e-1}, "points": 4},
    {"name": "text eq", "when": {"field": "note", "eq": 18446744073709551617}, "points": 8}]},
  "engagement": {"rules": [{"name": "visit", "event": "visit", "points": 1}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1000}}
}');
SELECT big, budget, note, lead_score.fit('cond_exact', l),
       budget > 0.3 AS "numeric >", big >= 1.00000000000000001 AS "bigint >="
FROM (VALUES (1::bigint, 0.30000000000000001::numeric, '18446744073709551616'),
             (2, 0.3, '18446744073709551617'),
             (1, 0.30000000000000000, '0.29999999999999999e0')) l(big, budget, note)
ORDER BY note;
-- eq compares by the JSON type of the spec's value: a number numerically
-- (with text that reads as one, spaces trimmed, sign, fraction and exponent
-- allowed), a string exactly with text (and numerically with a number
-- column), a boolean with a boolean column or text that reads as one.
CREATE TABLE cond.kinds (id int, t text, n int, b boolean);
INSERT INTO cond.kinds VALUES (1, '5.0', 5, true), (2, ' +5 ', 6, false), (3, 'Yes', NULL, NULL), (4, '5', 5, true);
SELECT lead_score.create_model('cond_eq', '{
  "fit": {"rules": [
    {"name": "number vs text", "when": {"field": "t", "eq": 5}, "points": 1},
    {"name": "string vs text", "when": {"field": "t", "eq": "5"}, "points": 2},
    {"name": "string vs number", "when": {"field": "n", "eq": "5.0"}, "points": 4},
    {"name": "boolean vs text", "when": {"field": "t", "eq": true}, "points": 8},
    {"name": "string true vs boolean", "when": {"field": "b", "eq": "true"}, "points": 16},
    {"name": "boolean vs boolean", "when": {"field": "b", "eq": true}, "points": 32}]},
  "engagement": {"rules": [{"name": "visit", "event": "visit", "points": 1}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1000}}
}');
-- 1: '5.0' is 5 (1), not the string "5"; n 5 is "5.0" (4); b true (32): 37.
-- 2: ' +5 ' reads as 5 (1): 1. 3: 'Yes' reads as true (8): 8.
-- 4: '5' is 5 and "5" (1 + 2), n (4), b (32): 39. "true" never matches a boolean.
SELECT id, lead_score.fit('cond_eq', l) FROM cond.kinds l ORDER BY id;
-- A lead field's NaN (numeric, real, float8) is absent, as NULL is: a missing
-- value, as in exported data sets. It matches no operator, not even regex on
-- its text, but present: false (256) does; the note is present (64).
SELECT lead_score.fit('cond', l) AS nan_fit
FROM (SELECT 4 AS id, 'NaN'::real AS score, 'NaN'::numeric(10, 2) AS budget, 'NaN'::float8 AS ratio,
             NULL::bigint AS big, NULL::boolean AS vip, 'NaN' AS note) l;
-- An event whose url is blank has no url: 10 points, as for a missing one.
SELECT lead_score.engagement_score(lead_score.engagement_state('cond', 'visit', now(), url)) AS points
FROM (VALUES ('/pricing'), ('   '), (''), (NULL)) AS e(url) GROUP BY url IS NOT NULL AND url <> '' AND trim(url) <> ''
ORDER BY 1;

-- Dates, times, intervals and floats are read as text with the settings their
-- text depends on pinned (DateStyle ISO, TimeZone UTC, IntervalStyle
-- postgres, extra_float_digits 1): a writer with other settings (a driver
-- that sets the client's time zone, say) stores what every other session
-- recomputes. A timestamptz reads in UTC.
-- So are values that hold them: arrays (of a domain over date, here), ranges,
-- composites.
CREATE DOMAIN cond.day AS date;
CREATE TABLE cond.people (id bigint PRIMARY KEY, signed_up timestamptz, born date, renewals cond.day[]);
CREATE TABLE cond.acts (lead_id bigint, type text, occurred_at timestamptz, due date, amount float8);
CREATE INDEX ON cond.acts (lead_id);
SELECT lead_score.create_model('pinned', '{
  "fit": {"rules": [
    {"name": "signed up at 03:00 UTC", "when": {"field": "signed_up", "regex": "^2026-12-04 03:00:00\\+00$"}, "points": 10},
    {"name": "born in 1990", "when": {"field": "born", "regex": "^1990-"}, "points": 20},
    {"name": "renews in January", "when": {"field": "renewals", "contains": "2027-01-"}, "points": 5}]},
  "engagement": {"properties": ["due", "amount"], "rules": [
    {"name": "due in January", "event": "quote", "when": {"field": "due", "regex": "^2027-01-"}, "points": 40},
    {"name": "amount, all its digits", "event": "quote", "when": {"field": "amount", "contains": "012345"}, "points": 80}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1000}}
}');
SELECT lead_score.attach('pinned', 'cond.people', 'cond.acts') IS NOT NULL AS attached;
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'SQL, MDY';
SET extra_float_digits = -3;
SELECT '2026-12-04 03:00+00'::timestamptz::text AS signed_up_here, '2027-01-15'::date::text AS due_here, 0.123456789012345::float8::text AS amount_here;
SELECT '{2027-01-15}'::cond.day[]::text AS renewals_here;
INSERT INTO cond.people VALUES (1, '2026-12-04 03:00+00', '1990-05-01', '{2027-01-15}'), (2, '2026-12-04 04:00+00', '1991-05-01', '{2027-02-15}');
INSERT INTO cond.acts VALUES (1, 'quote', now(), '2027-01-15', 0.123456789012345), (2, 'quote', now(), '2027-02-15', 0.5);
SELECT id, lead_score.fit('pinned', p) AS fit FROM cond.people p ORDER BY id;
SELECT lead_key, fit, round(engagement::numeric) AS engagement FROM lead_score.pinned_current ORDER BY 1;
-- Only the reads were pinned: the session keeps its own settings.
SELECT current_setting('TimeZone') AS tz, current_setting('DateStyle') AS datestyle, current_setting('extra_float_digits') AS digits;
RESET TimeZone;
RESET DateStyle;
RESET extra_float_digits;
SELECT id, lead_score.fit('pinned', p) AS fit FROM cond.people p ORDER BY id;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('pinned');
-- So are geometric types, whose coordinates print as floats (a point
-- written with extra_float_digits 0 read (0.3,0) where every other session
-- read (0.30000000000000004,0): scores stayed wrong until a rescore), and
-- the reg* types, whose names depend on search_path. Those are read as
-- lead_score's triggers run, with search_path = pg_catalog, pg_temp, so a
-- name outside pg_catalog is schema-qualified, by fit() in any session too
-- (it read web_form here, which the live score never matched).
CREATE TABLE cond.web_form (x int);
CREATE TABLE cond.geo (id bigint PRIMARY KEY, loc point, source regclass);
CREATE TABLE cond.geo_acts (lead_id bigint, type text, occurred_at timestamptz, spot point);
CREATE INDEX ON cond.geo_acts (lead_id);
SELECT lead_score.create_model('geo', '{
  "fit": {"rules": [
    {"name": "at 0.1 + 0.2", "when": {"field": "loc", "regex": "^\\(0\\.30000000000000004,"}, "points": 10},
    {"name": "from the web form", "when": {"field": "source", "eq": "cond.web_form"}, "points": 20}]},
  "engagement": {"properties": ["spot"], "rules": [
    {"name": "visit at 0.1 + 0.2", "event": "v", "when": {"field": "spot", "regex": "^\\(0\\.30000000000000004,"}, "points": 1}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1000}}
}') AS version;
SELECT lead_score.attach('geo', 'cond.geo', 'cond.geo_acts') IS NOT NULL AS attached;
SET extra_float_digits = 0;
SET search_path = cond, public;
INSERT INTO cond.geo VALUES (1, point(0.1::float8 + 0.2::float8, 0), 'web_form');
INSERT INTO cond.geo_acts VALUES (1, 'v', now(), point(0.1::float8 + 0.2::float8, 0));
SELECT loc::text AS loc_here, source::text AS source_here FROM cond.geo;
SELECT id, lead_score.fit('geo', g) AS fit FROM cond.geo g;
SELECT lead_key, fit, engagement FROM lead_score.geo_current;
RESET extra_float_digits;
RESET search_path;
SELECT id, lead_score.fit('geo', g) AS fit FROM cond.geo g;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('geo');
-- A stored row passed as itself (a trigger's OLD) that predates a column
-- added with a default reads the default, as every query does (fit() read
-- NULL: 0 points for OLD, 10 for NEW).
CREATE TABLE cond.old_rows (id int PRIMARY KEY, title text);
INSERT INTO cond.old_rows VALUES (1, 'VP');
ALTER TABLE cond.old_rows ADD COLUMN region text NOT NULL DEFAULT 'EMEA';
SELECT lead_score.create_model('regions', '{
  "fit": {"rules": [{"name": "emea", "when": {"field": "region", "eq": "EMEA"}, "points": 10}]},
  "engagement": {"rules": [{"name": "visit", "event": "v", "points": 1}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1000}}
}') AS version;
CREATE FUNCTION cond.old_fit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'fit(OLD) = %, fit(NEW) = %', lead_score.fit('regions', OLD), lead_score.fit('regions', NEW);
    RETURN NEW;
END $$;
CREATE TRIGGER old_fit BEFORE UPDATE ON cond.old_rows FOR EACH ROW EXECUTE FUNCTION cond.old_fit();
UPDATE cond.old_rows SET title = 'CEO';
-- A zone that is UTC under another name writes the same text, so it is left
-- as it is; any other zone, a fixed offset too, is pinned to UTC.
SET TimeZone = 'Etc/UTC';
SELECT lead_score_internal._stable_text('2026-12-04 03:00+00'::timestamptz) AS in_etc_utc;
SET TimeZone = 'Etc/GMT+5';
SELECT lead_score_internal._stable_text('2026-12-04 03:00+00'::timestamptz) AS in_gmt_minus_5,
       '2026-12-04 03:00+00'::timestamptz::text AS its_own_text;
-- Outside UTC, a timestamptz is written as the timestamp of the same instant
-- with UTC's offset, without setting TimeZone: the same text as in UTC for
-- fractions, BC dates, both ends of the range and infinity, whatever the
-- session's zone and date style.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, MDY';
CREATE TEMP TABLE stamps AS
SELECT v, v::text AS in_utc FROM unnest(ARRAY['2026-12-04 03:00:00.5+00', '2026-03-29 01:30+00', '0044-03-15 12:00+00 BC',
    '4714-11-24 00:00:00+00 BC', '294276-12-31 23:59:59.999999+00', 'infinity', '-infinity']::timestamptz[]) v;
RESET DateStyle;
SET TimeZone = 'America/New_York';
SELECT current_setting('DateStyle') AS datestyle, in_utc, lead_score_internal._stable_text(v) = in_utc AS same FROM stamps ORDER BY v;
SET TimeZone = 'Asia/Kolkata';
SET DateStyle = 'SQL, DMY';
SELECT count(*) FILTER (WHERE lead_score_internal._stable_text(v) <> in_utc) AS differ,
       min(v::text) AS own_text FROM stamps WHERE v = '2026-12-04 03:00:00.5+00';
SELECT count(*) FILTER (WHERE lead_score_internal._stable_text(v) <> in_utc) AS differ FROM stamps;
RESET DateStyle;
RESET TimeZone;
DELETE FROM lead_score.alerts WHERE attachment IN ('pinned', 'geo');  -- lead 1's quadrant alerts
SELECT lead_score.detach('pinned');
SELECT lead_score.detach('geo');
DROP SCHEMA cond CASCADE;
SELECT lead_score.drop_model(m) FROM unnest(ARRAY['cond', 'cond_real', 'cond_digits', 'cond_ids', 'cond_eq', 'pinned', 'geo', 'regions']) m;
