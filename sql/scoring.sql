-------------------------------------------------------------------------------
-- Models
-------------------------------------------------------------------------------

-- Validates a spec, raising an error that names the JSON path of its first
-- problem; true for a valid spec. The text is checked in Rust for size and
-- nesting before it is parsed (lead_score_core::model::check_shape).
CREATE FUNCTION lead_score.validate_spec(spec jsonb)
RETURNS boolean LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT lead_score_internal._validate_spec_text(spec::pg_catalog.text) $$;
COMMENT ON FUNCTION lead_score.validate_spec(jsonb) IS
    'Check a model spec without storing it; raises an error naming the JSON path of the first problem.';

-- Stores a model. A new name gets version 1; a changed spec under an existing
-- name gets the next version and becomes current; an unchanged spec is a no-op.
-- The spec is validated first, so an invalid spec stores nothing.
CREATE FUNCTION lead_score.create_model(name text, spec jsonb, note text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_model_id bigint;
    v_current  integer;
    v_next     integer;
    v_attached text;
    v_columns  jsonb;
    v_wanted   jsonb;
    v_seed     text[];
BEGIN
    IF name IS NULL OR spec IS NULL THEN
        RAISE EXCEPTION 'lead_score.create_model: name and spec must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF lead_score_internal._blank(name) THEN
        RAISE EXCEPTION 'lead_score.create_model: name must not be empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- 'name@N' names version N of model name (lead_score.score('default@3', …)).
    IF name OPERATOR(pg_catalog.~) '@[0-9]+$' THEN
        RAISE EXCEPTION 'lead_score.create_model: a model name may not end in @ and digits, which name a version: %', name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM lead_score.validate_spec(spec);
    -- The upsert takes the row lock, so concurrent publishers of one model serialize here.
    INSERT INTO lead_score.models AS m (name, current_version)
    VALUES (create_model.name, 0)
    ON CONFLICT ON CONSTRAINT models_name_key DO UPDATE SET updated_at = m.updated_at
    RETURNING m.id, m.current_version INTO v_model_id, v_current;

    IF v_current > 0 AND (SELECT v.spec = create_model.spec FROM lead_score.model_versions v
                          WHERE v.model_id = v_model_id AND v.version = v_current) THEN
        RETURN v_current;
    END IF;
    -- An attachment passes the event properties to its triggers and pending
    -- table by position, from the columns the version it was attached with
    -- named (mapping.property_columns): a version whose engagement.properties
    -- map to other columns (one added, removed or reordered) would read each
    -- as another, silently. Refused before the version is stored.
    SELECT a.name, coalesce(a.mapping -> 'property_columns', '[]'), c.columns INTO v_attached, v_columns, v_wanted
    FROM lead_score.attachments a
    CROSS JOIN LATERAL (SELECT lead_score_internal._property_columns(create_model.spec, a.mapping -> 'properties') AS columns) c
    WHERE a.model = create_model.name
      AND coalesce(a.mapping -> 'property_columns', '[]') IS DISTINCT FROM c.columns
    ORDER BY a.name LIMIT 1;
    IF v_attached IS NOT NULL THEN
        RAISE EXCEPTION 'lead_score.create_model: engagement.properties: model "%" is attached as "%", which reads the event properties from columns %; this version''s would be read from %',
            create_model.name, v_attached, v_columns, v_wanted
            USING ERRCODE = 'feature_not_supported',
                  HINT = format('Detach "%s", publish the version, then attach it again.', v_attached);
    END IF;
    -- After the newest version, which may be a draft (suggest_points) newer than the current one.
    SELECT coalesce(max(v.version), 0) + 1 INTO v_next FROM lead_score.model_versions v WHERE v.model_id = v_model_id;
    BEGIN
        INSERT INTO lead_score.model_versions (model_id, version, spec, note)
        VALUES (v_model_id, v_next, create_model.spec, create_model.note);
    EXCEPTION WHEN unique_violation THEN
        -- A version stored by hand (a draft) that this transaction's snapshot
        -- did not show, as the models row it locked did not tell.
        RAISE EXCEPTION 'could not serialize access: version % of model "%" was stored after this transaction''s snapshot', v_next, create_model.name
            USING ERRCODE = 'serialization_failure', HINT = 'Retry the transaction.';
    END;
    UPDATE lead_score.models SET current_version = v_next, updated_at = now()
    WHERE id = v_model_id;
    -- Live scores follow the new version at once (retroactively); readers see the
    -- old version's scores until this transaction commits.
    -- A version live scores could not keep equal to a recompute is refused
    -- while the model is attached (_live_check: what attach refuses).
    IF EXISTS (SELECT 1 FROM lead_score.attachments a WHERE a.model = create_model.name) THEN
        PERFORM lead_score_internal._live_check(create_model.name);
        -- And every attachment of it can read the version's fit fields.
        PERFORM lead_score_internal._check_fit_fields(create_model.name, v_next);
    END IF;
    -- In the order a statement fires their insert triggers (by trigger name,
    -- lead_score_<name>_ins, bytewise), which is the order the triggers of an
    -- activity insert lock their pending tables and its commit folds their
    -- score tables: a model attached twice to the same tables (a_x and a_x_d,
    -- whose triggers fire a_x_d's first) is published without closing a cycle
    -- with a writer between its two triggers.
    PERFORM lead_score.rescore(a.name) FROM lead_score.attachments a WHERE a.model = create_model.name
    ORDER BY (a.name || '_ins') COLLATE "C";
    -- Account views follow the version's accounts section (its field may
    -- change), once the rescores hold the score tables: tick() and writers
    -- take a score table before the account objects, and so does this (taken
    -- before, a tick() or a writer reading the account views between its
    -- score table and them deadlocked with the publish).
    v_seed := ARRAY(SELECT x.name FROM (SELECT a.name, lead_score_internal._account_objects(a.name) AS seed
                                        FROM lead_score.attachments a WHERE a.model = create_model.name
                                        ORDER BY a.name OFFSET 0) x
                    WHERE x.seed ORDER BY x.name);
    -- The accounts alerting now, where _account_objects says so, read from
    -- the leads scored by the new version (read before the rescore, the
    -- current view would merge the old version's stored states with pending
    -- events the new one scores).
    PERFORM lead_score_internal._account_seed(s.name) FROM pg_catalog.unnest(v_seed) AS s(name);
    RETURN v_next;
END
$$;
COMMENT ON FUNCTION lead_score.create_model(text, jsonb, text) IS
    'Validate and store a model spec; returns the version now current.';

-- The spec of a model version (the current one by default), for export.
CREATE FUNCTION lead_score.model_spec(name text, version integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE sql STABLE CALLED ON NULL INPUT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT v.spec
    FROM lead_score.models m
    JOIN lead_score.model_versions v
      ON v.model_id = m.id AND v.version = coalesce(model_spec.version, m.current_version)
    WHERE m.name = model_spec.name
$$;

-- Removes a model and all its versions.
CREATE FUNCTION lead_score.drop_model(name text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_attached text;
BEGIN
    SELECT a.name INTO v_attached FROM lead_score.attachments a WHERE a.model = drop_model.name ORDER BY a.name LIMIT 1;
    IF v_attached IS NOT NULL THEN
        RAISE EXCEPTION 'drop_model: model "%" is attached as "%"', drop_model.name, v_attached
            USING ERRCODE = 'dependent_objects_still_exist', HINT = format('Detach it first: lead_score.detach(%L).', v_attached);
    END IF;
    DELETE FROM lead_score.models m WHERE m.name = drop_model.name;
    RETURN FOUND;
END
$$;

-- Every rule of every model version as a row, for BI tools.
-- Every name is qualified (pg_catalog's operators, functions and types): the
-- view is bound while the extension script runs, and pgspot checks it so.
CREATE VIEW lead_score.model_rules AS
SELECT m.name                               AS model,
       v.version,
       v.version OPERATOR(pg_catalog.=) m.current_version AS is_current,
       'fit'::pg_catalog.text               AS section,
       (r.ord OPERATOR(pg_catalog.-) 1)::pg_catalog.int4 AS rule_index,
       r.rule OPERATOR(pg_catalog.->>) 'name' AS rule_name,
       NULL::pg_catalog.text[]              AS event_types,
       (r.rule OPERATOR(pg_catalog.->>) 'points')::pg_catalog.float8 AS points,
       coalesce((r.rule OPERATOR(pg_catalog.->>) 'disqualify')::pg_catalog.bool, false) AS disqualify,
       NULL::pg_catalog.text                AS category,
       NULL::pg_catalog.text                AS repeat,
       NULL::pg_catalog.float8              AS rule_cap,
       NULL::pg_catalog.jsonb               AS decay,
       r.rule OPERATOR(pg_catalog.->) 'when' AS condition
FROM lead_score.models m
JOIN lead_score.model_versions v ON v.model_id OPERATOR(pg_catalog.=) m.id
CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(v.spec OPERATOR(pg_catalog.->) 'fit' OPERATOR(pg_catalog.->) 'rules')
    WITH ORDINALITY AS r(rule, ord)
UNION ALL
SELECT m.name, v.version, v.version OPERATOR(pg_catalog.=) m.current_version,
       'completeness', NULL, 'completeness', NULL,
       (v.spec OPERATOR(pg_catalog.->) 'fit' OPERATOR(pg_catalog.->) 'completeness' OPERATOR(pg_catalog.->>) 'points')::pg_catalog.float8,
       false, NULL, NULL, NULL, NULL,
       pg_catalog.jsonb_build_object('present_share_of',
           v.spec OPERATOR(pg_catalog.->) 'fit' OPERATOR(pg_catalog.->) 'completeness' OPERATOR(pg_catalog.->) 'fields')
FROM lead_score.models m
JOIN lead_score.model_versions v ON v.model_id OPERATOR(pg_catalog.=) m.id
WHERE v.spec OPERATOR(pg_catalog.->) 'fit' OPERATOR(pg_catalog.?) 'completeness'
UNION ALL
SELECT m.name, v.version, v.version OPERATOR(pg_catalog.=) m.current_version,
       'engagement', (r.ord OPERATOR(pg_catalog.-) 1)::pg_catalog.int4, r.rule OPERATOR(pg_catalog.->>) 'name',
       CASE WHEN pg_catalog.jsonb_typeof(r.rule OPERATOR(pg_catalog.->) 'event') OPERATOR(pg_catalog.=) 'array'
            THEN ARRAY(SELECT pg_catalog.jsonb_array_elements_text(r.rule OPERATOR(pg_catalog.->) 'event'))
            ELSE ARRAY[r.rule OPERATOR(pg_catalog.->>) 'event'] END,
       (r.rule OPERATOR(pg_catalog.->>) 'points')::pg_catalog.float8, false,
       r.rule OPERATOR(pg_catalog.->>) 'category',
       CASE WHEN pg_catalog.jsonb_typeof(r.rule OPERATOR(pg_catalog.->) 'repeat') OPERATOR(pg_catalog.=) 'object' THEN 'cap'
            ELSE coalesce(r.rule OPERATOR(pg_catalog.->>) 'repeat', 'every') END,
       (r.rule OPERATOR(pg_catalog.->) 'repeat' OPERATOR(pg_catalog.->>) 'cap')::pg_catalog.float8,
       -- A step decay is the model's inactivity decay, no rule's own.
       coalesce(r.rule OPERATOR(pg_catalog.->) 'decay',
                CASE WHEN v.spec OPERATOR(pg_catalog.#>>) '{engagement,decay,kind}' OPERATOR(pg_catalog.<>) 'step'
                     THEN v.spec OPERATOR(pg_catalog.->) 'engagement' OPERATOR(pg_catalog.->) 'decay' END,
                '{"kind": "none"}'),
       r.rule OPERATOR(pg_catalog.->) 'when'
FROM lead_score.models m
JOIN lead_score.model_versions v ON v.model_id OPERATOR(pg_catalog.=) m.id
CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(v.spec OPERATOR(pg_catalog.->) 'engagement' OPERATOR(pg_catalog.->) 'rules')
    WITH ORDINALITY AS r(rule, ord);
COMMENT ON VIEW lead_score.model_rules IS 'One row per rule of every model version.';

-------------------------------------------------------------------------------
-- Fit and whole-lead functions (take the user's own row as a record)
-------------------------------------------------------------------------------

CREATE FUNCTION lead_score.fit(model text, lead record)
RETURNS float8
AS 'MODULE_PATHNAME', 'lead_score_fit'
LANGUAGE c STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lead_score.fit(text, record) IS
    'Fit score of a lead row: model fit fields are read from the columns of the same name.';

CREATE FUNCTION lead_score.disqualified_by(model text, lead record)
RETURNS text
AS 'MODULE_PATHNAME', 'lead_score_disqualified_by'
LANGUAGE c STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lead_score.disqualified_by(text, record) IS
    'Name of the first disqualify rule the lead matches, or NULL.';

-- What a score row stores of the predictive model: the lead-field features that
-- fire, as 2-byte indices (lead_score_core::predictive::encode_fired).
CREATE FUNCTION lead_score_internal._predictive_on(model text, lead record)
RETURNS bytea
AS 'MODULE_PATHNAME', 'lead_score_predictive_on'
LANGUAGE c STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lead_score_internal._predictive_on(text, record) IS
    'Internal: the predictive features a lead row fires, as stored in its score row (NULL without a predictive section).';

-- The composite every scoring function returns; its fields are defined once, in
-- Rust (lead_score_core::sqlgen::attach::SCORE).
DO $$ BEGIN EXECUTE lead_score_internal._score_type_ddl(); END $$;

-- Not strict: a NULL engagement state means the lead has no activity.
CREATE FUNCTION lead_score.score(model text, lead record, engagement bytea DEFAULT NULL)
RETURNS lead_score.score
AS 'MODULE_PATHNAME', 'lead_score_score'
LANGUAGE c STABLE CALLED ON NULL INPUT PARALLEL SAFE COST 10;
COMMENT ON FUNCTION lead_score.score(text, record, bytea) IS
    'The whole score of one lead from its row and its engagement_state().';

CREATE FUNCTION lead_score.explain(model text, lead record, engagement bytea DEFAULT NULL)
RETURNS TABLE (section text, item text, category text, events bigint,
               raw_points float8, decayed_points float8, points float8, detail text)
AS 'MODULE_PATHNAME', 'lead_score_explain'
LANGUAGE c STABLE CALLED ON NULL INPUT PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION lead_score.explain(text, record, bytea) IS
    'Why a lead scores what it does: rules fired, raw, decayed and capped points.';

-------------------------------------------------------------------------------
-- Engagement aggregates
-------------------------------------------------------------------------------
-- One C transition function serves every arity: (model, event_type, occurred_at)
-- followed by up to three text properties named by the spec's engagement.properties.
-- COST 10: measured at roughly ten times a built-in operator per row (rule lookup,
-- conditions, exp2), so the planner weighs parallel plans realistically.

CREATE FUNCTION lead_score_internal._engagement_trans(bytea, text, text, timestamptz)
RETURNS bytea AS 'MODULE_PATHNAME', 'lead_score_engagement_trans'
LANGUAGE c STABLE CALLED ON NULL INPUT PARALLEL SAFE COST 10;
CREATE FUNCTION lead_score_internal._engagement_trans(bytea, text, text, timestamptz, text)
RETURNS bytea AS 'MODULE_PATHNAME', 'lead_score_engagement_trans'
LANGUAGE c STABLE CALLED ON NULL INPUT PARALLEL SAFE COST 10;
CREATE FUNCTION lead_score_internal._engagement_trans(bytea, text, text, timestamptz, text, text)
RETURNS bytea AS 'MODULE_PATHNAME', 'lead_score_engagement_trans'
LANGUAGE c STABLE CALLED ON NULL INPUT PARALLEL SAFE COST 10;
CREATE FUNCTION lead_score_internal._engagement_trans(bytea, text, text, timestamptz, text, text, text)
RETURNS bytea AS 'MODULE_PATHNAME', 'lead_score_engagement_trans'
LANGUAGE c STABLE CALLED ON NULL INPUT PARALLEL SAFE COST 10;

CREATE FUNCTION lead_score_internal._engagement_combine(bytea, bytea)
RETURNS bytea AS 'MODULE_PATHNAME', 'lead_score_engagement_combine'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lead_score_internal._engagement_final(bytea)
RETURNS float8 AS 'MODULE_PATHNAME', 'lead_score_engagement_final'
LANGUAGE c STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION lead_score_internal._engagement_categories_final(bytea)
RETURNS jsonb AS 'MODULE_PATHNAME', 'lead_score_engagement_categories_final'
LANGUAGE c STABLE STRICT PARALLEL SAFE;

-- The engagement score of a state from engagement_state().
CREATE FUNCTION lead_score.engagement_score(state bytea)
RETURNS float8 AS 'MODULE_PATHNAME', 'lead_score_engagement_final'
LANGUAGE c STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lead_score.category_scores(state bytea)
RETURNS jsonb AS 'MODULE_PATHNAME', 'lead_score_engagement_categories_final'
LANGUAGE c STABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE lead_score.engagement(model text, event_type text, occurred_at timestamptz) (
    SFUNC = lead_score_internal._engagement_trans, STYPE = bytea, SSPACE = 256,
    FINALFUNC = lead_score_internal._engagement_final, COMBINEFUNC = lead_score_internal._engagement_combine,
    PARALLEL = SAFE);
CREATE AGGREGATE lead_score.engagement(model text, event_type text, occurred_at timestamptz, p1 text) (
    SFUNC = lead_score_internal._engagement_trans, STYPE = bytea, SSPACE = 256,
    FINALFUNC = lead_score_internal._engagement_final, COMBINEFUNC = lead_score_internal._engagement_combine,
    PARALLEL = SAFE);
CREATE AGGREGATE lead_score.engagement(model text, event_type text, occurred_at timestamptz, p1 text, p2 text) (
    SFUNC = lead_score_internal._engagement_trans, STYPE = bytea, SSPACE = 256,
    FINALFUNC = lead_score_internal._engagement_final, COMBINEFUNC = lead_score_internal._engagement_combine,
    PARALLEL = SAFE);
CREATE AGGREGATE lead_score.engagement(model text, event_type text, occurred_at timestamptz, p1 text, p2 text, p3 text) (
    SFUNC = lead_score_internal._engagement_trans, STYPE = bytea, SSPACE = 256,
    FINALFUNC = lead_score_internal._engagement_final, COMBINEFUNC = lead_score_internal._engagement_combine,
    PARALLEL = SAFE);

CREATE AGGREGATE lead_score.engagement_categories(model text, event_type text, occurred_at timestamptz) (
    SFUNC = lead_score_internal._engagement_trans, STYPE = bytea, SSPACE = 256,
    FINALFUNC = lead_score_internal._engagement_categories_final, COMBINEFUNC = lead_score_internal._engagement_combine,
    PARALLEL = SAFE);
CREATE AGGREGATE lead_score.engagement_categories(model text, event_type text, occurred_at timestamptz, p1 text) (
    SFUNC = lead_score_internal._engagement_trans, STYPE = bytea, SSPACE = 256,
    FINALFUNC = lead_score_internal._engagement_categories_final, COMBINEFUNC = lead_score_internal._engagement_combine,
    PARALLEL = SAFE);
CREATE AGGREGATE lead_score.engagement_categories(model text, event_type text, occurred_at timestamptz, p1 text, p2 text) (
    SFUNC = lead_score_internal._engagement_trans, STYPE = bytea, SSPACE = 256,
    FINALFUNC = lead_score_internal._engagement_categories_final, COMBINEFUNC = lead_score_internal._engagement_combine,
    PARALLEL = SAFE);
CREATE AGGREGATE lead_score.engagement_categories(model text, event_type text, occurred_at timestamptz, p1 text, p2 text, p3 text) (
    SFUNC = lead_score_internal._engagement_trans, STYPE = bytea, SSPACE = 256,
    FINALFUNC = lead_score_internal._engagement_categories_final, COMBINEFUNC = lead_score_internal._engagement_combine,
    PARALLEL = SAFE);

-- The raw state, for score() and explain(); no final function.
CREATE AGGREGATE lead_score.engagement_state(model text, event_type text, occurred_at timestamptz) (
    SFUNC = lead_score_internal._engagement_trans, STYPE = bytea, SSPACE = 256,
    COMBINEFUNC = lead_score_internal._engagement_combine, PARALLEL = SAFE);
CREATE AGGREGATE lead_score.engagement_state(model text, event_type text, occurred_at timestamptz, p1 text) (
    SFUNC = lead_score_internal._engagement_trans, STYPE = bytea, SSPACE = 256,
    COMBINEFUNC = lead_score_internal._engagement_combine, PARALLEL = SAFE);
CREATE AGGREGATE lead_score.engagement_state(model text, event_type text, occurred_at timestamptz, p1 text, p2 text) (
    SFUNC = lead_score_internal._engagement_trans, STYPE = bytea, SSPACE = 256,
    COMBINEFUNC = lead_score_internal._engagement_combine, PARALLEL = SAFE);
CREATE AGGREGATE lead_score.engagement_state(model text, event_type text, occurred_at timestamptz, p1 text, p2 text, p3 text) (
    SFUNC = lead_score_internal._engagement_trans, STYPE = bytea, SSPACE = 256,
    COMBINEFUNC = lead_score_internal._engagement_combine, PARALLEL = SAFE);
