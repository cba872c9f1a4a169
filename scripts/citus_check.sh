#!/usr/bin/env bash
# Checks the co-located layout of docs/citus.md on a cluster that has Citus:
# aggregates pushed down or combined, live scores kept by triggers on the shards,
# and zero consistency mismatches. Skips (exit 0) where Citus is not installed.
#   PGHOST=... PGPORT=... PGDATABASE=... bash scripts/citus_check.sh
set -euo pipefail
q() { psql -X -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(q -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'citus'")" = 0 ]; then
    echo "citus is not available on this server: skipped"
    exit 0
fi
q <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS citus;
CREATE EXTENSION IF NOT EXISTS lead_score;
SET citus.enable_unsafe_triggers = on;
SELECT create_reference_table('lead_score.models');
SELECT create_reference_table('lead_score.model_versions');
SELECT create_reference_table('lead_score.attachments');
ALTER TABLE lead_score.alerts DROP CONSTRAINT alerts_pkey, ADD PRIMARY KEY (lead_key, id);
SELECT create_distributed_table('lead_score.alerts', 'lead_key');
CREATE SCHEMA citus_check;
CREATE TABLE citus_check.leads (id bigint PRIMARY KEY, industry text);
CREATE TABLE citus_check.activities (id bigserial, lead_id bigint NOT NULL, type text NOT NULL,
                                     occurred_at timestamptz NOT NULL, url text, PRIMARY KEY (lead_id, id));
SELECT create_distributed_table('citus_check.leads', 'id');
SELECT create_distributed_table('citus_check.activities', 'lead_id', colocate_with => 'citus_check.leads');
SELECT lead_score.create_model('citus_check', jsonb_build_object(
  'fit', jsonb_build_object('rules', jsonb_build_array(jsonb_build_object('name', 'software',
      'when', jsonb_build_object('field', 'industry', 'eq', 'Software'), 'points', 50))),
  'engagement', jsonb_build_object('properties', jsonb_build_array('url'),
      'decay', jsonb_build_object('kind', 'exponential', 'half_life', '7 days'),
      'rules', jsonb_build_array(jsonb_build_object('name', 'visit', 'event', 'visit', 'points', 5))),
  'classification', jsonb_build_object(
      'grades', jsonb_build_array(jsonb_build_object('name', 'A', 'min', 50), jsonb_build_object('name', 'B')),
      'labels', jsonb_build_array(jsonb_build_object('name', 'hot', 'min', 20), jsonb_build_object('name', 'cold')),
      'quadrant', jsonb_build_object('fit', 50, 'engagement', 20),
      'mql', jsonb_build_object('min_total', 70))));
SELECT lead_score.attach('citus_check', 'citus_check.leads', 'citus_check.activities');
SELECT create_distributed_table('lead_score.citus_check_scores', 'lead_key', colocate_with => 'citus_check.leads');
SELECT create_distributed_table('lead_score.citus_check_pending', 'lead_key', colocate_with => 'citus_check.leads');
INSERT INTO citus_check.leads SELECT i, CASE WHEN i % 2 = 0 THEN 'Software' END FROM generate_series(1, 1000) i;
INSERT INTO citus_check.activities (lead_id, type, occurred_at)
SELECT 1 + i % 1000, 'visit', now() - (i % 300) * interval '1 hour' FROM generate_series(1, 20000) i;
SQL
mismatches=$(q -c "SELECT count(*) FROM lead_score.check_consistency('citus_check')")
q -c "SELECT lead_score.tick()" >/dev/null
mismatches_after_tick=$(q -c "SELECT count(*) FROM lead_score.check_consistency('citus_check')")
pushed=$(q -c "EXPLAIN SELECT lead_id, lead_score.engagement('citus_check', type, occurred_at) FROM citus_check.activities GROUP BY lead_id" | grep -c "Task Count" || true)
total=$(q -c "SELECT round(sum(e)::numeric, 6) FROM (SELECT lead_id, lead_score.engagement('citus_check', type, occurred_at) e FROM citus_check.activities GROUP BY lead_id) s")
combined=$(q -c "SELECT round(lead_score.engagement('citus_check', type, occurred_at)::numeric, 6) FROM citus_check.activities WHERE lead_id = 2")
echo "citus: consistency mismatches=$mismatches (after tick: $mismatches_after_tick), distributed plan=$pushed, sum of engagement=$total, one lead=$combined"
[ "$mismatches" = 0 ] && [ "$mismatches_after_tick" = 0 ] && [ "$pushed" -ge 1 ]
