#!/usr/bin/env bash
# Runs every test: core unit and property tests, #[pg_test] bindings tests,
# pg_regress and isolation suites, pgbench consistency and deadlock runs and a
# seeded differential fuzz of live scores, against a throwaway PostgreSQL 15
# cluster; then the README, upgrade, examples, Citus and dump suites.
source "$(dirname "$0")/lib.sh"

TEST_DIR=${TEST_DIR:-/tmp/lead_score_test}
TEST_PORT=${TEST_PORT:-28816}
PGXS_DIR=$(dirname "$(dirname "$(dirname "$($PG_CONFIG --pgxs)")")")
PG_REGRESS=$PGXS_DIR/src/test/regress/pg_regress
PG_ISOLATION_REGRESS=$PGXS_DIR/src/test/isolation/pg_isolation_regress
OUT=$ROOT/target/test-results
passed=0
failed=0
failures=()

record() { # record NAME STATUS
    if [ "$2" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}

ensure_deps
cd "$ROOT"

log "lint: cargo fmt --check, cargo clippy -D warnings"
set +e
(cargo fmt --all --check && cargo clippy --all-targets --features mock_clock -- -D warnings \
    && cargo clippy -p lead_score_core --all-targets -- -D warnings) 2>&1 | tail -20
record "cargo fmt + clippy" "${PIPESTATUS[0]}"
set -e

mkdir -p "$ROOT/target"
log "core: cargo test (no PostgreSQL)"
set +e
cargo test -p lead_score_core 2>&1 | tee "$ROOT/target/core-test.log" | grep -E "^test result|FAILED|panicked"
record "cargo test -p lead_score_core" "${PIPESTATUS[0]}"
set -e

log "bindings: cargo pgrx test (#[pg_test])"
PGRX_DATA=$TEST_DIR/pgrx
as_root mkdir -p "$PGRX_DATA" && as_root chown "$(pg_user)" "$PGRX_DATA"
set +e
cargo pgrx test pg15 --runas "$(pg_user)" --pgdata "$PGRX_DATA/data" 2>&1 | tee "$ROOT/target/pg-test.log" | grep -E "^test result|FAILED|panicked"
record "cargo pgrx test" "${PIPESTATUS[0]}"
set -e

# The test build adds lead_score.mock_now (src/clock.rs), so tests can let time pass.
PROFILE=${PROFILE:-debug} FEATURES=mock_clock install_extension
log "pgspot: the extension script and the SQL attach generates"
set +e
bash "$ROOT/scripts/pgspot.sh"
record "pgspot" "$?"
set -e

start_cluster "$TEST_DIR" "$TEST_PORT"
trap 'stop_cluster "$TEST_DIR"' EXIT
mkdir -p "$OUT" && as_root chmod 777 "$OUT"

# pg_suite NAME RUNNER DIR [SETTING]: a pg_regress-style suite against a fresh
# database, with SETTING (e.g. force_parallel_mode=on) set on it if given, into
# an emptied $OUT/NAME. Returns the runner's status, or 3 when the database could
# not be made ready.
pg_suite() {
    local name=$1 runner=$2 dir=$3 db=lead_score_$1 setting=${4:-}
    log "$name: ${dir#"$ROOT"/}${setting:+ with $setting}"
    as_root rm -rf "${OUT:?}/$name"
    PGOPTIONS="-c client_min_messages=warning" psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" || return 3
    if [ -n "$setting" ]; then
        psql_q -d postgres -c "ALTER DATABASE $db SET ${setting%%=*} = '${setting#*=}'" || return 3
    fi
    if [ -f "$dir/setup.sql" ]; then
        psql_q -d "$db" -f "$dir/setup.sql" || return 3
    fi
    as_pg_user "$runner" --use-existing --host="$PGHOST" --port="$PGPORT" --user="$PGUSER" \
        --dbname="$db" --inputdir="$dir" --outputdir="$OUT/$name" --schedule="$dir/schedule"
}

# run_suite NAME RUNNER DIR [SETTING]: pg_suite, recorded.
run_suite() {
    set +e
    pg_suite "$@"
    local status=$?
    set -e
    record "$1" "$status"
    [ "$status" = 0 ] || head -200 "$OUT/$1/regression.diffs" 2>/dev/null || true
}

# worker_suite NAME DIR: the suite again with force_parallel_mode = on, so every
# query that can runs in a parallel worker. Its output must be the expected
# output line for line, but for the context PostgreSQL adds to a message a
# worker raised, which force_parallel_mode = regress would hide: a line
# "parallel worker" (alone, or as "CONTEXT:  parallel worker" when the message
# had no context, which may then go on with the leader's). Both sides are
# compared without those lines and without the "CONTEXT:  " prefix.
worker_suite() {
    local name=$1 dir=$2 status=0 t setting
    local worker_lines='/^\(CONTEXT:  \)\{0,1\}parallel worker$/d; s/^CONTEXT:  //'
    set +e
    pg_suite "$name" "$PG_REGRESS" "$dir" force_parallel_mode=on >/dev/null
    if [ $? = 3 ]; then
        echo "$name: the test database could not be set up"
        status=1
    fi
    setting=$(psql -X -At -d "lead_score_$name" -c "SHOW force_parallel_mode" 2>/dev/null)
    if [ "$setting" != on ]; then
        echo "$name: force_parallel_mode is '$setting' in the test database, not on"
        status=1
    fi
    mkdir -p "$OUT/$name" && : >"$OUT/$name/worker.diffs"
    for t in $(sed -n 's/^test: //p' "$dir/schedule"); do
        if [ -f "$OUT/$name/results/$t.out" ] && diff -u <(sed "$worker_lines" "$dir/expected/$t.out") \
            <(sed "$worker_lines" "$OUT/$name/results/$t.out") >>"$OUT/$name/worker.diffs"; then
            echo "test $t (worker context aside) ... ok"
        else
            echo "test $t (worker context aside) ... FAILED"
            status=1
        fi
    done
    set -e
    record "$name" "$status"
    [ "$status" = 0 ] || head -200 "$OUT/$name/worker.diffs" || true
}

run_suite regress "$PG_REGRESS" "$ROOT/tests/pg_regress"
worker_suite regress_parallel "$ROOT/tests/pg_regress"
if [ -d "$ROOT/tests/isolation/specs" ]; then
    run_suite isolation "$PG_ISOLATION_REGRESS" "$ROOT/tests/isolation"
fi

log "concurrency: pgbench writers against live scores (tests/pgbench)"
set +e
bash "$ROOT/tests/pgbench/run.sh" lead_score_pgbench "$OUT/pgbench.log" "$TEST_DIR/server.log"
record "pgbench consistency" "$?"
set -e

log "deadlocks: writers on plain and attached tables (tests/pgbench/deadlocks.sh)"
set +e
bash "$ROOT/tests/pgbench/deadlocks.sh" lead_score_deadlocks 3
record "pgbench deadlocks" "$?"
set -e

log "deadlocks: publishing against writers of a model attached twice (tests/pgbench/publish_deadlock.sh)"
set +e
bash "$ROOT/tests/pgbench/publish_deadlock.sh" lead_score_publish_deadlock 10
record "pgbench publish deadlocks" "$?"
set -e

log "fuzz: live scores against a recompute, seeded write mixes (tests/fuzz/run.sh)"
set +e
bash "$ROOT/tests/fuzz/run.sh" 200 1 2 3
record "fuzz" "$?"
set -e

# Every SQL block of README.md, in order, on a fresh database of the test cluster.
log "readme: tests/readme/run.sh"
set +e
bash "$ROOT/tests/readme/run.sh"
record "readme" "$?"
set -e

# Upgrades: ALTER EXTENSION UPDATE from every released version (frozen install
# scripts in tests/upgrade/) gives a fresh install's catalog and keeps the data.
log "upgrade: tests/upgrade/run.sh"
set +e
bash "$ROOT/tests/upgrade/run.sh"
record "upgrade" "$?"
set -e

# The examples: a psycopg 3 app (alerts over LISTEN, current_score, top_leads) and
# a dbt project, on a cluster of their own, with the extension already installed.
log "examples: examples/run.sh"
set +e
SKIP_INSTALL=1 bash "$ROOT/examples/run.sh"
record "examples" "$?"
set -e

# Scale-out: a real Citus cluster of its own (a coordinator, two workers) on
# loopback ports 29101-29104. Citus is built from ../shared/citus when that
# folder is there; the suite skips, and says why, when Citus is nowhere.
log "citus: tests/citus/run.sh"
set +e
if [ -d "$ROOT/../shared/citus" ] && [ ! -f "$($PG_CONFIG --pkglibdir)/citus.so" ]; then
    as_root bash "$ROOT/../shared/citus/build.sh"
fi
# The extension is already installed (mock_clock build), so the suite uses it.
SKIP_INSTALL=1 OUT="$OUT/citus" bash "$ROOT/tests/citus/run.sh"
record "citus" "$?"
set -e

# Backup and restore: pg_dump/pg_restore (and psql, and pg_restore -j as README.md
# says) of attachments in both modes, on a cluster of its own (port 28850).
log "dump: tests/dump/run.sh"
set +e
OUT="$OUT/dump" bash "$ROOT/tests/dump/run.sh"
record "dump" "$?"
set -e

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "suites: $passed passed, $failed failed"
[ "$failed" = 0 ]
