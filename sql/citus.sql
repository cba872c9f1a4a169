-------------------------------------------------------------------------------
-- Scale-out on Citus (docs/citus.md). Nothing here needs Citus to install:
-- the functions look for it when they are called.
-------------------------------------------------------------------------------

-- Whether the citus extension is installed in this database.
CREATE FUNCTION lead_score_internal._citus()
RETURNS boolean LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) ''citus'')';

-- Citus's distribution method of a table: 'h' (hash-distributed), 'n' (a
-- reference or Citus local table), or NULL when it is not a Citus table (or
-- Citus is not installed).
CREATE FUNCTION lead_score_internal._citus_method(t regclass)
RETURNS text LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m text;
BEGIN
    IF NOT lead_score_internal._citus() THEN
        RETURN NULL;
    END IF;
    EXECUTE 'SELECT p.partmethod::text FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = $1' INTO m USING t;
    RETURN m;
END
$$;

-- Phase 1 of distribute(): lead_score's configuration becomes reference
-- tables, alerts are distributed by lead key, and the attachment's score,
-- pending and (new) outbox tables are distributed co-located with its leads
-- (in deferred mode the C insert trigger on an activity shard appends to the
-- co-located pending shard, src/pending.rs)
-- (its stripe table stays on the coordinator, unused: each shard group has
-- its own). Runs in the caller's
-- transaction; attach() calls it for leads that are already distributed, so
-- its first scoring reads distributed tables only. Returns whether it changed
-- anything.
CREATE FUNCTION lead_score_internal._distribute_tables(attachment text)
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

-- Phase 2, run on the node that holds a shard group (by _citus_install_node,
-- for each activity shard of its node): the group's own trigger functions,
-- which name its shards (lead_score_core::sqlgen::attach::Placement), take the place of the
-- triggers Citus copied from the distributed tables. Idempotent.
CREATE FUNCTION lead_score_internal._citus_install_shard(attachment text, activity_shard text)
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

-- Makes an attachment run on a Citus cluster; run it on the coordinator after
-- attach(). Idempotent, and again after moving or splitting shards.
--  1. _distribute_tables (above), committed if it changed anything, so that
--     every node sees the new shards.
--  2. Each shard group gets trigger functions of its own on its node
--     (_citus_install_node, on every node, then _citus_install_shard): Citus
--     cannot plan a query that joins a trigger's transition table with a
--     distributed table, so a shard's triggers write its co-located score
--     shard directly, as plain PostgreSQL.
--  3. The attachment's views are recreated, so Citus creates them on every node.
CREATE PROCEDURE lead_score.distribute(attachment text)
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
COMMENT ON PROCEDURE lead_score.distribute(text) IS
    'On a Citus coordinator, after attach(): make lead_score''s configuration reference tables, distribute the attachment''s tables with its leads and install its triggers on every shard.';

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

-- The alerts of a statement on a shard, written to its attachment's outbox
-- shard on the same node (the generated trigger functions of a shard group
-- call it, lead_score_core::sqlgen::attach::Placement); returns how many.
CREATE FUNCTION lead_score_internal._emit_outbox(outbox regclass, attachment text, model text, lead_keys anyarray,
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

-- On Citus, the alerts the triggers wrote on the workers reach lead_score.alerts
-- and the coordinator's listeners here: each attachment's outbox is moved to
-- lead_score.alerts and every alert sent on channel lead_score_alerts, as
-- _emit_alerts does on a single node, when this commits. tick() calls it.
-- Without Citus there is no outbox, and it returns 0.
CREATE FUNCTION lead_score.relay_alerts()
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
COMMENT ON FUNCTION lead_score.relay_alerts() IS
    'On Citus: move the alerts written on the workers to lead_score.alerts and announce them on the coordinator (NOTIFY lead_score_alerts); tick() calls it.';

REVOKE ALL ON FUNCTION lead_score_internal._distribute_tables(text), lead_score_internal._citus_install_shard(text, text),
                       lead_score_internal._citus_fold(text), lead_score_internal._citus_fold_node(text),
                       lead_score_internal._citus_forget(text), lead_score_internal._citus_forget_node(text),
                       lead_score_internal._emit_outbox(regclass, text, text, anyarray, float8[], jsonb[]),
                       lead_score.relay_alerts() FROM PUBLIC;
REVOKE ALL ON PROCEDURE lead_score.distribute(text) FROM PUBLIC;
-- relay_alerts and the folds are granted to lead_score_admin in sql/live.sql,
-- which creates the roles.
