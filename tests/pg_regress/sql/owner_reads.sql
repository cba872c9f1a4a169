-- lead_score reads a user's tables only as their owner (in a
-- security-restricted operation), or as the role that calls it. Planning a
-- read of a table can run its owner's code: the planner folds immutable
-- functions in CHECK constraints, index expressions and the expressions of
-- extended statistics. So:
--   * the triggers read the activity table as its owner (live_security.sql);
--   * the account checks of attach, publishing and tick(), which run as the
--     extension's owner, read the leads table's account column as its owner,
--     never the leads table themselves;
--   * the owner needs no rights on lead_score's schemas for either: values
--     whose text depends on settings are written as text after the read;
--   * _attach_install, which admins may call, reads no table but the two it
--     is given.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
\getenv abs_srcdir PG_ABS_SRCDIR
\set try :abs_srcdir '/fixtures/try.sql'
\i :try
SET client_min_messages = warning;
DROP ROLE IF EXISTS or_owner, or_admin, or_reader, or_writer;
RESET client_min_messages;
-- The owner of the tables is no lead_score role at all.
CREATE ROLE or_owner;
CREATE ROLE or_admin IN ROLE lead_score_admin;
CREATE SCHEMA or_crm AUTHORIZATION or_owner;

SET ROLE or_owner;
CREATE TABLE or_crm.ran_as (who name, superuser boolean);
CREATE FUNCTION or_crm.log_it() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO or_crm.ran_as SELECT current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
    RETURN true;
END $$;
-- Declared immutable, so the planner runs it while it plans.
CREATE FUNCTION or_crm.imm() RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN or_crm.log_it(); END $$;
CREATE TABLE or_crm.leads (id bigint PRIMARY KEY, company text, title text);
-- Two event properties whose text depends on settings: a float and a timestamptz.
CREATE TABLE or_crm.acts (lead_id bigint NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL,
                          amount float8, seen timestamptz);
CREATE INDEX ON or_crm.acts (lead_id);
INSERT INTO or_crm.leads VALUES (1, 'acme.com', 'VP'), (2, 'acme.com', 'Intern'), (3, 'globex.com', 'VP');
GRANT USAGE ON SCHEMA or_crm TO or_admin;
GRANT SELECT, TRIGGER ON or_crm.leads, or_crm.acts TO or_admin;
GRANT INSERT ON or_crm.ran_as TO PUBLIC;
-- An empty table named like a catalog, and leads keyed like it, which an
-- admin may attach.
CREATE TABLE or_crm.pg_authid (oid oid, rolname name, rolvaliduntil timestamptz, rolpassword text);
CREATE TABLE or_crm.role_leads (oid oid PRIMARY KEY, company text, title text);
GRANT SELECT, TRIGGER ON or_crm.pg_authid, or_crm.role_leads TO or_admin;
RESET ROLE;

SET ROLE or_admin;
SELECT lead_score.create_model('or_model', '{
  "fit": {"rules": [{"name": "vp", "when": {"field": "title", "eq": "VP"}, "points": 30}]},
  "engagement": {"properties": ["amount", "seen"],
    "decay": {"kind": "exponential", "half_life": "30 days"},
    "rules": [
      {"name": "paid", "event": "order", "when": {"field": "amount", "eq": "1.5"}, "points": 20},
      {"name": "seen in UTC", "event": "order", "when": {"field": "seen", "regex": "^2026-06-01 10:00:00\\+00$"}, "points": 5},
      {"name": "webinar", "event": "webinar", "points": 25}]},
  "classification": {"grades": [{"name": "A", "min": 30}, {"name": "B"}],
    "labels": [{"name": "hot", "min": 30}, {"name": "cold"}],
    "quadrant": {"fit": 30, "engagement": 30}, "mql": {"min_total": 60}},
  "accounts": {"field": "company", "alert": 65}}') IS NOT NULL AS published;
