#!/usr/bin/env bash
# Lints lead_score's SQL with pgspot (Timescale's checker for extension scripts):
# the installed extension script, and the SQL attach generates (the snapshot
# files, which are exactly what attach and the run-time functions run). Any
# finding fails, except those tests/pgspot/allowed.txt explains. Then
# scripts/check_labels.py over the same files and the upgrade scripts: every
# function says its volatility, strictness and parallel safety, and every
# aggregate is parallel safe with a combine function and a non-internal state.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PGSPOT_VERSION=0.9.4
if ! pgspot --version 2>/dev/null | grep -q "$PGSPOT_VERSION"; then
    # PyPI, with the python3 and pip scripts/lib.sh installs (Debian's pip needs
    # --break-system-packages to install outside a virtual environment).
    python3 -m pip install -q --disable-pip-version-check "pgspot==$PGSPOT_VERSION" >/dev/null 2>&1 ||
        python3 -m pip install -q --disable-pip-version-check --break-system-packages "pgspot==$PGSPOT_VERSION"
    hash -r
fi
# The installed version's script (tests/upgrade also puts older ones there).
EXT_DIR="$(pg_config --sharedir)/extension"
SCRIPT="$EXT_DIR/lead_score--$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$EXT_DIR/lead_score.control").sql"
allow=()
while IFS=$'\t' read -r signature _; do
    [[ -z "$signature" || "$signature" == \#* ]] && continue
    allow+=(--proc-without-search-path "$signature")
done < "$ROOT/tests/pgspot/allowed.txt"
status=0
for f in "$SCRIPT" "$ROOT"/crates/lead_score_core/tests/snapshots/*.sql; do
    out=$(pgspot "${allow[@]}" "$f" 2>&1) || status=1
    summary=$(printf '%s\n' "$out" | grep -E "Errors: [0-9]+ Warnings: [0-9]+" || true)
    echo "pgspot ${f#"$ROOT"/}: ${summary## }"
    if ! printf '%s\n' "$summary" | grep -q "Errors: 0 Warnings: 0 Unknown: 0"; then
        printf '%s\n' "$out" | head -40
        status=1
    fi
done
python3 "$ROOT/scripts/check_labels.py" "$SCRIPT" "$ROOT"/sql/lead_score--*--*.sql \
    "$ROOT"/crates/lead_score_core/tests/snapshots/*.sql || status=1
exit $status
