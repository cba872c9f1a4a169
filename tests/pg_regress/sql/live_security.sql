-- Security of live scores. Each case below was an exploit or a leak before the
-- live path was generated in Rust; each is refused or harmless now.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
\getenv abs_srcdir PG_ABS_SRCDIR
\set try :abs_srcdir '/fixtures/try.sql'
\i :try
-- The roles: a table owner, an application that only writes its tables, an
-- analyst (lead_score_reader), a model admin (lead_score_admin) and a stranger.
SET client_min_messages = warning;
DROP ROLE IF EXISTS ls_owner, ls_app, ls_analyst, ls_admin, ls_stranger;
RESET client_min_messages;
CREATE ROLE ls_owner;
CREATE ROLE ls_app;
CREATE ROLE ls_analyst IN ROLE lead_score_reader;
CREATE ROLE ls_admin IN ROLE lead_score_admin;
CREATE ROLE ls_stranger;
CREATE SCHEMA sec_crm AUTHORIZATION ls_owner;

-- 1. No escalation through the triggers. The owner keys its leads by an enum
-- and defines a cast of it to text that records who runs it: in a trigger
-- running as a superuser it could make its owner a superuser.
SET ROLE ls_owner;
CREATE TYPE sec_crm.lead_key AS ENUM ('k1', 'k2', 'k3');
CREATE TABLE sec_crm.ran_as (who name, superuser boolean);
CREATE FUNCTION sec_crm.lk_text(sec_crm.lead_key) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sec_crm.ran_as SELECT current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
    RETURN 'x';
END $$;
CREATE CAST (sec_crm.lead_key AS text) WITH FUNCTION sec_crm.lk_text(sec_crm.lead_key);
CREATE TABLE sec_crm.leads (id sec_crm.lead_key PRIMARY KEY, sector text, job text, email text);
CREATE TABLE sec_crm.events (lead_id sec_crm.lead_key, type text NOT NULL, occurred_at timestamptz NOT NULL, url text);
CREATE INDEX ON sec_crm.events (lead_id);
GRANT USAGE ON SCHEMA sec_crm TO ls_app, ls_admin, ls_analyst;
GRANT INSERT ON sec_crm.ran_as TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON sec_crm.leads, sec_crm.events TO ls_app;
GRANT SELECT, TRIGGER ON sec_crm.leads, sec_crm.events TO ls_admin;
RESET ROLE;
-- The model of live.sql, published and attached by the admin, both ways.
\set fixtures :abs_srcdir '/fixtures/live_model.sql'
SET ROLE ls_admin;
\i :fixtures
SELECT lead_score.attach('live', 'sec_crm.leads', 'sec_crm.events', name => 'sec_sync') IS NOT NULL AS attached;
SELECT lead_score.attach('live', 'sec_crm.leads', 'sec_crm.events', name => 'sec_deferred', mode => 'deferred') IS NOT NULL AS attached;
RESET ROLE;
-- The owner writes: a lead, its events, a burst that alerts, an update, a delete.
SET ROLE ls_owner;
INSERT INTO sec_crm.leads VALUES ('k1', 'Software', 'VP Sales', 'ann@acme.com'), ('k2', 'Retail', 'Intern', 'bo@x.com');
INSERT INTO sec_crm.events SELECT 'k1', 'page_view', '2026-06-01 11:00+00'::timestamptz + i * interval '10 minutes', '/pricing'
FROM generate_series(0, 2) i;
UPDATE sec_crm.events SET url = '/pricing/x' WHERE lead_id = 'k1' AND occurred_at = '2026-06-01 11:00+00';
DELETE FROM sec_crm.leads WHERE id = 'k2';
RESET ROLE;
-- The cast never ran: keys are turned into text by their output function.
SELECT count(*) AS cast_calls FROM sec_crm.ran_as;
SELECT lead_key, kind, detail FROM lead_score.alerts WHERE attachment = 'sec_sync' ORDER BY id;
SELECT lead_score.tick() >= 0 AS ticked;
SELECT * FROM lead_score.check_consistency('sec_sync');
SELECT * FROM lead_score.check_consistency('sec_deferred');
-- The planner runs a table owner's code too: it folds immutable functions in
-- CHECK constraints (with constraint_exclusion) and in index expressions of
-- the tables a query reads. The triggers read the owner's activity table only
-- as its owner (in a security-restricted operation), so that code runs as the
-- owner, never as the trigger's owner.
SET ROLE ls_owner;
CREATE FUNCTION sec_crm.imm() RETURNS boolean LANGUAGE sql IMMUTABLE
AS $$ SELECT sec_crm.lk_text('k1') IS NOT NULL $$;
ALTER TABLE sec_crm.events ADD CONSTRAINT planner_runs_me CHECK (sec_crm.imm() OR lead_id IS NULL);
CREATE INDEX events_by_imm ON sec_crm.events ((sec_crm.imm() AND lead_id IS NOT NULL));
DELETE FROM sec_crm.ran_as;
RESET ROLE;
-- A new session, so nothing about these tables is cached yet.
\c
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
SET constraint_exclusion = on;
SET ROLE ls_app;
INSERT INTO sec_crm.leads VALUES ('k3', 'Software', 'CTO', 'cy@x.com');
DELETE FROM sec_crm.events WHERE lead_id = 'k1' AND url = '/pricing/x';
UPDATE sec_crm.events SET url = '/pricing/y' WHERE lead_id = 'k1';
RESET ROLE;
SELECT who, superuser, count(*) > 0 AS ran FROM sec_crm.ran_as GROUP BY 1, 2 ORDER BY 1;
DELETE FROM sec_crm.leads WHERE id = 'k3';
SELECT * FROM lead_score.check_consistency('sec_sync');
SET ROLE ls_owner;
ALTER TABLE sec_crm.events DROP CONSTRAINT planner_runs_me;
DROP INDEX sec_crm.events_by_imm;
DROP FUNCTION sec_crm.imm();
DELETE FROM sec_crm.ran_as;
RESET ROLE;
\set try :abs_srcdir '/fixtures/try.sql'
\i :try

