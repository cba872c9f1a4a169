#!/usr/bin/env bash
# Concurrency test (not a benchmark): 16 pgbench clients insert, update and
# delete activities of random leads, with rollbacks. Then every materialized
# score must equal a from-scratch recompute, with no failed transaction and
# no deadlock. Runs against the cluster described by PGHOST/PGPORT/PGUSER.
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
pgbench -n -c "$clients" -j 2 -t "$transactions" -f "$here/writes.sql" "$db" >"$log" 2>&1 || true
processed=$(awk -F'[:/ ]+' '/number of transactions actually processed/ {print $6}' "$log")
failed=$(awk '/number of failed transactions/ {print $5}' "$log")
aborted=$(grep -c "aborted" "$log" || true)
deadlocks=0
[ -n "$server_log" ] && deadlocks=$(( $(grep -c "deadlock detected" "$server_log" || true) - deadlocks_before ))
mismatches=$(psql -X -tA -d "$db" -c "SELECT count(*) FROM lead_score.check_consistency('pb')")
events=$(psql -X -tA -d "$db" -c "SELECT count(*) FROM pb_events")
echo "pgbench: $clients clients x $transactions transactions: processed=${processed:-?} failed=${failed:-?} aborted clients=$aborted deadlocks=$deadlocks; events now $events; mismatches=$mismatches"
[ "${processed:-0}" = $((clients * transactions)) ] && [ "${failed:-1}" = 0 ] && [ "$aborted" = 0 ] \
    && [ "$deadlocks" = 0 ] && [ "$mismatches" = 0 ] || { tail -20 "$log"; exit 1; }
