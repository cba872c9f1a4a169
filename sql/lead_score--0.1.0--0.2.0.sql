-- lead_score 0.1.0 → 0.2.0. Run by ALTER EXTENSION lead_score UPDATE.
-- Released scripts are never edited; tests/upgrade/run.sh checks that an upgraded
-- database has the same catalog as a fresh install of 0.2.0.
\echo Use "ALTER EXTENSION lead_score UPDATE" to load this file. \quit

-- 0.2.0 keeps internal objects out of the lead_score schema, so \df lead_score.*
-- and a BI tool list only the public API (README, "Choices made"). Everything
-- named "_…" that 0.1.0 put there moves to lead_score_internal, and so do each
-- attachment's score, pending and stripe tables, its merged and columns views
-- and its trigger functions. Moving keeps their rows, grants and dependencies;
-- the regeneration at the end of this script then replaces what changed. On a
-- Citus node, a shard group's own trigger functions and stripe table (names that
-- end in _<shard id>) are dropped instead, with their triggers on the shards:
-- CALL lead_score.distribute(attachment) installs them again (docs/citus.md).
--
-- On a Citus worker the schema can exist already: the coordinator's update
-- creates it on the workers (below) before it moves its distributed tables,
-- whose shards Citus moves at once, and Citus runs this script on the workers
-- only after the coordinator's. There it becomes the extension's, as it is on
-- the coordinator.
-- On a Citus worker, Citus runs this script as a task of the coordinator's
-- update, where reading lead_score.attachments (a reference table) would be a
-- nested distributed query, refused by default. It reads this node's copy; the
-- setting ends with the script.
SELECT pg_catalog.set_config('citus.allow_nested_distributed_execution', 'on', true)
WHERE pg_catalog.current_setting('citus.allow_nested_distributed_execution', true) IS NOT NULL;
-- Only there, and only a schema this role owns, holding no function and only
-- its own tables (the shards Citus moved there already): anywhere else an
-- existing lead_score_internal (made by another role, say, to own the schema
-- of the extension's SECURITY DEFINER functions) is refused, as CREATE SCHEMA
-- would refuse it.
DO $schema$
DECLARE
    worker boolean := false;
BEGIN
    IF pg_catalog.to_regnamespace('lead_score_internal') IS NULL THEN
        CREATE SCHEMA lead_score_internal;
        RETURN;
    END IF;
    IF pg_catalog.to_regproc('pg_catalog.citus_is_coordinator') IS NOT NULL THEN
        EXECUTE 'SELECT NOT pg_catalog.citus_is_coordinator()' INTO worker;
    END IF;
    IF NOT worker
       OR (SELECT n.nspowner OPERATOR(pg_catalog.<>) (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
           FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) 'lead_score_internal')
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace OPERATOR(pg_catalog.=) 'lead_score_internal'::pg_catalog.regnamespace
                  AND c.relowner OPERATOR(pg_catalog.<>) (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER))
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) 'lead_score_internal'::pg_catalog.regnamespace) THEN
        RAISE EXCEPTION 'schema "lead_score_internal" already exists'
            USING ERRCODE = 'duplicate_schema',
                  HINT = 'lead_score 0.2.0 keeps its internal objects there: rename or drop that schema, then update again.';
    END IF;
    ALTER EXTENSION lead_score ADD SCHEMA lead_score_internal;
END
$schema$;
DO $move$
DECLARE
    o record;
    workers boolean := false;
    failed bigint;  -- workers where creating the schema failed
BEGIN
    -- A Citus coordinator with workers: ALTER TABLE … SET SCHEMA of a
    -- distributed table below is sent to every worker, which must have the
    -- schema first (run_command_on_workers commits there at once; each
    -- worker's own update then checks whose it is, above).
    IF pg_catalog.to_regproc('pg_catalog.citus_is_coordinator') IS NOT NULL THEN
        EXECUTE 'SELECT pg_catalog.citus_is_coordinator() AND EXISTS (SELECT 1 FROM pg_catalog.pg_dist_node n
                 WHERE n.noderole OPERATOR(pg_catalog.=) ''primary'' AND n.groupid OPERATOR(pg_catalog.<>) 0)'
        INTO workers;
    END IF;
    IF workers THEN
        EXECUTE 'SELECT pg_catalog.count(*) FILTER (WHERE NOT r.success) FROM pg_catalog.run_command_on_workers($c$DO $d$ BEGIN PERFORM pg_catalog.set_config(''citus.enable_ddl_propagation'', ''off'', true); CREATE SCHEMA IF NOT EXISTS lead_score_internal; END $d$$c$) r'
        INTO failed;
        IF failed OPERATOR(pg_catalog.>) 0 THEN
            RAISE EXCEPTION 'lead_score: could not create schema lead_score_internal on % Citus worker(s)', failed
                USING HINT = 'See the workers'' logs.';
        END IF;
    END IF;
    FOR o IN
        SELECT 'FUNCTION' AS kind, p.oid::pg_catalog.regprocedure::pg_catalog.text AS name
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace OPERATOR(pg_catalog.=) 'lead_score'::pg_catalog.regnamespace
          AND EXISTS (SELECT 1 FROM lead_score.attachments a
                      WHERE p.proname::pg_catalog.text OPERATOR(pg_catalog.~) ('^' OPERATOR(pg_catalog.||) a.name
                            OPERATOR(pg_catalog.||) '__((act|lead)_(ins|upd|del|trunc)|fold|recompute)_[0-9]+$'))
        UNION ALL
        SELECT 'TABLE', c.oid::pg_catalog.regclass::pg_catalog.text
        FROM pg_catalog.pg_class c
        WHERE c.relnamespace OPERATOR(pg_catalog.=) 'lead_score'::pg_catalog.regnamespace
          AND c.relkind OPERATOR(pg_catalog.=) 'r'
          AND EXISTS (SELECT 1 FROM lead_score.attachments a
                      WHERE c.relname::pg_catalog.text OPERATOR(pg_catalog.~) ('^' OPERATOR(pg_catalog.||) a.name
                            OPERATOR(pg_catalog.||) '_stripes_[0-9]+$'))
        ORDER BY 1, 2
    LOOP
        EXECUTE 'DROP ' OPERATOR(pg_catalog.||) o.kind OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) o.name
             OPERATOR(pg_catalog.||) ' CASCADE';
    END LOOP;
    FOR o IN
        SELECT CASE WHEN p.prokind OPERATOR(pg_catalog.=) 'a' THEN 'AGGREGATE'
                    WHEN p.prokind OPERATOR(pg_catalog.=) 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END AS kind,
               p.oid::pg_catalog.regprocedure::pg_catalog.text AS name
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace OPERATOR(pg_catalog.=) 'lead_score'::pg_catalog.regnamespace
          AND (pg_catalog.starts_with(p.proname::pg_catalog.text, '_')
               OR EXISTS (SELECT 1 FROM lead_score.attachments a
                          WHERE pg_catalog.starts_with(p.proname::pg_catalog.text, a.name OPERATOR(pg_catalog.||) '__')))
        UNION ALL
        SELECT CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'v' THEN 'VIEW' ELSE 'TABLE' END, c.oid::pg_catalog.regclass::pg_catalog.text
        FROM pg_catalog.pg_class c
        WHERE c.relnamespace OPERATOR(pg_catalog.=) 'lead_score'::pg_catalog.regnamespace
          AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v}'::pg_catalog."char"[])
          -- (An attachment's own public views stay, whatever its name: _w_current.)
          AND ((pg_catalog.starts_with(c.relname::pg_catalog.text, '_')
                AND NOT EXISTS (SELECT 1 FROM lead_score.attachments a
                                WHERE c.relname::pg_catalog.text OPERATOR(pg_catalog.=) ANY (ARRAY[
                                      a.name OPERATOR(pg_catalog.||) '_current', a.name OPERATOR(pg_catalog.||) '_categories'])))
               OR EXISTS (SELECT 1 FROM lead_score.attachments a
                          WHERE c.relname::pg_catalog.text OPERATOR(pg_catalog.~) ('^' OPERATOR(pg_catalog.||) a.name
                                OPERATOR(pg_catalog.||) '_(scores|pending|stripes|outbox|account_heads|merged|columns)$')))
        UNION ALL
        SELECT 'TYPE', t.oid::pg_catalog.regtype::pg_catalog.text
        FROM pg_catalog.pg_type t JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.typrelid
        WHERE t.typnamespace OPERATOR(pg_catalog.=) 'lead_score'::pg_catalog.regnamespace
          AND c.relkind OPERATOR(pg_catalog.=) 'c' AND pg_catalog.starts_with(t.typname::pg_catalog.text, '_')
        ORDER BY 1, 2
    LOOP
        EXECUTE 'ALTER ' OPERATOR(pg_catalog.||) o.kind OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) o.name
             OPERATOR(pg_catalog.||) ' SET SCHEMA lead_score_internal';
    END LOOP;
    -- SQL and plpgsql bodies name what they call, as text: those of 0.1.0 that
    -- this script does not replace below now call it where it is (the same
    -- rewrite as the install script's, so the bodies are 0.2.0's).
    FOR o IN
        SELECT p.oid FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
        JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
             AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
        JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid AND e.extname OPERATOR(pg_catalog.=) 'lead_score'
        WHERE l.lanname OPERATOR(pg_catalog.=) ANY ('{sql,plpgsql}'::pg_catalog.text[])
          AND p.prokind OPERATOR(pg_catalog.=) ANY ('{f,p}'::pg_catalog."char"[])
          AND pg_catalog.strpos(p.prosrc, 'lead_score.') OPERATOR(pg_catalog.>) 0
        ORDER BY p.oid
    LOOP
        EXECUTE pg_catalog.replace(pg_catalog.replace(pg_catalog.pg_get_functiondef(o.oid),
                                                      'lead_score._', 'lead_score_internal._'),
                                   'lead_score."_', 'lead_score_internal."_');
    END LOOP;
END
$move$;
GRANT USAGE ON SCHEMA lead_score_internal TO lead_score_reader;
-- Comments on the two roles (a comment of yours is kept).
DO $$
BEGIN
    IF pg_catalog.shobj_description('lead_score_reader'::pg_catalog.regrole, 'pg_authid') IS NULL THEN
        COMMENT ON ROLE lead_score_reader IS
            'lead_score: reads models, rules, current scores and alerts. Grant it to login roles (README, Roles).';
    END IF;
    IF pg_catalog.shobj_description('lead_score_admin'::pg_catalog.regrole, 'pg_authid') IS NULL THEN
        COMMENT ON ROLE lead_score_admin IS
            'lead_score: lead_score_reader, and creates models, attaches, detaches, rescores and ticks (README, Roles).';
    END IF;
END
$$;
COMMENT ON SCHEMA lead_score_internal IS
    'lead_score internals: helper functions, score states, pending events and generated trigger functions. Not an API: use the lead_score schema.';

-- Extension updates regenerate every attachment's generated objects (src/attach.rs).
CREATE FUNCTION lead_score_internal."_regenerate"("attachment" text) RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'regenerate_wrapper';
CREATE FUNCTION lead_score_internal."_refresh_current_views"() RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'refresh_current_views_wrapper';
CREATE FUNCTION lead_score_internal."_report_refusals"("attachment" text) RETURNS integer
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'report_refusals_wrapper';
-- The same, also classifying the stored state at `before` (with the fit it was
-- stored with), to alert a crossing time alone caused since it was written
-- before the write's own (src/live.rs).
CREATE FUNCTION lead_score_internal._live_apply(stored bytea, delta bytea, fit float8, disqualified_by text,
                                       prev_mql boolean, prev_quadrant text, prev_hot text[],
                                       landmark timestamptz, now timestamptz, replace boolean,
                                       before timestamptz, before_fit float8, before_disqualified_by text)
RETURNS lead_score_internal._applied AS 'MODULE_PATHNAME', 'lead_score_live_apply'
LANGUAGE c STABLE CALLED ON NULL INPUT PARALLEL SAFE;
-- scoring_time() reads lead_score.as_of through _as_of, which names the
-- setting when it refuses a value that SET did not check.
CREATE FUNCTION lead_score_internal."_as_of"("value" text) RETURNS timestamptz
STRICT STABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'as_of_sql_wrapper';
CREATE OR REPLACE FUNCTION lead_score.scoring_time()
RETURNS timestamptz LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
AS $$ SELECT CASE WHEN pg_catalog.current_setting('lead_score.as_of', true) OPERATOR(pg_catalog.<>) ''
                 THEN lead_score_internal._as_of(pg_catalog.current_setting('lead_score.as_of', true))
                 ELSE lead_score_internal._now() END $$;
COMMENT ON FUNCTION lead_score_internal._as_of(text) IS
    'lead_score.as_of''s value as scoring_time() reads it; refuses one that is no finite time with an error naming the setting.';
REVOKE ALL ON FUNCTION lead_score_internal._regenerate(text), lead_score_internal._refresh_current_views(),
                       lead_score_internal._report_refusals(text) FROM PUBLIC;
COMMENT ON FUNCTION lead_score_internal._regenerate(text) IS
    'Internal: replace an attachment''s generated functions, views and triggers with the ones this version generates (run by extension updates).';
COMMENT ON FUNCTION lead_score_internal._refresh_current_views() IS
    'Internal: current_scores and current_categories over every attachment (run by extension updates, after _regenerate).';
COMMENT ON FUNCTION lead_score_internal._report_refusals(text) IS
    'Internal: a WARNING for each thing attach would refuse now in an existing attachment (run by extension updates).';

-- current_scores becomes a view that attach and detach generate, a branch per
-- attachment, so filters push down (it was a function scan). The loop below
-- creates it when something is attached. A view of yours over it must be dropped
-- first, and created again after the update.
DROP VIEW lead_score.current_scores;
DROP FUNCTION lead_score_internal._current_scores();

-- SHOW lead_score.as_of works in every new session of this database, before
-- anything has loaded the library: the setting exists from the start, empty (now).
-- A database-level value of yours is kept.
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) c
                   WHERE s.setrole OPERATOR(pg_catalog.=) 0
                     AND s.setdatabase OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
                                                              WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
                     AND c OPERATOR(pg_catalog.~~) 'lead\_score.as\_of=%') THEN
        EXECUTE pg_catalog.format('ALTER DATABASE %I SET lead_score.as_of = %L', pg_catalog.current_database(), '');
    END IF;
END $$;

-- Account scores (README, "Account scores"): the functions the account views use.
CREATE FUNCTION lead_score."account_engagement"(
	"model" TEXT, /* & str */
	"engagement_sum" double precision /* f64 */
) RETURNS double precision /* f64 */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'account_engagement_wrapper';
CREATE FUNCTION lead_score."account_engaged"(
	"model" TEXT, /* & str */
	"engagement" double precision /* f64 */
) RETURNS bool /* bool */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'account_engaged_wrapper';
CREATE FUNCTION lead_score."account_quadrant"(
	"model" TEXT, /* & str */
	"fit" double precision, /* f64 */
	"engagement" double precision, /* f64 */
	"disqualified" bool DEFAULT false /* bool */
) RETURNS TEXT /* & '_ str */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'account_quadrant_wrapper';
CREATE FUNCTION lead_score."account_alerting"(
	"model" TEXT, /* & str */
	"total" double precision, /* f64 */
	"disqualified" bool DEFAULT false /* bool */
) RETURNS bool /* bool */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'account_alerting_wrapper';
CREATE FUNCTION lead_score_internal."_account_objects"(
	"attachment" TEXT /* & str */
) RETURNS bool /* bool */
STRICT VOLATILE PARALLEL UNSAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'account_objects_wrapper';
CREATE FUNCTION lead_score_internal."_account_seed"(
	"attachment" TEXT /* & str */
) RETURNS bool /* bool */
STRICT VOLATILE PARALLEL UNSAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'account_seed_wrapper';
CREATE FUNCTION lead_score_internal."_account_alerts"(
	"attachment" TEXT /* & str */
) RETURNS INT /* i32 */
STRICT VOLATILE PARALLEL UNSAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'account_alerts_wrapper';
CREATE FUNCTION lead_score.explain_account(attachment text, account text)
RETURNS TABLE (section text, item text, fit float8, engagement float8, detail text)
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m text;
    r record;
    counted integer := 0;
    disqualified integer := 0;
    best float8 := 0;
    summed float8 := 0;
    capped float8;
    dq boolean;
BEGIN
    IF explain_account.attachment IS NULL THEN
        RAISE EXCEPTION 'explain_account: attachment must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.model INTO m FROM lead_score.attachments a WHERE a.name = explain_account.attachment;
    IF m IS NULL THEN
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', explain_account.attachment USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM lead_score.account_engaged(m, 0);  -- 22023 for a model without an accounts section
    -- The account's leads, best fit first.
    FOR r IN EXECUTE lead_score_internal._sql(explain_account.attachment, 'account_explain') USING explain_account.account LOOP
        -- Summed in lead key order, as the accounts view sums it.
        summed := r.summed;
        IF r.disqualified THEN
            disqualified := disqualified + 1;
            RETURN QUERY SELECT 'lead'::text, r.lead_key, r.fit, r.engagement,
                'disqualified (' || r.disqualified_by || '): not counted';
        ELSE
            counted := counted + 1;
            IF counted = 1 THEN
                best := r.fit;
            END IF;
            RETURN QUERY SELECT 'lead'::text, r.lead_key, r.fit, r.engagement,
                concat_ws(', ', CASE WHEN counted = 1 THEN 'best fit' END,
                          CASE WHEN r.engaged THEN 'engaged' ELSE 'not engaged' END, 'engagement counted');
        END IF;
    END LOOP;
    IF counted + disqualified = 0 THEN
        RETURN;
    END IF;
    dq := counted = 0;
    capped := lead_score.account_engagement(m, summed);
    RETURN QUERY SELECT 'account'::text, 'fit'::text, best, NULL::float8,
        format('best fit of the %s leads not disqualified', counted);
    RETURN QUERY SELECT 'account'::text, 'engagement'::text, NULL::float8, summed,
        format('engagement of the %s leads not disqualified, summed', counted);
    IF capped <> summed THEN
        RETURN QUERY SELECT 'account'::text, 'cap'::text, NULL::float8, capped - summed, 'accounts.cap'::text;
    END IF;
    RETURN QUERY SELECT 'account'::text, 'total'::text, best, capped,
        format('total %s, grade %s, quadrant %s%s', round((best + capped)::numeric, 2), lead_score.grade(m, best),
               lead_score.account_quadrant(m, best, capped, dq),
               CASE WHEN lead_score.account_alerting(m, best + capped, dq) THEN ', alerting (accounts.alert)' ELSE '' END);
END
$$;
COMMENT ON FUNCTION lead_score.explain_account(text, text) IS
    'What an account''s score is made of: each lead (best fit, engaged, disqualified), the summed and capped engagement, and the total with its grade and quadrant.';
