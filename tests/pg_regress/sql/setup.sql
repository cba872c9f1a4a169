-- Every regress test runs in one database with the extension installed.
CREATE EXTENSION lead_score;
SELECT extname, extversion, nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'lead_score';

-- Every function the extension ships is labelled: volatility, strictness, parallel safety.
-- The public API is in lead_score; everything else is in lead_score_internal.
SELECT p.pronamespace::regnamespace AS schema, p.proname,
       pg_get_function_identity_arguments(p.oid) AS args,
       CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END AS volatility,
       p.proisstrict AS strict,
       CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END AS parallel,
       p.prokind
FROM pg_proc p
WHERE p.pronamespace IN ('lead_score'::regnamespace, 'lead_score_internal'::regnamespace)
ORDER BY p.pronamespace::regnamespace::text, p.proname, args;

-- A parallel-safe SQL or plpgsql function calls no function of lead_score's
-- that is not: in a parallel worker, the called one would run there anyway
-- (and a worker that loads the library itself loses lead_score.as_of).
SELECT p.oid::regprocedure AS parallel_safe, q.oid::regprocedure AS calls, q.proparallel
FROM pg_proc p
JOIN pg_proc q ON q.pronamespace IN ('lead_score'::regnamespace, 'lead_score_internal'::regnamespace)
             AND q.proparallel <> 's'
             AND p.prosrc ~ (q.pronamespace::regnamespace::text || '\.' || q.proname || '\s*\(')
WHERE p.pronamespace IN ('lead_score'::regnamespace, 'lead_score_internal'::regnamespace)
  AND p.proparallel = 's' AND p.prolang IN ((SELECT oid FROM pg_language WHERE lanname IN ('sql', 'plpgsql')))
ORDER BY 1, 2;

-- Aggregates have a combine function and a bytea (not internal) state.
SELECT a.aggfnoid::regprocedure AS aggregate, a.aggtranstype::regtype AS state_type,
       a.aggcombinefn <> 0 AS has_combine
FROM pg_aggregate a
WHERE a.aggfnoid::regproc::text ~ '^lead_score(_internal)?\.'
ORDER BY a.aggfnoid::regprocedure::text;

-- Model tables are user configuration that pg_dump keeps.
SELECT d.dumped_config
FROM (SELECT unnest(extconfig)::regclass AS dumped_config FROM pg_extension WHERE extname = 'lead_score') d
ORDER BY d.dumped_config::text;

-- So \df lead_score.* and a BI tool's table list show only the public API:
-- nothing internal (named "_…") is in the lead_score schema.
SELECT 'function' AS kind, count(*) AS internal_in_lead_score
FROM pg_proc WHERE pronamespace = 'lead_score'::regnamespace AND proname LIKE '\_%'
UNION ALL
SELECT 'relation', count(*) FROM pg_class
WHERE relnamespace = 'lead_score'::regnamespace AND relname LIKE '\_%' AND relkind <> 'S'
UNION ALL
SELECT 'type', count(*) FROM pg_type
WHERE typnamespace = 'lead_score'::regnamespace AND typname LIKE '\_%' AND typcategory <> 'A';

-- Every function, aggregate and procedure (internal ones too), every public table,
-- view, sequence, index and type, and both schemas, say what they are (COMMENT ON):
-- none is listed here. Internal relations and types start with "_".
SELECT 'function' AS kind, p.oid::regprocedure::text AS object
FROM pg_proc p
WHERE p.pronamespace IN ('lead_score'::regnamespace, 'lead_score_internal'::regnamespace)
  AND obj_description(p.oid, 'pg_proc') IS NULL
UNION ALL
SELECT 'relation', c.oid::regclass::text
FROM pg_class c
WHERE c.relnamespace = 'lead_score'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'S', 'i')
  AND c.relname NOT LIKE '\_%' AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT 'schema', n.nspname::text
FROM pg_namespace n
WHERE n.nspname IN ('lead_score', 'lead_score_internal') AND obj_description(n.oid, 'pg_namespace') IS NULL
UNION ALL
SELECT 'type', t.oid::regtype::text
FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
WHERE t.typnamespace = 'lead_score'::regnamespace AND t.typname NOT LIKE '\_%'
  AND obj_description(t.oid, 'pg_type') IS NULL
UNION ALL
SELECT 'role', r.rolname::text
FROM pg_roles r
WHERE r.rolname IN ('lead_score_reader', 'lead_score_admin') AND shobj_description(r.oid, 'pg_authid') IS NULL
ORDER BY 1, 2;

-- ... and so does every column of them.
SELECT c.oid::regclass AS relation, a.attname AS column_without_comment
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = 'lead_score'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'c')
  AND c.relname NOT LIKE '\_%' AND a.attnum > 0 AND NOT a.attisdropped
  AND col_description(c.oid, a.attnum) IS NULL
ORDER BY c.oid::regclass::text, a.attnum;

-- A function that turns nested loops off has plans that cost in the billions;
-- it turns PostgreSQL's JIT off too, which would otherwise compile every call
-- (top_leads took 1.3 s instead of 11 ms on 1,000,000 leads with jit = on).
SELECT p.oid::regprocedure AS nested_loops_off_but_jit_on
FROM pg_proc p
WHERE p.pronamespace IN ('lead_score'::regnamespace, 'lead_score_internal'::regnamespace)
  AND 'enable_nestloop=off' = ANY (p.proconfig) AND NOT 'jit=off' = ANY (p.proconfig)
ORDER BY 1;
