-- attach
-- live_scores
CREATE TABLE "lead_score"."live_scores" (
    lead_key "pg_catalog"."uuid" PRIMARY KEY,
    fit float8 NOT NULL,
    disqualified_by text,
    state bytea NOT NULL,
    engagement float8,
    total float8,
    mql boolean,
    quadrant text,
    hot_categories text[],
    heat float8 NOT NULL,
    last_activity timestamptz,
    model_version integer,
    last_alerts jsonb,
    updated_at timestamptz
);

-- live_scores_heat
CREATE INDEX "live_scores_heat" ON "lead_score"."live_scores" (heat DESC);

-- live_pending
CREATE TABLE "lead_score"."live_pending" (lead_key "pg_catalog"."uuid" NOT NULL, event_type text, occurred_at timestamptz, p1 text) USING heap;

-- live_stripes
CREATE TABLE "lead_score"."live_stripes" (stripe integer PRIMARY KEY);

-- live_stripes rows
INSERT INTO "lead_score"."live_stripes" (stripe) SELECT pg_catalog.generate_series(0, 1023);

-- live_columns
CREATE VIEW "lead_score"."live_columns" AS SELECT l."person_id" AS c1, a."person" AS c2, a."kind" AS c3, a."at" AS c4, a."page" AS c5 FROM "app"."people" l, "app"."touches" a WHERE false;

-- live_merged
CREATE VIEW "lead_score"."live_merged" AS
SELECT s.lead_key, s.state, s.fit, s.disqualified_by, s.heat FROM "lead_score"."live_scores" s;

-- live_current
CREATE VIEW "lead_score"."live_current" AS
SELECT s.lead_key, x.fit, x.engagement, x.total, x.grade, x.label, x.quadrant, x.mql, x.disqualified,
       x.disqualified_by, x.categories, x.hot_categories, x.last_activity, x.model_version, s.heat
FROM "lead_score"."live_merged" s
CROSS JOIN LATERAL lead_score._live_score(s.state, s.fit, s.disqualified_by, lead_score.scoring_time()) x;

