#!/usr/bin/env bash
# The extension update on Citus: a cluster set up with lead_score 0.1.0 (the
# setup of docs/citus.md with CREATE EXTENSION lead_score VERSION '0.1.0', an
# attachment distributed by 0.1.0's distribute(), scored data), then the
# documented update: ALTER EXTENSION lead_score UPDATE on the coordinator
# (Citus runs it on every worker) and CALL lead_score.distribute(attachment).
# Checks that every node reaches the current version with nothing internal left
# in the lead_score schema, that scores stay exact through the update, that
# writes made between the update and distribute() are repaired by rescore()
# (docs/citus.md), and that every kind of write, tick() and a new deferred
# attachment work after it. Run by tests/citus/run.sh on a fresh cluster.
#
#   SKIP_INSTALL=1 bash tests/citus/upgrade.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/cluster.sh"
EXTDIR=$("$PG_BIN/pg_config" --sharedir)/extension
OUT=${OUT:-$ROOT/target/test-results/citus}/upgrade
mkdir -p "$OUT"
MODE=upgrade  # the label of check's lines (cluster.sh)
trap cluster_stop EXIT

log "citus (upgrade): a cluster set up with lead_score 0.1.0"
# The frozen 0.1.0 install script, beside the current one (as tests/upgrade/run.sh does).
as_root cp "$ROOT/tests/upgrade/lead_score--0.1.0.sql" "$EXTDIR/"
cluster_start
citus_setup_sql |
    sed "s/^CREATE EXTENSION lead_score; .*/CREATE EXTENSION lead_score VERSION '0.1.0';/" >"$OUT/setup.sql"
check "setup: creates version 0.1.0" "$(grep -c "VERSION '0.1.0'" "$OUT/setup.sql")" 1
PGOPTIONS="-c client_min_messages=error" on "$COORD" -f "$OUT/setup.sql" >/dev/null
versions() { for p in "$COORD" "$WORKER1" "$WORKER2"; do on "$p" -c "SELECT extversion FROM pg_extension WHERE extname = 'lead_score'"; done | paste -sd' '; }
check "0.1.0 on every node" "$(versions)" "0.1.0 0.1.0 0.1.0"
on "$COORD" -c "
INSERT INTO crm.leads SELECT i, (ARRAY['Software', 'Retail', 'Finance'])[1 + i % 3],
       (ARRAY['VP', 'Engineer', 'CTO', 'Intern'])[1 + i % 4],
       CASE WHEN i % 97 = 0 THEN 'x@rival.com' ELSE 'x@example.com' END
FROM generate_series(1, 2000) i;
INSERT INTO crm.activities (lead_id, type, occurred_at, url)
SELECT 1 + i % 2000, (ARRAY['visit', 'visit', 'download', 'demo_request'])[1 + i % 4],
       now() - (i % 1000) * interval '37 minutes', (ARRAY['/pricing', '/blog', NULL])[1 + i % 3]
FROM generate_series(1, 40000) i;" >/dev/null
# This library with 0.1.0's catalog (the window before the update): every kind of write and tick().
on "$COORD" -c "INSERT INTO crm.activities (lead_id, type, occurred_at, url) VALUES (1, 'visit', now(), '/pricing'), (2, 'demo_request', now(), NULL)" \
    -c "UPDATE crm.activities SET type = 'demo_request' WHERE lead_id IN (6, 7) AND type = 'visit'" \
    -c "DELETE FROM crm.activities WHERE lead_id IN (8, 9, 10)" -c "SELECT lead_score.tick()" >/dev/null
check "0.1.0's catalog with this library: 0 mismatches after writes and tick()" "$(mismatches)" 0
alerts_before=$(on "$COORD" -c "SELECT count(*) FROM lead_score.alerts")
stored="SELECT count(*) || ' ' || md5(string_agg(lead_key || ' ' || total || ' ' || md5(state), ',' ORDER BY lead_key))"
scores_before=$(on "$COORD" -c "$stored FROM lead_score.default_scores")

