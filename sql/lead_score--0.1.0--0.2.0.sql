-- lead_score 0.1.0 → 0.2.0. Run by ALTER EXTENSION lead_score UPDATE.
-- Released scripts are never edited; tests/upgrade/run.sh checks that an upgraded
-- database has the same catalog as a fresh install of 0.2.0.
\echo Use "ALTER EXTENSION lead_score UPDATE" to load this file. \quit

-- Extension updates regenerate every attachment's generated objects (src/attach.rs).
CREATE FUNCTION lead_score."_regenerate"("attachment" text) RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'regenerate_wrapper';
CREATE FUNCTION lead_score."_refresh_current_views"() RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'refresh_current_views_wrapper';
REVOKE ALL ON FUNCTION lead_score._regenerate(text), lead_score._refresh_current_views() FROM PUBLIC;
COMMENT ON FUNCTION lead_score._regenerate(text) IS
    'Internal: replace an attachment''s generated functions, views and triggers with the ones this version generates (run by extension updates).';
COMMENT ON FUNCTION lead_score._refresh_current_views() IS
    'Internal: current_scores and current_categories over every attachment (run by extension updates, after _regenerate).';

-- current_scores becomes a view that attach and detach generate, a branch per
-- attachment, so filters push down (it was a function scan). The loop below
-- creates it when something is attached. A view of yours over it must be dropped
-- first, and created again after the update.
DROP VIEW lead_score.current_scores;
DROP FUNCTION lead_score._current_scores();

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
CREATE FUNCTION lead_score."_account_objects"(
	"attachment" TEXT /* & str */
) RETURNS bool /* bool */
STRICT VOLATILE PARALLEL UNSAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'account_objects_wrapper';
CREATE FUNCTION lead_score."_account_alerts"(
	"attachment" TEXT /* & str */
) RETURNS INT /* i32 */
STRICT VOLATILE PARALLEL UNSAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'account_alerts_wrapper';
CREATE FUNCTION lead_score.explain_account(attachment text, account text)
RETURNS TABLE (section text, item text, fit float8, engagement float8, detail text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
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
    SELECT a.model INTO m FROM lead_score.attachments a WHERE a.name = explain_account.attachment;
    IF m IS NULL THEN
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', explain_account.attachment USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM lead_score.account_engaged(m, 0);  -- 22023 for a model without an accounts section
    -- The account's leads, best fit first.
    FOR r IN EXECUTE lead_score._sql(explain_account.attachment, 'account_explain') USING explain_account.account LOOP
        IF r.disqualified THEN
            disqualified := disqualified + 1;
            RETURN QUERY SELECT 'lead'::text, r.lead_key, r.fit, r.engagement,
                'disqualified (' || r.disqualified_by || '): not counted';
        ELSE
            counted := counted + 1;
            IF counted = 1 THEN
                best := r.fit;
            END IF;
            summed := summed + r.engagement;
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
REVOKE ALL ON FUNCTION lead_score._account_objects(text), lead_score._account_alerts(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lead_score._account_objects(text), lead_score._account_alerts(text) TO lead_score_admin;
COMMENT ON FUNCTION lead_score._account_objects(text) IS
    'Internal: an attachment''s account views as its model''s current version has them (run by publishing).';
COMMENT ON FUNCTION lead_score._account_alerts(text) IS
    'Internal: alert once for each account of an attachment whose total reached accounts.alert since the last check (run by tick()).';
-- Account alerts.
ALTER TABLE lead_score.alerts DROP CONSTRAINT alerts_kind_check,
    ADD CONSTRAINT alerts_kind_check CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['mql', 'mql_lost', 'quadrant', 'watermark', 'burst', 'account']));
COMMENT ON COLUMN lead_score.alerts.lead_key IS 'The lead''s key, as text; for kind account, the account';
COMMENT ON COLUMN lead_score.alerts.kind IS 'mql, mql_lost, quadrant, watermark, burst, or account (an account reached accounts.alert)';
-- tick() checks account alerts; publishing brings the account views in line.
CREATE OR REPLACE FUNCTION lead_score.tick()
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
-- Bulk work over every lead: hash and merge joins only, so no row estimate
-- (a table not analyzed since a big load, say) can make a plan quadratic; and
-- memory for a fold of a million events to hash in one pass.
SET enable_nestloop = off
SET work_mem = '128MB'
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att record;
    now_    timestamptz := lead_score._now();  -- real time: lead_score.as_of is for reads only
    alerts  bigint := 0;
    n       bigint;
