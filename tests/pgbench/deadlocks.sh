#!/usr/bin/env bash
# Deadlock test: 16 pgbench clients of a CRM's writes
# (tests/pgbench/deadlock_mix.sql: multi-row inserts in either key order, fit
# changes, lead key changes, one-row activity updates and deletes, and a
# transaction writing one lead in two statements) on 5 hot
# leads and on 100k leads, on plain tables, on sync and deferred attachments
# and on tables with both (one model attached twice, as a_X and a_X_d, whose
# triggers fire a_X_d's first: a publish rescores them in that order), with
# tick(), rescore(), publishing and detach/attach running
# alongside the attached runs. Plain tables never deadlock on this mix; attached
# ones must not either, must fail no transaction, and must end with scores that
# equal a recompute. Last, readers of an attachment's current view (with its
# leads, tests/pgbench/view_reader.sql) against detach and attach back to back:
# no read and no detach may fail. Runs against the cluster described by PGHOST/PGPORT/PGUSER.
#   bash tests/pgbench/deadlocks.sh [DB] [SECONDS] [--report]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
db=${1:-lead_score_deadlocks}
seconds=${2:-3}
report_only=${3:-}
export PGDATABASE=$db
PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION lead_score" \
  -c "SELECT lead_score.create_model('dl', \$\$$(cat "$root/bench/model.json")\$\$)" >/dev/null
mapping='{"occurred_at": "at", "event_type": "type", "properties": {"url": "url"}}'

admin_loop() { # admin_loop ATTACHMENT MODE LEADS EVENTS: tick, rescore, publish, detach/attach until killed
    local att=$1 mode=$2 leads=$3 events=$4 i=0
    # Stop between steps, never in the middle of one (an untrapped TERM would
    # leave a running psql behind, detaching after the checks below).
    trap 'exit 0' TERM
    while true; do
        i=$((i + 1))
        psql -X -q -c "SELECT lead_score.tick()" >/dev/null 2>&1
        if [ $((i % 4)) = 0 ]; then psql -X -q -c "SELECT lead_score.rescore('$att')" >/dev/null 2>&1; fi
        if [ $((i % 6)) = 0 ]; then
            psql -X -q -c "SELECT lead_score.create_model('dl', jsonb_set(lead_score.model_spec('dl'), '{fit,rules,0,points}', to_jsonb(10 + $i % 7)))" >/dev/null 2>&1
        fi
        if [ $((i % 8)) = 0 ]; then
            psql -X -q -c "SELECT lead_score.detach('$att')" \
                 -c "SELECT lead_score.attach('dl', '$leads', '$events', '$mapping', name => '$att', mode => '$mode')" >/dev/null 2>&1
        fi
        sleep 0.3
    done
}

status=0
printf '%-12s %-8s %-9s %8s %7s %10s %8s %11s\n' mix leads mode xacts failed deadlocks aborted mismatches
for tx in 0 1; do
  mix=$([ $tx = 1 ] && echo two-stmt || echo single)
  for keys in 5 100000; do
    plain_failed=0
    for mode in plain sync deferred both; do
        t=${mode}_${keys}_$tx
        psql -X -q -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS l_$t, e_$t" \
          -c "CREATE TABLE l_$t (id bigint PRIMARY KEY, industry text, job_title text, employees int, country text, email text, phone text, budget text, decision_maker boolean)" \
          -c "INSERT INTO l_$t (id, industry) SELECT g, 'Software' FROM generate_series(1, $keys) g" \
          -c "CREATE TABLE e_$t (id bigserial PRIMARY KEY, lead_id bigint NOT NULL, type text NOT NULL, at timestamptz NOT NULL, url text)" \
          -c "CREATE INDEX ON e_$t (lead_id)" >/dev/null
        admin=
        if [ "$mode" != plain ]; then
            psql -X -q -c "SET client_min_messages = warning" \
                 -c "SELECT lead_score.attach('dl', 'l_$t', 'e_$t', '$mapping', name => 'a_$t', mode => '${mode/both/sync}')" >/dev/null
            if [ "$mode" = both ]; then
                psql -X -q -c "SET client_min_messages = warning" \
                     -c "SELECT lead_score.attach('dl', 'l_$t', 'e_$t', '$mapping', name => 'a_${t}_d', mode => 'deferred')" >/dev/null
            fi
            admin_loop "a_$t" "${mode/both/sync}" "l_$t" "e_$t" &
            admin=$!
        fi
        out=$(pgbench -n -c 16 -j 2 -T "$seconds" --failures-detailed -D leads="$keys" -D tx="$tx" \
              -f <(sed "s/:\"leads\"/l_$t/g; s/:\"events\"/e_$t/g" "$here/deadlock_mix.sql") 2>&1)
        if [ -n "$admin" ]; then kill "$admin" 2>/dev/null; wait "$admin" 2>/dev/null; fi
        xacts=$(awk '/number of transactions actually processed/ {print $6}' <<<"$out" | cut -d/ -f1)
        failed=$(awk '/number of failed transactions/ {print $5}' <<<"$out")
        deadlocks=$(awk '/number of deadlock failures/ {print $5}' <<<"$out")
        aborted=$(grep -c "aborted in command" <<<"$out")
        mismatches=-
        if [ "$mode" != plain ]; then
            # A last detach/attach may have been cut short: attach again if needed.
            psql -X -q -c "SET client_min_messages = warning" \
                 -c "SELECT lead_score.attach('dl', 'l_$t', 'e_$t', '$mapping', name => 'a_$t', mode => '${mode/both/sync}') WHERE NOT EXISTS (SELECT 1 FROM lead_score.attachments WHERE name = 'a_$t')" >/dev/null
            mismatches=$(psql -X -tA -c "SELECT lead_score.tick() >= 0" \
                -c "SELECT sum((SELECT count(*) FROM lead_score.check_consistency(a.name))) FROM lead_score.attachments a WHERE a.name IN ('a_$t', 'a_${t}_d')" | tail -1)
        fi
        [ "$mode" = plain ] && plain_failed=${failed:-0}
        # Attached tables must match plain ones in both modes and both mixes:
        # no insert holds a lead's score row past its statement (README, "Concurrency").
        printf '%-12s %-8s %-9s %8s %7s %10s %8s %11s\n' "$mix" "$keys" "$mode" "${xacts:-?}" "${failed:-?}" "${deadlocks:-?}" "$aborted" "$mismatches"
        if [ "${failed:-1}" -gt "$plain_failed" ] || [ "$aborted" != 0 ] \
            || { [ "$mode" != plain ] && [ "$mismatches" != 0 ]; }; then
            status=1
            grep -m3 -E "ERROR|aborted" <<<"$out" | sed 's/^/    /'
        fi
    done
  done
