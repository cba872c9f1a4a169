-- Checking an attachment's scores against what really happened: outcomes are
-- linked in place (the application's own deals table), leads are scored as of
-- a cut-off with no later activity, and sales feedback is recorded with the
-- score each lead had at that moment.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/fixtures/live_app.sql'
\i :fixtures

-- 300 more people: every third a VP, activity that grows with the person's number,
-- and deals that were won mostly by the engaged and senior.
INSERT INTO app.people (person_id, sector, job, email)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(100 + i), 12, '0'))::uuid,
       CASE WHEN i % 2 = 0 THEN 'Software' ELSE 'Retail' END,
       CASE WHEN i % 3 = 0 THEN 'VP Sales' ELSE 'Analyst' END, 'p' || i || '@acme.com'
FROM generate_series(1, 300) i;
INSERT INTO app.touches (person, kind, at, page)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(100 + i), 12, '0'))::uuid, 'page_view',
       '2026-04-01 12:00+00'::timestamptz + (j * 7 + i % 5) * interval '1 day', CASE WHEN j % 2 = 0 THEN '/pricing' END
FROM generate_series(1, 300) i, generate_series(1, 6) j
WHERE j <= i % 7;
-- Leads were created over April.
ALTER TABLE app.people ADD COLUMN created_at timestamptz;
UPDATE app.people SET created_at = '2026-04-01 12:00+00'::timestamptz + (hashtext(person_id::text) & 15) * interval '1 day';
CREATE TABLE app.deals (deal_id serial PRIMARY KEY, person uuid NOT NULL, won boolean, closed_at timestamptz);
INSERT INTO app.deals (person, won, closed_at)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(100 + i), 12, '0'))::uuid,
       (i % 7 >= 4 AND i % 3 = 0) OR (i % 7 = 6) OR (i % 29 = 0),
       '2026-05-20 12:00+00'::timestamptz + (i % 10) * interval '1 day'
FROM generate_series(1, 300) i;
-- One lead closed before the cut-off: it is left out (its outcome was known then).
UPDATE app.deals SET closed_at = '2026-05-01 12:00+00' WHERE deal_id = 1;

SELECT lead_score.attach('live', 'app.people', 'app.touches',
    '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind",
      "occurred_at": "at", "properties": {"url": "page"}}') IS NOT NULL AS attached;
-- Outcomes stay in the application's table; the link names its columns.
SELECT lead_score.link_outcomes('live', 'app.deals',
    '{"lead_key": "person", "won": "won", "closed_at": "closed_at", "lead_created_at": "created_at"}');
SELECT attachment, source, mapping FROM lead_score.outcome_links;

-- Scored as of 2026-05-15: ROC AUC with DeLong's interval; 300 leads is too few to trust.
SELECT leads, positives, round(auc::numeric, 3) AS auc, round(ci_lower::numeric, 3) AS lower,
       round(ci_upper::numeric, 3) AS upper, warning IS NOT NULL AS warned
FROM lead_score.evaluate('live', '2026-05-15 12:00+00');
SELECT dimension, class, leads, positives, round(conversion_rate::numeric, 3) AS conversion_rate
FROM lead_score.evaluate_classes('live', '2026-05-15 12:00+00') WHERE dimension IN ('grade', 'mql');
SELECT decile, leads, positives, round(lift::numeric, 2) AS lift FROM lead_score.evaluate_deciles('live', '2026-05-15 12:00+00') WHERE decile <= 3;

-- Calibration: the totals mapped to probabilities by the logistic curve fitted
-- to these leads, then expected against observed by bin, ECE and Brier.
SELECT bin, leads, round(expected::numeric, 2) AS expected, round(observed::numeric, 2) AS observed,
       round(calibration_error::numeric, 3) AS ece, round(brier::numeric, 3) AS brier
FROM lead_score.evaluate_calibration('live', '2026-05-15 12:00+00', bins => 5);
-- No leakage: an activity after the cut-off changes nothing as of the cut-off.
CREATE TEMP TABLE before AS SELECT * FROM lead_score.evaluate('live', '2026-05-15 12:00+00');
INSERT INTO app.touches (person, kind, at)
SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(100 + i), 12, '0'))::uuid, 'demo_request', '2026-05-20 12:00+00'
FROM generate_series(1, 300, 2) i;
SELECT (SELECT auc FROM before) = auc AS unchanged FROM lead_score.evaluate('live', '2026-05-15 12:00+00');
-- As of a later cut-off the demo requests count.
SELECT round(auc::numeric, 3) AS auc_later FROM lead_score.evaluate('live', '2026-05-25 12:00+00');
-- lead_score.as_of is only set inside the call.
SELECT current_setting('lead_score.as_of') AS as_of_after;


