-- Every regress test runs in one database with the extension installed.
CREATE EXTENSION lead_score;
SELECT extname, extversion, nspname AS schema
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE extname = 'lead_score';

-- Every function the extension ships is labelled: volatility, strictness, parallel safety.
SELECT p.proname,
       pg_get_function_identity_arguments(p.oid) AS args,
       CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END AS volatility,
       p.proisstrict AS strict,
       CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END AS parallel,
       p.prokind
FROM pg_proc p
WHERE p.pronamespace = 'lead_score'::regnamespace
ORDER BY p.proname, args;

-- Aggregates have a combine function and a bytea (not internal) state.
SELECT a.aggfnoid::regprocedure AS aggregate, a.aggtranstype::regtype AS state_type,
       a.aggcombinefn <> 0 AS has_combine
FROM pg_aggregate a
WHERE a.aggfnoid::regproc::text LIKE 'lead_score.%'
ORDER BY 1::text;

-- Model tables are user configuration that pg_dump keeps.
SELECT unnest(extconfig)::regclass AS dumped_config
FROM pg_extension WHERE extname = 'lead_score' ORDER BY 1::text;
