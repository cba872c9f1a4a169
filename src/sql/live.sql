-------------------------------------------------------------------------------
-- Live scores: attach a model to the user's own lead and activity tables.
-------------------------------------------------------------------------------

-- Attachments are configuration: pg_dump keeps them (and the per-attachment
-- tables, views and triggers attach() creates, which are ordinary objects).
CREATE TABLE lead_score.attachments (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z_][a-z0-9_]{0,40}$'),
    model      text NOT NULL REFERENCES lead_score.models (name) ON UPDATE CASCADE,
    leads      regclass NOT NULL,
    activities regclass NOT NULL,
    mapping    jsonb NOT NULL,
    -- Forward-decay landmark shared by every row of the attachment (see tick()).
    landmark   timestamptz NOT NULL,
    -- sync: each activity insert updates its lead's score row and alerts at once.
    -- deferred: inserts append to a pending table that readers merge and tick() folds.
    mode       text NOT NULL DEFAULT 'sync' CHECK (mode IN ('sync', 'deferred')),
    created_at timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('lead_score.attachments', '');

-- Every alert, written once by the transaction that caused it.
CREATE TABLE lead_score.alerts (
    id         bigserial PRIMARY KEY,
    attachment text NOT NULL,
    model      text NOT NULL,
    lead_key   text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('mql', 'mql_lost', 'quadrant', 'watermark', 'burst')),
    detail     text,
    total      float8,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON lead_score.alerts (at);
SELECT pg_catalog.pg_extension_config_dump('lead_score.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('lead_score.alerts_id_seq', '');

CREATE TYPE lead_score._applied AS (
    state          bytea,
    engagement     float8,
    total          float8,
    mql            boolean,
    quadrant       text,
    hot_categories text[],
    heat           float8,
    last_activity  timestamptz,
    model_version  integer,
    alerts         jsonb
);

CREATE FUNCTION lead_score._live_apply(stored bytea, delta bytea, fit float8, disqualified_by text,
                                       prev_mql boolean, prev_quadrant text, prev_hot text[],
                                       landmark timestamptz, now timestamptz, replace boolean)
RETURNS lead_score._applied AS 'MODULE_PATHNAME', 'lead_score_live_apply'
LANGUAGE c STABLE PARALLEL SAFE;

-- The activity INSERT trigger of deferred attachments (src/pending.rs). It only
-- runs as the trigger attach() installs on the attachment's own activity table.
CREATE FUNCTION lead_score._append_pending() RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_score_append_pending' LANGUAGE c VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION lead_score._live_score(state bytea, fit float8, disqualified_by text, now timestamptz)
RETURNS lead_score.score AS 'MODULE_PATHNAME', 'lead_score_live_score'
LANGUAGE c STABLE PARALLEL SAFE;

CREATE FUNCTION lead_score._live_batch_trans(bytea, bigint, integer, timestamptz, text, timestamptz)
RETURNS bytea AS 'MODULE_PATHNAME', 'lead_score_live_batch_trans' LANGUAGE c STABLE PARALLEL SAFE COST 10;
CREATE FUNCTION lead_score._live_batch_trans(bytea, bigint, integer, timestamptz, text, timestamptz, text)
RETURNS bytea AS 'MODULE_PATHNAME', 'lead_score_live_batch_trans' LANGUAGE c STABLE PARALLEL SAFE COST 10;
CREATE FUNCTION lead_score._live_batch_trans(bytea, bigint, integer, timestamptz, text, timestamptz, text, text)
RETURNS bytea AS 'MODULE_PATHNAME', 'lead_score_live_batch_trans' LANGUAGE c STABLE PARALLEL SAFE COST 10;
CREATE FUNCTION lead_score._live_batch_trans(bytea, bigint, integer, timestamptz, text, timestamptz, text, text, text)
RETURNS bytea AS 'MODULE_PATHNAME', 'lead_score_live_batch_trans' LANGUAGE c STABLE PARALLEL SAFE COST 10;
CREATE FUNCTION lead_score._live_batch_combine(bytea, bytea)
RETURNS bytea AS 'MODULE_PATHNAME', 'lead_score_live_batch_combine' LANGUAGE c STABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE lead_score._live_batch(bigint, integer, timestamptz, text, timestamptz) (
    SFUNC = lead_score._live_batch_trans, STYPE = bytea, COMBINEFUNC = lead_score._live_batch_combine, PARALLEL = SAFE);
CREATE AGGREGATE lead_score._live_batch(bigint, integer, timestamptz, text, timestamptz, text) (
    SFUNC = lead_score._live_batch_trans, STYPE = bytea, COMBINEFUNC = lead_score._live_batch_combine, PARALLEL = SAFE);
CREATE AGGREGATE lead_score._live_batch(bigint, integer, timestamptz, text, timestamptz, text, text) (
    SFUNC = lead_score._live_batch_trans, STYPE = bytea, COMBINEFUNC = lead_score._live_batch_combine, PARALLEL = SAFE);
CREATE AGGREGATE lead_score._live_batch(bigint, integer, timestamptz, text, timestamptz, text, text, text) (
    SFUNC = lead_score._live_batch_trans, STYPE = bytea, COMBINEFUNC = lead_score._live_batch_combine, PARALLEL = SAFE);

-- The time scores are read at: lead_score.as_of if set, else now().
-- No SET clause and fully qualified names, so the planner can inline it safely.
CREATE FUNCTION lead_score.scoring_time()
RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(nullif(pg_catalog.current_setting('lead_score.as_of', true), '')::pg_catalog.timestamptz, pg_catalog.now()) $$;

-- The advisory lock key of an attachment: triggers share it, publish and rebase take it alone.
CREATE FUNCTION lead_score._lock_key(attachment text)
RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT hashtextextended('lead_score.attachment:' || attachment, 0) $$;

-- Writes alerts returned by _live_apply and sends each on NOTIFY channel lead_score_alerts.
-- NOTIFY is delivered at commit, so a rolled-back transaction leaves no alert.
CREATE FUNCTION lead_score._emit_alerts(attachment text, model text, lead_key text, total float8, alerts jsonb)
RETURNS integer LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a lead_score.alerts;
    n integer := 0;
BEGIN
    IF alerts IS NULL THEN
        RETURN 0;
    END IF;
    FOR a IN
        INSERT INTO lead_score.alerts AS t (attachment, model, lead_key, kind, detail, total)
        SELECT _emit_alerts.attachment, _emit_alerts.model, _emit_alerts.lead_key, e ->> 'kind', e ->> 'detail', _emit_alerts.total
        FROM jsonb_array_elements(_emit_alerts.alerts) AS e
        RETURNING t.*
    LOOP
        PERFORM pg_notify('lead_score_alerts', row_to_json(a)::text);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- The pending table's property columns p1, p2, … of an attachment, each written
-- through a format() template, e.g. ', m.p%s' gives ", m.p1, m.p2".
CREATE FUNCTION lead_score._pending_columns(att lead_score.attachments, template text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(format(template, i), '' ORDER BY i), '')
    FROM generate_series(1, jsonb_array_length(att.mapping -> 'property_columns')) i
$$;

-- A query of one live delta per lead from an attachment's pending events, for
-- readers: the current-score views and top_leads.
CREATE FUNCTION lead_score._pending_states(att lead_score.attachments)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT format($q$SELECT p.lead_key, lead_score._live_batch(k.id, k.current_version, k.landmark, p.event_type, p.occurred_at%s) AS st
        FROM lead_score.%I p
        CROSS JOIN (SELECT m.id, m.current_version, a.landmark FROM lead_score.attachments a
                    JOIN lead_score.models m ON m.name = a.model WHERE a.name = %L) k
        GROUP BY p.lead_key$q$,
        lead_score._pending_columns(att, ', p.p%s'),
        att.name || '_pending', att.name)
$$;

-- The SET list every writer uses to store the result of _live_apply as "a".
CREATE FUNCTION lead_score._applied_columns()
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '(state, engagement, total, mql, quadrant, hot_categories, heat, last_activity, model_version, last_alerts, updated_at) = '
        || '(SELECT a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.heat, a.last_activity, a.model_version, a.alerts, v_now FROM '
$$;

-- The body shared by the activity triggers: apply one delta per lead from the
-- relation "d" (columns k, st) to the score rows, send the alerts, then retry the
-- keys that had no score row after waiting on their stripe locks (a lead may be
-- being created by another transaction). v_keys holds the keys for pass 2.
CREATE FUNCTION lead_score._apply_loop(scores text, source text, delta text, replace boolean,
                                       attachment text, model text, stripes text, also text DEFAULT '')
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT format($f$
    FOR v_pass IN 1..2 LOOP
        WITH d AS (%1$s),
        up AS (
            UPDATE %2$s s SET %3$s lead_score._live_apply(s.state, %4$s, s.fit, s.disqualified_by, s.mql, s.quadrant,
                                                     s.hot_categories, v_landmark, v_now, %5$s) a)
            FROM d WHERE s.lead_key = d.k
            RETURNING s.lead_key, s.total, s.last_alerts),
        %9$s
        sent AS (SELECT count(lead_score._emit_alerts(%6$L, %7$s, u.lead_key::text, u.total, u.last_alerts)) AS n
                 FROM up u WHERE u.last_alerts IS NOT NULL)
        -- Scalar subqueries, so both always run: alerts are sent, and the keys with no
        -- score row come from an anti-join (NOT EXISTS over a CTE is quadratic for COPY).
        SELECT (SELECT n FROM sent),
               (SELECT array_agg(d.k) FROM d LEFT JOIN up ON up.lead_key = d.k WHERE up.lead_key IS NULL)
        INTO v_count, v_keys;
        EXIT WHEN v_keys IS NULL OR v_pass = 2;
        %8$s
        -- Lock the rows the other transaction created before pass 2 reads the
        -- activities, so its snapshot already sees whatever last wrote them.
        PERFORM 1 FROM %2$s s WHERE s.lead_key = ANY (v_keys) ORDER BY s.lead_key FOR UPDATE;
    END LOOP;$f$, source, scores, lead_score._applied_columns(), delta, CASE WHEN replace THEN 'true' ELSE 'false' END,
                  attachment, model, stripes, also)