-- Triggers only read built-in types, enums, domains over them and arrays of
-- those. A version whose fit reads a column of another user-defined type is
-- refused when published (0A000), as attach refuses it, and nothing is
-- stored: before, it was published, and every write to the leads table by a
-- role but the extension's owner failed in the trigger (42501). A fit field
-- that is no column of an attached table is refused too (42703): a first lead
-- write found it before.
SET ROLE ls_owner;
CREATE TYPE sec_crm.budget AS (amount numeric, currency text);
ALTER TABLE sec_crm.leads ADD COLUMN budget sec_crm.budget;
RESET ROLE;
SELECT pg_temp.try($$SELECT lead_score.create_model('live', jsonb_set(lead_score.model_spec('live'), '{fit,rules}',
    lead_score.model_spec('live') -> 'fit' -> 'rules' || '[{"name": "budget", "when": {"field": "budget", "present": true}, "points": 5}]'))$$) AS composite;
SELECT pg_temp.try($$SELECT lead_score.create_model('live', jsonb_set(lead_score.model_spec('live'), '{fit,rules}',
    lead_score.model_spec('live') -> 'fit' -> 'rules' || '[{"name": "size", "when": {"field": "emploees", "gte": 100}, "points": 5}]'))$$) AS no_column;
SELECT max(version) AS newest FROM lead_score.model_versions v JOIN lead_score.models m ON m.id = v.model_id WHERE m.name = 'live';
SELECT count(*) AS cast_calls FROM sec_crm.ran_as;
-- An array of enums and an array of a domain over a built-in type are read
-- as their elements are (the triggers refused both, 42501, to any writer but
-- the extension's owner).
BEGIN;
SET LOCAL client_min_messages = warning;
SET ROLE ls_owner;
CREATE TYPE sec_crm.tier AS ENUM ('gold', 'silver');
CREATE DOMAIN sec_crm.day AS date;
ALTER TABLE sec_crm.leads ADD COLUMN tiers sec_crm.tier[], ADD COLUMN days sec_crm.day[];
RESET ROLE;
SELECT lead_score.create_model('live', jsonb_set(lead_score.model_spec('live'), '{fit,rules}',
    lead_score.model_spec('live') -> 'fit' -> 'rules' || '[{"name": "gold", "when": {"field": "tiers", "contains": "gold"}, "points": 5},
                                                          {"name": "dated", "when": {"field": "days", "contains": "2026-06"}, "points": 1}]')) AS version;
SET ROLE ls_app;
INSERT INTO sec_crm.leads (id, sector, job, email, tiers, days) VALUES ('k3', 'Software', 'CTO', 'k3@x.com', '{gold}', '{2026-06-01}');
RESET ROLE;
SELECT lead_key, fit FROM lead_score.sec_sync_current WHERE lead_key = 'k3';
-- Their labels are read as the enum's: renaming one is refused (2BP01), as
-- for a column of the enum itself (it went through, and the stored scores
-- counted a label no row had any more).
SELECT pg_temp.try($$ALTER TYPE sec_crm.tier RENAME VALUE 'gold' TO 'platinum'$$) AS renamed;
-- A field of a type the triggers do not read can be read through a
-- generated column of a built-in type.
SET ROLE ls_owner;
ALTER TABLE sec_crm.leads ADD COLUMN currency text GENERATED ALWAYS AS ((budget).currency) STORED;
RESET ROLE;
SELECT lead_score.create_model('live', jsonb_set(lead_score.model_spec('live'), '{fit,rules}',
    lead_score.model_spec('live') -> 'fit' -> 'rules' || '[{"name": "euro budget", "when": {"field": "currency", "eq": "EUR"}, "points": 7}]')) AS version;
SET ROLE ls_app;
UPDATE sec_crm.leads SET budget = ROW(10, 'EUR') WHERE id = 'k3';
RESET ROLE;
SELECT lead_key, fit FROM lead_score.sec_sync_current WHERE lead_key = 'k3';
SELECT count(*) AS mismatches FROM lead_score.check_consistency('sec_sync');
ROLLBACK;
SET ROLE ls_owner;
ALTER TABLE sec_crm.leads DROP COLUMN budget;
RESET ROLE;

-- 2. An application that only writes its own tables needs no grants on lead_score,
-- in either mode; its scores are current in its own transaction.
SET ROLE ls_app;
BEGIN;
INSERT INTO sec_crm.leads VALUES ('k2', 'Software', 'VP', 'di@x.com');
INSERT INTO sec_crm.events VALUES ('k2', 'demo_request', '2026-06-01 10:00+00', NULL);
COMMIT;
SELECT pg_temp.try('SELECT count(*) FROM lead_score.sec_sync_current') AS app_reads_scores;
RESET ROLE;
SELECT lead_key, round(total::numeric, 3) AS total, mql FROM lead_score.sec_sync_current ORDER BY 1;
SELECT lead_key, round(total::numeric, 3) AS total, mql FROM lead_score.sec_deferred_current ORDER BY 1;

-- 3. A writer's settings never corrupt stored state: lead_score.as_of moves
-- reads only. An event dated far ahead counts as of the write.
SET ROLE ls_app;
SET lead_score.as_of = '2200-01-01';
INSERT INTO sec_crm.events VALUES ('k2', 'page_view', '2200-01-01', '/blog');
RESET lead_score.as_of;
RESET ROLE;
SELECT lead_key, round(engagement::numeric, 3) AS engagement FROM lead_score.sec_sync_current WHERE lead_key = 'k2';
DELETE FROM sec_crm.events WHERE occurred_at > '2100-01-01';

-- 4. Least privilege. The analyst reads scores, rules and alerts, and changes nothing.
SET ROLE ls_analyst;
SELECT count(*) AS leads FROM lead_score.sec_sync_current;
SELECT lead_key FROM lead_score.top_leads('sec_deferred', 1);
SELECT (lead_score.current_score('sec_sync', 'k1'::sec_crm.lead_key)).grade, (lead_score.current_score('sec_sync', 'k1')).grade AS by_text;
SELECT count(*) > 0 AS has_rules FROM lead_score.model_rules WHERE model = 'live';
SELECT count(*) > 0 AS has_alerts FROM lead_score.alerts;
SELECT lead_score.grade(model => 'live', fit => 60);
SELECT attachment, pending_events >= 0 AS sees_pending FROM lead_score.pending_summary() WHERE attachment LIKE 'sec%';
SELECT what, pg_temp.try(statement) AS result FROM (VALUES
  ('create a model', $$SELECT lead_score.create_model('mine', lead_score.model_spec('live'))$$),
  ('attach', $$SELECT lead_score.attach('live', 'sec_crm.leads', 'sec_crm.events', name => 'mine')$$),
  ('install directly', $$SELECT lead_score_internal._attach_install('mine', 'live', 'sec_crm.leads'::regclass::oid, 'sec_crm.events'::regclass::oid, '{}', 'sync')$$),
  ('edit attachments', $$UPDATE lead_score.attachments SET model = 'live'$$),
  ('detach', $$SELECT lead_score.detach('sec_sync')$$),
  ('tick', $$SELECT lead_score.tick()$$),
  ('rescore', $$SELECT lead_score.rescore('sec_sync')$$),
  ('write scores', $$UPDATE lead_score_internal.sec_sync_scores SET fit = 100$$),
  ('stall writers', $$LOCK TABLE lead_score_internal.sec_sync_scores IN SHARE MODE$$),
  ('lock stripes', $$SELECT 1 FROM lead_score_internal.sec_sync_stripes FOR UPDATE$$)
) AS t(what, statement);
RESET ROLE;
-- A stranger reads nothing, and errors carry no Rust backtrace (the test
-- server runs with RUST_BACKTRACE=1).
SET ROLE ls_stranger;
SELECT pg_temp.try('SELECT count(*) FROM lead_score.alerts') AS read_alerts;
SELECT pg_temp.try('SELECT count(*) FROM lead_score.pending_summary()') AS read_pending;
RESET ROLE;
-- USAGE on lead_score alone is not enough: the functions read lead_score_internal
-- too (lead_score_reader has USAGE on both) ...
GRANT USAGE ON SCHEMA lead_score TO ls_stranger;
SET ROLE ls_stranger;
SELECT lead_score.grade('live', 60);
RESET ROLE;
-- ... and with both, the models are still not theirs to read.
GRANT USAGE ON SCHEMA lead_score_internal TO ls_stranger;
SET ROLE ls_stranger;
SELECT lead_score.grade('live', 60);
RESET ROLE;
REVOKE USAGE ON SCHEMA lead_score, lead_score_internal FROM ls_stranger;
-- An admin may only attach tables it can read and trigger.
SET ROLE ls_owner;
CREATE TABLE sec_crm.private (id sec_crm.lead_key PRIMARY KEY);
RESET ROLE;
SET ROLE ls_admin;
SELECT pg_temp.try($$SELECT lead_score.attach('live', 'sec_crm.private', 'sec_crm.events', name => 'private')$$) AS attach_private;
-- Calling _attach_install directly, an admin cannot make an attachment read other
-- columns for the model's event properties than attach would (here none, for "url").
SELECT pg_temp.try($$SELECT lead_score_internal._attach_install('pc0', 'live', 'sec_crm.leads'::regclass::oid,
    'sec_crm.events'::regclass::oid, '{"lead_key": "id", "activity_lead_key": "lead_id", "event_type": "type",
    "occurred_at": "occurred_at", "properties": {}, "property_columns": []}', 'sync')$$) AS install_without_properties;
-- The admin ticks, rescores, publishes and detaches.
SELECT lead_score.tick() >= 0 AS ticked, lead_score.rescore('sec_sync') AS rescored;
SELECT lead_score.detach(attachment => 'sec_deferred');
RESET ROLE;

-- 5. No SQL injection through any name: a model, its attachment's tables and
-- every mapped column are named with dollar quotes, quotes, semicolons,
-- backslashes, spaces and unicode, with function bodies checked and not.
CREATE SCHEMA "we$$ird;";
CREATE TABLE "we$$ird;"."le$body$ads" ("k'e;y $body$" bigint PRIMARY KEY, "sec\tor" text);
CREATE TABLE "we$$ird;"."ev $$ ents" ("k'e;y $body$" bigint, "ty""pe" text, "at\" timestamptz, "ü $$" text);
SELECT lead_score.create_model(E'x$body$; CREATE TABLE public.pwned (); SELECT $body$ \\ \'q\' ü', '{
  "fit": {"rules": [{"name": "software", "when": {"field": "sec\\tor", "eq": "Software"}, "points": 40}]},
  "engagement": {"properties": ["ü $$"], "decay": {"kind": "exponential", "half_life": "7 days"},
                 "rules": [{"name": "pricing", "event": "page_view", "when": {"field": "ü $$", "contains": "/pricing"}, "points": 5}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 10, "engagement": 10}, "mql": {"min_total": 20}}}');
SET check_function_bodies = off;
SELECT lead_score.attach(E'x$body$; CREATE TABLE public.pwned (); SELECT $body$ \\ \'q\' ü',
    '"we$$ird;"."le$body$ads"', '"we$$ird;"."ev $$ ents"',
    '{"lead_key": "k''e;y $body$", "activity_lead_key": "k''e;y $body$", "event_type": "ty\"pe",
      "occurred_at": "at\\", "properties": {"ü $$": "ü $$"}}', name => 'weird_off') IS NOT NULL AS attached;
SET check_function_bodies = on;
SELECT lead_score.attach(E'x$body$; CREATE TABLE public.pwned (); SELECT $body$ \\ \'q\' ü',
    '"we$$ird;"."le$body$ads"', '"we$$ird;"."ev $$ ents"',
    '{"lead_key": "k''e;y $body$", "activity_lead_key": "k''e;y $body$", "event_type": "ty\"pe",
      "occurred_at": "at\\", "properties": {"ü $$": "ü $$"}}', name => 'weird_on', mode => 'deferred') IS NOT NULL AS attached;
INSERT INTO "we$$ird;"."le$body$ads" VALUES (1, 'Software');
INSERT INTO "we$$ird;"."ev $$ ents" VALUES (1, 'page_view', '2026-06-01 11:00+00', '/pricing');
SELECT to_regclass('public.pwned') IS NULL AS nothing_injected;
SELECT round(total::numeric, 3) AS off_total FROM lead_score.weird_off_current;
SELECT round(total::numeric, 3) AS on_total FROM lead_score.weird_on_current;
SELECT * FROM lead_score.check_consistency('weird_off');
SELECT * FROM lead_score.check_consistency('weird_on');
SELECT lead_score.detach('weird_off'), lead_score.detach('weird_on');

-- 6. A caller's search_path never changes what a backend caches. A model is
-- compiled once per backend and version, and kept for every later statement,
-- the triggers' too. An analyst who puts its own schema first, with an "=" on
-- bigint that takes the id of "live" for that of another model, used to make
-- a call of lead_score.grade compile that model's rules as "live"'s: the
-- triggers then scored every write of the backend with them.
-- The decoy gives everyone 95 points, at the version "live" is at.
SET ROLE ls_admin;
SELECT max(lead_score.create_model('decoy', jsonb_set(lead_score.model_spec('live'), '{fit}',
    jsonb_build_object('rules', jsonb_build_array(jsonb_build_object('name', 'everyone',
        'when', '{"field": "email", "contains": "@"}'::jsonb, 'points', CASE WHEN v = n THEN 95 ELSE v END))))))
    = max(n) AS published
FROM (SELECT current_version AS n FROM lead_score.models WHERE name = 'live') m, generate_series(1, m.n) v;
SELECT (SELECT current_version FROM lead_score.models WHERE name = 'decoy')
     = (SELECT current_version FROM lead_score.models WHERE name = 'live') AS same_version;
RESET ROLE;
CREATE SCHEMA sec_evil AUTHORIZATION ls_analyst;
SET ROLE ls_analyst;
DO $$
BEGIN
    EXECUTE format('CREATE FUNCTION sec_evil.eq8(a bigint, b bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS %L',
                   format('SELECT CASE WHEN b OPERATOR(pg_catalog.=) %s THEN a OPERATOR(pg_catalog.=) %s
                                       ELSE a OPERATOR(pg_catalog.=) b END',
                          (SELECT id FROM lead_score.models WHERE name = 'live'),
                          (SELECT id FROM lead_score.models WHERE name = 'decoy')));
END
$$;
CREATE OPERATOR sec_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sec_evil.eq8);
RESET ROLE;
-- A new session, where "live" is not compiled yet.
\c
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
SET ROLE ls_analyst;
SET search_path = sec_evil, pg_catalog;
SELECT lead_score.grade('live', 0) AS grade;
RESET search_path;
RESET ROLE;
-- The application's next write, in the same backend, is scored by "live".
SET ROLE ls_app;
INSERT INTO sec_crm.leads (id, sector, job, email) VALUES ('k3', 'Nothing', 'intern', 'x@y.z');
RESET ROLE;
SELECT lead_key, fit, round(total::numeric, 3) AS total FROM lead_score.sec_sync_current WHERE lead_key = 'k3';
SELECT * FROM lead_score.check_consistency('sec_sync');
DELETE FROM sec_crm.leads WHERE id = 'k3';
DROP SCHEMA sec_evil CASCADE;
SELECT lead_score.drop_model('decoy');

-- Columns named as the generated SQL's aliases and variables are yours to add:
-- a leads column named l (read before the row alias l, so the column was
-- scored instead of the row: an error, or, for a composite with the fit
-- fields, a wrong fit) and one named v_model_id (every lead write failed as
-- ambiguous with the variable) change nothing.
BEGIN;
CREATE TABLE sec_crm.named (id bigint PRIMARY KEY, sector text, job text, email text, l text, v_model_id int, v_landmark text, fresh int, st int);
CREATE TABLE sec_crm.named_acts (id bigserial PRIMARY KEY, lead_id bigint NOT NULL, type text NOT NULL, at timestamptz NOT NULL, url text, l int, v_model_id int);
CREATE INDEX ON sec_crm.named_acts (lead_id);
INSERT INTO sec_crm.named (id, sector, job, l) VALUES (1, 'Software', 'VP Sales', 'x');
SET LOCAL client_min_messages = warning;
SELECT lead_score.attach('live', 'sec_crm.named', 'sec_crm.named_acts', '{"lead_key": "id", "occurred_at": "at"}', name => 'named') IS NOT NULL AS attached,
       lead_score.attach('live', 'sec_crm.named', 'sec_crm.named_acts', '{"lead_key": "id", "occurred_at": "at"}', name => 'named_d', mode => 'deferred') IS NOT NULL AS attached_deferred;
RESET client_min_messages;
INSERT INTO sec_crm.named (id, sector, job, l, v_model_id) VALUES (2, 'Software', 'VP Sales', 'y', 7);
INSERT INTO sec_crm.named_acts (lead_id, type, at) VALUES (1, 'demo_request', '2026-06-01 11:00+00'), (2, 'page_view', '2026-06-01 11:00+00');
UPDATE sec_crm.named SET sector = 'Retail' WHERE id = 2;
DELETE FROM sec_crm.named_acts WHERE lead_id = 2;
SELECT lead_score.tick() >= 0 AS ticked, lead_score.rescore('named') AS rescored;
SELECT lead_key, round(fit::numeric, 2) AS fit, round(engagement::numeric, 2) AS engagement FROM lead_score.named_current ORDER BY 1;
SELECT count(*) AS explained FROM lead_score.explain_lead('named', '1');
SELECT (SELECT count(*) FROM lead_score.check_consistency('named')) AS sync_mismatches,
       (SELECT count(*) FROM lead_score.check_consistency('named_d')) AS deferred_mismatches;
ROLLBACK;

-- Clean up.
SELECT lead_score.detach('sec_sync');
DROP SCHEMA "we$$ird;" CASCADE;
DROP SCHEMA sec_crm CASCADE;
SELECT lead_score.drop_model(m) FROM unnest(ARRAY['live', E'x$body$; CREATE TABLE public.pwned (); SELECT $body$ \\ \'q\' ü']) m;
DROP ROLE ls_owner, ls_app, ls_analyst, ls_admin, ls_stranger;
RESET lead_score.mock_now;