done

# Readers against detach: 4 clients read a_sync_5_0's current view joined to its
# leads (the view's lock, then the table's) while detach and attach run back to
# back. detach holds the tables from its start; a reader that took the view
# before then used to wait for them while detach waited for it to drop the view
# (40P01, on either side). A quarter of the transactions write history instead
# (tests/pgbench/history_writer.sql), which locks the attachment's history
# settings row and then reads its view: detach used to hold the view and wait
# for that row.
t=sync_5_0
cycles=$(mktemp)
(
    trap 'exit 0' TERM
    while true; do
        if psql -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "SELECT lead_score.detach('a_$t')" \
             -c "SELECT lead_score.attach('dl', 'l_$t', 'e_$t', '$mapping', name => 'a_$t', mode => 'sync')" >/dev/null 2>>"$cycles.err"; then
            echo ok >>"$cycles"
        else
            echo failed >>"$cycles"
        fi
    done
) &
admin=$!
out=$(pgbench -n -c 4 -j 2 -T "$seconds" --failures-detailed --verbose-errors -D leads=5 -D attachment="a_$t" \
      -f <(sed "s/:\"current\"/a_${t}_current/g; s/:\"leads\"/l_$t/g" "$here/view_reader.sql")@3 \
      -f "$here/history_writer.sql"@1 2>&1)
kill "$admin" 2>/dev/null; wait "$admin" 2>/dev/null
psql -X -q -c "SET client_min_messages = warning" \
     -c "SELECT lead_score.attach('dl', 'l_$t', 'e_$t', '$mapping', name => 'a_$t', mode => 'sync') WHERE NOT EXISTS (SELECT 1 FROM lead_score.attachments WHERE name = 'a_$t')" >/dev/null
reads=$(awk '/number of transactions actually processed/ {print $6}' <<<"$out" | cut -d/ -f1)
rf=$(awk '/^number of failed transactions/ {print $5; exit}' <<<"$out")
read_deadlocks=$(awk '/^number of deadlock failures/ {print $5; exit}' <<<"$out")
read_aborted=$(grep -c "aborted in command" <<<"$out")
reads_failed=$(( ${rf:-1} + read_aborted ))
detached=$(grep -c ok "$cycles")
detach_failed=$(grep -c failed "$cycles")
printf '\n%-22s %6s %12s %9s %8s %9s %13s\n' readers reads reads_failed deadlocks aborted detaches detaches_failed
printf '%-22s %6s %12s %9s %8s %9s %13s\n' "view + history, 5 leads" "${reads:-?}" "$reads_failed" "${read_deadlocks:-?}" "$read_aborted" "$detached" "$detach_failed"
if [ "$reads_failed" != 0 ] || [ "$detach_failed" != 0 ] || [ "${reads:-0}" = 0 ] || [ "$detached" = 0 ]; then
    status=1
    grep -m3 -E "ERROR|aborted" <<<"$out" | sed 's/^/    reader: /'
    grep -m3 ERROR "$cycles.err" | sed 's/^/    detach: /'
fi
rm -f "$cycles" "$cycles.err"
[ -n "$report_only" ] && exit 0
exit $status