COMMENT ON FUNCTION lead_score.account_engagement(text, float8) IS 'An account''s engagement: its leads'' summed engagement, capped at accounts.cap.';
COMMENT ON FUNCTION lead_score.account_engaged(text, float8) IS 'Whether a lead of this engagement counts as engaged for its account (accounts.engaged_min).';
COMMENT ON FUNCTION lead_score.account_quadrant(text, float8, float8, boolean) IS 'An account''s fit x engagement quadrant (accounts.quadrant, else the model''s thresholds).';
COMMENT ON FUNCTION lead_score.account_alerting(text, float8, boolean) IS 'Whether an account of this total is at or above accounts.alert.';
REVOKE ALL ON FUNCTION lead_score_internal._account_objects(text), lead_score_internal._account_alerts(text),
    lead_score_internal._account_seed(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lead_score_internal._account_objects(text), lead_score_internal._account_alerts(text),
    lead_score_internal._account_seed(text) TO lead_score_admin;
-- They read the account views, which score at lead_score.as_of: a session's
-- past or future reading time must not become what tick() compares with.
ALTER FUNCTION lead_score_internal._account_objects(text) SET lead_score.as_of = '';
ALTER FUNCTION lead_score_internal._account_alerts(text) SET lead_score.as_of = '';
ALTER FUNCTION lead_score_internal._account_seed(text) SET lead_score.as_of = '';
COMMENT ON FUNCTION lead_score_internal._account_objects(text) IS
    'Internal: an attachment''s account views as its model''s current version has them (run by publishing); true if the accounts alerting are to be recorded.';
COMMENT ON FUNCTION lead_score_internal._account_seed(text) IS
    'Internal: records which accounts of an attachment are alerting, without alerting (run by attach and publishing).';
COMMENT ON FUNCTION lead_score_internal._account_alerts(text) IS
    'Internal: alert once for each account of an attachment whose total reached accounts.alert since the last check (run by tick()).';
-- Account alerts. On Citus, where alerts is distributed, an ALTER TABLE that
-- adds a constraint must do nothing else, and Citus sends an ALTER TABLE's
-- query text to the workers: run at the top level of this script, that text
-- would be the whole script, so each runs by EXECUTE.
DO $kinds$
BEGIN
    EXECUTE 'ALTER TABLE lead_score.alerts DROP CONSTRAINT alerts_kind_check';
    EXECUTE 'ALTER TABLE lead_score.alerts ADD CONSTRAINT alerts_kind_check CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY[''mql'', ''mql_lost'', ''quadrant'', ''watermark'', ''burst'', ''account'', ''adjustment'']))';
END
$kinds$;
COMMENT ON COLUMN lead_score.alerts.lead_key IS 'The lead''s key, as text; for kind account, the account';
COMMENT ON COLUMN lead_score.alerts.kind IS 'mql, mql_lost, quadrant, watermark, burst, account (an account reached accounts.alert), or adjustment (a manual adjustment made or ended)';

-- The activity columns an attachment reads a model version's event properties
-- from, in the version's order (engagement.properties): each property's column
-- in the mapping's "properties" map, or the column of its own name. attach
-- stores them as mapping.property_columns, and create_model refuses a version
-- of an attached model for which they differ: the one statement of that rule.
CREATE FUNCTION lead_score_internal._property_columns(spec jsonb, properties jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(jsonb_agg(coalesce(properties ->> p.p, p.p) ORDER BY p.o), '[]')
    FROM jsonb_array_elements_text(coalesce(spec -> 'engagement' -> 'properties', '[]')) WITH ORDINALITY AS p(p, o)
$$;
COMMENT ON FUNCTION lead_score_internal._property_columns(jsonb, jsonb) IS
    'Internal: the activity columns an attachment reads a version''s event properties from, in order.';

-- Publishing brings the account views in line (tick() is replaced below, with the Citus changes).
CREATE OR REPLACE FUNCTION lead_score.create_model(name text, spec jsonb, note text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_model_id bigint;
    v_current  integer;
    v_next     integer;
    v_attached text;
    v_columns  jsonb;
    v_wanted   jsonb;
    v_seed     text[];
BEGIN
    IF name IS NULL OR spec IS NULL THEN
        RAISE EXCEPTION 'lead_score.create_model: name and spec must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF lead_score_internal._blank(name) THEN
        RAISE EXCEPTION 'lead_score.create_model: name must not be empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- 'name@N' names version N of model name (lead_score.score('default@3', …)).
    IF name OPERATOR(pg_catalog.~) '@[0-9]+$' THEN
        RAISE EXCEPTION 'lead_score.create_model: a model name may not end in @ and digits, which name a version: %', name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM lead_score.validate_spec(spec);
    -- The upsert takes the row lock, so concurrent publishers of one model serialize here.
    INSERT INTO lead_score.models AS m (name, current_version)
    VALUES (create_model.name, 0)
    ON CONFLICT ON CONSTRAINT models_name_key DO UPDATE SET updated_at = m.updated_at
    RETURNING m.id, m.current_version INTO v_model_id, v_current;

    IF v_current > 0 AND (SELECT v.spec = create_model.spec FROM lead_score.model_versions v
                          WHERE v.model_id = v_model_id AND v.version = v_current) THEN
        RETURN v_current;
    END IF;
    -- An attachment passes the event properties to its triggers and pending
    -- table by position, from the columns the version it was attached with
    -- named (mapping.property_columns): a version whose engagement.properties
    -- map to other columns (one added, removed or reordered) would read each
    -- as another, silently. Refused before the version is stored.
    SELECT a.name, coalesce(a.mapping -> 'property_columns', '[]'), c.columns INTO v_attached, v_columns, v_wanted
    FROM lead_score.attachments a
    CROSS JOIN LATERAL (SELECT lead_score_internal._property_columns(create_model.spec, a.mapping -> 'properties') AS columns) c
    WHERE a.model = create_model.name
      AND coalesce(a.mapping -> 'property_columns', '[]') IS DISTINCT FROM c.columns
    ORDER BY a.name LIMIT 1;
    IF v_attached IS NOT NULL THEN
        RAISE EXCEPTION 'lead_score.create_model: engagement.properties: model "%" is attached as "%", which reads the event properties from columns %; this version''s would be read from %',
            create_model.name, v_attached, v_columns, v_wanted
            USING ERRCODE = 'feature_not_supported',
                  HINT = format('Detach "%s", publish the version, then attach it again.', v_attached);
    END IF;
    -- After the newest version, which may be a draft (suggest_points) newer than the current one.
    SELECT coalesce(max(v.version), 0) + 1 INTO v_next FROM lead_score.model_versions v WHERE v.model_id = v_model_id;
    BEGIN
        INSERT INTO lead_score.model_versions (model_id, version, spec, note)
        VALUES (v_model_id, v_next, create_model.spec, create_model.note);
    EXCEPTION WHEN unique_violation THEN
        -- A version stored by hand (a draft) that this transaction's snapshot
        -- did not show, as the models row it locked did not tell.
        RAISE EXCEPTION 'could not serialize access: version % of model "%" was stored after this transaction''s snapshot', v_next, create_model.name
            USING ERRCODE = 'serialization_failure', HINT = 'Retry the transaction.';
    END;
    UPDATE lead_score.models SET current_version = v_next, updated_at = now()
    WHERE id = v_model_id;
    -- Live scores follow the new version at once (retroactively); readers see the
    -- old version's scores until this transaction commits.
    -- A version live scores could not keep equal to a recompute is refused
    -- while the model is attached (_live_check: what attach refuses).
    IF EXISTS (SELECT 1 FROM lead_score.attachments a WHERE a.model = create_model.name) THEN
        PERFORM lead_score_internal._live_check(create_model.name);
        -- And every attachment of it can read the version's fit fields.
        PERFORM lead_score_internal._check_fit_fields(create_model.name, v_next);
    END IF;
    -- In the order a statement fires their insert triggers (by trigger name,
    -- lead_score_<name>_ins, bytewise), which is the order the triggers of an
    -- activity insert lock their pending tables and its commit folds their
    -- score tables: a model attached twice to the same tables (a_x and a_x_d,
    -- whose triggers fire a_x_d's first) is published without closing a cycle
    -- with a writer between its two triggers.
    PERFORM lead_score.rescore(a.name) FROM lead_score.attachments a WHERE a.model = create_model.name
    ORDER BY (a.name || '_ins') COLLATE "C";
    -- Account views follow the version's accounts section (its field may
    -- change), once the rescores hold the score tables: tick() and writers
    -- take a score table before the account objects, and so does this (taken
    -- before, a tick() or a writer reading the account views between its
    -- score table and them deadlocked with the publish).
    v_seed := ARRAY(SELECT x.name FROM (SELECT a.name, lead_score_internal._account_objects(a.name) AS seed
                                        FROM lead_score.attachments a WHERE a.model = create_model.name
                                        ORDER BY a.name OFFSET 0) x
                    WHERE x.seed ORDER BY x.name);
    -- The accounts alerting now, where _account_objects says so, read from
    -- the leads scored by the new version (read before the rescore, the
    -- current view would merge the old version's stored states with pending
    -- events the new one scores).
    PERFORM lead_score_internal._account_seed(s.name) FROM pg_catalog.unnest(v_seed) AS s(name);
    RETURN v_next;
END
$$;

-- distribute() also recreates the <name>_categories view on every node.
CREATE OR REPLACE PROCEDURE lead_score.distribute(attachment text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att   record;
    v     regclass;
    r     record;
    bad   text;
    groups     integer[] := '{}';
    shards     bigint[] := '{}';
BEGIN
    IF distribute.attachment IS NULL THEN
        RAISE EXCEPTION 'lead_score.distribute: attachment must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF lead_score_internal._distribute_tables(distribute.attachment) THEN
        COMMIT;
    END IF;
    SELECT * INTO att FROM lead_score.attachments a WHERE a.name = distribute.attachment;
    -- Each node installs the shard groups it holds (_citus_install_node): the
    -- command carries only the attachment's name, quoted. Every placement of
    -- the activity shards must be installed by the node of its group, and
    -- nothing else: a node whose metadata differs from the coordinator's
    -- (a group installed twice, or on a node that does not hold it) fails.
    FOR r IN EXECUTE 'SELECT coalesce(n.nodename || '':'' || n.nodeport, ''node '' || p.nodeid) AS node, n.groupid, p.success, p.result
                      FROM pg_catalog.run_command_on_all_nodes($1) p
                      LEFT JOIN pg_catalog.pg_dist_node n ON n.nodeid = p.nodeid ORDER BY p.nodeid'
             USING 'SELECT lead_score_internal._citus_install_node(' || pg_catalog.quote_literal(att.name) || ')'
    LOOP
        IF NOT r.success THEN
            bad := pg_catalog.format('%s: %s', r.node, r.result);
            RAISE EXCEPTION 'lead_score.distribute: installing the triggers of attachment "%" failed on %', att.name, bad
                USING ERRCODE = 'external_routine_exception';
        END IF;
        shards := shards || r.result::bigint[];
        groups := groups || pg_catalog.array_fill(r.groupid, ARRAY[pg_catalog.cardinality(r.result::bigint[])]);
    END LOOP;
    -- The first five that differ, and how many more.
    EXECUTE 'SELECT pg_catalog.string_agg(pg_catalog.format(''shard %s of group %s %s'', y.shardid, coalesce(y.groupid::text, ''?''), y.what), '', '' ORDER BY y.n)
                    FILTER (WHERE y.n <= 5)
                    || CASE WHEN pg_catalog.count(*) > 5 THEN pg_catalog.format('' and %s more'', pg_catalog.count(*) - 5) ELSE '''' END
             FROM (SELECT x.*, pg_catalog.row_number() OVER (ORDER BY x.shardid, x.groupid, x.what) AS n
             FROM ((SELECT p.groupid, p.shardid, ''not installed'' AS what FROM pg_catalog.pg_dist_placement p
                    JOIN pg_catalog.pg_dist_shard s ON s.shardid = p.shardid WHERE s.logicalrelid = $1
                    EXCEPT SELECT g, id, ''not installed'' FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS i(g, id))
                   UNION ALL
                   (SELECT g, id, ''installed where not placed, or twice'' FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS i(g, id)
                    EXCEPT ALL SELECT p.groupid, p.shardid, ''installed where not placed, or twice'' FROM pg_catalog.pg_dist_placement p
                    JOIN pg_catalog.pg_dist_shard s ON s.shardid = p.shardid WHERE s.logicalrelid = $1)) x) y'
        INTO bad USING att.activities, groups, shards;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'lead_score.distribute: the nodes installed attachment "%"''s activity shards unlike the coordinator''s placements: %',
            att.name, bad
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Every node needs Citus metadata (citus_activate_node); then call lead_score.distribute again.';
    END IF;
    FOR v IN SELECT c.oid FROM pg_class c
             WHERE c.relnamespace IN ('lead_score'::regnamespace, 'lead_score_internal'::regnamespace)
               AND c.relkind = 'v' AND c.relname IN (att.name || '_columns', att.name || '_merged', att.name || '_current',
                                 att.name || '_categories')
             -- Each after the views it reads.
             ORDER BY c.relname IN (att.name || '_current', att.name || '_categories'),
                      c.relname = att.name || '_categories', c.relname
    LOOP
        IF v = pg_catalog.to_regclass('lead_score.' || pg_catalog.quote_ident(att.name || '_current')) THEN
            -- As generated for distributed tables (no manual adjustments there yet).
            EXECUTE lead_score_internal._sql(att.name, 'current_view');
        ELSE
            EXECUTE 'CREATE OR REPLACE VIEW ' || v::text || ' AS ' || pg_catalog.pg_get_viewdef(v);
        END IF;
    END LOOP;
END
$$;


-------------------------------------------------------------------------------
-- Deferred attachments on Citus (docs/citus.md): distribute() accepts them
-- and is idempotent for them; tick() folds their pending events on every node
-- (_citus_fold, _citus_fold_node); the distributed rescore empties their
-- pending events first; top_leads() sorts every lead on Citus (sync
-- attachments too: Citus cannot run its bounded rounds). detach() drops the
-- shard groups' objects on every node (_citus_forget, _citus_forget_node).
-------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION lead_score_internal._distribute_tables(attachment text)
RETURNS boolean LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
-- Citus would otherwise convert every local table linked by a foreign key to a
-- new reference table by recreating it, which it cannot do for the tables the
-- extension's views (model_rules) depend on.
SET citus.enable_local_reference_table_foreign_keys = off
AS $$
DECLARE
    att      record;
    t        regclass;
    lead_col text;
    act_col  text;
    changed  boolean := false;
BEGIN
    IF NOT lead_score_internal._citus() THEN
        RAISE EXCEPTION 'lead_score.distribute needs the citus extension, which is not installed in this database'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run CREATE EXTENSION citus on the coordinator first (docs/citus.md).';
    END IF;
    SELECT * INTO att FROM lead_score.attachments a WHERE a.name = _distribute_tables.attachment;
    IF att.name IS NULL THEN
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', _distribute_tables.attachment
            USING ERRCODE = 'undefined_object';
    END IF;
    IF lead_score_internal._citus_method(att.leads) IS DISTINCT FROM 'h' THEN
        RAISE EXCEPTION 'lead_score attachment "%": % is not a distributed table', att.name, att.leads
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Distribute it by its lead key with create_distributed_table first, and its activities co-located with it.';
    END IF;
    EXECUTE 'SELECT pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) FROM pg_catalog.pg_dist_partition p
             WHERE p.logicalrelid = $1'
        INTO lead_col USING att.leads;
    EXECUTE 'SELECT pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) FROM pg_catalog.pg_dist_partition p
             WHERE p.logicalrelid = $1
               AND p.colocationid = (SELECT q.colocationid FROM pg_catalog.pg_dist_partition q WHERE q.logicalrelid = $2)'
        INTO act_col USING att.activities, att.leads;
    IF lead_col IS DISTINCT FROM att.mapping ->> 'lead_key' OR act_col IS DISTINCT FROM att.mapping ->> 'activity_lead_key' THEN
        RAISE EXCEPTION 'lead_score attachment "%": % must be distributed by % and % by %, co-located', att.name,
            att.leads, att.mapping ->> 'lead_key', att.activities, att.mapping ->> 'activity_lead_key'
            USING ERRCODE = 'invalid_table_definition',
                  HINT = 'create_distributed_table(activities, column, colocate_with => leads)';
    END IF;
    -- Configuration: reference tables, in foreign-key order.
    FOREACH t IN ARRAY ARRAY['lead_score.models', 'lead_score.model_versions', 'lead_score.attachments',
                             'lead_score.outcome_links']::regclass[] LOOP
        IF lead_score_internal._citus_method(t) IS NULL THEN
            PERFORM create_reference_table(t);
            changed := true;
        END IF;
    END LOOP;
    -- Alerts, by lead key (Citus needs it in the primary key).
    IF lead_score_internal._citus_method('lead_score.alerts') IS NULL THEN
        ALTER TABLE lead_score.alerts DROP CONSTRAINT alerts_pkey, ADD PRIMARY KEY (lead_key, id);
        PERFORM create_distributed_table('lead_score.alerts', 'lead_key');
        changed := true;
    END IF;
    -- The attachment's outbox: the triggers on the shards write their alerts to
    -- its co-located shard, and relay_alerts() moves them to lead_score.alerts.
    IF pg_catalog.to_regclass('lead_score_internal.' || pg_catalog.quote_ident(att.name || '_outbox')) IS NULL THEN
        EXECUTE lead_score_internal._sql(att.name, 'citus_outbox');
        changed := true;
    END IF;
    -- tick() runs as its caller, lead_score_admin included: a node's fold of
    -- a deferred shard group writes alerts here, relay_alerts() moves them
    -- (the shards take the grant from the distributed table).
    EXECUTE 'GRANT SELECT, INSERT, DELETE ON lead_score_internal.' || pg_catalog.quote_ident(att.name || '_outbox')
            || ' TO lead_score_admin';
    -- A regclass in a reference table is the coordinator's OID; every node
    -- finds the tables by these names instead (src/attach.rs, read_row).
    IF NOT att.mapping ? 'citus_leads' THEN
        UPDATE lead_score.attachments a
        SET mapping = a.mapping || jsonb_build_object('citus_leads', att.leads::text, 'citus_activities', att.activities::text)
        WHERE a.name = att.name;
        changed := true;
    END IF;
    FOREACH t IN ARRAY ARRAY[pg_catalog.to_regclass('lead_score_internal.' || pg_catalog.quote_ident(att.name || '_scores')),
                             pg_catalog.to_regclass('lead_score_internal.' || pg_catalog.quote_ident(att.name || '_pending')),
                             pg_catalog.to_regclass('lead_score_internal.' || pg_catalog.quote_ident(att.name || '_outbox'))] LOOP
        IF lead_score_internal._citus_method(t) IS NULL THEN
            PERFORM create_distributed_table(t, 'lead_key', colocate_with => att.leads::text);
            changed := true;
        END IF;
    END LOOP;
    -- TRUNCATE of a distributed table also fires the distributed table's own
    -- TRUNCATE triggers, here on the coordinator, over every shard; the
    -- triggers on the shards do the work. Disabled here only.
    IF EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid IN (att.leads, att.activities) AND g.tgenabled <> 'D'
               AND g.tgname = 'lead_score_' || att.name || '_trunc') THEN
        PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
        EXECUTE 'ALTER TABLE ' || att.leads::text || ' DISABLE TRIGGER ' || pg_catalog.quote_ident('lead_score_' || att.name || '_trunc');
        EXECUTE 'ALTER TABLE ' || att.activities::text || ' DISABLE TRIGGER ' || pg_catalog.quote_ident('lead_score_' || att.name || '_trunc');
        PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'on', true);
        changed := true;
    END IF;
    RETURN changed;
END
$$;

CREATE OR REPLACE FUNCTION lead_score_internal._citus_install_shard(attachment text, activity_shard text)
RETURNS boolean LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
-- The functions are this node's own: a worker does not propagate them.
SET citus.enable_ddl_propagation = off
AS $$
DECLARE
    att      record;
    -- shard_name()'s text: <table>_<shard id>, in double quotes when the name needs them.
    shard    bigint := substring(activity_shard from '_([0-9]+)"?$')::bigint;
    shards   regclass[];
    refs     regclass[];
    suffix   text;
    s        text;
BEGIN
    SELECT * INTO att FROM lead_score.attachments a WHERE a.name = _citus_install_shard.attachment;
    IF att.name IS NULL THEN
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', _citus_install_shard.attachment
            USING ERRCODE = 'undefined_object';
    END IF;
    suffix := '_' || shard;
    -- The shards of leads, activities, scores and pending that hold the same keys.
    EXECUTE 'SELECT pg_catalog.array_agg(pg_catalog.shard_name(o.logicalrelid, o.shardid, false)::regclass ORDER BY x.i)
             FROM pg_catalog.pg_dist_shard d
             CROSS JOIN LATERAL unnest($2) WITH ORDINALITY AS x(rel, i)
             JOIN pg_catalog.pg_dist_shard o ON o.logicalrelid = x.rel AND o.shardminvalue = d.shardminvalue
             WHERE d.shardid = $1'
        INTO shards
        USING shard, ARRAY[(att.mapping ->> 'citus_leads')::regclass, (att.mapping ->> 'citus_activities')::regclass,
                           ('lead_score_internal.' || pg_catalog.quote_ident(att.name || '_scores'))::regclass,
                           ('lead_score_internal.' || pg_catalog.quote_ident(att.name || '_pending'))::regclass,
                           ('lead_score_internal.' || pg_catalog.quote_ident(att.name || '_outbox'))::regclass];
    IF pg_catalog.cardinality(shards) IS DISTINCT FROM 5 THEN
        RAISE EXCEPTION 'lead_score attachment "%": no co-located shards for shard %', att.name, shard
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- Installed already: the activity shard's update trigger calls the group's
    -- own function (every group has one, in both modes). A group whose
    -- functions exist without that was moved away and back: Citus rebuilt its
    -- shards with the distributed tables' triggers, and the functions left on
    -- this node are dropped and made again.
    IF pg_catalog.to_regproc('lead_score_internal.' || pg_catalog.quote_ident(att.name || '__recompute' || suffix)) IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                   WHERE t.tgrelid = shards[2]
                     AND t.tgfoid = pg_catalog.to_regproc('lead_score_internal.' || pg_catalog.quote_ident(att.name || '__act_upd' || suffix))) THEN
            RETURN false;
        END IF;
        FOR s IN SELECT 'DROP FUNCTION ' || p.oid::regprocedure::text || ' CASCADE' FROM pg_catalog.pg_proc p
                 WHERE p.pronamespace = 'lead_score_internal'::regnamespace
                   AND p.proname::text IN (SELECT att.name || '__' || k || suffix
                                           FROM unnest(ARRAY['act_ins', 'act_upd', 'act_del', 'act_trunc', 'lead_ins', 'lead_upd',
                                                             'lead_del', 'lead_trunc', 'fold', 'recompute']) k)
                 UNION ALL
                 SELECT 'DROP TABLE ' || c.oid::regclass::text FROM pg_catalog.pg_class c
                 WHERE c.relnamespace = 'lead_score_internal'::regnamespace AND c.relkind = 'r'
                   AND c.relname::text = att.name || '_stripes' || suffix
        LOOP
            EXECUTE s;
        END LOOP;
    END IF;
    -- This node's shards of the reference tables the triggers read.
    EXECUTE 'SELECT pg_catalog.array_agg(pg_catalog.shard_name(d.logicalrelid, d.shardid, false)::regclass ORDER BY x.i)
             FROM unnest($1) WITH ORDINALITY AS x(rel, i)
             JOIN pg_catalog.pg_dist_shard d ON d.logicalrelid = x.rel'
        INTO refs USING ARRAY['lead_score.attachments', 'lead_score.models']::regclass[];
    -- The triggers Citus copied to the shards, which call the distributed tables'
    -- functions, are replaced by the group's own.
    FOREACH s IN ARRAY lead_score_internal._citus_shard_sql(att.name, (shards || refs)::oid[], suffix) LOOP
        EXECUTE s;
    END LOOP;
    RETURN true;
END
$$;

-- Phase 2 on one node (run_command_on_all_nodes, from distribute): installs
-- every shard group whose activity shard this node holds. The node finds its
-- shards itself: no shard's name travels inside a command's text (a table
-- name may hold a quote). Returns the ids of the activity shards it holds,
-- their groups all installed, in order.
CREATE FUNCTION lead_score_internal._citus_install_node(attachment text)
RETURNS bigint[] LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    activities regclass;
    shard      record;
    ids        bigint[] := '{}';
BEGIN
    SELECT pg_catalog.to_regclass(a.mapping ->> 'citus_activities') INTO activities
    FROM lead_score.attachments a WHERE a.name = _citus_install_node.attachment;
    IF activities IS NULL THEN
        RAISE EXCEPTION 'lead_score attachment "%" is not distributed on this node', _citus_install_node.attachment
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- The activity shards placed on this node (its group).
    FOR shard IN EXECUTE 'SELECT s.shardid AS id, pg_catalog.shard_name(s.logicalrelid, s.shardid, false) AS name FROM pg_catalog.pg_dist_shard s
                          JOIN pg_catalog.pg_dist_placement p ON p.shardid = s.shardid
                          WHERE s.logicalrelid = $1
                            AND p.groupid = (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g)
                          ORDER BY s.shardid'
                 USING activities
    LOOP
        PERFORM lead_score_internal._citus_install_shard(_citus_install_node.attachment, shard.name);
        ids := ids || shard.id;
    END LOOP;
    RETURN ids;
END
$$;
REVOKE ALL ON FUNCTION lead_score_internal._citus_install_node(text) FROM PUBLIC;

-- On each node (by run_command_on_all_nodes, from _citus_fold): folds the
-- pending events of every shard group of the attachment this node holds, each
-- with the group's own fold function (lead_score_core::sqlgen::attach::Placement),
-- and returns the alerts they wrote to the outbox shards. Runs in a transaction
-- of its own, which must not wait for a lock the caller's (tick's) transaction
-- may hold on the shards: a group it cannot lock within lock_timeout is left
-- for the next tick.
CREATE FUNCTION lead_score_internal._citus_fold_node(attachment text)
RETURNS bigint LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '1s'
-- A connection of run_command_on_all_nodes is a client's: Citus lets it write
-- shards only with this (a shard's triggers write them within Citus's task).
SET citus.enable_manual_changes_to_shards = on
AS $$
DECLARE
    activities regclass;
    shard      bigint;
    f          regproc;
    n          bigint;
    sent       bigint := 0;
BEGIN
    SELECT pg_catalog.to_regclass(a.mapping ->> 'citus_activities') INTO activities
    FROM lead_score.attachments a WHERE a.name = _citus_fold_node.attachment AND a.mode = 'deferred';
    IF activities IS NULL THEN
        RETURN 0;
    END IF;
    -- The activity shards placed on this node (its group).
    FOR shard IN EXECUTE 'SELECT s.shardid FROM pg_catalog.pg_dist_shard s
                          JOIN pg_catalog.pg_dist_placement p ON p.shardid = s.shardid
                          WHERE s.logicalrelid = $1
                            AND p.groupid = (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g)
                          ORDER BY s.shardid'
                 USING activities
    LOOP
        f := pg_catalog.to_regproc('lead_score_internal.' || pg_catalog.quote_ident(_citus_fold_node.attachment || '__fold_' || shard));
        IF f IS NULL THEN
            RAISE WARNING 'lead_score attachment "%": shard % has no fold function; run CALL lead_score.distribute(%)',
                _citus_fold_node.attachment, shard, pg_catalog.quote_literal(_citus_fold_node.attachment);
            CONTINUE;
        END IF;
        BEGIN
            EXECUTE 'SELECT ' || f::text || '()' INTO n;
            sent := sent + n;
        EXCEPTION WHEN lock_not_available THEN
            NULL;  -- a later tick folds it
        WHEN object_not_in_prerequisite_state THEN
            -- Events past the forward-decay bound of a landmark more than 512
            -- half-lives old (55000 itself, not the rest of its class): this
            -- tick rebases after its folds, the next one folds them in full.
            IF SQLSTATE <> '55000' THEN
                RAISE;
            END IF;
            RAISE WARNING 'lead_score attachment "%": shard % left to fold after a rebase: %',
                _citus_fold_node.attachment, shard, SQLERRM;
        END;
    END LOOP;
    RETURN sent;
END
$$;

-- On the coordinator, tick() folds a distributed deferred attachment here:
-- every node folds the pending events of the shard groups it holds, in
-- parallel, each node in a transaction of its own (_citus_fold_node: one
-- connection per node, not per shard); returns the alerts they wrote to the
-- outbox, which relay_alerts() then sends.
CREATE FUNCTION lead_score_internal._citus_fold(attachment text)
RETURNS bigint LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r   record;
    n   bigint := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM lead_score.attachments a WHERE a.name = _citus_fold.attachment) THEN
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', _citus_fold.attachment
            USING ERRCODE = 'undefined_object';
    END IF;
    FOR r IN EXECUTE 'SELECT p.nodeid, p.success, p.result FROM pg_catalog.run_command_on_all_nodes($1) p ORDER BY p.nodeid'
             USING 'SELECT lead_score_internal._citus_fold_node(' || pg_catalog.quote_literal(_citus_fold.attachment) || ')'
    LOOP
        IF NOT r.success THEN
            RAISE EXCEPTION 'lead_score: folding the pending events of attachment "%" failed on node %: %',
                _citus_fold.attachment, r.nodeid, r.result
                USING ERRCODE = 'external_routine_exception';
        END IF;
        n := n + r.result::bigint;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION lead_score_internal._citus_fold(text) IS
    'On Citus: fold a deferred attachment''s pending events on every node, shard group by shard group; tick() calls it.';
COMMENT ON FUNCTION lead_score_internal._citus_fold_node(text) IS
    'On a Citus node: fold the pending events of the shard groups of a deferred attachment this node holds; _citus_fold calls it.';

-- On each node (by run_command_on_all_nodes, from _citus_forget): drops an
-- attachment's shard-group functions (lead_score_internal.<name>__<trigger>_<shard id>,
-- __fold_<shard id>, __recompute_<shard id>), their triggers on the shards with
-- them, and its stripe tables (<name>_stripes_<shard id>): objects of this node
-- only, which no DDL of the coordinator reaches. Returns how many it dropped.
CREATE FUNCTION lead_score_internal._citus_forget_node(attachment text)
RETURNS integer LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
-- This node's own objects: nothing to propagate.
SET citus.enable_ddl_propagation = off
-- Never waits long for a lock of the caller's (detach's) transaction.
SET lock_timeout = '1s'
AS $$
DECLARE
    o record;
    n integer := 0;
BEGIN
    FOR o IN SELECT 'FUNCTION' AS kind, p.oid::regprocedure::text AS name
             FROM pg_catalog.pg_proc p
             WHERE p.pronamespace = 'lead_score_internal'::regnamespace
               AND pg_catalog.starts_with(p.proname::text, _citus_forget_node.attachment || '__')
               AND pg_catalog.substr(p.proname::text, pg_catalog.length(_citus_forget_node.attachment) + 3)
                   ~ '^((act|lead)_(ins|upd|del|trunc)|fold|recompute)_[0-9]+$'
             UNION ALL
             SELECT 'TABLE', c.oid::regclass::text
             FROM pg_catalog.pg_class c
             WHERE c.relnamespace = 'lead_score_internal'::regnamespace AND c.relkind = 'r'
               AND pg_catalog.starts_with(c.relname::text, _citus_forget_node.attachment || '_stripes_')
               AND pg_catalog.substr(c.relname::text, pg_catalog.length(_citus_forget_node.attachment) + 10) ~ '^[0-9]+$'
             ORDER BY 1, 2
    LOOP
        EXECUTE 'DROP ' || o.kind || ' ' || o.name || CASE WHEN o.kind = 'FUNCTION' THEN ' CASCADE' ELSE '' END;
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- On the coordinator, detach() of a distributed attachment calls this once it
-- holds its locks, before it drops anything: every node drops the
-- attachment's shard-group objects (_citus_forget_node), each in a transaction
-- of its own. A node that fails (a lock it cannot take within a second, say)
-- only warns: its objects stay, unused, to drop by hand (docs/citus.md).
-- Returns how many objects were dropped.
CREATE FUNCTION lead_score_internal._citus_forget(attachment text)
RETURNS bigint LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    n bigint := 0;
BEGIN
    FOR r IN EXECUTE 'SELECT p.nodeid, p.success, p.result FROM pg_catalog.run_command_on_all_nodes($1) p ORDER BY p.nodeid'
             USING 'SELECT lead_score_internal._citus_forget_node(' || pg_catalog.quote_literal(_citus_forget.attachment) || ')'
    LOOP
        IF r.success THEN
            n := n + r.result::bigint;
        ELSE
            RAISE WARNING 'lead_score.detach: the shard-group functions and stripe tables of attachment "%" stay on node %: %',
                _citus_forget.attachment, r.nodeid, r.result;
        END IF;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION lead_score_internal._citus_forget(text) IS
    'On Citus: drop an attachment''s shard-group functions and stripe tables on every node; detach() calls it.';
COMMENT ON FUNCTION lead_score_internal._citus_forget_node(text) IS
    'On a Citus node: drop an attachment''s shard-group functions (with their triggers) and stripe tables; _citus_forget calls it.';

REVOKE ALL ON FUNCTION lead_score_internal._citus_fold(text), lead_score_internal._citus_fold_node(text),
                       lead_score_internal._citus_forget(text), lead_score_internal._citus_forget_node(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lead_score_internal._citus_fold(text), lead_score_internal._citus_fold_node(text),
                          lead_score_internal._citus_forget(text), lead_score_internal._citus_forget_node(text) TO lead_score_admin;
-- On Citus, tick() runs as its caller, lead_score_admin included: a node's
-- fold of a deferred shard group writes its alerts to the outbox, which
-- relay_alerts() empties.
GRANT EXECUTE ON FUNCTION lead_score_internal._emit_outbox(regclass, text, text, anyarray, float8[], jsonb[]) TO lead_score_admin;
DO $outbox$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid FROM pg_catalog.pg_class c JOIN lead_score.attachments a
             ON c.relname OPERATOR(pg_catalog.=) (a.name OPERATOR(pg_catalog.||) '_outbox')
             WHERE c.relnamespace OPERATOR(pg_catalog.=) 'lead_score_internal'::pg_catalog.regnamespace
             ORDER BY 1
    LOOP
        EXECUTE 'GRANT SELECT, INSERT, DELETE ON ' OPERATOR(pg_catalog.||) t::pg_catalog.text OPERATOR(pg_catalog.||) ' TO lead_score_admin';
    END LOOP;
END
$outbox$;

CREATE OR REPLACE FUNCTION lead_score.attach(model text, leads regclass, activities regclass,
                                  mapping jsonb DEFAULT '{}', name text DEFAULT NULL, mode text DEFAULT 'sync')
RETURNS regclass
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_name   text;
    v_mapping jsonb;
    spec     jsonb := lead_score.model_spec(attach.model);
    m        jsonb := coalesce(attach.mapping, '{}');
    bad      text;
    key_type regtype;
    akey_type regtype;
    prop_cols jsonb := '[]';
    p        text;
BEGIN
    IF attach.model IS NULL OR attach.leads IS NULL OR attach.activities IS NULL THEN
        RAISE EXCEPTION 'attach: % must not be NULL',
            CASE WHEN attach.model IS NULL THEN 'model' WHEN attach.leads IS NULL THEN 'leads' ELSE 'activities' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- Before the mapping is checked against either table.
    IF attach.leads = attach.activities THEN
        RAISE EXCEPTION 'leads and activities must be different tables' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF spec IS NULL THEN
        RAISE EXCEPTION 'lead_score model "%" does not exist', attach.model USING ERRCODE = 'undefined_object';
    END IF;
    IF attach.mode IS NULL OR attach.mode NOT IN ('sync', 'deferred') THEN
        RAISE EXCEPTION 'mode: must be ''sync'' or ''deferred'', got %', coalesce(quote_literal(attach.mode), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jsonb_typeof(m) <> 'object' THEN
        RAISE EXCEPTION 'mapping: must be a JSON object such as {"lead_key": "id"}, got a JSON %', jsonb_typeof(m)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Unknown keys (22023). A stored mapping can be passed back as is: its
    -- derived keys are taken and rebuilt below (lead_score_core::mapping lists them).
    PERFORM lead_score_internal._check_mapping_keys(ARRAY(SELECT jsonb_object_keys(m)));
    SELECT k INTO bad FROM jsonb_each(m) e(k, v)
    WHERE k IN ('lead_key', 'activity_lead_key', 'event_type', 'occurred_at') AND jsonb_typeof(v) <> 'string' LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'mapping.%: must be a column name (a JSON string), got %', bad, m -> bad
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF m ? 'properties' AND jsonb_typeof(m -> 'properties') <> 'object' THEN
        RAISE EXCEPTION 'mapping.properties: must be a JSON object of {"spec property": "column"}, got %', m -> 'properties'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT k INTO bad FROM jsonb_each(coalesce(m -> 'properties', '{}')) e(k, v) WHERE jsonb_typeof(v) <> 'string' LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'mapping.properties.%: must be a column name (a JSON string), got %', bad, m -> 'properties' -> bad
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT k INTO bad FROM jsonb_object_keys(coalesce(m -> 'properties', '{}')) k
    WHERE NOT coalesce(spec -> 'engagement' -> 'properties', '[]') ? k LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'mapping.properties.%: model "%" has no such event property (engagement.properties: %)',
            bad, attach.model, coalesce(spec -> 'engagement' -> 'properties', '[]')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_name := coalesce(attach.name, attach.model);
    IF v_name !~ '^[a-z_][a-z0-9_]{0,40}$' THEN
        RAISE EXCEPTION 'attachment name "%" must be a lower-case identifier of at most 41 characters', v_name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass name => ''...''.';
    END IF;
    IF EXISTS (SELECT 1 FROM lead_score.attachments a WHERE a.name = v_name) THEN
        RAISE EXCEPTION 'lead_score attachment "%" already exists', v_name
            USING ERRCODE = 'duplicate_object', HINT = 'Pass another name => ''...'', or detach it first.';
    END IF;
    v_mapping := jsonb_build_object(
        'lead_key', coalesce(m ->> 'lead_key', 'id'),
        'activity_lead_key', coalesce(m ->> 'activity_lead_key', 'lead_id'),
        'event_type', coalesce(m ->> 'event_type', 'type'),
        'occurred_at', coalesce(m ->> 'occurred_at', 'occurred_at'));
    -- _attach_install checks the zone, and for a timestamp or date time
    -- without one stores the session's TimeZone.
    IF m ? 'time_zone' THEN
        v_mapping := v_mapping || jsonb_build_object('time_zone', m -> 'time_zone');
    END IF;
    prop_cols := lead_score_internal._property_columns(spec, m -> 'properties');
    v_mapping := v_mapping || jsonb_build_object('properties', coalesce(m -> 'properties', '{}'), 'property_columns', prop_cols);

    -- Every mapped column must exist; keys must have the same type on both sides.
    SELECT a.atttypid::regtype INTO key_type FROM pg_attribute a
    WHERE a.attrelid = attach.leads AND a.attname = v_mapping ->> 'lead_key' AND NOT a.attisdropped AND a.attnum > 0;
    IF key_type IS NULL THEN
        RAISE EXCEPTION 'mapping.lead_key: column "%" does not exist in %', v_mapping ->> 'lead_key', attach.leads
            USING ERRCODE = 'undefined_column';
    END IF;
    -- PostgreSQL has no = between a domain over an enum and the enum, which
    -- the score tables key on (an enum key itself is fine).
    IF (WITH RECURSIVE d AS (SELECT t.typtype, t.typbasetype FROM pg_type t WHERE t.oid = key_type
                             UNION ALL
                             SELECT b.typtype, b.typbasetype FROM d JOIN pg_type b ON b.oid = d.typbasetype WHERE d.typtype = 'd')
        SELECT bool_or(d.typtype = 'd') AND bool_or(d.typtype = 'e') FROM d) THEN
        RAISE EXCEPTION 'mapping.lead_key: % is a domain over an enum, which a lead key cannot be', key_type
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Use the enum itself as the key type.';
    END IF;
    FOR p, bad IN SELECT k, v_mapping ->> k FROM unnest(ARRAY['activity_lead_key', 'event_type', 'occurred_at']) k
                  UNION ALL SELECT 'properties', c FROM jsonb_array_elements_text(prop_cols) c LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = attach.activities AND a.attname = bad
                       AND NOT a.attisdropped AND a.attnum > 0) THEN
            RAISE EXCEPTION 'mapping.%: column "%" does not exist in %', p, bad, attach.activities
                USING ERRCODE = 'undefined_column';
        END IF;
    END LOOP;
    SELECT a.atttypid::regtype INTO akey_type FROM pg_attribute a
    WHERE a.attrelid = attach.activities AND a.attname = v_mapping ->> 'activity_lead_key';
    IF akey_type <> key_type THEN
        RAISE EXCEPTION 'mapping.activity_lead_key: %.% is %, but %.% is %', attach.activities,
            v_mapping ->> 'activity_lead_key', akey_type, attach.leads, v_mapping ->> 'lead_key', key_type
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = attach.activities AND a.attname = v_mapping ->> 'activity_lead_key') THEN
        RAISE WARNING 'lead_score: % has no index on %: updates, deletes and new leads will scan it',
            attach.activities, v_mapping ->> 'activity_lead_key';
    END IF;
    -- Live scores count every row, read as the tables' owners (README, Security).
    SELECT c.oid::regclass::text INTO bad FROM pg_class c
    WHERE c.oid IN (attach.leads, attach.activities) AND c.relrowsecurity ORDER BY c.oid LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE WARNING 'lead_score: % has row-level security, which live scores do not apply: they count every row, and every role that may read them sees the scores (keys, totals, alerts) of rows its policies hide', bad
            USING HINT = 'rescore and check_consistency read as their caller, under its policies: run them as the tables'' owner.';
    END IF;

    -- On Citus: local leads and activities, or distributed leads with their
    -- co-located activities (checked by _distribute_tables below), nothing
    -- else: the triggers of a distributed table fire on its shards, which a
    -- local table's cannot reach, and a reference table is on every node
    -- (partmethod 'n': also a local table Citus added to its metadata).
    IF lead_score_internal._citus_method(attach.leads) = 'n' OR lead_score_internal._citus_method(attach.activities) = 'n' THEN
        RAISE EXCEPTION 'attach: % is a Citus reference table or a local table in Citus''s metadata, which lead_score does not score',
            CASE WHEN lead_score_internal._citus_method(attach.leads) = 'n' THEN attach.leads ELSE attach.activities END
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Distribute the leads by their key and the activities co-located with them (docs/citus.md), or keep both local.';
    ELSIF lead_score_internal._citus_method(attach.leads) IS NULL AND lead_score_internal._citus_method(attach.activities) IS NOT NULL THEN
        RAISE EXCEPTION 'attach: % is not a distributed table, but its activities % are', attach.leads, attach.activities
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Distribute the leads by their key and the activities co-located with them (docs/citus.md), or keep both local.';
    END IF;
    -- lead_score.current_scores reads every attachment: Citus cannot have a
    -- view over distributed tables and local ones.
    IF lead_score_internal._citus() THEN
        SELECT a.name INTO bad FROM lead_score.attachments a
        WHERE (lead_score_internal._citus_method(a.leads) IS NULL) <> (lead_score_internal._citus_method(attach.leads) IS NULL)
        ORDER BY a.name LIMIT 1;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'attach: on Citus, a database''s attachments are all of distributed tables or all of local ones: % is %, and attachment "%" is not',
                attach.leads, CASE WHEN lead_score_internal._citus_method(attach.leads) IS NULL THEN 'local' ELSE 'distributed' END, bad
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'lead_score.current_scores reads every attachment together (docs/citus.md).';
        END IF;
    END IF;
    PERFORM lead_score_internal._live_check(attach.model);  -- refuses models that cannot be live
    -- The attachment's row, tables, views, trigger functions and triggers: generated
    -- in Rust and created as the extension's owner, after checking the caller's
    -- rights on both tables.
    PERFORM lead_score_internal._attach_install(v_name, attach.model, attach.leads::oid, attach.activities::oid,
                                       v_mapping, attach.mode);
    -- On a Citus coordinator with distributed leads, the new tables are
    -- distributed with them before the first scoring reads both (sql/citus.sql).
    IF lead_score_internal._citus_method(attach.leads) = 'h' THEN
        PERFORM lead_score_internal._distribute_tables(v_name);
        -- current_scores and current_categories, which _attach_install left
        -- without this attachment: Citus refuses a view over distributed and
        -- not yet distributed tables.
        PERFORM lead_score_internal._refresh_current_views();
    END IF;
    -- The current version again: _attach_install waited for a publish in
    -- flight, whose version may differ from the one read above.
    spec := lead_score.model_spec(attach.model);
    -- Into a variable first: on Citus the row would be of the reference table's shard type.
    DECLARE
        att lead_score.attachments;
    BEGIN
        SELECT * INTO att FROM lead_score.attachments a WHERE a.name = v_name;
        PERFORM lead_score_internal._rescore(att, false);
    END;
    -- The accounts already alerting, now that the leads are scored: tick()
    -- alerts only on later crossings.
    IF spec ? 'accounts' THEN
        PERFORM lead_score_internal._account_seed(v_name);
    END IF;
    -- The starting distribution is the first history (not on Citus yet).
    PERFORM lead_score_internal._record_history(v_name, true);
    -- The view to read: the lead_score schema holds only what users read.
    RETURN (SELECT c.oid::regclass FROM pg_class c
            WHERE c.relnamespace = 'lead_score'::regnamespace AND c.relname = v_name || '_current');
END
$$;

CREATE OR REPLACE FUNCTION lead_score_internal._rescore(att lead_score.attachments, with_alerts boolean)
RETURNS bigint LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
-- Bulk work over every lead: hash and merge joins only, so no row estimate
-- (a table not analyzed since a big load, say) can make a plan quadratic.
SET enable_nestloop = off
SET search_path = pg_catalog, pg_temp
-- Plans here cost in the billions (nested loops off): PostgreSQL's JIT would
-- compile every call (1.3 s for a top_leads of 11 ms on 1,000,000 leads).
SET jit = off
AS $$
DECLARE
    n      bigint;
    started timestamptz := clock_timestamp();
    model_id bigint;
    version integer;
    activities bigint;
    now_   timestamptz := lead_score_internal._now();  -- real time: lead_score.as_of is for reads only
    -- Events are capped at the clock, as writes cap them (the locks are held:
    -- every event this reads was written before it).
    cap_   timestamptz := lead_score_internal._clock();
BEGIN
    SELECT m.id, m.current_version INTO model_id, version FROM lead_score.models m WHERE m.name = att.model;
    -- The queries are generated in Rust (lead_score_core::sqlgen), every name quoted there.
    EXECUTE lead_score_internal._sql(att.name, 'count_leads') INTO n;
    RAISE NOTICE 'lead_score: scoring % leads of % for attachment %', n, att.leads, att.name;
    -- Progress of the two scans is reported against the activities' size estimate
    -- (none if never analyzed) and the exact lead count.
    SELECT greatest(c.reltuples, 0)::bigint INTO activities FROM pg_class c WHERE c.oid = att.activities;
    EXECUTE lead_score_internal._sql(att.name, 'prune');
    -- Inserts later in this statement recompute rather than add (src/recomputed.rs).
    PERFORM lead_score_internal._recomputed(att.name, true);
    -- On Citus the distributed rescore leaves the pending events to this
    -- (the single-node one drops them itself): it counts every activity.
    -- (In either mode: a sync attachment made before its tables were
    -- distributed may have pending events left.)
    IF lead_score_internal._citus_method(att.leads) = 'h' THEN
        EXECUTE lead_score_internal._sql(att.name, 'clear_pending');
    END IF;
    -- Citus plans the distributed variant (lead_score_core::sqlgen::attach::Query).
    EXECUTE lead_score_internal._sql(att.name, CASE WHEN lead_score_internal._citus_method(att.leads) = 'h'
                                           THEN 'rescore_distributed' ELSE 'rescore' END)
    USING att.model, att.landmark, now_, with_alerts, model_id, version,
          activities, n, (extract(epoch FROM started) * 1000000)::bigint, cap_;
    IF with_alerts THEN
        EXECUTE lead_score_internal._sql(att.name, 'rescore_alerts') USING att.name, att.model, now_;
    END IF;
    IF clock_timestamp() - started >= interval '1 second' THEN
        RAISE NOTICE 'lead_score: scored % leads for attachment % in %', n, att.name, date_trunc('second', clock_timestamp() - started);
    END IF;
    RETURN n;
END
$$;

-- Whether tick() leaves an attachment whose rebase writers held off whole
-- (src/live.rs).
CREATE FUNCTION lead_score_internal."_rebase_overdue"("model" text, "landmark" timestamptz, "now" timestamptz) RETURNS bool
STRICT STABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'rebase_overdue_wrapper';

CREATE OR REPLACE FUNCTION lead_score.tick()
RETURNS bigint LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
-- Bulk work over every lead: hash and merge joins only, so no row estimate
-- (a table not analyzed since a big load, say) can make a plan quadratic; and
-- memory for a fold of a million events to hash in one pass.
SET enable_nestloop = off
SET work_mem = '128MB'
SET search_path = pg_catalog, pg_temp
-- Plans here cost in the billions (nested loops off): PostgreSQL's JIT would
-- compile every call (1.3 s for a top_leads of 11 ms on 1,000,000 leads).
SET jit = off
AS $$
DECLARE
    att record;
    now_    timestamptz := lead_score_internal._now();  -- real time: lead_score.as_of is for reads only
    alerts  bigint := 0;
    n       bigint;
    locked  text[] := '{}';
    held    text[] := '{}';  -- attachments left whole: see the rebases
    again   boolean;
    floor_  float8;  -- where the next bound-refresh round starts in the index
    got     bigint;  -- alerts of one attachment, counted once its step commits
BEGIN
    IF NOT pg_catalog.pg_has_role('lead_score_admin', 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to tick: needs the privileges of role lead_score_admin'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- On Citus, deferred attachments fold first, each shard group on its node
    -- in a transaction of its own (lead_score_internal._citus_fold): before this
    -- transaction takes any lock those would wait for.
    IF lead_score_internal._citus() THEN
        FOR att IN SELECT * FROM lead_score.attachments a
                   WHERE a.mode = 'deferred' AND lead_score_internal._citus_method(a.leads) = 'h' ORDER BY a.name LOOP
            alerts := alerts + lead_score_internal._citus_fold(att.name);
        END LOOP;
    END IF;
    -- Then rebases. Rebasing rewrites every row, so it takes the lock writers
    -- take in the mode that excludes them, before this transaction holds any
    -- score row. It does not wait: an attachment with a writer in flight (an open
    -- transaction, say) is rebased by a later tick, so no writer stalls tick, nor
    -- through tick's locks the writers of other attachments. Except once a
    -- landmark is 256 half-lives old, under writes that never pause: then the
    -- first such rebase of this tick, while it holds no other attachment's
    -- lock, waits for the writers in flight, up to 10 s (_rebase).
    FOR att IN SELECT * FROM lead_score.attachments ORDER BY name LOOP
        CONTINUE WHEN NOT lead_score_internal._rebase_due(att.model, att.landmark, now_);
        BEGIN
            PERFORM lead_score_internal._rebase(att.name, date_trunc('hour', now_));
        EXCEPTION WHEN lock_not_available THEN
            -- A landmark the rebase could not move, now more than 492 of the
            -- model's shortest half-lives old (HOLD_AFTER_HALF_LIVES): an event
            -- may be past the forward-decay bound of 512, which folds and
            -- readers refuse (55000). Such an attachment is left whole this
            -- tick, its events pending, for one that rebases it; the others go
            -- on. Below that age no event can be past it (events count as of
            -- their write).
            IF lead_score_internal._rebase_overdue(att.model, att.landmark, lead_score_internal._clock()) THEN
                RAISE WARNING 'lead_score attachment "%" left to fold until a tick moves its landmark, which writers in flight held off', att.name
                    USING HINT = 'Look for a long-running or idle transaction that wrote to its tables.';
                held := held || att.name;
            END IF;
            CONTINUE;
        END;
    END LOOP;
    -- Then folds and time-driven crossings. Both skip the rows writers hold, so
    -- tick() never waits on a writer; a later tick picks those leads up.
    FOR att IN SELECT * FROM lead_score.attachments ORDER BY name LOOP
        CONTINUE WHEN att.name = ANY (held);
        SELECT * INTO att FROM lead_score.attachments a WHERE a.name = att.name;
        CONTINUE WHEN att.name IS NULL;  -- detached meanwhile
        -- Each attachment's step is a subtransaction of its own: one that fails
        -- (its table owner's code raising in a read lead_score runs as that
        -- owner, an operator made ambiguous by a cast added since attach) is
        -- left as it was, with a WARNING, and the other attachments go on.
        -- A serialization failure or deadlock ends the whole tick, as before,
        -- and so does an error no one attachment causes (out of memory or
        -- disk, a library missing, an internal error, a shutdown), so a
        -- scheduler sees it rather than a tick that did nothing.
        BEGIN
            got := 0;
            -- The lock writers take, so no rebase or publish runs until this commits.
            -- Not waited for: a publish holding it (and waiting for an attachment
            -- this tick rebased) would otherwise deadlock with tick; a later tick
            -- takes this attachment.
            BEGIN
                PERFORM lead_score_internal._lock(att.name, false, true);
            EXCEPTION WHEN lock_not_available THEN
                CONTINUE;
            END;
            SELECT * INTO att FROM lead_score.attachments a WHERE a.name = att.name;
            -- Pending events: a deferred attachment's, and those a sync writer's
            -- commit left for a lead another transaction held (not on Citus).
            IF lead_score_internal._citus_method(att.leads) IS DISTINCT FROM 'h' THEN
                EXECUTE lead_score_internal._sql(att.name, 'fold') INTO n;
                got := got + n;
            END IF;
            -- Crossings caused by time alone; leads with pending events are the fold's.
            EXECUTE lead_score_internal._sql(att.name, CASE WHEN lead_score_internal._citus_method(att.leads) = 'h'
                                                   THEN 'time_crossings_distributed' ELSE 'time_crossings' END)
            INTO n USING now_, att.landmark, att.name, att.model;
            got := got + n;
            -- Bounds gone stale as time passed, at the top of the bound index, where
            -- top_leads walks (not on Citus, whose top_leads sorts every lead): in
            -- rounds, while a round finds enough of them.
            IF lead_score_internal._citus_method(att.leads) IS DISTINCT FROM 'h' THEN
                floor_ := 'Infinity';
                LOOP
                    EXECUTE lead_score_internal._sql(att.name, 'refresh_bounds') INTO again, floor_ USING now_, floor_;
                    EXIT WHEN NOT again;
                END LOOP;
            END IF;
            -- Accounts whose total reached accounts.alert (not on Citus yet).
            IF lead_score_internal._citus_method(att.leads) IS DISTINCT FROM 'h' THEN
                got := got + lead_score_internal._account_alerts(att.name);
                locked := locked || att.name;
            END IF;
            alerts := alerts + got;
        EXCEPTION WHEN transaction_rollback OR insufficient_resources OR operator_intervention
                       OR system_error OR internal_error THEN
            RAISE;
        WHEN OTHERS THEN
            RAISE WARNING 'lead_score: tick() left attachment "%" as it was (its fold and checks): %', att.name, SQLERRM
                USING DETAIL = 'SQLSTATE ' || SQLSTATE,
                      HINT = 'The other attachments went on; a later tick() tries this one again.';
        END;
    END LOOP;
    -- On Citus, announce the alerts written on the workers (sql/citus.sql).
    IF lead_score_internal._citus() THEN
        PERFORM lead_score.relay_alerts();
    END IF;
    -- Score history, for each attachment whose history is due (history_settings).
    FOR att IN SELECT * FROM lead_score.attachments ORDER BY name LOOP
        CONTINUE WHEN att.name = ANY (held);  -- its readers fail until a rebase
        BEGIN
            PERFORM lead_score_internal._record_history(att.name, false);
        EXCEPTION WHEN transaction_rollback OR insufficient_resources OR operator_intervention
                       OR system_error OR internal_error THEN
            RAISE;
        WHEN OTHERS THEN
            RAISE WARNING 'lead_score: tick() left attachment "%" as it was (its history check): %', att.name, SQLERRM
                USING DETAIL = 'SQLSTATE ' || SQLSTATE,
                      HINT = 'The other attachments went on; a later tick() tries this one again.';
        END;
    END LOOP;
    -- Last, the pending events of keys that are no lead (visitors who never
    -- became leads), of the attachments locked above (not on Citus yet). The
    -- stripes this takes make lead writers in them wait until tick() commits,
    -- so nothing after it waits for a writer.
    FOR i IN 1 .. pg_catalog.cardinality(locked) LOOP
        BEGIN
            EXECUTE lead_score_internal._sql(locked[i], 'drop_orphans') INTO n;
        EXCEPTION WHEN transaction_rollback OR insufficient_resources OR operator_intervention
                       OR system_error OR internal_error THEN
            RAISE;
        WHEN OTHERS THEN
            RAISE WARNING 'lead_score: tick() left attachment "%" as it was (dropping the pending events of keys that are no lead): %', locked[i], SQLERRM
                USING DETAIL = 'SQLSTATE ' || SQLSTATE,
                      HINT = 'The other attachments went on; a later tick() tries this one again.';
        END;
    END LOOP;
    RETURN alerts;
END
$$;

CREATE OR REPLACE FUNCTION lead_score.top_leads(attachment text, n integer DEFAULT 100, include_disqualified boolean DEFAULT false)
RETURNS SETOF lead_score.top_lead
LANGUAGE plpgsql STABLE STRICT PARALLEL UNSAFE ROWS 100
-- Lookups by key stay nested loops (LATERAL … OFFSET 0); every other join is
-- hashed or merged, so no estimate can make one quadratic.
SET enable_nestloop = off
SET search_path = pg_catalog, pg_temp
-- Plans here cost in the billions (nested loops off): PostgreSQL's JIT would
-- compile every call (1.3 s for a top_leads of 11 ms on 1,000,000 leads).
SET jit = off
AS $$
DECLARE
    q      text;
    k      bigint;
    v_rows lead_score.top_lead[];
    v_next float8;
    v_nth  float8;
BEGIN
    IF n < 0 THEN
        RAISE EXCEPTION 'top_leads: n must not be negative, got %', n USING ERRCODE = 'invalid_parameter_value';
    ELSIF n = 0 THEN
        PERFORM lead_score_internal._sql(top_leads.attachment, 'top_leads');
        RETURN;
    END IF;
    -- The activity table first, as writers take it: a marked lead's recompute
    -- reads it, and detach takes it before lead_score's tables (a role
    -- without lead_score_reader's grants reads without this order).
    IF pg_catalog.has_function_privilege('lead_score_internal._lock_activities(text)', 'EXECUTE') THEN
        PERFORM lead_score_internal._lock_activities(top_leads.attachment);
    END IF;
    -- _sql raises undefined_object (42704) for an attachment that does not exist.
    -- On Citus, the full sort: Citus cannot run the bounded rounds' lookups
    -- by key (a LATERAL subquery with OFFSET over intermediate results), and
    -- pushes the sort and limit down to every shard instead.
    IF NOT lead_score_internal._bounds_hold(lead_score.scoring_time())
       OR lead_score_internal._citus_method((SELECT a.leads FROM lead_score.attachments a
                                    WHERE a.name = top_leads.attachment)) = 'h' THEN
        RETURN QUERY EXECUTE lead_score_internal._sql(top_leads.attachment, 'top_leads_all') USING n, include_disqualified;
        RETURN;
    END IF;
    q := lead_score_internal._sql(top_leads.attachment, 'top_leads');
    k := greatest(4::bigint * n, 64);  -- bigint: 4 × n may not fit an integer
    LOOP
        EXECUTE q INTO v_rows, v_next USING n, include_disqualified, k;
        v_nth := v_rows[n].total;
        EXIT WHEN v_next IS NULL
               OR (v_nth IS NOT NULL AND v_next < v_nth - 1e-9 * (1 + abs(v_nth)));
        k := k * 4;
    END LOOP;
    RETURN QUERY SELECT * FROM unnest(v_rows);
END
$$;

-- Manual adjustments (0.2.0).
CREATE FUNCTION lead_score_internal."_max_points"() RETURNS double precision /* f64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'max_points_wrapper';
CREATE FUNCTION lead_score_internal."_blank"(
	"text" TEXT /* & str */
) RETURNS bool /* bool */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'blank_wrapper';
CREATE FUNCTION lead_score_internal."_adjustable"(
	"attachment" TEXT /* & str */
) RETURNS TEXT /* Option < String > */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'adjustable_wrapper';
CREATE FUNCTION lead_score_internal."_adjustment_points"(
	"ids" bigint[], /* Vec < Option < i64 > > */
	"points" double precision[], /* Vec < Option < f64 > > */
	"created_at" timestamp with time zone[], /* Vec < Option < pgrx :: datum :: TimestampWithTimeZone > > */
	"expires_at" timestamp with time zone[], /* Vec < Option < pgrx :: datum :: TimestampWithTimeZone > > */
	"at" timestamp with time zone /* pgrx :: datum :: TimestampWithTimeZone */
) RETURNS double precision /* f64 */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'adjustment_points_wrapper';
ALTER TABLE lead_score.score_history ADD COLUMN adjustment float8;
-- The longest history interval (set_history's every and retention, and a
-- backfill step): far enough to mean never, near enough that the clock plus or
-- minus it is a time, so tick()'s check of history cannot overflow. Written
-- once: the CHECK of history_settings and the functions' errors read it.
CREATE FUNCTION lead_score_internal._max_history_interval()
RETURNS interval LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT '1000 years'::pg_catalog.interval $$;
COMMENT ON FUNCTION lead_score_internal._max_history_interval() IS
    'Internal: the longest history interval (set_history every and retention, a backfill_history step).';
-- History settings are at most that (set_history), so tick()'s check of them
-- cannot fail. Larger ones 0.1.0 took become the most, which still means never.
UPDATE lead_score.history_settings h
SET every = LEAST(h.every, lead_score_internal._max_history_interval()),
    retention = LEAST(h.retention, lead_score_internal._max_history_interval())
WHERE h.every OPERATOR(pg_catalog.>) lead_score_internal._max_history_interval()
   OR h.retention OPERATOR(pg_catalog.>) lead_score_internal._max_history_interval();
ALTER TABLE lead_score.history_settings
    DROP CONSTRAINT history_settings_every_check,
    DROP CONSTRAINT history_settings_retention_check,
    ADD CONSTRAINT history_settings_every_check
        CHECK (every OPERATOR(pg_catalog.>) '0'::interval
               AND every OPERATOR(pg_catalog.<=) lead_score_internal._max_history_interval()),
    ADD CONSTRAINT history_settings_retention_check
        CHECK (retention OPERATOR(pg_catalog.>) '0'::interval
               AND retention OPERATOR(pg_catalog.<=) lead_score_internal._max_history_interval());
COMMENT ON TABLE lead_score.score_history IS
    'A lead''s score and classification each time its grade, label, quadrant, MQL or disqualification changed, and at each manual adjustment made or ended, from attach() on.';
COMMENT ON COLUMN lead_score.score_history.adjustment IS 'Manual adjustments then, included in fit (NULL in a backfill)';
-------------------------------------------------------------------------------
-- Manual adjustments (README, "Manual adjustments"): sales adds or subtracts
-- points on a lead, with a reason, who and an optional expiry, as Marketo's
-- "Change Score". They add to the lead's fit when it is read (each current
-- view joins the adjustments active at scoring_time()), so a read as of any
-- date is exact, an expiry needs no job, and the live path is untouched.
-------------------------------------------------------------------------------
CREATE TABLE lead_score.adjustments (
    id         bigserial PRIMARY KEY,
    attachment text NOT NULL,
    lead_key   text NOT NULL,
    points     float8 NOT NULL,
    reason     text NOT NULL,
    expires_at timestamptz,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    ended_by   text,
    CHECK (expires_at IS NULL OR expires_at OPERATOR(pg_catalog.>=) created_at)
);
CREATE INDEX adjustments_attachment_lead ON lead_score.adjustments (attachment, lead_key);
SELECT pg_catalog.pg_extension_config_dump('lead_score.adjustments', '');
SELECT pg_catalog.pg_extension_config_dump('lead_score.adjustments_id_seq', '');

-- What readers join: one row per adjusted lead with its adjustments in arrays
-- (_adjustment_points sums those active at a time), so a read of one lead
-- probes its key and a scan of every lead hashes this table, whatever the
-- number of adjustments. Kept by _adjustment_recorded with atomic upserts.
CREATE TABLE lead_score_internal._adjustment_sums (
    attachment text NOT NULL,
    lead_key   text NOT NULL,
    ids        bigint[] NOT NULL,
    points     float8[] NOT NULL,
    created_at timestamptz[] NOT NULL,
    expires_at timestamptz[] NOT NULL,
    PRIMARY KEY (attachment, lead_key)
);
SELECT pg_catalog.pg_extension_config_dump('lead_score_internal._adjustment_sums', '');
COMMENT ON TABLE lead_score_internal._adjustment_sums IS
    'Internal: each adjusted lead''s manual adjustments (ids, points, created_at, expires_at), the one row the current views join.';
COMMENT ON TABLE lead_score.adjustments IS
    'Manual score adjustments: points sales added to or took from a lead, with a reason, who and an optional expiry; they count in its fit while active.';
COMMENT ON COLUMN lead_score.adjustments.id IS 'The adjustment';
COMMENT ON COLUMN lead_score.adjustments.attachment IS 'Attachment whose lead it adjusts';
COMMENT ON COLUMN lead_score.adjustments.lead_key IS 'The lead''s key, as text';
COMMENT ON COLUMN lead_score.adjustments.points IS 'Points added to the lead''s fit (negative: taken)';
COMMENT ON COLUMN lead_score.adjustments.reason IS 'Why';
COMMENT ON COLUMN lead_score.adjustments.expires_at IS 'When it stops counting (NULL: never); end_adjustment sets it to now';
COMMENT ON COLUMN lead_score.adjustments.created_by IS 'Who made it (current_user)';
COMMENT ON COLUMN lead_score.adjustments.created_at IS 'When it was made: it counts from then';
COMMENT ON COLUMN lead_score.adjustments.ended_by IS 'Who ended it early (end_adjustment), if anyone';

-- A lead's key as its score row holds it, as text (the one form the current
-- views join on): NULL for no such lead. It reads the score table as the
-- caller (lead_score_reader may).
CREATE FUNCTION lead_score_internal._adjustment_key(attachment text, lead_key text)
RETURNS text LANGUAGE plpgsql STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
-- The key as the score row holds it now: a session's as_of (which may be
-- before the lead's last activity, an error for a read) does not matter here.
SET lead_score.as_of = ''
AS $$
DECLARE
    k text;
BEGIN
    -- The activity table first, as every reader: then a snapshot that
    -- predates a detach and an attach under the same name (whose new score
    -- table shows it no lead) fails as a serialization failure (40001), not
    -- as a missing lead.
    IF pg_catalog.has_function_privilege('lead_score_internal._lock_activities(text)', 'EXECUTE') THEN
        PERFORM lead_score_internal._lock_activities(_adjustment_key.attachment);
    END IF;
    -- _sql raises undefined_object (42704) for an attachment that does not exist.
    EXECUTE lead_score_internal._sql(_adjustment_key.attachment, 'lead_key_text') INTO k USING _adjustment_key.lead_key;
    RETURN k;
EXCEPTION WHEN undefined_table THEN
    -- Its view was dropped while this waited for it: detached (the caller's
    -- snapshot, which a STABLE function reads with, may still show its row).
    RAISE EXCEPTION 'lead_score attachment "%" does not exist', _adjustment_key.attachment
        USING ERRCODE = 'undefined_object';
END
$$;

-- Checks a new adjustment and captures its author and time; an update may only
-- end it (column privileges), and records who did. A row that already has its
-- time (a pg_restore of the dumped table) is kept as it is. It runs as the
-- writer: no SECURITY DEFINER is needed.
CREATE FUNCTION lead_score_internal._adjustment_capture() RETURNS trigger
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    why text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- Changing expires_at ends an active adjustment now, and nothing else:
        -- the past (and the history written of it) stays as it was.
        IF NEW.expires_at IS DISTINCT FROM OLD.expires_at THEN
            IF OLD.ended_by IS NOT NULL OR OLD.expires_at <= lead_score_internal._now() THEN
                RAISE EXCEPTION 'adjustment % has already ended', OLD.id
                    USING ERRCODE = 'object_not_in_prerequisite_state',
                          HINT = 'An adjustment can only be ended, once, while it counts (lead_score.end_adjustment).';
            END IF;
            -- Ended as of a time before it was made, it would never have
            -- counted, where its history row and alert say it did.
            IF lead_score_internal._now() < OLD.created_at THEN
                RAISE EXCEPTION 'could not serialize access: adjustment % was made after this transaction began', OLD.id
                    USING ERRCODE = 'serialization_failure',
                          HINT = 'End it in a new transaction.';
            END IF;
            NEW.expires_at := GREATEST(lead_score_internal._now(), OLD.created_at);
            NEW.ended_by := current_user;
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.created_at IS NOT NULL THEN
        RETURN NEW;
    END IF;
    IF NEW.points IS NULL OR NEW.reason IS NULL THEN
        RAISE EXCEPTION 'adjust: % must not be NULL', CASE WHEN NEW.points IS NULL THEN 'points' ELSE 'reason' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NEW.points = 0 OR NOT abs(NEW.points) <= lead_score_internal._max_points() THEN
        RAISE EXCEPTION 'adjust: points must be a number other than 0, at most % either way, not %',
            lead_score_internal._max_points(), NEW.points USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.attachment IS NULL OR NEW.lead_key IS NULL THEN
        RAISE EXCEPTION 'adjust: % must not be NULL', CASE WHEN NEW.attachment IS NULL THEN 'attachment' ELSE 'lead_key' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF lead_score_internal._blank(NEW.reason) THEN
        RAISE EXCEPTION 'adjust: reason must say why the points change'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.expires_at IS NOT NULL AND NEW.expires_at <= lead_score_internal._now() THEN
        RAISE EXCEPTION 'adjust: expires_at % is not in the future', NEW.expires_at
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Raises undefined_object (42704) for an attachment that does not exist.
    why := lead_score_internal._adjustable(NEW.attachment);
    IF why IS NOT NULL THEN
        RAISE EXCEPTION '%', why USING ERRCODE = 'feature_not_supported';
    END IF;
    k := lead_score_internal._adjustment_key(NEW.attachment, NEW.lead_key);
    IF k IS NULL THEN
        RAISE EXCEPTION 'lead_score attachment "%" has no lead %', NEW.attachment, NEW.lead_key
            USING ERRCODE = 'undefined_object';
    END IF;
    NEW.lead_key := k;
    NEW.created_by := current_user;
    NEW.created_at := lead_score_internal._now();
    NEW.ended_by := NULL;
    RETURN NEW;
END
$$;
CREATE TRIGGER adjustment_capture BEFORE INSERT OR UPDATE ON lead_score.adjustments
FOR EACH ROW EXECUTE FUNCTION lead_score_internal._adjustment_capture();

-- Times are the writer's (lead_score_internal._now(), the transaction's start).
-- An adjustment made or ended now (not one restored): the lead's history gets a
-- row with its new score, and an 'adjustment' alert goes out at once, as other
-- alerts do. SECURITY DEFINER: writers of adjustments need no rights on the
-- history or alerts; it reads only the row's built-in values.
CREATE FUNCTION lead_score_internal._adjustment_recorded() RETURNS trigger
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lead_score.as_of = ''
AS $$
DECLARE
    m     text;
    s     lead_score.score;
    alert bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.expires_at IS NOT DISTINCT FROM OLD.expires_at THEN
        RETURN NULL;
    END IF;
    -- The attachment's history settings row first, for update, as a history
    -- check locks it (tick() skips the attachment meanwhile): checks and
    -- adjusters of the attachment wait for each other until they commit.
    -- Shared, two transactions that each adjusted and then checked (or
    -- adjusted the same leads in opposite orders, through the lead's row of
    -- _adjustment_sums) deadlocked. Then that row, in one atomic statement.
    IF NOT EXISTS (SELECT 1 FROM lead_score.history_settings h WHERE h.attachment = NEW.attachment) THEN
        INSERT INTO lead_score.history_settings AS h (attachment) VALUES (NEW.attachment)
        ON CONFLICT (attachment) DO NOTHING;
    END IF;
    PERFORM 1 FROM lead_score.history_settings h WHERE h.attachment = NEW.attachment FOR UPDATE;
    IF NOT FOUND THEN
        -- Deleted while this waited for it: detached.
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', NEW.attachment USING ERRCODE = 'undefined_object';
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO lead_score_internal._adjustment_sums AS t (attachment, lead_key, ids, points, created_at, expires_at)
        VALUES (NEW.attachment, NEW.lead_key, ARRAY[NEW.id], ARRAY[NEW.points], ARRAY[NEW.created_at],
                ARRAY[NEW.expires_at])
        ON CONFLICT (attachment, lead_key) DO UPDATE
        SET ids = t.ids OPERATOR(pg_catalog.||) EXCLUDED.ids,
            points = t.points OPERATOR(pg_catalog.||) EXCLUDED.points,
            created_at = t.created_at OPERATOR(pg_catalog.||) EXCLUDED.created_at,
            expires_at = t.expires_at OPERATOR(pg_catalog.||) EXCLUDED.expires_at;
    ELSE
        UPDATE lead_score_internal._adjustment_sums t
        SET expires_at[pg_catalog.array_position(t.ids, NEW.id)] = NEW.expires_at
        WHERE t.attachment = NEW.attachment AND t.lead_key = NEW.lead_key
          AND pg_catalog.array_position(t.ids, NEW.id) IS NOT NULL;
    END IF;
    SELECT a.model INTO m FROM lead_score.attachments a WHERE a.name = NEW.attachment;
    -- The lead's row at this time (another adjustment in this transaction, or
    -- a check) gives way: rows of one time could not be ordered, and a query
    -- for the lead's latest row could read the state before this adjustment.
    DELETE FROM lead_score.score_history h
    WHERE h.attachment = NEW.attachment AND h.lead_key = NEW.lead_key AND h.recorded_at = lead_score_internal._now();
    EXECUTE lead_score_internal._sql(NEW.attachment, 'record_history_lead') USING NEW.attachment, lead_score_internal._now(), NEW.lead_key;
    SELECT * INTO s FROM lead_score.current_score(NEW.attachment, NEW.lead_key);
    INSERT INTO lead_score.alerts (attachment, model, lead_key, kind, detail, total)
    VALUES (NEW.attachment, m, NEW.lead_key, 'adjustment',
            pg_catalog.format('%s%s points by %s: %s%s',
                              CASE WHEN TG_OP = 'UPDATE' THEN 'ended: ' ELSE '' END,
                              CASE WHEN NEW.points > 0 THEN '+' ELSE '' END || NEW.points::text,
                              coalesce(NEW.ended_by, NEW.created_by), NEW.reason,
                              CASE WHEN TG_OP = 'INSERT' AND NEW.expires_at IS NOT NULL
                                   THEN ' (until ' || pg_catalog.to_char(NEW.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC)'
                                   ELSE '' END),
            s.total)
    RETURNING id INTO alert;
    PERFORM pg_catalog.pg_notify('lead_score_alerts',
                                 pg_catalog.json_build_object('id', alert, 'attachment', NEW.attachment)::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER adjustment_made AFTER INSERT ON lead_score.adjustments
FOR EACH ROW WHEN (NEW.created_at OPERATOR(pg_catalog.=) lead_score_internal._now())
EXECUTE FUNCTION lead_score_internal._adjustment_recorded();
CREATE TRIGGER adjustment_ended AFTER UPDATE OF expires_at ON lead_score.adjustments
FOR EACH ROW EXECUTE FUNCTION lead_score_internal._adjustment_recorded();
COMMENT ON TRIGGER adjustment_capture ON lead_score.adjustments IS
    'Checks a manual adjustment and stamps who made it and when (adjust), or who ended it (end_adjustment).';
COMMENT ON TRIGGER adjustment_made ON lead_score.adjustments IS
    'A history row and an adjustment alert for a manual adjustment made now.';
COMMENT ON TRIGGER adjustment_ended ON lead_score.adjustments IS
    'A history row and an adjustment alert for a manual adjustment ended.';

-- An adjustment of an attachment is ended, never deleted: its history row and
-- alert say it counted, and the lead's sum (_adjustment_sums) would keep it.
-- detach deletes an attachment's adjustments after its row.
CREATE FUNCTION lead_score_internal._adjustment_kept() RETURNS trigger
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad lead_score.adjustments;
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        bad := OLD;
        IF NOT EXISTS (SELECT 1 FROM lead_score.attachments a WHERE a.name = OLD.attachment) THEN
            RETURN OLD;
        END IF;
    ELSE
        SELECT j.* INTO bad FROM lead_score.adjustments j
        WHERE EXISTS (SELECT 1 FROM lead_score.attachments a WHERE a.name = j.attachment) ORDER BY j.id LIMIT 1;
        IF bad.id IS NULL THEN
            RETURN NULL;
        END IF;
    END IF;
    RAISE EXCEPTION 'adjustment % of lead_score attachment "%" cannot be deleted', bad.id, bad.attachment
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'Its history row and alert say it counted.',
              HINT = 'End it with lead_score.end_adjustment; detach removes an attachment''s adjustments.';
END
$$;
CREATE TRIGGER adjustment_kept BEFORE DELETE ON lead_score.adjustments
FOR EACH ROW EXECUTE FUNCTION lead_score_internal._adjustment_kept();
CREATE TRIGGER adjustment_kept_truncate BEFORE TRUNCATE ON lead_score.adjustments
FOR EACH STATEMENT EXECUTE FUNCTION lead_score_internal._adjustment_kept();
REVOKE ALL ON FUNCTION lead_score_internal._adjustment_kept() FROM PUBLIC;
COMMENT ON FUNCTION lead_score_internal._adjustment_kept() IS
    'Internal: refuses deleting or truncating the manual adjustments of an attachment (they are ended instead).';
COMMENT ON TRIGGER adjustment_kept ON lead_score.adjustments IS
    'Refuses deleting a manual adjustment of an attachment: end it instead (detach removes them).';
COMMENT ON TRIGGER adjustment_kept_truncate ON lead_score.adjustments IS
    'Refuses truncating manual adjustments while any belongs to an attachment.';

CREATE FUNCTION lead_score.adjust(attachment text, lead_key text, points float8, reason text,
                                  expires_at timestamptz DEFAULT NULL)
RETURNS bigint LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'INSERT INTO lead_score.adjustments (attachment, lead_key, points, reason, expires_at)
    VALUES (adjust.attachment, adjust.lead_key, adjust.points, adjust.reason, adjust.expires_at)
    RETURNING id';
COMMENT ON FUNCTION lead_score.adjust(text, text, float8, text, timestamptz) IS
    'Add (or, negative, take) points on a lead''s fit, with a reason and an optional expiry; returns the adjustment''s id. Records a history row and sends an adjustment alert.';

CREATE FUNCTION lead_score.end_adjustment(id bigint)
RETURNS boolean LANGUAGE sql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'WITH ended AS (
        UPDATE lead_score.adjustments j SET expires_at = GREATEST(lead_score_internal._now(), j.created_at)
        WHERE j.id OPERATOR(pg_catalog.=) end_adjustment.id AND j.ended_by IS NULL
          AND (j.expires_at IS NULL OR j.expires_at OPERATOR(pg_catalog.>) lead_score_internal._now())
        RETURNING 1)
    SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 FROM ended';
COMMENT ON FUNCTION lead_score.end_adjustment(bigint) IS
    'End a manual adjustment now (it stops counting; its history stays); false if it had already ended or expired.';

-- explain for one lead of an attachment, from its row and activities (up to
-- scoring_time()), with a row per active manual adjustment, and the summary
-- rows of its current score (which adjustments move).
CREATE FUNCTION lead_score.explain_lead(attachment text, lead_key text)
RETURNS TABLE (section text, item text, category text, events bigint,
               raw_points float8, decayed_points float8, points float8, detail text)
LANGUAGE plpgsql STABLE STRICT PARALLEL UNSAFE ROWS 20
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m text;
    k text;
    s lead_score.score;
BEGIN
    SELECT a.model INTO m FROM lead_score.attachments a WHERE a.name = explain_lead.attachment;
    -- _sql raises undefined_object (42704) for an attachment that does not exist.
    PERFORM lead_score_internal._check_key_text('explain_lead', explain_lead.attachment, explain_lead.lead_key);
    -- The explanation first: it reads the leads table, then the activity
    -- table, the order writers and detach take them in; current_score takes
    -- the activity table alone (a deadlock with detach, read the other way).
    RETURN QUERY EXECUTE
        'SELECT x.section, x.item, x.category, x.events, x.raw_points, x.decayed_points, x.points, x.detail FROM ('
        || lead_score_internal._sql(explain_lead.attachment, 'explain_lead')
        || ') x WHERE NOT (x.section = ''summary'' AND x.item = ANY (ARRAY[''fit'', ''engagement'', ''total'']))'
        USING m, explain_lead.lead_key;
    SELECT * INTO s FROM lead_score.current_score(explain_lead.attachment, explain_lead.lead_key);
    IF NOT FOUND THEN
        RETURN;  -- no such lead: no rows, as current_score (the explanation had none)
    END IF;
    k := lead_score_internal._adjustment_key(explain_lead.attachment, explain_lead.lead_key);
    RETURN QUERY
        SELECT 'adjustment'::text, j.reason, NULL::text, NULL::bigint, j.points, NULL::float8, j.points,
               pg_catalog.format('by %s at %s%s', j.created_by, j.created_at,
                                 CASE WHEN j.expires_at IS NOT NULL THEN ', until ' || j.expires_at::text ELSE '' END)
        FROM lead_score.adjustments j
        WHERE j.attachment = explain_lead.attachment AND j.lead_key = k
          AND j.created_at <= lead_score.scoring_time()
          AND (j.expires_at IS NULL OR j.expires_at > lead_score.scoring_time())
        ORDER BY j.id;
    RETURN QUERY VALUES
        ('summary'::text, 'fit'::text, NULL::text, NULL::bigint, NULL::float8, NULL::float8, s.fit,
         'grade ' || coalesce(s.grade, 'none')),
        ('summary', 'engagement', NULL, NULL, NULL, NULL, s.engagement, 'label ' || coalesce(s.label, 'none')),
        ('summary', 'total', NULL, NULL, NULL, NULL, s.total,
         pg_catalog.format('quadrant %s; %s', s.quadrant, CASE WHEN s.mql THEN 'MQL' ELSE 'not an MQL' END));
END
$$;
COMMENT ON FUNCTION lead_score.explain_lead(text, text) IS
    'Why a lead of an attachment scores what it does now: explain() over its row and activities, its active manual adjustments, and its current fit, engagement and total.';

REVOKE ALL ON FUNCTION lead_score_internal._adjustment_key(text, text), lead_score_internal._adjustable(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lead_score_internal._adjustment_key(text, text), lead_score_internal._adjustable(text) TO lead_score_reader;
REVOKE ALL ON FUNCTION lead_score_internal._adjustment_recorded() FROM PUBLIC;
COMMENT ON FUNCTION lead_score_internal._adjustment_key(text, text) IS
    'Internal: a lead''s key as its attachment''s score row holds it, as text (NULL for no such lead).';
COMMENT ON FUNCTION lead_score_internal._adjustment_capture() IS
    'Internal: checks a new manual adjustment and captures who made it and when; records who ended one.';
COMMENT ON FUNCTION lead_score_internal._adjustment_recorded() IS
    'Internal: a history row and an adjustment alert for a manual adjustment made or ended.';
COMMENT ON FUNCTION lead_score_internal._adjustment_points(bigint[], float8[], timestamptz[], timestamptz[], timestamptz) IS
    'Internal: the points of a lead''s manual adjustments active at a time, summed in id order.';
COMMENT ON FUNCTION lead_score_internal._adjustable(text) IS
    'Internal: why manual adjustments cannot be made on an attachment (Citus, a key whose text depends on the session), or NULL.';
COMMENT ON FUNCTION lead_score_internal._max_points() IS
    'Internal: the most points a rule or a manual adjustment may give, either sign.';
COMMENT ON FUNCTION lead_score_internal._blank(text) IS
    'Internal: whether text is empty or whitespace only (any Unicode whitespace), for names and reasons.';
GRANT SELECT ON lead_score.adjustments, lead_score_internal._adjustment_sums TO lead_score_reader;
GRANT INSERT (attachment, lead_key, points, reason, expires_at), UPDATE (expires_at)
    ON lead_score.adjustments TO lead_score_admin;
GRANT USAGE ON SEQUENCE lead_score.adjustments_id_seq TO lead_score_admin;

-- Each attachment's outbox is internal now.
CREATE OR REPLACE FUNCTION lead_score.relay_alerts()
RETURNS bigint LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att  record;
    n    bigint;
    sent bigint := 0;
BEGIN
    IF NOT lead_score_internal._citus() THEN
        RETURN 0;
    END IF;
    FOR att IN SELECT a.name FROM lead_score.attachments a ORDER BY a.name LOOP
        CONTINUE WHEN pg_catalog.to_regclass('lead_score_internal.' || pg_catalog.quote_ident(att.name || '_outbox')) IS NULL;
        EXECUTE lead_score_internal._sql(att.name, 'citus_relay') INTO n;
        sent := sent + n;
    END LOOP;
    RETURN sent;
END
$$;

COMMENT ON COLUMN lead_score.attachments.name IS 'Attachment name; its views are lead_score.<name>_*, its other objects lead_score_internal.<name>_*';
-- attach returns the view users read, now that the scores table is internal.
COMMENT ON FUNCTION lead_score.attach(text, regclass, regclass, jsonb, text, text) IS
    'Keep live scores of a model for the given lead and activity tables; returns the view of current scores, lead_score.<name>_current.';

-- sync inserts append their events, and the writer's commit folds them
-- (src/commit_fold.rs): the regeneration below installs each attachment's
-- commit fold and its new insert trigger.
CREATE FUNCTION lead_score_internal."_fold_at_commit"("attachment" text, "tids" tid[]) RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'fold_at_commit_wrapper';
REVOKE ALL ON FUNCTION lead_score_internal._fold_at_commit(text, tid[]) FROM PUBLIC;

-- tick() drops the pending events of keys that are no lead once no lead
-- creator can need them; these tell it which (the regeneration below installs
-- each attachment's <name>__drop_orphans).
CREATE FUNCTION lead_score_internal."_snapshot_horizon"("pending" oid) RETURNS xid
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'snapshot_horizon_wrapper';
REVOKE ALL ON FUNCTION lead_score_internal._snapshot_horizon(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lead_score_internal._snapshot_horizon(oid) TO lead_score_admin;
CREATE FUNCTION lead_score_internal."_xid_precedes"("a" xid, "b" xid) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'xid_precedes_wrapper';
CREATE FUNCTION lead_score_internal."_written_here"("x" xid) RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'written_here_wrapper';
-- Publishing refuses a version whose fit fields an attachment of the model
-- could not read (no such column, or a type the triggers do not read).
CREATE FUNCTION lead_score_internal."_check_fit_fields"("model" TEXT, "version" INT) RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'check_fit_fields_of_version_wrapper';
REVOKE ALL ON FUNCTION lead_score_internal._check_fit_fields(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lead_score_internal._check_fit_fields(text, integer) TO lead_score_admin;
COMMENT ON FUNCTION lead_score_internal._check_fit_fields(text, integer) IS
    'Internal: raises unless every attachment of a model can read the fit fields of one of its versions; create_model() calls it for an attached model before rescoring.';
CREATE FUNCTION lead_score_internal."_versions_changed"("versions" oid) RETURNS void
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'versions_changed_wrapper';
REVOKE ALL ON FUNCTION lead_score_internal._versions_changed(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lead_score_internal._versions_changed(oid) TO lead_score_admin;
COMMENT ON FUNCTION lead_score_internal._versions_changed(oid) IS
    'Internal: queues an invalidation of the versions table, so every backend compiles its models again (model_versions_guard calls it for each insert and delete).';

-- Activity updates and deletes append a recompute marker to the pending table
-- rather than rewrite the lead's score row in the statement; readers and folds
-- recompute a marked lead from the activity table with this (src/owner_read.rs).
CREATE FUNCTION lead_score_internal."_read_states"("attachment" TEXT, "keys" anyarray) RETURNS bytea[]
STABLE STRICT PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'read_states_wrapper';
-- A lead trigger keeps the score rows of the keys a row of its statement took
-- again (a writable CTE's DELETE whose trigger fires last; src/owner_read.rs).
CREATE FUNCTION lead_score_internal."_leads_present"("attachment" TEXT, "keys" anyarray) RETURNS bool[]
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'leads_present_wrapper';
REVOKE ALL ON FUNCTION lead_score_internal._leads_present(text, anyarray) FROM PUBLIC;
-- tick() runs an attachment's fold as its caller, an admin; a fold that
-- recomputes marked leads takes the activity table's lock first.
GRANT EXECUTE ON FUNCTION lead_score_internal._lock_activities(text) TO lead_score_admin;

-- Reads of a marked lead recompute it through SPI, which a parallel query may
-- not run: the functions that read the current views are parallel unsafe.
ALTER FUNCTION lead_score.current_score(text, anyelement) PARALLEL UNSAFE;
ALTER FUNCTION lead_score.current_score(text, text) PARALLEL UNSAFE;
-- timeline() is parallel unsafe: it is replaced below, naming a bad key in an
-- EXCEPTION block, which parallel mode forbids.

-- tick() finds the rows whose classification time alone changed by their
-- classification only (src/live.rs), not by their whole score.
CREATE FUNCTION lead_score_internal."_live_crossed"("state" bytea, "fit" double precision, "disqualified_by" TEXT,
    "mql" bool, "quadrant" TEXT, "hot_categories" TEXT[], "now" timestamp with time zone) RETURNS bool
STABLE CALLED ON NULL INPUT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'live_crossed_wrapper';
-- and skips the leads time cannot move, for models whose scores time only lowers.
CREATE FUNCTION lead_score_internal."_lowering_version"("model" TEXT) RETURNS INT
STABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'lowering_version_wrapper';

-- What waits to be folded, per attachment: one scan of each pending table. A
-- deferred attachment whose pending_events keeps growing between two tick()s
-- has a tick() that does not keep up (see README, Performance).
CREATE FUNCTION lead_score.pending_summary()
RETURNS TABLE (attachment text, mode text, pending_events bigint, pending_leads bigint, marked_leads bigint)
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att record;
BEGIN
    FOR att IN SELECT a.name, a.mode FROM lead_score.attachments a ORDER BY a.name LOOP
        attachment := att.name;
        mode := att.mode;
        EXECUTE lead_score_internal._sql(att.name, 'pending_summary') INTO pending_events, pending_leads, marked_leads;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION lead_score.pending_summary() IS
    'Per attachment: the activity events waiting to be folded, the leads they belong to, and the leads with a recompute marker.';

-- A REPEATABLE READ fold of a lead whose activities another transaction wrote
-- after the fold's snapshot began, and that are not folded yet, fails as a
-- serialization conflict (a sync commit's fold leaves its events pending, a
-- lead update fails): this finds such leads (src/owner_read.rs).
CREATE FUNCTION lead_score_internal."_pending_since_snapshot"("attachment" TEXT, "keys" anyarray) RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'pending_since_snapshot_wrapper';
REVOKE ALL ON FUNCTION lead_score_internal._pending_since_snapshot(text, anyarray) FROM PUBLIC;
-- tick() runs the fold that calls it as its caller, an admin.
GRANT EXECUTE ON FUNCTION lead_score_internal._pending_since_snapshot(text, anyarray) TO lead_score_admin;

COMMENT ON SCHEMA lead_score IS
    'lead_score: lead scoring models, live scores of attached tables, alerts, evaluation and learning. The API; internals are in lead_score_internal.';
-- The id sequences of the public tables.
COMMENT ON SEQUENCE lead_score.models_id_seq IS 'Ids of lead_score.models.';
COMMENT ON SEQUENCE lead_score.alerts_id_seq IS 'Ids of lead_score.alerts, in the order alerts are written.';
COMMENT ON SEQUENCE lead_score.evaluations_id_seq IS 'Ids of lead_score.evaluations.';
COMMENT ON SEQUENCE lead_score.feedback_id_seq IS 'Ids of lead_score.feedback.';
COMMENT ON SEQUENCE lead_score.adjustments_id_seq IS 'Ids of lead_score.adjustments (end_adjustment takes one).';

-- The type of an attachment's lead key column as format_type writes it, for
-- errors that name it; NULL for no such attachment. It reads the attachments
-- table as the caller.
CREATE FUNCTION lead_score_internal._key_type(attachment text)
RETURNS text LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT pg_catalog.format_type(t.atttypid, t.atttypmod) FROM lead_score.attachments a
  JOIN pg_catalog.pg_attribute t ON t.attrelid OPERATOR(pg_catalog.=) a.leads
   AND t.attname OPERATOR(pg_catalog.=) (a.mapping OPERATOR(pg_catalog.->>) 'lead_key')
 WHERE a.name OPERATOR(pg_catalog.=) _key_type.attachment
$$;

-- The message for key text that is no value of an attachment's key type
-- ('abc' for a bigint key), naming the argument and the type, not the internal
-- query: current_score(text) and timeline raise it with the cast's SQLSTATE.
CREATE FUNCTION lead_score_internal._not_a_key(caller text, attachment text, lead_key text, cause text)
RETURNS text LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT pg_catalog.format('%s: lead_key %s is not a key of attachment "%s" (of type %s): %s',
    _not_a_key.caller, pg_catalog.quote_literal(_not_a_key.lead_key), _not_a_key.attachment,
    lead_score_internal._key_type(_not_a_key.attachment), _not_a_key.cause)
$$;

-- Reads text as an attachment's key with the key's cast alone, so that only
-- its errors are named as a bad key (not those of a caller's query): text
-- that is no value of the key's type ('abc' for a bigint key) raises the
-- cast's SQLSTATE with _not_a_key's message, naming the caller, the argument
-- and the type. Parallel unsafe: an EXCEPTION block is a subtransaction.
CREATE FUNCTION lead_score_internal._check_key_text(caller text, attachment text, lead_key text)
RETURNS void LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    state text;
    msg   text;
BEGIN
    EXECUTE lead_score_internal._sql(_check_key_text.attachment, 'key_of_text') USING _check_key_text.lead_key;
EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range OR string_data_right_truncation THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RAISE EXCEPTION USING ERRCODE = state,
        MESSAGE = lead_score_internal._not_a_key(_check_key_text.caller, _check_key_text.attachment, _check_key_text.lead_key, msg);
END
$$;
REVOKE ALL ON FUNCTION lead_score_internal._key_type(text), lead_score_internal._not_a_key(text, text, text, text),
                       lead_score_internal._check_key_text(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lead_score_internal._key_type(text), lead_score_internal._not_a_key(text, text, text, text),
                          lead_score_internal._check_key_text(text, text, text) TO lead_score_reader;
COMMENT ON FUNCTION lead_score_internal._key_type(text) IS
    'Internal: the type of an attachment''s lead key column, for errors that name it (NULL for no such attachment).';
COMMENT ON FUNCTION lead_score_internal._not_a_key(text, text, text, text) IS
    'Internal: the message for key text that is no value of an attachment''s key type, naming the argument and the type.';
COMMENT ON FUNCTION lead_score_internal._check_key_text(text, text, text) IS
    'Internal: reads text as an attachment''s key, raising the cast''s error with a message that names the caller, the argument and the key''s type.';

-- detach() looks its attachment up with search_path pinned, whatever the
-- caller's path holds.
ALTER FUNCTION lead_score.detach(text) SET search_path = pg_catalog, pg_temp;

-- A key that is no value of the key type is named in timeline's error.
CREATE OR REPLACE FUNCTION lead_score.timeline(attachment text, lead_key text)
RETURNS TABLE (occurred_at timestamptz, event_type text, properties text[], rules text[], points float8)
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m     text;
BEGIN
    IF timeline.attachment IS NULL THEN
        RAISE EXCEPTION 'timeline: attachment must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.model INTO m FROM lead_score.attachments a WHERE a.name = timeline.attachment;
    IF m IS NULL THEN
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', timeline.attachment USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM lead_score_internal._check_key_text('timeline', timeline.attachment, timeline.lead_key);
    RETURN QUERY EXECUTE lead_score_internal._sql(timeline.attachment, 'timeline') USING m, timeline.lead_key;
END
$$;

-- Readers take the activity table's lock before lead_score's, as writers do:
-- a marked lead's recompute reads it, and detach takes it first.
CREATE OR REPLACE FUNCTION lead_score.current_score(attachment text, lead_key anyelement)
RETURNS SETOF lead_score.score LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE ROWS 1
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_score.attachment IS NULL THEN
        RAISE EXCEPTION 'current_score: attachment must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- The activity table first, as top_leads.
    IF pg_catalog.has_function_privilege('lead_score_internal._lock_activities(text)', 'EXECUTE') THEN
        PERFORM lead_score_internal._lock_activities(current_score.attachment);
    END IF;
    BEGIN
        RETURN QUERY EXECUTE lead_score_internal._sql(attachment, 'current_score') USING lead_key;
    EXCEPTION WHEN undefined_function THEN
        -- No = between the key column and lead_key's type (a uuid for a
        -- bigint key): name both, not the internal query.
        RAISE EXCEPTION 'current_score: lead_key is %, which does not compare with attachment "%"''s key of type %',
            pg_catalog.pg_typeof(lead_key), current_score.attachment,
            lead_score_internal._key_type(current_score.attachment)
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Pass the key as its own type, or as text: current_score(attachment, key::text).';
    END;
END
$$;

CREATE OR REPLACE FUNCTION lead_score.current_score(attachment text, lead_key text)
RETURNS SETOF lead_score.score LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL UNSAFE ROWS 1
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_score.attachment IS NULL THEN
        RAISE EXCEPTION 'current_score: attachment must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF pg_catalog.has_function_privilege('lead_score_internal._lock_activities(text)', 'EXECUTE') THEN
        PERFORM lead_score_internal._lock_activities(current_score.attachment);
    END IF;
    PERFORM lead_score_internal._check_key_text('current_score', current_score.attachment, current_score.lead_key);
    RETURN QUERY EXECUTE lead_score_internal._sql(attachment, 'current_score_text') USING lead_key;
END
$$;

GRANT EXECUTE ON FUNCTION lead_score_internal._lock_activities(text) TO lead_score_reader;

-- Under REPEATABLE READ, a trigger or fold whose snapshot predates a publish
-- or a rebase of its attachment fails as a serialization conflict rather than
-- score with the older version or landmark (src/owner_read.rs).
CREATE FUNCTION lead_score_internal."_catalog_since_snapshot"("attachment" TEXT, "landmark" timestamp with time zone, "version" INT) RETURNS bool
CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'catalog_since_snapshot_wrapper';
REVOKE ALL ON FUNCTION lead_score_internal._catalog_since_snapshot(text, timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lead_score_internal._catalog_since_snapshot(text, timestamptz, integer) TO lead_score_admin;

-- A role without lead_score_admin's privileges is told so, not that it may not
-- run an internal function.
CREATE OR REPLACE FUNCTION lead_score.rescore(attachment text)
RETURNS bigint LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att lead_score.attachments;
    n   bigint;
BEGIN
    IF NOT pg_catalog.pg_has_role('lead_score_admin', 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to rescore: needs the privileges of role lead_score_admin'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Lock first (it waits for every writer), then read: a rebase in between
    -- would leave a stale landmark. _lock raises if there is no such attachment.
    PERFORM lead_score_internal._lock(rescore.attachment, true);
    -- Into a variable first: on Citus the row would be of the reference table's shard type.
    SELECT * INTO att FROM lead_score.attachments a WHERE a.name = rescore.attachment;
    -- A landmark due to move moves here, as tick() would move it, under the
    -- lock held: a version published with a shorter half-life may find it
    -- more than 512 of its half-lives old, past the forward-decay bound its
    -- events must stay within, which no tick() would move before the publish.
    -- Every state is computed at the new landmark (tick()'s: the hour of the
    -- transaction's time), then _rebase moves the attachment's landmark
    -- there and rewrites only the states not at it: none, so each score row
    -- is written once.
    IF lead_score_internal._rebase_due(att.model, att.landmark, lead_score_internal._now()) THEN
        -- (A whole-record assignment: pgspot's plpgsql parser knows no
        -- assignment to a field.)
        att := jsonb_populate_record(att, jsonb_build_object('landmark', date_trunc('hour', lead_score_internal._now())));
        n := lead_score_internal._rescore(att, true);
        PERFORM lead_score_internal._rebase(att.name, lead_score_internal._now());
        -- A statement of its own, to see what _rebase wrote.
        IF (SELECT a.landmark FROM lead_score.attachments a WHERE a.name = rescore.attachment) IS DISTINCT FROM att.landmark THEN
            RAISE EXCEPTION 'lead_score: the landmark of attachment "%" did not move to %', att.name, att.landmark
                USING ERRCODE = 'internal_error';
        END IF;
        RETURN n;
    END IF;
    RETURN lead_score_internal._rescore(att, true);
END
$$;

-- Dates, times, intervals, floats and bytea read as text by the string
-- operators: written with the session settings their text depends on pinned,
-- so every session stores and recomputes the same text (src/stable_text.rs).
CREATE FUNCTION lead_score_internal."_stable_text"("value" anyelement) RETURNS TEXT
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'stable_text_wrapper';

-- Attached tables stay as their triggers read them: renaming or dropping a
-- column an attachment reads, and inheritance or partitioning of an attached
-- table, are refused before they run (src/ddl_guard.rs). A C function, so no
-- role's DDL needs any grant on lead_score.
CREATE FUNCTION lead_score_internal._guard_ddl() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'lead_score_guard_ddl' LANGUAGE c VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION lead_score_internal._guard_ddl() FROM PUBLIC;
CREATE EVENT TRIGGER lead_score_guard_ddl ON ddl_command_start
    WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE', 'ALTER FOREIGN TABLE', 'CREATE FOREIGN TABLE',
                 'ALTER VIEW', 'ALTER MATERIALIZED VIEW', 'DROP INDEX', 'ALTER INDEX', 'ALTER TYPE',
                 'CREATE TRIGGER', 'DROP TRIGGER', 'ALTER TRIGGER')
    EXECUTE FUNCTION lead_score_internal._guard_ddl();
COMMENT ON EVENT TRIGGER lead_score_guard_ddl IS 'Refuses renaming, dropping or retyping a column an attachment reads, renaming an enum label it reads, disabling, dropping, replacing or renaming its triggers (or making them or a unique index on the key depend on an extension), and putting an attached table in an inheritance hierarchy.';

-- _pending_states built SQL for a caller-given number of property columns, and
-- anyone could call it: a huge count used up the server's memory before a
-- cancel was seen. Nothing calls it; the readers build that query in Rust.
DROP FUNCTION lead_score_internal._pending_states(text, integer);

-- top_leads bounds what a lead's pending events can add by the bound of their
-- own merged state (caps, repeats, conditions and decay counted), not by the
-- points of every rule of each event's type.
DROP FUNCTION lead_score_internal._event_bounds(bigint, integer);
CREATE FUNCTION lead_score_internal."_live_bound"("state" bytea, "at" timestamp with time zone) RETURNS double precision
STRICT STABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'live_bound_wrapper';

-- Writes cap an event's time at the clock when the trigger runs, not at the
-- transaction's start: an event stamped during its transaction counts at its
-- own time, as the aggregates count it.
CREATE FUNCTION lead_score_internal."_clock"() RETURNS timestamp with time zone
STRICT VOLATILE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'clock_sql_wrapper';

-- attach checks its mapping's keys against the one list in Rust
-- (lead_score_core::mapping), as _attach_install does.
CREATE FUNCTION lead_score_internal."_check_mapping_keys"("keys" text[]) RETURNS boolean
STRICT IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'check_attach_mapping_keys_wrapper';

-- Plans of these cost in the billions (nested loops off): PostgreSQL's JIT
-- would compile every call. (Those this script replaces say so themselves.)
ALTER FUNCTION lead_score.check_consistency(text) SET jit = off;
ALTER FUNCTION lead_score_internal._record_history(text, boolean) SET jit = off;
ALTER FUNCTION lead_score.backfill_history(text, timestamptz, interval) SET jit = off;

-- Keep this last: every attachment's generated objects as 0.2.0 creates them.
-- Attachments on Citus are reinstalled on their shards by CALL lead_score.distribute.
DO $regenerate$
DECLARE
    a record;
    propagate text;
BEGIN
    FOR a IN SELECT name, mapping ? 'citus_leads' AS citus FROM lead_score.attachments ORDER BY name LOOP
        -- What attach refuses now and 0.1.0 did not (WARNINGs; it keeps working).
        PERFORM lead_score_internal._report_refusals(a.name);
        -- On Citus the triggers are the shards' own: distribute() reinstalls them. A
        -- WARNING, as PostgreSQL shows nothing below that from an extension script.
        IF a.citus THEN
            RAISE WARNING 'lead_score: run CALL lead_score.distribute(%) to update attachment "%" on its shards',
                quote_literal(a.name), a.name;
            CONTINUE;
        END IF;
        PERFORM lead_score_internal._regenerate(a.name);
    END LOOP;
    -- The views over every attachment, once all are up to date. On Citus, on
    -- this node only: Citus runs this script on each worker after the
    -- coordinator's, and there it replaces the worker's own 0.1.0 views.
    IF EXISTS (SELECT 1 FROM lead_score.attachments) THEN
        propagate := pg_catalog.current_setting('citus.enable_ddl_propagation', true);
        IF propagate IS NOT NULL THEN
            PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
        END IF;
        PERFORM lead_score_internal._refresh_current_views();
        IF propagate IS NOT NULL THEN
            PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', propagate, true);
        END IF;
    END IF;
END
$regenerate$;

-- Arguments named in their errors (22004 for a NULL, 22023 for a bad value)
-- where 0.1.0 raised a constraint's or plpgsql's own; drop_model refuses an
-- attached model (2BP01) instead of a foreign key violation.
CREATE OR REPLACE FUNCTION lead_score.drop_model(name text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_attached text;
BEGIN
    SELECT a.name INTO v_attached FROM lead_score.attachments a WHERE a.model = drop_model.name ORDER BY a.name LIMIT 1;
    IF v_attached IS NOT NULL THEN
        RAISE EXCEPTION 'drop_model: model "%" is attached as "%"', drop_model.name, v_attached
            USING ERRCODE = 'dependent_objects_still_exist', HINT = format('Detach it first: lead_score.detach(%L).', v_attached);
    END IF;
    DELETE FROM lead_score.models m WHERE m.name = drop_model.name;
    RETURN FOUND;
END
$$;

CREATE OR REPLACE FUNCTION lead_score.set_history(attachment text, every interval DEFAULT NULL, retention interval DEFAULT NULL)
RETURNS void LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF set_history.attachment IS NULL THEN
        RAISE EXCEPTION 'set_history: attachment must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM lead_score.attachments a WHERE a.name = set_history.attachment) THEN
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', set_history.attachment USING ERRCODE = 'undefined_object';
    END IF;
    IF set_history.every <= '0'::interval OR set_history.retention <= '0'::interval THEN
        RAISE EXCEPTION 'set_history: % must be a positive interval, got %',
            CASE WHEN set_history.every <= '0'::interval THEN 'every' ELSE 'retention' END,
            CASE WHEN set_history.every <= '0'::interval THEN set_history.every ELSE set_history.retention END
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- (history_settings checks the same, with a constraint's error.)
    IF set_history.every > lead_score_internal._max_history_interval()
       OR set_history.retention > lead_score_internal._max_history_interval() THEN
        RAISE EXCEPTION 'set_history: % must be at most %, got %',
            CASE WHEN set_history.every > lead_score_internal._max_history_interval() THEN 'every' ELSE 'retention' END,
            lead_score_internal._max_history_interval(),
            CASE WHEN set_history.every > lead_score_internal._max_history_interval() THEN set_history.every ELSE set_history.retention END
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- An argument left out (NULL) keeps its setting: the table's default
    -- (1 hour, 2 years) until one is set.
    INSERT INTO lead_score.history_settings AS h (attachment) VALUES (set_history.attachment)
    ON CONFLICT (attachment) DO NOTHING;
    UPDATE lead_score.history_settings h
    SET every = coalesce(set_history.every, h.every), retention = coalesce(set_history.retention, h.retention)
    WHERE h.attachment = set_history.attachment;
END
$$;
COMMENT ON FUNCTION lead_score.set_history(text, interval, interval) IS
    'How often tick() checks an attachment''s leads for history (every), and how long rows are kept (retention); an argument left out keeps its setting.';

CREATE OR REPLACE FUNCTION lead_score.backfill_history(attachment text, since timestamptz, step interval DEFAULT '1 day')
RETURNS bigint LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET lead_score.as_of = ''
SET enable_nestloop = off
-- Plans here cost in the billions (nested loops off): PostgreSQL's JIT would
-- compile every call (1.3 s for a top_leads of 11 ms on 1,000,000 leads).
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    att  lead_score.attachments;
    now_ timestamptz := lead_score_internal._now();
    t    timestamptz;
    next_ timestamptz;
    n    bigint := 0;
    k    bigint;
    steps integer := 0;
BEGIN
    IF backfill_history.attachment IS NULL THEN
        RAISE EXCEPTION 'backfill_history: attachment must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO att FROM lead_score.attachments a WHERE a.name = backfill_history.attachment;
    IF att.name IS NULL THEN
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', backfill_history.attachment USING ERRCODE = 'undefined_object';
    END IF;
    IF since IN ('-infinity', 'infinity') THEN
        RAISE EXCEPTION 'backfill_history: since must be a finite time, got %', since
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF step IS NULL OR step <= '0'::interval OR since IS NULL OR since >= now_ THEN
        RAISE EXCEPTION 'backfill_history: since must be in the past and step positive, got % and %', since, step
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF step > lead_score_internal._max_history_interval() THEN
        RAISE EXCEPTION 'backfill_history: step must be at most %, got %', lead_score_internal._max_history_interval(), step
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_catalog.date_part('epoch', now_ OPERATOR(pg_catalog.-) since)
       > 10000 * pg_catalog.date_part('epoch', step) THEN
        RAISE EXCEPTION 'backfill_history: more than 10000 steps from % by %', since, step
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    IF lead_score_internal._citus_method(att.leads) IS NOT NULL THEN
        RETURN 0;  -- not kept on Citus yet (docs/citus.md)
    END IF;
    -- The recorders' lock, so tick() skips this attachment until this commits.
    PERFORM lead_score_internal._history_lock(att.name, true);
    DELETE FROM lead_score.score_history h WHERE h.attachment = att.name;
    DELETE FROM lead_score_internal._history_heads h WHERE h.attachment = att.name;
    DELETE FROM lead_score.class_counts c WHERE c.attachment = att.name;
    t := since;
    WHILE t < now_ LOOP
        PERFORM pg_catalog.set_config('lead_score.as_of', lead_score_internal._as_of_text(t), true);
        DELETE FROM lead_score.class_counts c WHERE c.attachment = att.name AND c.day = pg_catalog.timezone('UTC', t)::date;
        EXECUTE lead_score_internal._sql(att.name, 'backfill_history') INTO k USING att.name, t, att.model;
        n := n + k;
        steps := steps + 1;
        -- Step k is since + k × step on UTC's calendar: the same times
        -- whatever the session's time zone (a day is 24 hours across a DST
        -- change), and a month step from the 31st comes back to the 31st
        -- after a shorter month (added step by step, it stayed on the 28th).
        next_ := pg_catalog.timezone('UTC', pg_catalog.timezone('UTC', since)
                     OPERATOR(pg_catalog.+) (step OPERATOR(pg_catalog.*) steps::pg_catalog.float8));
        -- A step of months and days of opposite signs moves by a length the
        -- calendar gives: '1 mon -30 days' goes back from 31 January.
        IF next_ <= t THEN
            RAISE EXCEPTION 'backfill_history: step % does not move forward from %', step, t
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF steps >= 10000 AND next_ < now_ THEN
            RAISE EXCEPTION 'backfill_history: more than 10000 steps from % by %', since, step
                USING ERRCODE = 'program_limit_exceeded';
        END IF;
        t := next_;
    END LOOP;
    PERFORM pg_catalog.set_config('lead_score.as_of', '', true);
    RETURN n + lead_score_internal._record_history(att.name, true);
END
$$;

COMMENT ON TRIGGER feedback_capture ON lead_score.feedback IS
    'Captures the lead''s score, classification, author and time on each feedback row (record_feedback).';
CREATE OR REPLACE FUNCTION lead_score_internal._feedback_capture() RETURNS trigger
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET lead_score.as_of = ''
AS $$
DECLARE
    s lead_score.score;
BEGIN
    IF NEW.attachment IS NULL OR NEW.lead_key IS NULL OR NEW.accepted IS NULL THEN
        RAISE EXCEPTION 'record_feedback: % must not be NULL',
            CASE WHEN NEW.attachment IS NULL THEN 'attachment' WHEN NEW.lead_key IS NULL THEN 'lead_key' ELSE 'accepted' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT NEW.accepted AND NEW.reason IS NULL THEN
        RAISE EXCEPTION 'record_feedback: a rejection needs a reason (see lead_score.feedback_reasons)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NEW.reason IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lead_score.feedback_reasons r WHERE r.reason = NEW.reason) THEN
        RAISE EXCEPTION 'record_feedback: reason "%" is not in lead_score.feedback_reasons', NEW.reason
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Add it there first, or give one of its reasons.';
    END IF;
    IF NEW.given_at IS NOT NULL THEN
        RETURN NEW;
    END IF;
    -- Key text that is no key ('abc' for a bigint key) is named as this
    -- function's argument, not current_score's.
    PERFORM lead_score_internal._check_key_text('record_feedback', NEW.attachment, NEW.lead_key);
    SELECT * INTO s FROM lead_score.current_score(NEW.attachment, NEW.lead_key);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lead_score attachment "%" has no lead %', NEW.attachment, NEW.lead_key
            USING ERRCODE = 'undefined_object';
    END IF;
    -- The key as the lead's score row writes it (' 42 ' is lead 42, kept as '42'),
    -- so feedback joins its lead by text as adjustments do.
    NEW.lead_key := coalesce(lead_score_internal._adjustment_key(NEW.attachment, NEW.lead_key), NEW.lead_key);
    NEW.given_by := current_user;
    NEW.given_at := lead_score_internal._now();
    NEW.total := s.total;
    NEW.fit := s.fit;
    NEW.engagement := s.engagement;
    NEW.grade := s.grade;
    NEW.label := s.label;
    NEW.quadrant := s.quadrant;
    NEW.mql := s.mql;
    NEW.model_version := s.model_version;
    RETURN NEW;
END
$$;

-- History days are UTC days, whoever records them.
CREATE OR REPLACE FUNCTION lead_score_internal._record_history(attachment text, force boolean)
RETURNS bigint LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET lead_score.as_of = ''
SET enable_nestloop = off
-- Plans here cost in the billions (nested loops off): PostgreSQL's JIT would
-- compile every call (1.3 s for a top_leads of 11 ms on 1,000,000 leads).
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    att  lead_score.attachments;
    s    lead_score.history_settings;
    now_ timestamptz := lead_score_internal._now();
    n    bigint;
BEGIN
    SELECT * INTO att FROM lead_score.attachments a WHERE a.name = _record_history.attachment;
    IF att.name IS NULL AND NOT force THEN
        RETURN 0;  -- detached since tick() listed it
    ELSIF att.name IS NULL THEN
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', _record_history.attachment USING ERRCODE = 'undefined_object';
    END IF;
    IF lead_score_internal._citus_method(att.leads) IS NOT NULL THEN
        RETURN 0;  -- not kept on Citus yet (docs/citus.md)
    END IF;
    -- One recorder at a time per attachment. tick() does not wait for another
    -- (a later tick checks); record_history() does.
    s := lead_score_internal._history_lock(att.name, force);
    IF NOT force AND (s.attachment IS NULL
                      OR (s.recorded_at IS NOT NULL AND s.recorded_at OPERATOR(pg_catalog.+) s.every > now_)) THEN
        RETURN 0;
    END IF;
    DELETE FROM lead_score.class_counts c WHERE c.attachment = att.name AND c.day = pg_catalog.timezone('UTC', now_)::date;
    EXECUTE lead_score_internal._sql(att.name, 'record_history') INTO n USING att.name, now_;
    -- Retention: older rows go, but each lead keeps its latest.
    DELETE FROM lead_score.score_history h
    WHERE h.attachment = att.name AND h.recorded_at < now_ OPERATOR(pg_catalog.-) s.retention
      AND EXISTS (SELECT 1 FROM lead_score.score_history l
                  WHERE l.attachment = h.attachment AND l.lead_key = h.lead_key AND l.recorded_at > h.recorded_at);
    DELETE FROM lead_score.class_counts c
    WHERE c.attachment = att.name AND c.day < pg_catalog.timezone('UTC', now_ OPERATOR(pg_catalog.-) s.retention)::date;
    UPDATE lead_score.history_settings h SET recorded_at = now_ WHERE h.attachment = att.name;
    RETURN n;
END
$$;
COMMENT ON COLUMN lead_score.class_counts.day IS 'Day (in UTC, whatever the session''s time zone) of the count';
COMMENT ON COLUMN lead_score.history_daily.day IS 'Day (in UTC, whatever the session''s time zone) of the count';

-- An evaluation of no leads is refused (22023) whatever its cut-off: with
-- days_after_creation its arrays were NULL, and it returned nothing.
CREATE OR REPLACE FUNCTION lead_score_internal._evaluation_arrays(attachment text, cutoff timestamptz, version integer, days_after_creation integer)
RETURNS TABLE (keys text[], totals float8[], won boolean[])
LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS 'SELECT coalesce(pg_catalog.array_agg(e.lead_key ORDER BY e.lead_key COLLATE "C"), ''{}''),
           coalesce(pg_catalog.array_agg(e.total ORDER BY e.lead_key COLLATE "C"), ''{}''),
           coalesce(pg_catalog.array_agg(e.won ORDER BY e.lead_key COLLATE "C"), ''{}'')
    FROM lead_score.evaluation_rows(attachment, cutoff, version, days_after_creation) e';

-- backtest refuses a version that does not exist.
CREATE OR REPLACE FUNCTION lead_score.backtest(attachment text, cutoff timestamptz DEFAULT NULL, versions integer[] DEFAULT NULL,
                                    days_after_creation integer DEFAULT NULL)
RETURNS SETOF lead_score.evaluations
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET lead_score.as_of = ''
AS $$
DECLARE
    m      text;
    cur    integer;
    v      integer;
    vs     integer[];
    names  text[];
    n      integer;
    ci     integer;
    i      integer;
    base_t float8[];
    base_k text[];
    base_w boolean[];
    all_t  float8[];
    t      float8[];
    k      text[];
    w      boolean[];
BEGIN
    PERFORM lead_score_internal._model_at(backtest.attachment, NULL);  -- raises for an unknown attachment
    SELECT a.model, mo.current_version INTO m, cur
    FROM lead_score.attachments a JOIN lead_score.models mo ON mo.name = a.model WHERE a.name = backtest.attachment;
    vs := ARRAY(SELECT x.version FROM lead_score.model_versions x JOIN lead_score.models mo ON mo.id = x.model_id
                WHERE mo.name = m AND (versions IS NULL OR x.version = ANY (versions)) ORDER BY x.version);
    -- Every version asked for must exist, as evaluate's version must.
    SELECT x INTO v FROM pg_catalog.unnest(versions) x WHERE x IS NULL OR x OPERATOR(pg_catalog.<>) ALL (vs) LIMIT 1;
    IF FOUND THEN
        IF v IS NULL THEN
            RAISE EXCEPTION 'backtest: versions must not contain NULL' USING ERRCODE = 'null_value_not_allowed';
        END IF;
        RAISE EXCEPTION 'lead_score model "%" has no version %', m, v USING ERRCODE = 'undefined_object';
    END IF;
    IF days_after_creation IS NULL AND cutoff IS NOT NULL AND pg_catalog.cardinality(vs) BETWEEN 1 AND 63 THEN
        -- At a fixed cut-off, every version (and the current one) is scored in
        -- one statement, one scan of the tables: the same leads by construction.
        PERFORM lead_score_internal._warn_no_closed_at(backtest.attachment);
        -- The current version is compared with every other: scored once, in
        -- its place among them or after them.
        ci := pg_catalog.array_position(vs, cur);
        names := ARRAY(SELECT m || '@' || x FROM pg_catalog.unnest(CASE WHEN ci IS NULL THEN vs || cur ELSE vs END) x);
        n := pg_catalog.cardinality(names);
        ci := coalesce(ci, n);
        PERFORM pg_catalog.set_config('lead_score.as_of', lead_score_internal._as_of_text(cutoff), true);
        EXECUTE lead_score_internal._backtest_sql(backtest.attachment, n) INTO w, all_t USING names, cutoff;
        all_t := coalesce(all_t, '{}');
        w := coalesce(w, '{}');
        base_t := lead_score_internal._version_column(all_t, ci, n);
        FOR i IN 1 .. pg_catalog.cardinality(vs) LOOP
            v := vs[i];
            t := lead_score_internal._version_column(all_t, i, n);
            RETURN QUERY
            INSERT INTO lead_score.evaluations AS e (attachment, model, version, is_current, cutoff, days_after_creation, leads,
                                                     positives, auc, ci_lower, ci_upper, auc_difference, difference_ci_lower,
                                                     difference_ci_upper, p_value, better, warning)
            SELECT backtest.attachment, m, v, v = cur, cutoff, days_after_creation, r.leads, r.positives, r.auc, r.ci_lower,
                   r.ci_upper, d.difference, d.ci_lower, d.ci_upper, d.p_value, d.a_better, r.warning
            FROM lead_score.roc_auc(t, w) r CROSS JOIN lead_score.auc_difference(t, base_t, w) d
            RETURNING e.*;
        END LOOP;
        RETURN;
    END IF;
    SELECT a.totals, a.keys, a.won INTO base_t, base_k, base_w
    FROM lead_score_internal._evaluation_arrays(backtest.attachment, cutoff, cur, days_after_creation) a;
    FOREACH v IN ARRAY vs LOOP
        IF v = cur THEN
            -- The current version was scored above.
            t := base_t; w := base_w; k := base_k;
        ELSE
            SELECT a.totals, a.won, a.keys INTO t, w, k
            FROM lead_score_internal._evaluation_arrays(backtest.attachment, cutoff, v, days_after_creation) a;
        END IF;
        -- Each version's statement reads its own snapshot: the pairing holds
        -- only if they saw the same leads and the same outcomes.
        IF k IS DISTINCT FROM base_k OR w IS DISTINCT FROM base_w THEN
            RAISE EXCEPTION 'backtest: the leads or outcomes changed while it ran; run it again, or in a REPEATABLE READ transaction'
                USING ERRCODE = 'serialization_failure';
        END IF;
        RETURN QUERY
        INSERT INTO lead_score.evaluations AS e (attachment, model, version, is_current, cutoff, days_after_creation, leads,
                                                 positives, auc, ci_lower, ci_upper, auc_difference, difference_ci_lower,
                                                 difference_ci_upper, p_value, better, warning)
        SELECT backtest.attachment, m, v, v = cur, cutoff, days_after_creation, r.leads, r.positives, r.auc, r.ci_lower,
               r.ci_upper, d.difference, d.ci_lower, d.ci_upper, d.p_value, d.a_better, r.warning
        FROM lead_score.roc_auc(t, w) r CROSS JOIN lead_score.auc_difference(t, base_t, w) d
        RETURNING e.*;
    END LOOP;
END
$$;

-- A NULL attachment is 22004, as for every function (0.1.0 said it did not exist).
CREATE OR REPLACE FUNCTION lead_score_internal._model_at(attachment text, version integer)
RETURNS text LANGUAGE plpgsql STABLE CALLED ON NULL INPUT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m   text;
    id  bigint;
    cur integer;
BEGIN
    IF _model_at.attachment IS NULL THEN
        RAISE EXCEPTION 'attachment must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.model, mo.id, mo.current_version INTO m, id, cur
    FROM lead_score.attachments a JOIN lead_score.models mo ON mo.name = a.model WHERE a.name = _model_at.attachment;
    IF m IS NULL THEN
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', _model_at.attachment USING ERRCODE = 'undefined_object';
    END IF;
    IF _model_at.version IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM lead_score.model_versions v WHERE v.model_id = id AND v.version = _model_at.version) THEN
        RAISE EXCEPTION 'lead_score model "%" has no version %', m, _model_at.version USING ERRCODE = 'undefined_object';
    END IF;
    RETURN m || '@' || coalesce(_model_at.version, cur);
END
$$;

-- evaluation_rows refuses a days_after_creation out of range.
CREATE OR REPLACE FUNCTION lead_score.evaluation_rows(attachment text, cutoff timestamptz DEFAULT NULL, version integer DEFAULT NULL,
                                           days_after_creation integer DEFAULT NULL)
RETURNS TABLE (lead_key text, won boolean, total float8, grade text, label text, quadrant text, mql boolean, disqualified boolean)
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
SET lead_score.as_of = ''
AS $$
DECLARE
    m   text := lead_score_internal._model_at(evaluation_rows.attachment, evaluation_rows.version);
    id  bigint;
    ver integer;
BEGIN
    IF (cutoff IS NULL) = (days_after_creation IS NULL) THEN
        RAISE EXCEPTION 'give one of cutoff and days_after_creation' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF days_after_creation NOT BETWEEN 0 AND 36525 THEN
        RAISE EXCEPTION 'days_after_creation must be 0 to 36525 (100 years), got %', days_after_creation
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM lead_score_internal._warn_no_closed_at(evaluation_rows.attachment);
    IF days_after_creation IS NULL THEN
        PERFORM pg_catalog.set_config('lead_score.as_of', lead_score_internal._as_of_text(cutoff), true);
        RETURN QUERY EXECUTE lead_score_internal._evaluation_sql(evaluation_rows.attachment, false) USING m, cutoff;
    ELSE
        SELECT mo.id, substring(m from '@([0-9]+)$')::integer INTO id, ver
        FROM lead_score.attachments a JOIN lead_score.models mo ON mo.name = a.model WHERE a.name = evaluation_rows.attachment;
        RETURN QUERY EXECUTE lead_score_internal._evaluation_sql(evaluation_rows.attachment, true) USING m, days_after_creation, id, ver;
    END IF;
END
$$;

-- A NULL bins gave no rows (the strict calibration returned none): now 22004.
CREATE OR REPLACE FUNCTION lead_score.evaluate_calibration(attachment text, cutoff timestamptz DEFAULT NULL, version integer DEFAULT NULL,
                                                days_after_creation integer DEFAULT NULL, bins integer DEFAULT 10)
RETURNS TABLE (bin integer, leads bigint, expected float8, observed float8, calibration_error float8, brier float8)
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- lead_score.calibration is strict: a NULL bins would give no rows.
    IF evaluate_calibration.bins IS NULL THEN
        RAISE EXCEPTION 'evaluate_calibration: bins must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN QUERY
    SELECT c.* FROM lead_score_internal._evaluation_arrays(evaluate_calibration.attachment, evaluate_calibration.cutoff,
                                                           evaluate_calibration.version, evaluate_calibration.days_after_creation) s
    CROSS JOIN LATERAL lead_score.calibration(lead_score_internal._platt(s.totals, s.won), s.won, evaluate_calibration.bins) c;
END
$$;
-- An alert of a crossing time alone caused before a write's events carries
-- its own total (the total then), which both writers take over the row's.
CREATE OR REPLACE FUNCTION lead_score_internal._emit_alerts(attachment text, model text, lead_keys text[], totals float8[], alerts jsonb[])
RETURNS integer LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    WITH written AS (
        INSERT INTO lead_score.alerts AS t (attachment, model, lead_key, kind, detail, total)
        SELECT _emit_alerts.attachment, _emit_alerts.model, x.lead_key, e.e ->> 'kind', e.e ->> 'detail',
               coalesce((e.e ->> 'total')::pg_catalog.float8, x.total)
        FROM unnest(lead_keys, totals, alerts) WITH ORDINALITY AS x(lead_key, total, alerts, i)
        CROSS JOIN LATERAL jsonb_array_elements(x.alerts) WITH ORDINALITY AS e(e, j)
        ORDER BY x.i, e.j
        RETURNING t.id, t.attachment)
    -- Only the alert's id and attachment: LISTEN needs no privilege, so the
    -- payload carries nothing a role without SELECT on the alerts may not see.
    SELECT count(pg_notify('lead_score_alerts', json_build_object('id', w.id, 'attachment', w.attachment)::text))
    INTO n FROM (SELECT * FROM written ORDER BY id) w;
    RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION lead_score_internal._emit_outbox(outbox regclass, attachment text, model text, lead_keys anyarray,
                                        totals float8[], alerts jsonb[])
RETURNS integer LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    EXECUTE 'INSERT INTO ' || outbox::text || ' (lead_key, attachment, model, kind, detail, total)
             SELECT x.lead_key, $2, $3, e.e ->> ''kind'', e.e ->> ''detail'',
                    coalesce((e.e ->> ''total'')::pg_catalog.float8, x.total)
             FROM unnest($1, $4, $5) WITH ORDINALITY AS x(lead_key, total, alerts, i)
             CROSS JOIN LATERAL jsonb_array_elements(x.alerts) WITH ORDINALITY AS e(e, j)
             ORDER BY x.i, e.j'
        USING lead_keys, attachment, model, totals, alerts;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- Every index of the public tables has a comment, as the tables do.
COMMENT ON INDEX lead_score.models_pkey IS 'One row per model id.';
COMMENT ON INDEX lead_score.models_name_key IS 'Model names are unique: functions name a model by it.';
COMMENT ON INDEX lead_score.model_versions_pkey IS 'One row per model and version.';
COMMENT ON INDEX lead_score.attachments_pkey IS 'One row per attachment name.';
COMMENT ON INDEX lead_score.alerts_pkey IS 'One row per alert id (the id a NOTIFY payload carries).';
COMMENT ON INDEX lead_score.alerts_at_idx IS 'Alerts by time, for reading the latest.';
COMMENT ON INDEX lead_score.adjustments_pkey IS 'One row per adjustment id (end_adjustment takes one).';
COMMENT ON INDEX lead_score.adjustments_attachment_lead IS 'A lead''s adjustments, read when it is scored.';
COMMENT ON INDEX lead_score.evaluations_pkey IS 'One row per evaluation id.';
COMMENT ON INDEX lead_score.feedback_pkey IS 'One row per feedback id.';
COMMENT ON INDEX lead_score.feedback_attachment_lead IS 'A lead''s feedback, by attachment.';
COMMENT ON INDEX lead_score.feedback_reasons_pkey IS 'One row per reason.';
COMMENT ON INDEX lead_score.outcome_links_pkey IS 'One outcome link per attachment.';
COMMENT ON INDEX lead_score.history_settings_pkey IS 'One history setting per attachment.';
COMMENT ON INDEX lead_score.score_history_lead IS 'A lead''s history rows in time order (timeline, retention).';
COMMENT ON INDEX lead_score.class_counts_day IS 'The leads per class of a day (history_daily).';

-- Every internal function says what it is too (setup.sql lists any that does not).
COMMENT ON FUNCTION lead_score_internal._citus() IS
    'Internal: whether the citus extension is installed in this database; the Citus code paths check it when called.';
COMMENT ON FUNCTION lead_score_internal._citus_method(regclass) IS
    'Internal: Citus''s distribution method of a table: h (hash-distributed), n (a reference or Citus local table), or NULL for no Citus table.';
COMMENT ON FUNCTION lead_score_internal._distribute_tables(text) IS
    'Internal: phase 1 of distribute(), also run by attach(): configuration to reference tables, the attachment''s tables distributed with its leads; true if changed.';
COMMENT ON FUNCTION lead_score_internal._citus_install_shard(text, text) IS
    'Internal: on a Citus node, replaces the triggers Citus copied to a shard group with the group''s own trigger functions; idempotent, for _citus_install_node.';
COMMENT ON FUNCTION lead_score_internal._citus_install_node(text) IS
    'Internal: on a Citus node, installs the shard groups of an attachment whose activity shards it holds; returns their ids (distribute() runs it on every node).';
COMMENT ON FUNCTION lead_score_internal._emit_outbox(regclass, text, text, anyarray, double precision[], jsonb[]) IS
    'Internal: writes a statement''s alerts to the attachment''s outbox shard on this node, for a Citus shard group''s trigger functions; returns how many.';
COMMENT ON FUNCTION lead_score_internal._attach_install(text, text, oid, oid, jsonb, text) IS
    'Internal: writes an attachment''s row and creates its tables, views, trigger functions and triggers for attach(), checking the caller''s role and rights itself.';
COMMENT ON FUNCTION lead_score_internal._lock_activities(text) IS
    'Internal: takes an attachment''s activity table in ACCESS SHARE mode before any of lead_score''s tables, for lead triggers and readers (top_leads, current_score).';
COMMENT ON FUNCTION lead_score_internal._scores_exist(text, anyarray) IS
    'Internal: whether any of these keys has a score row in the latest snapshot; an insert trigger''s second pass then fails as a serialization conflict.';
COMMENT ON FUNCTION lead_score_internal._logistic_regression(oid, text, text[], double precision) IS
    'Internal: the IRLS fit behind lead_score.logistic_regression: a row per coefficient (intercept first), with log-likelihood, iterations and convergence.';
COMMENT ON FUNCTION lead_score_internal._score_type_ddl() IS
    'Internal: the CREATE TYPE lead_score.score statement, from the one list of its fields (run by the install script).';
COMMENT ON FUNCTION lead_score_internal._backtest_sql(text, integer) IS
    'Internal: the one-pass query of backtest() and evaluate() at a fixed cut-off, for 1 to 64 model versions, over an attachment''s linked outcomes.';
COMMENT ON FUNCTION lead_score_internal._xid_precedes(xid, xid) IS
    'Internal: whether transaction ID a is older than b, modulo wraparound as PostgreSQL compares them; the drop of pending events of no lead uses it.';
COMMENT ON FUNCTION lead_score_internal._now() IS
    'Internal: the time writers use, the transaction''s start (or lead_score.mock_now in test builds); scoring_time() falls back to it.';
COMMENT ON FUNCTION lead_score_internal._stable_text(anyelement) IS
    'Internal: a value''s text with date, time, float, bytea and money settings pinned, as triggers and recomputes read event properties in every session.';
COMMENT ON FUNCTION lead_score_internal._leads_present(text, anyarray) IS
    'Internal: for each key, whether the attachment''s lead table has it now (read as its owner), so a lead trigger keeps the score rows of keys taken again.';
COMMENT ON FUNCTION lead_score_internal._catalog_since_snapshot(text, timestamp with time zone, integer) IS
    'Internal: under REPEATABLE READ, whether a rebase or publish committed after the transaction began; triggers and folds then fail as a serialization conflict.';
COMMENT ON FUNCTION lead_score_internal._version_column(double precision[], integer, integer) IS
    'Internal: column i of a lead by n versions float8 array as a float8[] in lead order, for backtest() and evaluate().';
COMMENT ON FUNCTION lead_score_internal._applied_type_ddl() IS
    'Internal: the CREATE TYPE lead_score_internal._applied statement (what _live_apply returns), from the one list of its fields (run by the install script).';
COMMENT ON FUNCTION lead_score_internal._evaluation_sql(text, boolean) IS
    'Internal: the query of evaluation_rows() over an attachment''s linked outcomes, at a fixed cut-off or at each lead''s creation plus days (per_lead).';
COMMENT ON FUNCTION lead_score_internal._read_states(text, anyarray) IS
    'Internal: a live state per key from the activities as the statement sees them, read as the table''s owner, for readers and folds of leads marked to recompute.';
COMMENT ON FUNCTION lead_score_internal._owner_states(text, anyarray, bigint, integer, timestamp with time zone, timestamp with time zone) IS
    'Internal: a live delta per key (NULL for a lead with no activity), read as the activity table''s owner, for the triggers'' recomputes of leads.';
COMMENT ON FUNCTION lead_score_internal._live_rebase(bytea, timestamp with time zone) IS
    'Internal: a live state moved to a new forward-decay landmark; the rebase of an attachment (_rebase) rewrites its score rows with it.';
COMMENT ON FUNCTION lead_score_internal._lock(text, boolean, boolean) IS
    'Internal: waits for an attachment''s writers and keeps new ones out (exclusive), or takes the lock writers take, optionally NOWAIT; for rescore() and tick().';
COMMENT ON FUNCTION lead_score_internal._lowering_version(text) IS
    'Internal: the model''s current version if time alone can only lower its scores, else NULL; tick() skips classifying again that version''s leads already lowest.';
COMMENT ON FUNCTION lead_score_internal._rebase_due(text, timestamp with time zone, timestamp with time zone) IS
    'Internal: whether an attachment''s landmark is old enough, in its model''s shortest half-lives, to move; tick(), rescore() and _rebase check it.';
COMMENT ON FUNCTION lead_score_internal._live_check(text) IS
    'Internal: raises unless a model''s current version can be kept live; attach() calls it, and create_model() for an attached model.';
COMMENT ON FUNCTION lead_score_internal._top_lead_type_ddl() IS
    'Internal: the CREATE TYPE lead_score.top_lead statement, from the one list of its fields (run by the install script).';
COMMENT ON FUNCTION lead_score_internal._snapshot_horizon(oid) IS
    'Internal: the oldest transaction ID a snapshot or running transaction still holds for a pending table (as VACUUM computes it), for dropping events of no lead.';
COMMENT ON FUNCTION lead_score_internal._event_points(text, text, timestamp with time zone, text[]) IS
    'Internal: the engagement rules one event matches and its points now (decayed, before caps), for a lead''s timeline.';
COMMENT ON FUNCTION lead_score_internal._live_merge(bytea, bytea) IS
    'Internal: a stored live state with a lead''s pending events merged in (a NULL delta: the state itself), so readers see current scores before a fold.';
COMMENT ON FUNCTION lead_score_internal._fold_at_commit(text, tid[]) IS
    'Internal: registers the pending rows a sync attachment''s plpgsql activity trigger appended, for the transaction''s commit to fold into the score rows.';
COMMENT ON FUNCTION lead_score_internal._live_bound(bytea, timestamp with time zone) IS
    'Internal: the highest engagement a live state can score when read at a time or later; top_leads and tick()''s bound refresh use it.';
COMMENT ON FUNCTION lead_score_internal._check_mapping_keys(text[]) IS
    'Internal: attach()''s check of its mapping''s keys: raises 22023 for the first unknown one, accepting every key a stored mapping holds.';
COMMENT ON FUNCTION lead_score_internal._outcome_check(text, oid, jsonb) IS
    'Internal: link_outcomes()''s check: raises unless the mapping names only known keys, and columns of the source (and leads) of the types the evaluations read.';
COMMENT ON FUNCTION lead_score_internal._citus_shard_sql(text, oid[], text) IS
    'Internal: on Citus, the statements that install an attachment''s trigger functions and triggers on one shard group, for _citus_install_shard to run.';
COMMENT ON FUNCTION lead_score_internal._progress(integer, bigint, bigint) IS
    'Internal: counts a row of a long attach or rescore scan, with a progress NOTICE about every tenth once it has run a second; always true, for a WHERE clause.';
COMMENT ON FUNCTION lead_score_internal._live_empty(bigint, integer, timestamp with time zone) IS
    'Internal: an empty live state for a model version at a landmark, which the triggers and rescores use for leads without events.';
COMMENT ON FUNCTION lead_score_internal._logistic_combine(double precision[], double precision[]) IS
    'Internal: the combine function of logistic_step, which adds two partial sums (parallel workers, or Citus shards).';
COMMENT ON FUNCTION lead_score_internal._clock() IS
    'Internal: the wall clock (or lead_score.mock_now in test builds), at which writes and rescores cap their events'' times.';
COMMENT ON FUNCTION lead_score_internal._rebase(text, timestamp with time zone) IS
    'Internal: rebase of one attachment for tick() and rescore(): moves its landmark to the hour and rescales every state; 55P03 rather than wait, unless urgent.';
COMMENT ON FUNCTION lead_score_internal._pending_since_snapshot(text, anyarray) IS
    'Internal: under REPEATABLE READ, whether these leads have pending rows committed after the transaction began; a fold then fails as a serialization conflict.';
COMMENT ON FUNCTION lead_score_internal._suggest_points(text, text[], integer, integer, double precision, text[]) IS
    'Internal: suggest_points()''s work: fits the linked outcomes on lead fields (and named event types) and stores the rules as a draft model version.';
COMMENT ON FUNCTION lead_score_internal._validate_spec_text(text) IS
    'Internal: validates a model spec given as JSON text, raising an error that names the JSON path of the first problem; validate_spec() calls it.';
COMMENT ON FUNCTION lead_score_internal._engagement_trans(bytea, text, text, timestamp with time zone) IS
    'Internal: the transition function of the engagement, engagement_categories and engagement_state aggregates, without event properties.';
COMMENT ON FUNCTION lead_score_internal._engagement_trans(bytea, text, text, timestamp with time zone, text) IS
    'Internal: the transition function of the engagement, engagement_categories and engagement_state aggregates, with one event property.';
COMMENT ON FUNCTION lead_score_internal._engagement_trans(bytea, text, text, timestamp with time zone, text, text) IS
    'Internal: the transition function of the engagement, engagement_categories and engagement_state aggregates, with two event properties.';
COMMENT ON FUNCTION lead_score_internal._engagement_trans(bytea, text, text, timestamp with time zone, text, text, text) IS
    'Internal: the transition function of the engagement, engagement_categories and engagement_state aggregates, with three event properties.';
COMMENT ON FUNCTION lead_score_internal._engagement_combine(bytea, bytea) IS
    'Internal: the combine function of the engagement, engagement_categories and engagement_state aggregates, which merges partial states.';
COMMENT ON FUNCTION lead_score_internal._engagement_final(bytea) IS
    'Internal: the final function of the engagement aggregate: the engagement score of its state.';
COMMENT ON FUNCTION lead_score_internal._engagement_categories_final(bytea) IS
    'Internal: the final function of the engagement_categories aggregate: each category''s score of its state, as jsonb.';
COMMENT ON FUNCTION lead_score_internal._bounds_hold(timestamp with time zone) IS
    'Internal: whether a read at a time may rank leads by their stored bounds (no more than an hour before the clock); top_leads sorts every lead otherwise.';
COMMENT ON FUNCTION lead_score_internal._platt(double precision[], boolean[]) IS
    'Internal: each score as a probability, through the logistic curve fitted to these scores and outcomes (Platt scaling), for evaluate_calibration().';
COMMENT ON FUNCTION lead_score_internal._live_crossed(bytea, double precision, text, boolean, text, text[], timestamp with time zone) IS
    'Internal: whether a score row''s stored classification (or none) differs from the one its state reads at a time: the time crossings tick() rewrites and alerts.';
COMMENT ON FUNCTION lead_score_internal._score_comments() IS
    'Internal: the COMMENT ON COLUMN statements of the lead_score.score and lead_score.top_lead types, from the one list of their fields (run by the install script).';
COMMENT ON FUNCTION lead_score_internal._sql(text, text) IS
    'Internal: the SQL of a named run-time query on an attachment, generated in Rust, for the plpgsql functions to EXECUTE.';
COMMENT ON FUNCTION lead_score_internal._rebase_overdue(text, timestamp with time zone, timestamp with time zone) IS
    'Internal: whether an attachment whose rebase could not run has a landmark so old that tick() leaves it whole, its events pending, until a rebase.';
COMMENT ON FUNCTION lead_score_internal._recomputed(text, boolean) IS
    'Internal: marks (when asked) that an attachment recomputed leads in this statement and returns whether it has, so its later insert triggers recompute too.';
COMMENT ON FUNCTION lead_score_internal._live_apply(bytea, bytea, double precision, text, boolean, text, text[], timestamp with time zone, timestamp with time zone, boolean) IS
    'Internal: merges a delta into a stored live state (or replaces it), moves it to the landmark, classifies it now and returns the score row''s fields and alerts.';
COMMENT ON FUNCTION lead_score_internal._live_apply(bytea, bytea, double precision, text, boolean, text, text[], timestamp with time zone, timestamp with time zone, boolean, timestamp with time zone, double precision, text) IS
    'Internal: the 10-argument _live_apply, also classifying the stored state just before the write, to alert first a crossing time alone caused.';
COMMENT ON FUNCTION lead_score_internal._append_pending() IS
    'Internal: the C activity INSERT trigger of attachments whose inserts append (deferred, or sync off Citus): copies the new events into the pending table.';
COMMENT ON FUNCTION lead_score_internal._live_score(bytea, double precision, text, bytea, timestamp with time zone) IS
    'Internal: the lead_score.score of a stored live state at a time, with its fit, disqualification and predictive features, for the current views and top_leads.';
COMMENT ON FUNCTION lead_score_internal._live_batch_trans(bytea, bigint, integer, timestamp with time zone, text, timestamp with time zone) IS
    'Internal: the transition function of the _live_batch aggregate, without event properties: adds an event to a live delta.';
COMMENT ON FUNCTION lead_score_internal._live_batch_trans(bytea, bigint, integer, timestamp with time zone, text, timestamp with time zone, text) IS
    'Internal: the transition function of the _live_batch aggregate, with one event property: adds an event to a live delta.';
COMMENT ON FUNCTION lead_score_internal._live_batch_trans(bytea, bigint, integer, timestamp with time zone, text, timestamp with time zone, text, text) IS
    'Internal: the transition function of the _live_batch aggregate, with two event properties: adds an event to a live delta.';
COMMENT ON FUNCTION lead_score_internal._live_batch_trans(bytea, bigint, integer, timestamp with time zone, text, timestamp with time zone, text, text, text) IS
    'Internal: the transition function of the _live_batch aggregate, with three event properties: adds an event to a live delta.';
COMMENT ON FUNCTION lead_score_internal._live_batch_combine(bytea, bytea) IS
    'Internal: the combine function of the _live_batch aggregate, which merges partial live deltas.';
COMMENT ON AGGREGATE lead_score_internal._live_batch(bigint, integer, timestamp with time zone, text, timestamp with time zone) IS
    'Internal: the aggregate that makes events one forward-decayed live delta per lead (no event properties), for the triggers, folds and rescores.';
COMMENT ON AGGREGATE lead_score_internal._live_batch(bigint, integer, timestamp with time zone, text, timestamp with time zone, text) IS
    'Internal: the aggregate that makes events one forward-decayed live delta per lead (one event property), for the triggers, folds and rescores.';
COMMENT ON AGGREGATE lead_score_internal._live_batch(bigint, integer, timestamp with time zone, text, timestamp with time zone, text, text) IS
    'Internal: the aggregate that makes events one forward-decayed live delta per lead (two event properties), for the triggers, folds and rescores.';
COMMENT ON AGGREGATE lead_score_internal._live_batch(bigint, integer, timestamp with time zone, text, timestamp with time zone, text, text, text) IS
    'Internal: the aggregate that makes events one forward-decayed live delta per lead (three event properties), for the triggers, folds and rescores.';
COMMENT ON FUNCTION lead_score_internal._emit_alerts(text, text, text[], double precision[], jsonb[]) IS
    'Internal: writes the alerts _live_apply returned for a statement''s leads to lead_score.alerts and announces each on NOTIFY lead_score_alerts; returns how many.';
COMMENT ON FUNCTION lead_score_internal._rescore(lead_score.attachments, boolean) IS
    'Internal: recomputes every lead of an attachment from its tables with the set-based aggregates, alerting crossings or not; attach() and rescore() call it.';
COMMENT ON FUNCTION lead_score_internal._follow_drops() IS
    'Internal: the sql_drop event trigger lead_score_follow_drops: detaches attachments whose tables were dropped, and refuses a cascaded drop of a column one reads.';
COMMENT ON FUNCTION lead_score_internal._guard_ddl() IS
    'Internal: the ddl_command_start event trigger lead_score_guard_ddl: refuses DDL that would change attached tables as their triggers read them.';
COMMENT ON FUNCTION lead_score_internal._model_at(text, integer) IS
    'Internal: the name model@N of an attachment''s model at a version (NULL: the current one), raising for an unknown attachment or version; for the evaluations.';
COMMENT ON FUNCTION lead_score_internal._warn_no_closed_at(text) IS
    'Internal: the one WARNING of every evaluation whose linked outcomes have no closed_at: leads already won or lost at the cut-off are evaluated too.';
COMMENT ON FUNCTION lead_score_internal._evaluation_arrays(text, timestamp with time zone, integer, integer) IS
    'Internal: evaluation_rows() as three arrays (keys, totals, won) in lead-key order, so versions pair up lead by lead; for the evaluations and backtest().';
COMMENT ON FUNCTION lead_score_internal._feedback_capture() IS
    'Internal: the BEFORE INSERT trigger feedback_capture on lead_score.feedback: checks the row and captures the lead''s score, classification, author and time.';
COMMENT ON FUNCTION lead_score_internal._history_lock(text, boolean) IS
    'Internal: the history recorders'' lock on an attachment: its history_settings row (made if missing), locked waiting or not (NULL fields if another holds it).';
COMMENT ON FUNCTION lead_score_internal._record_history(text, boolean) IS
    'Internal: adds history rows for an attachment''s leads whose classification changed and applies retention, when due (tick()) or forced (record_history, attach).';

-- On Citus, models, model_versions and feedback_reasons are reference tables:
-- a CREATE TRIGGER on one would be sent to the workers from inside this
-- script, which Citus refuses (several commands in one prepared statement).
-- Each worker runs this update itself and makes its own triggers.
SELECT pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true)
WHERE pg_catalog.current_setting('citus.enable_ddl_propagation', true) IS NOT NULL;
-- Catalog guards. lead_score_admin holds the table grants create_model,
-- suggest_points and the feedback functions need, so it can also write these
-- tables directly. These triggers keep what those writes must not break,
-- whoever writes: a published version never changes, and the current version
-- changes only by publishing (create_model stores the new version, checks it
-- against the attachments, makes it current and rescores them, in one
-- transaction); an UPDATE back to an older version left live states built
-- with the newer one, and every activity insert failed. Built-in feedback
-- reasons are the extension's: not dumped, so an edit of one was undone or,
-- renamed, broke the restore of the feedback that cited it.
CREATE FUNCTION lead_score_internal._model_versions_guard()
RETURNS trigger
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Every backend compiles its models again (src/catalog.rs): a version
    -- number, once its row is deleted, can be stored again with another spec.
    IF TG_OP OPERATOR(pg_catalog.<>) 'UPDATE' THEN
        PERFORM lead_score_internal._versions_changed(TG_RELID);
    END IF;
    IF TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN
        RETURN NEW;
    END IF;
    -- Any UPDATE, its note's too: even one that changes nothing gives the
    -- row this transaction's xmin, which models_guard reads as "stored here".
    IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' THEN
        RAISE EXCEPTION 'lead_score: version % of model "%" is stored and never changes', OLD.version,
            (SELECT m.name FROM lead_score.models m WHERE m.id OPERATOR(pg_catalog.=) OLD.model_id)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Publish a new version with lead_score.create_model(name, spec, note).';
    END IF;
    -- A DELETE; drop_model deletes the model first, and its versions with it.
    IF EXISTS (SELECT 1 FROM lead_score.models m
               WHERE m.id OPERATOR(pg_catalog.=) OLD.model_id AND m.current_version OPERATOR(pg_catalog.=) OLD.version) THEN
        RAISE EXCEPTION 'lead_score: version % is the current version of model "%"', OLD.version,
            (SELECT m.name FROM lead_score.models m WHERE m.id OPERATOR(pg_catalog.=) OLD.model_id)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Publish another version first (lead_score.create_model), or drop the model (lead_score.drop_model).';
    END IF;
    -- The newest (a draft above the current version): the next version is
    -- numbered after the newest, so its number would name another spec, which
    -- engagement states saved with it would be taken for.
    IF OLD.version OPERATOR(pg_catalog.=) (SELECT pg_catalog.max(x.version) FROM lead_score.model_versions x
                                          WHERE x.model_id OPERATOR(pg_catalog.=) OLD.model_id)
       AND EXISTS (SELECT 1 FROM lead_score.models m WHERE m.id OPERATOR(pg_catalog.=) OLD.model_id) THEN
        RAISE EXCEPTION 'lead_score: version % is the newest version of model "%"', OLD.version,
            (SELECT m.name FROM lead_score.models m WHERE m.id OPERATOR(pg_catalog.=) OLD.model_id)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'The next version takes the number after the newest: deleted, its number would be given to another spec, which engagement states saved with this one would be taken for.',
                  HINT = 'Leave it (it is never used unless named as model@version), or publish a version after it and delete it then.';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER model_versions_guard BEFORE INSERT OR UPDATE OR DELETE ON lead_score.model_versions
FOR EACH ROW EXECUTE FUNCTION lead_score_internal._model_versions_guard();

CREATE FUNCTION lead_score_internal._models_guard()
RETURNS trigger
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.current_version OPERATOR(pg_catalog.=) OLD.current_version THEN
        RETURN NEW;
    END IF;
    -- Only to the newest version, stored by this transaction: what create_model does.
    IF NOT EXISTS (
        SELECT 1 FROM lead_score.model_versions v
        WHERE v.model_id OPERATOR(pg_catalog.=) NEW.id AND v.version OPERATOR(pg_catalog.=) NEW.current_version
          AND lead_score_internal._written_here(v.xmin)
          AND v.version OPERATOR(pg_catalog.=) (SELECT pg_catalog.max(x.version) FROM lead_score.model_versions x
                                                WHERE x.model_id OPERATOR(pg_catalog.=) NEW.id)) THEN
        RAISE EXCEPTION 'lead_score: the current version of model "%" changes only by publishing, not to version % by an UPDATE', NEW.name, NEW.current_version
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('To go back to version %s, publish its spec again: SELECT lead_score.create_model(%L, lead_score.model_spec(%L, %s));',
                                           NEW.current_version, NEW.name, NEW.name, NEW.current_version);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER models_guard BEFORE UPDATE OF current_version ON lead_score.models
FOR EACH ROW EXECUTE FUNCTION lead_score_internal._models_guard();

CREATE FUNCTION lead_score_internal._feedback_reasons_guard()
RETURNS trigger
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP OPERATOR(pg_catalog.<>) 'INSERT' AND OLD.builtin THEN
        RAISE EXCEPTION 'lead_score: feedback reason "%" is built in; it cannot be changed or removed', OLD.reason
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Add a reason of your own: INSERT INTO lead_score.feedback_reasons (reason, description) VALUES (...).';
    END IF;
    IF TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.builtin THEN
        RAISE EXCEPTION 'lead_score: feedback reason "%" cannot be marked built in', NEW.reason
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Built-in reasons come with the extension and are not dumped; yours are (builtin false).';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER feedback_reasons_guard BEFORE INSERT OR UPDATE OR DELETE ON lead_score.feedback_reasons
FOR EACH ROW EXECUTE FUNCTION lead_score_internal._feedback_reasons_guard();

COMMENT ON FUNCTION lead_score_internal._model_versions_guard() IS
    'Internal: the BEFORE INSERT OR UPDATE OR DELETE trigger model_versions_guard: a stored version never changes, a model''s current and newest versions are not deleted, and every insert and delete makes each backend compile its models again.';
COMMENT ON FUNCTION lead_score_internal._models_guard() IS
    'Internal: the BEFORE UPDATE trigger models_guard: current_version moves only to the newest version, stored by the same transaction (create_model).';
COMMENT ON FUNCTION lead_score_internal._written_here(xid) IS
    'Internal: whether a transaction ID is this transaction''s or one of its subtransactions'', so a row with that xmin was written here; models_guard uses it.';
COMMENT ON FUNCTION lead_score_internal._feedback_reasons_guard() IS
    'Internal: the trigger feedback_reasons_guard: built-in reasons (not dumped) are neither changed nor removed, and no reason is made built in.';
COMMENT ON TRIGGER model_versions_guard ON lead_score.model_versions IS
    'Stored versions never change; the current and the newest version of a model are not deleted (drop_model removes the model); every insert and delete makes each backend compile its models again.';
COMMENT ON TRIGGER models_guard ON lead_score.models IS
    'current_version changes only by publishing (create_model): to the newest version, stored by the same transaction.';
COMMENT ON TRIGGER feedback_reasons_guard ON lead_score.feedback_reasons IS
    'Built-in reasons are the extension''s: not dumped, so neither changed nor removed; add your own.';

SELECT pg_catalog.set_config('citus.enable_ddl_propagation', 'on', true)
WHERE pg_catalog.current_setting('citus.enable_ddl_propagation', true) IS NOT NULL;

-- model_rules showed a model-wide step decay as each rule's decay; it is the
-- model's inactivity decay (no rule's own).
CREATE OR REPLACE VIEW lead_score.model_rules AS
SELECT m.name                               AS model,
       v.version,
       v.version OPERATOR(pg_catalog.=) m.current_version AS is_current,
       'fit'::pg_catalog.text               AS section,
       (r.ord OPERATOR(pg_catalog.-) 1)::pg_catalog.int4 AS rule_index,
       r.rule OPERATOR(pg_catalog.->>) 'name' AS rule_name,
       NULL::pg_catalog.text[]              AS event_types,
       (r.rule OPERATOR(pg_catalog.->>) 'points')::pg_catalog.float8 AS points,
       coalesce((r.rule OPERATOR(pg_catalog.->>) 'disqualify')::pg_catalog.bool, false) AS disqualify,
       NULL::pg_catalog.text                AS category,
       NULL::pg_catalog.text                AS repeat,
       NULL::pg_catalog.float8              AS rule_cap,
       NULL::pg_catalog.jsonb               AS decay,
       r.rule OPERATOR(pg_catalog.->) 'when' AS condition
FROM lead_score.models m
JOIN lead_score.model_versions v ON v.model_id OPERATOR(pg_catalog.=) m.id
CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(v.spec OPERATOR(pg_catalog.->) 'fit' OPERATOR(pg_catalog.->) 'rules')
    WITH ORDINALITY AS r(rule, ord)
UNION ALL
SELECT m.name, v.version, v.version OPERATOR(pg_catalog.=) m.current_version,
       'completeness', NULL, 'completeness', NULL,
       (v.spec OPERATOR(pg_catalog.->) 'fit' OPERATOR(pg_catalog.->) 'completeness' OPERATOR(pg_catalog.->>) 'points')::pg_catalog.float8,
       false, NULL, NULL, NULL, NULL,
       pg_catalog.jsonb_build_object('present_share_of',
           v.spec OPERATOR(pg_catalog.->) 'fit' OPERATOR(pg_catalog.->) 'completeness' OPERATOR(pg_catalog.->) 'fields')
FROM lead_score.models m
JOIN lead_score.model_versions v ON v.model_id OPERATOR(pg_catalog.=) m.id
WHERE v.spec OPERATOR(pg_catalog.->) 'fit' OPERATOR(pg_catalog.?) 'completeness'
UNION ALL
SELECT m.name, v.version, v.version OPERATOR(pg_catalog.=) m.current_version,
       'engagement', (r.ord OPERATOR(pg_catalog.-) 1)::pg_catalog.int4, r.rule OPERATOR(pg_catalog.->>) 'name',
       CASE WHEN pg_catalog.jsonb_typeof(r.rule OPERATOR(pg_catalog.->) 'event') OPERATOR(pg_catalog.=) 'array'
            THEN ARRAY(SELECT pg_catalog.jsonb_array_elements_text(r.rule OPERATOR(pg_catalog.->) 'event'))
            ELSE ARRAY[r.rule OPERATOR(pg_catalog.->>) 'event'] END,
       (r.rule OPERATOR(pg_catalog.->>) 'points')::pg_catalog.float8, false,
       r.rule OPERATOR(pg_catalog.->>) 'category',
       CASE WHEN pg_catalog.jsonb_typeof(r.rule OPERATOR(pg_catalog.->) 'repeat') OPERATOR(pg_catalog.=) 'object' THEN 'cap'
            ELSE coalesce(r.rule OPERATOR(pg_catalog.->>) 'repeat', 'every') END,
       (r.rule OPERATOR(pg_catalog.->) 'repeat' OPERATOR(pg_catalog.->>) 'cap')::pg_catalog.float8,
       -- A step decay is the model's inactivity decay, no rule's own.
       coalesce(r.rule OPERATOR(pg_catalog.->) 'decay',
                CASE WHEN v.spec OPERATOR(pg_catalog.#>>) '{engagement,decay,kind}' OPERATOR(pg_catalog.<>) 'step'
                     THEN v.spec OPERATOR(pg_catalog.->) 'engagement' OPERATOR(pg_catalog.->) 'decay' END,
                '{"kind": "none"}'),
       r.rule OPERATOR(pg_catalog.->) 'when'
FROM lead_score.models m
JOIN lead_score.model_versions v ON v.model_id OPERATOR(pg_catalog.=) m.id
CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(v.spec OPERATOR(pg_catalog.->) 'engagement' OPERATOR(pg_catalog.->) 'rules')
    WITH ORDINALITY AS r(rule, ord);
