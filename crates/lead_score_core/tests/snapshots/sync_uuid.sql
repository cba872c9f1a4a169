SET search_path = pg_catalog, pg_temp;

-- attach
-- live_scores
CREATE TABLE "lead_score_internal"."live_scores" (
    lead_key "pg_catalog"."uuid" PRIMARY KEY,
    fit float8 NOT NULL,
    disqualified_by text,
    predictive bytea,
    state bytea NOT NULL,
    engagement float8,
    total float8,
    mql boolean,
    quadrant text,
    hot_categories text[],
    bound float8 NOT NULL,
    last_activity timestamptz,
    model_version integer,
    last_alerts jsonb,
    updated_at timestamptz
);

-- live_scores_bound
CREATE INDEX "live_scores_bound" ON "lead_score_internal"."live_scores" (bound DESC);

-- live_pending
CREATE TABLE "lead_score_internal"."live_pending" (lead_key "pg_catalog"."uuid" NOT NULL, event_type text, occurred_at timestamptz, p1 text) USING heap;

-- live_pending_lead_key
CREATE INDEX "live_pending_lead_key" ON "lead_score_internal"."live_pending" (lead_key);

-- live_stale
CREATE TABLE "lead_score_internal"."live_stale" (lead_key "pg_catalog"."uuid" NOT NULL) USING heap;

-- live_stale_lead_key
CREATE INDEX "live_stale_lead_key" ON "lead_score_internal"."live_stale" (lead_key);

-- live_stripes
CREATE TABLE "lead_score_internal"."live_stripes" (stripe integer PRIMARY KEY);

-- live_stripes rows
INSERT INTO "lead_score_internal"."live_stripes" (stripe) SELECT pg_catalog.generate_series(0, 1023);

-- live_columns
CREATE VIEW "lead_score_internal"."live_columns" AS SELECT l."person_id" AS c1, a."person" AS c2, a."kind" AS c3, a."at" AS c4, a."page" AS c5 FROM "app"."people" l, "app"."touches" a WHERE false;

-- live_merged
CREATE VIEW "lead_score_internal"."live_merged" AS
SELECT s.lead_key,
       CASE WHEN d.rc THEN (lead_score_internal._read_states('live', ARRAY[s.lead_key]))[1] WHEN d.st IS NULL THEN s.state ELSE lead_score_internal._live_merge(s.state, d.st) END AS state,
       s.fit, s.disqualified_by, s.predictive
FROM "lead_score_internal"."live_scores" s
LEFT JOIN (SELECT p.lead_key, lead_score_internal._live_batch(k.id, k.current_version, k.landmark, p.event_type, p.occurred_at, p.p1) AS st, pg_catalog.bool_or(p.occurred_at IS NULL) AS rc
FROM "lead_score_internal"."live_pending" p
CROSS JOIN (SELECT m.id, m.current_version, a.landmark FROM lead_score.attachments a
            JOIN lead_score.models m ON m.name = a.model WHERE a.name = 'live') k
GROUP BY p.lead_key) d ON d.lead_key = s.lead_key;

-- live_current
CREATE VIEW "lead_score"."live_current" AS
SELECT s.lead_key, x.fit, x.engagement, x.total, x.grade, x.label, x.quadrant, x.mql, x.disqualified, x.disqualified_by, x.categories, x.hot_categories, x.last_activity, x.model_version, x.probability, x.predictive_score, x.top_features, coalesce(lead_score_internal._adjustment_points(j.ids, j.points, j.created_at, j.expires_at, lead_score.scoring_time()), 0::pg_catalog.float8) AS adjustment
FROM "lead_score_internal"."live_merged" s
LEFT JOIN lead_score_internal._adjustment_sums j ON j.attachment = 'live' AND j.lead_key = (s.lead_key)::text
CROSS JOIN LATERAL lead_score_internal._live_score(s.state, s.fit + coalesce(lead_score_internal._adjustment_points(j.ids, j.points, j.created_at, j.expires_at, lead_score.scoring_time()), 0::pg_catalog.float8), s.disqualified_by, s.predictive, lead_score.scoring_time()) x;

-- live_current
COMMENT ON VIEW "lead_score"."live_current" IS 'Current scores of attachment live, one row per lead, read at lead_score.scoring_time().';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."lead_key" IS 'The lead''s key, as in the leads table';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."fit" IS 'Fit score: points of the fit rules that hold, completeness, clamped';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."engagement" IS 'Engagement score: decayed, capped points of the engagement rules';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."total" IS 'fit + engagement';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."grade" IS 'Grade of the fit score (classification.grades)';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."label" IS 'Label of the engagement score (classification.labels)';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."quadrant" IS 'act_now, account_based, check_fit, nurture or disqualified';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."mql" IS 'Marketing-qualified lead (classification.mql)';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."disqualified" IS 'A disqualify rule holds';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."disqualified_by" IS 'Name of the first disqualify rule that holds';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."categories" IS 'Category scores after their caps, as {"category": score}';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."hot_categories" IS 'Categories at or above their watermark';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."last_activity" IS 'Time of the lead''s latest counted activity';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."model_version" IS 'Model version that scored the lead';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."probability" IS 'Probability of converting from the model''s predictive section';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."predictive_score" IS 'round(100 x probability), 0 to 100';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."top_features" IS 'Largest contributions to the log-odds, [{"feature", "contribution"}]';

-- live_current
COMMENT ON COLUMN "lead_score"."live_current"."adjustment" IS 'Manual points (lead_score.adjust) active at scoring_time(); fit and total include them';

-- live_categories
CREATE VIEW "lead_score"."live_categories" AS
SELECT c.lead_key, k.key AS category, (k.value)::pg_catalog.float8 AS score,
       k.key OPERATOR(pg_catalog.=) ANY (c.hot_categories) AS hot
FROM "lead_score"."live_current" c
CROSS JOIN LATERAL pg_catalog.jsonb_each_text(c.categories) k
WHERE NOT c.disqualified;

-- live_categories
COMMENT ON VIEW "lead_score"."live_categories" IS 'Category scores of attachment live, one row per lead and category, read at lead_score.scoring_time().';

-- live_categories
COMMENT ON COLUMN "lead_score"."live_categories"."lead_key" IS 'The lead''s key, as in the leads table';

-- live_categories
COMMENT ON COLUMN "lead_score"."live_categories"."category" IS 'A category the model declares (engagement.categories)';

-- live_categories
COMMENT ON COLUMN "lead_score"."live_categories"."score" IS 'The lead''s score in the category, after its cap';

-- live_categories
COMMENT ON COLUMN "lead_score"."live_categories"."hot" IS 'The score is at or above the category''s watermark';

