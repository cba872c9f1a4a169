#!/usr/bin/env bash
# The differential fuzz suite: tests/fuzz/fuzz.py for fixed seeds in each of its
# reproducible variants (tz, ts, sync, deferred, future, fasthl), against the
# cluster of PGHOST/PGPORT/PGUSER, which must have the test build (mock_clock)
# installed, as scripts/test.sh installs it. Every seed runs to its end (each
# failing seed's SQL is written to $OUT, replayable with psql), then it exits 1
# if any seed found a mismatch.
#   bash tests/fuzz/run.sh [TRANSACTIONS] [SEED...]     # defaults: 200, seeds 1 2 3
# Python client (psycopg2, pinned in requirements.txt): target/fuzz-venv.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
here=$ROOT/tests/fuzz
ntx=${1:-200}
shift || true
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3)
OUT=${OUT:-$ROOT/target/test-results/fuzz}
VENV=$ROOT/target/fuzz-venv

wanted=$(sha1sum "$here/requirements.txt" | cut -c1-12)
if [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$wanted" ]; then
    if ! python3 -c "import ensurepip" 2>/dev/null; then
        log "installing python3-venv"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    log "creating $VENV (psycopg2)"
    rm -rf "$VENV"
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q -r "$here/requirements.txt" || exit 1
    echo "$wanted" >"$VENV/.requirements"
fi

rm -rf "$OUT" && mkdir -p "$OUT"
failed=0
for seed in "${seeds[@]}"; do
    for variant in tz ts sync deferred future fasthl; do
        if ! FUZZ_OUT=$OUT "$VENV/bin/python" "$here/fuzz.py" "$seed" "$ntx" "$variant"; then
            echo "   its SQL: $OUT/fail_${variant}_$seed.sql"
            failed=$((failed + 1))
        fi
    done
done
[ "$failed" = 0 ] && echo "fuzz: every seed agreed with the recompute" || echo "fuzz: $failed seeds found a mismatch"
[ "$failed" = 0 ]
