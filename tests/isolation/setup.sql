-- Loaded by scripts/test.sh before the specs: the spec scanner ends a block at
-- the first closing brace, so the model's JSON lives here.
CREATE EXTENSION lead_score;
CREATE FUNCTION iso_model() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$ SELECT '{
  "fit": {"rules": [{"name": "software", "when": {"field": "industry", "eq": "Software"}, "points": 50}]},
  "engagement": {"properties": ["url"], "decay": {"kind": "exponential", "half_life": "7 days"},
    "rules": [{"name": "visit", "event": "visit", "points": 10},
              {"name": "demo", "event": "demo_request", "points": 40, "repeat": "once"}]},
  "alerts": [{"name": "demo request", "event": "demo_request"}],
  "classification": {"grades": [{"name": "A", "min": 50}, {"name": "B"}],
                     "labels": [{"name": "hot", "min": 30}, {"name": "cold"}],
                     "quadrant": {"fit": 50, "engagement": 30}, "mql": {"min_total": 80}}
}'::jsonb $$;
-- The same with a rule of negative points (stale_event.spec).
CREATE FUNCTION iso_model_negative() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_set(iso_model(), '{engagement,rules}',
                   (iso_model() #> '{engagement,rules}') || '[{"name": "unsubscribe", "event": "unsubscribe", "points": -20}]'::jsonb) $$;
-- The same with a 1-minute half-life, the shortest (stale_landmark.spec).
CREATE FUNCTION iso_model_minute() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_set(iso_model(), '{engagement,decay,half_life}', '"1 minute"') $$;
-- The same with an accounts section (publish_accounts.spec).
CREATE FUNCTION iso_model_accounts() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT iso_model() || '{"accounts": {"field": "company", "alert": 100}}'::jsonb $$;
-- model_cache.spec: iso_model() with the fit rule worth p points, and a
-- plpgsql simple expression that scores lead 1 of its leads table.
CREATE FUNCTION mc_points(p int) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_set(iso_model(), '{fit,rules,0,points}', to_jsonb(p)) $$;
CREATE FUNCTION mc_fit() RETURNS float8 LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN lead_score.fit('mc', ROW(1, 'Software')::leads);
END $$;
