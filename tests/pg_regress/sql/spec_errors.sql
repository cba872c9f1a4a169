-- An invalid spec is rejected with SQLSTATE 22023 (or 22P02 for malformed JSON)
-- and a message naming the JSON path of the problem. Nothing is stored.
\set VERBOSITY default
SELECT lead_score.create_model('bad', '{"fit": {"rules": []}, "engagement": {"rules": [
  {"name": "a", "event": "x", "points": 1},
  {"name": "b", "event": "y", "points": 1},
  {"name": "c", "event": "z", "points": 1, "decay": {"kind": "exponential", "half_life": "0 days"}}
]}, "classification": {}}');

-- Each class of mistake, as the error an author would see.
CREATE FUNCTION pg_temp.try_spec(spec jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lead_score.create_model('bad', spec);
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END $$;

CREATE TEMP TABLE good AS SELECT '{
  "fit": {"rules": [{"name": "r", "when": {"field": "industry", "eq": "Software"}, "points": 10}]},
  "engagement": {"properties": ["url"], "rules": [{"name": "v", "event": "page_view", "points": 1}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "cold"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1}}
}'::jsonb AS spec;

SELECT mistake, pg_temp.try_spec(bad) AS error
FROM good, LATERAL (VALUES
  ('missing key',        spec - 'classification'),
  ('missing rule key',   spec #- '{fit,rules,0,points}'),
  ('unknown key',        jsonb_set(spec, '{engagement,rules,0,pionts}', '3')),
  ('wrong type',         jsonb_set(spec, '{fit,rules,0,points}', '"ten"')),
  ('wrong type (array)', jsonb_set(spec, '{engagement,rules}', '{}')),
  ('unknown operator',   jsonb_set(spec, '{fit,rules,0,when}', '{"field": "title", "like": "%VP%"}')),
  ('no operator',        jsonb_set(spec, '{fit,rules,0,when}', '{"field": "title"}')),
  ('bad regex',          jsonb_set(spec, '{fit,rules,0,when}', '{"field": "title", "regex": "(vp|chief"}')),
  ('zero interval',      jsonb_set(spec, '{engagement,decay}', '{"kind": "exponential", "half_life": "0 days"}')),
  ('negative interval',  jsonb_set(spec, '{engagement,rules,0,decay}', '{"kind": "window", "window": "-7 days"}')),
  ('NaN interval',       jsonb_set(spec, '{engagement,decay}', '{"kind": "step", "points": 5, "every": "NaN days"}')),
  ('NaN number',         jsonb_set(spec, '{classification,mql,min_total}', '"NaN"')),
  ('Infinity number',    jsonb_set(spec, '{fit,rules,0,points}', '"Infinity"')),
  ('number overflow',    jsonb_set(spec, '{fit,rules,0,points}', '1e400')),
  ('unknown decay kind', jsonb_set(spec, '{engagement,decay}', '{"kind": "linear"}')),
  ('unknown category',   jsonb_set(spec, '{engagement,rules,0,category}', '"ai"')),
  ('undeclared property',jsonb_set(spec, '{engagement,rules,0,when}', '{"field": "referrer", "contains": "x"}')),
  ('bad repeat',         jsonb_set(spec, '{engagement,rules,0,repeat}', '"twice"')),
  ('non-positive cap',   jsonb_set(spec, '{engagement,rules,0,repeat}', '{"cap": 0}')),
  ('duplicate name',     jsonb_set(spec, '{fit,rules,1}', '{"name": "r", "when": {"field": "x", "present": true}, "points": 1}', true)),
  ('not an object',      '[1, 2]'::jsonb),
  ('points out of range', jsonb_set(spec, '{engagement,rules,0,points}', '1e12')),
  ('half-life too short', jsonb_set(spec, '{engagement,decay}', '{"kind": "exponential", "half_life": "5 seconds"}')),
  ('half-life too long',  jsonb_set(spec, '{engagement,decay}', '{"kind": "exponential", "half_life": "1000000 years"}')),
  ('too many properties', jsonb_set(spec, '{engagement,properties}', '["url", "a", "b", "c"]'))
) AS t(mistake, bad);

-- A spec nested too deep, or too large, is refused before it is parsed, with
-- the path where it nests too deep.
SELECT pg_temp.try_spec(jsonb_set(spec, '{fit,rules,0,when}',
           (repeat('{"not": ', 70) || '{"field": "industry", "eq": "x"}' || repeat('}', 70))::jsonb)) AS too_deep
FROM good;
SELECT pg_temp.try_spec(spec || jsonb_build_object('description', repeat('x', 1100000))) AS too_large FROM good;

-- A spec just under the limit can still take seconds to compile (11,000
-- regular expressions here): a cancel or statement_timeout stops it between
-- two of them (after the whole compile before), with PostgreSQL's 57014.
CREATE TEMP TABLE slow AS
SELECT ('{"fit": {"rules": [' || string_agg(format('{"name": "r%s", "when": {"field": "x", "regex": "[a-z]{30}[a-z]{1,30}%s"}, "points": 1}', g, g), ', ')
        || ']}, "engagement": {"rules": []}, "classification": {"grades": [{"name": "A"}], "labels": [{"name": "x"}],
        "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1}}}')::jsonb AS spec
FROM generate_series(1, 11000) g;
SELECT octet_length(spec::text) < 1048576 AS under_the_limit FROM slow;
SET statement_timeout = '100ms';
DO $$
DECLARE
  started timestamptz := clock_timestamp();
BEGIN
  PERFORM lead_score.validate_spec(spec) FROM slow;
  RAISE NOTICE 'not cancelled';
EXCEPTION WHEN query_canceled THEN
  RAISE NOTICE 'cancelled (%) within 2 seconds: %', SQLSTATE, clock_timestamp() - started < interval '2 seconds';
END $$;
RESET statement_timeout;

-- Malformed JSON never reaches the extension: PostgreSQL rejects it with 22P02.
SELECT lead_score.create_model('bad', '{"fit": ');

-- None of the attempts stored anything.
SELECT count(*) AS models FROM lead_score.models;

-- validate_spec checks a spec without storing it.
SELECT lead_score.validate_spec(spec) FROM good;