$$;

-- Generates and installs the per-attachment trigger functions and triggers.
-- Static SQL in generated plpgsql keeps plans cached for single-row writes.
-- They are SECURITY DEFINER (owned by whoever attached, search_path pinned with
-- pg_temp last) so applications writing to their tables need no grants on
-- lead_score's tables.
CREATE FUNCTION lead_score._install(att lead_score.attachments)
RETURNS void LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $install$
DECLARE
    scores   text := format('lead_score.%I', att.name || '_scores');
    lkey     text := att.mapping ->> 'lead_key';
    akey     text := att.mapping ->> 'activity_lead_key';
    etype    text := att.mapping ->> 'event_type';
    etime    text := att.mapping ->> 'occurred_at';
    props    text := '';
    p        text;
    model    text := quote_literal(att.model);
    preamble text;
    batch    text;
    apply_to text;
    fn       text;
    key_type text;
    stripes  text;
    pending  text := format('lead_score.%I', att.name || '_pending');
    deferred boolean := att.mode = 'deferred';
    trigger_fn text;
BEGIN
    FOR p IN SELECT jsonb_array_elements_text(att.mapping -> 'property_columns') LOOP
        props := props || format(', n.%I::text', p);
    END LOOP;
    SELECT format_type(a.atttypid, a.atttypmod) INTO key_type FROM pg_attribute a
    WHERE a.attrelid = att.leads AND a.attname = lkey;
    -- A lead being created and its first activities, written by concurrent
    -- transactions, would each miss the other's uncommitted rows. Writers that
    -- find no score row for a key take the key's stripe lock (1024 per
    -- attachment, taken in stripe order) and look again after it.
    stripes := format('PERFORM pg_advisory_xact_lock(%s, x.s) FROM (SELECT DISTINCT hashtext(k::text) & 1023 AS s FROM %%s AS k(k)) x ORDER BY x.s;',
                      hashtext('lead_score.lead:' || att.name));
    -- Under the shared lock no publish can run, so the version read here is the
    -- version of every stored state; passing it spares a lookup by name.
    preamble := format($f$
DECLARE
    v_now timestamptz := lead_score.scoring_time();
    v_landmark timestamptz;
    v_model_id bigint;
    v_version integer;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(%s);
    SELECT a.landmark, m.id, m.current_version INTO v_landmark, v_model_id, v_version
    FROM lead_score.attachments a JOIN lead_score.models m ON m.name = a.model WHERE a.name = %L;
$f$, lead_score._lock_key(att.name), att.name);
    -- One forward-decayed delta per lead from a set of activity rows "n". An event
    -- dated after the writer's time counts as if it happened then: forward decay
    -- would otherwise read it as worth more than its points.
    batch := format('lead_score._live_batch(v_model_id, v_version, v_landmark, n.%I, least(n.%I, v_now)%s)', etype, etime, props);

    -- Folds pending events (all, or those of some keys) into the score rows and
    -- sends the alerts they cause. Score rows are locked in key order before their
    -- pending rows are deleted, as every other writer does. Rows another transaction
    -- holds are skipped, so a fold never waits or deadlocks; they and events
    -- committed after the statement began stay pending for the next fold. (A
    -- trigger folding its own statement's leads already holds their rows.)
    fn := format('lead_score.%I', att.name || '__fold');
    EXECUTE format($f$CREATE FUNCTION %1$s(keys %2$s[] DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $body$%3$s
    WITH locked AS (
        SELECT s.lead_key FROM %4$s s
        WHERE s.lead_key IN (SELECT p.lead_key FROM %5$s p WHERE keys IS NULL OR p.lead_key IN (SELECT unnest(keys)))
        ORDER BY s.lead_key FOR UPDATE OF s SKIP LOCKED),
    moved AS (DELETE FROM %5$s p USING locked l WHERE p.lead_key = l.lead_key RETURNING p.*),
    d AS (SELECT m.lead_key AS k, lead_score._live_batch(v_model_id, v_version, v_landmark, m.event_type, m.occurred_at%6$s) AS st
          FROM moved m GROUP BY m.lead_key),
    up AS (
        UPDATE %4$s s SET %7$s lead_score._live_apply(s.state, d.st, s.fit, s.disqualified_by, s.mql, s.quadrant,
                                                     s.hot_categories, v_landmark, v_now, false) a)
        FROM d WHERE s.lead_key = d.k
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT coalesce(sum(lead_score._emit_alerts(%8$L, %9$s, u.lead_key::text, u.total, u.last_alerts)), 0) INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN v_count;
END
$body$$f$, fn, key_type, replace(preamble, 'v_landmark timestamptz;', 'v_landmark timestamptz; v_count bigint;'),
        scores, pending, lead_score._pending_columns(att, ', m.p%s'), lead_score._applied_columns(), att.name, model);

    fn := format('lead_score.%I', att.name || '__on_activities_insert');
    trigger_fn := fn || '()';
    -- deferred: an insert (or COPY) only appends its events; readers merge them
    -- and tick() folds them. No score row is touched, so no insert waits. The C
    -- trigger copies rows as they are, so it needs text (or varchar) event types
    -- and properties and a timestamptz time; other types take the plpgsql one.
    IF deferred AND (
        SELECT bool_and(a.atttypid = ANY (r.types))
        FROM (SELECT etime AS col, ARRAY['timestamptz'::regtype::oid] AS types
              UNION ALL
              SELECT c, ARRAY['text'::regtype::oid, 'varchar'::regtype::oid]
              FROM (SELECT etype UNION ALL SELECT jsonb_array_elements_text(att.mapping -> 'property_columns')) AS t(c)) r
        JOIN pg_attribute a ON a.attrelid = att.activities AND a.attname = r.col AND NOT a.attisdropped) THEN
        trigger_fn := format('lead_score._append_pending(%L)', att.name);
    ELSIF deferred THEN
        EXECUTE format($f$CREATE FUNCTION %1$s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
    INSERT INTO %2$s (lead_key, event_type, occurred_at%3$s)
    SELECT n.%4$I, n.%5$I, least(n.%6$I, lead_score.scoring_time())%7$s FROM new_rows n WHERE n.%4$I IS NOT NULL;
    RETURN NULL;
END
$body$$f$, fn, pending, lead_score._pending_columns(att, ', p%s'), akey, etype, etime, props);
    ELSE
    -- sync: INSERT (and COPY) add their events to the score rows in O(1) per event.
    EXECUTE format($f$CREATE FUNCTION %1$s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$%2$s
    -- Rows are locked in key order, so concurrent statements cannot deadlock on
    -- them; a single-row statement (the common case) has nothing to order.
    IF (SELECT count(*) > 1 FROM new_rows) THEN
        PERFORM 1 FROM %3$s s WHERE s.lead_key IN (SELECT n.%4$I FROM new_rows n) ORDER BY s.lead_key FOR UPDATE;
    END IF;
    -- Pass 1 adds every lead's delta; pass 2 only the leads that had no score row.
    %5$s
    RETURN NULL;
END
$body$$f$, fn, replace(preamble, 'v_landmark timestamptz;', format('v_landmark timestamptz; v_count bigint; v_keys %s[]; v_pass int;', key_type)),
        scores, akey,
        lead_score._apply_loop(scores,
            format('SELECT n.%1$I AS k, %2$s AS st FROM new_rows n WHERE n.%1$I IS NOT NULL AND (v_pass = 1 OR n.%1$I = ANY (v_keys)) GROUP BY n.%1$I',
                   akey, batch),
            'd.st', false, att.name, model, format(stripes, 'unnest(v_keys)')));
    END IF;
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %s',
        'lead_score_' || att.name || '_activities_insert', att.activities, trigger_fn);

    -- activities: UPDATE and DELETE recompute the touched leads from the source table.
    FOR p IN SELECT unnest(ARRAY['update', 'delete']) LOOP
        fn := format('lead_score.%I', att.name || '__on_activities_' || p);
        EXECUTE format($f$CREATE FUNCTION %1$s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$%2$s
    PERFORM 1 FROM %3$s s WHERE s.lead_key IN (SELECT k FROM (%4$s) t(k)) ORDER BY s.lead_key FOR UPDATE;
    SELECT array_agg(t.k) INTO v_keys FROM (%4$s) t(k) WHERE t.k IS NOT NULL;
    -- Recompute is idempotent: pass 2 just repeats it for keys that had no score row.
    %5$s
    RETURN NULL;
END
$body$$f$, fn, replace(preamble, 'v_landmark timestamptz;', format('v_landmark timestamptz; v_keys %s[]; v_pass int; v_count bigint;', key_type)),
            scores,
            CASE p WHEN 'update' THEN format('SELECT o.%I FROM old_rows o UNION SELECT n.%I FROM new_rows n', akey, akey)
                   ELSE format('SELECT o.%I FROM old_rows o', akey) END,
            lead_score._apply_loop(scores,
                format('SELECT k.k, f.st FROM unnest(v_keys) AS k(k) LEFT JOIN (SELECT n.%1$I AS k, %2$s AS st FROM %3$s n WHERE n.%1$I = ANY (v_keys) GROUP BY n.%1$I) f ON f.k = k.k',
                       akey, batch, att.activities),
                'coalesce(d.st, lead_score._live_empty(v_model_id, v_version, v_landmark))', true,
                att.name, model, format(stripes, 'unnest(v_keys)'),
                -- Dropped in the recompute's statement, which reads the same snapshot, and only
                -- for leads whose (locked) score row it rewrote; a lead without one keeps its
                -- events until it is created, which counts them from the table.
                CASE WHEN deferred THEN format('gone AS (DELETE FROM %s p WHERE p.lead_key IN (SELECT up.lead_key FROM up)),', pending) ELSE '' END));
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s REFERENCING %s FOR EACH STATEMENT EXECUTE FUNCTION %s()',
            'lead_score_' || att.name || '_activities_' || p, upper(p), att.activities,
            CASE p WHEN 'update' THEN 'OLD TABLE AS old_rows NEW TABLE AS new_rows' ELSE 'OLD TABLE AS old_rows' END, fn);
    END LOOP;

    -- activities: TRUNCATE empties every lead's engagement.
    fn := format('lead_score.%I', att.name || '__on_activities_truncate');
    EXECUTE format($f$CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$%s
    PERFORM 1 FROM %s s ORDER BY s.lead_key FOR UPDATE;
    %s
    WITH up AS (
        UPDATE %s s SET %s lead_score._live_apply(s.state, lead_score._live_empty(v_model_id, v_version, v_landmark), s.fit,
                                                 s.disqualified_by, s.mql, s.quadrant, s.hot_categories, v_landmark, v_now, true) a)
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT count(lead_score._emit_alerts(%L, %s, u.lead_key::text, u.total, u.last_alerts)) INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN NULL;
END
$body$$f$, fn, replace(preamble, 'v_landmark timestamptz;', 'v_landmark timestamptz; v_count bigint;'),
        scores, CASE WHEN deferred THEN format('DELETE FROM %s;', pending) ELSE '' END,
        scores, lead_score._applied_columns(), att.name, model);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s()',
        'lead_score_' || att.name || '_activities_truncate', att.activities, fn);

    -- leads: INSERT and UPDATE (re)compute fit; a lead new to the scores gets its
    -- engagement from the activities it already has.
    FOR p IN SELECT unnest(ARRAY['insert', 'update']) LOOP
        fn := format('lead_score.%I', att.name || '__on_leads_' || p);
        EXECUTE format($f$CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$%s
    %s
    PERFORM 1 FROM %s s WHERE s.lead_key IN (%s) ORDER BY s.lead_key FOR UPDATE;
    %s
    %s
    WITH %s fresh AS (
        SELECT n.%I AS k, %s AS st FROM %s n
        WHERE n.%I IN (SELECT l.%I FROM new_rows l WHERE NOT EXISTS (SELECT 1 FROM %s x WHERE x.lead_key = l.%I))
        GROUP BY n.%I),
    up AS (
        INSERT INTO %s AS s (lead_key, fit, disqualified_by, state, engagement, total, mql, quadrant, hot_categories,
                             heat, last_activity, model_version, last_alerts, updated_at)
        SELECT l.%I, f.fit, f.dq, a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories,
               a.heat, a.last_activity, a.model_version, a.alerts, v_now
        FROM new_rows l
        CROSS JOIN LATERAL (SELECT lead_score.fit(%s, l) AS fit, lead_score.disqualified_by(%s, l) AS dq) f
        LEFT JOIN fresh ON fresh.k = l.%I
        CROSS JOIN LATERAL lead_score._live_apply(NULL, coalesce(fresh.st, lead_score._live_empty(v_model_id, v_version, v_landmark)),
                                                  f.fit, f.dq, NULL, NULL, NULL, v_landmark, v_now, true) a
        WHERE l.%I IS NOT NULL
        ORDER BY l.%I
        ON CONFLICT (lead_key) DO UPDATE SET (fit, disqualified_by) = (EXCLUDED.fit, EXCLUDED.disqualified_by),
            %s lead_score._live_apply(s.state, NULL, EXCLUDED.fit, EXCLUDED.disqualified_by, s.mql, s.quadrant,
                                      s.hot_categories, v_landmark, v_now, false) a)
        RETURNING s.lead_key, s.total, s.last_alerts)
    SELECT count(lead_score._emit_alerts(%L, %s, u.lead_key::text, u.total, u.last_alerts)) INTO STRICT v_count
    FROM up u WHERE u.last_alerts IS NOT NULL;
    RETURN NULL;