SELECT lead_score.attach('or_model', 'or_crm.leads', 'or_crm.acts', name => 'or_live') IS NOT NULL AS attached;
-- _attach_install takes only the mapping keys attach writes. The names of the
-- tables for Citus nodes are distribute's to write, from the attachment's own
-- tables: here the name resolves to the empty table now, and would resolve to
-- the real catalog (password hashes) where the triggers pin search_path.
SET search_path = or_crm, pg_catalog;
SELECT pg_temp.try($$SELECT lead_score_internal._attach_install('or_forged', 'or_model', 'or_crm.role_leads'::regclass,
    'or_crm.pg_authid'::regclass, '{"lead_key": "oid", "activity_lead_key": "oid", "event_type": "rolname",
    "occurred_at": "rolvaliduntil", "properties": {}, "property_columns": ["rolpassword", "rolvaliduntil"],
    "citus_activities": "pg_authid"}', 'sync')$$) AS forged_mapping;
RESET search_path;
RESET ROLE;
SELECT count(*) AS forged FROM lead_score.attachments WHERE name = 'or_forged';

-- The trap: statistics on an expression that calls the owner's function.
SET ROLE or_owner;
CREATE STATISTICS or_crm.trap ON ((or_crm.imm() AND id IS NOT NULL)) FROM or_crm.leads;
RESET ROLE;
-- A new session, so nothing about the table is cached yet, in another time zone.
\c
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
SET TimeZone = 'America/New_York';
-- The owner writes events, deletes one (the lead is recomputed from the
-- table, read as the owner) and adds a lead that has events already.
SET ROLE or_owner;
INSERT INTO or_crm.acts VALUES
  (1, 'order', '2026-06-01 10:00+00', 1.5, '2026-06-01 10:00+00'),
  (1, 'order', '2026-06-01 10:30+00', 2.5, '2026-06-01 10:30+00'),
  (1, 'webinar', '2026-06-01 11:00+00', NULL, NULL),
  (2, 'webinar', '2026-06-01 11:00+00', NULL, NULL),
  (4, 'order', '2026-06-01 11:00+00', 1.5, '2026-06-01 10:00+00');
DELETE FROM or_crm.acts WHERE lead_id = 1 AND amount = 2.5;
INSERT INTO or_crm.leads VALUES (4, 'globex.com', 'Intern');
-- Everything below runs as the admin until the owner's function has been
-- looked at: a superuser reading the leads table would run it too.
SET ROLE or_admin;
-- 'paid' and 'seen in UTC' counted, in this time zone too.
SELECT lead_key, round(engagement::numeric, 3) AS engagement FROM lead_score.or_live_current ORDER BY 1;
SELECT * FROM lead_score.check_consistency('or_live');
-- tick() checks the accounts: acme reaches the alert.
SELECT lead_score.tick() >= 0 AS ticked;
-- Publishing a version records the accounts again.
SELECT lead_score.create_model('or_model', lead_score.model_spec('or_model')) IS NOT NULL AS republished;
RESET ROLE;
-- The owner's function ran, always as a role that is no superuser: the owner
-- (account checks, triggers) or the admin (reads as the caller). Before, the
-- account checks ran it as the extension's owner.
SELECT who IN ('or_owner', 'or_admin') AS ours, superuser, count(*) > 0 AS ran
FROM or_crm.ran_as GROUP BY 1, 2 ORDER BY 1, 2;
SELECT lead_key, kind, detail FROM lead_score.alerts WHERE attachment = 'or_live' AND kind = 'account' ORDER BY id;
-- What the checks recorded is what the accounts view says.
SELECT h.account, h.alerting, round(h.total::numeric, 3) = round(a.total::numeric, 3) AS total_as_view
FROM lead_score_internal.or_live_account_heads h JOIN lead_score.or_live_accounts a USING (account) ORDER BY 1;

-- The checks find each lead by its key read back from text; an enum's by its
-- label. initech alerts from the start: attach records that once it has
-- scored the leads, so tick() sends no alert for it (it did before).
SET ROLE or_owner;
CREATE TYPE or_crm.person AS ENUM ('ann', 'bo');
CREATE TABLE or_crm.people (id or_crm.person PRIMARY KEY, company text, title text);
CREATE TABLE or_crm.touches (lead_id or_crm.person NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL,
                             amount float8, seen timestamptz);
CREATE INDEX ON or_crm.touches (lead_id);
INSERT INTO or_crm.people VALUES ('ann', 'initech.com', 'VP'), ('bo', 'initech.com', 'Intern');
INSERT INTO or_crm.touches VALUES ('ann', 'webinar', '2026-06-01 11:00+00', NULL, NULL),
                                  ('bo', 'webinar', '2026-06-01 11:00+00', NULL, NULL);
GRANT SELECT, TRIGGER ON or_crm.people, or_crm.touches TO or_admin;
RESET ROLE;
SET ROLE or_admin;
SELECT lead_score.attach('or_model', 'or_crm.people', 'or_crm.touches', name => 'or_enum') IS NOT NULL AS attached;
SELECT lead_score.tick() >= 0 AS ticked;
RESET ROLE;
SELECT h.account, h.alerting, round(h.total::numeric, 3) = round(a.total::numeric, 3) AS total_as_view
FROM lead_score_internal.or_enum_account_heads h JOIN lead_score.or_enum_accounts a USING (account) ORDER BY 1;
SELECT lead_key, kind, detail FROM lead_score.alerts WHERE attachment = 'or_enum' AND kind = 'account' ORDER BY id;
SELECT lead_score.detach('or_enum');
DELETE FROM lead_score.alerts WHERE attachment = 'or_enum';
-- A uuid key, and an account held in a float column, whose text depends on
-- settings: the owner's read writes it as the view does, in any session.
SET ROLE or_owner;
CREATE TABLE or_crm.contacts (id uuid PRIMARY KEY, company float8, title text);
CREATE TABLE or_crm.calls (lead_id uuid NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL,
                           amount float8, seen timestamptz);
CREATE INDEX ON or_crm.calls (lead_id);
INSERT INTO or_crm.contacts VALUES ('00000000-0000-0000-0000-000000000001', 0.1, 'VP'),
                                   ('00000000-0000-0000-0000-000000000002', 0.1, 'Intern'),
                                   ('00000000-0000-0000-0000-000000000003', 2.5, 'VP');
INSERT INTO or_crm.calls VALUES ('00000000-0000-0000-0000-000000000002', 'webinar', '2026-06-01 11:00+00', NULL, NULL);
GRANT SELECT, TRIGGER ON or_crm.contacts, or_crm.calls TO or_admin;
RESET ROLE;
SET ROLE or_admin;
SET extra_float_digits = 3;
SELECT lead_score.attach('or_model', 'or_crm.contacts', 'or_crm.calls', name => 'or_uuid') IS NOT NULL AS attached;
RESET extra_float_digits;
SELECT lead_score.tick() >= 0 AS ticked;
RESET ROLE;
SELECT h.account, h.alerting, round(h.total::numeric, 3) = round(a.total::numeric, 3) AS total_as_view
FROM lead_score_internal.or_uuid_account_heads h JOIN lead_score.or_uuid_accounts a USING (account) ORDER BY 1;
SELECT lead_score.detach('or_uuid');
DELETE FROM lead_score.alerts WHERE attachment = 'or_uuid';

-- lead_score.citus_placement names the shards a Citus shard group's trigger
-- functions work on (their SET clause sets it), and every session may set it.
-- The owner's reads take it only when it names this node's shards of the
-- attachment's own tables (never, here: no Citus), and raise 22023 otherwise.
-- Before, a reader, or a writer with no lead_score role, pointed it at a view
-- of their own, which was then read as the activity table's owner.
\i :try
DELETE FROM or_crm.ran_as;
CREATE ROLE or_reader IN ROLE lead_score_reader;
CREATE ROLE or_writer;
GRANT USAGE ON SCHEMA or_crm TO or_reader, or_writer;
GRANT INSERT ON or_crm.leads TO or_writer;
SET ROLE or_reader;
CREATE TEMP VIEW decoy AS
SELECT 1::bigint AS lead_id, CASE WHEN or_crm.log_it() THEN 'webinar' END AS type, now() AS occurred_at,
       NULL::float8 AS amount, NULL::timestamptz AS seen;
GRANT SELECT ON decoy TO PUBLIC;
SELECT set_config('lead_score.citus_placement',
                  json_build_array('lead_score_internal', 'or_live_scores', nspname, 'decoy')::text, false) IS NOT NULL AS pointed
FROM pg_namespace WHERE oid = pg_my_temp_schema();
SELECT pg_temp.try($$SELECT lead_score_internal._read_states('or_live', ARRAY[1::bigint])$$) AS reader_states;
SELECT pg_temp.try($$SELECT lead_score.current_score('or_live', 1::bigint)$$) AS reader_current_score;
RESET ROLE;
SET ROLE or_writer;
SELECT pg_temp.try($$INSERT INTO or_crm.leads VALUES (1001, 'acme.com', 'VP')$$) AS writer_new_lead;
RESET ROLE;
RESET lead_score.citus_placement;
-- The view never ran, and the lead was not written.
SELECT count(*) AS decoy_ran FROM or_crm.ran_as;
SELECT count(*) AS new_leads FROM or_crm.leads WHERE id = 1001;
DROP VIEW pg_temp.decoy;

-- Code of the owner's that the planner runs while lead_score reads as the
-- owner may change a setting for the whole session (set_config(…, false)).
-- lead_score undoes every setting when the read ends, as PostgreSQL does after
-- its own security-restricted operations: before, the owner's search_path
-- stayed for the rest of the caller's statement, here a superuser's tick(),
-- and its session, where the owner's operators would have run with the
-- caller's rights.
SET ROLE or_owner;
CREATE FUNCTION or_crm.imm_path() RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN PERFORM pg_catalog.set_config('search_path', 'or_crm, pg_catalog', false); RETURN true; END $$;
CREATE TABLE or_crm.path_leads (id bigint PRIMARY KEY, company text, title text);
CREATE TABLE or_crm.path_acts (lead_id bigint NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL,
                               amount float8, seen timestamptz);
CREATE INDEX ON or_crm.path_acts (lead_id);
INSERT INTO or_crm.path_leads VALUES (1, 'acme.com', 'VP');
GRANT SELECT, TRIGGER ON or_crm.path_leads, or_crm.path_acts TO or_admin;
RESET ROLE;
SET ROLE or_admin;
SELECT lead_score.attach('or_model', 'or_crm.path_leads', 'or_crm.path_acts', name => 'or_path',
                         mode => 'deferred') IS NOT NULL AS attached;
RESET ROLE;
SET ROLE or_owner;
CREATE STATISTICS or_crm.path_trap ON ((or_crm.imm_path() AND lead_id IS NOT NULL)) FROM or_crm.path_acts;
INSERT INTO or_crm.path_acts VALUES (1, 'webinar', '2026-06-01 10:00+00', NULL, NULL),
                                    (1, 'webinar', '2026-06-01 11:00+00', NULL, NULL);
RESET ROLE;
SELECT lead_score.tick() >= 0 AS ticked;
-- The owner deletes an event: the lead is marked, and the next fold reads
-- the activity table as the owner.
\c
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
SET ROLE or_owner;
DELETE FROM or_crm.path_acts WHERE occurred_at = '2026-06-01 11:00+00';
RESET ROLE;
RESET search_path;
SELECT lead_score.tick() >= 0 AS ticked;
SELECT current_setting('search_path') AS search_path_after_tick;
SELECT lead_key, round(engagement::numeric, 3) AS engagement FROM lead_score.or_path_current;
SELECT current_setting('search_path') AS search_path_after_read;
-- check_consistency reads the table as its caller, as a query of the caller's
-- own would: the owner's function runs as the admin, and changes the admin's
-- path (README, Security), so the path is reset after it.
SET ROLE or_admin;
SELECT * FROM lead_score.check_consistency('or_path');
RESET ROLE;
RESET search_path;
-- detach() runs its own lookups with search_path pinned: an = of the
-- caller's path (here a schema of the owner's, ahead of pg_catalog) never runs.
SET ROLE or_owner;
CREATE TABLE or_crm.eq_ran (n int);
CREATE FUNCTION or_crm.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO or_crm.eq_ran VALUES (1); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR or_crm.= (LEFTARG = text, RIGHTARG = text, FUNCTION = or_crm.text_eq);
GRANT INSERT, SELECT ON or_crm.eq_ran TO PUBLIC;
RESET ROLE;
SET search_path = or_crm, pg_catalog;
SELECT lead_score.detach('or_path');
RESET search_path;
SELECT count(*) AS callers_eq_ran FROM or_crm.eq_ran;
DELETE FROM lead_score.alerts WHERE attachment = 'or_path';

