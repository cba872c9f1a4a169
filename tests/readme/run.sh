#!/usr/bin/env bash
# Runs every ```sql block of README.md, in order, in a fresh database, and fails
# on the first error: the quick start and every example stay true as written.
# Uses the cluster in PGHOST/PGPORT when set (scripts/test.sh's), else starts one.
#   bash tests/readme/run.sh
source "$(dirname "$0")/../../scripts/lib.sh"

DB=lead_score_readme
WORK=$(mktemp -d /tmp/lead_score_readme.XXXX)
chmod 755 "$WORK"
if [ -z "${PGHOST:-}" ]; then
    ensure_deps
    [ "${SKIP_INSTALL:-}" = 1 ] || PROFILE=debug install_extension
    start_cluster /tmp/lead_score_readme 28826
    trap 'stop_cluster /tmp/lead_score_readme; rm -rf "$WORK"' EXIT
else
    trap 'rm -rf "$WORK"' EXIT
fi

# The blocks, in order, each introduced by its line number in README.md.
awk '/^```sql/ {on = 1; printf "\\echo == README.md line %d\n", NR; next}
     /^```/ {on = 0; next}
     on' "$ROOT/README.md" > "$WORK/readme.sql"
blocks=$(grep -c '^\\echo == README.md line' "$WORK/readme.sql")

cleanup() {
    PGOPTIONS="-c client_min_messages=warning" psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" \
        -c "DROP ROLE IF EXISTS analyst" -c "DROP ROLE IF EXISTS marketing_ops" >/dev/null
}
cleanup
psql_q -d postgres -c "CREATE DATABASE $DB" >/dev/null
status=0
if ! psql -X -v ON_ERROR_STOP=1 -d "$DB" -f "$WORK/readme.sql" >"$WORK/readme.out" 2>&1; then
    status=1
    echo "README.md: a SQL block failed; the last lines of its output:" >&2
    tail -25 "$WORK/readme.out" >&2
fi
# Roles belong to the cluster: remove what the README created.
cleanup
if [ "$status" = 0 ]; then
    echo "README.md: all $blocks SQL blocks ran without an error"
fi
exit "$status"
