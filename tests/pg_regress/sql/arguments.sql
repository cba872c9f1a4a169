-- A function given a NULL where it needs a value, or a value it cannot use,
-- raises an error that names the argument: 22004 for a NULL, 22023 for a bad
-- value, never a constraint's or plpgsql's own message.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/fixtures/live_app.sql'
\i :fixtures
\set try :abs_srcdir '/fixtures/try.sql'
\i :try
SELECT lead_score.attach('live', 'app.people', 'app.touches',
    '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind",
      "occurred_at": "at", "properties": {"url": "page"}}') IS NOT NULL AS attached;
SELECT call, pg_temp.try(statement) AS error FROM (VALUES
  ('create_model, no name', $$SELECT lead_score.create_model(NULL, lead_score.model_spec('live'))$$),
  ('create_model, a blank name', $$SELECT lead_score.create_model('  ', lead_score.model_spec('live'))$$),
  ('create_model, a name of a tab and a no-break space', $$SELECT lead_score.create_model(E'\t\u00a0', lead_score.model_spec('live'))$$),
  ('attach, no model', $$SELECT lead_score.attach(NULL, 'app.people', 'app.touches')$$),
  ('attach, no lead table', $$SELECT lead_score.attach('live', NULL, 'app.touches', name => 'other')$$),
  ('attach, no activity table', $$SELECT lead_score.attach('live', 'app.people', NULL, name => 'other')$$),
  ('current_score, no attachment', $$SELECT * FROM lead_score.current_score(NULL, '00000000-0000-0000-0000-000000000001')$$),
  ('current_score by key, no attachment', $$SELECT * FROM lead_score.current_score(NULL, '00000000-0000-0000-0000-000000000001'::uuid)$$),
  ('current_score by a key of another type', $$SELECT * FROM lead_score.current_score('live', 42)$$),
  ('current_score by text that is no key', $$SELECT * FROM lead_score.current_score('live', 'abc')$$),
  ('record_feedback for text that is no key', $$SELECT lead_score.record_feedback('live', 'abc', true)$$),
  ('timeline for text that is no key', $$SELECT * FROM lead_score.timeline('live', 'abc')$$),
  ('timeline, no attachment', $$SELECT * FROM lead_score.timeline(NULL, 'abc')$$),
  ('explain_lead for text that is no key', $$SELECT * FROM lead_score.explain_lead('live', 'abc')$$),
  ('explain_account, no attachment', $$SELECT * FROM lead_score.explain_account(NULL, 'acme.com')$$),
  ('adjust, no lead', $$SELECT lead_score.adjust('live', NULL, 5, 'met at a fair')$$),
  ('adjust, no points', $$SELECT lead_score.adjust('live', '00000000-0000-0000-0000-000000000001', NULL, 'met at a fair')$$),
  ('adjust, no reason', $$SELECT lead_score.adjust('live', '00000000-0000-0000-0000-000000000001', 5, NULL)$$),
  ('adjust, a reason of a tab and a newline', $$SELECT lead_score.adjust('live', '00000000-0000-0000-0000-000000000001', 5, E'\t\n')$$),
  ('record_feedback, no lead', $$SELECT lead_score.record_feedback('live', NULL, true)$$),
  ('record_feedback, an unknown reason', $$SELECT lead_score.record_feedback('live', '00000000-0000-0000-0000-000000000001', false, 'too_tall')$$),
  ('set_history, no attachment', $$SELECT lead_score.set_history(NULL)$$),
  ('backfill_history, no attachment', $$SELECT lead_score.backfill_history(NULL, '2026-05-01')$$),
  ('set_history, a zero interval', $$SELECT lead_score.set_history('live', '0 seconds')$$),
  ('set_history, a negative retention', $$SELECT lead_score.set_history('live', '1 hour', '-1 day')$$),
  ('backfill_history, since -infinity', $$SELECT lead_score.backfill_history('live', '-infinity')$$),
  ('distribute, no attachment', $$CALL lead_score.distribute(NULL)$$),
  ('evaluation_rows, no attachment', $$SELECT * FROM lead_score.evaluation_rows(NULL, '2026-06-01')$$),
  ('evaluate_calibration, no bins', $$SELECT * FROM lead_score.evaluate_calibration('live', '2026-06-01', bins => NULL)$$),
  ('backtest, no attachment', $$SELECT * FROM lead_score.backtest(NULL, '2026-06-01')$$),
  ('drop_model of an attached model', $$SELECT lead_score.drop_model('live')$$)
) AS t(call, statement);
-- None of them wrote anything.
SELECT (SELECT count(*) FROM lead_score.models WHERE name IN ('live', '  ', E'\t\u00a0')) AS models,
       (SELECT count(*) FROM lead_score.adjustments) AS adjustments,
       (SELECT count(*) FROM lead_score.feedback) AS feedback,
       (SELECT h.every || ' every, kept ' || h.retention FROM lead_score.history_settings h WHERE h.attachment = 'live') AS history;