-- A lead table whose row-level security is forced on its owner: a lead
-- trigger does not read it (a read as the owner, with row_security off, would
-- fail rather than run the policy), so lead deletes and key changes still
-- work, as before 0.2.0 (README, Security).
SET ROLE or_owner;
ALTER TABLE or_crm.leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE or_crm.leads FORCE ROW LEVEL SECURITY;
CREATE POLICY everyone ON or_crm.leads USING (true);
UPDATE or_crm.leads SET id = 30 WHERE id = 3;
DELETE FROM or_crm.leads WHERE id = 2;
DROP POLICY everyone ON or_crm.leads;
ALTER TABLE or_crm.leads NO FORCE ROW LEVEL SECURITY;
ALTER TABLE or_crm.leads DISABLE ROW LEVEL SECURITY;
RESET ROLE;
SELECT lead_key FROM lead_score.or_live_current ORDER BY 1;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('or_live');

-- One attachment's failure does not stop tick() for the others. The owner
-- makes the function the planner runs raise (for anyone but the owner, here
-- for everyone): tick()'s account check of or_live, which reads the leads as
-- their owner, fails. tick() leaves or_live as it was with a WARNING and
-- folds another attachment's pending event (before, the whole tick failed,
-- for every attachment, at every run).
CREATE SCHEMA or_other;
CREATE TABLE or_other.leads (id int PRIMARY KEY);
CREATE TABLE or_other.acts (lead_id int NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL);
CREATE INDEX ON or_other.acts (lead_id);
INSERT INTO or_other.leads VALUES (1);
SELECT lead_score.create_model('or_other', '{"fit": {"rules": []},
  "engagement": {"rules": [{"name": "webinar", "event": "webinar", "points": 25}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 100}}}') IS NOT NULL AS published;
