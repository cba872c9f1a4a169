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
-- A model-wide step decay is its inactivity decay, not each rule's: a rule
-- without its own decay shows none (it showed the step before, where explain
-- says "no decay").
SELECT lead_score.create_model('stepped', '{"fit": {"rules": []},
  "engagement": {"decay": {"kind": "step", "points": 3, "every": "2 days"},
                 "rules": [{"name": "visit", "event": "page_view", "points": 12},
                           {"name": "demo", "event": "demo_request", "points": 30, "decay": {"kind": "exponential", "half_life": "7 days"}}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 100}}}') AS version;
SELECT rule_name, decay FROM lead_score.model_rules WHERE model = 'stepped' ORDER BY rule_index;
SELECT lead_score.drop_model('stepped');

-- Scoring with a model that does not exist is an error.
SELECT lead_score.quadrant('nope', 1, 1);

-- Versions never change, and the current version changes only by publishing:
-- lead_score_admin may write these tables (create_model needs it), but an
-- UPDATE back to an older version, an edit of a spec or the removal of the
-- current version are refused (55000). Done directly, each left attached
-- tables scored with states of one version and read with another, and every
-- activity insert failed. Going back is publishing the old spec again.
SELECT max(version) AS newest FROM lead_score.model_versions v JOIN lead_score.models m ON m.id = v.model_id WHERE m.name = 'starter';
UPDATE lead_score.models SET current_version = 1 WHERE name = 'starter';
UPDATE lead_score.model_versions v SET spec = '{"fit": 1}' FROM lead_score.models m WHERE m.id = v.model_id AND m.name = 'starter' AND v.version = 1;
DELETE FROM lead_score.model_versions v USING lead_score.models m WHERE m.id = v.model_id AND m.name = 'starter' AND v.version = m.current_version;
-- Nor its note: even an UPDATE that changes nothing would mark the version as
-- stored by this transaction, and let the current version move to it.
UPDATE lead_score.model_versions v SET note = note FROM lead_score.models m WHERE m.id = v.model_id AND m.name = 'starter' AND v.version = 1;
SELECT lead_score.create_model('starter', lead_score.model_spec('starter', 1), 'back to version 1') AS republished;
SELECT version, note, spec = lead_score.model_spec('starter', 1) AS same_as_v1
FROM lead_score.model_versions v JOIN lead_score.models m ON m.id = v.model_id WHERE m.name = 'starter' ORDER BY version;
-- Publishing works in a subtransaction too (the guard asks whether this
-- transaction, or one of its subtransactions, stored the version).
BEGIN;
SAVEPOINT a;
SELECT lead_score.create_model('starter', jsonb_set(lead_score.model_spec('starter'), '{engagement,rules,0,points}', '7')) AS in_a_savepoint;
ROLLBACK;
-- An older version may be deleted.
DELETE FROM lead_score.model_versions v USING lead_score.models m WHERE m.id = v.model_id AND m.name = 'starter' AND v.version = 2;
-- The newest may not, even a draft above the current version (55000): the
-- next version is numbered after the newest, so its number would be given
-- to another spec, which other sessions (and engagement states saved with
-- it) would take for it (model_cache.spec).
INSERT INTO lead_score.model_versions (model_id, version, spec, note)
SELECT m.id, 4, lead_score.model_spec('starter', 1), 'a draft' FROM lead_score.models m WHERE m.name = 'starter';
DELETE FROM lead_score.model_versions v USING lead_score.models m WHERE m.id = v.model_id AND m.name = 'starter' AND v.version = 4;

-- drop_model removes a model and its versions.
SELECT lead_score.drop_model('starter'), lead_score.drop_model('starter');
SELECT count(*) AS versions_left FROM lead_score.model_versions;
