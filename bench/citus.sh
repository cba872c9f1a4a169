#!/usr/bin/env bash
# Scale benchmark on Citus (not a test): one run of a coordinator and two
# workers, and a plain single node, on this machine (tests/citus/cluster.sh).
#  1. Batch engagement of LEADS leads over ACTIVITIES activities: GROUP BY the
#     distribution column on the cluster against the same query on the single node.
#  2. COPY of COPY_ROWS activities into distributed tables with live scores
#     attached (sync, the triggers on the shards) against the same COPY into
#     distributed tables with nothing attached (and the same primary key).
#  3. The same COPY into distributed tables attached in deferred mode (the C
#     trigger on each activity shard appends to its pending shard), and the
#     tick() that then folds the COPY_ROWS pending events on every shard group.
#  4. Single-row inserts through the coordinator (pgbench, CLIENTS clients,
#     INSERT_SECONDS seconds each, one activity of a random lead per transaction), into
#     the plain, the sync and the deferred distributed tables: the
#     small-transaction throughput of each, and ratios to plain.
#
#   bash bench/citus.sh                                  # 1M leads x 10M activities, 1M COPY
#   LEADS=100000 ACTIVITIES=1000000 COPY_ROWS=100000 CLIENTS=4 INSERT_SECONDS=10 bash bench/citus.sh
#   PG_BIN=/opt/pgc/lib/postgresql/15/bin SKIP_INSTALL=1 bash bench/citus.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
LEADS=${LEADS:-1000000}
ACTIVITIES=${ACTIVITIES:-10000000}
COPY_ROWS=${COPY_ROWS:-1000000}
CLIENTS=${CLIENTS:-8}
SECONDS_=${INSERT_SECONDS:-20}
export CITUS_DIR=${CITUS_DIR:-/tmp/citus_bench} CITUS_PORT=${CITUS_PORT:-29111} CITUS_SHARED_BUFFERS=${CITUS_SHARED_BUFFERS:-1GB}
source "$here/../tests/citus/cluster.sh"
citus_available || { echo "citus is not installed under $PG_BIN: run ../shared/citus/build.sh"; exit 1; }
install_lead_score
trap cluster_stop EXIT
cluster_start
OUT=$ROOT/target/bench-citus
mkdir -p "$OUT"