SELECT lead_score.attach('or_other', 'or_other.leads', 'or_other.acts', name => 'or_other', mode => 'deferred') IS NOT NULL AS attached;
INSERT INTO or_other.acts VALUES (1, 'webinar', '2026-06-01 11:00+00');
SET ROLE or_owner;
CREATE OR REPLACE FUNCTION or_crm.imm() RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN RAISE EXCEPTION 'the owner says no'; END $$;
RESET ROLE;
SELECT lead_score.tick() AS alerts;
SELECT attachment, pending_events FROM lead_score.pending_summary() WHERE attachment = 'or_other';
SELECT lead_key, total FROM lead_score.or_other_current;
SET ROLE or_owner;
CREATE OR REPLACE FUNCTION or_crm.imm() RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN or_crm.log_it(); END $$;
RESET ROLE;
SELECT lead_score.tick() >= 0 AS ticked;
SELECT lead_score.detach('or_other');
SELECT lead_score.drop_model('or_other');
DROP SCHEMA or_other CASCADE;
SELECT lead_score.detach('or_live');
DELETE FROM lead_score.alerts WHERE attachment = 'or_live';
SELECT lead_score.drop_model('or_model');
DROP SCHEMA or_crm CASCADE;
DROP ROLE or_owner, or_admin, or_reader, or_writer;
