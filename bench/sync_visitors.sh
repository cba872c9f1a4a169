#!/usr/bin/env bash
# Benchmark (not a test) of a `sync` attachment while events of keys that are
# no lead (visitors) wait in its pending table, as they do until `tick()` drops
# them: N one-row activity deletes, each its own transaction (its commit folds
# the lead's recompute marker), and one-lead reads (`current_score`, and as a
# baseline the same reads of `<name>_current` by key), first with no visitor
# events pending, then with V of them. A pending table read in
# full by those would make both grow with V; found by key, they stay flat.
#   bash bench/sync_visitors.sh [--leads L] [--visitors V] [--deletes N]
source "$(dirname "$0")/../scripts/lib.sh"

LEADS=100000
VISITORS=500000
DELETES=300
while [ $# -gt 0 ]; do
    case $1 in
        --leads) LEADS=$2; shift 2 ;;
        --visitors) VISITORS=$2; shift 2 ;;
        --deletes) DELETES=$2; shift 2 ;;
        *) echo "usage: $0 [--leads L] [--visitors V] [--deletes N]" >&2; exit 2 ;;
    esac
done
BENCH_DIR=${BENCH_DIR:-/tmp/lead_score_bench}
BENCH_PORT=${BENCH_PORT:-28817}
DB=lead_score_visitors_bench

ensure_deps
PROFILE=release install_extension
start_cluster "$BENCH_DIR" "$BENCH_PORT"
export PGDATABASE=$DB
PGOPTIONS="-c client_min_messages=warning" psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"

log "$LEADS leads with 3 activities each, a sync attachment"
psql_q -v leads="$LEADS" -v leads_sql="$ROOT/bench/leads.sql" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION lead_score;
\i :leads_sql
CREATE TABLE activities (id bigserial PRIMARY KEY, lead_id bigint NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL, url text);
CREATE INDEX ON activities (lead_id);
INSERT INTO activities (lead_id, type, occurred_at, url)
SELECT 1 + (g % :leads), 'page_view', now() - (g % 1000) * interval '1 hour', '/pricing' FROM generate_series(1, 3 * :leads) g;
ANALYZE;
SQL
psql_q -c "SELECT lead_score.create_model('bench', \$spec\$$(cat "$ROOT/bench/model.json")\$spec\$)" >/dev/null
PGOPTIONS="-c client_min_messages=warning" psql_q -c "SELECT lead_score.attach('bench', 'leads', 'activities', name => 'visitors')" >/dev/null

seconds() { # seconds SQLFILE: how long psql takes to run it
    local start end
    start=$(date +%s.%N)
    psql_q -f "$1" >/dev/null
    end=$(date +%s.%N)
    printf '%.2f' "$(echo "$end - $start" | bc)"
}

measure() { # measure LABEL
    local deletes reads lookups
    deletes=$(mktemp /tmp/lead_score_visitors.XXXX)
    reads=$(mktemp /tmp/lead_score_visitors.XXXX)
    lookups=$(mktemp /tmp/lead_score_visitors.XXXX)
    for i in $(seq 1 "$DELETES"); do
        local lead=$(((i * 97 + RANDOM) % LEADS + 1))
        echo "BEGIN; DELETE FROM activities WHERE id = (SELECT min(id) FROM activities WHERE lead_id = $lead); COMMIT;" >>"$deletes"
        echo "SELECT total FROM lead_score.current_score('visitors', $lead::bigint);" >>"$reads"
        echo "SELECT total FROM lead_score.visitors_current WHERE lead_key = $lead;" >>"$lookups"
    done
    printf '%-32s %8s s for %s deletes, %8s s for %s current_score reads, %8s s for the same reads of the view by key (%s events pending)\n' "$1" \
        "$(seconds "$deletes")" "$DELETES" "$(seconds "$reads")" "$DELETES" "$(seconds "$lookups")" \
        "$(psql -X -Atc 'SELECT count(*) FROM lead_score_internal.visitors_pending')"
    rm -f "$deletes" "$reads" "$lookups"
}

measure "no visitor events pending"
log "$VISITORS visitor events (keys with no lead), left pending until tick()"
psql_q -c "INSERT INTO activities (lead_id, type, occurred_at) SELECT $LEADS + g, 'page_view', now() FROM generate_series(1, $VISITORS) g"
psql_q -c "VACUUM ANALYZE lead_score_internal.visitors_pending"
measure "$VISITORS visitor events pending"
log "mismatches: $(psql -X -Atc "SELECT count(*) FROM lead_score.check_consistency('visitors')")"