seconds() { # seconds PORT SQL: wall time of one statement, from psql's \timing
    local ms
    ms=$(psql -X -v ON_ERROR_STOP=1 -qtA -p "$1" -c "\\timing on" -c "$2" | awk '/^Time:/ {print $2}' | tail -1)
    [ -n "$ms" ] || { echo "failed: $2" >&2; return 1; }
    awk -v ms="$ms" 'BEGIN {printf "%.2f", ms / 1000}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# The documented setup (docs/citus.md) on the cluster, and its plain part on the single node.
citus_setup_sql >"$OUT/setup.sql"
grep -v -e 'citus' -e 'create_distributed_table' -e 'lead_score.attach' -e 'lead_score.distribute' "$OUT/setup.sql" >"$OUT/single.sql"
PGOPTIONS="-c client_min_messages=warning" on "$COORD" -f "$OUT/setup.sql" >/dev/null
PGOPTIONS="-c client_min_messages=warning" on "$SINGLE" -f "$OUT/single.sql" >/dev/null

# 1. Batch engagement, on tables with nothing attached.
tables="CREATE SCHEMA b;
CREATE TABLE b.leads (id bigint PRIMARY KEY, industry text);
CREATE TABLE b.activities (id bigserial, lead_id bigint NOT NULL, type text NOT NULL,
                           occurred_at timestamptz NOT NULL, url text, PRIMARY KEY (lead_id, id));"
data="INSERT INTO b.leads SELECT i, (ARRAY['Software', 'Retail', 'Finance'])[1 + (i % 3)::int] FROM generate_series(1, $LEADS) i;
INSERT INTO b.activities (lead_id, type, occurred_at, url)
SELECT 1 + (i * 7919) % $LEADS, (ARRAY['visit', 'visit', 'download', 'demo_request'])[1 + (i % 4)::int],
       timestamptz '2026-06-01 00:00+00' - (i % 100000) * interval '1 minute', (ARRAY['/pricing', '/blog', NULL])[1 + (i % 3)::int]
FROM generate_series(1::bigint, $ACTIVITIES) i;"
on "$COORD" -c "$tables" -c "SELECT create_distributed_table('b.leads', 'id')" \
    -c "SELECT create_distributed_table('b.activities', 'lead_id', colocate_with => 'b.leads')" >/dev/null
on "$SINGLE" -c "$tables" >/dev/null
log "loading $LEADS leads and $ACTIVITIES activities (cluster, then single node)"
load_citus=$(seconds "$COORD" "$data")
load_single=$(seconds "$SINGLE" "$data")
on "$COORD" -c "ANALYZE b.leads" -c "ANALYZE b.activities" >/dev/null
on "$SINGLE" -c "VACUUM ANALYZE b.leads" -c "VACUUM ANALYZE b.activities" >/dev/null
batch="SELECT count(*), round(sum(e)::numeric, 3) FROM (SELECT lead_id, lead_score.engagement('default', type, occurred_at, url) e FROM b.activities GROUP BY lead_id) s"
log "batch engagement (best of 2 each)"
b1=$(seconds "$COORD" "$batch"); b2=$(seconds "$COORD" "$batch")
batch_citus=$(awk -v a="$b1" -v b="$b2" 'BEGIN {print (a < b) ? a : b}')
s1=$(seconds "$SINGLE" "$batch"); s2=$(seconds "$SINGLE" "$batch")
batch_single=$(awk -v a="$s1" -v b="$s2" 'BEGIN {print (a < b) ? a : b}')
check_citus=$(on "$COORD" -c "$batch"); check_single=$(on "$SINGLE" -c "$batch")
on "$COORD" -c "EXPLAIN (ANALYZE, VERBOSE) $batch" >"$OUT/batch.plan"
on "$COORD" -c "SET citus.explain_all_tasks = on" -c "EXPLAIN (ANALYZE) $batch" >"$OUT/batch_tasks.plan"
# The largest Execution Time is the coordinator's (all of it); the next, the slowest shard's.
slowest_task=$(grep -o "Execution Time: [0-9.]*" "$OUT/batch_tasks.plan" | awk '{print $3}' | sort -n | tail -2 | head -1 |
    awk '{printf "%.2f", $1 / 1000}')

# 2. COPY into attached against plain distributed tables.
log "COPY of $COPY_ROWS activities: attached (sync) and plain distributed"
on "$COORD" -c "INSERT INTO crm.leads SELECT i, (ARRAY['Software', 'Retail', 'Finance'])[1 + (i % 3)::int], 'VP', NULL FROM generate_series(1, $LEADS) i" >/dev/null
file=$OUT/copy.tsv
on "$COORD" -c "\\copy (SELECT 1 + (i * 7919) % $LEADS, (ARRAY['visit', 'visit', 'download', 'demo_request'])[1 + (i % 4)::int], now() - (i % 10000) * interval '1 second', (ARRAY['/pricing', '/blog', NULL])[1 + (i % 3)::int] FROM generate_series(1::bigint, $COPY_ROWS) i) TO '$file'"
# With the same primary key index as crm.activities: without it, the plain COPY is
# 1.5 times faster and every ratio to it overstates what live scores cost.
on "$COORD" -c "CREATE TABLE b.plain (LIKE crm.activities INCLUDING DEFAULTS INCLUDING INDEXES)" \
    -c "SELECT create_distributed_table('b.plain', 'lead_id', colocate_with => 'crm.leads')" >/dev/null
copy_plain=$(seconds "$COORD" "\\copy b.plain (lead_id, type, occurred_at, url) FROM '$file'")
copy_live=$(seconds "$COORD" "\\copy crm.activities (lead_id, type, occurred_at, url) FROM '$file'")
mismatches=$(on "$COORD" -c "SELECT count(*) FROM lead_score.check_consistency('default')")
shards=$(on "$COORD" -c "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = 'crm.activities'::regclass")

# 3. The same tables and leads, attached in deferred mode.
log "COPY of $COPY_ROWS activities: attached (deferred), then tick()"
on "$COORD" -c "CREATE SCHEMA d" -c "CREATE TABLE d.leads (id bigint PRIMARY KEY, industry text, title text, email text)" \
    -c "CREATE TABLE d.activities (id bigserial, lead_id bigint NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL, url text, PRIMARY KEY (lead_id, id))" \
    -c "SELECT create_distributed_table('d.leads', 'id', colocate_with => 'crm.leads')" \
    -c "SELECT create_distributed_table('d.activities', 'lead_id', colocate_with => 'crm.leads')" >/dev/null
PGOPTIONS="-c client_min_messages=warning" on "$COORD" -c "SELECT lead_score.attach('default', 'd.leads', 'd.activities', name => 'deferred', mode => 'deferred')" >/dev/null
PGOPTIONS="-c client_min_messages=warning" on "$COORD" -c "CALL lead_score.distribute('deferred')" >/dev/null
on "$COORD" -c "INSERT INTO d.leads SELECT * FROM crm.leads" >/dev/null
copy_deferred=$(seconds "$COORD" "\\copy d.activities (lead_id, type, occurred_at, url) FROM '$file'")
pending_rows=$(on "$COORD" -c "SELECT count(*) FROM lead_score_internal.deferred_pending")
mismatches_pending=$(on "$COORD" -c "SELECT count(*) FROM lead_score.check_consistency('deferred')")
tick_fold=$(seconds "$COORD" "SELECT lead_score.tick()")
left=$(on "$COORD" -c "SELECT count(*) FROM lead_score_internal.deferred_pending")
mismatches_folded=$(on "$COORD" -c "SELECT count(*) FROM lead_score.check_consistency('deferred')")
tick_idle=$(seconds "$COORD" "SELECT lead_score.tick()")

# 4. Single-row inserts, a round of each table, twice; the better round of each.
log "single-row inserts: $CLIENTS clients, ${SECONDS_}s per table and round"
tps() { # tps TABLE: pgbench TPS of one-activity inserts into TABLE
    printf '%s\n' '\set l random(1, '"$LEADS"')' \
        "INSERT INTO $1 (lead_id, type, occurred_at, url) VALUES (:l, 'visit', now() - random() * interval '1 hour', '/pricing');" \
        >"$OUT/insert_$1.sql"
    "$PG_BIN/pgbench" -n -p "$COORD" -c "$CLIENTS" -j 2 -T "$SECONDS_" -f "$OUT/insert_$1.sql" postgres 2>&1 |
        tee "$OUT/pgbench_$1.log" | awk '/^tps = / {printf "%.0f", $3}'
}
best() { awk -v a="$1" -v b="$2" 'BEGIN {print (a > b) ? a : b}'; }
tps_plain=0 tps_sync=0 tps_deferred=0
for round in 1 2; do
    tps_plain=$(best "$tps_plain" "$(tps b.plain)")
    tps_sync=$(best "$tps_sync" "$(tps crm.activities)")
    tps_deferred=$(best "$tps_deferred" "$(tps d.activities)")
done
mismatches_inserts=$(on "$COORD" -c "SELECT (SELECT count(*) FROM lead_score.check_consistency('default')) + (SELECT count(*) FROM lead_score.check_consistency('deferred'))")

cat <<REPORT | tee "$OUT/report.txt"

Citus benchmark: coordinator + 2 workers and a single node, all on this machine ($(nproc) cores)
$LEADS leads, $ACTIVITIES activities; $shards shards per table
load (INSERT ... SELECT):     cluster ${load_citus}s, single node ${load_single}s
batch engagement by lead:    cluster ${batch_citus}s, single node ${batch_single}s, ratio cluster/single $(ratio "$batch_citus" "$batch_single")
  slowest shard task ${slowest_task}s (the rest is the coordinator: planning, $shards round trips, merging ${LEADS} rows)
  results equal: $([ "$check_citus" = "$check_single" ] && echo yes || echo "NO ($check_citus vs $check_single)")
COPY of $COPY_ROWS activities: live scores attached ${copy_live}s, nothing attached ${copy_plain}s, ratio $(ratio "$copy_live" "$copy_plain")
  consistency mismatches after the COPY: $mismatches
deferred COPY of $COPY_ROWS activities: ${copy_deferred}s, ratio to nothing attached $(ratio "$copy_deferred" "$copy_plain") (sync: $(ratio "$copy_live" "$copy_plain"))
  pending events after it: $pending_rows; consistency mismatches before tick(): $mismatches_pending
tick() folding them on every shard group: ${tick_fold}s; pending left: $left; mismatches after: $mismatches_folded
tick() with nothing to fold: ${tick_idle}s
single-row inserts ($CLIENTS clients, better of 2 rounds of ${SECONDS_}s): nothing attached $tps_plain TPS,
  sync $tps_sync TPS (ratio $(ratio "$tps_sync" "$tps_plain")), deferred $tps_deferred TPS (ratio $(ratio "$tps_deferred" "$tps_plain"));
  consistency mismatches after them (both attachments): $mismatches_inserts
REPORT