-- A quarterly review: publish version 2 (demo requests worth 60, page views 1)
-- and backtest both versions on the same leads and cut-off, each against the
-- current one by the paired DeLong test. Any version can be evaluated alone;
-- 'live@1' names version 1 wherever a model name goes.
SELECT lead_score.create_model('live', jsonb_set(jsonb_set(lead_score.model_spec('live'),
    '{engagement,rules,2,points}', '60'), '{engagement,rules,0,points}', '1')) AS published;
SELECT version, is_current, leads, positives, round(auc::numeric, 3) AS auc,
       round(auc_difference::numeric, 3) AS difference, better
FROM lead_score.backtest('live', '2026-05-25 12:00+00');
SELECT (SELECT auc FROM lead_score.evaluate('live', '2026-05-15 12:00+00', version => 1)) = (SELECT auc FROM before) AS version_1_as_before;
SELECT round(total::numeric, 3) AS total_v1 FROM lead_score.score('live@1', (SELECT p FROM app.people p WHERE person_id = '00000000-0000-0000-0000-000000000001'));
SELECT * FROM lead_score.evaluate('live', '2026-05-15 12:00+00', version => 9);
-- A version that does not exist is named as such, in either form (42704);
-- a model that does not exist, as the model.
SELECT lead_score.score('live@9', (SELECT p FROM app.people p WHERE person_id = '00000000-0000-0000-0000-000000000001'));
SELECT lead_score.score('nolive@1', (SELECT p FROM app.people p WHERE person_id = '00000000-0000-0000-0000-000000000001'));
-- So no model may be called like a version.
SELECT lead_score.create_model('live@7', lead_score.model_spec('live'));
-- The latest backtest of each version, as flat columns for a BI tool.
SELECT attachment, version, is_current, leads, round(auc::numeric, 3) AS auc, better FROM lead_score.latest_evaluations ORDER BY version;

-- Each lead scored 30 days after it was created: a per-lead cut-off. An
-- activity after a lead's cut-off changes nothing.
SELECT leads, positives, round(auc::numeric, 3) AS auc FROM lead_score.evaluate('live', days_after_creation => 30);
CREATE TEMP TABLE before_30 AS SELECT * FROM lead_score.evaluation_rows('live', days_after_creation => 30);
INSERT INTO app.touches (person, kind, at)
SELECT person_id, 'demo_request', created_at + interval '31 days' FROM app.people WHERE created_at IS NOT NULL;
SELECT count(*) AS changed_rows FROM (
    SELECT * FROM lead_score.evaluation_rows('live', days_after_creation => 30)
    EXCEPT SELECT * FROM before_30) x;
-- One of the two cut-offs, not both.
SELECT * FROM lead_score.evaluate('live', '2026-05-15', days_after_creation => 30);
SELECT * FROM lead_score.evaluate('live', days_after_creation => 2147483647);
-- No lead old enough: refused as at a cut-off after every outcome (it returned
-- no row before).
SELECT * FROM lead_score.evaluate('live', days_after_creation => 36525);
SELECT * FROM lead_score.evaluate_calibration('live', days_after_creation => 36525);
SELECT * FROM lead_score.evaluate('live');

