-- Live scores stay exact as time passes: forward decay never overflows, and
-- window decay is exact for "once" and capped rules.
SET lead_score.mock_now = '2026-06-20 12:00:00+00';
-- Fixtures shared by the live-score files (tests/pg_regress/fixtures/).
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/fixtures/live_app.sql'
\i :fixtures
INSERT INTO app.people VALUES ('00000000-0000-0000-0000-000000000004', 'Software', 'VP', 'di@initech.com');
CREATE VIEW app.new_alerts AS
SELECT right(lead_key, 1) AS person, attachment, kind, detail, round(total::numeric, 3) AS total
FROM lead_score.alerts ORDER BY id;

-- 5000 half-lives later, with tick() moving the landmark as it runs, nothing overflows.
SELECT lead_score.create_model('fast', jsonb_set(lead_score.model_spec('live'), '{engagement,decay,half_life}', '"1 hour"'));
SELECT lead_score.attach('fast', 'app.people', 'app.touches', '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind", "occurred_at": "at", "properties": {"url": "page"}}');
DO $$
DECLARE t timestamptz := '2026-06-20 12:00:00+00';
BEGIN
    FOR i IN 1..100 LOOP
        t := t + interval '50 hours';
        PERFORM set_config('lead_score.mock_now', t::text, true);
        INSERT INTO app.touches (person, kind, at, page) VALUES ('00000000-0000-0000-0000-000000000001', 'page_view', t, '/pricing');
        PERFORM lead_score.tick();
    END LOOP;
    -- 100 × 50 hours = 5000 half-lives.
END $$;
-- Read at the last event: its 7 points (visit + pricing), older events long decayed.
SELECT set_config('lead_score.mock_now', ('2026-06-20 12:00:00+00'::timestamptz + interval '5000 hours')::text, false) IS NOT NULL AS at_last_event;
SELECT engagement = 'Infinity' OR engagement = 'NaN' OR engagement IS NULL AS broken, round(engagement::numeric, 6) AS engagement
FROM lead_score.fast_current WHERE lead_key = '00000000-0000-0000-0000-000000000001';
SELECT * FROM lead_score.check_consistency('fast');
SELECT landmark > '2026-12-01' AS landmark_moved FROM lead_score.attachments WHERE name = 'fast';

-- Window decay stays exact in live scores for "once" and capped rules: they keep
-- only their most recent event times (one, or enough to reach the cap).
SET lead_score.mock_now = '2026-06-20 12:00:00+00';
TRUNCATE app.touches;  -- the events above are dated after this section's time
SELECT lead_score.create_model('recent', jsonb_set(lead_score.model_spec('live'), '{engagement,rules,2,decay}',
                                                   '{"kind": "window", "window": "14 days"}'));
SELECT lead_score.attach('recent', 'app.people', 'app.touches', '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind", "occurred_at": "at", "properties": {"url": "page"}}');
INSERT INTO app.touches (person, kind, at) VALUES ('00000000-0000-0000-0000-000000000004', 'demo_request', '2026-06-10 12:00+00');
SELECT right(lead_key::text, 1) AS person, engagement, mql FROM lead_score.recent_current
WHERE lead_key = '00000000-0000-0000-0000-000000000004';
DELETE FROM lead_score.alerts;
-- Five days later the demo request is 15 days old: out of the window. tick() alerts.
SET lead_score.mock_now = '2026-06-25 12:00:00+00';
SELECT right(lead_key::text, 1) AS person, engagement, mql FROM lead_score.recent_current
WHERE lead_key = '00000000-0000-0000-0000-000000000004';
SELECT lead_score.tick() > 0 AS alerted;
SELECT person, attachment, kind, detail FROM app.new_alerts WHERE attachment = 'recent';
SELECT * FROM lead_score.check_consistency('recent');
-- Live scores hold sums, not events. lead_score.as_of reads them as of any time
-- after a lead's last activity (exactly: the same as the aggregates), but not
-- before it, where they would count later events: that is refused.
SET lead_score.as_of = '2026-06-12 12:00:00+00';
SELECT right(lead_key::text, 1) AS person, engagement, mql FROM lead_score.recent_current
WHERE lead_key = '00000000-0000-0000-0000-000000000004';
SET lead_score.as_of = '2026-06-09 12:00:00+00';
SELECT right(lead_key::text, 1) AS person, engagement FROM lead_score.recent_current
WHERE lead_key = '00000000-0000-0000-0000-000000000004';
RESET lead_score.as_of;
-- tick() finds the leads time alone moved by their classification only
-- (lead_score_internal._live_crossed), not by their whole score: read at any
-- time, it picks the rows whose whole score classifies differently from the
-- stored row, and a row without a stored classification.
SELECT t AS read_at,
       count(*) FILTER (WHERE lead_score_internal._live_crossed(s.state, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, t)) AS crossed,
       count(*) FILTER (WHERE x.mql IS DISTINCT FROM s.mql OR x.quadrant IS DISTINCT FROM s.quadrant
                           OR x.hot_categories IS DISTINCT FROM s.hot_categories) AS classified_differently,
       count(*) FILTER (WHERE lead_score_internal._live_crossed(s.state, s.fit, s.disqualified_by, NULL, NULL, NULL, t)) AS unclassified
