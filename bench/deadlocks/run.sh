#!/usr/bin/env bash
# Measures deadlocks of single-statement writers on attached tables against the
# same writers on plain tables: 16 pgbench clients of bench/deadlocks/mix.sql
# for S seconds, on 5 hot leads and on 100k leads, unattached, sync and
# deferred, with tick(), rescore(), publishing and detach/attach running
# alongside the attached runs. Prints a table; plain tables' count is the
# target for the attached ones (issue 8). Not yet part of scripts/test.sh.
#   bash bench/deadlocks/run.sh [--seconds S]
source "$(dirname "$0")/../../scripts/lib.sh"
SECONDS_=10
[ "${1:-}" = --seconds ] && SECONDS_=$2
DIR=/tmp/lead_score_deadlocks
PORT=28818
DB=lead_score_deadlocks
ensure_deps
PROFILE=${PROFILE:-debug} install_extension
start_cluster "$DIR" "$PORT"
export PGDATABASE=$DB
here="$ROOT/bench/deadlocks"
PGOPTIONS="-c client_min_messages=warning" psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql_q -c "SET client_min_messages = warning" -c "CREATE EXTENSION lead_score" \
  -c "SELECT lead_score.create_model('dl', \$\$$(cat "$ROOT/bench/model.json")\$\$)" >/dev/null

admin_loop() { # admin_loop ATTACHMENT MODE LEADS EVENTS: tick, rescore, publish, detach/attach until killed
    local att=$1 mode=$2 leads=$3 events=$4 i=0
    while true; do
        i=$((i + 1))
        psql -X -q -c "SELECT lead_score.tick()" >/dev/null 2>&1
        [ $((i % 4)) = 0 ] && psql -X -q -c "SELECT lead_score.rescore('$att')" >/dev/null 2>&1
        [ $((i % 6)) = 0 ] && psql -X -q -c "SELECT lead_score.create_model('dl', jsonb_set(lead_score.model_spec('dl'), '{fit,rules,0,points}', to_jsonb(10 + $i % 7)))" >/dev/null 2>&1
        if [ $((i % 8)) = 0 ]; then
            psql -X -q -c "SELECT lead_score.detach('$att')" >/dev/null 2>&1
            psql -X -q -c "SELECT lead_score.attach('dl', '$leads', '$events', '{\"occurred_at\": \"at\", \"event_type\": \"type\", \"properties\": {\"url\": \"url\"}}', name => '$att', mode => '$mode')" >/dev/null 2>&1
        fi
        sleep 0.3
    done
}

printf '%-10s %-8s %10s %10s %10s\n' keys mode xacts failed deadlocks
for keys in 5 100000; do
    for mode in plain sync deferred; do
        t=${mode}_$keys
        psql_q -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS l_$t, e_$t" \
          -c "CREATE TABLE l_$t (id bigint PRIMARY KEY, industry text, job_title text, employees int, country text, email text, phone text, budget text, decision_maker boolean)" \
          -c "INSERT INTO l_$t (id, industry) SELECT g, 'Software' FROM generate_series(1, $keys) g" \
          -c "CREATE TABLE e_$t (id bigserial PRIMARY KEY, lead_id bigint NOT NULL, type text NOT NULL, at timestamptz NOT NULL, url text)" \
          -c "CREATE INDEX ON e_$t (lead_id)" >/dev/null
        admin=
        if [ "$mode" != plain ]; then
            psql_q -c "SET client_min_messages = warning" -c "SELECT lead_score.attach('dl', 'l_$t', 'e_$t', '{\"occurred_at\": \"at\", \"event_type\": \"type\", \"properties\": {\"url\": \"url\"}}', name => 'a_$t', mode => '$mode')" >/dev/null
            admin_loop "a_$t" "$mode" "l_$t" "e_$t" &
            admin=$!
            trap 'kill $admin 2>/dev/null' EXIT
        fi
        out=$(pgbench -n -c 16 -j 2 -T "$SECONDS_" --failures-detailed -D leads="$keys" -D leads_table="l_$t" \
              -D events="e_$t" -D leads="$keys" -f <(sed "s/:\"leads\"/l_$t/g; s/:\"events\"/e_$t/g" "$here/mix.sql") 2>&1 || true)
        if [ -n "$admin" ]; then kill "$admin"; wait "$admin" 2>/dev/null || true; fi
        xacts=$(awk '/number of transactions actually processed/ {print $6}' <<<"$out" | cut -d/ -f1)
        failed=$(awk '/number of failed transactions/ {print $5}' <<<"$out")
        deadlocks=$(awk '/number of deadlock failures/ {print $5}' <<<"$out")
        printf '%-10s %-8s %10s %10s %10s\n' "$keys" "$mode" "${xacts:-?}" "${failed:-?}" "${deadlocks:-?}"
        grep -m3 -E "ERROR|aborted" <<<"$out" | sed "s/^/    /" || true
    done
done
stop_cluster "$DIR"
