-- Every table, view and sequence of the lead_score and crm schemas, as one
-- line each: name, rows and the md5 of its rows in a fixed order. With
-- -v mask=on, columns that hold the wall-clock time (now(), which
-- lead_score.mock_now does not move) are left out, so two databases that ran
-- the same statements at different times compare equal.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET lead_score.mock_now = :'now';
SELECT set_config('dump.masked', (:'mask' = 'on')::text, false) \g /dev/null
CREATE TEMP TABLE snapshot (relation text, rows bigint, md5 text);
DO $$
DECLARE
    r record;
    n bigint;
    h text;
    -- Written with now(): the transaction's real time.
    wall text[] := CASE WHEN current_setting('dump.masked') = 'true' THEN ARRAY[
        'lead_score.models.created_at', 'lead_score.models.updated_at', 'lead_score.model_versions.created_at',
        'lead_score.attachments.created_at', 'lead_score.alerts.at', 'lead_score.outcome_links.linked_at',
        'lead_score.evaluations.evaluated_at', 'lead_score.latest_evaluations.evaluated_at',
        'lead_score.feedback.given_at'] ELSE '{}' END;
BEGIN
    FOR r IN SELECT c.oid::regclass::text AS rel, c.relkind,
                    ARRAY(SELECT a.attname::text FROM pg_attribute a
                          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                            AND c.oid::regclass::text || '.' || a.attname = ANY (wall)) AS masked
             FROM pg_class c
             WHERE c.relnamespace IN ('lead_score'::regnamespace, 'lead_score_internal'::regnamespace, 'crm'::regnamespace)
               AND c.relkind IN ('r', 'v', 'S')
             ORDER BY 1 LOOP
        IF r.relkind = 'S' THEN
            EXECUTE format('SELECT last_value, md5(last_value::text || '' '' || is_called::text) FROM %s', r.rel) INTO n, h;
        ELSE
            EXECUTE format('SELECT count(*), md5(coalesce(string_agg(x, E''\n'' ORDER BY x COLLATE "C"), ''''))
                            FROM (SELECT (to_jsonb(t) - %L::text[])::text AS x FROM %s t) s', r.masked, r.rel)
            INTO n, h;
        END IF;
        INSERT INTO snapshot VALUES (r.rel, n, h);
    END LOOP;
END $$;
SELECT relation || ' ' || rows || ' ' || md5 FROM snapshot ORDER BY relation;