log "citus (upgrade): ALTER EXTENSION lead_score UPDATE on the coordinator"
PGOPTIONS="-c client_min_messages=notice" on "$COORD" -c "ALTER EXTENSION lead_score UPDATE" >"$OUT/update.out" 2>&1
check "the update" "$?" 0
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$EXTDIR/lead_score.control")
check "every node reaches $current" "$(versions)" "$current $current $current"
# What a BI tool lists: nothing internal in lead_score on any node (shards included).
internal="SET citus.show_shards_for_app_name_prefixes = '*';
SELECT (SELECT count(*) FROM pg_proc WHERE pronamespace = 'lead_score'::regnamespace AND proname LIKE '\_%')
     + (SELECT count(*) FROM pg_class WHERE relnamespace = 'lead_score'::regnamespace
        AND (relname LIKE '\_%' OR relname ~ '^default_(scores|pending|outbox|stripes|merged|columns)'))"
check "nothing internal left in lead_score (coordinator, workers)" \
    "$(for p in "$COORD" "$WORKER1" "$WORKER2"; do on "$p" -c "$internal" | tail -1; done | paste -sd' ')" "0 0 0"
check "the update asks for distribute()" "$(grep -c "run CALL lead_score.distribute('default')" "$OUT/update.out")" 1
check "alerts survive" "$(on "$COORD" -c "SELECT count(*) FROM lead_score.alerts")" "$alerts_before"
check "score rows survive, moved to lead_score_internal" "$(on "$COORD" -c "$stored FROM lead_score_internal.default_scores")" "$scores_before"
check "0 mismatches after the update" "$(mismatches)" 0
# Until distribute() reinstalls the shards' triggers, writes are not scored.
on "$COORD" -c "INSERT INTO crm.activities (lead_id, type, occurred_at, url) VALUES (20, 'demo_request', now(), NULL)" >/dev/null

log "citus (upgrade): CALL lead_score.distribute('default'), then rescore()"
PGOPTIONS="-c client_min_messages=warning" on "$COORD" -c "CALL lead_score.distribute('default')"
check "distribute() after the update" "$?" 0
check "shard-group trigger functions reinstalled on the workers" \
    "$(on "$WORKER1" -c "SELECT count(*) > 0 FROM pg_proc WHERE pronamespace = 'lead_score_internal'::regnamespace AND proname ~ '^default__.*_[0-9]+$'")" t
check "a write between the update and distribute() is missed until rescore()" "$(mismatches)" 1
on "$COORD" -c "SET client_min_messages = warning" -c "SELECT lead_score.rescore('default')" >/dev/null
check "rescore() repairs it" "$(mismatches)" 0

log "citus (upgrade): every kind of write, tick() and a new deferred attachment"
on "$COORD" -c "INSERT INTO crm.activities (lead_id, type, occurred_at, url) VALUES (1, 'visit', now(), '/pricing'), (2, 'demo_request', now(), NULL)" \
    -c "UPDATE crm.activities SET type = 'demo_request' WHERE lead_id IN (16, 17) AND type = 'visit'" \
    -c "DELETE FROM crm.activities WHERE lead_id IN (18, 19)" -c "INSERT INTO crm.leads VALUES (5001, 'Software', 'VP', NULL)" \
    -c "UPDATE crm.leads SET industry = 'Retail' WHERE id = 3" -c "DELETE FROM crm.leads WHERE id = 4" -c "SELECT lead_score.tick()" >/dev/null
check "writes and tick() after the update: 0 mismatches" "$(mismatches)" 0
check "current_scores, one row per lead" "$(on "$COORD" -c "SELECT count(*) FROM lead_score.current_scores")" 2000
PGOPTIONS="-c client_min_messages=error" on "$COORD" \
    -c "SELECT lead_score.attach('default', 'crm.leads', 'crm.activities', name => 'feed', mode => 'deferred')" \
    -c "CALL lead_score.distribute('feed')" >/dev/null
on "$COORD" -c "INSERT INTO crm.activities (lead_id, type, occurred_at, url) SELECT 1 + i % 50, 'visit', now(), '/pricing' FROM generate_series(1, 200) i" >/dev/null
check "a deferred attachment made after the update: 0 mismatches in both, before and after tick()" \
    "$(on "$COORD" -c "SELECT (SELECT count(*) FROM lead_score.check_consistency('default')) + (SELECT count(*) FROM lead_score.check_consistency('feed'))") $(on "$COORD" -c "SELECT lead_score.tick() >= 0" >/dev/null; on "$COORD" -c "SELECT (SELECT count(*) FROM lead_score.check_consistency('default')) + (SELECT count(*) FROM lead_score.check_consistency('feed'))")" "0 0"
cluster_stop
[ "$failures" = 0 ]