FROM lead_score_internal.recent_scores s
CROSS JOIN unnest(ARRAY['2026-06-11 12:00+00', '2026-06-25 12:00+00', '2027-06-01 00:00+00']::timestamptz[]) t
CROSS JOIN LATERAL lead_score_internal._live_score(s.state, s.fit, s.disqualified_by, s.predictive, t) x
GROUP BY t ORDER BY t;
-- It skips the leads time cannot move: where time only lowers a model's
-- scores (no rule with negative points decays), a lead that is no MQL, in no
-- quadrant of high engagement and in no hot category stays so.
-- _lowering_version names the model version for which that holds.
SELECT lead_score_internal._lowering_version('live') = 1 AS live_only_cools;
-- A negative rule that decays gives its points back with time: a lead can then
-- rise across a threshold by time alone, and tick() checks every lead.
SELECT lead_score.create_model('forgiving', jsonb_insert(lead_score.model_spec('live'), '{engagement,rules,3}',
    '{"name": "complaint", "event": "complaint", "points": -30, "decay": {"kind": "exponential", "half_life": "1 hour"}}'));
SELECT lead_score_internal._lowering_version('forgiving') IS NULL AS forgiving_can_rise;
SELECT lead_score.attach('forgiving', 'app.people', 'app.touches', '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind", "occurred_at": "at", "properties": {"url": "page"}}');
SET lead_score.mock_now = '2026-07-01 12:00:00+00';
INSERT INTO app.touches (person, kind, at) VALUES
  ('00000000-0000-0000-0000-000000000004', 'demo_request', '2026-07-01 12:00+00'),
  ('00000000-0000-0000-0000-000000000004', 'complaint', '2026-07-01 12:00+00');
SELECT right(lead_key::text, 1) AS person, round(engagement::numeric, 3) AS engagement, quadrant, mql
FROM lead_score.forgiving_current WHERE lead_key = '00000000-0000-0000-0000-000000000004';
DELETE FROM lead_score.alerts;
-- A day later the complaint is 24 half-lives old: the lead is an MQL, by time alone.
SET lead_score.mock_now = '2026-07-02 12:00:00+00';
SELECT lead_score.tick() > 0 AS alerted;
SELECT person, attachment, kind, detail FROM app.new_alerts WHERE attachment = 'forgiving';
SELECT * FROM lead_score.check_consistency('forgiving');
SELECT lead_score.detach('forgiving');
SELECT lead_score.detach('recent');
SET lead_score.mock_now = '2027-01-14 20:00:00+00';

-- tick() moves the landmark every 64 half-lives. Left unrun for more than 512,
-- an event's forward value would be capped, and it would count for less than
-- it is worth: such an event is refused (55000, naming the rule), never
-- stored wrong. A sync write fails; a deferred one appends, and its readers
-- fail until tick() runs, which moves the landmark and folds it in full.
SELECT lead_score.attach('fast', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'fast'),
                         name => 'quick', mode => 'deferred') IS NOT NULL AS attached;
SELECT name, landmark FROM lead_score.attachments WHERE name IN ('fast', 'quick') ORDER BY name;
SET lead_score.mock_now = '2027-02-07 20:00:00+00';  -- 24 days later: no tick() ran
\set VERBOSITY terse
INSERT INTO app.touches (person, kind, at, page) VALUES ('00000000-0000-0000-0000-000000000001', 'page_view', '2027-02-07 19:00:00+00', '/pricing');
SELECT lead_score.detach('fast');
INSERT INTO app.touches (person, kind, at, page) VALUES ('00000000-0000-0000-0000-000000000001', 'page_view', '2027-02-07 19:00:00+00', '/pricing');
SELECT total FROM lead_score.current_score('quick', '00000000-0000-0000-0000-000000000001'::uuid);
\set VERBOSITY default
SELECT lead_score.tick() >= 0 AS ticked;
SELECT name, landmark FROM lead_score.attachments WHERE name = 'quick';
-- The visit (2) and pricing (5) points, one half-life old.
SELECT round(engagement::numeric, 6) AS engagement FROM lead_score.current_score('quick', '00000000-0000-0000-0000-000000000001'::uuid);
SELECT * FROM lead_score.check_consistency('quick');
-- Publishing a version with a shorter half-life can find the landmark more
-- than 512 of its half-lives before an event: here 1 hour to 1 minute, 23
-- hours after the landmark, with a visit a minute old. The publish moves the
-- landmark, as tick() would (rescored at the old landmark, the visit was
-- refused with 55000: 1,379 half-lives after it), and scores the visit in
-- full: 7 points, one half-life old. It computes every state at the new
-- landmark, so moving the landmark rewrites none: each score row is
-- written once (the rescore's upsert), not twice. (The count is this
-- transaction's; the flush before it sends earlier ones' counts away.)
SET lead_score.mock_now = '2027-02-08 19:00:00+00';
INSERT INTO app.touches (person, kind, at, page) VALUES ('00000000-0000-0000-0000-000000000001', 'page_view', '2027-02-08 18:59:00+00', '/pricing');
SELECT pg_stat_force_next_flush();
BEGIN;
SELECT lead_score.create_model('fast', jsonb_set(lead_score.model_spec('fast'), '{engagement,decay,half_life}', '"1 minute"')) AS version;
SELECT pg_stat_get_xact_tuples_updated('lead_score_internal.quick_scores'::regclass) AS score_row_writes,
       (SELECT count(*) FROM lead_score_internal.quick_scores) AS score_rows;
COMMIT;
SELECT name, landmark FROM lead_score.attachments WHERE name = 'quick';
SELECT round(engagement::numeric, 6) AS engagement FROM lead_score.current_score('quick', '00000000-0000-0000-0000-000000000001'::uuid);
SELECT * FROM lead_score.check_consistency('quick');
SELECT lead_score.detach('quick');
RESET lead_score.mock_now;
DROP SCHEMA app CASCADE;
SELECT lead_score.drop_model(m) FROM unnest(ARRAY['live', 'fast', 'recent', 'forgiving']) m;