-- Suggested points: fit rules learned from the outcomes on lead fields, with
-- integer points scaled to a maximum of 20, stored as a draft version (version
-- 3; the current version stays 2) that a backtest compares with the current one.
SELECT version, rule, condition, points FROM lead_score.suggest_points('live', ARRAY['sector', 'job', 'email'], max_points => 20);
SELECT current_version FROM lead_score.models WHERE name = 'live';
SELECT version, is_current, round(auc::numeric, 3) AS auc, round(auc_difference::numeric, 3) AS difference, better
FROM lead_score.backtest('live', '2026-05-15 12:00+00', versions => ARRAY[2, 3]);
-- A version that does not exist is an error (42704), as for evaluate.
SELECT * FROM lead_score.backtest('live', '2026-05-15 12:00+00', versions => ARRAY[2, 99]);
SELECT * FROM lead_score.backtest('live', '2026-05-15 12:00+00', versions => ARRAY[NULL]::int[]);
-- The sparse variant keeps at most max_rules rules.
SELECT version, rule, points FROM lead_score.suggest_points('live', ARRAY['sector', 'job'], max_points => 20, max_rules => 1);
-- A field the leads table does not have; publishing after a draft takes the next number.
SELECT * FROM lead_score.suggest_points('live', ARRAY['title']);
-- NULL where a value is needed (22004, naming the argument).
SELECT * FROM lead_score.suggest_points('live', NULL);
SELECT * FROM lead_score.suggest_points('live', ARRAY['sector', NULL]);
SELECT * FROM lead_score.suggest_points('live', ARRAY['sector'], max_points => NULL);
SELECT * FROM lead_score.suggest_points('live', ARRAY['sector'], event_types => ARRAY[NULL]);
-- A field or event type named twice, or max_points past a rule's limit: 22023
-- naming the argument (they failed on the draft's spec, at a path the user
-- never wrote).
SELECT * FROM lead_score.suggest_points('live', ARRAY['sector', 'job', 'sector']);
SELECT * FROM lead_score.suggest_points('live', ARRAY['sector'], event_types => ARRAY['page_view', 'page_view']);
SELECT * FROM lead_score.suggest_points('live', ARRAY['sector'], max_points => 2147483647);
SELECT lead_score.create_model('live', lead_score.model_spec('live', 3)) AS published;

-- Sales feedback: a rep accepts one lead and rejects another, with a reason;
-- the score and classification at that moment are captured.
SELECT reason FROM lead_score.feedback_reasons ORDER BY reason;
SELECT lead_score.record_feedback('live', '00000000-0000-0000-0000-000000000001', true) > 0 AS recorded;
SELECT lead_score.record_feedback('live', '00000000-0000-0000-0000-000000000003', false, 'no_budget', 'next fiscal year') > 0 AS recorded;
SELECT right(lead_key, 1) AS person, accepted, reason, note, given_by = current_user AS by_me,
       round(total::numeric, 3) AS total, grade, quadrant, mql
