-- A model is a named JSON spec. Storing a changed spec makes a new version.
SELECT lead_score.create_model('starter', '{
  "fit": {
    "rules": [
      {"name": "software", "when": {"field": "industry", "eq": "Software"}, "points": 20},
      {"name": "competitor", "when": {"field": "email", "regex": "@rival\\.com$"}, "disqualify": true}
    ]
  },
  "engagement": {
    "rules": [{"name": "visit", "event": "page_view", "points": 1}]
  },
  "classification": {
    "grades": [{"name": "A", "min": 20}, {"name": "B"}],
    "labels": [{"name": "hot", "min": 10}, {"name": "cold"}],
    "quadrant": {"fit": 15, "engagement": 5},
    "mql": {"min_total": 25}
  }
}') AS version;

-- Storing the same spec again is a no-op: still version 1.
SELECT lead_score.create_model('starter', lead_score.model_spec('starter')) AS version;

-- A changed spec becomes version 2 and current; version 1 is kept.
SELECT lead_score.create_model('starter',
         jsonb_set(lead_score.model_spec('starter'), '{engagement,rules,0,points}', '2'),
         'visits are worth more') AS version;

SELECT m.name, m.current_version, v.version, v.note,
       v.spec #> '{engagement,rules,0,points}' AS visit_points
FROM lead_score.models m JOIN lead_score.model_versions v ON v.model_id = m.id
ORDER BY v.version;

-- Export: the current spec, or any version.
SELECT lead_score.model_spec('starter', 1) #> '{engagement,rules,0}' AS v1_rule,
       lead_score.model_spec('starter') #> '{engagement,rules,0}' AS current_rule;
SELECT lead_score.model_spec('no such model') IS NULL AS missing_is_null;

-- Rules as rows, for BI tools.
SELECT model, version, is_current, section, rule_index, rule_name, event_types, points, disqualify, repeat, decay
FROM lead_score.model_rules WHERE model = 'starter' ORDER BY version, section, rule_index;

-- Scoring with a model that does not exist is an error.
SELECT lead_score.quadrant('nope', 1, 1);

-- drop_model removes a model and its versions.
SELECT lead_score.drop_model('starter'), lead_score.drop_model('starter');
SELECT count(*) AS versions_left FROM lead_score.model_versions;