-- live__fold
CREATE FUNCTION "lead_score"."live__fold"(keys "pg_catalog"."uuid"[] DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp SET row_security = off
AS 'DECLARE
    v_now timestamptz := pg_catalog.now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
BEGIN
    LOCK TABLE "lead_score"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    WITH locked AS (
        SELECT s.lead_key FROM "lead_score"."live_scores" s
        WHERE s.lead_key IN (SELECT p.lead_key FROM "lead_score"."live_pending" p WHERE keys IS NULL OR p.lead_key IN (SELECT pg_catalog.unnest(keys)))
        ORDER BY s.lead_key FOR UPDATE OF s SKIP LOCKED),
    moved AS (DELETE FROM "lead_score"."live_pending" p USING locked l WHERE p.lead_key = l.lead_key RETURNING p.*),
    d AS (SELECT m.lead_key AS k, lead_score._live_batch(v_model_id, v_version, v_landmark, m.event_type, m.occurred_at, m.p1) AS st
          FROM moved m GROUP BY m.lead_key),
    up AS (
        UPDATE "lead_score"."live_scores" s SET (state, engagement, total, mql, quadrant, hot_categories, heat, last_activity, model_version, last_alerts, updated_at) = (SELECT a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.heat, a.last_activity, a.model_version, a.alerts, v_now FROM lead_score._live_apply(s.state, d.st, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, v_now, false) a)
        FROM d WHERE s.lead_key = d.k
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT coalesce(pg_catalog.sum(lead_score._emit_alerts(''live'', ''live'', (u.lead_key)::text, u.total, u.last_alerts)), 0) INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN v_count;
END
';

-- live__act_ins
CREATE FUNCTION "lead_score"."live__act_ins"() RETURNS trigger LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS 'DECLARE
    v_now timestamptz := pg_catalog.now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
    v_keys "pg_catalog"."uuid"[];
    v_pass integer;
BEGIN
    LOCK TABLE "lead_score"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    -- Rows are locked in key order, so concurrent statements cannot deadlock on
    -- them; a single-row statement (the common case) has nothing to order.
    IF (SELECT pg_catalog.count(*) > 1 FROM new_rows) THEN
        PERFORM 1 FROM "lead_score"."live_scores" s WHERE s.lead_key IN (SELECT n."person" FROM new_rows n) ORDER BY s.lead_key FOR UPDATE;
    END IF;
    -- Pass 1 adds every lead''s delta; pass 2 only the leads that had no score row.
    FOR v_pass IN 1..2 LOOP
        WITH d AS (SELECT n."person" AS k, lead_score._live_batch(v_model_id, v_version, v_landmark, (n."kind")::text, LEAST(n."at", v_now), (n."page")::text) AS st FROM new_rows n WHERE n."person" IS NOT NULL AND (v_pass = 1 OR n."person" = ANY (v_keys)) GROUP BY n."person"),
        up AS (
            UPDATE "lead_score"."live_scores" s SET (state, engagement, total, mql, quadrant, hot_categories, heat, last_activity, model_version, last_alerts, updated_at) = (SELECT a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.heat, a.last_activity, a.model_version, a.alerts, v_now FROM lead_score._live_apply(s.state, d.st, s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, v_now, false) a)
            FROM d WHERE s.lead_key = d.k
            RETURNING s.lead_key, s.total, s.last_alerts),
        sent AS (SELECT count(lead_score._emit_alerts(''live'', ''live'', (u.lead_key)::text, u.total, u.last_alerts)) AS n FROM up u WHERE u.last_alerts IS NOT NULL)
        -- Scalar subqueries, so both always run: alerts are sent, and the keys with no
        -- score row come from an anti-join (NOT EXISTS over a CTE is quadratic for COPY).
        SELECT (SELECT n FROM sent),
               (SELECT pg_catalog.array_agg(d.k) FROM d LEFT JOIN up ON up.lead_key = d.k WHERE up.lead_key IS NULL)
        INTO v_count, v_keys;
        EXIT WHEN v_keys IS NULL OR v_pass = 2;
        PERFORM 1 FROM "lead_score"."live_stripes" t WHERE t.stripe IN (SELECT DISTINCT pg_catalog.hashtext((k.k)::text) & 1023 FROM (SELECT pg_catalog.unnest(v_keys)) AS k(k)) ORDER BY t.stripe FOR UPDATE;
        -- Lock the rows the other transaction created before pass 2 reads the
        -- activities, so its snapshot already sees whatever last wrote them.
        PERFORM 1 FROM "lead_score"."live_scores" s WHERE s.lead_key = ANY (v_keys) ORDER BY s.lead_key FOR UPDATE;
    END LOOP;
    RETURN NULL;
END
';

-- trigger lead_score_live_ins on "app"."touches"
CREATE TRIGGER "lead_score_live_ins" AFTER INSERT ON "app"."touches" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score"."live__act_ins"();

-- live__act_upd
CREATE FUNCTION "lead_score"."live__act_upd"() RETURNS trigger LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS 'DECLARE
    v_now timestamptz := pg_catalog.now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
    v_keys "pg_catalog"."uuid"[];
    v_pass integer;
BEGIN
    LOCK TABLE "lead_score"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    PERFORM 1 FROM "lead_score"."live_scores" s WHERE s.lead_key IN (SELECT k FROM (SELECT o."person" FROM old_rows o UNION SELECT n."person" FROM new_rows n) t(k)) ORDER BY s.lead_key FOR UPDATE;
    SELECT pg_catalog.array_agg(t.k) INTO v_keys FROM (SELECT o."person" FROM old_rows o UNION SELECT n."person" FROM new_rows n) t(k) WHERE t.k IS NOT NULL;
    -- Recompute is idempotent: pass 2 just repeats it for keys that had no score row.
    FOR v_pass IN 1..2 LOOP
        WITH d AS (SELECT k.k, f.st FROM pg_catalog.unnest(v_keys) AS k(k) LEFT JOIN (SELECT n."person" AS k, lead_score._live_batch(v_model_id, v_version, v_landmark, (n."kind")::text, LEAST(n."at", v_now), (n."page")::text) AS st FROM "app"."touches" n WHERE n."person" = ANY (v_keys) GROUP BY n."person") f ON f.k = k.k),
        up AS (
            UPDATE "lead_score"."live_scores" s SET (state, engagement, total, mql, quadrant, hot_categories, heat, last_activity, model_version, last_alerts, updated_at) = (SELECT a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.heat, a.last_activity, a.model_version, a.alerts, v_now FROM lead_score._live_apply(s.state, coalesce(d.st, lead_score._live_empty(v_model_id, v_version, v_landmark)), s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, v_now, true) a)
            FROM d WHERE s.lead_key = d.k
            RETURNING s.lead_key, s.total, s.last_alerts),
        sent AS (SELECT count(lead_score._emit_alerts(''live'', ''live'', (u.lead_key)::text, u.total, u.last_alerts)) AS n FROM up u WHERE u.last_alerts IS NOT NULL)
        -- Scalar subqueries, so both always run: alerts are sent, and the keys with no
        -- score row come from an anti-join (NOT EXISTS over a CTE is quadratic for COPY).
        SELECT (SELECT n FROM sent),
               (SELECT pg_catalog.array_agg(d.k) FROM d LEFT JOIN up ON up.lead_key = d.k WHERE up.lead_key IS NULL)
        INTO v_count, v_keys;
        EXIT WHEN v_keys IS NULL OR v_pass = 2;
        PERFORM 1 FROM "lead_score"."live_stripes" t WHERE t.stripe IN (SELECT DISTINCT pg_catalog.hashtext((k.k)::text) & 1023 FROM (SELECT pg_catalog.unnest(v_keys)) AS k(k)) ORDER BY t.stripe FOR UPDATE;
        -- Lock the rows the other transaction created before pass 2 reads the
        -- activities, so its snapshot already sees whatever last wrote them.
        PERFORM 1 FROM "lead_score"."live_scores" s WHERE s.lead_key = ANY (v_keys) ORDER BY s.lead_key FOR UPDATE;
    END LOOP;
    RETURN NULL;
END
';

-- trigger lead_score_live_upd on "app"."touches"
CREATE TRIGGER "lead_score_live_upd" AFTER UPDATE ON "app"."touches" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score"."live__act_upd"();

-- live__act_del
CREATE FUNCTION "lead_score"."live__act_del"() RETURNS trigger LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS 'DECLARE
    v_now timestamptz := pg_catalog.now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
    v_keys "pg_catalog"."uuid"[];
    v_pass integer;
BEGIN
    LOCK TABLE "lead_score"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    PERFORM 1 FROM "lead_score"."live_scores" s WHERE s.lead_key IN (SELECT k FROM (SELECT o."person" FROM old_rows o) t(k)) ORDER BY s.lead_key FOR UPDATE;
    SELECT pg_catalog.array_agg(t.k) INTO v_keys FROM (SELECT o."person" FROM old_rows o) t(k) WHERE t.k IS NOT NULL;
    -- Recompute is idempotent: pass 2 just repeats it for keys that had no score row.
    FOR v_pass IN 1..2 LOOP
        WITH d AS (SELECT k.k, f.st FROM pg_catalog.unnest(v_keys) AS k(k) LEFT JOIN (SELECT n."person" AS k, lead_score._live_batch(v_model_id, v_version, v_landmark, (n."kind")::text, LEAST(n."at", v_now), (n."page")::text) AS st FROM "app"."touches" n WHERE n."person" = ANY (v_keys) GROUP BY n."person") f ON f.k = k.k),
        up AS (
            UPDATE "lead_score"."live_scores" s SET (state, engagement, total, mql, quadrant, hot_categories, heat, last_activity, model_version, last_alerts, updated_at) = (SELECT a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.heat, a.last_activity, a.model_version, a.alerts, v_now FROM lead_score._live_apply(s.state, coalesce(d.st, lead_score._live_empty(v_model_id, v_version, v_landmark)), s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, v_now, true) a)
            FROM d WHERE s.lead_key = d.k
            RETURNING s.lead_key, s.total, s.last_alerts),
        sent AS (SELECT count(lead_score._emit_alerts(''live'', ''live'', (u.lead_key)::text, u.total, u.last_alerts)) AS n FROM up u WHERE u.last_alerts IS NOT NULL)
        -- Scalar subqueries, so both always run: alerts are sent, and the keys with no
        -- score row come from an anti-join (NOT EXISTS over a CTE is quadratic for COPY).
        SELECT (SELECT n FROM sent),
               (SELECT pg_catalog.array_agg(d.k) FROM d LEFT JOIN up ON up.lead_key = d.k WHERE up.lead_key IS NULL)
        INTO v_count, v_keys;
        EXIT WHEN v_keys IS NULL OR v_pass = 2;
        PERFORM 1 FROM "lead_score"."live_stripes" t WHERE t.stripe IN (SELECT DISTINCT pg_catalog.hashtext((k.k)::text) & 1023 FROM (SELECT pg_catalog.unnest(v_keys)) AS k(k)) ORDER BY t.stripe FOR UPDATE;
        -- Lock the rows the other transaction created before pass 2 reads the
        -- activities, so its snapshot already sees whatever last wrote them.
        PERFORM 1 FROM "lead_score"."live_scores" s WHERE s.lead_key = ANY (v_keys) ORDER BY s.lead_key FOR UPDATE;
    END LOOP;
    RETURN NULL;
END
';

-- trigger lead_score_live_del on "app"."touches"
CREATE TRIGGER "lead_score_live_del" AFTER DELETE ON "app"."touches" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score"."live__act_del"();

-- live__act_trunc
CREATE FUNCTION "lead_score"."live__act_trunc"() RETURNS trigger LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS 'DECLARE
    v_now timestamptz := pg_catalog.now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
BEGIN
    LOCK TABLE "lead_score"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    PERFORM 1 FROM "lead_score"."live_scores" s ORDER BY s.lead_key FOR UPDATE;
    DELETE FROM "lead_score"."live_pending";
    WITH up AS (
        UPDATE "lead_score"."live_scores" s SET (state, engagement, total, mql, quadrant, hot_categories, heat, last_activity, model_version, last_alerts, updated_at) = (SELECT a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.heat, a.last_activity, a.model_version, a.alerts, v_now FROM lead_score._live_apply(s.state, lead_score._live_empty(v_model_id, v_version, v_landmark), s.fit, s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, v_now, true) a)
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT pg_catalog.count(lead_score._emit_alerts(''live'', ''live'', (u.lead_key)::text, u.total, u.last_alerts)) INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN NULL;
END
';

-- trigger lead_score_live_trunc on "app"."touches"
CREATE TRIGGER "lead_score_live_trunc" AFTER TRUNCATE ON "app"."touches" FOR EACH STATEMENT EXECUTE FUNCTION "lead_score"."live__act_trunc"();

-- live__lead_ins
CREATE FUNCTION "lead_score"."live__lead_ins"() RETURNS trigger LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS 'DECLARE
    v_now timestamptz := pg_catalog.now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
BEGIN
    LOCK TABLE "lead_score"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    PERFORM 1 FROM "lead_score"."live_stripes" t WHERE t.stripe IN (SELECT DISTINCT pg_catalog.hashtext((k.k)::text) & 1023 FROM (SELECT n."person_id" FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM "lead_score"."live_scores" x WHERE x.lead_key = n."person_id")) AS k(k)) ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score"."live_scores" s WHERE s.lead_key IN (SELECT n."person_id" FROM new_rows n) ORDER BY s.lead_key FOR UPDATE;
    WITH fresh AS (
        SELECT n."person" AS k, lead_score._live_batch(v_model_id, v_version, v_landmark, (n."kind")::text, LEAST(n."at", v_now), (n."page")::text) AS st FROM "app"."touches" n
        WHERE n."person" IN (SELECT l."person_id" FROM new_rows l WHERE NOT EXISTS (SELECT 1 FROM "lead_score"."live_scores" x WHERE x.lead_key = l."person_id"))
        GROUP BY n."person"),
    up AS (
        INSERT INTO "lead_score"."live_scores" AS s (lead_key, fit, disqualified_by, state, engagement, total, mql, quadrant, hot_categories, heat, last_activity, model_version, last_alerts, updated_at)
        SELECT l."person_id", f.fit, f.dq, a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.heat, a.last_activity, a.model_version, a.alerts, v_now
        FROM new_rows l
        CROSS JOIN LATERAL (SELECT lead_score.fit(''live'', l) AS fit, lead_score.disqualified_by(''live'', l) AS dq) f
        LEFT JOIN fresh ON fresh.k = l."person_id"
        CROSS JOIN LATERAL lead_score._live_apply(NULL, coalesce(fresh.st, lead_score._live_empty(v_model_id, v_version, v_landmark)),
                                                  f.fit, f.dq, NULL, NULL, NULL, v_landmark, v_now, true) a
        WHERE l."person_id" IS NOT NULL
        ORDER BY l."person_id"
        ON CONFLICT (lead_key) DO UPDATE SET (fit, disqualified_by) = (EXCLUDED.fit, EXCLUDED.disqualified_by),
            (state, engagement, total, mql, quadrant, hot_categories, heat, last_activity, model_version, last_alerts, updated_at) = (SELECT a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.heat, a.last_activity, a.model_version, a.alerts, v_now FROM lead_score._live_apply(s.state, NULL, EXCLUDED.fit, EXCLUDED.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, v_now, false) a)
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT pg_catalog.count(lead_score._emit_alerts(''live'', ''live'', (u.lead_key)::text, u.total, u.last_alerts)) INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN NULL;
END
';

-- trigger lead_score_live_ins on "app"."people"
CREATE TRIGGER "lead_score_live_ins" AFTER INSERT ON "app"."people" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score"."live__lead_ins"();

-- live__lead_upd
CREATE FUNCTION "lead_score"."live__lead_upd"() RETURNS trigger LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS 'DECLARE
    v_now timestamptz := pg_catalog.now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
    v_count bigint;
BEGIN
    LOCK TABLE "lead_score"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    PERFORM 1 FROM "lead_score"."live_stripes" t WHERE t.stripe IN (SELECT DISTINCT pg_catalog.hashtext((k.k)::text) & 1023 FROM (SELECT n."person_id" FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM "lead_score"."live_scores" x WHERE x.lead_key = n."person_id")) AS k(k)) ORDER BY t.stripe FOR UPDATE;
    PERFORM 1 FROM "lead_score"."live_scores" s WHERE s.lead_key IN (SELECT n."person_id" FROM new_rows n UNION SELECT o."person_id" FROM old_rows o) ORDER BY s.lead_key FOR UPDATE;
    DELETE FROM "lead_score"."live_scores" s WHERE s.lead_key IN (SELECT o."person_id" FROM old_rows o EXCEPT SELECT n."person_id" FROM new_rows n);
    DELETE FROM "lead_score"."live_pending" p WHERE p.lead_key IN (SELECT o."person_id" FROM old_rows o EXCEPT SELECT n."person_id" FROM new_rows n);
    WITH fresh AS (
        SELECT n."person" AS k, lead_score._live_batch(v_model_id, v_version, v_landmark, (n."kind")::text, LEAST(n."at", v_now), (n."page")::text) AS st FROM "app"."touches" n
        WHERE n."person" IN (SELECT l."person_id" FROM new_rows l WHERE NOT EXISTS (SELECT 1 FROM "lead_score"."live_scores" x WHERE x.lead_key = l."person_id"))
        GROUP BY n."person"),
    up AS (
        INSERT INTO "lead_score"."live_scores" AS s (lead_key, fit, disqualified_by, state, engagement, total, mql, quadrant, hot_categories, heat, last_activity, model_version, last_alerts, updated_at)
        SELECT l."person_id", f.fit, f.dq, a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.heat, a.last_activity, a.model_version, a.alerts, v_now
        FROM new_rows l
        CROSS JOIN LATERAL (SELECT lead_score.fit(''live'', l) AS fit, lead_score.disqualified_by(''live'', l) AS dq) f
        LEFT JOIN fresh ON fresh.k = l."person_id"
        CROSS JOIN LATERAL lead_score._live_apply(NULL, coalesce(fresh.st, lead_score._live_empty(v_model_id, v_version, v_landmark)),
                                                  f.fit, f.dq, NULL, NULL, NULL, v_landmark, v_now, true) a
        WHERE l."person_id" IS NOT NULL
        ORDER BY l."person_id"
        ON CONFLICT (lead_key) DO UPDATE SET (fit, disqualified_by) = (EXCLUDED.fit, EXCLUDED.disqualified_by),
            (state, engagement, total, mql, quadrant, hot_categories, heat, last_activity, model_version, last_alerts, updated_at) = (SELECT a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.heat, a.last_activity, a.model_version, a.alerts, v_now FROM lead_score._live_apply(s.state, NULL, EXCLUDED.fit, EXCLUDED.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, v_now, false) a)
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT pg_catalog.count(lead_score._emit_alerts(''live'', ''live'', (u.lead_key)::text, u.total, u.last_alerts)) INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN NULL;
END
';

-- trigger lead_score_live_upd on "app"."people"
CREATE TRIGGER "lead_score_live_upd" AFTER UPDATE ON "app"."people" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score"."live__lead_upd"();

-- live__lead_del
CREATE FUNCTION "lead_score"."live__lead_del"() RETURNS trigger LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS 'DECLARE
    v_now timestamptz := pg_catalog.now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
BEGIN
    LOCK TABLE "lead_score"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    PERFORM 1 FROM "lead_score"."live_scores" s WHERE s.lead_key IN (SELECT o."person_id" FROM old_rows o) ORDER BY s.lead_key FOR UPDATE;
    DELETE FROM "lead_score"."live_scores" s WHERE s.lead_key IN (SELECT o."person_id" FROM old_rows o);
    DELETE FROM "lead_score"."live_pending" p WHERE p.lead_key IN (SELECT o."person_id" FROM old_rows o);
    RETURN NULL;
END
';

-- trigger lead_score_live_del on "app"."people"
CREATE TRIGGER "lead_score_live_del" AFTER DELETE ON "app"."people" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "lead_score"."live__lead_del"();

-- live__lead_trunc
CREATE FUNCTION "lead_score"."live__lead_trunc"() RETURNS trigger LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET row_security = off
AS 'DECLARE
    v_now timestamptz := pg_catalog.now();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
BEGIN
    LOCK TABLE "lead_score"."live_scores" IN ROW EXCLUSIVE MODE;
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = ''live'';
    PERFORM 1 FROM "lead_score"."live_scores" s ORDER BY s.lead_key FOR UPDATE;
    DELETE FROM "lead_score"."live_scores";
    DELETE FROM "lead_score"."live_pending";
    RETURN NULL;
END
';

-- trigger lead_score_live_trunc on "app"."people"
CREATE TRIGGER "lead_score_live_trunc" AFTER TRUNCATE ON "app"."people" FOR EACH STATEMENT EXECUTE FUNCTION "lead_score"."live__lead_trunc"();

-- revoke
REVOKE ALL ON FUNCTION "lead_score"."live__act_ins"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score"."live__act_upd"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score"."live__act_del"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score"."live__act_trunc"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score"."live__lead_ins"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score"."live__lead_upd"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score"."live__lead_del"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score"."live__lead_trunc"() FROM PUBLIC;

-- revoke
REVOKE ALL ON FUNCTION "lead_score"."live__fold"("pg_catalog"."uuid"[]) FROM PUBLIC;

-- grant
GRANT EXECUTE ON FUNCTION "lead_score"."live__fold"("pg_catalog"."uuid"[]) TO "lead_score_admin";

-- grant
GRANT SELECT ON "lead_score"."live_scores", "lead_score"."live_pending", "lead_score"."live_merged", "lead_score"."live_current" TO "lead_score_reader";

-- grant
GRANT SELECT ON "lead_score"."live_scores", "lead_score"."live_pending", "lead_score"."live_merged", "lead_score"."live_current" TO "lead_score_admin";

-- grant
GRANT INSERT, UPDATE, DELETE ON "lead_score"."live_scores", "lead_score"."live_pending" TO "lead_score_admin";

-- detach
DROP TRIGGER IF EXISTS "lead_score_live_ins" ON "app"."touches";
DROP TRIGGER IF EXISTS "lead_score_live_upd" ON "app"."touches";
DROP TRIGGER IF EXISTS "lead_score_live_del" ON "app"."touches";
DROP TRIGGER IF EXISTS "lead_score_live_trunc" ON "app"."touches";
DROP TRIGGER IF EXISTS "lead_score_live_ins" ON "app"."people";
DROP TRIGGER IF EXISTS "lead_score_live_upd" ON "app"."people";
DROP TRIGGER IF EXISTS "lead_score_live_del" ON "app"."people";
DROP TRIGGER IF EXISTS "lead_score_live_trunc" ON "app"."people";
DROP FUNCTION IF EXISTS "lead_score"."live__act_ins"();
DROP FUNCTION IF EXISTS "lead_score"."live__act_upd"();
DROP FUNCTION IF EXISTS "lead_score"."live__act_del"();
DROP FUNCTION IF EXISTS "lead_score"."live__act_trunc"();
DROP FUNCTION IF EXISTS "lead_score"."live__lead_ins"();
DROP FUNCTION IF EXISTS "lead_score"."live__lead_upd"();
DROP FUNCTION IF EXISTS "lead_score"."live__lead_del"();
DROP FUNCTION IF EXISTS "lead_score"."live__lead_trunc"();
DROP FUNCTION IF EXISTS "lead_score"."live__fold";
DROP VIEW IF EXISTS "lead_score"."live_current";
DROP VIEW IF EXISTS "lead_score"."live_merged";
DROP VIEW IF EXISTS "lead_score"."live_columns";
DROP TABLE IF EXISTS "lead_score"."live_scores";
DROP TABLE IF EXISTS "lead_score"."live_pending";
DROP TABLE IF EXISTS "lead_score"."live_stripes";
