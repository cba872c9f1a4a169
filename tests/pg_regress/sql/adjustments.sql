-- Manual adjustments: sales adds or takes points on a lead, with a reason, who
-- and an optional expiry (Marketo's "Change Score"). An adjustment counts in the
-- lead's fit while it is active, so it moves fit, total, grade, quadrant and MQL;
-- it shows in every current view, in explain_lead, in the history, and as an
-- 'adjustment' alert. It is read at scoring_time(), so a read as of any date is
-- exact and an expiry needs no job.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
CREATE SCHEMA adj;
CREATE TABLE adj.leads (id int PRIMARY KEY, title text, email text);
CREATE TABLE adj.activities (id bigserial PRIMARY KEY, lead_id int NOT NULL REFERENCES adj.leads,
                             type text NOT NULL, occurred_at timestamptz NOT NULL);
CREATE INDEX ON adj.activities (lead_id);
INSERT INTO adj.leads VALUES
  (1, 'VP Marketing', 'ann@acme.com'),
  (2, 'Engineer', 'bob@acme.com'),
  (3, 'Head of Sales', 'cy@globex.com'),
  (4, 'Engineer', 'di@rival.com');
INSERT INTO adj.activities (lead_id, type, occurred_at) VALUES
  (1, 'webinar', '2026-05-30 12:00+00'),
  (2, 'page_view', '2026-05-31 12:00+00'),
  (3, 'demo_request', '2026-05-31 16:00+00');

SELECT lead_score.create_model('adj', '{
  "fit": {"rules": [
      {"name": "senior", "when": {"field": "title", "regex": "\\b(vp|head)\\b"}, "points": 30},
      {"name": "competitor", "when": {"field": "email", "regex": "@rival\\.com$"}, "disqualify": true}]},
  "engagement": {"decay": {"kind": "exponential", "half_life": "30 days"},
    "rules": [
      {"name": "view", "event": "page_view", "points": 5},
      {"name": "webinar", "event": "webinar", "points": 20},
      {"name": "demo", "event": "demo_request", "points": 40}]},
  "classification": {"grades": [{"name": "A", "min": 30}, {"name": "B"}],
    "labels": [{"name": "hot", "min": 30}, {"name": "cold"}],
    "quadrant": {"fit": 30, "engagement": 30}, "mql": {"min_total": 60}}
}') AS version;
SELECT lead_score.attach('adj', 'adj.leads', 'adj.activities') IS NOT NULL AS attached;

SELECT lead_key, round(fit::numeric, 2) AS fit, round(engagement::numeric, 2) AS engagement,
       round(total::numeric, 2) AS total, grade, quadrant, mql, adjustment
FROM lead_score.adj_current ORDER BY lead_key;

-- Bob met sales at a trade show: +30 points make his fit grade A and move him
-- to account_based. adjust() returns the adjustment's id.
SELECT lead_score.adjust('adj', '2', 30, 'Met at the trade show, budget confirmed') AS id;
SELECT lead_key, round(fit::numeric, 2) AS fit, round(total::numeric, 2) AS total, grade, quadrant, mql, adjustment
FROM lead_score.adj_current WHERE lead_key = 2;
SELECT attachment, lead_key, points, reason, expires_at, created_by = current_user AS by_me,
       created_at = lead_score.scoring_time() AS made_now, ended_by
FROM lead_score.adjustments ORDER BY id;
-- The same everywhere a score is read: current_score, current_scores, top_leads.
SELECT round(fit::numeric, 2) AS fit, grade, mql FROM lead_score.current_score('adj', 2);
SELECT attachment, lead_key, round(fit::numeric, 2) AS fit, adjustment
FROM lead_score.current_scores WHERE attachment = 'adj' AND lead_key = '2';
SELECT lead_key, round(total::numeric, 2) AS total FROM lead_score.top_leads('adj', 2);

-- It is in the history (a row at once, with the adjustment) and alerted.
SELECT lead_key, round(fit::numeric, 2) AS fit, grade, quadrant, mql, adjustment
FROM lead_score.score_history WHERE attachment = 'adj' AND lead_key = '2' ORDER BY recorded_at, fit;
SELECT lead_key, kind, detail, round(total::numeric, 2) AS total FROM lead_score.alerts
WHERE attachment = 'adj' AND kind = 'adjustment' ORDER BY id;

-- explain_lead: the rules, the adjustment, and the summary of the current
-- score; the rule and adjustment points add up to the total.
SELECT section, item, round(points::numeric, 2) AS points, detail ~ '^by ' AS by_someone
FROM lead_score.explain_lead('adj', '2') WHERE section <> 'summary' OR item IN ('fit', 'total');
SELECT round(sum(points) FILTER (WHERE section IN ('fit', 'engagement', 'adjustment'))::numeric, 2) AS parts,
       round(sum(points) FILTER (WHERE section = 'summary' AND item = 'total')::numeric, 2) AS total
FROM lead_score.explain_lead('adj', '2');

-- A temporary one, for a week: Ann is on leave, -40 until 2026-06-08.
SELECT lead_score.adjust('adj', '1', -40, 'On leave', '2026-06-08 00:00+00') AS id;
SELECT lead_key, round(fit::numeric, 2) AS fit, grade, mql, adjustment FROM lead_score.adj_current WHERE lead_key = 1;
-- Read as of a date before it was made, it does not count; after its expiry it
-- has stopped counting, with nothing to run.
SET lead_score.as_of = '2026-05-31 12:00+00';
SELECT lead_key, round(fit::numeric, 2) AS fit, adjustment FROM lead_score.adj_current WHERE lead_key = 1;
RESET lead_score.as_of;
SET lead_score.mock_now = '2026-06-09 12:00:00+00';
SELECT lead_key, round(fit::numeric, 2) AS fit, grade, adjustment FROM lead_score.adj_current WHERE lead_key = 1;
SELECT count(*) AS active FROM lead_score.adjustments WHERE lead_key = '1' AND (expires_at IS NULL OR expires_at > lead_score.scoring_time());

-- Ending one early: it stops counting now, says who ended it, and is history;
-- ending it again changes nothing.
SELECT lead_score.end_adjustment(1) AS ended;
SELECT lead_score.end_adjustment(1) AS ended_again;
SELECT id, expires_at, ended_by = current_user AS ended_by_me FROM lead_score.adjustments WHERE id = 1;
SELECT lead_key, round(fit::numeric, 2) AS fit, adjustment FROM lead_score.adj_current WHERE lead_key = 2;
SELECT detail FROM lead_score.alerts WHERE attachment = 'adj' AND kind = 'adjustment' ORDER BY id DESC LIMIT 1;
SELECT count(*) AS history_rows FROM lead_score.score_history WHERE attachment = 'adj' AND lead_key = '2';
-- Read as of when it was active, it still counts.
SET lead_score.as_of = '2026-06-05 12:00+00';
SELECT lead_key, round(fit::numeric, 2) AS fit, adjustment FROM lead_score.adj_current WHERE lead_key = 2;
RESET lead_score.as_of;

-- Several add up; a disqualified lead stays disqualified. A key is stored as
-- its score row holds it: '03' is lead 3.
SELECT lead_score.adjust('adj', '03', 10, 'Referral') IS NOT NULL AS made,
       lead_score.adjust('adj', '3', 5, 'Second referral') IS NOT NULL AS made_too,
       lead_score.adjust('adj', '4', 100, 'Says they are switching') IS NOT NULL AS made_three;
SELECT lead_key, round(fit::numeric, 2) AS fit, adjustment, quadrant, disqualified
FROM lead_score.adj_current WHERE lead_key IN (3, 4) ORDER BY lead_key;
SELECT lead_key, points FROM lead_score.adjustments WHERE reason LIKE '%eferral' ORDER BY id;
-- top_leads stays exact: a lead raised above its stored bound is found, as a
-- full sort finds it.
SELECT lead_key, round(total::numeric, 2) AS total FROM lead_score.top_leads('adj', 3);
SELECT lead_key::text, round(total::numeric, 2) AS total FROM lead_score.adj_current
WHERE NOT disqualified ORDER BY total DESC, lead_key LIMIT 3;
-- Adjustments are not part of the materialized scores: the live scores still
-- equal a recompute.
SELECT count(*) AS mismatches FROM lead_score.check_consistency('adj');

-- Errors, each naming what is wrong, and nothing written.
\set VERBOSITY terse
SELECT lead_score.adjust('adj', '2', 0, 'nothing');
SELECT lead_score.adjust('adj', '2', 'NaN', 'not a number');
SELECT lead_score.adjust('adj', '2', 2e6, 'too many');
SELECT lead_score.adjust('adj', '2', 5, '   ');
SELECT lead_score.adjust('adj', '2', 5, 'past', '2026-01-01');
SELECT lead_score.adjust('adj', '99', 5, 'no such lead');
SELECT lead_score.adjust('adj', 'two', 5, 'not a key');
SELECT lead_score.adjust('nope', '2', 5, 'no such attachment');
SELECT * FROM lead_score.explain_lead('nope', '2');
\set VERBOSITY default
SELECT count(*) AS adjustments FROM lead_score.adjustments;
-- No such lead: explain_lead has no rows.
SELECT count(*) AS rows FROM lead_score.explain_lead('adj', '99');

-- Who may adjust: lead_score_admin; a reader sees them but cannot make or end
-- one, nor forge who made it or when.
CREATE ROLE adj_reader IN ROLE lead_score_reader;
CREATE ROLE adj_admin IN ROLE lead_score_admin;
SET ROLE adj_reader;
SELECT count(*) AS visible FROM lead_score.adjustments;
\set VERBOSITY terse
SELECT lead_score.adjust('adj', '2', 5, 'reader');
SELECT lead_score.end_adjustment(2);
\set VERBOSITY default
SET ROLE adj_admin;
SELECT lead_score.adjust('adj', '2', 5, 'admin') IS NOT NULL AS made;
\set VERBOSITY terse
INSERT INTO lead_score.adjustments (attachment, lead_key, points, reason, created_by, created_at)
VALUES ('adj', '2', 5, 'forged', 'someone else', '2026-01-01');
\set VERBOSITY default
RESET ROLE;
SELECT points, created_by FROM lead_score.adjustments WHERE reason = 'admin';

-- A deferred attachment keyed by text, with events still pending: the
-- adjustment joins the merged score, and top_leads ranks the raised lead.
CREATE TABLE adj.contacts (email text PRIMARY KEY, title text);
CREATE TABLE adj.touches (email text NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL);
CREATE INDEX ON adj.touches (email);
INSERT INTO adj.contacts VALUES ('ann@acme.com', 'VP Marketing'), ('bob@acme.com', 'Engineer');
SELECT lead_score.attach('adj', 'adj.contacts', 'adj.touches', '{"lead_key": "email", "activity_lead_key": "email"}',
                         name => 'adj_text', mode => 'deferred') IS NOT NULL AS attached;
INSERT INTO adj.touches VALUES ('bob@acme.com', 'demo_request', '2026-06-09 11:00+00');
SELECT lead_score.adjust('adj_text', 'bob@acme.com', 40, 'Champion') IS NOT NULL AS made;
SELECT count(*) AS pending FROM lead_score_internal.adj_text_pending;
SELECT lead_key, round(fit::numeric, 2) AS fit, round(total::numeric, 2) AS total, adjustment, mql
FROM lead_score.adj_text_current ORDER BY lead_key;
SELECT lead_key, round(total::numeric, 2) AS total FROM lead_score.top_leads('adj_text', 1);
-- Dropping one of its tables forgets the attachment, and its adjustments with it.
DROP TABLE adj.touches CASCADE;
SELECT count(*) AS attachments, (SELECT count(*) FROM lead_score.adjustments WHERE attachment = 'adj_text') AS adjustments,
       (SELECT count(*) FROM lead_score_internal._adjustment_sums WHERE attachment = 'adj_text') AS sums
FROM lead_score.attachments WHERE name = 'adj_text';

-- Changing expires_at by hand only ends an active adjustment, now: it cannot
-- rewrite when one counted, nor revive one that ended.
SET ROLE adj_admin;
UPDATE lead_score.adjustments SET expires_at = '2030-01-01' WHERE reason = 'admin';
SELECT expires_at = lead_score_internal._now() AS ended_now, ended_by FROM lead_score.adjustments WHERE reason = 'admin';
\set VERBOSITY terse
UPDATE lead_score.adjustments SET expires_at = NULL WHERE reason = 'admin';
\set VERBOSITY default
RESET ROLE;

-- A key whose text depends on session settings (a timestamp, here) cannot be
-- adjusted: an adjustment keeps the key as text.
CREATE TABLE adj.visits (at timestamptz PRIMARY KEY, title text, email text);
CREATE TABLE adj.visit_events (at timestamptz NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL);
CREATE INDEX ON adj.visit_events (at);
INSERT INTO adj.visits VALUES ('2026-06-01 00:00+00');
SELECT lead_score.attach('adj', 'adj.visits', 'adj.visit_events', '{"lead_key": "at", "activity_lead_key": "at"}',
                         name => 'adj_ts') IS NOT NULL AS attached;
\set VERBOSITY terse
SELECT lead_score.adjust('adj_ts', '2026-06-01 00:00+00', 5, 'timestamp key');
\set VERBOSITY default
SELECT adjustment FROM lead_score.adj_ts_current;
SELECT lead_score.detach('adj_ts');

-- An enum key is read from text among the enum's labels, never through a cast:
-- a cast its owner defines from text runs for no one.
CREATE TYPE adj.tier AS ENUM ('gold', 'silver');
CREATE TABLE adj.ran (who name);
CREATE FUNCTION adj.tier_in(text) RETURNS adj.tier LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO adj.ran VALUES (current_user);
    RETURN 'gold';
END $$;
CREATE CAST (text AS adj.tier) WITH FUNCTION adj.tier_in(text);
CREATE TABLE adj.tiers (tier adj.tier PRIMARY KEY, title text, email text);
CREATE TABLE adj.tier_events (tier adj.tier NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL);
CREATE INDEX ON adj.tier_events (tier);
INSERT INTO adj.tiers VALUES ('gold', 'VP Sales'), ('silver', 'Engineer');
SELECT lead_score.attach('adj', 'adj.tiers', 'adj.tier_events', '{"lead_key": "tier", "activity_lead_key": "tier"}',
                         name => 'adj_enum') IS NOT NULL AS attached;
SELECT lead_score.adjust('adj_enum', 'silver', 12, 'Enum key') IS NOT NULL AS made;
SELECT lead_key, adjustment FROM lead_score.adj_enum_current ORDER BY lead_key;
SELECT fit FROM lead_score.current_score('adj_enum', 'silver');
SELECT lead_key FROM lead_score.top_leads('adj_enum', 1);
SELECT count(*) AS rows FROM lead_score.explain_lead('adj_enum', 'silver');
-- A raised enum-keyed lead outside top_leads' first round (64 leads by bound):
-- 99 leads with a webinar each, one with nothing, which +100 makes the top.
DO $$ BEGIN
    EXECUTE 'CREATE TYPE adj.rank AS ENUM (' || (SELECT string_agg(quote_literal('r' || lpad(g::text, 3, '0')), ', ')
                                                 FROM generate_series(1, 100) g) || ')';
END $$;
CREATE TABLE adj.ranked (r adj.rank PRIMARY KEY, title text, email text);
CREATE TABLE adj.ranked_events (r adj.rank NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL);
CREATE INDEX ON adj.ranked_events (r);
INSERT INTO adj.ranked SELECT v, 'Engineer' FROM unnest(enum_range(NULL::adj.rank)) v;
-- Each an hour older than the one before, so the bounds differ and the first
-- round settles: the raised lead is found among the adjusted ones.
INSERT INTO adj.ranked_events
SELECT v, 'webinar', '2026-06-09 11:00+00'::timestamptz - (o * interval '1 hour')
FROM unnest(enum_range(NULL::adj.rank)) WITH ORDINALITY AS e(v, o) WHERE v <> 'r050';
SELECT lead_score.attach('adj', 'adj.ranked', 'adj.ranked_events', '{"lead_key": "r", "activity_lead_key": "r"}',
                         name => 'adj_ranked') IS NOT NULL AS attached;
SELECT lead_score.adjust('adj_ranked', 'r050', 100, 'Board member') IS NOT NULL AS made;
SELECT lead_key, round(total::numeric, 2) AS total FROM lead_score.top_leads('adj_ranked', 2);
SELECT lead_key::text, round(total::numeric, 2) AS total FROM lead_score.adj_ranked_current ORDER BY total DESC, lead_key LIMIT 2;
SELECT lead_score.detach('adj_ranked');
INSERT INTO adj.tier_events VALUES ('silver', 'page_view', '2026-06-09 10:00+00');
SELECT occurred_at, event_type, rules FROM lead_score.timeline('adj_enum', 'silver');
SELECT count(*) AS hostile_cast_ran FROM adj.ran;
SELECT lead_score.detach('adj_enum');

-- An adjustment alerts at once (NOTIFY), and PostgreSQL cannot prepare a
-- transaction that sent one: PREPARE TRANSACTION fails (0A000) and rolls it back.
SELECT count(*) AS adjustments_before FROM lead_score.adjustments WHERE attachment = 'adj';
BEGIN;
SELECT lead_score.adjust('adj', '2', 1, 'Prepared elsewhere') IS NOT NULL AS made;
PREPARE TRANSACTION 'lead_score_adjusted';
SELECT count(*) AS adjustments_after, (SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'lead_score_adjusted') AS prepared
FROM lead_score.adjustments WHERE attachment = 'adj';

-- A lead has one history row a time, its last state then (above, attach's row
-- of Bob, at the same fixed time, gave way to the adjustment's). Two
-- adjustments in one transaction leave one row, with both: two rows of one
-- time could not be ordered, and a query for the latest could read the state
-- between them.
BEGIN;
SELECT lead_score.adjust('adj', '3', 10, 'first') IS NOT NULL AS made, lead_score.adjust('adj', '3', 20, 'second') IS NOT NULL AS made_too;
SELECT count(*) AS rows_now, max(adjustment) AS adjustment FROM lead_score.score_history
WHERE attachment = 'adj' AND lead_key = '3' AND recorded_at = lead_score.scoring_time();
ROLLBACK;

-- A session reading as of a past date still adjusts now: the lead is found as
-- its score row holds it now (before, a date before the lead's last activity
-- failed that lookup with 0A000).
BEGIN;
SET LOCAL lead_score.as_of = '2026-05-01 00:00+00';
SELECT lead_score.adjust('adj', '2', 1, 'Read as of May') IS NOT NULL AS made;
ROLLBACK;

-- An adjustment is ended, never deleted: its history row and alert say it
-- counted (and the lead's sum kept counting it). Deleting or truncating the
-- adjustments of an attachment is refused, even for their owner.
DELETE FROM lead_score.adjustments WHERE attachment = 'adj' AND id = 1;
TRUNCATE lead_score.adjustments;
SELECT count(*) AS adjustments FROM lead_score.adjustments WHERE attachment = 'adj';

-- A history check in the transaction that adjusted a lead writes the lead's
-- row of that time again rather than adding one: rows of one time cannot be
-- ordered, so a query for the lead's latest row read either of the two it
-- kept before. The same for two checks in one transaction.
BEGIN;
SET LOCAL lead_score.mock_now = '2026-06-12 12:00:00+00';
SELECT lead_score.adjust('adj', '1', 5, 'same transaction') IS NOT NULL AS adjusted;
INSERT INTO adj.activities (lead_id, type, occurred_at) VALUES (1, 'demo_request', '2026-06-12 11:00+00');
SELECT lead_score.record_history('adj') AS checked;
UPDATE adj.leads SET email = 'ann@rival.com' WHERE id = 1;
SELECT lead_score.record_history('adj') AS checked_again;
SELECT count(*) AS rows_now, bool_and(h.quadrant = c.quadrant AND h.mql = c.mql AND h.disqualified = c.disqualified
                                      AND h.adjustment = c.adjustment) AS the_lead_now
FROM lead_score.score_history h JOIN lead_score.adj_current c ON c.lead_key = 1
WHERE h.attachment = 'adj' AND h.lead_key = '1' AND h.recorded_at = lead_score.scoring_time();
ROLLBACK;

-- detach removes the attachment's adjustments with its scores and history.
RESET lead_score.mock_now;
SELECT lead_score.detach('adj');
SELECT count(*) AS adjustments_left FROM lead_score.adjustments WHERE attachment = 'adj';
DROP SCHEMA adj CASCADE;
DROP ROLE adj_reader, adj_admin;
SELECT lead_score.drop_model('adj');
