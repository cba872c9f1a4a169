#!/usr/bin/env bash
# Benchmark (not a test) of a `sync` attachment whose writers keep a few leads
# hot: C pgbench clients insert single activity rows on K leads for S seconds,
# into a plain table and into an attached one, in the same run. Each commit
# folds its own events; one that finds its lead's score row held by another
# commit leaves them pending and records the lead, and the next fold of that
# lead takes every pending row of it. Reports, per W-second window, the
# transactions, mean and worst latency: the leads' histories grow all run long
# (tens of thousands of events each), so a fold whose cost grew with a lead's
# history would show as a worst latency that climbs window after window.
#   bash bench/hot_leads.sh [--leads K] [--clients C] [--seconds S] [--window W]
source "$(dirname "$0")/../scripts/lib.sh"

HOT=5
CLIENTS=16
SECONDS_=120
WINDOW=20
while [ $# -gt 0 ]; do
    case $1 in
        --leads) HOT=$2; shift 2 ;;
        --clients) CLIENTS=$2; shift 2 ;;
        --seconds) SECONDS_=$2; shift 2 ;;
        --window) WINDOW=$2; shift 2 ;;
        *) echo "usage: $0 [--leads K] [--clients C] [--seconds S] [--window W]" >&2; exit 2 ;;
    esac
done
BENCH_DIR=${BENCH_DIR:-/tmp/lead_score_bench}
BENCH_PORT=${BENCH_PORT:-28817}
DB=lead_score_hot_bench

ensure_deps
PROFILE=release install_extension
start_cluster "$BENCH_DIR" "$BENCH_PORT"
export PGDATABASE=$DB
PGOPTIONS="-c client_min_messages=warning" psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
WORK=$(mktemp -d /tmp/lead_score_hot.XXXX)
chmod 777 "$WORK"

log "$HOT hot leads, a plain and a sync-attached activity table"
psql_q -v hot="$HOT" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION lead_score;
CREATE TABLE leads (id bigint PRIMARY KEY, industry text, job_title text, employees int, country text, email text, phone text, budget text, decision_maker boolean);
INSERT INTO leads (id, industry) SELECT g, 'Software' FROM generate_series(1, :hot) g;
CREATE TABLE activities (id bigserial PRIMARY KEY, lead_id bigint NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL, url text);
CREATE INDEX ON activities (lead_id);
CREATE TABLE activities_plain (LIKE activities INCLUDING ALL);
SQL
psql_q -c "SELECT lead_score.create_model('bench', \$spec\$$(cat "$ROOT/bench/model.json")\$spec\$)" >/dev/null
PGOPTIONS="-c client_min_messages=warning" psql_q -c "SELECT lead_score.attach('bench', 'leads', 'activities')" >/dev/null

run() { # run TABLE: one line per window: start (s), transactions, mean and worst latency (ms)
    local dir="$WORK/$1"
    mkdir -p "$dir" && chmod 777 "$dir"
    cat >"$dir/insert.sql" <<SQL
\set lead random(1, $HOT)
INSERT INTO $1 (lead_id, type, occurred_at, url) VALUES (:lead, 'page_view', now(), '/pricing');
SQL
    (cd "$dir" && pgbench -n -c "$CLIENTS" -j 2 -T "$SECONDS_" -l --aggregate-interval="$WINDOW" -f insert.sql "$DB" >"$dir/out.txt" 2>&1)
    # Aggregated log: interval start, transactions, latency sum, sum of squares, min, max (us).
    cat "$dir"/pgbench_log.* | awk '{n[$1] += $2; s[$1] += $3; if ($6 > m[$1]) m[$1] = $6}
        END {for (k in n) print k, n[k], s[k] / n[k] / 1000, m[k] / 1000}' | sort -n \
        | awk -v w="$WINDOW" 'NR == 1 {t0 = $1} {printf "    %4d s  %7d xacts  mean %6.2f ms  worst %7.1f ms\n", $1 - t0, $2, $3, $4}'
    awk '/^tps = / {printf "    %.0f TPS\n", $3}' "$dir/out.txt"
}
log "pgbench: single-row inserts on $HOT leads, $CLIENTS clients, ${SECONDS_}s each"
psql_q -c "CHECKPOINT" >/dev/null
plain=$(run activities_plain)
psql_q -c "CHECKPOINT" >/dev/null
sync=$(run activities)
events=$(psql_q -tAc "SELECT count(*) FROM activities")
left=$(psql_q -tAc "SELECT count(*) FROM lead_score_internal.bench_pending")
stale=$(psql_q -tAc "SELECT count(*) FROM lead_score_internal.bench_stale")
psql_q -c "SELECT lead_score.tick()" >/dev/null
consistency=$(psql_q -tAc "SELECT count(*) FROM lead_score.check_consistency('bench')")

echo
echo "hot leads=$HOT clients=$CLIENTS seconds=$SECONDS_ window=${WINDOW}s cores=$(nproc)"
echo "plain:"
echo "$plain"
echo "sync ($events events on $HOT leads by the end; $left left pending and $stale stale records, for tick()):"
echo "$sync"
echo "check_consistency mismatches after a tick(): $consistency"
rm -rf "$WORK"
