#!/usr/bin/env bash
# Backup and restore: a database with a sync and a deferred attachment, score
# history, outcomes, feedback, evaluations, alerts and deferred events still
# pending is dumped and restored four ways (pg_dump -Fc + pg_restore, plain
# pg_dump | psql, a schema-only restore then a data-only one with no trigger
# firing, and the parallel pg_restore -j of README.md's "Backup and
# restore"). Each copy must hold exactly the source's lead_score and crm
# tables and sequences, have the same catalog (the generated tables, views,
# functions, triggers, indexes, comments, grants and dependencies), and then
# behave as the source does under the same writes, tick, rescore, publish,
# detach and attach (tests/dump/workload.sql).
#
#   bash tests/dump/run.sh                      # the system PostgreSQL 15, extension installed
#   PG_BIN=/opt/pgc/lib/postgresql/15/bin DUMP_PORT=29300 bash tests/dump/run.sh
#
# Needs a mock_clock build of the extension (scripts/test.sh installs one).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
source "$here/../../scripts/lib.sh"
PG_BIN=$pg_bin
DIR=${DUMP_DIR:-/tmp/lead_score_dump}
PORT=${DUMP_PORT:-28850}
OUT=${OUT:-$ROOT/target/test-results/dump}

# An extension whose script attaches (tests/dump/probe.sql), installed for the run.
probe=lead_score_dump_probe
extdir=$("$PG_BIN/pg_config" --sharedir)/extension
stop_cluster "$DIR"
as_root rm -rf "$DIR"
start_cluster "$DIR" "$PORT"
trap 'stop_cluster "$DIR"; as_root rm -f "$extdir/$probe.control" "$extdir/$probe--1.sql"' EXIT
mkdir -p "$OUT"
WORK=$DIR/work
as_root mkdir -p "$WORK" && as_root chmod 777 "$WORK"

