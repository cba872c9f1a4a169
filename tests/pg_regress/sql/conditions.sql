-- Conditions read values as PostgreSQL shows them: string operators (contains,
-- regex) see a number or boolean as its ::text, and blank text is absent for
-- lead fields and event properties alike.
CREATE SCHEMA cond;
CREATE TABLE cond.leads (id int, score real, budget numeric(10, 2), ratio float8, big bigint, vip boolean, note text);
INSERT INTO cond.leads VALUES
  (1, 0.1, 100.50, 1e20, 123456789012, true, 'call me'),
  (2, 2.5, 7, 0.00001, -5, false, '   '),
  (3, NULL, NULL, NULL, NULL, NULL, '');
SELECT id, score::text, budget::text, ratio::text, big::text, vip::text FROM cond.leads ORDER BY id;
SELECT lead_score.create_model('cond', '{
  "fit": {"rules": [
    {"name": "real contains", "when": {"field": "score", "contains": "0.1"}, "points": 1},
    {"name": "real regex", "when": {"field": "score", "regex": "^0\\.1$"}, "points": 2},
    {"name": "numeric keeps its scale", "when": {"field": "budget", "contains": ".50"}, "points": 4},
    {"name": "float8 exponent", "when": {"field": "ratio", "regex": "e[+-]"}, "points": 8},
    {"name": "bigint digits", "when": {"field": "big", "contains": "9012"}, "points": 16},
    {"name": "boolean text", "when": {"field": "vip", "contains": "tru"}, "points": 32},
    {"name": "note present", "when": {"field": "note", "present": true}, "points": 64},
    {"name": "numbers compare as numbers", "when": {"field": "budget", "eq": "100.5"}, "points": 128}]},
  "engagement": {"properties": ["url"], "rules": [
    {"name": "with url", "event": "visit", "when": {"field": "url", "present": true}, "points": 1},
    {"name": "without url", "event": "visit", "when": {"field": "url", "present": false}, "points": 10}]},
  "classification": {"grades": [{"name": "A"}], "labels": [{"name": "any"}],
                     "quadrant": {"fit": 1, "engagement": 1}, "mql": {"min_total": 1000}}
}');
-- Lead 1 matches every rule: 255 points. Lead 2 matches the exponent only
-- (1e-05); its blank note is absent. Lead 3 matches nothing.
SELECT id, lead_score.fit('cond', l) FROM cond.leads l ORDER BY id;
-- An event whose url is blank has no url: 10 points, as for a missing one.
SELECT lead_score.engagement_score(lead_score.engagement_state('cond', 'visit', now(), url)) AS points
FROM (VALUES ('/pricing'), ('   '), (''), (NULL)) AS e(url) GROUP BY url IS NOT NULL AND url <> '' AND trim(url) <> ''
ORDER BY 1;
DROP SCHEMA cond CASCADE;
SELECT lead_score.drop_model('cond');
