#!/usr/bin/env bash
# Benchmark (not a test): the extension against hand-written SQL and a bare scan,
# measured in one run on the same data. Prints medians and ratios.
#   bash bench/bench.sh [--leads N] [--activities M] [--reps R]
source "$(dirname "$0")/../scripts/lib.sh"

LEADS=1000000
ACTIVITIES=10000000
REPS=5
while [ $# -gt 0 ]; do
    case $1 in
        --leads) LEADS=$2; shift 2 ;;
        --activities) ACTIVITIES=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        *) echo "usage: $0 [--leads N] [--activities M] [--reps R]" >&2; exit 2 ;;
    esac
done
BENCH_DIR=${BENCH_DIR:-/tmp/lead_score_bench}
BENCH_PORT=${BENCH_PORT:-28817}
HERE=$ROOT/bench
DB=lead_score_bench

ensure_deps
PROFILE=release install_extension
start_cluster "$BENCH_DIR" "$BENCH_PORT"
export PGDATABASE=$DB
psql_q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
    || psql_q -d postgres -c "CREATE DATABASE $DB"

# Fresh extension objects every run; the data is kept while its size matches.
PGOPTIONS="-c client_min_messages=warning" psql_q -c "DROP EXTENSION IF EXISTS lead_score CASCADE" -c "CREATE EXTENSION lead_score"
psql_q -c "SELECT lead_score.create_model('bench', \$spec\$$(cat "$HERE/model.json")\$spec\$)" >/dev/null
have=$(psql_q -tAc "SELECT obj_description('bench.activities'::regclass)" 2>/dev/null || true)
if [ "$have" != "$LEADS/$ACTIVITIES" ]; then
    log "generating $LEADS leads and $ACTIVITIES activities"
    psql_q -v leads="$LEADS" -v activities="$ACTIVITIES" -f "$HERE/generate.sql"
    psql_q -c "COMMENT ON TABLE bench.activities IS '$LEADS/$ACTIVITIES'"
fi

SESSION="SET lead_score.as_of = '2026-06-01 00:00+00'; SET work_mem = '1GB'; SET max_parallel_workers_per_gather = 2;"
query() { awk -v name="$1" '/^-- name: /{on = ($3 == name); next} on && !/^--/' "$HERE/queries.sql"; }
timed() { echo "SELECT count(*), sum(v) FROM ($(query "$1")) s"; }

log "checking that the extension and the hand-written SQL agree"
check() { # check EXT HAND
    psql_q -tA -c "$SESSION" -c "
      SELECT count(*) || ' leads, max |difference| ' || coalesce(max(abs(a.v - b.v)), 0)
      FROM ($(query "$1")) a FULL JOIN ($(query "$2")) b USING (lead_id)"
}
echo "engagement: $(check extension_engagement handwritten_engagement)"
echo "fit:        $(check extension_fit handwritten_fit)"

NAMES=(extension_engagement handwritten_engagement bare_count extension_fit handwritten_fit)
declare -A TIMES
log "timing $REPS repetitions of each query, interleaved"
for ((rep = 1; rep <= REPS; rep++)); do
    for name in "${NAMES[@]}"; do
        ms=$(psql -X -q -c "$SESSION" -c '\timing on' -c "$(timed "$name")" | awk '/^Time:/{print $2}')
        TIMES[$name]+="$ms "
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
declare -A MED
echo
printf '%-24s %12s   %s\n' query "median ms" "all runs (ms)"
for name in "${NAMES[@]}"; do
    MED[$name]=$(echo "${TIMES[$name]}" | median)
    printf '%-24s %12.1f   %s\n' "$name" "${MED[$name]}" "${TIMES[$name]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo
echo "leads=$LEADS activities=$ACTIVITIES reps=$REPS cores=$(nproc)"
echo "(1)/(2) extension engagement / hand-written SQL: $(ratio "${MED[extension_engagement]}" "${MED[handwritten_engagement]}")  (target <= 1.0)"
echo "(1)/(3) extension engagement / bare count(*):    $(ratio "${MED[extension_engagement]}" "${MED[bare_count]}")  (target <= 2.0)"
echo "fit / hand-written CASE:                          $(ratio "${MED[extension_fit]}" "${MED[handwritten_fit]}")  (target <= 1.2)"

# The same engagement comparison with parallel query off for every query, so the
# ratios above are not only the planner choosing parallelism for one side.
SERIAL="$SESSION SET max_parallel_workers_per_gather = 0;"
declare -A STIMES
for ((rep = 1; rep <= REPS; rep++)); do
    for name in extension_engagement handwritten_engagement bare_count; do
        ms=$(psql -X -q -c "$SERIAL" -c '\timing on' -c "$(timed "$name")" | awk '/^Time:/{print $2}')
        STIMES[$name]+="$ms "
    done
done
declare -A SMED
for name in extension_engagement handwritten_engagement bare_count; do
    SMED[$name]=$(echo "${STIMES[$name]}" | median)
done
echo "serial plans only (max_parallel_workers_per_gather = 0), medians ms: extension ${SMED[extension_engagement]}, hand-written ${SMED[handwritten_engagement]}, bare ${SMED[bare_count]}"
echo "  (1)/(2) serial: $(ratio "${SMED[extension_engagement]}" "${SMED[handwritten_engagement]}")   (1)/(3) serial: $(ratio "${SMED[extension_engagement]}" "${SMED[bare_count]}")"

echo
echo "aggregate memory (EXPLAIN ANALYZE of query 1; per process for parallel workers):"
psql_q -c "$SESSION" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) $(timed extension_engagement)" \
    | grep -E "Aggregate|Memory|Workers" | sed 's/^/  /'
rules=$(psql_q -tAc "SELECT jsonb_array_length(lead_score.model_spec('bench') -> 'engagement' -> 'rules')")
echo "  state per lead: $((48 + (rules + 7) / 8 * 8 + 16 * rules)) bytes for $rules rules, whatever the number of events"
