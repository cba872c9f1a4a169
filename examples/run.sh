#!/usr/bin/env bash
# Runs the examples against a throwaway PostgreSQL 15 cluster of their own
# (/tmp/lead_score_examples, port 28830): loads examples/crm.sql, then runs the
# psycopg app and `dbt build`. Exits non-zero if either fails.
#   bash examples/run.sh
#   SKIP_INSTALL=1 bash examples/run.sh                 # lead_score is already installed
#   PG_BIN=/path/to/bin SKIP_INSTALL=1 bash examples/run.sh   # another PostgreSQL 15 build
#                                                     # (one with lead_score installed)
# Logs: target/examples/{psycopg,dbt}.log; Python clients: target/examples-venv.
set -euo pipefail
pg_bin_from_env=${PG_BIN:-}
source "$(dirname "$0")/../scripts/lib.sh"
PG_BIN=${pg_bin_from_env:-$PG_BIN}
export PATH="$PG_BIN:$PATH"   # psql_q and friends use this PostgreSQL's client

HERE=$ROOT/examples
EXAMPLES_DIR=${EXAMPLES_DIR:-/tmp/lead_score_examples}
EXAMPLES_PORT=${EXAMPLES_PORT:-28830}
DB=lead_score_examples
VENV=$ROOT/target/examples-venv
OUT=$ROOT/target/examples

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
    ensure_deps
    # The test build, as scripts/test.sh installs it.
    PROFILE=debug FEATURES=mock_clock install_extension
fi

# A Python virtualenv with the pinned clients, rebuilt when requirements.txt changes.
ensure_venv "$VENV" -r "$HERE/requirements.txt"

start_cluster "$EXAMPLES_DIR" "$EXAMPLES_PORT"
trap 'stop_cluster "$EXAMPLES_DIR"' EXIT
mkdir -p "$OUT"

log "loading the example CRM into database $DB"
PGOPTIONS="-c client_min_messages=warning" psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql_q -d "$DB" -f "$HERE/crm.sql" >/dev/null
export PGDATABASE=$DB   # the app and dbt's profiles.yml read PGHOST, PGPORT, PGUSER and PGDATABASE

status=0
summary=()
run_example() { # run_example NAME COMMAND...: runs it, logs to $OUT/NAME.log, records pass/fail
    local name=$1 start rc
    shift
    log "$name"
    start=$(date +%s.%N)
    set +e
    "$@" 2>&1 | tee "$OUT/$name.log"
    rc=${PIPESTATUS[0]}
    set -e
    local took
    took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    if [ "$rc" = 0 ]; then summary+=("$name passed (${took} s)"); else summary+=("$name FAILED (${took} s)"); status=1; fi
}

run_example psycopg "$VENV/bin/python" "$HERE/psycopg/app.py"
# dbt writes its target/ and logs/ under target/examples, not into the source tree.
run_example dbt env DBT_SEND_ANONYMOUS_USAGE_STATS=false "$VENV/bin/dbt" build --no-version-check \
    --project-dir "$HERE/dbt" --profiles-dir "$HERE/dbt" \
    --target-path "$OUT/dbt/target" --log-path "$OUT/dbt/logs"

if [ "$status" = 0 ]; then
    psql_q -d "$DB" -c "SELECT * FROM analytics.quadrant_summary ORDER BY leads DESC, quadrant"
fi
dbt_counts=$(grep -o "PASS=[0-9]* WARN=[0-9]* ERROR=[0-9]* SKIP=[0-9]*" "$OUT/dbt.log" | tail -1 || true)
printf -v joined '%s, ' "${summary[@]}"
echo "examples: ${joined%, }${dbt_counts:+ [dbt: $dbt_counts]}; ${SECONDS} s in all"
exit "$status"