END
$body$$f$, fn, replace(preamble, 'v_landmark timestamptz;', 'v_landmark timestamptz; v_count bigint;'),
            format(stripes, format('(SELECT n.%I FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM %s x WHERE x.lead_key = n.%I))', lkey, scores, lkey)),
            scores,
            CASE p WHEN 'update' THEN format('SELECT n.%I FROM new_rows n UNION SELECT o.%I FROM old_rows o', lkey, lkey)
                   ELSE format('SELECT n.%I FROM new_rows n', lkey) END,
            CASE p WHEN 'update' THEN format(
                'DELETE FROM %s s WHERE s.lead_key IN (SELECT o.%I FROM old_rows o EXCEPT SELECT n.%I FROM new_rows n);
    DELETE FROM %s p WHERE p.lead_key IN (SELECT o.%I FROM old_rows o EXCEPT SELECT n.%I FROM new_rows n);',
                scores, lkey, lkey, pending, lkey, lkey) ELSE '' END,
            -- deferred: fold known leads' pending events first, so classification and
            -- alerts see them; a new lead's are counted from the source table, so drop them.
            CASE WHEN deferred THEN format('PERFORM lead_score.%I(ARRAY(SELECT n.%I FROM new_rows n));', att.name || '__fold', lkey) ELSE '' END,
            CASE WHEN deferred THEN format('gone AS (DELETE FROM %s p WHERE p.lead_key IN (SELECT l.%I FROM new_rows l WHERE NOT EXISTS (SELECT 1 FROM %s x WHERE x.lead_key = l.%I))),',
                                           pending, lkey, scores, lkey) ELSE '' END,
            akey, batch, att.activities, akey, lkey, scores, lkey, akey,
            scores, lkey, model, model, lkey, lkey, lkey,
            lead_score._applied_columns(), att.name, model);
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s REFERENCING %s FOR EACH STATEMENT EXECUTE FUNCTION %s()',
            'lead_score_' || att.name || '_leads_' || p, upper(p), att.leads,
            CASE p WHEN 'update' THEN 'OLD TABLE AS old_rows NEW TABLE AS new_rows' ELSE 'NEW TABLE AS new_rows' END, fn);
    END LOOP;

    -- leads: DELETE and TRUNCATE remove their scores.
    fn := format('lead_score.%I', att.name || '__on_leads_delete');
    EXECUTE format($f$CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$%s
    PERFORM 1 FROM %s s WHERE s.lead_key IN (SELECT o.%I FROM old_rows o) ORDER BY s.lead_key FOR UPDATE;
    DELETE FROM %s s WHERE s.lead_key IN (SELECT o.%I FROM old_rows o);
    DELETE FROM %s p WHERE p.lead_key IN (SELECT o.%I FROM old_rows o);
    RETURN NULL;
END
$body$$f$, fn, preamble, scores, lkey, scores, lkey, pending, lkey);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION %s()',
        'lead_score_' || att.name || '_leads_delete', att.leads, fn);
    fn := format('lead_score.%I', att.name || '__on_leads_truncate');
    EXECUTE format($f$CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$%s
    PERFORM 1 FROM %s s ORDER BY s.lead_key FOR UPDATE;
    DELETE FROM %s;
    DELETE FROM %s;
    RETURN NULL;
END
$body$$f$, fn, preamble, scores, scores, pending);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s()',
        'lead_score_' || att.name || '_leads_truncate', att.leads, fn);

    -- EXECUTE is checked when a trigger is created, not when it fires: without this,
    -- any role could attach these SECURITY DEFINER functions to a table of its own.
    FOR fn IN SELECT p.oid::regprocedure::text FROM pg_proc p
              WHERE p.pronamespace = 'lead_score'::regnamespace AND p.proname LIKE att.name || '\_\_%' LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', fn);
    END LOOP;
