#!/usr/bin/env bash
# Benchmark (not a test) of reading event properties whose text depends on
# session settings (float, date, time, interval, bytea: src/stable_text.rs).
# The live triggers read such a value through _stable_text, which pins
# DateStyle, IntervalStyle, TimeZone and extra_float_digits around its output
# function, so every session stores the text every other recomputes; a text
# property is read as it is. Two sync attachments of one model over one leads
# table differ only in their activity table's property column: float8 in one,
# text holding the same values' text in the other. The same multi-row INSERTs
# into each, alternating, and into two copies with nothing attached (the
# baseline); first with the property in no rule's condition, then in one.
#   bash bench/stable_text.sh [--leads L] [--events E] [--rounds R]
source "$(dirname "$0")/../scripts/lib.sh"

LEADS=100000
EVENTS=200000
ROUNDS=2
while [ $# -gt 0 ]; do
    case $1 in
        --leads) LEADS=$2; shift 2 ;;
        --events) EVENTS=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        *) echo "usage: $0 [--leads L] [--events E] [--rounds R]" >&2; exit 2 ;;
    esac
done
BENCH_DIR=${BENCH_DIR:-/tmp/lead_score_bench}
BENCH_PORT=${BENCH_PORT:-28817}
DB=lead_score_stable_text_bench

ensure_deps
PROFILE=release install_extension
start_cluster "$BENCH_DIR" "$BENCH_PORT"
export PGDATABASE=$DB
PGOPTIONS="-c client_min_messages=warning" psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"

log "$LEADS leads; activity tables with a float8 and a text property, two of each"
psql_q -v leads="$LEADS" -v leads_sql="$ROOT/bench/leads.sql" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION lead_score;
\i :leads_sql
CREATE TABLE acts_float (id bigserial PRIMARY KEY, lead_id bigint NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL, amount float8);
CREATE TABLE acts_text (LIKE acts_float INCLUDING ALL);
ALTER TABLE acts_text ALTER COLUMN amount TYPE text;
CREATE TABLE plain_float (LIKE acts_float INCLUDING ALL);
CREATE TABLE plain_text (LIKE acts_text INCLUDING ALL);
CREATE INDEX ON acts_float (lead_id);
CREATE INDEX ON acts_text (lead_id);
CREATE INDEX ON plain_float (lead_id);
CREATE INDEX ON plain_text (lead_id);
ANALYZE;
SQL

# The model: bench/model.json's fit, and engagement rules on one property,
# `amount`, which the second phase reads in a condition (a string operator).
spec() { # spec WITH_CONDITION
    python3 - "$ROOT/bench/model.json" "$1" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
e = m["engagement"]
e["properties"] = ["amount"]
e["categories"] = []
e["rules"] = [r for r in e["rules"] if "when" not in r]
if sys.argv[2] == "yes":
    e["rules"].append({"name": "half amounts", "event": "purchase", "when": {"field": "amount", "contains": ".5"}, "points": 7})
print(json.dumps(m))
PY
}

# One time for every INSERT, so both attachments hold the same events.
BASE=$(date -u '+%Y-%m-%d %H:00:00+00')
events_sql() { # events_sql TABLE: one INSERT of EVENTS rows, amounts with fractions
    echo "INSERT INTO $1 (lead_id, type, occurred_at, amount)
          SELECT 1 + (g * 7919) % $LEADS, (ARRAY['page_view','purchase','download'])[1 + g % 3],
                 timestamptz '$BASE' - (g % 500) * interval '1 hour', ((g % 1000) / 4.0)::float8
          FROM generate_series(1, $EVENTS) g;"
}

seconds() { # seconds SQL: how long psql takes to run it
    local start end
    start=$(date +%s.%N)
    psql_q -c "$1" >/dev/null
    end=$(date +%s.%N)
    printf '%.2f' "$(echo "$end - $start" | bc)"
}

phase() { # phase LABEL WITH_CONDITION
    psql_q -c "SELECT lead_score.create_model('st', \$spec\$$(spec "$2")\$spec\$)" >/dev/null
    for round in $(seq 1 "$ROUNDS"); do
        psql_q -c "TRUNCATE acts_float, acts_text, plain_float, plain_text" >/dev/null
        local pf pt af at
        pf=$(seconds "$(events_sql plain_float)")
        pt=$(seconds "$(events_sql plain_text)")
        af=$(seconds "$(events_sql acts_float)")
        at=$(seconds "$(events_sql acts_text)")
        printf '%-34s round %s: %s events, plain float8 %6s s, plain text %6s s; sync float8 %6s s, sync text %6s s (float8/text %s)\n' \
            "$1" "$round" "$EVENTS" "$pf" "$pt" "$af" "$at" "$(echo "scale=2; $af / $at" | bc)"
    done
}

psql_q -c "SELECT lead_score.create_model('st', \$spec\$$(spec no)\$spec\$)" >/dev/null
PGOPTIONS="-c client_min_messages=warning" psql_q -c "SELECT lead_score.attach('st', 'leads', 'acts_float', name => 'st_float', mapping => '{\"lead_key\": \"id\", \"activity_lead_key\": \"lead_id\", \"event_type\": \"type\", \"occurred_at\": \"occurred_at\", \"properties\": {\"amount\": \"amount\"}}')" >/dev/null
PGOPTIONS="-c client_min_messages=warning" psql_q -c "SELECT lead_score.attach('st', 'leads', 'acts_text', name => 'st_text', mapping => '{\"lead_key\": \"id\", \"activity_lead_key\": \"lead_id\", \"event_type\": \"type\", \"occurred_at\": \"occurred_at\", \"properties\": {\"amount\": \"amount\"}}')" >/dev/null

phase "amount in no condition" no
phase "amount in a contains condition" yes
log "mismatches: $(psql -X -Atc "SELECT (SELECT count(*) FROM lead_score.check_consistency('st_float')) + (SELECT count(*) FROM lead_score.check_consistency('st_text'))")"
log "leads whose totals differ between the two attachments: $(psql -X -Atc "SELECT count(*) FROM lead_score.st_float_current f JOIN lead_score.st_text_current t USING (lead_key) WHERE f.total IS DISTINCT FROM t.total")"