BEGIN
    -- Rebases first. Rebasing rewrites every row, so it takes the lock writers
    -- take in the mode that excludes them, before this transaction holds any
    -- score row. It does not wait: an attachment with a writer in flight (an open
    -- transaction, say) is rebased by a later tick, so no writer stalls tick, nor
    -- through tick's locks the writers of other attachments.
    FOR att IN SELECT * FROM lead_score.attachments ORDER BY name LOOP
        CONTINUE WHEN NOT lead_score._rebase_due(att.model, att.landmark, now_);
        BEGIN
            PERFORM lead_score._rebase(att.name, date_trunc('hour', now_));
        EXCEPTION WHEN lock_not_available THEN
            CONTINUE;
        END;
    END LOOP;
    -- Then folds and time-driven crossings. Both skip the rows writers hold, so
    -- tick() never waits on a writer; a later tick picks those leads up.
    FOR att IN SELECT * FROM lead_score.attachments ORDER BY name LOOP
        SELECT * INTO att FROM lead_score.attachments a WHERE a.name = att.name;
        CONTINUE WHEN att.name IS NULL;  -- detached meanwhile
        -- The lock writers take, so no rebase or publish runs until this commits.
        -- Not waited for: a publish holding it (and waiting for an attachment
        -- this tick rebased) would otherwise deadlock with tick; a later tick
        -- takes this attachment.
        BEGIN
            PERFORM lead_score._lock(att.name, false, true);
        EXCEPTION WHEN lock_not_available THEN
            CONTINUE;
        END;
        SELECT * INTO att FROM lead_score.attachments a WHERE a.name = att.name;
        IF att.mode = 'deferred' THEN
            EXECUTE lead_score._sql(att.name, 'fold') INTO n;
            alerts := alerts + n;
        END IF;
        -- Crossings caused by time alone; leads with pending events are the fold's.
        EXECUTE lead_score._sql(att.name, CASE WHEN lead_score._citus_method(att.leads) = 'h'
                                               THEN 'time_crossings_distributed' ELSE 'time_crossings' END)
        INTO n USING now_, att.landmark, att.name, att.model;
        alerts := alerts + n;
        -- Accounts whose total reached accounts.alert (not on Citus yet).
        IF lead_score._citus_method(att.leads) IS DISTINCT FROM 'h' THEN
            alerts := alerts + lead_score._account_alerts(att.name);
        END IF;
    END LOOP;
    -- On Citus, announce the alerts written on the workers (sql/citus.sql).
    IF lead_score._citus() THEN
        PERFORM lead_score.relay_alerts();
    END IF;
    -- Score history, for each attachment whose history is due (history_settings).
    FOR att IN SELECT * FROM lead_score.attachments ORDER BY name LOOP
        PERFORM lead_score._record_history(att.name, false);
    END LOOP;
    RETURN alerts;
END
$$;
CREATE OR REPLACE FUNCTION lead_score.create_model(name text, spec jsonb, note text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_model_id bigint;
    v_current  integer;
    v_next     integer;
BEGIN
    IF name IS NULL OR spec IS NULL THEN
        RAISE EXCEPTION 'lead_score.create_model: name and spec must not be null'
            USING ERRCODE = 'null_value_not_allowed';
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
    -- After the newest version, which may be a draft (suggest_points) newer than the current one.
    SELECT coalesce(max(v.version), 0) + 1 INTO v_next FROM lead_score.model_versions v WHERE v.model_id = v_model_id;
    INSERT INTO lead_score.model_versions (model_id, version, spec, note)
    VALUES (v_model_id, v_next, create_model.spec, create_model.note);
    UPDATE lead_score.models SET current_version = v_next, updated_at = now()
    WHERE id = v_model_id;
    -- Live scores follow the new version at once (retroactively); readers see the
    -- old version's scores until this transaction commits.
    -- Account views follow the version's accounts section (its field may change).
    PERFORM lead_score._account_objects(a.name) FROM lead_score.attachments a WHERE a.model = create_model.name ORDER BY a.name;
    PERFORM lead_score.rescore(a.name) FROM lead_score.attachments a WHERE a.model = create_model.name ORDER BY a.name;
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
BEGIN
    IF lead_score._distribute_tables(distribute.attachment) THEN
        COMMIT;
    END IF;
    SELECT * INTO att FROM lead_score.attachments a WHERE a.name = distribute.attachment;
    FOR r IN EXECUTE 'SELECT p.nodename, p.nodeport, p.shardid, p.success, p.result
                      FROM pg_catalog.run_command_on_placements($1, $2, false) p ORDER BY p.shardid'
             USING att.activities,
                   'SELECT lead_score._citus_install_shard(' || pg_catalog.quote_literal(att.name) || ', ''%s'')'
    LOOP
        IF NOT r.success THEN
            bad := pg_catalog.format('%s:%s shard %s: %s', r.nodename, r.nodeport, r.shardid, r.result);
            RAISE EXCEPTION 'lead_score.distribute: installing the triggers of attachment "%" failed on %', att.name, bad
                USING ERRCODE = 'external_routine_exception';
        END IF;
    END LOOP;
    FOR v IN SELECT c.oid FROM pg_class c
             WHERE c.relnamespace = 'lead_score'::regnamespace AND c.relkind = 'v'
               AND c.relname IN (att.name || '_columns', att.name || '_merged', att.name || '_current',
                                 att.name || '_categories')
             -- Each after the views it reads.
             ORDER BY c.relname IN (att.name || '_current', att.name || '_categories'),
                      c.relname = att.name || '_categories', c.relname
    LOOP
        EXECUTE 'CREATE OR REPLACE VIEW ' || v::text || ' AS ' || pg_catalog.pg_get_viewdef(v);
    END LOOP;
END
$$;

-- Keep this last: every attachment's generated objects as 0.2.0 creates them.
-- Attachments on Citus are reinstalled on their shards by CALL lead_score.distribute.
DO $regenerate$
DECLARE
    a record;
BEGIN
    FOR a IN SELECT name, mapping ? 'citus_leads' AS citus FROM lead_score.attachments ORDER BY name LOOP
        -- On Citus the triggers are the shards' own: distribute() reinstalls them.
        IF a.citus THEN
            RAISE NOTICE 'lead_score: run CALL lead_score.distribute(%) to update attachment "%" on its shards',
                quote_literal(a.name), a.name;
            CONTINUE;
        END IF;
        PERFORM lead_score._regenerate(a.name);
    END LOOP;
    -- The views over every attachment, once all are up to date.
    IF EXISTS (SELECT 1 FROM lead_score.attachments) THEN
        PERFORM lead_score._refresh_current_views();
    END IF;
END
$regenerate$;