-- A bad key is the key's cast failing, and nothing else: an error of the same
-- SQLSTATE from another part of the query (here the reader's row-level
-- security policy, which casts a page to a number) keeps its own message.
CREATE ROLE regress_args_reader IN ROLE lead_score_reader;
GRANT USAGE ON SCHEMA app TO regress_args_reader;
GRANT SELECT ON app.touches TO regress_args_reader;
ALTER TABLE app.touches ENABLE ROW LEVEL SECURITY;
CREATE POLICY pages_are_numbers ON app.touches TO regress_args_reader USING (page::int > 0);
SET ROLE regress_args_reader;
SELECT pg_temp.try($$SELECT * FROM lead_score.timeline('live', '00000000-0000-0000-0000-000000000001')$$) AS policy_error,
       pg_temp.try($$SELECT * FROM lead_score.timeline('live', 'abc')$$) AS key_error;
RESET ROLE;
DROP POLICY pages_are_numbers ON app.touches;
ALTER TABLE app.touches DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON app.touches FROM regress_args_reader;
REVOKE ALL ON SCHEMA app FROM regress_args_reader;
DROP ROLE regress_args_reader;
-- A name no attachment can have (empty, upper case, too long) is no
-- attachment to every function that looks one up: 42704, as for an unknown
-- name. Only attach refuses such a name as a bad value (22023, live_errors).
SELECT call, pg_temp.try(statement) AS error FROM (VALUES
  ('rescore', $$SELECT lead_score.rescore('')$$),
  ('check_consistency', $$SELECT * FROM lead_score.check_consistency('')$$),
  ('current_score', $$SELECT * FROM lead_score.current_score('', 'abc')$$),
  ('timeline', $$SELECT * FROM lead_score.timeline('', 'abc')$$),
  ('top_leads', $$SELECT * FROM lead_score.top_leads('Live')$$),
  ('link_outcomes', $$SELECT lead_score.link_outcomes('', 'app.people', '{}')$$),
  ('evaluate', $$SELECT * FROM lead_score.evaluate('')$$),
  ('suggest_points', $$SELECT * FROM lead_score.suggest_points('', '{stage}')$$),
  ('record_feedback', $$SELECT lead_score.record_feedback('', 'abc', true)$$),
  ('record_history', $$SELECT lead_score.record_history('')$$),
  ('set_history', $$SELECT lead_score.set_history('')$$),
  ('adjust', $$SELECT lead_score.adjust('', 'abc', 5, 'met at a fair')$$),
  ('explain_lead', $$SELECT * FROM lead_score.explain_lead('', 'abc')$$),
  ('explain_account', $$SELECT * FROM lead_score.explain_account(repeat('a', 42), 'acme.com')$$)
) AS t(call, statement);
-- The internal checks of a landmark's age, callable by anyone, take any
-- timestamps: infinite ones are far apart, not an overflow (XX000 before).
SELECT lead_score_internal._rebase_due('live', 'infinity', '-infinity') AS due,
       lead_score_internal._rebase_overdue('live', '-infinity', 'infinity') AS overdue;
-- Once detached, the model can be dropped.
SELECT lead_score.detach('live');
SELECT lead_score.drop_model('live');
RESET lead_score.mock_now;
DROP SCHEMA app CASCADE;