q() { "$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -q "$@"; }
failures=0
check() { # check NAME GOT WANT
    if [ "$2" = "$3" ]; then
        echo "ok: $1"
    else
        echo "FAILED: $1: got '$2', want '$3'"
        failures=$((failures + 1))
    fi
}
# same NAME FILE_A FILE_B: the two files are equal, else their diff is shown.
same() {
    local diff
    diff=$OUT/$(printf '%s' "$1" | tr -cs 'a-z0-9_' '-').diff
    if diff -u "$2" "$3" >"$diff"; then
        echo "ok: $1"
        rm -f "$diff"
    else
        echo "FAILED: $1 (diff in $diff):"
        head -40 "$diff"
        failures=$((failures + 1))
    fi
}
data() { # data DB MASK NOW
    q -At -d "$1" -v mask="$2" -v now="$3" -f "$here/data.sql"
}

log "dump: the source database (tests/dump/crm.sql)"
q -d postgres -c "CREATE DATABASE source"
q -d source -c "CREATE EXTENSION lead_score"
q -d source -v fixtures="$ROOT/tests/pg_regress/fixtures/live_model.sql" -f "$here/crm.sql" >"$OUT/crm.out"
value() { q -At -d source -c "$1"; }
check "source: 2 versions of the model" "$(value "SELECT count(*) FROM lead_score.model_versions")" 2
check "source: a sync and a deferred attachment" "$(value "SELECT string_agg(name || ':' || mode, ' ' ORDER BY name) FROM lead_score.attachments")" \
    "crm_deferred:deferred crm_sync:sync"
check "source: deferred events pending" "$(value "SELECT count(*) FROM lead_score_internal.crm_deferred_pending")" 3
check "source: alerts" "$(value "SELECT count(DISTINCT attachment) FROM lead_score.alerts")" 2
check "source: history of both" "$(value "SELECT count(DISTINCT attachment) FROM lead_score.score_history")" 2
check "source: class counts" "$(value "SELECT count(*) > 0 FROM lead_score.class_counts")" t
check "source: outcomes linked" "$(value "SELECT count(*) FROM lead_score.outcome_links")" 2
check "source: feedback, one with a reason of the user's" "$(value "SELECT count(*) || ' ' || count(*) FILTER (WHERE reason = 'too_small') FROM lead_score.feedback")" "3 1"
check "source: evaluations" "$(value "SELECT count(*) FROM lead_score.evaluations")" 2
check "source: adjustments, one ended" "$(value "SELECT count(*) || ' ' || count(ended_by) FROM lead_score.adjustments")" "3 1"

log "dump: attach run by an extension script"
printf "default_version = '1'\nrequires = 'lead_score'\nsuperuser = true\n" | as_root tee "$extdir/$probe.control" >/dev/null
as_root cp "$here/probe.sql" "$extdir/$probe--1.sql"
q -d source -c "SET client_min_messages = warning" -c "SET lead_score.mock_now = '2026-06-01 13:52:00+00'" \
    -c "CREATE EXTENSION $probe"
check "attach in an extension script: its objects belong to no extension" \
    "$(value "SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
              WHERE d.deptype = 'e' AND e.extname = '$probe'")" 0
check "attach in an extension script: DROP EXTENSION leaves the attachment" \
    "$(q -d source -c "DROP EXTENSION $probe" 2>&1 && echo dropped)" dropped
check "attach in an extension script: the attachment outlives the extension" \
    "$(value "SELECT count(*) FROM lead_score.check_consistency('crm_probe')")" 0

at_dump='2026-06-01 13:55:00+00'
data source off "$at_dump" >"$WORK/source.data"
q -At -d source -f "$here/catalog.sql" >"$WORK/source.catalog"

log "dump: pg_dump -Fc and plain pg_dump"
"$PG_BIN/pg_dump" -Fc -d source -f "$WORK/source.dump"
"$PG_BIN/pg_dump" -d source -f "$WORK/source.sql"

restored=(restored_fc restored_plain restored_parallel)
log "dump: pg_restore"
q -d postgres -c "CREATE DATABASE restored_fc"
set +e
"$PG_BIN/pg_restore" --exit-on-error -d restored_fc "$WORK/source.dump" 2>"$OUT/restored_fc.err"
check "pg_restore -Fc: exit status" "$?" 0
set -e
check "pg_restore -Fc: no error or warning" "$(grep -c . "$OUT/restored_fc.err" || true)" 0

log "dump: pg_dump | psql"
q -d postgres -c "CREATE DATABASE restored_plain"
set +e
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d restored_plain -f "$WORK/source.sql" >/dev/null 2>"$OUT/restored_plain.err"
check "plain restore: exit status" "$?" 0
set -e
check "plain restore: no error or warning" "$(grep -Ec 'ERROR|WARNING' "$OUT/restored_plain.err" || true)" 0

# pg_restore -j does not keep the order of the data of an extension's
# configuration tables (PostgreSQL keeps it only in a serial restore), so the
# README's recipe loads lead_score's configuration first; run as written there.
log "dump: pg_restore -j (README.md, \"Backup and restore\")"
q -d postgres -c "CREATE DATABASE restored_parallel"
awk '/<!-- parallel-restore:begin/ {on = 1; next} /<!-- parallel-restore:end/ {on = 0} on && !/^```/' \
    "$ROOT/README.md" >"$WORK/parallel.sh"
check "README: the parallel restore recipe is there" "$(grep -c pg_restore "$WORK/parallel.sh")" 5
set +e
(cd "$WORK" && PATH="$PG_BIN:$PATH" DB=restored_parallel DUMP="$WORK/source.dump" JOBS=4 \
    bash -euo pipefail "$WORK/parallel.sh") 2>"$OUT/restored_parallel.err"
check "pg_restore -j: exit status" "$?" 0
set -e
check "pg_restore -j: no error or warning" "$(grep -c . "$OUT/restored_parallel.err" || true)" 0

# A schema-only restore, then a data-only one with no trigger firing: the
# README's recipe, run as written there.
log "dump: schema-only, then data-only (README.md, \"Backup and restore\")"
restored+=(restored_split)
q -d postgres -c "CREATE DATABASE restored_split"
awk '/<!-- split-restore:begin/ {on = 1; next} /<!-- split-restore:end/ {on = 0} on && !/^```/' \
    "$ROOT/README.md" >"$WORK/split.sh"
check "README: the split restore recipe is there" "$(grep -c pg_restore "$WORK/split.sh")" 2
set +e
(cd "$WORK" && PATH="$PG_BIN:$PATH" DB=restored_split DUMP="$WORK/source.dump" \
    bash -euo pipefail "$WORK/split.sh") 2>"$OUT/restored_split.err"
check "split restore: exit status" "$?" 0
set -e
check "split restore: no error or warning" "$(grep -c . "$OUT/restored_split.err" || true)" 0

for db in "${restored[@]}"; do
    log "dump: $db equals the source"
    data "$db" off "$at_dump" >"$WORK/$db.data"
    same "$db: every table, view and sequence as dumped" "$WORK/source.data" "$WORK/$db.data"
    q -At -d "$db" -f "$here/catalog.sql" >"$WORK/$db.catalog"
    same "$db: catalog (generated objects, grants, comments, dependencies)" "$WORK/source.catalog" "$WORK/$db.catalog"
done

# The same statements on the source and on each copy: same output, same tables.
run_workload() { # DB
    q -d "$1" -f "$here/workload.sql" 2>"$OUT/$1.workload.err" |
        sed -E 's/server process with PID [0-9]+/server process/' >"$WORK/$1.workload"
}
log "dump: the workload on the source"
set +e
run_workload source
check "source: the workload ran" "$?" 0
set -e
after='2026-06-01 14:15:00+00'
data source on "$after" >"$WORK/source.after"
q -At -d source -f "$here/catalog.sql" >"$WORK/source.catalog_after"
for db in "${restored[@]}"; do
    log "dump: the workload on $db"
    set +e
    run_workload "$db"
    check "$db: the workload ran" "$?" 0
    set -e
    while IFS= read -r line; do
        name=${line#check }
        check "$db: ${name%: *}" "${name##*: }" true
    done < <(grep '^check ' "$WORK/$db.workload")
    check "$db: alerts announced on NOTIFY" \
        "$(grep -c 'Asynchronous notification "lead_score_alerts"' "$WORK/$db.workload" | sed 's/^0$/none/; s/^[0-9]*$/some/')" some
    same "$db: workload output as on the source" "$WORK/source.workload" "$WORK/$db.workload"
    data "$db" on "$after" >"$WORK/$db.after"
    same "$db: tables after the workload as on the source" "$WORK/source.after" "$WORK/$db.after"
    q -At -d "$db" -f "$here/catalog.sql" >"$WORK/$db.catalog_after"
    same "$db: catalog after the workload as on the source" "$WORK/source.catalog_after" "$WORK/$db.catalog_after"
done
check "source: the workload's checks" "$(grep '^check ' "$WORK/source.workload" | grep -vc ': true$' || true)" 0

echo
if [ "$failures" = 0 ]; then
    echo "dump suite: ok"
else
    echo "dump suite: $failures FAILED"
    exit 1
fi