FROM lead_score.feedback ORDER BY id;
SELECT dimension, class, feedback, rejected, rejection_rate FROM lead_score.feedback_rates ORDER BY dimension, class;
SELECT reason, rejections, rank FROM lead_score.feedback_top_reasons;
-- A rejection needs a reason from the list; the lead must exist.
SELECT lead_score.record_feedback('live', '00000000-0000-0000-0000-000000000003', false);
SELECT lead_score.record_feedback('live', '00000000-0000-0000-0000-000000000003', false, 'too_expensive');
SELECT lead_score.record_feedback('live', '00000000-0000-0000-0000-00000000ffff', true);
-- Add reasons of your own. The built-in ones are the extension's and are not
-- dumped (a restore makes them again), so they are neither changed nor
-- removed, and no reason is made built in (55000): an edited built-in one was
-- undone by a restore, and a renamed one lost the restore every feedback row
-- that cited it.
INSERT INTO lead_score.feedback_reasons (reason, description) VALUES ('competitor', 'Works for a competitor');
UPDATE lead_score.feedback_reasons SET reason = 'budget' WHERE reason = 'no_budget';
UPDATE lead_score.feedback_reasons SET builtin = false WHERE reason = 'other';
DELETE FROM lead_score.feedback_reasons WHERE reason = 'duplicate';
INSERT INTO lead_score.feedback_reasons (reason, description, builtin) VALUES ('mine', 'Mine', true);
UPDATE lead_score.feedback_reasons SET description = 'Works for a rival' WHERE reason = 'competitor';
SELECT lead_score.record_feedback('live', '00000000-0000-0000-0000-000000000003', false, 'competitor') > 0 AS recorded;
-- The key is kept as the lead's own key writes it, however it was given.
SELECT lead_score.record_feedback('live', '{00000000000000000000000000000003}', true) > 0 AS recorded;
SELECT lead_key FROM lead_score.feedback ORDER BY id DESC LIMIT 1;
-- The score captured is the lead's now, whatever lead_score.as_of the session
-- reads at (it captured the score at as_of, stamped now, and failed with 0A000
-- for an as_of before the lead's last activity).
BEGIN;
SET LOCAL lead_score.as_of = '2020-01-01 00:00:00+00';
SELECT lead_score.record_feedback('live', '00000000-0000-0000-0000-000000000001', true) > 0 AS recorded;
RESET lead_score.as_of;
SELECT f.total = c.total AS score_now, f.mql = c.mql AS class_now, f.given_at = lead_score.scoring_time() AS stamped_now
FROM (SELECT * FROM lead_score.feedback ORDER BY id DESC LIMIT 1) f,
     lead_score.current_score('live', '00000000-0000-0000-0000-000000000001'::uuid) c;
ROLLBACK;

-- Least privilege: a rep with lead_score_reader records feedback (through the
-- function or an INSERT of its own columns); the trigger captures who, when and
-- the real score, whatever the rep supplies; the rep cannot write the captured
-- columns nor link outcomes.
CREATE ROLE ls_rep LOGIN;
GRANT lead_score_reader TO ls_rep;
SET ROLE ls_rep;
SELECT lead_score.record_feedback('live', '00000000-0000-0000-0000-000000000001', false, 'wrong_timing') > 0 AS recorded;
INSERT INTO lead_score.feedback (attachment, lead_key, accepted, given_by, given_at, total) VALUES ('live', 'x', true, 'me', now(), 1000);
INSERT INTO lead_score.feedback (attachment, lead_key, accepted) VALUES ('live', '00000000-0000-0000-0000-000000000003', true);
SELECT lead_score.link_outcomes('live', 'lead_score.feedback');
RESET ROLE;
SELECT given_by, accepted, reason FROM lead_score.feedback ORDER BY id DESC LIMIT 2;

-- Errors: no outcomes linked, a mapping naming a missing column.
SELECT lead_score.attach('live', 'app.people', 'app.touches',
    '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind",
      "occurred_at": "at", "properties": {"url": "page"}}', name => 'other') IS NOT NULL AS attached;
SELECT * FROM lead_score.evaluate('other', '2026-05-15');
SELECT lead_score.link_outcomes('other', 'app.deals', '{"lead_key": "person", "won": "is_won"}');
SELECT lead_score.link_outcomes('other', 'app.deals', '{"owner": "person"}');
SELECT lead_score.link_outcomes('other', 'app.deals', '{"lead_key": 5}');
-- won must be a boolean, closed_at and lead_created_at times: the evaluations read them so.
SELECT lead_score.link_outcomes('other', 'app.deals', '{"lead_key": "person", "won": "closed_at"}');
SELECT lead_score.link_outcomes('other', 'app.deals', '{"lead_key": "person", "closed_at": "won"}');
SELECT lead_score.link_outcomes('other', 'app.deals', '{"lead_key": "person", "lead_created_at": "sector"}');
-- The outcome key must cast to the lead key's type (uuid here; deal_id is an
-- integer): refused here, not at the first evaluation.
SELECT lead_score.link_outcomes('other', 'app.deals', '{"lead_key": "deal_id", "won": "won"}');
-- Without closed_at, leads already won or lost at the cut-off count too: a warning says so.
SELECT lead_score.link_outcomes('other', 'app.deals', '{"lead_key": "person"}');
SELECT leads FROM lead_score.evaluate('other', '2026-05-15 12:00+00');
-- Outcomes keyed by another type than the lead key: two rows unique as text
-- can be one lead once cast (upper- and lower-case text of one uuid). The
-- lead counts once, won as one of its rows is (it counted twice, won and
-- lost, when a unique index on the text column was taken for one row a lead).
CREATE TABLE app.deals_by_text (person text PRIMARY KEY, won boolean NOT NULL);
INSERT INTO app.deals_by_text VALUES ('00000000-0000-0000-0000-000000000065', true),
                                     ('00000000-0000-0000-0000-000000000066', false),
                                     ('00000000-0000-0000-0000-00000000006A', false),
                                     ('00000000-0000-0000-0000-00000000006a', true);
SELECT lead_score.link_outcomes('other', 'app.deals_by_text', '{"lead_key": "person"}');
SELECT lead_key, won FROM lead_score.evaluation_rows('other', '2026-05-15 12:00+00') ORDER BY lead_key;
-- detach removes the link.
SELECT lead_score.detach('other'), lead_score.detach('live');
SELECT count(*) AS links FROM lead_score.outcome_links;

