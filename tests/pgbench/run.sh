#!/usr/bin/env bash
# Concurrency test (not a benchmark): 16 pgbench clients insert, update and
# delete activities of random leads, with rollbacks; half the transactions only
# insert, and one in 21 calls tick(). Then every materialized score, of a sync and a deferred
# attachment, must equal a from-scratch recompute, with no failed transaction
# and no deadlock. Runs against the cluster described by PGHOST/PGPORT/PGUSER.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
db=${1:-lead_score_pgbench}
log=${2:-/tmp/lead_score_pgbench.log}
server_log=${3:-}
clients=16
transactions=300
PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -d "$db" -f "$here/setup.sql" >/dev/null
deadlocks_before=0
[ -n "$server_log" ] && deadlocks_before=$(grep -c "deadlock detected" "$server_log" || true)
pgbench -n -c "$clients" -j 2 -t "$transactions" -f "$here/writes.sql@10" -f "$here/inserts.sql@10" -f "$here/tick.sql@1" "$db" >"$log" 2>&1 || true
processed=$(awk -F'[:/ ]+' '/number of transactions actually processed/ {print $6; exit}' "$log")
failed=$(awk '/number of failed transactions/ {print $5; exit}' "$log")
aborted=$(grep -c "aborted" "$log" || true)
deadlocks=0
[ -n "$server_log" ] && deadlocks=$(( $(grep -c "deadlock detected" "$server_log" || true) - deadlocks_before ))
mismatches=$(psql -X -tA -d "$db" -c "SELECT count(*) FROM lead_score.check_consistency('pb')")
mismatches_deferred=$(psql -X -tA -d "$db" -c "SELECT count(*) FROM lead_score.check_consistency('pb_deferred')")
pending=$(psql -X -tA -d "$db" -c "SELECT count(*) FROM lead_score_internal.pb_deferred_pending")
# A last tick() folds everything left, and the scores still match.
after_tick=$(psql -X -tA -d "$db" -c "SELECT lead_score.tick()" \
    -c "SELECT count(*) FROM lead_score_internal.pb_deferred_pending" -c "SELECT count(*) FROM lead_score.check_consistency('pb_deferred')" | tail -2 | tr '\n' ' ')
events=$(psql -X -tA -d "$db" -c "SELECT count(*) FROM pb_events")
echo "pgbench: $clients clients x $transactions transactions: processed=${processed:-?} failed=${failed:-?} aborted clients=$aborted deadlocks=$deadlocks; events now $events; mismatches=$mismatches (deferred: $mismatches_deferred, with $pending events pending; after a tick, pending and mismatches: $after_tick)"
[ "${processed:-0}" = $((clients * transactions)) ] && [ "${failed:-1}" = 0 ] && [ "$aborted" = 0 ] \
    && [ "$deadlocks" = 0 ] && [ "$mismatches" = 0 ] && [ "$mismatches_deferred" = 0 ] && [ "$after_tick" = "0 0 " ] || { tail -20 "$log"; exit 1; }
