-- Internal objects have a schema of their own (src/layout.rs), created first:
-- every part of this script puts functions there. (pgrx's own
-- CREATE SCHEMA IF NOT EXISTS for it, later, then does nothing.)
CREATE SCHEMA lead_score_internal;

-- Models are user configuration: pg_extension_config_dump makes pg_dump keep them.
CREATE TABLE lead_score.models (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (name OPERATOR(pg_catalog.<>) ''),
    current_version integer NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE lead_score.models IS 'Scoring models by name; current_version is the version functions use.';

CREATE TABLE lead_score.model_versions (
    model_id   bigint NOT NULL REFERENCES lead_score.models (id) ON DELETE CASCADE,
    version    integer NOT NULL CHECK (version OPERATOR(pg_catalog.>) 0),
    spec       jsonb NOT NULL,
    note       text,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by name NOT NULL DEFAULT current_user,
    PRIMARY KEY (model_id, version)
);
COMMENT ON TABLE lead_score.model_versions IS 'Every stored version of every model; versions are never changed.';

SELECT pg_catalog.pg_extension_config_dump('lead_score.models', '');
SELECT pg_catalog.pg_extension_config_dump('lead_score.models_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('lead_score.model_versions', '');
