-- lead_score 0.1.0 → 0.2.0. Run by ALTER EXTENSION lead_score UPDATE.
-- Released scripts are never edited; tests/upgrade/run.sh checks that an upgraded
-- database has the same catalog as a fresh install of 0.2.0.
\echo Use "ALTER EXTENSION lead_score UPDATE" to load this file. \quit

-- Extension updates regenerate every attachment's generated objects (src/attach.rs).
CREATE FUNCTION lead_score."_regenerate"("attachment" text) RETURNS bool
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', 'regenerate_wrapper';
REVOKE ALL ON FUNCTION lead_score._regenerate(text) FROM PUBLIC;
COMMENT ON FUNCTION lead_score._regenerate(text) IS
    'Internal: replace an attachment''s generated functions, views and triggers with the ones this version generates (run by extension updates).';

-- current_scores becomes a view that attach and detach generate, a branch per
-- attachment, so filters push down (it was a function scan). The loop below
-- creates it when something is attached. A view of yours over it must be dropped
-- first, and created again after the update.
DROP VIEW lead_score.current_scores;
DROP FUNCTION lead_score._current_scores();

-- SHOW lead_score.as_of works in every new session of this database, before
-- anything has loaded the library: the setting exists from the start, empty (now).
DO $$ BEGIN
    EXECUTE pg_catalog.format('ALTER DATABASE %I SET lead_score.as_of = %L', pg_catalog.current_database(), '');
END $$;

-- Keep this last: every attachment's generated objects as 0.2.0 creates them.
-- Attachments on Citus are reinstalled on their shards by CALL lead_score.distribute.
DO $regenerate$
DECLARE
    a record;
BEGIN
    FOR a IN SELECT name, mapping ? 'citus_leads' AS citus FROM lead_score.attachments ORDER BY name LOOP
        IF a.citus THEN
            RAISE NOTICE 'lead_score: run CALL lead_score.distribute(%) to update attachment "%" on its shards',
                quote_literal(a.name), a.name;
        END IF;
        PERFORM lead_score._regenerate(a.name);
    END LOOP;
END
$regenerate$;
