-- The extension's catalog as names and definitions (no OIDs), one line per object:
-- what tests/upgrade/run.sh compares between an upgraded and a fresh install. It
-- covers the extension's members, everything in its schemas (the objects attach
-- generates included), the triggers on attached tables, and their comments.
\pset format unaligned
\pset tuples_only on
WITH ns AS (
    SELECT n.oid FROM pg_namespace n WHERE n.nspname LIKE 'lead\_score%'
), procs AS (
    SELECT p.oid FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM ns)
    UNION SELECT d.objid FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
      AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'lead_score')
), rels AS (
    SELECT c.oid FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM ns)
), lines AS (
    SELECT 'extension ' || e.extname || ' schema ' || e.extnamespace::regnamespace || ' relocatable ' || e.extrelocatable AS line
    FROM pg_extension e WHERE e.extname = 'lead_score'
    UNION ALL
    SELECT 'config dump ' || c::regclass::text || ' ' || coalesce(e.extcondition[i], '')
    FROM pg_extension e, unnest(e.extconfig) WITH ORDINALITY AS u(c, i) WHERE e.extname = 'lead_score'
    UNION ALL
    SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
    FROM pg_depend d WHERE d.deptype = 'e' AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'lead_score')
    UNION ALL
    SELECT 'schema ' || n.nspname || ' owner ' || n.nspowner::regrole || ' acl ' || coalesce(n.nspacl::text, '')
    FROM pg_namespace n WHERE n.oid IN (SELECT oid FROM ns)
    UNION ALL
    SELECT format('function %s.%s(%s) returns %s kind %s lang %s volatile %s strict %s parallel %s secdef %s leakproof %s cost %s rows %s config %s owner %s acl %s body %s',
                  p.pronamespace::regnamespace, p.proname, pg_get_function_identity_arguments(p.oid),
                  coalesce(pg_get_function_result(p.oid), '-'), p.prokind, l.lanname, p.provolatile, p.proisstrict,
                  p.proparallel, p.prosecdef, p.proleakproof, p.procost, p.prorows, coalesce(p.proconfig::text, ''),
                  p.proowner::regrole, coalesce(p.proacl::text, ''),
                  CASE WHEN l.lanname = 'c' THEN p.prosrc || ' ' || coalesce(p.probin, '') ELSE md5(p.prosrc) END)
    FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.oid IN (SELECT oid FROM procs)
    UNION ALL
    SELECT format('aggregate %s(%s) sfunc %s stype %s combine %s final %s serial %s deserial %s initcond %s parallel %s',
                  a.aggfnoid::regproc, pg_get_function_identity_arguments(a.aggfnoid), a.aggtransfn::regproc,
                  a.aggtranstype::regtype, a.aggcombinefn::regproc, a.aggfinalfn::regproc, a.aggserialfn::regproc,
                  a.aggdeserialfn::regproc, coalesce(a.agginitval, ''), p.proparallel)
    FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid WHERE a.aggfnoid IN (SELECT oid FROM procs)
    UNION ALL
    SELECT format('relation %s kind %s persistence %s options %s owner %s acl %s columns (%s)',
                  c.oid::regclass, c.relkind, c.relpersistence, coalesce(c.reloptions::text, ''),
                  c.relowner::regrole, coalesce(c.relacl::text, ''),
                  (SELECT string_agg(format('%s %s%s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                            CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                                            coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''),
                                            coalesce(' acl ' || a.attacl::text, '')), ', ' ORDER BY a.attnum)
                   FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
    FROM pg_class c WHERE c.oid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT 'view ' || c.oid::regclass || ' ' || pg_get_viewdef(c.oid)
    FROM pg_class c WHERE c.oid IN (SELECT oid FROM rels) AND c.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT format('constraint %s on %s: %s', co.conname, co.conrelid::regclass, pg_get_constraintdef(co.oid))
    FROM pg_constraint co WHERE co.conrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT format('type %s kind %s', t.oid::regtype, t.typtype) FROM pg_type t
    WHERE t.typnamespace IN (SELECT oid FROM ns)
    UNION ALL
    SELECT format('enum %s %s', e.enumtypid::regtype, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder))
    FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typnamespace IN (SELECT oid FROM ns) GROUP BY e.enumtypid
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled ' || t.tgenabled::text FROM pg_trigger t
    WHERE NOT t.tgisinternal AND (t.tgrelid IN (SELECT oid FROM rels) OR t.tgfoid IN (SELECT oid FROM procs))
    UNION ALL
    SELECT format('event trigger %s on %s tags %s function %s enabled %s', e.evtname, e.evtevent,
                  coalesce(e.evttags::text, ''), e.evtfoid::regproc, e.evtenabled)
    FROM pg_event_trigger e
    UNION ALL
    SELECT 'comment ' || pg_describe_object(d.classoid, d.objoid, d.objsubid) || ': ' || d.description
    FROM pg_description d
    WHERE (d.classoid = 'pg_proc'::regclass AND d.objoid IN (SELECT oid FROM procs))
       OR (d.classoid = 'pg_class'::regclass AND d.objoid IN (SELECT oid FROM rels))
       OR (d.classoid = 'pg_type'::regclass AND d.objoid IN (SELECT t.oid FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM ns)))
       OR (d.classoid = 'pg_namespace'::regclass AND d.objoid IN (SELECT oid FROM ns))
       OR (d.classoid = 'pg_extension'::regclass)
    UNION ALL
    SELECT 'database setting ' || c FROM pg_db_role_setting s, unnest(s.setconfig) c
    WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.setrole = 0
    UNION ALL
    SELECT format('role %s', r.rolname) FROM pg_roles r WHERE r.rolname LIKE 'lead\_score%'
    UNION ALL
    SELECT format('grant role %s to %s', m.roleid::regrole, m.member::regrole) FROM pg_auth_members m
    WHERE m.roleid::regrole::text LIKE 'lead\_score%'
)
SELECT line FROM lines ORDER BY line COLLATE "C";
