#!/usr/bin/env bash
# The differential fuzz suite: tests/fuzz/fuzz.py for fixed seeds in each of its
# reproducible variants (tz, ts, sync, deferred, future, fasthl), against the
# cluster of PGHOST/PGPORT/PGUSER, which must have the test build (mock_clock)
# installed, as scripts/test.sh installs it. Every seed runs to its end, or
# for 10 minutes at most (a seed that finds a mismatch writes its session's
# SQL, replayable with psql, to $FUZZ_OUT), then it exits 1 if any seed failed.
#   bash tests/fuzz/run.sh [TRANSACTIONS] [SEED...]     # defaults: 200, seeds 1 2 3
# Python client (psycopg2, pinned in requirements.txt): target/fuzz-venv.
source "$(dirname "$0")/../../scripts/lib.sh"
set +e
here=$ROOT/tests/fuzz
ntx=${1:-200}
shift || true
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3)
FUZZ_OUT=${FUZZ_OUT:-$ROOT/target/test-results/fuzz}
VENV=$ROOT/target/fuzz-venv

ensure_venv "$VENV" -r "$here/requirements.txt" || exit 1

mkdir -p "$FUZZ_OUT" && rm -f "$FUZZ_OUT"/fail_*.sql
failed=0
for seed in "${seeds[@]}"; do
    for variant in tz ts sync deferred future fasthl; do
        FUZZ_OUT=$FUZZ_OUT timeout 600 "$VENV/bin/python" "$here/fuzz.py" "$seed" "$ntx" "$variant"
        status=$?
        [ "$status" = 0 ] && continue
        failed=$((failed + 1))
        if [ -f "$FUZZ_OUT/fail_${variant}_$seed.sql" ]; then
            echo "   its SQL: $FUZZ_OUT/fail_${variant}_$seed.sql"
        elif [ "$status" = 124 ]; then
            echo "FAILED seed=$seed variant=$variant: still running after 10 minutes"
        else
            echo "FAILED seed=$seed variant=$variant: exit status $status (see above)"
        fi
    done
done
if [ "$failed" = 0 ]; then
    echo "fuzz: every seed agreed with the recompute"
else
    echo "fuzz: $failed runs failed"
    exit 1
fi