-- suggest_points reads fields as the engine does, whatever the session's
-- settings: under TimeZone Asia/Tokyo a timestamptz field learned rules like
-- "seen = 2026-01-13 09:00:00+09", which the engine (reading UTC's text) never
-- matched, so the draft scored every lead without them. And an event type
-- every lead has counts when the counts differ: a lead a first visit created
-- has visits, and how many predicts (it was left out for having fewer than 30
-- leads without one).
CREATE TABLE app.sp_leads (id bigint PRIMARY KEY, seen timestamptz, region text);
CREATE TABLE app.sp_acts (lead_id bigint NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL);
CREATE TABLE app.sp_deals (lead_id bigint, won boolean);
CREATE INDEX ON app.sp_acts (lead_id);
INSERT INTO app.sp_leads SELECT i, timestamptz '2026-01-13 00:00+00' + (i % 3) * interval '1 day', (ARRAY['N', 'S'])[1 + i % 2]
FROM generate_series(1, 400) i;
INSERT INTO app.sp_acts SELECT i, 'visit', timestamptz '2026-06-01 00:00+00' - k * interval '1 day'
FROM generate_series(1, 400) i, generate_series(1, 1 + i % 5) k;
INSERT INTO app.sp_deals SELECT i, (i % 5) >= 3 OR i % 7 = 0 OR i % 3 = 1 FROM generate_series(1, 400) i;
SELECT lead_score.create_model('sp', '{"fit": {"rules": [{"name": "n", "when": {"field": "region", "eq": "N"}, "points": 10}]},
 "engagement": {"rules": [{"name": "v", "event": "visit", "points": 1}]},
 "classification": {"grades": [{"name": "A", "min": 5}, {"name": "B"}], "labels": [{"name": "hot", "min": 3}, {"name": "cold"}],
   "quadrant": {"fit": 5, "engagement": 3}, "mql": {"min_total": 10}}}');
SELECT lead_score.attach('sp', 'app.sp_leads', 'app.sp_acts', '{"activity_lead_key": "lead_id"}') IS NOT NULL AS attached;
SELECT lead_score.link_outcomes('sp', 'app.sp_deals');
SET TimeZone = 'Asia/Tokyo';
SELECT version, rule, condition, points FROM lead_score.suggest_points('sp', ARRAY['seen', 'region'], max_points => 20)
ORDER BY rule;
-- The draft's rules fire as learned: its fit of each kind of lead is the sum
-- of the rules above that hold for it.
SELECT to_char(seen AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS seen_utc, region, lead_score.fit('sp@2', l) AS draft_fit, count(*)
FROM app.sp_leads l GROUP BY 1, 2, 3 ORDER BY 1, 2;
RESET TimeZone;
SELECT version, rule, points > 0 AS positive FROM lead_score.suggest_points('sp', ARRAY['region'], event_types => ARRAY['visit'])
ORDER BY rule;
SELECT lead_score.detach('sp');
SELECT lead_score.drop_model('sp');
-- Learned engagement rules take the model's default decay, uncapped: with a
-- window decay, live scores cannot keep them (attach and create_model refuse,
-- 0A000). The draft is stored for backtests, with a WARNING that it cannot be
-- published while the model is attached.
SELECT lead_score.create_model('spw', '{"fit": {"rules": [{"name": "n", "when": {"field": "region", "eq": "N"}, "points": 10}]},
 "engagement": {"decay": {"kind": "window", "window": "90 days"}, "rules": [{"name": "v", "event": "visit", "points": 1, "repeat": {"cap": 10}}]},
 "classification": {"grades": [{"name": "A", "min": 5}, {"name": "B"}], "labels": [{"name": "hot", "min": 3}, {"name": "cold"}],
   "quadrant": {"fit": 5, "engagement": 3}, "mql": {"min_total": 10}}}');
SELECT lead_score.attach('spw', 'app.sp_leads', 'app.sp_acts', '{"activity_lead_key": "lead_id"}') IS NOT NULL AS attached;
SELECT lead_score.link_outcomes('spw', 'app.sp_deals');
SELECT version, rule FROM lead_score.suggest_points('spw', ARRAY['region'], event_types => ARRAY['visit']) ORDER BY rule;
SELECT lead_score.create_model('spw', lead_score.model_spec('spw', 2));
SELECT lead_score.detach('spw');
SELECT lead_score.drop_model('spw');

DELETE FROM lead_score.feedback;
DELETE FROM lead_score.evaluations;
DELETE FROM lead_score.feedback_reasons WHERE NOT builtin;
DROP ROLE ls_rep;
RESET lead_score.mock_now;
DROP SCHEMA app CASCADE;
SELECT lead_score.drop_model('live');
