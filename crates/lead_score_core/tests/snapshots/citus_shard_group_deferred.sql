SET search_path = pg_catalog, pg_temp;

-- lead_score_internal._citus_install_shard
-- stripes
CREATE TABLE "lead_score_internal"."live_stripes_102040" (stripe integer PRIMARY KEY);

-- stripes rows
INSERT INTO "lead_score_internal"."live_stripes_102040" (stripe) SELECT pg_catalog.generate_series(0, 1023);

-- live__fold_102040
CREATE FUNCTION "lead_score_internal"."live__fold_102040"(keys "pg_catalog"."uuid"[] DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp SET row_security = off SET lead_score.citus_placement = '["lead_score_internal","live_scores_102140","app","touches_102040"]'
AS '#variable_conflict use_variable
DECLARE
    v_now timestamptz := lead_score_internal._now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
BEGIN
    LOCK TABLE "lead_score_internal"."live_scores_102140" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM "lead_score"."attachments_102010" a JOIN "lead_score"."models_102008" m ON m.name = a.model WHERE a.name = ''live'';
    WITH locked AS (
        SELECT s.lead_key FROM "lead_score_internal"."live_scores_102140" s
        WHERE s.lead_key IN (SELECT p.lead_key FROM "lead_score_internal"."live_pending_102172" p WHERE keys IS NULL OR p.lead_key IN (SELECT pg_catalog.unnest(keys)))
        ORDER BY s.lead_key FOR UPDATE OF s SKIP LOCKED),
    moved AS (DELETE FROM "lead_score_internal"."live_pending_102172" p USING locked l WHERE p.lead_key = l.lead_key RETURNING p.*),
    d AS (SELECT m.lead_key AS k, lead_score_internal._live_batch(v_model_id, v_version, v_landmark, m.event_type, m.occurred_at, m.p1) AS st,
                 pg_catalog.min(m.occurred_at) AS t0
          FROM moved m GROUP BY m.lead_key),
    up AS (
        UPDATE "lead_score_internal"."live_scores_102140" s SET (state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at) = (SELECT (a.x).state, (a.x).engagement, (a.x).total, (a.x).mql, (a.x).quadrant, (a.x).hot_categories, (a.x).bound, (a.x).last_activity, (a.x).model_version, (a.x).alerts, GREATEST(v_now, s.updated_at) FROM (SELECT lead_score_internal._live_apply(s.state, d.st, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, GREATEST(v_now, s.updated_at), false, CASE WHEN NOT false AND LEAST(d.t0, v_now) > s.updated_at THEN LEAST(d.t0, v_now) END, s.fit, s.disqualified_by) AS x OFFSET 0) a)
        FROM d WHERE s.lead_key = d.k
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_outbox(''"lead_score_internal"."live_outbox_102204"''::regclass, ''live'', ''live'', pg_catalog.array_agg(u.lead_key), pg_catalog.array_agg(u.total), pg_catalog.array_agg(u.last_alerts)) END INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN v_count;
END
';

-- live__recompute_102040
CREATE FUNCTION "lead_score_internal"."live__recompute_102040"(keys "pg_catalog"."uuid"[]) RETURNS void LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp SET row_security = off SET lead_score.citus_placement = '["lead_score_internal","live_scores_102140","app","touches_102040"]'
AS '#variable_conflict use_variable
DECLARE
    v_now timestamptz := lead_score_internal._now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
    v_keys "pg_catalog"."uuid"[];
    v_pass integer;
BEGIN
    LOCK TABLE "lead_score_internal"."live_scores_102140" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM "lead_score"."attachments_102010" a JOIN "lead_score"."models_102008" m ON m.name = a.model WHERE a.name = ''live'';
    SELECT pg_catalog.array_agg(DISTINCT t.k) INTO v_keys FROM pg_catalog.unnest(keys) AS t(k) WHERE t.k IS NOT NULL;
    IF v_keys IS NULL THEN
        RETURN;
    END IF;
    -- Stripes first, then score rows: one lock order.
    PERFORM 1 FROM "lead_score_internal"."live_stripes_102040" t WHERE t.stripe IN (SELECT DISTINCT (pg_catalog.hash_array(ARRAY[k.k]) & 1023) FROM (SELECT pg_catalog.unnest(v_keys)) AS k(k)) ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score_internal"."live_scores_102140" s WHERE s.lead_key = ANY (v_keys) ORDER BY s.lead_key FOR UPDATE;
    -- Recompute is idempotent: pass 2 just repeats it for keys that had no score row.
    FOR v_pass IN 1..2 LOOP
        WITH d AS (SELECT t.k, t.st FROM ROWS FROM (pg_catalog.unnest(v_keys), pg_catalog.unnest(lead_score_internal._owner_states(''live'', v_keys, v_model_id, v_version, v_landmark, v_now))) AS t(k, st)),
        up AS (
            UPDATE "lead_score_internal"."live_scores_102140" s SET (state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at) = (SELECT (a.x).state, (a.x).engagement, (a.x).total, (a.x).mql, (a.x).quadrant, (a.x).hot_categories, (a.x).bound, (a.x).last_activity, (a.x).model_version, (a.x).alerts, GREATEST(v_now, s.updated_at) FROM (SELECT lead_score_internal._live_apply(s.state, coalesce(d.st, lead_score_internal._live_empty(v_model_id, v_version, v_landmark)), s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, GREATEST(v_now, s.updated_at), true) AS x OFFSET 0) a)
            FROM d WHERE s.lead_key = d.k
            RETURNING s.lead_key, s.total, s.last_alerts),
        gone AS (DELETE FROM "lead_score_internal"."live_pending_102172" p WHERE p.lead_key IN (SELECT up.lead_key FROM up)),
        sent AS (SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_outbox(''"lead_score_internal"."live_outbox_102204"''::regclass, ''live'', ''live'', pg_catalog.array_agg(u.lead_key), pg_catalog.array_agg(u.total), pg_catalog.array_agg(u.last_alerts)) END AS n FROM up u WHERE u.last_alerts IS NOT NULL)
        -- Scalar subqueries, so both always run: alerts are sent, and the keys with no
        -- score row come from an anti-join (NOT EXISTS over a CTE is quadratic for COPY).
        SELECT (SELECT n FROM sent),
               (SELECT pg_catalog.array_agg(d.k) FROM d LEFT JOIN up ON up.lead_key = d.k WHERE up.lead_key IS NULL)
        INTO v_count, v_keys;
        -- Keys still without a score row after pass 2: under REPEATABLE READ a
        -- lead created and committed after this transaction''s snapshot is not
        -- seen here; rather than lose its events, fail as a serialization
        -- conflict (the application retries, as for any).
        IF v_pass = 2 AND v_keys IS NOT NULL AND lead_score_internal._scores_exist(''live'', v_keys) THEN
            RAISE EXCEPTION ''could not serialize access: a lead of these events was created after this transaction began''
                USING ERRCODE = ''serialization_failure'';
        END IF;
        EXIT WHEN v_keys IS NULL OR v_pass = 2;
        PERFORM 1 FROM "lead_score_internal"."live_stripes_102040" t WHERE t.stripe IN (SELECT DISTINCT (pg_catalog.hash_array(ARRAY[k.k]) & 1023) FROM (SELECT pg_catalog.unnest(v_keys)) AS k(k)) ORDER BY t.stripe FOR UPDATE;
        -- Lock the rows the other transaction created before pass 2 reads the
        -- activities, so its snapshot already sees whatever last wrote them.
        PERFORM 1 FROM "lead_score_internal"."live_scores_102140" s WHERE s.lead_key = ANY (v_keys) ORDER BY s.lead_key FOR UPDATE;
    END LOOP;
    RETURN;
END
';

-- trigger lead_score_live_ins_102040 on "app"."touches_102040"
CREATE OR REPLACE TRIGGER "lead_score_live_ins_102040" AFTER INSERT ON "app"."touches_102040" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lead_score_internal._append_pending('live');

-- live__act_upd_102040
CREATE FUNCTION "lead_score_internal"."live__act_upd_102040"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off SET lead_score.citus_placement = '["lead_score_internal","live_scores_102140","app","touches_102040"]'
AS '#variable_conflict use_variable
BEGIN
    PERFORM lead_score_internal._recomputed(''live'', true);
    PERFORM "lead_score_internal"."live__recompute_102040"(ARRAY(SELECT o."person" FROM old_rows o UNION ALL SELECT n."person" FROM new_rows n));
    RETURN NULL;
END
';

-- trigger lead_score_live_upd_102040 on "app"."touches_102040"
CREATE OR REPLACE TRIGGER "lead_score_live_upd_102040" AFTER UPDATE ON "app"."touches_102040" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__act_upd_102040"();

-- live__act_del_102040
CREATE FUNCTION "lead_score_internal"."live__act_del_102040"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off SET lead_score.citus_placement = '["lead_score_internal","live_scores_102140","app","touches_102040"]'
AS '#variable_conflict use_variable
BEGIN
    PERFORM lead_score_internal._recomputed(''live'', true);
    PERFORM "lead_score_internal"."live__recompute_102040"(ARRAY(SELECT o."person" FROM old_rows o));
    RETURN NULL;
END
';

-- trigger lead_score_live_del_102040 on "app"."touches_102040"
CREATE OR REPLACE TRIGGER "lead_score_live_del_102040" AFTER DELETE ON "app"."touches_102040" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__act_del_102040"();

-- live__act_trunc_102040
CREATE FUNCTION "lead_score_internal"."live__act_trunc_102040"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off SET lead_score.citus_placement = '["lead_score_internal","live_scores_102140","app","touches_102040"]'
AS '#variable_conflict use_variable
DECLARE
    v_now timestamptz := lead_score_internal._now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
BEGIN
    LOCK TABLE "lead_score_internal"."live_scores_102140" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM "lead_score"."attachments_102010" a JOIN "lead_score"."models_102008" m ON m.name = a.model WHERE a.name = ''live'';
    PERFORM 1 FROM "lead_score_internal"."live_stripes_102040" t ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score_internal"."live_scores_102140" s ORDER BY s.lead_key FOR UPDATE;
    DELETE FROM "lead_score_internal"."live_pending_102172";
    WITH up AS (
        UPDATE "lead_score_internal"."live_scores_102140" s SET (state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at) = (SELECT (a.x).state, (a.x).engagement, (a.x).total, (a.x).mql, (a.x).quadrant, (a.x).hot_categories, (a.x).bound, (a.x).last_activity, (a.x).model_version, (a.x).alerts, GREATEST(v_now, s.updated_at) FROM (SELECT lead_score_internal._live_apply(s.state, lead_score_internal._live_empty(v_model_id, v_version, v_landmark), s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, GREATEST(v_now, s.updated_at), true) AS x OFFSET 0) a)
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_outbox(''"lead_score_internal"."live_outbox_102204"''::regclass, ''live'', ''live'', pg_catalog.array_agg(u.lead_key), pg_catalog.array_agg(u.total), pg_catalog.array_agg(u.last_alerts)) END INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN NULL;
END
';

-- trigger lead_score_live_trunc_102040 on "app"."touches_102040"
CREATE OR REPLACE TRIGGER "lead_score_live_trunc_102040" AFTER TRUNCATE ON "app"."touches_102040" FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__act_trunc_102040"();

-- live__lead_ins_102040
CREATE FUNCTION "lead_score_internal"."live__lead_ins_102040"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off SET lead_score.citus_placement = '["lead_score_internal","live_scores_102140","app","touches_102040"]'
AS '#variable_conflict use_variable
DECLARE
    v_now timestamptz := lead_score_internal._now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
    v_new "pg_catalog"."uuid"[];
BEGIN
    PERFORM lead_score_internal._lock_activities(''live'');
    LOCK TABLE "lead_score_internal"."live_scores_102140" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM "lead_score"."attachments_102010" a JOIN "lead_score"."models_102008" m ON m.name = a.model WHERE a.name = ''live'';
    PERFORM 1 FROM "lead_score_internal"."live_stripes_102040" t WHERE t.stripe IN (SELECT DISTINCT (pg_catalog.hash_array(ARRAY[k.k]) & 1023) FROM (SELECT q.k FROM (SELECT n."person_id" FROM new_rows n) AS q(k) WHERE q.k IS NOT NULL) AS k(k)) ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score_internal"."live_scores_102140" s WHERE s.lead_key IN (SELECT n."person_id" FROM new_rows n) ORDER BY s.lead_key FOR UPDATE;
    PERFORM "lead_score_internal"."live__fold_102040"(ARRAY(SELECT n."person_id" FROM new_rows n));
    -- New leads'' engagement from the activities they already have.
    v_new := ARRAY(SELECT l."person_id" FROM new_rows l WHERE NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_scores_102140" x WHERE x.lead_key = l."person_id"));
    IF v_new <> ''{}'' THEN
        PERFORM lead_score_internal._recomputed(''live'', true);
    END IF;
    WITH gone AS (DELETE FROM "lead_score_internal"."live_pending_102172" p WHERE p.lead_key IN (SELECT l."person_id" FROM new_rows l WHERE NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_scores_102140" x WHERE x.lead_key = l."person_id"))),
    fresh AS (
        SELECT t.k, t.st FROM ROWS FROM (pg_catalog.unnest(v_new), pg_catalog.unnest(lead_score_internal._owner_states(''live'', v_new, v_model_id, v_version, v_landmark, v_now))) AS t(k, st)
        WHERE t.st IS NOT NULL),
    up AS (
        INSERT INTO "lead_score_internal"."live_scores_102140" AS s (lead_key, fit, disqualified_by, predictive, state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at)
        SELECT l."person_id", f.fit, f.dq, f.pr, a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.bound, a.last_activity, a.model_version, a.alerts, v_now
        FROM new_rows l
        CROSS JOIN LATERAL (SELECT lead_score.fit(''live'', l.*) AS fit, lead_score.disqualified_by(''live'', l.*) AS dq,
                           lead_score_internal._predictive_on(''live'', l.*) AS pr) f
        LEFT JOIN fresh ON fresh.k = l."person_id"
        CROSS JOIN LATERAL lead_score_internal._live_apply(NULL, coalesce(fresh.st, lead_score_internal._live_empty(v_model_id, v_version, v_landmark)),
                                                  f.fit, f.dq, NULL, NULL, NULL, v_landmark, v_now, true) a
        WHERE l."person_id" IS NOT NULL
        ORDER BY l."person_id"
        ON CONFLICT (lead_key) DO UPDATE SET (fit, disqualified_by, predictive) = (EXCLUDED.fit, EXCLUDED.disqualified_by, EXCLUDED.predictive),
            (state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at) = (SELECT (a.x).state, (a.x).engagement, (a.x).total, (a.x).mql, (a.x).quadrant, (a.x).hot_categories, (a.x).bound, (a.x).last_activity, (a.x).model_version, (a.x).alerts, GREATEST(v_now, s.updated_at) FROM (SELECT lead_score_internal._live_apply(s.state, NULL, EXCLUDED.fit, EXCLUDED.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, GREATEST(v_now, s.updated_at), false, CASE WHEN v_now > s.updated_at THEN v_now END, s.fit, s.disqualified_by) AS x OFFSET 0) a)
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_outbox(''"lead_score_internal"."live_outbox_102204"''::regclass, ''live'', ''live'', pg_catalog.array_agg(u.lead_key), pg_catalog.array_agg(u.total), pg_catalog.array_agg(u.last_alerts)) END INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN NULL;
END
';

-- trigger lead_score_live_ins_102008 on "app"."people_102008"
CREATE OR REPLACE TRIGGER "lead_score_live_ins_102008" AFTER INSERT ON "app"."people_102008" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__lead_ins_102040"();

-- live__lead_upd_102040
CREATE FUNCTION "lead_score_internal"."live__lead_upd_102040"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off SET lead_score.citus_placement = '["lead_score_internal","live_scores_102140","app","touches_102040"]'
AS '#variable_conflict use_variable
DECLARE
    v_now timestamptz := lead_score_internal._now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
    v_new "pg_catalog"."uuid"[];
    v_gone "pg_catalog"."uuid"[];
    v_moved "pg_catalog"."uuid"[];
    v_moved_to "pg_catalog"."uuid";
    v_moved_state bytea;
    v_moved_mql boolean;
    v_moved_quadrant text;
    v_moved_hot text[];
    v_moved_at timestamptz;
    v_moved_fit float8;
    v_moved_dq text;
BEGIN
    PERFORM lead_score_internal._lock_activities(''live'');
    LOCK TABLE "lead_score_internal"."live_scores_102140" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM "lead_score"."attachments_102010" a JOIN "lead_score"."models_102008" m ON m.name = a.model WHERE a.name = ''live'';
    PERFORM 1 FROM "lead_score_internal"."live_stripes_102040" t WHERE t.stripe IN (SELECT DISTINCT (pg_catalog.hash_array(ARRAY[k.k]) & 1023) FROM (SELECT q.k FROM (SELECT n."person_id" FROM new_rows n UNION SELECT o."person_id" FROM old_rows o) AS q(k) WHERE q.k IS NOT NULL) AS k(k)) ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score_internal"."live_scores_102140" s WHERE s.lead_key IN (SELECT n."person_id" FROM new_rows n UNION SELECT o."person_id" FROM old_rows o) ORDER BY s.lead_key FOR UPDATE;
    v_gone := ARRAY(SELECT o."person_id" FROM old_rows o WHERE o."person_id" IS NOT NULL EXCEPT SELECT n."person_id" FROM new_rows n);
    IF v_gone <> ''{}'' THEN
        v_gone := ARRAY(SELECT t.k FROM ROWS FROM (pg_catalog.unnest(v_gone), pg_catalog.unnest(lead_score_internal._leads_present(''live'', v_gone))) AS t(k, present) WHERE NOT t.present);
    END IF;
    -- One key gone and one key new: the same lead under its new key.
    IF pg_catalog.cardinality(v_gone) = 1 THEN
        v_moved := ARRAY(SELECT n."person_id" FROM new_rows n EXCEPT SELECT o."person_id" FROM old_rows o);
        IF pg_catalog.cardinality(v_moved) = 1 THEN
            SELECT v_moved[1], s.state, s.mql, s.quadrant, s.hot_categories, s.updated_at, s.fit, s.disqualified_by
            INTO v_moved_to, v_moved_state, v_moved_mql, v_moved_quadrant, v_moved_hot, v_moved_at, v_moved_fit, v_moved_dq
            FROM "lead_score_internal"."live_scores_102140" s WHERE s.lead_key = v_gone[1];
        END IF;
    END IF;
    DELETE FROM "lead_score_internal"."live_scores_102140" s WHERE s.lead_key = ANY (v_gone);
    DELETE FROM "lead_score_internal"."live_pending_102172" p WHERE p.lead_key = ANY (v_gone);
    PERFORM "lead_score_internal"."live__fold_102040"(ARRAY(SELECT n."person_id" FROM new_rows n));
    -- New leads'' engagement from the activities they already have.
    v_new := ARRAY(SELECT l."person_id" FROM new_rows l WHERE NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_scores_102140" x WHERE x.lead_key = l."person_id"));
    IF v_new <> ''{}'' THEN
        PERFORM lead_score_internal._recomputed(''live'', true);
    END IF;
    WITH gone AS (DELETE FROM "lead_score_internal"."live_pending_102172" p WHERE p.lead_key IN (SELECT l."person_id" FROM new_rows l WHERE NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_scores_102140" x WHERE x.lead_key = l."person_id"))),
    fresh AS (
        SELECT t.k, t.st FROM ROWS FROM (pg_catalog.unnest(v_new), pg_catalog.unnest(lead_score_internal._owner_states(''live'', v_new, v_model_id, v_version, v_landmark, v_now))) AS t(k, st)
        WHERE t.st IS NOT NULL),
    up AS (
        INSERT INTO "lead_score_internal"."live_scores_102140" AS s (lead_key, fit, disqualified_by, predictive, state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at)
        SELECT l."person_id", f.fit, f.dq, f.pr, a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.bound, a.last_activity, a.model_version, a.alerts, GREATEST(v_now, CASE WHEN l."person_id" = v_moved_to THEN v_moved_at END)
        FROM new_rows l
        CROSS JOIN LATERAL (SELECT lead_score.fit(''live'', l.*) AS fit, lead_score.disqualified_by(''live'', l.*) AS dq,
                           lead_score_internal._predictive_on(''live'', l.*) AS pr) f
        LEFT JOIN fresh ON fresh.k = l."person_id"
        CROSS JOIN LATERAL lead_score_internal._live_apply(CASE WHEN l."person_id" = v_moved_to THEN v_moved_state END, coalesce(fresh.st, lead_score_internal._live_empty(v_model_id, v_version, v_landmark)),
                                                  f.fit, f.dq, CASE WHEN l."person_id" = v_moved_to THEN v_moved_mql END, CASE WHEN l."person_id" = v_moved_to THEN v_moved_quadrant END, CASE WHEN l."person_id" = v_moved_to THEN v_moved_hot END, v_landmark, GREATEST(v_now, CASE WHEN l."person_id" = v_moved_to THEN v_moved_at END), true, CASE WHEN l."person_id" = v_moved_to AND v_now > v_moved_at THEN v_now END, v_moved_fit, v_moved_dq) a
        WHERE l."person_id" IS NOT NULL
        ORDER BY l."person_id"
        ON CONFLICT (lead_key) DO UPDATE SET (fit, disqualified_by, predictive) = (EXCLUDED.fit, EXCLUDED.disqualified_by, EXCLUDED.predictive),
            (state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at) = (SELECT (a.x).state, (a.x).engagement, (a.x).total, (a.x).mql, (a.x).quadrant, (a.x).hot_categories, (a.x).bound, (a.x).last_activity, (a.x).model_version, (a.x).alerts, GREATEST(v_now, s.updated_at) FROM (SELECT lead_score_internal._live_apply(s.state, NULL, EXCLUDED.fit, EXCLUDED.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, GREATEST(v_now, s.updated_at), false, CASE WHEN v_now > s.updated_at THEN v_now END, s.fit, s.disqualified_by) AS x OFFSET 0) a)
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_outbox(''"lead_score_internal"."live_outbox_102204"''::regclass, ''live'', ''live'', pg_catalog.array_agg(u.lead_key), pg_catalog.array_agg(u.total), pg_catalog.array_agg(u.last_alerts)) END INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN NULL;
END
';

-- trigger lead_score_live_upd_102008 on "app"."people_102008"
CREATE OR REPLACE TRIGGER "lead_score_live_upd_102008" AFTER UPDATE ON "app"."people_102008" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__lead_upd_102040"();

-- live__lead_del_102040
CREATE FUNCTION "lead_score_internal"."live__lead_del_102040"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off SET lead_score.citus_placement = '["lead_score_internal","live_scores_102140","app","touches_102040"]'
AS '#variable_conflict use_variable
DECLARE
    v_now timestamptz := lead_score_internal._now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_gone "pg_catalog"."uuid"[];
BEGIN
    PERFORM lead_score_internal._lock_activities(''live'');
    LOCK TABLE "lead_score_internal"."live_scores_102140" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM "lead_score"."attachments_102010" a JOIN "lead_score"."models_102008" m ON m.name = a.model WHERE a.name = ''live'';
    PERFORM 1 FROM "lead_score_internal"."live_stripes_102040" t WHERE t.stripe IN (SELECT DISTINCT (pg_catalog.hash_array(ARRAY[k.k]) & 1023) FROM (SELECT q.k FROM (SELECT o."person_id" FROM old_rows o) AS q(k) WHERE q.k IS NOT NULL) AS k(k)) ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score_internal"."live_scores_102140" s WHERE s.lead_key IN (SELECT o."person_id" FROM old_rows o) ORDER BY s.lead_key FOR UPDATE;
    -- Not the keys a row of the same statement took again (keys_gone).
    v_gone := ARRAY(SELECT t.k FROM ROWS FROM (pg_catalog.unnest(ARRAY(SELECT o."person_id" FROM old_rows o WHERE o."person_id" IS NOT NULL)), pg_catalog.unnest(lead_score_internal._leads_present(''live'', ARRAY(SELECT o."person_id" FROM old_rows o WHERE o."person_id" IS NOT NULL)))) AS t(k, present) WHERE NOT t.present);
    DELETE FROM "lead_score_internal"."live_scores_102140" s WHERE s.lead_key = ANY (v_gone);
    DELETE FROM "lead_score_internal"."live_pending_102172" p WHERE p.lead_key = ANY (v_gone);
    RETURN NULL;
END
';

-- trigger lead_score_live_del_102008 on "app"."people_102008"
CREATE OR REPLACE TRIGGER "lead_score_live_del_102008" AFTER DELETE ON "app"."people_102008" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__lead_del_102040"();

-- live__lead_trunc_102040
CREATE FUNCTION "lead_score_internal"."live__lead_trunc_102040"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off SET lead_score.citus_placement = '["lead_score_internal","live_scores_102140","app","touches_102040"]'
AS '#variable_conflict use_variable
DECLARE
    v_now timestamptz := lead_score_internal._now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
BEGIN
    PERFORM lead_score_internal._lock_activities(''live'');
    LOCK TABLE "lead_score_internal"."live_scores_102140" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM "lead_score"."attachments_102010" a JOIN "lead_score"."models_102008" m ON m.name = a.model WHERE a.name = ''live'';
    PERFORM 1 FROM "lead_score_internal"."live_stripes_102040" t ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score_internal"."live_scores_102140" s ORDER BY s.lead_key FOR UPDATE;
    DELETE FROM "lead_score_internal"."live_scores_102140";
    DELETE FROM "lead_score_internal"."live_pending_102172";
    RETURN NULL;
END
';

-- trigger lead_score_live_trunc_102008 on "app"."people_102008"
CREATE OR REPLACE TRIGGER "lead_score_live_trunc_102008" AFTER TRUNCATE ON "app"."people_102008" FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__lead_trunc_102040"();

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__act_upd_102040"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__act_del_102040"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__act_trunc_102040"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__lead_ins_102040"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__lead_upd_102040"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__lead_del_102040"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__lead_trunc_102040"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__recompute_102040"("pg_catalog"."uuid"[]) FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__fold_102040"("pg_catalog"."uuid"[]) FROM PUBLIC;

-- grant
GRANT EXECUTE ON FUNCTION "lead_score_internal"."live__fold_102040"("pg_catalog"."uuid"[]) TO "lead_score_admin";

-- revoke
REVOKE ALL ON "lead_score_internal"."live_stripes_102040" FROM PUBLIC;

-- grant
GRANT SELECT, UPDATE ON "lead_score_internal"."live_stripes_102040" TO "lead_score_admin";

-- the C insert trigger, after a recompute in the same statement
SELECT "lead_score_internal"."live__recompute_102040"(ARRAY(SELECT n."person" FROM new_rows n WHERE n."person" IS NOT NULL));