-- live__fold
CREATE FUNCTION "lead_score_internal"."live__fold"(keys "pg_catalog"."uuid"[] DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp SET row_security = off
AS '#variable_conflict use_variable
DECLARE
    v_now timestamptz := lead_score_internal._now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
    v_locked "pg_catalog"."uuid"[];
BEGIN
    PERFORM lead_score_internal._lock_activities(''live'');
    LOCK TABLE "lead_score_internal"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    IF lead_score_internal._catalog_since_snapshot(''live'', v_landmark, v_version) THEN
        RAISE EXCEPTION ''could not serialize access: the model of lead_score attachment % was published, or its landmark moved, after this transaction began'', ''live''
            USING ERRCODE = ''serialization_failure'';
    END IF;
    v_locked := ARRAY(
        SELECT s.lead_key FROM "lead_score_internal"."live_scores" s
        WHERE s.lead_key IN (SELECT p.lead_key FROM "lead_score_internal"."live_pending" p WHERE keys IS NULL OR p.lead_key IN (SELECT pg_catalog.unnest(keys)))
        ORDER BY s.lead_key FOR UPDATE OF s SKIP LOCKED);
    IF coalesce(keys, v_locked) <> ''{}'' AND lead_score_internal._pending_since_snapshot(''live'', coalesce(keys, v_locked)) THEN
        RAISE EXCEPTION ''could not serialize access: activities of these leads changed after this transaction began''
            USING ERRCODE = ''serialization_failure'';
    END IF;
    WITH moved AS (DELETE FROM "lead_score_internal"."live_pending" p WHERE p.lead_key IN (SELECT pg_catalog.unnest(v_locked)) RETURNING p.*),
    sl AS (DELETE FROM "lead_score_internal"."live_stale" t WHERE t.ctid = ANY (ARRAY(
        SELECT q.ctid FROM "lead_score_internal"."live_stale" q WHERE q.lead_key IN (SELECT pg_catalog.unnest(v_locked)) FOR UPDATE OF q SKIP LOCKED))
        RETURNING t.lead_key),
    d AS (SELECT m.lead_key AS k, lead_score_internal._live_batch(v_model_id, v_version, v_landmark, m.event_type, m.occurred_at, m.p1) AS st, pg_catalog.bool_or(m.occurred_at IS NULL) AS rc
          FROM moved m GROUP BY m.lead_key),
    r AS (SELECT t.k, t.st FROM ROWS FROM (pg_catalog.unnest(ARRAY(SELECT DISTINCT m.lead_key FROM moved m WHERE m.occurred_at IS NULL ORDER BY 1)), pg_catalog.unnest(lead_score_internal._read_states(''live'', ARRAY(SELECT DISTINCT m.lead_key FROM moved m WHERE m.occurred_at IS NULL ORDER BY 1)))) AS t(k, st) WHERE lead_score_internal._recomputed(''live'', true)),
    up AS (
        UPDATE "lead_score_internal"."live_scores" s SET (state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at) = (SELECT (a.x).state, (a.x).engagement, (a.x).total, (a.x).mql, (a.x).quadrant, (a.x).hot_categories, (a.x).bound, (a.x).last_activity, (a.x).model_version, (a.x).alerts, GREATEST(v_now, s.updated_at) FROM (SELECT lead_score_internal._live_apply(s.state, CASE WHEN d.rc THEN r.st ELSE d.st END, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, GREATEST(v_now, s.updated_at), d.rc, CASE WHEN NOT d.rc AND v_now > s.updated_at THEN v_now END, s.fit, s.disqualified_by) AS x OFFSET 0) a)
        FROM d LEFT JOIN r ON r.k = d.k WHERE s.lead_key = d.k
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_alerts(''live'', ''live'', pg_catalog.array_agg((u.lead_key)::text), pg_catalog.array_agg(u.total), pg_catalog.array_agg(u.last_alerts)) END INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN v_count;
END
';

-- live__commit_fold
CREATE FUNCTION "lead_score_internal"."live__commit_fold"(tids pg_catalog.tid[]) RETURNS bigint LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off SET plan_cache_mode = force_generic_plan
AS '#variable_conflict use_variable
DECLARE
    v_now timestamptz := lead_score_internal._now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
    v_settings text[];
    v_locked "pg_catalog"."uuid"[];
BEGIN
    PERFORM lead_score_internal._lock_activities(''live'');
    LOCK TABLE "lead_score_internal"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    BEGIN
        IF lead_score_internal._catalog_since_snapshot(''live'', v_landmark, v_version) THEN
            RAISE EXCEPTION ''could not serialize access: the model of lead_score attachment % was published, or its landmark moved, after this transaction began'', ''live''
                USING ERRCODE = ''serialization_failure'';
        END IF;
        IF pg_catalog.cardinality(tids) = 0 THEN
            v_settings := ARRAY[pg_catalog.current_setting(''enable_nestloop''), pg_catalog.current_setting(''work_mem''), pg_catalog.current_setting(''jit'')];
            PERFORM pg_catalog.set_config(''enable_nestloop'', ''off'', true), pg_catalog.set_config(''work_mem'', ''128MB'', true), pg_catalog.set_config(''jit'', ''off'', true);
            v_count := "lead_score_internal"."live__fold"();
            INSERT INTO "lead_score_internal"."live_stale" (lead_key) SELECT DISTINCT p.lead_key FROM "lead_score_internal"."live_pending" p
           WHERE true;
            PERFORM pg_catalog.set_config(''enable_nestloop'', v_settings[1], true), pg_catalog.set_config(''work_mem'', v_settings[2], true), pg_catalog.set_config(''jit'', v_settings[3], true);
        ELSE
            v_settings := ARRAY[pg_catalog.current_setting(''enable_seqscan''), pg_catalog.current_setting(''enable_indexscan'')];
            PERFORM pg_catalog.set_config(''enable_seqscan'', ''off'', true), pg_catalog.set_config(''enable_indexscan'', ''off'', true);
            v_locked := ARRAY(
        SELECT s.lead_key FROM "lead_score_internal"."live_scores" s
        WHERE s.lead_key IN (SELECT p.lead_key FROM "lead_score_internal"."live_pending" p WHERE p.ctid = ANY (tids))
        ORDER BY s.lead_key FOR UPDATE OF s SKIP LOCKED);
    IF v_locked <> ''{}'' AND lead_score_internal._pending_since_snapshot(''live'', v_locked) THEN
        RAISE EXCEPTION ''could not serialize access: activities of these leads changed after this transaction began''
            USING ERRCODE = ''serialization_failure'';
    END IF;
    WITH moved AS (DELETE FROM "lead_score_internal"."live_pending" p WHERE p.ctid = ANY (tids) AND p.lead_key IN (SELECT pg_catalog.unnest(v_locked)) RETURNING p.*),
    sl AS (DELETE FROM "lead_score_internal"."live_stale" t WHERE t.ctid = ANY (ARRAY(
        SELECT q.ctid FROM "lead_score_internal"."live_stale" q WHERE q.lead_key IN (SELECT pg_catalog.unnest(v_locked)) FOR UPDATE OF q SKIP LOCKED))
        RETURNING t.lead_key),
    lb AS (INSERT INTO "lead_score_internal"."live_stale" (lead_key) SELECT DISTINCT p.lead_key FROM "lead_score_internal"."live_pending" p
           WHERE (p.ctid = ANY (tids)) AND p.lead_key NOT IN (SELECT pg_catalog.unnest(v_locked))),
    more AS (DELETE FROM "lead_score_internal"."live_pending" p WHERE (SELECT pg_catalog.bool_or((m.occurred_at IS NULL OR m.lead_key IN (SELECT sl.lead_key FROM sl))) FROM moved m) AND p.lead_key IN (SELECT m.lead_key FROM moved m WHERE (m.occurred_at IS NULL OR m.lead_key IN (SELECT sl.lead_key FROM sl))) RETURNING p.*),
    d AS (SELECT m.lead_key AS k, lead_score_internal._live_batch(v_model_id, v_version, v_landmark, m.event_type, m.occurred_at, m.p1) AS st, pg_catalog.bool_or(m.occurred_at IS NULL) AS rc
          FROM (SELECT * FROM moved UNION ALL SELECT * FROM more) m GROUP BY m.lead_key),
    r AS (SELECT t.k, t.st FROM ROWS FROM (pg_catalog.unnest(ARRAY(SELECT DISTINCT m.lead_key FROM (SELECT * FROM moved UNION ALL SELECT * FROM more) m WHERE m.occurred_at IS NULL ORDER BY 1)), pg_catalog.unnest(lead_score_internal._read_states(''live'', ARRAY(SELECT DISTINCT m.lead_key FROM (SELECT * FROM moved UNION ALL SELECT * FROM more) m WHERE m.occurred_at IS NULL ORDER BY 1)))) AS t(k, st) WHERE lead_score_internal._recomputed(''live'', true)),
    up AS (
        UPDATE "lead_score_internal"."live_scores" s SET (state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at) = (SELECT (a.x).state, (a.x).engagement, (a.x).total, (a.x).mql, (a.x).quadrant, (a.x).hot_categories, (a.x).bound, (a.x).last_activity, (a.x).model_version, (a.x).alerts, GREATEST(v_now, s.updated_at) FROM (SELECT lead_score_internal._live_apply(s.state, CASE WHEN d.rc THEN r.st ELSE d.st END, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, GREATEST(v_now, s.updated_at), d.rc, CASE WHEN NOT d.rc AND v_now > s.updated_at THEN v_now END, s.fit, s.disqualified_by) AS x OFFSET 0) a)
        FROM d LEFT JOIN r ON r.k = d.k WHERE s.lead_key = d.k
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_alerts(''live'', ''live'', pg_catalog.array_agg((u.lead_key)::text), pg_catalog.array_agg(u.total), pg_catalog.array_agg(u.last_alerts)) END INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
            PERFORM pg_catalog.set_config(''enable_seqscan'', v_settings[1], true), pg_catalog.set_config(''enable_indexscan'', v_settings[2], true);
        END IF;
    EXCEPTION WHEN serialization_failure THEN
        v_count := 0;
        IF pg_catalog.cardinality(tids) = 0 THEN
            INSERT INTO "lead_score_internal"."live_stale" (lead_key) SELECT DISTINCT p.lead_key FROM "lead_score_internal"."live_pending" p
           WHERE true;
        ELSE
            INSERT INTO "lead_score_internal"."live_stale" (lead_key) SELECT DISTINCT p.lead_key FROM "lead_score_internal"."live_pending" p
           WHERE p.ctid = ANY (tids);
        END IF;
    END;
    RETURN v_count;
END
';

-- live__drop_orphans
CREATE FUNCTION "lead_score_internal"."live__drop_orphans"() RETURNS bigint LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp SET row_security = off
AS '#variable_conflict use_variable
DECLARE
    v_stripes integer[];
    v_horizon xid;
    v_count bigint := 0;
BEGIN
    IF pg_catalog.current_setting(''transaction_isolation'') <> ''read committed'' THEN
        RETURN 0;
    END IF;
    DELETE FROM "lead_score_internal"."live_stale" t WHERE t.ctid = ANY (ARRAY(
        SELECT q.ctid FROM "lead_score_internal"."live_stale" q
        WHERE NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_pending" p WHERE p.lead_key = q.lead_key)
        FOR UPDATE OF q SKIP LOCKED));
    v_stripes := ARRAY(
        SELECT t.stripe FROM "lead_score_internal"."live_stripes" t
        WHERE t.stripe IN (SELECT (pg_catalog.hash_array(ARRAY[q.lead_key]) & 1023) FROM "lead_score_internal"."live_pending" q WHERE NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_scores" s WHERE s.lead_key = q.lead_key))
        ORDER BY t.stripe FOR UPDATE SKIP LOCKED);
    IF v_stripes = ''{}'' THEN
        RETURN 0;
    END IF;
    v_horizon := lead_score_internal._snapshot_horizon(''"lead_score_internal"."live_pending"''::pg_catalog.regclass::pg_catalog.oid);
    DELETE FROM "lead_score_internal"."live_pending" p WHERE p.ctid = ANY (ARRAY(
        SELECT q.ctid FROM "lead_score_internal"."live_pending" q
        WHERE lead_score_internal._xid_precedes(q.xmin, v_horizon) AND NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_scores" s WHERE s.lead_key = q.lead_key)
          AND (pg_catalog.hash_array(ARRAY[q.lead_key]) & 1023) = ANY (v_stripes)
        FOR UPDATE OF q SKIP LOCKED));
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
';

-- live__recompute
CREATE FUNCTION "lead_score_internal"."live__recompute"(keys "pg_catalog"."uuid"[]) RETURNS void LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp SET row_security = off
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
    LOCK TABLE "lead_score_internal"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    IF lead_score_internal._catalog_since_snapshot(''live'', v_landmark, v_version) THEN
        RAISE EXCEPTION ''could not serialize access: the model of lead_score attachment % was published, or its landmark moved, after this transaction began'', ''live''
            USING ERRCODE = ''serialization_failure'';
    END IF;
    SELECT pg_catalog.array_agg(DISTINCT t.k) INTO v_keys FROM pg_catalog.unnest(keys) AS t(k) WHERE t.k IS NOT NULL;
    IF v_keys IS NULL THEN
        RETURN;
    END IF;
    -- Stripes first, then score rows: one lock order.
    PERFORM 1 FROM "lead_score_internal"."live_stripes" t WHERE t.stripe IN (SELECT DISTINCT (pg_catalog.hash_array(ARRAY[k.k]) & 1023) FROM (SELECT pg_catalog.unnest(v_keys)) AS k(k)) ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score_internal"."live_scores" s WHERE s.lead_key = ANY (v_keys) ORDER BY s.lead_key FOR UPDATE;
    -- Recompute is idempotent: pass 2 just repeats it for keys that had no score row.
    FOR v_pass IN 1..2 LOOP
        WITH d AS (SELECT t.k, t.st FROM ROWS FROM (pg_catalog.unnest(v_keys), pg_catalog.unnest(lead_score_internal._owner_states(''live'', v_keys, v_model_id, v_version, v_landmark, v_now))) AS t(k, st)),
        up AS (
            UPDATE "lead_score_internal"."live_scores" s SET (state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at) = (SELECT (a.x).state, (a.x).engagement, (a.x).total, (a.x).mql, (a.x).quadrant, (a.x).hot_categories, (a.x).bound, (a.x).last_activity, (a.x).model_version, (a.x).alerts, GREATEST(v_now, s.updated_at) FROM (SELECT lead_score_internal._live_apply(s.state, coalesce(d.st, lead_score_internal._live_empty(v_model_id, v_version, v_landmark)), s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, GREATEST(v_now, s.updated_at), true) AS x OFFSET 0) a)
            FROM d WHERE s.lead_key = d.k
            RETURNING s.lead_key, s.total, s.last_alerts),
        gone AS (DELETE FROM "lead_score_internal"."live_pending" p WHERE p.lead_key IN (SELECT up.lead_key FROM up)),
        sent AS (SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_alerts(''live'', ''live'', pg_catalog.array_agg((u.lead_key)::text), pg_catalog.array_agg(u.total), pg_catalog.array_agg(u.last_alerts)) END AS n FROM up u WHERE u.last_alerts IS NOT NULL)
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
        PERFORM 1 FROM "lead_score_internal"."live_stripes" t WHERE t.stripe IN (SELECT DISTINCT (pg_catalog.hash_array(ARRAY[k.k]) & 1023) FROM (SELECT pg_catalog.unnest(v_keys)) AS k(k)) ORDER BY t.stripe FOR UPDATE;
        -- Lock the rows the other transaction created before pass 2 reads the
        -- activities, so its snapshot already sees whatever last wrote them.
        PERFORM 1 FROM "lead_score_internal"."live_scores" s WHERE s.lead_key = ANY (v_keys) ORDER BY s.lead_key FOR UPDATE;
    END LOOP;
    RETURN;
END
';

-- live__act_ins
CREATE FUNCTION "lead_score_internal"."live__act_ins"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS '#variable_conflict use_variable
DECLARE
    v_tids pg_catalog.tid[];
BEGIN
    -- The score table first, as every writer locks it (see src/pending.rs).
    LOCK TABLE "lead_score_internal"."live_scores" IN ROW EXCLUSIVE MODE;
    -- A recompute earlier in this statement (ON CONFLICT, MERGE, writable
    -- CTEs fire the UPDATE or DELETE trigger first) may have counted these rows
    -- already; recomputing is right either way.
    IF lead_score_internal._recomputed(''live'', false) THEN
        PERFORM "lead_score_internal"."live__recompute"(ARRAY(SELECT n."person" FROM new_rows n WHERE n."person" IS NOT NULL));
        RETURN NULL;
    END IF;
    WITH a AS (
    INSERT INTO "lead_score_internal"."live_pending" (lead_key, event_type, occurred_at, p1)
    SELECT n."person", (n."kind")::text, LEAST(n."at", (SELECT lead_score_internal._clock())), (n."page")::text FROM new_rows n
    WHERE n."person" IS NOT NULL AND n."at" IS NOT NULL
    RETURNING ctid)
    SELECT pg_catalog.array_agg(a.ctid) INTO v_tids FROM a;
    PERFORM lead_score_internal._fold_at_commit(''live'', v_tids);
    RETURN NULL;
END
';

-- trigger lead_score_live_ins on "app"."touches"
CREATE TRIGGER "lead_score_live_ins" AFTER INSERT ON "app"."touches" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__act_ins"();

-- comment on trigger lead_score_live_ins
COMMENT ON TRIGGER "lead_score_live_ins" ON "app"."touches" IS 'lead_score attachment live: keeps its live scores current after each INSERT of this table (lead_score.detach removes it).';

-- live__act_upd
CREATE FUNCTION "lead_score_internal"."live__act_upd"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS '#variable_conflict use_variable
DECLARE
    v_tids pg_catalog.tid[];
BEGIN
    LOCK TABLE "lead_score_internal"."live_scores" IN ROW EXCLUSIVE MODE;
    WITH m AS (INSERT INTO "lead_score_internal"."live_pending" (lead_key) SELECT DISTINCT q.k FROM (SELECT o."person" FROM old_rows o UNION ALL SELECT n."person" FROM new_rows n) AS q(k) WHERE q.k IS NOT NULL RETURNING ctid)
    SELECT pg_catalog.array_agg(m.ctid) INTO v_tids FROM m;
    PERFORM lead_score_internal._fold_at_commit(''live'', v_tids);
    RETURN NULL;
END
';

-- trigger lead_score_live_upd on "app"."touches"
CREATE TRIGGER "lead_score_live_upd" AFTER UPDATE ON "app"."touches" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__act_upd"();

-- comment on trigger lead_score_live_upd
COMMENT ON TRIGGER "lead_score_live_upd" ON "app"."touches" IS 'lead_score attachment live: keeps its live scores current after each UPDATE of this table (lead_score.detach removes it).';

-- live__act_del
CREATE FUNCTION "lead_score_internal"."live__act_del"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS '#variable_conflict use_variable
DECLARE
    v_tids pg_catalog.tid[];
BEGIN
    LOCK TABLE "lead_score_internal"."live_scores" IN ROW EXCLUSIVE MODE;
    WITH m AS (INSERT INTO "lead_score_internal"."live_pending" (lead_key) SELECT DISTINCT q.k FROM (SELECT o."person" FROM old_rows o) AS q(k) WHERE q.k IS NOT NULL RETURNING ctid)
    SELECT pg_catalog.array_agg(m.ctid) INTO v_tids FROM m;
    PERFORM lead_score_internal._fold_at_commit(''live'', v_tids);
    RETURN NULL;
END
';

-- trigger lead_score_live_del on "app"."touches"
CREATE TRIGGER "lead_score_live_del" AFTER DELETE ON "app"."touches" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__act_del"();

-- comment on trigger lead_score_live_del
COMMENT ON TRIGGER "lead_score_live_del" ON "app"."touches" IS 'lead_score attachment live: keeps its live scores current after each DELETE of this table (lead_score.detach removes it).';

-- live__act_trunc
CREATE FUNCTION "lead_score_internal"."live__act_trunc"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS '#variable_conflict use_variable
DECLARE
    v_now timestamptz := lead_score_internal._now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
BEGIN
    LOCK TABLE "lead_score_internal"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    IF lead_score_internal._catalog_since_snapshot(''live'', v_landmark, v_version) THEN
        RAISE EXCEPTION ''could not serialize access: the model of lead_score attachment % was published, or its landmark moved, after this transaction began'', ''live''
            USING ERRCODE = ''serialization_failure'';
    END IF;
    PERFORM 1 FROM "lead_score_internal"."live_stripes" t ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score_internal"."live_scores" s ORDER BY s.lead_key FOR UPDATE;
    DELETE FROM "lead_score_internal"."live_pending";
    WITH up AS (
        UPDATE "lead_score_internal"."live_scores" s SET (state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at) = (SELECT (a.x).state, (a.x).engagement, (a.x).total, (a.x).mql, (a.x).quadrant, (a.x).hot_categories, (a.x).bound, (a.x).last_activity, (a.x).model_version, (a.x).alerts, GREATEST(v_now, s.updated_at) FROM (SELECT lead_score_internal._live_apply(s.state, lead_score_internal._live_empty(v_model_id, v_version, v_landmark), s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, GREATEST(v_now, s.updated_at), true) AS x OFFSET 0) a)
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_alerts(''live'', ''live'', pg_catalog.array_agg((u.lead_key)::text), pg_catalog.array_agg(u.total), pg_catalog.array_agg(u.last_alerts)) END INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN NULL;
END
';

-- trigger lead_score_live_trunc on "app"."touches"
CREATE TRIGGER "lead_score_live_trunc" AFTER TRUNCATE ON "app"."touches" FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__act_trunc"();

-- comment on trigger lead_score_live_trunc
COMMENT ON TRIGGER "lead_score_live_trunc" ON "app"."touches" IS 'lead_score attachment live: keeps its live scores current after each TRUNCATE of this table (lead_score.detach removes it).';

-- live__lead_ins
CREATE FUNCTION "lead_score_internal"."live__lead_ins"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
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
    LOCK TABLE "lead_score_internal"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    IF lead_score_internal._catalog_since_snapshot(''live'', v_landmark, v_version) THEN
        RAISE EXCEPTION ''could not serialize access: the model of lead_score attachment % was published, or its landmark moved, after this transaction began'', ''live''
            USING ERRCODE = ''serialization_failure'';
    END IF;
    PERFORM 1 FROM "lead_score_internal"."live_stripes" t WHERE t.stripe IN (SELECT DISTINCT (pg_catalog.hash_array(ARRAY[k.k]) & 1023) FROM (SELECT q.k FROM (SELECT n."person_id" FROM new_rows n) AS q(k) WHERE q.k IS NOT NULL) AS k(k)) ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score_internal"."live_scores" s WHERE s.lead_key IN (SELECT n."person_id" FROM new_rows n) ORDER BY s.lead_key FOR UPDATE;
    PERFORM "lead_score_internal"."live__fold"(ARRAY(SELECT n."person_id" FROM new_rows n));
    -- New leads'' engagement from the activities they already have.
    v_new := ARRAY(SELECT l."person_id" FROM new_rows l WHERE NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_scores" x WHERE x.lead_key = l."person_id"));
    IF v_new <> ''{}'' THEN
        PERFORM lead_score_internal._recomputed(''live'', true);
    END IF;
    WITH gone AS (DELETE FROM "lead_score_internal"."live_pending" p WHERE p.lead_key IN (SELECT l."person_id" FROM new_rows l WHERE NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_scores" x WHERE x.lead_key = l."person_id"))),
    fresh AS (
        SELECT t.k, t.st FROM ROWS FROM (pg_catalog.unnest(v_new), pg_catalog.unnest(lead_score_internal._owner_states(''live'', v_new, v_model_id, v_version, v_landmark, v_now))) AS t(k, st)
        WHERE t.st IS NOT NULL),
    up AS (
        INSERT INTO "lead_score_internal"."live_scores" AS s (lead_key, fit, disqualified_by, predictive, state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at)
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
    SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_alerts(''live'', ''live'', pg_catalog.array_agg((u.lead_key)::text), pg_catalog.array_agg(u.total), pg_catalog.array_agg(u.last_alerts)) END INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN NULL;
END
';

-- trigger lead_score_live_ins on "app"."people"
CREATE TRIGGER "lead_score_live_ins" AFTER INSERT ON "app"."people" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__lead_ins"();

-- comment on trigger lead_score_live_ins
COMMENT ON TRIGGER "lead_score_live_ins" ON "app"."people" IS 'lead_score attachment live: keeps its live scores current after each INSERT of this table (lead_score.detach removes it).';

-- live__lead_upd
CREATE FUNCTION "lead_score_internal"."live__lead_upd"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
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
    LOCK TABLE "lead_score_internal"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    IF lead_score_internal._catalog_since_snapshot(''live'', v_landmark, v_version) THEN
        RAISE EXCEPTION ''could not serialize access: the model of lead_score attachment % was published, or its landmark moved, after this transaction began'', ''live''
            USING ERRCODE = ''serialization_failure'';
    END IF;
    PERFORM 1 FROM "lead_score_internal"."live_stripes" t WHERE t.stripe IN (SELECT DISTINCT (pg_catalog.hash_array(ARRAY[k.k]) & 1023) FROM (SELECT q.k FROM (SELECT n."person_id" FROM new_rows n UNION SELECT o."person_id" FROM old_rows o) AS q(k) WHERE q.k IS NOT NULL) AS k(k)) ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score_internal"."live_scores" s WHERE s.lead_key IN (SELECT n."person_id" FROM new_rows n UNION SELECT o."person_id" FROM old_rows o) ORDER BY s.lead_key FOR UPDATE;
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
            FROM "lead_score_internal"."live_scores" s WHERE s.lead_key = v_gone[1];
        END IF;
    END IF;
    DELETE FROM "lead_score_internal"."live_scores" s WHERE s.lead_key = ANY (v_gone);
    DELETE FROM "lead_score_internal"."live_pending" p WHERE p.lead_key = ANY (v_gone);
    PERFORM "lead_score_internal"."live__fold"(ARRAY(SELECT n."person_id" FROM new_rows n));
    -- New leads'' engagement from the activities they already have.
    v_new := ARRAY(SELECT l."person_id" FROM new_rows l WHERE NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_scores" x WHERE x.lead_key = l."person_id"));
    IF v_new <> ''{}'' THEN
        PERFORM lead_score_internal._recomputed(''live'', true);
    END IF;
    WITH gone AS (DELETE FROM "lead_score_internal"."live_pending" p WHERE p.lead_key IN (SELECT l."person_id" FROM new_rows l WHERE NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_scores" x WHERE x.lead_key = l."person_id"))),
    fresh AS (
        SELECT t.k, t.st FROM ROWS FROM (pg_catalog.unnest(v_new), pg_catalog.unnest(lead_score_internal._owner_states(''live'', v_new, v_model_id, v_version, v_landmark, v_now))) AS t(k, st)
        WHERE t.st IS NOT NULL),
    up AS (
        INSERT INTO "lead_score_internal"."live_scores" AS s (lead_key, fit, disqualified_by, predictive, state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at)
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
    SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_alerts(''live'', ''live'', pg_catalog.array_agg((u.lead_key)::text), pg_catalog.array_agg(u.total), pg_catalog.array_agg(u.last_alerts)) END INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN NULL;
END
';

-- trigger lead_score_live_upd on "app"."people"
CREATE TRIGGER "lead_score_live_upd" AFTER UPDATE ON "app"."people" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__lead_upd"();

-- comment on trigger lead_score_live_upd
COMMENT ON TRIGGER "lead_score_live_upd" ON "app"."people" IS 'lead_score attachment live: keeps its live scores current after each UPDATE of this table (lead_score.detach removes it).';

-- live__lead_del
CREATE FUNCTION "lead_score_internal"."live__lead_del"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS '#variable_conflict use_variable
DECLARE
    v_now timestamptz := lead_score_internal._now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_gone "pg_catalog"."uuid"[];
BEGIN
    PERFORM lead_score_internal._lock_activities(''live'');
    LOCK TABLE "lead_score_internal"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    IF lead_score_internal._catalog_since_snapshot(''live'', v_landmark, v_version) THEN
        RAISE EXCEPTION ''could not serialize access: the model of lead_score attachment % was published, or its landmark moved, after this transaction began'', ''live''
            USING ERRCODE = ''serialization_failure'';
    END IF;
    PERFORM 1 FROM "lead_score_internal"."live_stripes" t WHERE t.stripe IN (SELECT DISTINCT (pg_catalog.hash_array(ARRAY[k.k]) & 1023) FROM (SELECT q.k FROM (SELECT o."person_id" FROM old_rows o) AS q(k) WHERE q.k IS NOT NULL) AS k(k)) ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score_internal"."live_scores" s WHERE s.lead_key IN (SELECT o."person_id" FROM old_rows o) ORDER BY s.lead_key FOR UPDATE;
    -- Not the keys a row of the same statement took again (keys_gone).
    v_gone := ARRAY(SELECT t.k FROM ROWS FROM (pg_catalog.unnest(ARRAY(SELECT o."person_id" FROM old_rows o WHERE o."person_id" IS NOT NULL)), pg_catalog.unnest(lead_score_internal._leads_present(''live'', ARRAY(SELECT o."person_id" FROM old_rows o WHERE o."person_id" IS NOT NULL)))) AS t(k, present) WHERE NOT t.present);
    DELETE FROM "lead_score_internal"."live_scores" s WHERE s.lead_key = ANY (v_gone);
    DELETE FROM "lead_score_internal"."live_pending" p WHERE p.lead_key = ANY (v_gone);
    RETURN NULL;
END
';

-- trigger lead_score_live_del on "app"."people"
CREATE TRIGGER "lead_score_live_del" AFTER DELETE ON "app"."people" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__lead_del"();

-- comment on trigger lead_score_live_del
COMMENT ON TRIGGER "lead_score_live_del" ON "app"."people" IS 'lead_score attachment live: keeps its live scores current after each DELETE of this table (lead_score.detach removes it).';

-- live__lead_trunc
CREATE FUNCTION "lead_score_internal"."live__lead_trunc"() RETURNS trigger LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS '#variable_conflict use_variable
DECLARE
    v_now timestamptz := lead_score_internal._now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
BEGIN
    PERFORM lead_score_internal._lock_activities(''live'');
    LOCK TABLE "lead_score_internal"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    IF lead_score_internal._catalog_since_snapshot(''live'', v_landmark, v_version) THEN
        RAISE EXCEPTION ''could not serialize access: the model of lead_score attachment % was published, or its landmark moved, after this transaction began'', ''live''
            USING ERRCODE = ''serialization_failure'';
    END IF;
    PERFORM 1 FROM "lead_score_internal"."live_stripes" t ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score_internal"."live_scores" s ORDER BY s.lead_key FOR UPDATE;
    DELETE FROM "lead_score_internal"."live_scores";
    DELETE FROM "lead_score_internal"."live_pending";
    RETURN NULL;
END
';

-- trigger lead_score_live_trunc on "app"."people"
CREATE TRIGGER "lead_score_live_trunc" AFTER TRUNCATE ON "app"."people" FOR EACH STATEMENT EXECUTE FUNCTION "lead_score_internal"."live__lead_trunc"();

-- comment on trigger lead_score_live_trunc
COMMENT ON TRIGGER "lead_score_live_trunc" ON "app"."people" IS 'lead_score attachment live: keeps its live scores current after each TRUNCATE of this table (lead_score.detach removes it).';

-- live_account_categories
CREATE VIEW "lead_score"."live_account_categories" WITH (security_invoker = true) AS
SELECT (l."company")::text AS account, c.category, pg_catalog.sum(c.score ORDER BY c.lead_key) AS score
FROM "app"."people" l JOIN "lead_score"."live_categories" c ON c.lead_key = l."person_id"
      WHERE l."company" IS NOT NULL
GROUP BY 1, 2;

-- live_accounts
CREATE VIEW "lead_score"."live_accounts" WITH (security_invoker = true) AS
SELECT g.account, g.leads, g.engaged_leads, g.fit, g.engagement, g.fit + g.engagement AS total,
       lead_score.grade('live', g.fit) AS grade,
       lead_score.account_quadrant('live', g.fit, g.engagement, g.disqualified) AS quadrant,
       lead_score.account_alerting('live', g.fit + g.engagement, g.disqualified) AS alerting,
       coalesce(t.top_categories, '{}'::text[]) AS top_categories
FROM (SELECT (l."company")::text AS account, pg_catalog.count(*) AS leads,
             pg_catalog.count(*) FILTER (WHERE NOT c.disqualified AND lead_score.account_engaged('live', c.engagement)) AS engaged_leads,
             coalesce(pg_catalog.max(c.fit) FILTER (WHERE NOT c.disqualified), 0) AS fit,
             lead_score.account_engagement('live', coalesce(pg_catalog.sum(c.engagement ORDER BY c.lead_key) FILTER (WHERE NOT c.disqualified), 0)) AS engagement,
             pg_catalog.bool_and(c.disqualified) AS disqualified,
             pg_catalog.array_agg(c.categories ORDER BY c.lead_key) FILTER (WHERE NOT c.disqualified) AS categories
      FROM "app"."people" l JOIN "lead_score"."live_current" c ON c.lead_key = l."person_id"
      WHERE l."company" IS NOT NULL
      GROUP BY 1) g
LEFT JOIN LATERAL (SELECT pg_catalog.array_agg(k.category ORDER BY k.score DESC, k.category) AS top_categories
           FROM (SELECT e.key AS category, pg_catalog.sum((e.value)::pg_catalog.float8 ORDER BY o.n) AS score
                 FROM pg_catalog.unnest(g.categories) WITH ORDINALITY o(c, n)
                 CROSS JOIN LATERAL pg_catalog.jsonb_each_text(o.c) e GROUP BY e.key) k
           WHERE k.score * 1e6::pg_catalog.float8 >= 0.5) t ON true;

-- live_account_heads
CREATE TABLE "lead_score_internal"."live_account_heads" (account text NOT NULL, field text NOT NULL, alerting boolean NOT NULL, total float8 NOT NULL, checked_at timestamptz NOT NULL);
CREATE UNIQUE INDEX ON "lead_score_internal"."live_account_heads" ((pg_catalog.hashtextextended(account, 0)), (pg_catalog.hashtextextended(account, 1)));

-- live_accounts
COMMENT ON VIEW "lead_score"."live_accounts" IS 'Account scores of the attachment (the model''s accounts section), one row per account, read at lead_score.scoring_time().';

-- live_accounts
COMMENT ON COLUMN "lead_score"."live_accounts"."account" IS 'The account, as the leads'' accounts.field holds it (as text)';

-- live_accounts
COMMENT ON COLUMN "lead_score"."live_accounts"."leads" IS 'Leads of the account';

-- live_accounts
COMMENT ON COLUMN "lead_score"."live_accounts"."engaged_leads" IS 'Of them, leads not disqualified with engagement at or above accounts.engaged_min (default: above 0)';

-- live_accounts
COMMENT ON COLUMN "lead_score"."live_accounts"."fit" IS 'Best fit of the account''s leads that are not disqualified';

-- live_accounts
COMMENT ON COLUMN "lead_score"."live_accounts"."engagement" IS 'Their engagement summed, capped at accounts.cap';

-- live_accounts
COMMENT ON COLUMN "lead_score"."live_accounts"."total" IS 'fit + engagement';

-- live_accounts
COMMENT ON COLUMN "lead_score"."live_accounts"."grade" IS 'The model''s grade of the account''s fit';

-- live_accounts
COMMENT ON COLUMN "lead_score"."live_accounts"."quadrant" IS 'act_now, account_based, check_fit, nurture (accounts.quadrant, else the model''s thresholds), or disqualified when every lead is';

-- live_accounts
COMMENT ON COLUMN "lead_score"."live_accounts"."alerting" IS 'total is at or above accounts.alert';

-- live_accounts
COMMENT ON COLUMN "lead_score"."live_accounts"."top_categories" IS 'Categories whose summed score is positive once rounded to a millionth, most engaged first (long form: <name>_account_categories)';

-- live_accounts
COMMENT ON VIEW "lead_score"."live_account_categories" IS 'Category scores of the attachment''s accounts, summed over their leads, one row per account and category.';

-- live_accounts
COMMENT ON COLUMN "lead_score"."live_account_categories"."account" IS 'The account (as text)';

-- live_accounts
COMMENT ON COLUMN "lead_score"."live_account_categories"."category" IS 'A category the model declares';

-- live_accounts
COMMENT ON COLUMN "lead_score"."live_account_categories"."score" IS 'The category scores of the account''s leads, summed (each capped per lead)';

-- live_accounts
COMMENT ON TABLE "lead_score_internal"."live_account_heads" IS 'Internal: whether each account was alerting when tick() last checked, so it alerts once per crossing.';

-- live_accounts
COMMENT ON COLUMN "lead_score_internal"."live_account_heads"."account" IS 'The account (as text)';

-- live_accounts
COMMENT ON COLUMN "lead_score_internal"."live_account_heads"."field" IS 'The accounts.field it was read from (rows of another field are stale)';

-- live_accounts
COMMENT ON COLUMN "lead_score_internal"."live_account_heads"."alerting" IS 'Its total was at or above accounts.alert';

-- live_accounts
COMMENT ON COLUMN "lead_score_internal"."live_account_heads"."total" IS 'Its total then';

-- live_accounts
COMMENT ON COLUMN "lead_score_internal"."live_account_heads"."checked_at" IS 'When tick() (or attach) recorded it';

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__act_ins"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__act_upd"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__act_del"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__act_trunc"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__lead_ins"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__lead_upd"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__lead_del"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__lead_trunc"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__recompute"("pg_catalog"."uuid"[]) FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__fold"("pg_catalog"."uuid"[]) FROM PUBLIC;

-- grant
GRANT EXECUTE ON FUNCTION "lead_score_internal"."live__fold"("pg_catalog"."uuid"[]) TO "lead_score_admin";

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__drop_orphans"() FROM PUBLIC;

-- grant
GRANT EXECUTE ON FUNCTION "lead_score_internal"."live__drop_orphans"() TO "lead_score_admin";

-- revoke
REVOKE ALL ON FUNCTION "lead_score_internal"."live__commit_fold"(pg_catalog.tid[]) FROM PUBLIC;

-- grant
GRANT SELECT ON "lead_score_internal"."live_scores", "lead_score_internal"."live_pending", "lead_score_internal"."live_merged", "lead_score"."live_current", "lead_score"."live_categories", "lead_score"."live_accounts", "lead_score"."live_account_categories" TO "lead_score_reader";

-- grant
GRANT SELECT ON "lead_score_internal"."live_scores", "lead_score_internal"."live_pending", "lead_score_internal"."live_merged", "lead_score"."live_current", "lead_score"."live_categories", "lead_score"."live_accounts", "lead_score"."live_account_categories" TO "lead_score_admin";

-- grant
GRANT INSERT, UPDATE, DELETE ON "lead_score_internal"."live_scores", "lead_score_internal"."live_pending" TO "lead_score_admin";

-- grant
GRANT SELECT, INSERT, UPDATE, DELETE ON "lead_score_internal"."live_stale" TO "lead_score_admin";

-- grant
GRANT SELECT, UPDATE ON "lead_score_internal"."live_stripes" TO "lead_score_admin";

-- query count_leads
SELECT pg_catalog.count(*) FROM "app"."people";

-- query prune
DELETE FROM "lead_score_internal"."live_scores" s WHERE NOT EXISTS (SELECT 1 FROM "app"."people" l WHERE l."person_id" = s.lead_key);

-- query rescore
WITH gone AS (DELETE FROM "lead_score_internal"."live_pending"),
stale AS (DELETE FROM "lead_score_internal"."live_stale"),
fresh AS (
    SELECT a."person" AS k, lead_score_internal._live_batch($5, $6, $2, (a."kind")::text, LEAST(a."at", $10), (a."page")::text) AS st
    FROM "app"."touches" a WHERE lead_score_internal._progress(1, $7, $9) AND a."at" IS NOT NULL GROUP BY a."person")
INSERT INTO "lead_score_internal"."live_scores" AS s (lead_key, fit, disqualified_by, predictive, state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at)
SELECT l."person_id", f.fit, f.dq, f.pr, a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.bound, a.last_activity, a.model_version, NULL, $3
FROM "app"."people" l
CROSS JOIN LATERAL (SELECT lead_score.fit($1, l.*) AS fit, lead_score.disqualified_by($1, l.*) AS dq,
                           lead_score_internal._predictive_on($1, l.*) AS pr) f
LEFT JOIN fresh ON fresh.k = l."person_id"
CROSS JOIN LATERAL lead_score_internal._live_apply(NULL, coalesce(fresh.st, lead_score_internal._live_empty($5, $6, $2)),
                                          f.fit, f.dq, NULL, NULL, NULL, $2, $3, true) a
WHERE l."person_id" IS NOT NULL AND lead_score_internal._progress(2, $8, $9)
ORDER BY l."person_id"
ON CONFLICT (lead_key) DO UPDATE SET (fit, disqualified_by, predictive) = (EXCLUDED.fit, EXCLUDED.disqualified_by, EXCLUDED.predictive),
    (state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at) =
    (SELECT r.state, r.engagement, r.total, r.mql, r.quadrant, r.hot_categories, r.bound, r.last_activity, r.model_version, CASE WHEN $4 THEN r.alerts END, GREATEST($3, s.updated_at)
     FROM lead_score_internal._live_apply(s.state, EXCLUDED.state, EXCLUDED.fit, EXCLUDED.disqualified_by,
                                 s.mql, s.quadrant, s.hot_categories, $2, GREATEST($3, s.updated_at), true) r);

-- query rescore_distributed
INSERT INTO "lead_score_internal"."live_scores" AS s (lead_key, fit, disqualified_by, predictive, state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at)
SELECT f.k, f.fit, f.dq, f.pr,
       CASE WHEN o.lead_key IS NULL THEN a.state ELSE r.state END,
       CASE WHEN o.lead_key IS NULL THEN a.engagement ELSE r.engagement END,
       CASE WHEN o.lead_key IS NULL THEN a.total ELSE r.total END,
       CASE WHEN o.lead_key IS NULL THEN a.mql ELSE r.mql END,
       CASE WHEN o.lead_key IS NULL THEN a.quadrant ELSE r.quadrant END,
       CASE WHEN o.lead_key IS NULL THEN a.hot_categories ELSE r.hot_categories END,
       CASE WHEN o.lead_key IS NULL THEN a.bound ELSE r.bound END,
       CASE WHEN o.lead_key IS NULL THEN a.last_activity ELSE r.last_activity END,
       CASE WHEN o.lead_key IS NULL THEN a.model_version ELSE r.model_version END,
       CASE WHEN $4 AND o.lead_key IS NOT NULL THEN r.alerts END, GREATEST($3, o.updated_at)
FROM (SELECT l."person_id" AS k, lead_score.fit($1, l.*) AS fit, lead_score.disqualified_by($1, l.*) AS dq,
             lead_score_internal._predictive_on($1, l.*) AS pr
      FROM "app"."people" l WHERE l."person_id" IS NOT NULL) f
LEFT JOIN (
    SELECT a."person" AS k, lead_score_internal._live_batch($5, $6, $2, (a."kind")::text, LEAST(a."at", $10), (a."page")::text) AS st
    FROM "app"."touches" a WHERE a."at" IS NOT NULL GROUP BY a."person") fresh ON fresh.k = f.k
CROSS JOIN LATERAL lead_score_internal._live_apply(NULL, coalesce(fresh.st, lead_score_internal._live_empty($5, $6, $2)),
                                          f.fit, f.dq, NULL, NULL, NULL, $2, $3, true) a
LEFT JOIN "lead_score_internal"."live_scores" o ON o.lead_key = f.k
LEFT JOIN LATERAL lead_score_internal._live_apply(o.state, a.state, f.fit, f.dq,
                                         o.mql, o.quadrant, o.hot_categories, $2, GREATEST($3, o.updated_at), true) r ON o.lead_key IS NOT NULL
ON CONFLICT (lead_key) DO UPDATE SET (fit, disqualified_by, predictive, state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at) =
    (EXCLUDED.fit, EXCLUDED.disqualified_by, EXCLUDED.predictive, EXCLUDED.state, EXCLUDED.engagement, EXCLUDED.total, EXCLUDED.mql, EXCLUDED.quadrant, EXCLUDED.hot_categories, EXCLUDED.bound, EXCLUDED.last_activity, EXCLUDED.model_version, EXCLUDED.last_alerts, EXCLUDED.updated_at);

-- query rescore_alerts
SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_alerts($1, $2, pg_catalog.array_agg((s.lead_key)::text), pg_catalog.array_agg(s.total), pg_catalog.array_agg(s.last_alerts)) END FROM "lead_score_internal"."live_scores" s WHERE s.last_alerts IS NOT NULL AND s.updated_at >= $3;

-- query rebase
UPDATE "lead_score_internal"."live_scores" SET state = lead_score_internal._live_rebase(state, $1) WHERE state IS DISTINCT FROM lead_score_internal._live_rebase(state, $1);

-- query rebase_distributed
INSERT INTO "lead_score_internal"."live_scores" AS t (lead_key, fit, disqualified_by, predictive, state, bound)
SELECT s.lead_key, s.fit, s.disqualified_by, s.predictive, lead_score_internal._live_rebase(s.state, $1), s.bound FROM "lead_score_internal"."live_scores" s
WHERE s.state IS DISTINCT FROM lead_score_internal._live_rebase(s.state, $1)
ON CONFLICT (lead_key) DO UPDATE SET state = EXCLUDED.state;

-- query time_crossings
WITH due AS (
    SELECT s.lead_key FROM "lead_score_internal"."live_scores" s
    WHERE s.updated_at < $1 AND CASE WHEN s.model_version = (SELECT lead_score_internal._lowering_version($4)) AND s.mql IS FALSE
               AND s.quadrant <> ALL (ARRAY['act_now', 'check_fit']) AND s.hot_categories = '{}'::text[]
          THEN false ELSE lead_score_internal._live_crossed(s.state, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, $1) END
      AND NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_pending" p WHERE p.lead_key = s.lead_key)
    ORDER BY s.lead_key FOR UPDATE OF s SKIP LOCKED),
up AS (
    UPDATE "lead_score_internal"."live_scores" s SET (state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at) = (SELECT (a.x).state, (a.x).engagement, (a.x).total, (a.x).mql, (a.x).quadrant, (a.x).hot_categories, (a.x).bound, (a.x).last_activity, (a.x).model_version, (a.x).alerts, $1 FROM (SELECT lead_score_internal._live_apply(s.state, NULL, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, $2, $1, false) AS x OFFSET 0) a)
    WHERE s.lead_key = ANY (ARRAY(SELECT due.lead_key FROM due))
    RETURNING s.lead_key, s.total, s.last_alerts)
SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_alerts($3, $4, pg_catalog.array_agg((u.lead_key)::text), pg_catalog.array_agg(u.total), pg_catalog.array_agg(u.last_alerts)) END
FROM up u WHERE u.last_alerts IS NOT NULL;

-- query time_crossings_distributed
WITH up AS (
    INSERT INTO "lead_score_internal"."live_scores" AS t (lead_key, fit, disqualified_by, predictive, state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at)
    SELECT s.lead_key, s.fit, s.disqualified_by, s.predictive, a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.bound, a.last_activity, a.model_version, a.alerts, s.updated_at
    FROM "lead_score_internal"."live_scores" s
    CROSS JOIN LATERAL lead_score_internal._live_apply(s.state, NULL, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, $2, $1, false) a
    WHERE s.updated_at < $1 AND lead_score_internal._live_crossed(s.state, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, $1)
      AND NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_pending" p WHERE p.lead_key = s.lead_key)
    ORDER BY s.lead_key
    ON CONFLICT (lead_key) DO UPDATE SET (state, engagement, total, mql, quadrant, hot_categories, bound, last_activity, model_version, last_alerts, updated_at) = (EXCLUDED.state, EXCLUDED.engagement, EXCLUDED.total, EXCLUDED.mql, EXCLUDED.quadrant, EXCLUDED.hot_categories, EXCLUDED.bound, EXCLUDED.last_activity, EXCLUDED.model_version, EXCLUDED.last_alerts, $1)
    WHERE t.updated_at IS NOT DISTINCT FROM EXCLUDED.updated_at
    RETURNING t.lead_key, t.total, t.last_alerts)
SELECT CASE WHEN pg_catalog.count(*) = 0 THEN 0 ELSE lead_score_internal._emit_alerts($3, $4, pg_catalog.array_agg((u.lead_key)::text), pg_catalog.array_agg(u.total), pg_catalog.array_agg(u.last_alerts)) END
FROM up u WHERE u.last_alerts IS NOT NULL;

-- query refresh_bounds
WITH top AS (
    SELECT s.lead_key, s.bound FROM "lead_score_internal"."live_scores" s WHERE s.bound <= $2 ORDER BY s.bound DESC LIMIT 10000),
due AS (
    SELECT s.lead_key FROM "lead_score_internal"."live_scores" s
    CROSS JOIN LATERAL (SELECT (coalesce(s.fit, 0::pg_catalog.float8) + lead_score_internal._live_bound(s.state, $1 - '3600000000 microseconds'::pg_catalog.interval)) AS bound OFFSET 0) f
    WHERE s.lead_key = ANY (ARRAY(SELECT t.lead_key FROM top t))
      AND s.bound - f.bound > '0.01'::pg_catalog.float8 * (1 + pg_catalog.abs(f.bound))
      AND NOT EXISTS (SELECT 1 FROM "lead_score_internal"."live_pending" p WHERE p.lead_key = s.lead_key)
    ORDER BY s.lead_key FOR UPDATE OF s SKIP LOCKED),
up AS (
    UPDATE "lead_score_internal"."live_scores" s SET bound = (coalesce(s.fit, 0::pg_catalog.float8) + lead_score_internal._live_bound(s.state, $1 - '3600000000 microseconds'::pg_catalog.interval))
    WHERE s.lead_key = ANY (ARRAY(SELECT due.lead_key FROM due))
    RETURNING 1)
SELECT pg_catalog.count(*) >= 100, (SELECT pg_catalog.min(t.bound) FROM top t) FROM up;

-- query check
WITH fresh AS (
    SELECT a."person" AS k, lead_score.engagement_state($1, (a."kind")::text, a."at", (a."page")::text) AS st
    FROM "app"."touches" a GROUP BY a."person"),
expected AS (
    SELECT l."person_id" AS k, x.* FROM "app"."people" l LEFT JOIN fresh ON fresh.k = l."person_id"
    CROSS JOIN LATERAL lead_score.score($1, l.*, fresh.st) x
    WHERE l."person_id" IS NOT NULL),
stored AS (
    SELECT s.lead_key AS k, x.* FROM "lead_score_internal"."live_merged" s
    CROSS JOIN LATERAL lead_score_internal._live_score(s.state, s.fit, s.disqualified_by, s.predictive, lead_score.scoring_time()) x)
SELECT (coalesce(e.k, s.k))::text,
       CASE WHEN s.k IS NULL THEN 'missing score'
            WHEN e.k IS NULL THEN 'score without lead'
            WHEN abs(e.total - s.total) > 1e-6 * (1 + abs(e.total)) THEN 'total differs'
            WHEN (e.grade, e.label, e.quadrant, e.mql) IS DISTINCT FROM (s.grade, s.label, s.quadrant, s.mql) THEN 'classification differs'
            WHEN e.hot_categories IS DISTINCT FROM s.hot_categories THEN 'categories differ'
            ELSE 'prediction differs' END,
       s.total, e.total
FROM expected e FULL JOIN stored s ON s.k = e.k
WHERE s.k IS NULL OR e.k IS NULL
   OR abs(e.total - s.total) > 1e-6 * (1 + abs(e.total))
   OR (e.grade, e.label, e.quadrant, e.mql) IS DISTINCT FROM (s.grade, s.label, s.quadrant, s.mql)
   OR e.hot_categories IS DISTINCT FROM s.hot_categories
   OR (e.probability IS NULL) <> (s.probability IS NULL)
   OR abs(e.probability - s.probability) > 1e-9;

-- query top_leads
WITH m AS MATERIALIZED (
    SELECT mo.id, mo.current_version AS version, a.landmark FROM lead_score.attachments a
    JOIN lead_score.models mo ON mo.name = a.model WHERE a.name = 'live'),
-- Each lead's manual adjustments now: a lead they raise can pass its bound.
adj AS MATERIALIZED (SELECT j.lead_key, lead_score_internal._adjustment_points(j.ids, j.points, j.created_at, j.expires_at, lead_score.scoring_time()) AS points FROM lead_score_internal._adjustment_sums j WHERE j.attachment = 'live'),
idx AS MATERIALIZED (
    SELECT s.lead_key, s.bound FROM "lead_score_internal"."live_scores" s WHERE $2 OR s.disqualified_by IS NULL
    ORDER BY s.bound DESC LIMIT $3 + 1),
-- One read of the pending table: what each lead's events can add.
pb AS MATERIALIZED (
    SELECT p.lead_key, CASE WHEN pg_catalog.bool_or(p.occurred_at IS NULL) THEN 'Infinity'::pg_catalog.float8 ELSE lead_score_internal._live_bound(lead_score_internal._live_batch(m.id, m.version, m.landmark, p.event_type, p.occurred_at, p.p1), lead_score.scoring_time()) END AS extra
    FROM "lead_score_internal"."live_pending" p CROSS JOIN m GROUP BY p.lead_key),
-- Ranked first: the first leads of the index, and the leads whose events can
-- add the most.
top AS MATERIALIZED (
    SELECT i.lead_key FROM (SELECT idx.lead_key FROM idx ORDER BY idx.bound DESC LIMIT $3) i
    UNION
    SELECT q.lead_key FROM (SELECT pb.lead_key FROM pb ORDER BY pb.extra DESC LIMIT $3) q),
tp AS MATERIALIZED (SELECT p.lead_key, lead_score_internal._live_batch(m.id, m.version, m.landmark, p.event_type, p.occurred_at, p.p1) AS st, pg_catalog.bool_or(p.occurred_at IS NULL) AS rc
    FROM "lead_score_internal"."live_pending" p CROSS JOIN m
    WHERE (p.lead_key IN (SELECT t.lead_key FROM top t)) IS TRUE
    GROUP BY p.lead_key),
stored AS MATERIALIZED (
    SELECT i.lead_key, x.total, x.fit, x.engagement, x.grade, x.label, x.quadrant, x.mql, x.disqualified
    FROM top i
    LEFT JOIN tp ON tp.lead_key = i.lead_key LEFT JOIN (SELECT t.k, t.st FROM ROWS FROM (pg_catalog.unnest(ARRAY(SELECT q.lead_key FROM tp q WHERE q.rc ORDER BY q.lead_key)), pg_catalog.unnest(lead_score_internal._read_states('live', ARRAY(SELECT q.lead_key FROM tp q WHERE q.rc ORDER BY q.lead_key)))) AS t(k, st)) rt ON rt.k = i.lead_key
    LEFT JOIN adj ON adj.lead_key = (i.lead_key)::text
    -- OFFSET 0 keeps this a lookup by key per lead rather than a join over all leads.
    CROSS JOIN LATERAL (SELECT s.state, s.fit, s.disqualified_by, s.predictive FROM "lead_score_internal"."live_scores" s
                        WHERE s.lead_key = i.lead_key OFFSET 0) s
    CROSS JOIN LATERAL lead_score_internal._live_score(CASE WHEN tp.lead_key IS NULL THEN s.state WHEN tp.rc THEN rt.st ELSE lead_score_internal._live_merge(s.state, tp.st) END, s.fit + coalesce(adj.points, 0::pg_catalog.float8), s.disqualified_by, s.predictive, lead_score.scoring_time()) x
    WHERE $2 OR NOT x.disqualified),
floor AS (
    SELECT coalesce((SELECT st.total FROM stored st ORDER BY st.total DESC OFFSET $1 - 1 LIMIT 1),
                    '-Infinity'::pg_catalog.float8) AS t),
-- The most a lead's stored bound and adjustment can be.
most AS (
    SELECT coalesce((SELECT pg_catalog.max(i.bound) FROM idx i), '-Infinity'::pg_catalog.float8)
           + coalesce((SELECT pg_catalog.max(adj.points) FROM adj WHERE adj.points > 0), 0::pg_catalog.float8) AS b),
-- The other leads with pending events that can reach the floor. Those whose
-- events cannot add enough even to the highest bound are left out before any
-- lookup (OFFSET 0).
pc AS (
    SELECT q.lead_key FROM (
        SELECT pb.lead_key, pb.extra FROM pb CROSS JOIN floor f CROSS JOIN most b
        WHERE b.b + pb.extra >= f.t - 1e-9 * (1 + abs(f.t))
          AND pb.lead_key NOT IN (SELECT t.lead_key FROM top t)
        OFFSET 0) q
    CROSS JOIN LATERAL (SELECT s.bound, s.disqualified_by FROM "lead_score_internal"."live_scores" s
                        WHERE s.lead_key = q.lead_key OFFSET 0) s
    CROSS JOIN floor f
    LEFT JOIN adj ON adj.lead_key = (q.lead_key)::text
    WHERE ($2 OR s.disqualified_by IS NULL)
      AND s.bound + q.extra + GREATEST(coalesce(adj.points, 0::pg_catalog.float8), 0::pg_catalog.float8)
          >= f.t - 1e-9 * (1 + abs(f.t))),
-- Leads outside those ranked, with no pending events, that adjustments can
-- raise to the floor: ranked too.
ac AS (
    SELECT s.lead_key, adj.points FROM adj
    CROSS JOIN LATERAL (SELECT s.lead_key, s.bound, s.disqualified_by FROM "lead_score_internal"."live_scores" s
                        WHERE s.lead_key = CAST(adj.lead_key AS "pg_catalog"."uuid") OFFSET 0) s
    CROSS JOIN floor f
    WHERE adj.points > 0 AND ($2 OR s.disqualified_by IS NULL)
      AND s.bound + adj.points >= f.t - 1e-9 * (1 + abs(f.t))
      AND NOT EXISTS (SELECT 1 FROM pb WHERE pb.lead_key = s.lead_key)
      AND NOT EXISTS (SELECT 1 FROM top t WHERE t.lead_key = s.lead_key)),
raised AS (
    SELECT ac.lead_key, x.total, x.fit, x.engagement, x.grade, x.label, x.quadrant, x.mql, x.disqualified
    FROM ac
    CROSS JOIN LATERAL (SELECT s.state, s.fit, s.disqualified_by, s.predictive FROM "lead_score_internal"."live_scores" s
                        WHERE s.lead_key = ac.lead_key OFFSET 0) s
    CROSS JOIN LATERAL lead_score_internal._live_score(s.state, s.fit + ac.points, s.disqualified_by, s.predictive, lead_score.scoring_time()) x
    WHERE $2 OR NOT x.disqualified),
ps AS MATERIALIZED (SELECT p.lead_key, lead_score_internal._live_batch(m.id, m.version, m.landmark, p.event_type, p.occurred_at, p.p1) AS st, pg_catalog.bool_or(p.occurred_at IS NULL) AS rc
    FROM "lead_score_internal"."live_pending" p CROSS JOIN m
    WHERE (p.lead_key IN (SELECT pc.lead_key FROM pc)) IS TRUE
    GROUP BY p.lead_key),
merged AS (
    SELECT ps.lead_key, x.total, x.fit, x.engagement, x.grade, x.label, x.quadrant, x.mql, x.disqualified
    FROM ps LEFT JOIN (SELECT t.k, t.st FROM ROWS FROM (pg_catalog.unnest(ARRAY(SELECT q.lead_key FROM ps q WHERE q.rc ORDER BY q.lead_key)), pg_catalog.unnest(lead_score_internal._read_states('live', ARRAY(SELECT q.lead_key FROM ps q WHERE q.rc ORDER BY q.lead_key)))) AS t(k, st)) rs ON rs.k = ps.lead_key
    LEFT JOIN adj ON adj.lead_key = (ps.lead_key)::text
    CROSS JOIN LATERAL (SELECT s.state, s.fit, s.disqualified_by, s.predictive FROM "lead_score_internal"."live_scores" s
                        WHERE s.lead_key = ps.lead_key OFFSET 0) s
    CROSS JOIN LATERAL lead_score_internal._live_score(CASE WHEN ps.lead_key IS NULL THEN s.state WHEN ps.rc THEN rs.st ELSE lead_score_internal._live_merge(s.state, ps.st) END, s.fit + coalesce(adj.points, 0::pg_catalog.float8), s.disqualified_by, s.predictive, lead_score.scoring_time()) x
    WHERE $2 OR NOT x.disqualified),
ranked AS (
    SELECT * FROM (SELECT * FROM stored UNION ALL SELECT * FROM merged UNION ALL SELECT * FROM raised) r
    ORDER BY r.total DESC, r.lead_key LIMIT $1)
SELECT ARRAY(SELECT ROW((r.lead_key)::text, r.total, r.fit, r.engagement, r.grade, r.label, r.quadrant, r.mql, r.disqualified)::"lead_score"."top_lead"
             FROM ranked r ORDER BY r.total DESC, r.lead_key),
       (SELECT i.bound FROM idx i ORDER BY i.bound DESC OFFSET $3 LIMIT 1);

-- query current_score
SELECT c."fit", c."engagement", c."total", c."grade", c."label", c."quadrant", c."mql", c."disqualified", c."disqualified_by", c."categories", c."hot_categories", c."last_activity", c."model_version", c."probability", c."predictive_score", c."top_features" FROM "lead_score"."live_current" c WHERE c.lead_key = $1;

-- query timeline
SELECT a."at"::pg_catalog.timestamptz AS occurred_at, (a."kind")::text AS event_type, ARRAY[(a."page")::text]::pg_catalog.text[] AS properties,
       e.rules, e.points
FROM "app"."touches" a
CROSS JOIN LATERAL lead_score_internal._event_points($1, (a."kind")::text, a."at"::pg_catalog.timestamptz, ARRAY[(a."page")::text]::pg_catalog.text[]) e
WHERE a."person" = CAST($2 AS "pg_catalog"."uuid")
ORDER BY a."at" DESC;

-- query key_of_text
SELECT CAST($1 AS "pg_catalog"."uuid");

-- query record_history
WITH cur AS (
    SELECT (c.lead_key)::text AS lead_key, c.fit, c.engagement, c.total, c.grade, c.label, c.quadrant, c.mql, c.disqualified, c.disqualified_by, c.categories, c.hot_categories, c.last_activity, c.model_version, c.probability, c.predictive_score, c.top_features, c.adjustment AS adjustment FROM "lead_score"."live_current" c),
gone AS (
    DELETE FROM lead_score_internal._history_heads h
    WHERE h.attachment = $1 AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.lead_key = h.lead_key)),
changed AS (
    SELECT cur.* FROM cur
    LEFT JOIN lead_score_internal._history_heads h ON h.attachment = $1 AND h.lead_key = cur.lead_key
    WHERE h.lead_key IS NULL
       OR (h.grade, h.label, h.quadrant, h.mql, h.disqualified)
          IS DISTINCT FROM (cur.grade, cur.label, cur.quadrant, cur.mql, cur.disqualified)),
heads AS (
    INSERT INTO lead_score_internal._history_heads AS h (attachment, lead_key, grade, label, quadrant, mql, disqualified)
    SELECT $1, c.lead_key, c.grade, c.label, c.quadrant, c.mql, c.disqualified FROM changed c
    ON CONFLICT (attachment, lead_key) DO UPDATE
    SET (grade, label, quadrant, mql, disqualified)
      = (EXCLUDED.grade, EXCLUDED.label, EXCLUDED.quadrant, EXCLUDED.mql, EXCLUDED.disqualified)
    WHERE NOT EXISTS (SELECT 1 FROM lead_score.score_history l
                      WHERE l.attachment = h.attachment AND l.lead_key = h.lead_key AND l.recorded_at > $2)),
superseded AS (
    DELETE FROM lead_score.score_history s USING changed c
    WHERE (EXISTS (SELECT 1 FROM lead_score.history_settings t WHERE t.attachment = $1 AND t.recorded_at = $2)
           OR EXISTS (SELECT 1 FROM lead_score.adjustments j
                      WHERE j.attachment = $1 AND (j.created_at = $2 OR (j.ended_by IS NOT NULL AND j.expires_at = $2))))
      AND s.attachment = $1 AND s.lead_key = c.lead_key AND s.recorded_at = $2),
-- One hashed pass over cur for the four dimensions (GROUPING: the set's bit
-- is 0, the others' 1, first argument highest).
counts AS (
    INSERT INTO lead_score.class_counts (attachment, day, dimension, class, leads)
    SELECT $1, pg_catalog.timezone('UTC', $2)::pg_catalog.date,
           CASE GROUPING(c.grade, c.label, c.quadrant, c.mql)
               WHEN 7 THEN 'grade' WHEN 11 THEN 'label' WHEN 13 THEN 'quadrant' ELSE 'mql' END,
           CASE GROUPING(c.grade, c.label, c.quadrant, c.mql)
               WHEN 7 THEN c.grade WHEN 11 THEN c.label WHEN 13 THEN c.quadrant ELSE c.mql END,
           pg_catalog.count(*)
    FROM (SELECT cur.grade, cur.label, cur.quadrant, CASE WHEN cur.mql THEN 'MQL' ELSE 'not MQL' END AS mql
          FROM cur) c
    GROUP BY GROUPING SETS ((c.grade), (c.label), (c.quadrant), (c.mql))),
ins AS (
    INSERT INTO lead_score.score_history (attachment, lead_key, recorded_at, fit, engagement, total, grade, label,
                                          quadrant, mql, disqualified, probability, model_version, adjustment)
    SELECT $1, c.lead_key, $2, c.fit, c.engagement, c.total, c.grade, c.label, c.quadrant, c.mql,
           c.disqualified, c.probability, c.model_version, c.adjustment
    FROM changed c
    RETURNING 1)
SELECT pg_catalog.count(*) FROM ins;

-- query backfill_history
WITH fresh AS (
    SELECT a."person" AS k, lead_score.engagement_state($3, (a."kind")::text, a."at", (a."page")::text) AS st
    FROM "app"."touches" a WHERE a."at" <= $2 GROUP BY a."person"),
cur AS (
    SELECT (l."person_id")::text AS lead_key, x.fit, x.engagement, x.total, x.grade, x.label, x.quadrant, x.mql, x.disqualified, x.disqualified_by, x.categories, x.hot_categories, x.last_activity, x.model_version, x.probability, x.predictive_score, x.top_features, NULL::pg_catalog.float8 AS adjustment
    FROM "app"."people" l LEFT JOIN fresh ON fresh.k = l."person_id"
    CROSS JOIN LATERAL lead_score.score($3, l.*, fresh.st) x
    WHERE l."person_id" IS NOT NULL),
gone AS (
    DELETE FROM lead_score_internal._history_heads h
    WHERE h.attachment = $1 AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.lead_key = h.lead_key)),
changed AS (
    SELECT cur.* FROM cur
    LEFT JOIN lead_score_internal._history_heads h ON h.attachment = $1 AND h.lead_key = cur.lead_key
    WHERE h.lead_key IS NULL
       OR (h.grade, h.label, h.quadrant, h.mql, h.disqualified)
          IS DISTINCT FROM (cur.grade, cur.label, cur.quadrant, cur.mql, cur.disqualified)),
heads AS (
    INSERT INTO lead_score_internal._history_heads AS h (attachment, lead_key, grade, label, quadrant, mql, disqualified)
    SELECT $1, c.lead_key, c.grade, c.label, c.quadrant, c.mql, c.disqualified FROM changed c
    ON CONFLICT (attachment, lead_key) DO UPDATE
    SET (grade, label, quadrant, mql, disqualified)
      = (EXCLUDED.grade, EXCLUDED.label, EXCLUDED.quadrant, EXCLUDED.mql, EXCLUDED.disqualified)
    WHERE NOT EXISTS (SELECT 1 FROM lead_score.score_history l
                      WHERE l.attachment = h.attachment AND l.lead_key = h.lead_key AND l.recorded_at > $2)),
-- One hashed pass over cur for the four dimensions (GROUPING: the set's bit
-- is 0, the others' 1, first argument highest).
counts AS (
    INSERT INTO lead_score.class_counts (attachment, day, dimension, class, leads)
    SELECT $1, pg_catalog.timezone('UTC', $2)::pg_catalog.date,
           CASE GROUPING(c.grade, c.label, c.quadrant, c.mql)
               WHEN 7 THEN 'grade' WHEN 11 THEN 'label' WHEN 13 THEN 'quadrant' ELSE 'mql' END,
           CASE GROUPING(c.grade, c.label, c.quadrant, c.mql)
               WHEN 7 THEN c.grade WHEN 11 THEN c.label WHEN 13 THEN c.quadrant ELSE c.mql END,
           pg_catalog.count(*)
    FROM (SELECT cur.grade, cur.label, cur.quadrant, CASE WHEN cur.mql THEN 'MQL' ELSE 'not MQL' END AS mql
          FROM cur) c
    GROUP BY GROUPING SETS ((c.grade), (c.label), (c.quadrant), (c.mql))),
ins AS (
    INSERT INTO lead_score.score_history (attachment, lead_key, recorded_at, fit, engagement, total, grade, label,
                                          quadrant, mql, disqualified, probability, model_version, adjustment)
    SELECT $1, c.lead_key, $2, c.fit, c.engagement, c.total, c.grade, c.label, c.quadrant, c.mql,
           c.disqualified, c.probability, c.model_version, c.adjustment
    FROM changed c
    RETURNING 1)
SELECT pg_catalog.count(*) FROM ins;

-- query record_history_lead
WITH c AS (
    SELECT (c.lead_key)::text AS lead_key, c.fit, c.engagement, c.total, c.grade, c.label, c.quadrant, c.mql, c.disqualified, c.disqualified_by, c.categories, c.hot_categories, c.last_activity, c.model_version, c.probability, c.predictive_score, c.top_features, c.adjustment AS adjustment FROM "lead_score"."live_current" c WHERE c.lead_key = CAST($3 AS "pg_catalog"."uuid")),
heads AS (
    INSERT INTO lead_score_internal._history_heads AS h (attachment, lead_key, grade, label, quadrant, mql, disqualified)
    SELECT $1, c.lead_key, c.grade, c.label, c.quadrant, c.mql, c.disqualified FROM c c
    ON CONFLICT (attachment, lead_key) DO UPDATE
    SET (grade, label, quadrant, mql, disqualified)
      = (EXCLUDED.grade, EXCLUDED.label, EXCLUDED.quadrant, EXCLUDED.mql, EXCLUDED.disqualified)
    WHERE NOT EXISTS (SELECT 1 FROM lead_score.score_history l
                      WHERE l.attachment = h.attachment AND l.lead_key = h.lead_key AND l.recorded_at > $2)),
ins AS (
    INSERT INTO lead_score.score_history (attachment, lead_key, recorded_at, fit, engagement, total, grade, label,
                                          quadrant, mql, disqualified, probability, model_version, adjustment)
    SELECT $1, c.lead_key, $2, c.fit, c.engagement, c.total, c.grade, c.label, c.quadrant, c.mql,
           c.disqualified, c.probability, c.model_version, c.adjustment
    FROM c c
    RETURNING 1)
SELECT pg_catalog.count(*) FROM ins;

-- query lead_key_text
SELECT (c.lead_key)::text FROM "lead_score"."live_current" c WHERE c.lead_key = CAST($1 AS "pg_catalog"."uuid");

-- query explain_lead
SELECT x.* FROM "app"."people" l
LEFT JOIN LATERAL (
    SELECT lead_score.engagement_state($1, (a."kind")::text, a."at", (a."page")::text) AS st
    FROM "app"."touches" a WHERE a."person" = l."person_id" AND a."at" <= lead_score.scoring_time()) e ON true
CROSS JOIN LATERAL lead_score.explain($1, l.*, e.st) x
WHERE l."person_id" = CAST($2 AS "pg_catalog"."uuid");

-- query top_leads_all
SELECT (s.lead_key)::text, x.total, x.fit, x.engagement, x.grade, x.label, x.quadrant, x.mql, x.disqualified
FROM "lead_score_internal"."live_merged" s
LEFT JOIN lead_score_internal._adjustment_sums j ON j.attachment = 'live' AND j.lead_key = (s.lead_key)::text
CROSS JOIN LATERAL lead_score_internal._live_score(s.state, s.fit + coalesce(lead_score_internal._adjustment_points(j.ids, j.points, j.created_at, j.expires_at, lead_score.scoring_time()), 0::pg_catalog.float8), s.disqualified_by, s.predictive, lead_score.scoring_time()) x
WHERE $2 OR NOT x.disqualified
ORDER BY x.total DESC, s.lead_key LIMIT $1;

-- query current_score_text
SELECT c."fit", c."engagement", c."total", c."grade", c."label", c."quadrant", c."mql", c."disqualified", c."disqualified_by", c."categories", c."hot_categories", c."last_activity", c."model_version", c."probability", c."predictive_score", c."top_features" FROM "lead_score"."live_current" c WHERE c.lead_key = CAST($1 AS "pg_catalog"."uuid");

-- query fold
SELECT "lead_score_internal"."live__fold"();

-- query clear_pending
DELETE FROM "lead_score_internal"."live_pending";

-- query citus_outbox
CREATE TABLE "lead_score_internal"."live_outbox" (lead_key "pg_catalog"."uuid" NOT NULL, attachment text NOT NULL, model text NOT NULL, kind text NOT NULL, detail text, total float8, at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp());

-- query citus_relay
WITH moved AS (DELETE FROM "lead_score_internal"."live_outbox" o RETURNING o.*),
written AS (
    INSERT INTO lead_score.alerts AS t (attachment, model, lead_key, kind, detail, total, at)
    SELECT m.attachment, m.model, (m.lead_key)::text, m.kind, m.detail, m.total, m.at FROM moved m ORDER BY m.at
    RETURNING t.id, t.attachment)
SELECT pg_catalog.count(pg_catalog.pg_notify('lead_score_alerts', pg_catalog.json_build_object('id', w.id, 'attachment', w.attachment)::text))
FROM (SELECT * FROM written ORDER BY id) w;

-- query pending_summary
SELECT pg_catalog.count(*) FILTER (WHERE p.occurred_at IS NOT NULL), pg_catalog.count(DISTINCT p.lead_key), pg_catalog.count(DISTINCT p.lead_key) FILTER (WHERE p.occurred_at IS NULL) FROM "lead_score_internal"."live_pending" p;

-- query record_stale
INSERT INTO "lead_score_internal"."live_stale" (lead_key) SELECT DISTINCT p.lead_key FROM "lead_score_internal"."live_pending" p
           WHERE p.ctid = ANY ($1);

-- query pending_of
SELECT p.xmin FROM "lead_score_internal"."live_pending" p WHERE p.lead_key IN (SELECT pg_catalog.unnest($1)) AND EXISTS (SELECT 1 FROM "lead_score_internal"."live_scores" s WHERE s.lead_key = p.lead_key);

-- query account_totals
SELECT g.account, g.fit + g.engagement AS total, lead_score.account_alerting('live', g.fit + g.engagement, g.disqualified) AS alerting
FROM (SELECT l.account AS account, pg_catalog.count(*) AS leads,
             pg_catalog.count(*) FILTER (WHERE NOT c.disqualified AND lead_score.account_engaged('live', c.engagement)) AS engaged_leads,
             coalesce(pg_catalog.max(c.fit) FILTER (WHERE NOT c.disqualified), 0) AS fit,
             lead_score.account_engagement('live', coalesce(pg_catalog.sum(c.engagement ORDER BY c.lead_key) FILTER (WHERE NOT c.disqualified), 0)) AS engagement,
             pg_catalog.bool_and(c.disqualified) AS disqualified
      FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.text[])) AS l(k, account)
      JOIN "lead_score"."live_current" c ON c.lead_key = CAST(l.k AS "pg_catalog"."uuid")
      GROUP BY 1) g;

-- query account_seed
INSERT INTO "lead_score_internal"."live_account_heads" (account, field, alerting, total, checked_at) SELECT a.account, 'company', a.alerting, a.total, lead_score_internal._now() FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.float8[]), pg_catalog.unnest($3::pg_catalog.bool[])) AS a(account, total, alerting) ON CONFLICT ((pg_catalog.hashtextextended(account, 0)), (pg_catalog.hashtextextended(account, 1))) DO NOTHING;

-- query account_alerts
WITH now AS MATERIALIZED (SELECT a.account, a.alerting, a.total FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.float8[]), pg_catalog.unnest($3::pg_catalog.bool[])) AS a(account, total, alerting)),
changed AS MATERIALIZED (
    SELECT n.account, n.alerting, n.total FROM now n
    LEFT JOIN "lead_score_internal"."live_account_heads" h ON h.account = n.account AND h.field = 'company'
    WHERE h.account IS NULL OR h.alerting IS DISTINCT FROM n.alerting),
-- An account with no lead left is forgotten: if it comes back, it is new.
gone AS (
    DELETE FROM "lead_score_internal"."live_account_heads" h WHERE NOT EXISTS (SELECT 1 FROM now n WHERE n.account = h.account)),
moved AS (
    INSERT INTO "lead_score_internal"."live_account_heads" AS h (account, field, alerting, total, checked_at)
    SELECT c.account, 'company', c.alerting, c.total, lead_score_internal._now() FROM changed c
    ON CONFLICT ((pg_catalog.hashtextextended(account, 0)), (pg_catalog.hashtextextended(account, 1))) DO UPDATE SET field = EXCLUDED.field, alerting = EXCLUDED.alerting, total = EXCLUDED.total, checked_at = EXCLUDED.checked_at
    WHERE h.account = EXCLUDED.account)
SELECT coalesce(lead_score_internal._emit_alerts('live', 'live',
           pg_catalog.array_agg(c.account ORDER BY c.account), pg_catalog.array_agg(c.total ORDER BY c.account),
           pg_catalog.array_agg(pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('kind', 'account', 'detail',
               'account total ' OPERATOR(pg_catalog.||) pg_catalog.round(c.total::pg_catalog.numeric, 2) OPERATOR(pg_catalog.||) ' reached accounts.alert')) ORDER BY c.account)), 0)
FROM changed c WHERE c.alerting;

-- query account_explain
SELECT (c.lead_key)::text AS lead_key, c.fit, c.engagement, c.disqualified, c.disqualified_by,
       NOT c.disqualified AND lead_score.account_engaged('live', c.engagement) AS engaged,
       coalesce(pg_catalog.sum(c.engagement) FILTER (WHERE NOT c.disqualified) OVER (ORDER BY c.lead_key ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), 0) AS summed
FROM "app"."people" l JOIN "lead_score"."live_current" c ON c.lead_key = l."person_id"
WHERE (l."company")::text OPERATOR(pg_catalog.=) $1
ORDER BY c.disqualified, c.fit DESC, c.engagement DESC, 1;

-- account objects when a version is published
CREATE VIEW "lead_score"."live_account_categories" WITH (security_invoker = true) AS
SELECT (l."company")::text AS account, c.category, pg_catalog.sum(c.score ORDER BY c.lead_key) AS score
FROM "app"."people" l JOIN "lead_score"."live_categories" c ON c.lead_key = l."person_id"
      WHERE l."company" IS NOT NULL
GROUP BY 1, 2;
CREATE VIEW "lead_score"."live_accounts" WITH (security_invoker = true) AS
SELECT g.account, g.leads, g.engaged_leads, g.fit, g.engagement, g.fit + g.engagement AS total,
       lead_score.grade('live', g.fit) AS grade,
       lead_score.account_quadrant('live', g.fit, g.engagement, g.disqualified) AS quadrant,
       lead_score.account_alerting('live', g.fit + g.engagement, g.disqualified) AS alerting,
       coalesce(t.top_categories, '{}'::text[]) AS top_categories
FROM (SELECT (l."company")::text AS account, pg_catalog.count(*) AS leads,
             pg_catalog.count(*) FILTER (WHERE NOT c.disqualified AND lead_score.account_engaged('live', c.engagement)) AS engaged_leads,
             coalesce(pg_catalog.max(c.fit) FILTER (WHERE NOT c.disqualified), 0) AS fit,
             lead_score.account_engagement('live', coalesce(pg_catalog.sum(c.engagement ORDER BY c.lead_key) FILTER (WHERE NOT c.disqualified), 0)) AS engagement,
             pg_catalog.bool_and(c.disqualified) AS disqualified,
             pg_catalog.array_agg(c.categories ORDER BY c.lead_key) FILTER (WHERE NOT c.disqualified) AS categories
      FROM "app"."people" l JOIN "lead_score"."live_current" c ON c.lead_key = l."person_id"
      WHERE l."company" IS NOT NULL
      GROUP BY 1) g
LEFT JOIN LATERAL (SELECT pg_catalog.array_agg(k.category ORDER BY k.score DESC, k.category) AS top_categories
           FROM (SELECT e.key AS category, pg_catalog.sum((e.value)::pg_catalog.float8 ORDER BY o.n) AS score
                 FROM pg_catalog.unnest(g.categories) WITH ORDINALITY o(c, n)
                 CROSS JOIN LATERAL pg_catalog.jsonb_each_text(o.c) e GROUP BY e.key) k
           WHERE k.score * 1e6::pg_catalog.float8 >= 0.5) t ON true;
COMMENT ON VIEW "lead_score"."live_accounts" IS 'Account scores of the attachment (the model''s accounts section), one row per account, read at lead_score.scoring_time().';
COMMENT ON COLUMN "lead_score"."live_accounts"."account" IS 'The account, as the leads'' accounts.field holds it (as text)';
COMMENT ON COLUMN "lead_score"."live_accounts"."leads" IS 'Leads of the account';
COMMENT ON COLUMN "lead_score"."live_accounts"."engaged_leads" IS 'Of them, leads not disqualified with engagement at or above accounts.engaged_min (default: above 0)';
COMMENT ON COLUMN "lead_score"."live_accounts"."fit" IS 'Best fit of the account''s leads that are not disqualified';
COMMENT ON COLUMN "lead_score"."live_accounts"."engagement" IS 'Their engagement summed, capped at accounts.cap';
COMMENT ON COLUMN "lead_score"."live_accounts"."total" IS 'fit + engagement';
COMMENT ON COLUMN "lead_score"."live_accounts"."grade" IS 'The model''s grade of the account''s fit';
COMMENT ON COLUMN "lead_score"."live_accounts"."quadrant" IS 'act_now, account_based, check_fit, nurture (accounts.quadrant, else the model''s thresholds), or disqualified when every lead is';
COMMENT ON COLUMN "lead_score"."live_accounts"."alerting" IS 'total is at or above accounts.alert';
COMMENT ON COLUMN "lead_score"."live_accounts"."top_categories" IS 'Categories whose summed score is positive once rounded to a millionth, most engaged first (long form: <name>_account_categories)';
COMMENT ON VIEW "lead_score"."live_account_categories" IS 'Category scores of the attachment''s accounts, summed over their leads, one row per account and category.';
COMMENT ON COLUMN "lead_score"."live_account_categories"."account" IS 'The account (as text)';
COMMENT ON COLUMN "lead_score"."live_account_categories"."category" IS 'A category the model declares';
COMMENT ON COLUMN "lead_score"."live_account_categories"."score" IS 'The category scores of the account''s leads, summed (each capped per lead)';
COMMENT ON TABLE "lead_score_internal"."live_account_heads" IS 'Internal: whether each account was alerting when tick() last checked, so it alerts once per crossing.';
COMMENT ON COLUMN "lead_score_internal"."live_account_heads"."account" IS 'The account (as text)';
COMMENT ON COLUMN "lead_score_internal"."live_account_heads"."field" IS 'The accounts.field it was read from (rows of another field are stale)';
COMMENT ON COLUMN "lead_score_internal"."live_account_heads"."alerting" IS 'Its total was at or above accounts.alert';
COMMENT ON COLUMN "lead_score_internal"."live_account_heads"."total" IS 'Its total then';
COMMENT ON COLUMN "lead_score_internal"."live_account_heads"."checked_at" IS 'When tick() (or attach) recorded it';
DELETE FROM "lead_score_internal"."live_account_heads" h WHERE h.field OPERATOR(pg_catalog.<>) 'company';
GRANT SELECT ON "lead_score"."live_accounts", "lead_score"."live_account_categories" TO "lead_score_reader", "lead_score_admin";

-- current_scores and current_categories with this attachment alone
CREATE VIEW "lead_score"."current_scores" AS
SELECT 'live'::text AS attachment, 'live'::text AS model, ((c.lead_key)::text) COLLATE pg_catalog."default" AS lead_key, c."fit", c."engagement", c."total", c."grade", c."label", c."quadrant", c."mql", c."disqualified", c."disqualified_by", c."categories", c."hot_categories", c."last_activity", c."model_version", c."probability", c."predictive_score", c."top_features", c."adjustment"
FROM "lead_score"."live_current" c;
COMMENT ON VIEW "lead_score"."current_scores" IS 'Current scores of every attachment at scoring_time(), one row per lead per attachment, for BI tools.';
COMMENT ON COLUMN "lead_score"."current_scores"."attachment" IS 'Attachment the score belongs to: one row per lead per attachment, so filter or group by it';
COMMENT ON COLUMN "lead_score"."current_scores"."model" IS 'The attachment''s model';
COMMENT ON COLUMN "lead_score"."current_scores"."lead_key" IS 'The lead''s key as text (each attachment''s <name>_current view keeps its own type)';
COMMENT ON COLUMN "lead_score"."current_scores"."fit" IS 'Fit score: points of the fit rules that hold, completeness, clamped';
COMMENT ON COLUMN "lead_score"."current_scores"."engagement" IS 'Engagement score: decayed, capped points of the engagement rules';
COMMENT ON COLUMN "lead_score"."current_scores"."total" IS 'fit + engagement';
COMMENT ON COLUMN "lead_score"."current_scores"."grade" IS 'Grade of the fit score (classification.grades)';
COMMENT ON COLUMN "lead_score"."current_scores"."label" IS 'Label of the engagement score (classification.labels)';
COMMENT ON COLUMN "lead_score"."current_scores"."quadrant" IS 'act_now, account_based, check_fit, nurture or disqualified';
COMMENT ON COLUMN "lead_score"."current_scores"."mql" IS 'Marketing-qualified lead (classification.mql)';
COMMENT ON COLUMN "lead_score"."current_scores"."disqualified" IS 'A disqualify rule holds';
COMMENT ON COLUMN "lead_score"."current_scores"."disqualified_by" IS 'Name of the first disqualify rule that holds';
COMMENT ON COLUMN "lead_score"."current_scores"."categories" IS 'Category scores after their caps, as {"category": score}';
COMMENT ON COLUMN "lead_score"."current_scores"."hot_categories" IS 'Categories at or above their watermark';
COMMENT ON COLUMN "lead_score"."current_scores"."last_activity" IS 'Time of the lead''s latest counted activity';
COMMENT ON COLUMN "lead_score"."current_scores"."model_version" IS 'Model version that scored the lead';
COMMENT ON COLUMN "lead_score"."current_scores"."probability" IS 'Probability of converting from the model''s predictive section';
COMMENT ON COLUMN "lead_score"."current_scores"."predictive_score" IS 'round(100 x probability), 0 to 100';
COMMENT ON COLUMN "lead_score"."current_scores"."top_features" IS 'Largest contributions to the log-odds, [{"feature", "contribution"}]';
COMMENT ON COLUMN "lead_score"."current_scores"."adjustment" IS 'Manual points (lead_score.adjust) active at scoring_time(); fit and total include them';
GRANT SELECT ON "lead_score"."current_scores" TO "lead_score_reader";
CREATE VIEW "lead_score"."current_categories" AS
SELECT 'live'::text AS attachment, ((c.lead_key)::text) COLLATE pg_catalog."default" AS lead_key, c.category, c.score, c.hot
FROM "lead_score"."live_categories" c;
COMMENT ON VIEW "lead_score"."current_categories" IS 'Category scores of every attachment at scoring_time(), one row per lead, attachment and category, for BI tools.';
COMMENT ON COLUMN "lead_score"."current_categories"."attachment" IS 'Attachment the score belongs to: one row per lead per attachment, so filter or group by it';
COMMENT ON COLUMN "lead_score"."current_categories"."lead_key" IS 'The lead''s key as text (each attachment''s <name>_current view keeps its own type)';
COMMENT ON COLUMN "lead_score"."current_categories"."category" IS 'A category the model declares (engagement.categories)';
COMMENT ON COLUMN "lead_score"."current_categories"."score" IS 'The lead''s score in the category, after its cap';
COMMENT ON COLUMN "lead_score"."current_categories"."hot" IS 'The score is at or above the category''s watermark';
GRANT SELECT ON "lead_score"."current_categories" TO "lead_score_reader";

-- query owner_read (run as the activity table's owner)
SELECT k.i, (a."kind")::text, (a."at")::pg_catalog.timestamptz, (a."page")::text FROM pg_catalog.unnest($1) WITH ORDINALITY AS k(k, i) JOIN "app"."touches" a ON a."person" = k.k;

-- query owner_read, few keys (each by the lead key index)
SELECT k.i, (a."kind")::text, (a."at")::pg_catalog.timestamptz, (a."page")::text FROM pg_catalog.unnest($1) WITH ORDINALITY AS k(k, i) CROSS JOIN LATERAL (SELECT * FROM "app"."touches" a WHERE a."person" = k.k OFFSET 0) a;

-- query evaluation_rows (deals)
WITH fresh AS (
    SELECT a."person" AS k, lead_score.engagement_state($1, (a."kind")::text, a."at", (a."page")::text) AS st
    FROM "app"."touches" a WHERE a."at" <= $2 GROUP BY a."person"),
outcome AS (SELECT (o."lead ref")::"pg_catalog"."uuid" AS k, pg_catalog.bool_or((o."won")::pg_catalog.bool) AS won, pg_catalog.min((o."closed_at")::pg_catalog.timestamptz) AS closed_at
    FROM "crm"."deals" o WHERE o."won" IS NOT NULL AND o."lead ref" IS NOT NULL GROUP BY 1)
SELECT (l."person_id")::text AS lead_key, oc.won, x.total, x.grade, x.label, x.quadrant, x.mql, x.disqualified
FROM "app"."people" l
JOIN outcome oc ON oc.k = l."person_id"
LEFT JOIN fresh ON fresh.k = l."person_id"
CROSS JOIN LATERAL lead_score.score($1, l.*, fresh.st) x
WHERE (oc.closed_at IS NULL OR oc.closed_at >= $2) AND (l."created")::pg_catalog.timestamptz <= $2;

-- query evaluation_rows_per_lead (deals)
WITH fresh AS (
    SELECT a."person" AS k, lead_score_internal._live_batch($3, $4, (l2."created")::pg_catalog.timestamptz + $2 * pg_catalog.make_interval(days => 1), (a."kind")::text, a."at", (a."page")::text) AS st
    FROM "app"."touches" a JOIN "app"."people" l2 ON l2."person_id" = a."person"
    WHERE a."at" <= (l2."created")::pg_catalog.timestamptz + $2 * pg_catalog.make_interval(days => 1) GROUP BY a."person"),
outcome AS (SELECT (o."lead ref")::"pg_catalog"."uuid" AS k, pg_catalog.bool_or((o."won")::pg_catalog.bool) AS won, pg_catalog.min((o."closed_at")::pg_catalog.timestamptz) AS closed_at
    FROM "crm"."deals" o WHERE o."won" IS NOT NULL AND o."lead ref" IS NOT NULL GROUP BY 1)
SELECT (l."person_id")::text AS lead_key, oc.won, x.total, x.grade, x.label, x.quadrant, x.mql, x.disqualified
FROM "app"."people" l
JOIN outcome oc ON oc.k = l."person_id"
LEFT JOIN fresh ON fresh.k = l."person_id"
CROSS JOIN LATERAL (SELECT (l."created")::pg_catalog.timestamptz + $2 * pg_catalog.make_interval(days => 1) AS at) c
CROSS JOIN LATERAL lead_score_internal._live_score(coalesce(fresh.st, lead_score_internal._live_empty($3, $4, c.at)),
                                          lead_score.fit($1, l.*), lead_score.disqualified_by($1, l.*),
                                          lead_score_internal._predictive_on($1, l.*), c.at) x
WHERE c.at IS NOT NULL AND (oc.closed_at IS NULL OR oc.closed_at >= c.at);

-- query backtest_arrays (deals, 3 versions)
WITH fresh AS (
    SELECT a."person" AS k, lead_score.engagement_state($1[1], (a."kind")::text, a."at", (a."page")::text) AS st1,
           lead_score.engagement_state($1[2], (a."kind")::text, a."at", (a."page")::text) AS st2,
           lead_score.engagement_state($1[3], (a."kind")::text, a."at", (a."page")::text) AS st3
    FROM "app"."touches" a WHERE a."at" <= $2 GROUP BY a."person"),
outcome AS (SELECT (o."lead ref")::"pg_catalog"."uuid" AS k, pg_catalog.bool_or((o."won")::pg_catalog.bool) AS won, pg_catalog.min((o."closed_at")::pg_catalog.timestamptz) AS closed_at
    FROM "crm"."deals" o WHERE o."won" IS NOT NULL AND o."lead ref" IS NOT NULL GROUP BY 1)
SELECT pg_catalog.array_agg(r.won), pg_catalog.array_agg(r.totals)
FROM (SELECT oc.won, ARRAY[(lead_score.score($1[1], l.*, fresh.st1)).total, (lead_score.score($1[2], l.*, fresh.st2)).total, (lead_score.score($1[3], l.*, fresh.st3)).total] AS totals
      FROM "app"."people" l
      JOIN outcome oc ON oc.k = l."person_id"
      LEFT JOIN fresh ON fresh.k = l."person_id"
      WHERE (oc.closed_at IS NULL OR oc.closed_at >= $2) AND (l."created")::pg_catalog.timestamptz <= $2) r;

-- query design_query (deals)
SELECT oc.won, (l."industry")::pg_catalog.text, (l."it's")::pg_catalog.text, coalesce(ev.e0, 0)::pg_catalog.float8, coalesce(ev.e1, 0)::pg_catalog.float8
FROM "app"."people" l JOIN (SELECT (o."lead ref")::"pg_catalog"."uuid" AS k, pg_catalog.bool_or((o."won")::pg_catalog.bool) AS won, pg_catalog.min((o."closed_at")::pg_catalog.timestamptz) AS closed_at
    FROM "crm"."deals" o WHERE o."won" IS NOT NULL AND o."lead ref" IS NOT NULL GROUP BY 1) oc ON oc.k = l."person_id"
CROSS JOIN LATERAL (SELECT coalesce(oc.closed_at, lead_score_internal._now()) AS at) c
LEFT JOIN LATERAL (
    SELECT pg_catalog.sum(CASE WHEN (CASE WHEN a."at" = c.at THEN 0::pg_catalog.float8 WHEN pg_catalog.isfinite(a."at") AND pg_catalog.isfinite(c.at) THEN pg_catalog.date_part('epoch', c.at - a."at") * 1e6 ELSE 'Infinity'::pg_catalog.float8 END) / 604800000000.0 > 1074 THEN 0::pg_catalog.float8 ELSE pg_catalog.power(2::pg_catalog.float8, -(CASE WHEN a."at" = c.at THEN 0::pg_catalog.float8 WHEN pg_catalog.isfinite(a."at") AND pg_catalog.isfinite(c.at) THEN pg_catalog.date_part('epoch', c.at - a."at") * 1e6 ELSE 'Infinity'::pg_catalog.float8 END) / 604800000000.0) END) FILTER (WHERE (a."kind")::text = 'page_view') AS e0,
           pg_catalog.sum(CASE WHEN (CASE WHEN a."at" = c.at THEN 0::pg_catalog.float8 WHEN pg_catalog.isfinite(a."at") AND pg_catalog.isfinite(c.at) THEN pg_catalog.date_part('epoch', c.at - a."at") * 1e6 ELSE 'Infinity'::pg_catalog.float8 END) / 604800000000.0 > 1074 THEN 0::pg_catalog.float8 ELSE pg_catalog.power(2::pg_catalog.float8, -(CASE WHEN a."at" = c.at THEN 0::pg_catalog.float8 WHEN pg_catalog.isfinite(a."at") AND pg_catalog.isfinite(c.at) THEN pg_catalog.date_part('epoch', c.at - a."at") * 1e6 ELSE 'Infinity'::pg_catalog.float8 END) / 604800000000.0) END) FILTER (WHERE (a."kind")::text = 'o''clock') AS e1
    FROM "app"."touches" a WHERE a."person" = l."person_id" AND a."at" <= c.at) ev ON true
ORDER BY (l."person_id")::text;

-- query evaluation_rows (one row a lead)
WITH fresh AS (
    SELECT a."person" AS k, lead_score.engagement_state($1, (a."kind")::text, a."at", (a."page")::text) AS st
    FROM "app"."touches" a WHERE a."at" <= $2 GROUP BY a."person"),
outcome AS (SELECT (o."lead ref")::"pg_catalog"."uuid" AS k, (o."won")::pg_catalog.bool AS won, (o."closed_at")::pg_catalog.timestamptz AS closed_at
    FROM "crm"."deals" o WHERE o."won" IS NOT NULL AND o."lead ref" IS NOT NULL)
SELECT (l."person_id")::text AS lead_key, oc.won, x.total, x.grade, x.label, x.quadrant, x.mql, x.disqualified
FROM "app"."people" l
JOIN outcome oc ON oc.k = l."person_id"
LEFT JOIN fresh ON fresh.k = l."person_id"
CROSS JOIN LATERAL lead_score.score($1, l.*, fresh.st) x
WHERE (oc.closed_at IS NULL OR oc.closed_at >= $2) AND (l."created")::pg_catalog.timestamptz <= $2;

-- query evaluation_rows_per_lead (one row a lead)
WITH fresh AS (
    SELECT a."person" AS k, lead_score_internal._live_batch($3, $4, (l2."created")::pg_catalog.timestamptz + $2 * pg_catalog.make_interval(days => 1), (a."kind")::text, a."at", (a."page")::text) AS st
    FROM "app"."touches" a JOIN "app"."people" l2 ON l2."person_id" = a."person"
    WHERE a."at" <= (l2."created")::pg_catalog.timestamptz + $2 * pg_catalog.make_interval(days => 1) GROUP BY a."person"),
outcome AS (SELECT (o."lead ref")::"pg_catalog"."uuid" AS k, (o."won")::pg_catalog.bool AS won, (o."closed_at")::pg_catalog.timestamptz AS closed_at
    FROM "crm"."deals" o WHERE o."won" IS NOT NULL AND o."lead ref" IS NOT NULL)
SELECT (l."person_id")::text AS lead_key, oc.won, x.total, x.grade, x.label, x.quadrant, x.mql, x.disqualified
FROM "app"."people" l
JOIN outcome oc ON oc.k = l."person_id"
LEFT JOIN fresh ON fresh.k = l."person_id"
CROSS JOIN LATERAL (SELECT (l."created")::pg_catalog.timestamptz + $2 * pg_catalog.make_interval(days => 1) AS at) c
CROSS JOIN LATERAL lead_score_internal._live_score(coalesce(fresh.st, lead_score_internal._live_empty($3, $4, c.at)),
                                          lead_score.fit($1, l.*), lead_score.disqualified_by($1, l.*),
                                          lead_score_internal._predictive_on($1, l.*), c.at) x
WHERE c.at IS NOT NULL AND (oc.closed_at IS NULL OR oc.closed_at >= c.at);

-- query backtest_arrays (one row a lead, 3 versions)
WITH fresh AS (
    SELECT a."person" AS k, lead_score.engagement_state($1[1], (a."kind")::text, a."at", (a."page")::text) AS st1,
           lead_score.engagement_state($1[2], (a."kind")::text, a."at", (a."page")::text) AS st2,
           lead_score.engagement_state($1[3], (a."kind")::text, a."at", (a."page")::text) AS st3
    FROM "app"."touches" a WHERE a."at" <= $2 GROUP BY a."person"),
outcome AS (SELECT (o."lead ref")::"pg_catalog"."uuid" AS k, (o."won")::pg_catalog.bool AS won, (o."closed_at")::pg_catalog.timestamptz AS closed_at
    FROM "crm"."deals" o WHERE o."won" IS NOT NULL AND o."lead ref" IS NOT NULL)
SELECT pg_catalog.array_agg(r.won), pg_catalog.array_agg(r.totals)
FROM (SELECT oc.won, ARRAY[(lead_score.score($1[1], l.*, fresh.st1)).total, (lead_score.score($1[2], l.*, fresh.st2)).total, (lead_score.score($1[3], l.*, fresh.st3)).total] AS totals
      FROM "app"."people" l
      JOIN outcome oc ON oc.k = l."person_id"
      LEFT JOIN fresh ON fresh.k = l."person_id"
      WHERE (oc.closed_at IS NULL OR oc.closed_at >= $2) AND (l."created")::pg_catalog.timestamptz <= $2) r;

-- query design_query (one row a lead)
SELECT oc.won, (l."industry")::pg_catalog.text, (l."it's")::pg_catalog.text, coalesce(ev.e0, 0)::pg_catalog.float8, coalesce(ev.e1, 0)::pg_catalog.float8
FROM "app"."people" l JOIN (SELECT (o."lead ref")::"pg_catalog"."uuid" AS k, (o."won")::pg_catalog.bool AS won, (o."closed_at")::pg_catalog.timestamptz AS closed_at
    FROM "crm"."deals" o WHERE o."won" IS NOT NULL AND o."lead ref" IS NOT NULL) oc ON oc.k = l."person_id"
CROSS JOIN LATERAL (SELECT coalesce(oc.closed_at, lead_score_internal._now()) AS at) c
LEFT JOIN LATERAL (
    SELECT pg_catalog.sum(CASE WHEN (CASE WHEN a."at" = c.at THEN 0::pg_catalog.float8 WHEN pg_catalog.isfinite(a."at") AND pg_catalog.isfinite(c.at) THEN pg_catalog.date_part('epoch', c.at - a."at") * 1e6 ELSE 'Infinity'::pg_catalog.float8 END) / 604800000000.0 > 1074 THEN 0::pg_catalog.float8 ELSE pg_catalog.power(2::pg_catalog.float8, -(CASE WHEN a."at" = c.at THEN 0::pg_catalog.float8 WHEN pg_catalog.isfinite(a."at") AND pg_catalog.isfinite(c.at) THEN pg_catalog.date_part('epoch', c.at - a."at") * 1e6 ELSE 'Infinity'::pg_catalog.float8 END) / 604800000000.0) END) FILTER (WHERE (a."kind")::text = 'page_view') AS e0,
           pg_catalog.sum(CASE WHEN (CASE WHEN a."at" = c.at THEN 0::pg_catalog.float8 WHEN pg_catalog.isfinite(a."at") AND pg_catalog.isfinite(c.at) THEN pg_catalog.date_part('epoch', c.at - a."at") * 1e6 ELSE 'Infinity'::pg_catalog.float8 END) / 604800000000.0 > 1074 THEN 0::pg_catalog.float8 ELSE pg_catalog.power(2::pg_catalog.float8, -(CASE WHEN a."at" = c.at THEN 0::pg_catalog.float8 WHEN pg_catalog.isfinite(a."at") AND pg_catalog.isfinite(c.at) THEN pg_catalog.date_part('epoch', c.at - a."at") * 1e6 ELSE 'Infinity'::pg_catalog.float8 END) / 604800000000.0) END) FILTER (WHERE (a."kind")::text = 'o''clock') AS e1
    FROM "app"."touches" a WHERE a."person" = l."person_id" AND a."at" <= c.at) ev ON true
ORDER BY (l."person_id")::text;

-- detach
DROP TRIGGER IF EXISTS "lead_score_live_ins" ON "app"."touches";
DROP TRIGGER IF EXISTS "lead_score_live_upd" ON "app"."touches";
DROP TRIGGER IF EXISTS "lead_score_live_del" ON "app"."touches";
DROP TRIGGER IF EXISTS "lead_score_live_trunc" ON "app"."touches";
DROP TRIGGER IF EXISTS "lead_score_live_ins" ON "app"."people";
DROP TRIGGER IF EXISTS "lead_score_live_upd" ON "app"."people";
DROP TRIGGER IF EXISTS "lead_score_live_del" ON "app"."people";
DROP TRIGGER IF EXISTS "lead_score_live_trunc" ON "app"."people";
DROP FUNCTION IF EXISTS "lead_score_internal"."live__act_ins"();
DROP FUNCTION IF EXISTS "lead_score_internal"."live__act_upd"();
DROP FUNCTION IF EXISTS "lead_score_internal"."live__act_del"();
DROP FUNCTION IF EXISTS "lead_score_internal"."live__act_trunc"();
DROP FUNCTION IF EXISTS "lead_score_internal"."live__lead_ins"();
DROP FUNCTION IF EXISTS "lead_score_internal"."live__lead_upd"();
DROP FUNCTION IF EXISTS "lead_score_internal"."live__lead_del"();
DROP FUNCTION IF EXISTS "lead_score_internal"."live__lead_trunc"();
DROP FUNCTION IF EXISTS "lead_score_internal"."live__fold";
DROP FUNCTION IF EXISTS "lead_score_internal"."live__commit_fold";
DROP FUNCTION IF EXISTS "lead_score_internal"."live__drop_orphans";
DROP FUNCTION IF EXISTS "lead_score_internal"."live__recompute";
DROP VIEW IF EXISTS "lead_score"."live_accounts";
DROP VIEW IF EXISTS "lead_score"."live_account_categories";
DROP TABLE IF EXISTS "lead_score_internal"."live_account_heads";
DROP VIEW IF EXISTS "lead_score"."live_categories";
DROP VIEW IF EXISTS "lead_score"."live_current";
DROP VIEW IF EXISTS "lead_score_internal"."live_merged";
DROP VIEW IF EXISTS "lead_score_internal"."live_columns";
DROP TABLE IF EXISTS "lead_score_internal"."live_scores";
DROP TABLE IF EXISTS "lead_score_internal"."live_pending";
DROP TABLE IF EXISTS "lead_score_internal"."live_stale";
DROP TABLE IF EXISTS "lead_score_internal"."live_stripes";
DROP TABLE IF EXISTS "lead_score_internal"."live_outbox";