END
$install$;

-- Recomputes every lead of an attachment from its source tables with the
-- set-based aggregates. With alerts, crossings (e.g. after publishing a new
-- version) are alerted; without, the scores are simply (re)initialized.
CREATE FUNCTION lead_score._rescore(att lead_score.attachments, with_alerts boolean)
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    scores text := format('lead_score.%I', att.name || '_scores');
    lkey   text := att.mapping ->> 'lead_key';
    akey   text := att.mapping ->> 'activity_lead_key';
    props  text := '';
    p      text;
    n      bigint;
    started timestamptz := clock_timestamp();
    model_id bigint;
    version integer;
    activities bigint;
BEGIN
    SELECT m.id, m.current_version INTO model_id, version FROM lead_score.models m WHERE m.name = att.model;
    FOR p IN SELECT jsonb_array_elements_text(att.mapping -> 'property_columns') LOOP
        props := props || format(', a.%I::text', p);
    END LOOP;
    EXECUTE format('SELECT count(*) FROM %s', att.leads) INTO n;
    RAISE NOTICE 'lead_score: scoring % leads of % for attachment %', n, att.leads, att.name;
    -- Progress of the two scans is reported against the activities' size estimate
    -- (none if never analyzed) and the exact lead count.
    SELECT greatest(c.reltuples, 0)::bigint INTO activities FROM pg_class c WHERE c.oid = att.activities;
    EXECUTE format('DELETE FROM %s s WHERE NOT EXISTS (SELECT 1 FROM %s l WHERE l.%I = s.lead_key)', scores, att.leads, lkey);
    EXECUTE format($q$
        WITH gone AS (DELETE FROM %9$s),
        fresh AS (
            SELECT a.%1$I AS k, lead_score._live_batch($5, $6, $2, a.%2$I, least(a.%3$I, $3)%4$s) AS st
            FROM %5$s a WHERE lead_score._progress(1, $7, $9) GROUP BY a.%1$I)
        INSERT INTO %6$s AS s (lead_key, fit, disqualified_by, state, engagement, total, mql, quadrant, hot_categories,
                               heat, last_activity, model_version, last_alerts, updated_at)
        SELECT l.%7$I, f.fit, f.dq, a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories,
               a.heat, a.last_activity, a.model_version, NULL, $3
        FROM %8$s l
        CROSS JOIN LATERAL (SELECT lead_score.fit($1, l) AS fit, lead_score.disqualified_by($1, l) AS dq) f
        LEFT JOIN fresh ON fresh.k = l.%7$I
        CROSS JOIN LATERAL lead_score._live_apply(NULL, coalesce(fresh.st, lead_score._live_empty($5, $6, $2)),
                                                  f.fit, f.dq, NULL, NULL, NULL, $2, $3, true) a
        WHERE l.%7$I IS NOT NULL AND lead_score._progress(2, $8, $9)
        ORDER BY l.%7$I
        ON CONFLICT (lead_key) DO UPDATE SET (fit, disqualified_by) = (EXCLUDED.fit, EXCLUDED.disqualified_by),
            (state, engagement, total, mql, quadrant, hot_categories, heat, last_activity, model_version, last_alerts, updated_at) =
            (SELECT r.state, r.engagement, r.total, r.mql, r.quadrant, r.hot_categories, r.heat, r.last_activity,
                    r.model_version, CASE WHEN $4 THEN r.alerts END, $3
             FROM lead_score._live_apply(s.state, EXCLUDED.state, EXCLUDED.fit, EXCLUDED.disqualified_by,
                                         s.mql, s.quadrant, s.hot_categories, $2, $3, true) r)
    $q$, akey, att.mapping ->> 'event_type', att.mapping ->> 'occurred_at', props, att.activities, scores, lkey, att.leads,
         format('lead_score.%I', att.name || '_pending'))
    USING att.model, att.landmark, lead_score.scoring_time(), with_alerts, model_id, version,
          activities, n, (extract(epoch FROM started) * 1000000)::bigint;
    IF with_alerts THEN
        EXECUTE format('SELECT count(lead_score._emit_alerts($1, $2, s.lead_key::text, s.total, s.last_alerts)) FROM %s s
                        WHERE s.last_alerts IS NOT NULL AND s.updated_at = $3', scores)
        USING att.name, att.model, lead_score.scoring_time();
    END IF;
    IF clock_timestamp() - started >= interval '1 second' THEN
        RAISE NOTICE 'lead_score: scored % leads for attachment % in %', n, att.name, date_trunc('second', clock_timestamp() - started);
    END IF;
    RETURN n;
END
$$;

-- Binds a model to the user's lead and activity tables: creates
-- lead_score.<name>_scores (keyed by the leads' own key type), the view
-- lead_score.<name>_current, and statement-level triggers on both tables, then
-- scores every existing lead.
--
-- mapping keys (defaults in brackets): lead_key [id], activity_lead_key [lead_id],
-- event_type [type], occurred_at [occurred_at], properties: {"spec property": "column"}
-- [each of the spec's engagement.properties from the column of the same name].
CREATE FUNCTION lead_score.attach(model text, leads regclass, activities regclass,
                                  mapping jsonb DEFAULT '{}', name text DEFAULT NULL, mode text DEFAULT 'sync')
RETURNS regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att      lead_score.attachments;
    spec     jsonb := lead_score.model_spec(attach.model);
    m        jsonb := coalesce(attach.mapping, '{}');
    bad      text;
    key_type regtype;
    akey_type regtype;
    prop_cols jsonb := '[]';
    p        text;
BEGIN
    IF spec IS NULL THEN
        RAISE EXCEPTION 'lead_score model "%" does not exist', attach.model USING ERRCODE = 'undefined_object';
    END IF;
    IF attach.mode IS NULL OR attach.mode NOT IN ('sync', 'deferred') THEN
        RAISE EXCEPTION 'mode: must be ''sync'' or ''deferred'', got %', coalesce(quote_literal(attach.mode), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT k INTO bad FROM jsonb_object_keys(m) k
    -- property_columns is derived (and stored); a stored mapping can be passed back as is.
    WHERE k NOT IN ('lead_key', 'activity_lead_key', 'event_type', 'occurred_at', 'properties', 'property_columns') LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'mapping.%: unknown key (expected lead_key, activity_lead_key, event_type, occurred_at, properties)', bad
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    att.name := coalesce(attach.name, attach.model);
    IF att.name !~ '^[a-z_][a-z0-9_]{0,40}$' THEN
        RAISE EXCEPTION 'attachment name "%" must be a lower-case identifier of at most 41 characters', att.name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass name => ''...''.';
    END IF;
    att.mapping := jsonb_build_object(
        'lead_key', coalesce(m ->> 'lead_key', 'id'),
        'activity_lead_key', coalesce(m ->> 'activity_lead_key', 'lead_id'),
        'event_type', coalesce(m ->> 'event_type', 'type'),
        'occurred_at', coalesce(m ->> 'occurred_at', 'occurred_at'));
    FOR p IN SELECT jsonb_array_elements_text(coalesce(spec -> 'engagement' -> 'properties', '[]')) LOOP
        prop_cols := prop_cols || to_jsonb(coalesce(m -> 'properties' ->> p, p));
    END LOOP;
    IF jsonb_array_length(prop_cols) > 3 THEN
        RAISE EXCEPTION 'lead_score: attach supports at most 3 engagement.properties, model "%" has %',
            attach.model, jsonb_array_length(prop_cols) USING ERRCODE = 'feature_not_supported';
    END IF;
    att.mapping := att.mapping || jsonb_build_object('properties', coalesce(m -> 'properties', '{}'), 'property_columns', prop_cols);

    -- Every mapped column must exist; keys must have the same type on both sides.
    SELECT a.atttypid::regtype INTO key_type FROM pg_attribute a
    WHERE a.attrelid = attach.leads AND a.attname = att.mapping ->> 'lead_key' AND NOT a.attisdropped AND a.attnum > 0;
    IF key_type IS NULL THEN
        RAISE EXCEPTION 'mapping.lead_key: column "%" does not exist in %', att.mapping ->> 'lead_key', attach.leads
            USING ERRCODE = 'undefined_column';
    END IF;
    FOR p, bad IN SELECT k, att.mapping ->> k FROM unnest(ARRAY['activity_lead_key', 'event_type', 'occurred_at']) k
                  UNION ALL SELECT 'properties', c FROM jsonb_array_elements_text(prop_cols) c LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = attach.activities AND a.attname = bad
                       AND NOT a.attisdropped AND a.attnum > 0) THEN
            RAISE EXCEPTION 'mapping.%: column "%" does not exist in %', p, bad, attach.activities
                USING ERRCODE = 'undefined_column';
        END IF;
    END LOOP;
    SELECT a.atttypid::regtype INTO akey_type FROM pg_attribute a
    WHERE a.attrelid = attach.activities AND a.attname = att.mapping ->> 'activity_lead_key';
    IF akey_type <> key_type THEN
        RAISE EXCEPTION 'mapping.activity_lead_key: %.% is %, but %.% is %', attach.activities,
            att.mapping ->> 'activity_lead_key', akey_type, attach.leads, att.mapping ->> 'lead_key', key_type
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                   WHERE i.indrelid = attach.activities AND a.attname = att.mapping ->> 'activity_lead_key') THEN
        RAISE WARNING 'lead_score: % has no index on %: updates, deletes and new leads will scan it',
            attach.activities, att.mapping ->> 'activity_lead_key';
    END IF;

    att.model := attach.model;
    att.leads := attach.leads;
    att.activities := attach.activities;
    att.landmark := date_trunc('hour', lead_score.scoring_time());
    att.mode := attach.mode;
    att.created_at := now();
    PERFORM lead_score._live_check(att.model);  -- refuses models that cannot be live
    INSERT INTO lead_score.attachments SELECT att.*;

    EXECUTE format($t$
        CREATE TABLE lead_score.%I (
            lead_key        %s PRIMARY KEY,
            fit             float8 NOT NULL,
            disqualified_by text,
            state           bytea NOT NULL,
            engagement      float8,
            total           float8,
            mql             boolean,
            quadrant        text,
            hot_categories  text[],
            heat            float8 NOT NULL,
            last_activity   timestamptz,
            model_version   integer,
            last_alerts     jsonb,
            updated_at      timestamptz
        )$t$, att.name || '_scores', key_type);
    EXECUTE format('CREATE INDEX %I ON lead_score.%I (heat DESC)', att.name || '_scores_heat', att.name || '_scores');
    -- Events not yet folded into the score rows (deferred mode; empty in sync mode).
    -- No index: an index would cost inserts more than the scans of a table tick() keeps small.
    EXECUTE format('CREATE TABLE lead_score.%I (lead_key %s NOT NULL, event_type text, occurred_at timestamptz%s) USING heap',
        att.name || '_pending', key_type, lead_score._pending_columns(att, ', p%s text'));
    -- Each score row with its pending events merged in: what every reader sees. A
    -- sync attachment has none, and its view stays a plain scan, so "ORDER BY heat
    -- LIMIT n" over the current view is an index scan.
    EXECUTE format(CASE WHEN att.mode = 'sync' THEN $v$
        CREATE VIEW lead_score.%1$I AS
        SELECT s.lead_key, s.state, s.fit, s.disqualified_by, s.heat FROM lead_score.%2$I s$v$ ELSE $v$
        CREATE VIEW lead_score.%1$I AS
        SELECT s.lead_key,
               CASE WHEN d.st IS NULL THEN s.state ELSE lead_score._live_merge(s.state, d.st) END AS state,
               s.fit, s.disqualified_by, s.heat
        FROM lead_score.%2$I s
        LEFT JOIN (%3$s) d ON d.lead_key = s.lead_key$v$ END,
        att.name || '_merged', att.name || '_scores', lead_score._pending_states(att));
    EXECUTE format($v$
        CREATE VIEW lead_score.%I AS
        SELECT s.lead_key, x.fit, x.engagement, x.total, x.grade, x.label, x.quadrant, x.mql, x.disqualified,
               x.disqualified_by, x.categories, x.hot_categories, x.last_activity, x.model_version, s.heat
        FROM lead_score.%I s
        CROSS JOIN LATERAL lead_score._live_score(s.state, s.fit, s.disqualified_by, lead_score.scoring_time()) x$v$,
        att.name || '_current', att.name || '_merged');
    PERFORM lead_score._install(att);
    PERFORM pg_advisory_xact_lock(lead_score._lock_key(att.name));
    PERFORM lead_score._rescore(att, false);
    RETURN format('lead_score.%I', att.name || '_scores')::regclass;
END
$$;
COMMENT ON FUNCTION lead_score.attach(text, regclass, regclass, jsonb, text, text) IS
    'Keep live scores of a model for the given lead and activity tables.';

-- Removes an attachment: its triggers, functions, scores and views.
CREATE FUNCTION lead_score.detach(name text)
RETURNS boolean LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att lead_score.attachments;
    t   record;
    p   text;
BEGIN
    SELECT * INTO att FROM lead_score.attachments a WHERE a.name = detach.name;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM pg_advisory_xact_lock(lead_score._lock_key(att.name));
    FOR t IN SELECT tbl, what FROM (VALUES (att.activities, 'activities'), (att.leads, 'leads')) AS x(tbl, what) LOOP
        FOREACH p IN ARRAY ARRAY['insert', 'update', 'delete', 'truncate'] LOOP
            EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'lead_score_' || att.name || '_' || t.what || '_' || p, t.tbl);
            -- A deferred attachment's insert trigger may be the shared C function instead.
            IF to_regprocedure(format('lead_score.%I()', att.name || '__on_' || t.what || '_' || p)) IS NOT NULL THEN
                EXECUTE format('DROP FUNCTION lead_score.%I()', att.name || '__on_' || t.what || '_' || p);
            END IF;
        END LOOP;
    END LOOP;
    EXECUTE format('DROP FUNCTION IF EXISTS lead_score.%I', att.name || '__fold');
    EXECUTE format('DROP VIEW lead_score.%I', att.name || '_current');
    EXECUTE format('DROP VIEW lead_score.%I', att.name || '_merged');
    EXECUTE format('DROP TABLE lead_score.%I', att.name || '_scores');
    EXECUTE format('DROP TABLE lead_score.%I', att.name || '_pending');
    DELETE FROM lead_score.attachments a WHERE a.name = att.name;
    RETURN true;
END
$$;

-- Recomputes an attachment's scores from its source tables.
CREATE FUNCTION lead_score.rescore(attachment text)
RETURNS bigint LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att lead_score.attachments;
BEGIN
    -- Lock first, then read: a rebase in between would leave a stale landmark.
    PERFORM pg_advisory_xact_lock(lead_score._lock_key(rescore.attachment));
    SELECT * INTO att FROM lead_score.attachments a WHERE a.name = rescore.attachment;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', rescore.attachment USING ERRCODE = 'undefined_object';
    END IF;
    RETURN lead_score._rescore(att, true);
END
$$;

-- Time-driven work, safe to call every minute from pg_cron or any scheduler:
-- moves forward-decay landmarks before they age, and alerts on crossings caused
-- only by time passing (decay below the MQL threshold, a category cooling off).
CREATE FUNCTION lead_score.tick()
RETURNS bigint LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att     lead_score.attachments;
    now_    timestamptz := lead_score.scoring_time();
    scores  text;
    alerts  bigint := 0;
    n       bigint;
BEGIN
    -- Rebases first. Rebasing rewrites every row, so it takes the lock triggers
    -- share exclusively, and waits for them; it does so before this transaction
    -- holds any score row, so no writer can be waiting on it meanwhile.
    FOR att IN SELECT * FROM lead_score.attachments ORDER BY name LOOP
        CONTINUE WHEN NOT lead_score._rebase_due(att.model, att.landmark, now_);
        PERFORM pg_advisory_xact_lock(lead_score._lock_key(att.name));
        SELECT * INTO att FROM lead_score.attachments a WHERE a.name = att.name;  -- again, under the lock
        CONTINUE WHEN att.name IS NULL OR NOT lead_score._rebase_due(att.model, att.landmark, now_);
        att.landmark := date_trunc('hour', now_);
        EXECUTE format('UPDATE lead_score.%I SET state = lead_score._live_rebase(state, $1), heat = lead_score._live_heat(lead_score._live_rebase(state, $1))',
                       att.name || '_scores')
        USING att.landmark;
        UPDATE lead_score.attachments a SET landmark = att.landmark WHERE a.name = att.name;
    END LOOP;
    -- Then folds and time-driven crossings. Both skip the rows writers hold, so
    -- tick() never waits on a writer; a later tick picks those leads up.
    FOR att IN SELECT * FROM lead_score.attachments ORDER BY name LOOP
        PERFORM pg_advisory_xact_lock_shared(lead_score._lock_key(att.name));
        SELECT * INTO att FROM lead_score.attachments a WHERE a.name = att.name;
        CONTINUE WHEN att.name IS NULL;  -- detached meanwhile
        scores := format('lead_score.%I', att.name || '_scores');
        IF att.mode = 'deferred' THEN
            EXECUTE format('SELECT lead_score.%I()', att.name || '__fold') INTO n;
            alerts := alerts + n;
        END IF;
        -- A lead that still has pending events is classified by the fold that takes them.
        EXECUTE format($q$
            WITH due AS (
                SELECT s.lead_key FROM %1$s s
                CROSS JOIN LATERAL lead_score._live_score(s.state, s.fit, s.disqualified_by, $1) x
                WHERE (x.mql IS DISTINCT FROM s.mql OR x.quadrant IS DISTINCT FROM s.quadrant
                       OR x.hot_categories IS DISTINCT FROM s.hot_categories)
                  AND NOT EXISTS (SELECT 1 FROM lead_score.%2$I p WHERE p.lead_key = s.lead_key)
                ORDER BY s.lead_key FOR UPDATE OF s SKIP LOCKED),
            up AS (
                UPDATE %1$s s SET
                    (state, engagement, total, mql, quadrant, hot_categories, heat, last_activity, model_version, last_alerts, updated_at) =
                    (SELECT a.state, a.engagement, a.total, a.mql, a.quadrant, a.hot_categories, a.heat, a.last_activity,
                            a.model_version, a.alerts, $1
                     FROM lead_score._live_apply(s.state, NULL, s.fit, s.disqualified_by, s.mql, s.quadrant,
                                                 s.hot_categories, $2, $1, false) a)
                FROM due WHERE s.lead_key = due.lead_key
                RETURNING s.lead_key, s.total, s.last_alerts)
            SELECT coalesce(sum(lead_score._emit_alerts($3, $4, u.lead_key::text, u.total, u.last_alerts)), 0)
            FROM up u WHERE u.last_alerts IS NOT NULL$q$, scores, att.name || '_pending')
        INTO n USING now_, att.landmark, att.name, att.model;
        alerts := alerts + n;
    END LOOP;
    RETURN alerts;
END
$$;

-- Compares every materialized score with a from-scratch recompute through the
-- independent aggregate path (engagement_state + score) and returns mismatches.
CREATE FUNCTION lead_score.check_consistency(attachment text)
RETURNS TABLE (lead_key text, problem text, stored_total float8, recomputed_total float8)
LANGUAGE plpgsql STABLE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att   lead_score.attachments;
    props text := '';
    p     text;
BEGIN
    SELECT * INTO att FROM lead_score.attachments a WHERE a.name = check_consistency.attachment;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', check_consistency.attachment USING ERRCODE = 'undefined_object';
    END IF;
    FOR p IN SELECT jsonb_array_elements_text(att.mapping -> 'property_columns') LOOP
        props := props || format(', a.%I::text', p);
    END LOOP;
    RETURN QUERY EXECUTE format($q$
        WITH fresh AS (
            SELECT a.%1$I AS k, lead_score.engagement_state($1, a.%2$I, a.%3$I%4$s) AS st
            FROM %5$s a GROUP BY a.%1$I),
        expected AS (
            SELECT l.%6$I AS k, x.* FROM %7$s l LEFT JOIN fresh ON fresh.k = l.%6$I
            CROSS JOIN LATERAL lead_score.score($1, l, fresh.st) x
            WHERE l.%6$I IS NOT NULL),
        stored AS (
            SELECT s.lead_key AS k, x.* FROM lead_score.%8$I s
            CROSS JOIN LATERAL lead_score._live_score(s.state, s.fit, s.disqualified_by, lead_score.scoring_time()) x)
        SELECT coalesce(e.k, s.k)::text,
               CASE WHEN s.k IS NULL THEN 'missing score'
                    WHEN e.k IS NULL THEN 'score without lead'
                    WHEN abs(e.total - s.total) > 1e-6 * (1 + abs(e.total)) THEN 'total differs'
                    WHEN e.quadrant IS DISTINCT FROM s.quadrant OR e.mql IS DISTINCT FROM s.mql THEN 'classification differs'
                    ELSE 'categories differ' END,
               s.total, e.total
        FROM expected e FULL JOIN stored s ON s.k = e.k
        WHERE s.k IS NULL OR e.k IS NULL
           OR abs(e.total - s.total) > 1e-6 * (1 + abs(e.total))
           OR e.quadrant IS DISTINCT FROM s.quadrant OR e.mql IS DISTINCT FROM s.mql
           OR e.hot_categories IS DISTINCT FROM s.hot_categories$q$,
        att.mapping ->> 'activity_lead_key', att.mapping ->> 'event_type', att.mapping ->> 'occurred_at', props,
        att.activities, att.mapping ->> 'lead_key', att.leads, att.name || '_merged')
    USING att.model;
END
$$;

-- The current score of one lead, by its own key.
CREATE FUNCTION lead_score.current_score(attachment text, lead_key anyelement)
RETURNS lead_score.score LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result lead_score.score;
BEGIN
    EXECUTE format('SELECT (lead_score._live_score(s.state, s.fit, s.disqualified_by, lead_score.scoring_time())).*
                    FROM lead_score.%I s WHERE s.lead_key = $1', attachment || '_merged')
    INTO result USING lead_key;
    RETURN result;
END
$$;

-- The n hottest leads now: candidates come from the heat index, then are ranked
-- by their exact engagement (caps can reorder leads whose heat is close). Leads
-- with pending events are candidates too, and as many more come from the index,
-- since their stored heat may be stale in either direction. Each candidate is
-- read by key, so the work grows with n and the pending leads, not all leads.
CREATE FUNCTION lead_score.top_leads(attachment text, n integer DEFAULT 100)
RETURNS TABLE (lead_key text, engagement float8, fit float8, total float8, grade text, label text,
               quadrant text, mql boolean)
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE ROWS 100
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att lead_score.attachments;
BEGIN
    SELECT * INTO att FROM lead_score.attachments a WHERE a.name = top_leads.attachment;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lead_score attachment "%" does not exist', top_leads.attachment USING ERRCODE = 'undefined_object';
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH pending AS MATERIALIZED (%1$s),
        candidates AS MATERIALIZED (
            (SELECT s.lead_key FROM lead_score.%2$I s ORDER BY s.heat DESC
             LIMIT $1 * 4 + (SELECT count(*) FROM pending))
            UNION
            SELECT pending.lead_key FROM pending)
        SELECT c.lead_key::text, x.engagement, x.fit, x.total, x.grade, x.label, x.quadrant, x.mql
        FROM candidates c
        -- OFFSET 0 keeps this a lookup by key per candidate rather than a join over all leads.
        CROSS JOIN LATERAL (SELECT s.state, s.fit, s.disqualified_by FROM lead_score.%2$I s
                            WHERE s.lead_key = c.lead_key OFFSET 0) s
        LEFT JOIN pending d ON d.lead_key = c.lead_key
        CROSS JOIN LATERAL lead_score._live_score(CASE WHEN d.st IS NULL THEN s.state ELSE lead_score._live_merge(s.state, d.st) END,
                                                  s.fit, s.disqualified_by, lead_score.scoring_time()) x
        ORDER BY x.engagement DESC, x.total DESC LIMIT $1$q$, lead_score._pending_states(att), att.name || '_scores')
    USING n;
END
$$;

-- Current scores of every attachment, one row per lead per attachment, for BI tools.
CREATE FUNCTION lead_score._current_scores()
RETURNS TABLE (attachment text, model text, lead_key text, fit float8, engagement float8, total float8,
               grade text, label text, quadrant text, mql boolean, disqualified boolean, categories jsonb,
               hot_categories text[], last_activity timestamptz, model_version integer)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    att lead_score.attachments;
BEGIN
    FOR att IN SELECT * FROM lead_score.attachments ORDER BY name LOOP
        RETURN QUERY EXECUTE format($q$
            SELECT $1, $2, c.lead_key::text, c.fit, c.engagement, c.total, c.grade, c.label, c.quadrant, c.mql,
                   c.disqualified, c.categories, c.hot_categories, c.last_activity, c.model_version
            FROM lead_score.%I c$q$, att.name || '_current')
        USING att.name, att.model;
    END LOOP;
END
$$;
CREATE VIEW lead_score.current_scores AS SELECT * FROM lead_score._current_scores();
COMMENT ON VIEW lead_score.current_scores IS 'Current scores of every attachment at scoring_time(), for BI tools.';
