-- attach refuses mistakes with a SQLSTATE and a message naming the problem,
-- and writes nothing.
SET lead_score.mock_now = '2026-06-01 12:00:00+00';
-- Fixtures shared by the live-score files (tests/pg_regress/fixtures/).
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/fixtures/live_app.sql'
\i :fixtures
SELECT lead_score.attach('live', 'app.people', 'app.touches',
    '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind",
      "occurred_at": "at", "properties": {"url": "page"}}') IS NOT NULL AS attached;
CREATE VIEW app.people_view AS SELECT * FROM app.people;
CREATE TYPE app.point AS (x float8, y float8);
ALTER TABLE app.touches ADD COLUMN location app.point;
\set try :abs_srcdir '/fixtures/try.sql'
\i :try
-- Before a database's first attachment lead_score's views of every
-- attachment do not exist yet, and the first attach creates them: `current`
-- is refused then too, with the same SQLSTATE (its own current_categories
-- view came first, and creating lead_score's failed with 42P07).
BEGIN;
DROP VIEW lead_score.current_scores, lead_score.current_categories;
SELECT pg_temp.try($$SELECT lead_score.attach('live', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'current')$$) AS first_attachment_named_current;
ROLLBACK;
-- A partitioned table, a partition and an inheritance child: a write through
-- another table of the hierarchy would not fire the attached table's
-- statement triggers. A key whose collation calls different keys equal (a
-- case-insensitive ICU one): the score rows keep keys as they are.
CREATE TABLE app.parted (LIKE app.touches) PARTITION BY RANGE (at);
CREATE TABLE app.parted_2026 PARTITION OF app.parted FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE app.touches_parent (LIKE app.touches);
CREATE TABLE app.touches_child () INHERITS (app.touches_parent);
-- Lead tables whose key is not unique, or may be NULL: one score row per
-- lead needs a key that names one row.
CREATE TABLE app.dup_people (person_id uuid NOT NULL, sector text, job text, email text);
CREATE TABLE app.null_people (person_id uuid UNIQUE, sector text, job text, email text);
CREATE COLLATION app.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE app.ci_people (person_id text COLLATE app.ci PRIMARY KEY, sector text, job text, email text);
CREATE TABLE app.ci_touches (person text COLLATE app.ci, kind text, at timestamptz, page text);
-- A key that is a domain over an enum: PostgreSQL has no = between it and the
-- enum the score rows key on (it failed inside the first scoring, 42883).
CREATE TYPE app.person_e AS ENUM ('ann', 'bo');
CREATE DOMAIN app.person_d AS app.person_e;
CREATE TABLE app.de_people (person_id app.person_d PRIMARY KEY, sector text, job text, email text);
CREATE TABLE app.de_touches (person app.person_d, kind text, at timestamptz, page text);
-- Keys of a type with no hash function (writers lock a lead by a hash of its
-- key: every lead insert failed once attached), and of an array type (attach
-- failed on the generated SQL, 42704).
CREATE TABLE app.money_people (person_id money PRIMARY KEY, sector text, job text, email text);
CREATE TABLE app.money_touches (person money, kind text, at timestamptz, page text);
CREATE TABLE app.array_people (person_id int[] PRIMARY KEY, sector text, job text, email text);
CREATE TABLE app.array_touches (person int[], kind text, at timestamptz, page text);
CREATE INDEX ON app.money_touches (person);
CREATE INDEX ON app.array_touches (person);
SELECT lead_score.create_model('windowed', jsonb_set(lead_score.model_spec('live'), '{engagement,decay}', '{"kind": "window", "window": "30 days"}'));
-- Visits in a 10-day window, capped at 4 points: live scores keep the two
-- latest, all the points need, but a predictive feature would weigh them all.
SELECT lead_score.create_model('predwin', jsonb_set(jsonb_set(lead_score.model_spec('live'),
    '{engagement,rules,0}', '{"name": "visit", "event": "page_view", "points": 2, "repeat": {"cap": 4}, "decay": {"kind": "window", "window": "10 days"}}'),
    '{predictive}', '{"intercept": -2, "features": [{"name": "visits", "rule": "visit", "weight": 0.5}]}'));
SELECT mistake, pg_temp.try(statement) AS error FROM (VALUES
  ('no such column', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{"lead_key": "id"}', name => 'typo')$$),
  ('key types differ', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{"lead_key": "person_id",
      "activity_lead_key": "touch_id", "event_type": "kind", "occurred_at": "at", "properties": {"url": "page"}}', name => 'types')$$),
  ('unknown mapping key', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{"lead_kee": "x"}', name => 'keys')$$),
  ('unknown key, deeply nested', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', ('{"zz": ' || repeat('[', 300) || repeat(']', 300) || '}')::jsonb, name => 'keys')$$),
  ('mapping not an object', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '[1]', name => 'keys')$$),
  ('column not a string', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{"lead_key": null}', name => 'keys')$$),
  ('properties not an object', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{"properties": ["page"]}', name => 'keys')$$),
  ('property column not a string', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{"properties": {"url": 1}}', name => 'keys')$$),
  ('property not in the spec', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{"properties": {"zzz": "page"}}', name => 'keys')$$),
  ('bad name', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{}', name => 'Live Scores')$$),
  ('window decay', $$SELECT lead_score.attach('windowed', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'))$$),
  ('a predictive feature on a capped window rule', $$SELECT lead_score.attach('predwin', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'predwin')$$),
  ('no such model', $$SELECT lead_score.attach('nope', 'app.people', 'app.touches')$$),
  ('name taken', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'))$$),
  ('name too long', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => repeat('a', 42))$$),
  ('a name lead_score uses', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'current')$$),
  ('a name another attachment may use', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'live_account')$$),
  ('not a table', $$SELECT lead_score.attach('live', 'app.people_view', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'view')$$),
  ('one table twice', $$SELECT lead_score.attach('live', 'app.touches', 'app.touches', '{"lead_key": "person", "activity_lead_key": "person", "event_type": "kind", "occurred_at": "at", "properties": {"url": "page"}}', name => 'twice')$$),
  ('one table twice, with the default mapping', $$SELECT lead_score.attach('live', 'app.people', 'app.people', name => 'twice')$$),
  ('a composite column', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind", "occurred_at": "at", "properties": {"url": "location"}}', name => 'composite')$$),
  ('not a time', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind", "occurred_at": "page", "properties": {"url": "page"}}', name => 'time')$$),
  ('partitioned', $$SELECT lead_score.attach('live', 'app.people', 'app.parted', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'parted')$$),
  ('a partition', $$SELECT lead_score.attach('live', 'app.people', 'app.parted_2026', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'part')$$),
  ('an inheritance child', $$SELECT lead_score.attach('live', 'app.people', 'app.touches_child', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'child')$$),
  ('triggers in two orders', $$SELECT lead_score.attach('live', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'live_k')$$),
  ('a key that is not unique', $$SELECT lead_score.attach('live', 'app.dup_people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'dup')$$),
  ('a key that may be NULL', $$SELECT lead_score.attach('live', 'app.null_people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'nullable')$$),
  ('a case-insensitive key', $$SELECT lead_score.attach('live', 'app.ci_people', 'app.ci_touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'ci')$$),
  ('a domain over an enum as the key', $$SELECT lead_score.attach('live', 'app.de_people', 'app.de_touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'dom')$$),
  ('a key with no hash function', $$SELECT lead_score.attach('live', 'app.money_people', 'app.money_touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'money')$$),
  ('an array key', $$SELECT lead_score.attach('live', 'app.array_people', 'app.array_touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'arrays')$$)
) AS t(mistake, statement);
-- None of them left an attachment, table or trigger behind.
SELECT name FROM lead_score.attachments ORDER BY 1;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'app.touches'::regclass AND NOT tgisinternal;
-- A key of type name, whose text is in collation "C", beside another
-- attachment: the views over every attachment read each key's text in the
-- default collation (attach failed with 42P16, and a name-keyed attachment
-- made first could never be detached, nor its tables dropped).
CREATE TABLE app.name_people (person_id name PRIMARY KEY, sector text, job text, email text);
CREATE TABLE app.name_touches (person name, kind text, at timestamptz, page text);
CREATE INDEX ON app.name_touches (person);
INSERT INTO app.name_people VALUES ('ann', 'Software', 'CTO', 'ann@x.com');
SELECT lead_score.attach('live', 'app.name_people', 'app.name_touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'named') IS NOT NULL AS attached;
SELECT attachment, lead_key, pg_collation_for(lead_key) AS collation FROM lead_score.current_scores WHERE attachment = 'named';
SELECT lead_score.detach('named');
DROP TABLE app.name_people, app.name_touches;
-- A crafted or truncated state is refused with 22023, never a crash.
SELECT what, pg_temp.try(statement) AS error FROM (VALUES
  ('empty', $$SELECT lead_score_internal._live_score('\x'::bytea, 0, NULL, NULL, now())$$),
  ('truncated', $$SELECT lead_score_internal._live_score(substr(s.state, 1, 60), s.fit, NULL, NULL, now()) FROM lead_score_internal.live_scores s LIMIT 1$$),
  ('garbage merged in', $$SELECT lead_score_internal._live_merge(s.state, '\xdeadbeef'::bytea) FROM lead_score_internal.live_scores s LIMIT 1$$),
  ('aggregate state', $$SELECT lead_score.engagement_score('\x00112233'::bytea)$$),
  ('rebased garbage', $$SELECT lead_score_internal._live_rebase(decode(repeat('ff', 64), 'hex'), now())$$),
  ('bound of a truncated state', $$SELECT lead_score_internal._live_bound(substr(s.state, 1, 60), now()) FROM lead_score_internal.live_scores s LIMIT 1$$),
  ('a last activity PostgreSQL cannot show', $$SELECT lead_score_internal._live_score(overlay(s.state PLACING '\xfeffffffffffff7f'::bytea FROM 33 FOR 8), s.fit, NULL, NULL, now()) FROM lead_score_internal.live_scores s LIMIT 1$$),
  ('an aggregate state with one', $$SELECT lead_score.score('live', p, overlay((SELECT lead_score.engagement_state('live', 'page_view', '2026-05-31 12:00+00', '/x')) PLACING '\xfeffffffffffff7f'::bytea FROM 33 FOR 8)) FROM app.people p LIMIT 1$$)
) AS t(what, statement);

-- Nor does a state whose counts or times a crafted header pushes to the ends
-- of their range, one with another number of rules than its model version
-- (which a version number deleted and stored again could also give), nor an
-- argument no caller of lead_score's passes: each gave XX000 with a Rust
-- message (an overflow, a slice or index out of range, a NULL element). A
-- state of the wrong shape is refused (22023); counts and times at their
-- ends saturate.
BEGIN;
SELECT lead_score.create_model('no_fit', '{"fit": {"rules": []}, "engagement": {"rules": [{"name": "v", "event": "v", "points": 1}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "x"}], "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 100}}}') AS version;
CREATE AGGREGATE pg_temp.combined(bytea) (SFUNC = lead_score_internal._engagement_combine, STYPE = bytea);
SELECT '\x' || encode(substr(lead_score.engagement_state('live', 'page_view', '2026-05-31 12:00+00', '/x'), 1, 48), 'hex') AS short_state \gset
CREATE AGGREGATE pg_temp.short(text, text, timestamptz, text) (SFUNC = lead_score_internal._engagement_trans, STYPE = bytea, INITCOND = :'short_state');
SELECT what, pg_temp.try(statement) AS error FROM (VALUES
  ('an aggregate state with no rules', $$SELECT lead_score.engagement_score(overlay(substr(s, 1, 48) PLACING '\x00000000'::bytea FROM 5 FOR 4)) FROM (SELECT lead_score.engagement_state('live', 'page_view', '2026-05-31 12:00+00', '/x') s) q$$),
  ('its score', $$SELECT (lead_score.score('live', p, overlay(substr(s, 1, 48) PLACING '\x00000000'::bytea FROM 5 FOR 4))).total FROM app.people p, (SELECT lead_score.engagement_state('live', 'page_view', '2026-05-31 12:00+00', '/x') s) q LIMIT 1$$),
  ('an aggregate over a short state', $$SELECT pg_temp.short('live', 'page_view', '2026-05-31 12:00+00', '/x')$$),
  ('aggregate event counts at their end, combined', $$SELECT length(pg_temp.combined(x)) FROM (SELECT lead_score.engagement_state('live', 'page_view', '2026-05-31 12:00+00', '/x') s) q, LATERAL (VALUES (overlay(s PLACING '\xffffffffffffff7f'::bytea FROM 41 FOR 8)), (s)) v(x)$$),
  ('live event counts at their end, merged', $$SELECT length(lead_score_internal._live_merge(x, x)) FROM (SELECT overlay(s.state PLACING '\xffffffffffffff7f'::bytea FROM 41 FOR 8) x FROM lead_score_internal.live_scores s LIMIT 1) q$$),
  ('burst times at both ends', $$SELECT (lead_score_internal._live_apply(overlay(overlay(s.state PLACING '\xffffffffffffff7f'::bytea FROM 73 + 16 * r.n FOR 8) PLACING '\x0100000000000080'::bytea FROM 89 + 16 * r.n FOR 8), NULL, 0, NULL, NULL, NULL, NULL, now(), now(), false)).alerts FROM lead_score_internal.live_scores s, (SELECT jsonb_array_length(lead_score.model_spec('live') -> 'engagement' -> 'rules') AS n) r LIMIT 1$$),
  ('a disqualifying rule of a model with no fit rules', $$SELECT (lead_score_internal._live_score(lead_score_internal._live_empty(m.id, 1, now()), 0, 'gone', NULL, now())).disqualified_by FROM lead_score.models m WHERE m.name = 'no_fit'$$),
  ('a NULL hot category before', $$SELECT (lead_score_internal._live_apply(s.state, NULL, 0, NULL, true, 'nurture', '{NULL}'::text[], now(), now(), false)).mql FROM lead_score_internal.live_scores s LIMIT 1$$)
) AS t(what, statement);
ROLLBACK;

-- A table with row-level security attaches, with a warning: live scores
-- count every row, whatever its policies (README, "Live scores").
CREATE TABLE app.rls_people (LIKE app.people INCLUDING ALL);
ALTER TABLE app.rls_people ENABLE ROW LEVEL SECURITY;
SELECT lead_score.attach('live', 'app.rls_people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'rls') IS NOT NULL AS attached;
SELECT lead_score.detach('rls');
DROP TABLE app.rls_people;

-- The longest name works: every name derived from it fits in an identifier.
SELECT lead_score.attach('live', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => repeat('a', 41)) IS NOT NULL AS attached;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'app.touches'::regclass AND NOT tgisinternal;
SELECT lead_score.detach(repeat('a', 41));

-- The pending table stays as attach made it. A sync attachment's has one
-- index, by lead key (a reader of one lead and a commit folding a marked lead
-- find its rows by key), which its inserts keep, one row or many (amcheck:
-- every row has its entry); a deferred attachment's has none, its inserts
-- writing the heap alone. Any other index is refused at the next insert, with
-- 55000, and the insert writes nothing.
SELECT lead_score.attach('live', 'app.people', 'app.touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'later', mode => 'deferred') IS NOT NULL AS attached;
SELECT c.relname AS pending_table, i.indexrelid::regclass AS index
FROM pg_class c LEFT JOIN pg_index i ON i.indrelid = c.oid
WHERE c.relname IN ('live_pending', 'later_pending') ORDER BY 1;
CREATE EXTENSION amcheck;
BEGIN;
INSERT INTO app.touches (person, kind, at)
SELECT '00000000-0000-0000-0000-000000000002', 'page_view', '2026-05-31 12:00+00' FROM generate_series(1, 1500);
INSERT INTO app.touches (person, kind, at) VALUES ('00000000-0000-0000-0000-000000000003', 'webinar', '2026-05-31 13:00+00');
SELECT count(*) AS sync_pending, bt_index_check('lead_score_internal.live_pending_lead_key', true) IS NOT NULL AS every_row_indexed
FROM lead_score_internal.live_pending;
ROLLBACK;
DROP EXTENSION amcheck;
-- The index can be rebuilt without blocking writers: while REINDEX ...
-- CONCURRENTLY builds its copy, inserts keep both (a copy not yet ready for
-- inserts is skipped, as PostgreSQL does), and the rebuilt one afterwards.
REINDEX INDEX CONCURRENTLY lead_score_internal.live_pending_lead_key;
SELECT pg_temp.try($$INSERT INTO app.touches (person, kind, at) VALUES ('00000000-0000-0000-0000-000000000001', 'webinar', '2026-05-31 13:00+00')$$) AS after_a_reindex;
CREATE INDEX live_extra ON lead_score_internal.live_pending (occurred_at);
SELECT pg_temp.try($$INSERT INTO app.touches (person, kind, at) VALUES ('00000000-0000-0000-0000-000000000001', 'webinar', '2026-05-31 13:00+00')$$) AS sync_with_a_second_index;
DROP INDEX lead_score_internal.live_extra;
ALTER TABLE lead_score_internal.live_pending ADD CONSTRAINT live_exclusive EXCLUDE USING btree (lead_key WITH =);
SELECT pg_temp.try($$INSERT INTO app.touches (person, kind, at) VALUES ('00000000-0000-0000-0000-000000000001', 'webinar', '2026-05-31 13:00+00')$$) AS sync_with_an_exclusion_constraint;
ALTER TABLE lead_score_internal.live_pending DROP CONSTRAINT live_exclusive;
CREATE INDEX later_extra ON lead_score_internal.later_pending (event_type);
SELECT pg_temp.try($$INSERT INTO app.touches (person, kind, at) VALUES ('00000000-0000-0000-0000-000000000001', 'webinar', '2026-05-31 13:00+00')$$) AS deferred_with_an_index;
DROP INDEX lead_score_internal.later_extra;
SELECT pg_temp.try($$INSERT INTO app.touches (person, kind, at) VALUES ('00000000-0000-0000-0000-000000000001', 'webinar', '2026-05-31 13:00+00')$$) AS as_attach_made_them;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('live');
SELECT lead_score.detach('later');

-- The mapped columns cannot change type or go while attached: the triggers
-- read them, and attach checked their types.
ALTER TABLE app.touches ALTER COLUMN kind TYPE varchar(40);
ALTER TABLE app.touches DROP COLUMN page;
-- Nor can a column an attachment reads be renamed, or dropped with CASCADE
-- (which would take the view along): the mapped columns of both tables and
-- the fit fields of its model's current version (2BP01, before the statement
-- runs). Other columns stay free.
SELECT change, pg_temp.try(statement) AS error FROM (VALUES
  ('rename a property', $$ALTER TABLE app.touches RENAME COLUMN page TO url$$),
  ('rename the event type', $$ALTER TABLE app.touches RENAME COLUMN kind TO kind2$$),
  ('rename the lead key', $$ALTER TABLE app.people RENAME COLUMN person_id TO id$$),
  ('rename a fit field', $$ALTER TABLE app.people RENAME COLUMN job TO title$$),
  ('drop a fit field', $$ALTER TABLE app.people DROP COLUMN job$$),
  ('drop with cascade', $$ALTER TABLE app.touches DROP COLUMN page CASCADE$$),
  ('rename through ALTER VIEW', $$ALTER VIEW app.touches RENAME COLUMN page TO url$$),
  ('rename through ALTER MATERIALIZED VIEW', $$ALTER MATERIALIZED VIEW app.people RENAME COLUMN job TO title$$)
) AS t(change, statement);
-- Nor can a fit field change type, which no view holds: a USING clause would
-- rewrite its values with no trigger firing, leaving stale fits (2BP01). (It
-- went through before, and check_consistency then found every lead changed.)
-- Other columns stay free.
SELECT pg_temp.try($$ALTER TABLE app.people ALTER COLUMN sector TYPE varchar(40) USING lower(sector)$$) AS retype_a_fit_field;
ALTER TABLE app.people ADD COLUMN nickname text;
ALTER TABLE app.people ALTER COLUMN nickname TYPE varchar(40);
ALTER TABLE app.people DROP COLUMN nickname;
-- Nor may lead_score's triggers be disabled, dropped or renamed while the
-- table is attached: writes they do not see would not be scored, and detach
-- would not find them (2BP01; they all went through before). Triggers of your
-- own, ENABLE and ENABLE ALWAYS stay free.
SELECT change, pg_temp.try(statement) AS error FROM (VALUES
  ('disable one', $$ALTER TABLE app.touches DISABLE TRIGGER lead_score_live_ins$$),
  ('disable all', $$ALTER TABLE app.touches DISABLE TRIGGER ALL$$),
  ('disable the user triggers', $$ALTER TABLE app.people DISABLE TRIGGER USER$$),
  ('fire only on replicas', $$ALTER TABLE app.touches ENABLE REPLICA TRIGGER lead_score_live_upd$$),
  ('drop one', $$DROP TRIGGER lead_score_live_del ON app.touches$$),
  ('rename one', $$ALTER TRIGGER lead_score_live_upd ON app.people RENAME TO mine$$),
  ('replace one', $$CREATE OR REPLACE TRIGGER lead_score_live_ins AFTER INSERT ON app.touches FOR EACH STATEMENT EXECUTE FUNCTION lead_score_internal._guard_ddl()$$),
  ('tie one to an extension', $$ALTER TRIGGER lead_score_live_ins ON app.touches DEPENDS ON EXTENSION plpgsql$$),
  ('tie the key''s index to an extension', $$ALTER INDEX app.people_pkey DEPENDS ON EXTENSION plpgsql$$),
  ('fire always', $$ALTER TABLE app.touches ENABLE ALWAYS TRIGGER lead_score_live_upd$$),
  ('enable', $$ALTER TABLE app.touches ENABLE TRIGGER lead_score_live_upd$$)
) AS t(change, statement);
CREATE FUNCTION app.noop() RETURNS trigger LANGUAGE plpgsql AS $f$BEGIN RETURN NULL; END$f$;
CREATE TRIGGER mine AFTER INSERT ON app.touches FOR EACH ROW EXECUTE FUNCTION app.noop();
ALTER TABLE app.touches DISABLE TRIGGER mine;
ALTER TRIGGER mine ON app.touches RENAME TO mine2;
DROP TRIGGER mine2 ON app.touches;
DROP FUNCTION app.noop();
SELECT t.tgname, t.tgenabled FROM pg_trigger t WHERE t.tgrelid = 'app.touches'::regclass AND NOT t.tgisinternal ORDER BY 1;
-- Nor may a label of an enum be renamed while an attachment reads a column
-- of that type by its labels (the event type, a property, a fit field): the
-- stored scores counted the old label, and the rules now name the new one
-- (2BP01; before, check_consistency found the lead changed, and a deferred
-- fold alerted on the old label). Adding a label is free, and so is renaming
-- one of a type no attachment reads by label.
CREATE TYPE app.kind_t AS ENUM ('page_view', 'demo_request');
CREATE TABLE app.e_touches (person uuid, kind app.kind_t, at timestamptz, page text);
SELECT lead_score.attach('live', 'app.people', 'app.e_touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'enums') IS NOT NULL AS attached;
SELECT pg_temp.try($$ALTER TYPE app.kind_t RENAME VALUE 'demo_request' TO 'demo'$$) AS rename_an_event_type,
       pg_temp.try($$ALTER TYPE app.kind_t RENAME VALUE 'no such label' TO 'demo'$$) AS postgresql_refuses;
ALTER TYPE app.kind_t ADD VALUE 'webinar';
SELECT lead_score.detach('enums');
ALTER TYPE app.kind_t RENAME VALUE 'demo_request' TO 'demo';
DROP TABLE app.e_touches;
DROP TYPE app.kind_t;
-- A column also goes with its type: DROP DOMAIN … CASCADE (or DROP TYPE, or
-- DROP COLLATION) drops the columns of that type without naming them. For a
-- column an attachment reads, the drop is refused once it has run (2BP01),
-- and rolled back.
CREATE DOMAIN app.sector_t AS text;
CREATE DOMAIN app.page_t AS text;
CREATE TABLE app.d_people (person_id uuid PRIMARY KEY, sector app.sector_t, job text, email text);
CREATE TABLE app.d_touches (person uuid, kind text, at timestamptz, page app.page_t);
SELECT lead_score.attach('live', 'app.d_people', 'app.d_touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'domains') IS NOT NULL AS attached;
SELECT change, pg_temp.try(statement) AS error FROM (VALUES
  ('the type of a property', $$DROP DOMAIN app.page_t CASCADE$$),
  ('the type of a fit field', $$DROP DOMAIN app.sector_t CASCADE$$)
) AS t(change, statement);
SELECT a.attrelid::regclass AS "table", a.attname AS "column", a.atttypid::regtype AS type FROM pg_attribute a
WHERE a.attrelid IN ('app.d_people'::regclass, 'app.d_touches'::regclass) AND a.attname IN ('sector', 'page') ORDER BY 1, 2;
-- A statement that also drops one of an attachment's tables detaches it, so
-- its other table's columns may go: DROP SCHEMA … CASCADE of a schema with the
-- lead table and an activity column's type, unless another attachment reads
-- that column too.
CREATE SCHEMA app2;
CREATE DOMAIN app2.page_t AS text;
CREATE TABLE app2.people (person_id uuid PRIMARY KEY, sector text, job text, email text);
CREATE TABLE app.s_touches (person uuid, kind text, at timestamptz, page app2.page_t);
SELECT lead_score.attach('live', 'app2.people', 'app.s_touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'schemas') IS NOT NULL AS attached;
SELECT lead_score.attach('live', 'app.d_people', 'app.s_touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'kept') IS NOT NULL AS attached;
SET client_min_messages = warning;
SELECT pg_temp.try($$DROP SCHEMA app2 CASCADE$$) AS another_attachment_reads_it;
SELECT lead_score.detach('kept');
DROP SCHEMA app2 CASCADE;
RESET client_min_messages;
SELECT (SELECT count(*) FROM lead_score.attachments WHERE name = 'schemas') AS attachments,
       (SELECT count(*) FROM pg_attribute WHERE attrelid = 'app.s_touches'::regclass AND attname = 'page') AS page_columns;
DROP TABLE app.s_touches;
SELECT lead_score.detach('domains');
DROP DOMAIN app.page_t CASCADE;
-- Nor may the lead key lose its NOT NULL, or its last unique index (2BP01,
-- before the statement runs), also by making it deferrable (two rows could
-- then hold one key until the check); another unique index may go.
CREATE TABLE app.u_people (person_id uuid NOT NULL CONSTRAINT u_people_uq UNIQUE, sector text, job text, email text);
CREATE UNIQUE INDEX u_people_key ON app.u_people (person_id);
CREATE UNIQUE INDEX u_people_key2 ON app.u_people (person_id);
ALTER TABLE app.u_people ADD COLUMN referrer uuid CONSTRAINT u_people_ref REFERENCES app.u_people (person_id);
CREATE TABLE app.u_touches (person uuid, kind text, at timestamptz, page text);
SELECT lead_score.attach('live', 'app.u_people', 'app.u_touches', (SELECT mapping FROM lead_score.attachments WHERE name = 'live'), name => 'uniq') IS NOT NULL AS attached;
SELECT change, pg_temp.try(statement) AS error FROM (VALUES
  ('the NOT NULL', $$ALTER TABLE app.u_people ALTER COLUMN person_id DROP NOT NULL$$),
  ('a foreign key to the key', $$ALTER TABLE app.u_people DROP CONSTRAINT u_people_ref$$),
  ('one of three unique indexes tied to an extension', $$ALTER INDEX app.u_people_key2 DEPENDS ON EXTENSION plpgsql$$),
  ('one of three unique indexes', $$ALTER TABLE app.u_people DROP CONSTRAINT u_people_uq$$),
  ('the last two at once', $$DROP INDEX app.u_people_key, app.u_people_key2$$),
  ('one of the last two', $$DROP INDEX app.u_people_key2$$),
  ('the last unique index made deferrable', $$ALTER TABLE app.u_people ADD CONSTRAINT u_people_deferred UNIQUE USING INDEX u_people_key DEFERRABLE$$),
  ('the last unique index', $$DROP INDEX app.u_people_key$$)
) AS t(change, statement);
SELECT lead_score.detach('uniq');
-- Another index of an attached table may be dropped concurrently: the guard
-- reads without giving the transaction an id, which DROP INDEX CONCURRENTLY
-- must not have (before, it failed on every table).
CREATE INDEX people_job ON app.people (job);
DROP INDEX CONCURRENTLY app.people_job;
ALTER TABLE app.people ADD COLUMN nickname text;
ALTER TABLE app.people RENAME COLUMN nickname TO alias;
ALTER TABLE app.people DROP COLUMN alias;
-- An attached table stays out of inheritance hierarchies (0A000): a write
-- through another table of one would not fire its triggers.
SELECT change, pg_temp.try(statement) AS error FROM (VALUES
  ('a child', $$CREATE TABLE app.touches_2026 () INHERITS (app.touches)$$),
  ('a parent', $$ALTER TABLE app.touches INHERIT app.touches_parent$$),
  ('a partition', $$ALTER TABLE app.parted ATTACH PARTITION app.touches FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')$$)
) AS t(change, statement);
-- Nor can a version of its model that reads other event properties be
-- published (0A000, naming the attachment): the triggers and the pending table
-- pass the properties by position, from the columns the attached version's
-- named, and would read a new one as another. The current version stays.
SELECT lead_score.model_spec('live') -> 'engagement' -> 'properties' AS properties,
       (SELECT mapping -> 'property_columns' FROM lead_score.attachments WHERE name = 'live') AS columns;
SELECT change, pg_temp.try(statement) AS error FROM (VALUES
  ('a property added', $$SELECT lead_score.create_model('live', jsonb_set(lead_score.model_spec('live'), '{engagement,properties}', '["url", "kind"]'))$$),
  ('a property added first', $$SELECT lead_score.create_model('live', jsonb_set(lead_score.model_spec('live'), '{engagement,properties}', '["kind", "url"]'))$$),
  ('a predictive feature on a capped window rule', $$SELECT lead_score.create_model('live', lead_score.model_spec('predwin'))$$)
) AS t(change, statement);
SELECT current_version FROM lead_score.models WHERE name = 'live';
-- A version reading the same columns publishes, and is scored at once.
SELECT lead_score.create_model('live', jsonb_set(lead_score.model_spec('live'), '{engagement,rules,0,points}', '3')) AS published;
SELECT count(*) AS mismatches FROM lead_score.check_consistency('live');
SELECT lead_score.detach('live');
ALTER TABLE app.touches DROP COLUMN page;

-- Attachments follow their tables. An attached table can only be dropped with
-- CASCADE, and that detaches the attachment; publishing its model then works.
SELECT lead_score.attach('live', 'app.people', 'app.touches',
    '{"lead_key": "person_id", "activity_lead_key": "person", "event_type": "kind",
      "occurred_at": "at", "properties": {"url": "kind"}}') IS NOT NULL AS attached;
DROP TABLE app.touches;
DROP TABLE app.touches CASCADE;
SELECT count(*) AS attachments FROM lead_score.attachments;
SELECT count(*) AS objects_left FROM pg_class WHERE relnamespace IN ('lead_score'::regnamespace, 'lead_score_internal'::regnamespace) AND relname LIKE 'live%';
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'app.people'::regclass AND NOT tgisinternal;
SELECT lead_score.create_model('live', jsonb_set(lead_score.model_spec('live'), '{fit,rules,0,points}', '41')) AS published;
RESET lead_score.mock_now;
DROP SCHEMA app CASCADE;
SELECT lead_score.drop_model(m) FROM unnest(ARRAY['live', 'windowed', 'predwin']) m;

