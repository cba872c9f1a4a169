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
