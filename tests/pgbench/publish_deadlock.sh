#!/usr/bin/env bash
# Deadlock test: single-row activity inserts and lead fit changes (8 pgbench
# clients, 5 hot leads) on tables a model is attached to twice, sync as
# "a_x" and deferred as "a_x_d", while the model is published every 0.2 s.
# A statement fires a_x_d's triggers before a_x's (trigger names sort so). A
# publish used to rescore a_x then a_x_d (name order): it locked a_x's tables
# and waited for a_x_d's while a writer held a_x_d's and waited for a_x's, a
# deadlock where plain tables have none (56 in 10,012 transactions, found by a
# review). Publishing and sync commit folds now go in trigger order. Must end
# with no failed transaction and scores equal to a recompute. Runs against the
# cluster described by PGHOST/PGPORT/PGUSER.
#   bash tests/pgbench/publish_deadlock.sh [DB] [SECONDS]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
db=${1:-lead_score_publish_deadlock}
seconds=${2:-10}
export PGDATABASE=$db
PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql -X -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION lead_score;
CREATE TABLE leads (id bigint PRIMARY KEY, industry text, job_title text, employees int, country text, email text, phone text, budget text, decision_maker boolean);
INSERT INTO leads (id, industry) SELECT g, 'Software' FROM generate_series(1, 5) g;
CREATE TABLE events (id bigserial PRIMARY KEY, lead_id bigint NOT NULL, type text NOT NULL, at timestamptz NOT NULL, url text);
CREATE INDEX ON events (lead_id);
SELECT lead_score.create_model('m', \$spec\$$(cat "$root/bench/model.json")\$spec\$);
SELECT lead_score.attach('m', 'leads', 'events', '{"occurred_at": "at", "event_type": "type", "properties": {"url": "url"}}', name => 'a_x');
SELECT lead_score.attach('m', 'leads', 'events', '{"occurred_at": "at", "event_type": "type", "properties": {"url": "url"}}', name => 'a_x_d', mode => 'deferred');
SQL
publisher() {
    trap 'exit 0' TERM
    local i=0
    while true; do
        i=$((i + 1))
        psql -X -q -c "SELECT lead_score.create_model('m', jsonb_set(lead_score.model_spec('m'), '{fit,rules,0,points}', to_jsonb(10 + $i % 2)))" >/dev/null 2>&1
        sleep 0.2
    done
}
publisher &
pub=$!
out=$(pgbench -n -c 8 -j 2 -T "$seconds" --failures-detailed -f <(cat <<'SCRIPT'
\set k random(1, 5)
\set r random(1, 10)
\if :r = 1
UPDATE leads SET industry = CASE WHEN industry = 'Software' THEN 'Retail' ELSE 'Software' END WHERE id = :k;
\else
INSERT INTO events (lead_id, type, at) VALUES (:k, 'demo_request', now());
\endif
SCRIPT
) 2>&1)
kill "$pub" 2>/dev/null; wait "$pub" 2>/dev/null
xacts=$(awk '/number of transactions actually processed/ {print $6}' <<<"$out" | cut -d/ -f1)
failed=$(awk '/number of failed transactions/ {print $5}' <<<"$out")
deadlocks=$(awk '/number of deadlock failures/ {print $5}' <<<"$out")
aborted=$(grep -c "aborted in command" <<<"$out")
mismatches=$(psql -X -tA -c "SELECT lead_score.tick() >= 0" \
    -c "SELECT sum((SELECT count(*) FROM lead_score.check_consistency(a))) FROM unnest(ARRAY['a_x', 'a_x_d']) a" | tail -1)
versions=$(psql -X -tA -c "SELECT current_version FROM lead_score.models WHERE name = 'm'")
echo "publish vs writers: ${xacts:-?} transactions, ${failed:-?} failed (${deadlocks:-?} deadlocks), $aborted aborted, $((versions - 1)) publishes, $mismatches mismatches"
[ "${failed:-1}" = 0 ] && [ "$aborted" = 0 ] && [ "$mismatches" = 0 ] && [ "${versions:-1}" -gt 2 ] || { grep -m3 -E "ERROR|aborted" <<<"$out"; exit 1; }
