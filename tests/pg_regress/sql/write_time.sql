-- Live scores cap an event's time at the time it is written: an event dated
-- later counts as if it happened then (forward decay would read it as worth
-- more than its points). The aggregates leave such an event out until its
-- time, so check_consistency reports its lead meanwhile. The time of a write
-- is the clock when the trigger runs, not the transaction's start: an event
-- stamped during its transaction (clock_timestamp(), an application's clock)
-- counts at its own time, as the aggregates count it. This file runs on the
-- real clock (no lead_score.mock_now), in one transaction rolled back at the end.
RESET lead_score.mock_now;
BEGIN;
CREATE SCHEMA wt;
CREATE TABLE wt.leads (id int PRIMARY KEY);
CREATE TABLE wt.acts (lead_id int NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL);
CREATE INDEX ON wt.acts (lead_id);
INSERT INTO wt.leads VALUES (1), (2);
SELECT lead_score.create_model('wt', '{"fit": {"rules": []},
  "engagement": {"decay": {"kind": "exponential", "half_life": "1 hour"},
                 "rules": [{"name": "demo", "event": "demo", "points": 40}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 100}}}') IS NOT NULL AS published;
SET LOCAL client_min_messages = warning;
SELECT lead_score.attach('wt', 'wt.leads', 'wt.acts') IS NOT NULL AS attached;
SELECT lead_score.attach('wt', 'wt.leads', 'wt.acts', name => 'wt_d', mode => 'deferred') IS NOT NULL AS attached;
RESET client_min_messages;
-- Lead 1's event is stamped 0.3 s into the transaction, before the write.
SELECT pg_sleep(0.3) IS NOT NULL AS slept;
INSERT INTO wt.acts VALUES (1, 'demo', clock_timestamp());
SELECT a.occurred_at > now() AS after_the_start, p.occurred_at = a.occurred_at AS kept_its_time
FROM wt.acts a JOIN lead_score_internal.wt_d_pending p ON p.lead_key = a.lead_id;
-- Read a minute ahead (this transaction's now() is before the event): both
-- attachments count it as the aggregates do. Before, its time was capped at the
-- transaction's start, 0.3 s of decay less.
SELECT set_config('lead_score.as_of', (now() + interval '1 minute')::text, true) IS NOT NULL AS read_ahead;
SELECT * FROM lead_score.check_consistency('wt');
SELECT * FROM lead_score.check_consistency('wt_d');
-- rescore caps event times at the clock as well (once it holds its locks):
-- the event keeps its own time. Before, rescore capped it at the
-- transaction's start, and check_consistency reported both leads' scores.
SET LOCAL client_min_messages = warning;
SELECT lead_score.rescore('wt') AS rescored, lead_score.rescore('wt_d') AS rescored_deferred;
RESET client_min_messages;
SELECT * FROM lead_score.check_consistency('wt');
SELECT * FROM lead_score.check_consistency('wt_d');
-- Lead 2's event is dated an hour ahead: it counts as of its write, and is
-- reported until its time.
INSERT INTO wt.acts VALUES (2, 'demo', now() + interval '1 hour');
SELECT lead_key, problem FROM lead_score.check_consistency('wt_d');
ROLLBACK;
-- Once such an event's time has passed, the live score still counts it as of
-- its write (its decay started early), until the lead is recomputed from the
-- activity table: check_consistency reports the lead until then, tick()
-- does not mend it, and rescore (or an UPDATE or DELETE of one of the
-- lead's activities, whose recompute marker reads the table) does. On the
-- mock clock, in a transaction rolled back at the end.
BEGIN;
SET LOCAL lead_score.mock_now = '2026-06-10 00:00:00+00';
CREATE SCHEMA wf;
CREATE TABLE wf.leads (id int PRIMARY KEY);
CREATE TABLE wf.acts (lead_id int NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL);
CREATE INDEX ON wf.acts (lead_id);
INSERT INTO wf.leads VALUES (1), (2);
SELECT lead_score.create_model('wf', '{"fit": {"rules": []},
  "engagement": {"decay": {"kind": "exponential", "half_life": "10 days"},
                 "rules": [{"name": "demo", "event": "demo", "points": 40}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 100}}}') IS NOT NULL AS published;
SET LOCAL client_min_messages = warning;
SELECT lead_score.attach('wf', 'wf.leads', 'wf.acts') IS NOT NULL AS attached;
RESET client_min_messages;
-- Both leads' events are dated two days after their write.
INSERT INTO wf.acts VALUES (1, 'demo', '2026-06-12 00:00:00+00'), (2, 'demo', '2026-06-12 00:00:00+00');
SET LOCAL lead_score.mock_now = '2026-06-22 00:00:00+00';
SELECT lead_score.tick() >= 0 AS ticked;
-- Ten days after the events' own time: the aggregates give 20 points, the
-- live score 40 · 2^(-12/10), decayed from the write.
SELECT lead_key, problem, round(stored_total::numeric, 3) AS stored, round(recomputed_total::numeric, 3) AS recomputed
FROM lead_score.check_consistency('wf') ORDER BY lead_key;
-- Lead 1's activity rewritten as it was: recomputed from the table, it agrees.
UPDATE wf.acts SET type = 'demo' WHERE lead_id = 1;
SELECT lead_key, problem FROM lead_score.check_consistency('wf');
SET LOCAL client_min_messages = warning;
SELECT lead_score.rescore('wf') > 0 AS rescored;
RESET client_min_messages;
SELECT * FROM lead_score.check_consistency('wf');
SELECT lead_key, round(total::numeric, 3) AS total FROM lead_score.wf_current ORDER BY lead_key;
ROLLBACK;
