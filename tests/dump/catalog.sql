-- The catalog of the lead_score and crm schemas, one line per fact, by name
-- (never by OID): the extension, its configuration tables, every relation,
-- column, constraint, index, view, function, trigger, type, sequence, comment,
-- owner, grant, initial privilege, extension membership and dependency. The
-- objects attach() generated are among them. Two databases whose lines are
-- the same have the same lead_score objects.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE TEMP VIEW ours AS SELECT n.oid FROM pg_namespace n WHERE n.nspname IN ('lead_score', 'lead_score_internal', 'crm');
CREATE TEMP VIEW members AS
SELECT d.classid, d.objid FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'lead_score';

SELECT line FROM (
SELECT concat_ws(' | ', 'extension', e.extname, e.extversion, pg_get_userbyid(e.extowner), e.extrelocatable,
                 e.extnamespace::regnamespace, e.extconfig::regclass[]::text, e.extcondition::text) AS line
FROM pg_extension e WHERE e.extname = 'lead_score'
UNION ALL
SELECT concat_ws(' | ', 'schema', n.nspname, pg_get_userbyid(n.nspowner), n.nspacl::text,
                 obj_description(n.oid, 'pg_namespace'))
FROM pg_namespace n WHERE n.oid IN (SELECT oid FROM ours)
UNION ALL
SELECT concat_ws(' | ', 'relation', c.oid::regclass, c.relkind, pg_get_userbyid(c.relowner), c.relacl::text,
                 c.reloptions::text, c.relpersistence, am.amname, c.relreplident, c.relrowsecurity,
                 (c.tableoid, c.oid) IN (SELECT * FROM members), obj_description(c.oid, 'pg_class'))
FROM pg_class c LEFT JOIN pg_am am ON am.oid = c.relam
WHERE c.relnamespace IN (SELECT oid FROM ours)
UNION ALL
SELECT concat_ws(' | ', 'column', c.oid::regclass, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                 pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, a.attacl::text,
                 a.attcollation::regcollation, col_description(c.oid, a.attnum),
                 -- the column's place among the others
                 row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum))
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relnamespace IN (SELECT oid FROM ours)
UNION ALL
SELECT concat_ws(' | ', 'constraint', coalesce(co.conrelid::regclass::text, co.contypid::regtype::text), co.conname,
                 pg_get_constraintdef(co.oid), obj_description(co.oid, 'pg_constraint'))
FROM pg_constraint co WHERE co.connamespace IN (SELECT oid FROM ours)
UNION ALL
SELECT concat_ws(' | ', 'index', i.indexrelid::regclass, pg_get_indexdef(i.indexrelid), i.indisclustered,
                 i.indisreplident)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace IN (SELECT oid FROM ours)
UNION ALL
SELECT concat_ws(' | ', 'view', c.oid::regclass, pg_get_viewdef(c.oid, true))
FROM pg_class c WHERE c.relkind IN ('v', 'm') AND c.relnamespace IN (SELECT oid FROM ours)
UNION ALL
SELECT concat_ws(' | ', 'function', p.oid::regprocedure, p.prokind, pg_get_userbyid(p.proowner), p.proacl::text,
                 (p.tableoid, p.oid) IN (SELECT * FROM members), obj_description(p.oid, 'pg_proc'),
                 CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END)
FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM ours)
UNION ALL
SELECT concat_ws(' | ', 'aggregate', a.aggfnoid::regprocedure, a.aggtransfn::regprocedure, a.aggcombinefn,
                 a.aggfinalfn, a.aggtranstype::regtype, a.agginitval)
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid WHERE p.pronamespace IN (SELECT oid FROM ours)
UNION ALL
SELECT concat_ws(' | ', 'trigger', t.tgrelid::regclass, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled,
                 obj_description(t.oid, 'pg_trigger'))
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal AND c.relnamespace IN (SELECT oid FROM ours)
UNION ALL
SELECT concat_ws(' | ', 'type', t.oid::regtype, t.typtype, pg_get_userbyid(t.typowner), t.typacl::text,
                 (t.tableoid, t.oid) IN (SELECT * FROM members), obj_description(t.oid, 'pg_type'))
FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM ours)
UNION ALL
SELECT concat_ws(' | ', 'sequence', s.seqrelid::regclass, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmax,
                 s.seqmin, s.seqcache, s.seqcycle)
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace IN (SELECT oid FROM ours)
UNION ALL
SELECT concat_ws(' | ', 'event trigger', t.evtname, t.evtevent, t.evtfoid::regprocedure, t.evtenabled,
                 t.evttags::text, pg_get_userbyid(t.evtowner), (t.tableoid, t.oid) IN (SELECT * FROM members),
                 obj_description(t.oid, 'pg_event_trigger'))
FROM pg_event_trigger t
UNION ALL
SELECT concat_ws(' | ', 'initial privileges', pg_describe_object(i.classoid, i.objoid, i.objsubid), i.privtype,
                 i.initprivs::text)
FROM pg_init_privs i
WHERE pg_describe_object(i.classoid, i.objoid, i.objsubid) ~ '(lead_score|crm)\.'
UNION ALL
-- Dependencies (the generated triggers on crm's tables on their functions,
-- views on the columns they read, ...), as counts of each described pair.
SELECT concat_ws(' | ', 'depends', o, r, deptype, count(*))
FROM (SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS o,
             pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) AS r, d.deptype
      FROM pg_depend d) x
WHERE (o ~ '(lead_score|crm)\.|lead_score' OR r ~ '(lead_score|crm)\.')
  -- Named by OID: toast tables and the triggers behind foreign keys.
  AND o !~ 'pg_toast|RI_ConstraintTrigger' AND r !~ 'pg_toast|RI_ConstraintTrigger'
GROUP BY o, r, deptype
) facts
ORDER BY line COLLATE "C";
