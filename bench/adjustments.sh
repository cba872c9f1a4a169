#!/usr/bin/env bash
# Benchmark (not a test) of what manual adjustments cost readers. The current
# views join the adjustments active at scoring_time(); this times, in one run,
# each read against the same read written by hand without that join (what the
# views were before adjustments), with no adjustment and then with A of them:
#   1. every lead's current score (a full scan of <name>_current);
#   2. one lead's current score by key, 2,000 random keys;
#   3. top_leads(…, 100), checked against a full sort of the current view.
#   bash bench/adjustments.sh [--leads N] [--activities M] [--adjustments A] [--reps R]
source "$(dirname "$0")/../scripts/lib.sh"

LEADS=1000000
ACTIVITIES=1000000
ADJUSTMENTS=10000
REPS=5
while [ $# -gt 0 ]; do
    case $1 in
        --leads) LEADS=$2; shift 2 ;;
        --activities) ACTIVITIES=$2; shift 2 ;;
        --adjustments) ADJUSTMENTS=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        *) echo "usage: $0 [--leads N] [--activities M] [--adjustments A] [--reps R]" >&2; exit 2 ;;
    esac
done
BENCH_DIR=${BENCH_DIR:-/tmp/lead_score_bench}
BENCH_PORT=${BENCH_PORT:-28817}
DB=lead_score_adjustments_bench

ensure_deps
[ "${SKIP_INSTALL:-}" = 1 ] || PROFILE=release install_extension
start_cluster "$BENCH_DIR" "$BENCH_PORT"
export PGDATABASE=$DB
PGOPTIONS="-c client_min_messages=warning" psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"

log "setting up $LEADS leads, $ACTIVITIES activities, and attaching the benchmark model"
psql_q -v leads="$LEADS" -v acts="$ACTIVITIES" -v leads_sql="$ROOT/bench/leads.sql" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION lead_score;
\i :leads_sql
CREATE TABLE activities (id bigserial PRIMARY KEY, lead_id bigint NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL, url text);
SELECT setseed(0.25) AS seeded \gset
INSERT INTO activities (lead_id, type, occurred_at, url)
SELECT 1 + floor(random() * :leads)::bigint,
       (ARRAY['page_view','page_view','email_click','download','webinar','demo_request'])[1 + floor(random() * 6)::int],
       now() - random() * interval '60 days',
       (ARRAY['/pricing','/product/analytics','/product/automation','/blog',NULL])[1 + floor(random() * 5)::int]
FROM generate_series(1, :acts);
CREATE INDEX ON activities (lead_id);
ANALYZE leads, activities;
SQL
psql_q -c "SELECT lead_score.create_model('bench', \$spec\$$(cat "$ROOT/bench/model.json")\$spec\$)" >/dev/null
PGOPTIONS="-c client_min_messages=warning" psql_q -c "SELECT lead_score.attach('bench', 'leads', 'activities')" >/dev/null
psql_q -c "VACUUM ANALYZE lead_score_internal.bench_scores" >/dev/null

# The timed reads, as functions returning milliseconds. "byhand" is each read
# without the adjustments' join: the current view as it was before them.
psql_q <<'SQL'
SET client_min_messages = warning;
CREATE FUNCTION full_view() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t timestamptz := clock_timestamp(); n bigint;
BEGIN
    SELECT count(*) INTO n FROM lead_score.bench_current c WHERE c.total > -1e9;
    RETURN 1000 * extract(epoch FROM clock_timestamp() - t);
END $$;
CREATE FUNCTION full_byhand() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t timestamptz := clock_timestamp(); n bigint;
BEGIN
    SELECT count(*) INTO n FROM lead_score_internal.bench_merged s
    CROSS JOIN LATERAL lead_score_internal._live_score(s.state, s.fit, s.disqualified_by, s.predictive, lead_score.scoring_time()) x
    WHERE x.total > -1e9;
    RETURN 1000 * extract(epoch FROM clock_timestamp() - t);
END $$;
CREATE FUNCTION one_view(keys bigint[]) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t timestamptz := clock_timestamp(); k bigint; v float8;
BEGIN
    FOREACH k IN ARRAY keys LOOP
        SELECT c.total INTO v FROM lead_score.bench_current c WHERE c.lead_key = k;
    END LOOP;
    RETURN 1000 * extract(epoch FROM clock_timestamp() - t) / cardinality(keys);
END $$;
CREATE FUNCTION one_byhand(keys bigint[]) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t timestamptz := clock_timestamp(); k bigint; v float8;
BEGIN
    FOREACH k IN ARRAY keys LOOP
        SELECT x.total INTO v FROM lead_score_internal.bench_merged s
        CROSS JOIN LATERAL lead_score_internal._live_score(s.state, s.fit, s.disqualified_by, s.predictive, lead_score.scoring_time()) x
        WHERE s.lead_key = k;
    END LOOP;
    RETURN 1000 * extract(epoch FROM clock_timestamp() - t) / cardinality(keys);
END $$;
CREATE FUNCTION top() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t timestamptz := clock_timestamp(); n bigint;
BEGIN
    SELECT count(*) INTO n FROM lead_score.top_leads('bench', 100);
    RETURN 1000 * extract(epoch FROM clock_timestamp() - t);
END $$;
SQL

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
round() { awk -v x="$1" -v d="${2:-1}" 'BEGIN {printf "%.*f", d, x}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

measure() { # measure LABEL: every read, interleaved, REPS times; prints the medians
    local label=$1 fv="" fh="" ov="" oh="" tp=""
    for _ in $(seq "$REPS"); do
        local keys
        keys=$(q "SELECT array_agg(1 + floor(random() * $LEADS)::bigint) FROM generate_series(1, 2000)")
        fv+=" $(q "SELECT full_view()")"
        fh+=" $(q "SELECT full_byhand()")"
        ov+=" $(q "SELECT one_view('$keys')")"
        oh+=" $(q "SELECT one_byhand('$keys')")"
        tp+=" $(q "SELECT top()")"
    done
    fv=$(echo "$fv" | median); fh=$(echo "$fh" | median); ov=$(echo "$ov" | median)
    oh=$(echo "$oh" | median); tp=$(echo "$tp" | median)
    echo "$label: full scan $(round "$fv" 0) ms vs $(round "$fh" 0) ms by hand ($(ratio "$fv" "$fh")x);" \
         "one lead $(round "$ov" 3) ms vs $(round "$oh" 3) ms by hand ($(ratio "$ov" "$oh")x);" \
         "top_leads(100) $(round "$tp" 1) ms"
}
q() { psql -X -q -A -t -c "$1"; }

measure "no adjustment"
log "adding $ADJUSTMENTS adjustments on random leads (half of them raising a lead)"
# Through adjust(), each with its history row and alert, as sales would.
psql_q -v n="$ADJUSTMENTS" -v leads="$LEADS" <<'SQL'
SELECT count(lead_score.adjust('bench', (1 + floor(random() * :leads)::bigint)::text,
                               CASE WHEN g % 2 = 0 THEN 40 ELSE -15 END, 'bench')) AS adjusted
FROM generate_series(1, :n) g \g /dev/null
ANALYZE lead_score.adjustments, lead_score_internal._adjustment_sums;
SQL
measure "$ADJUSTMENTS adjustments"
check=$(q "SELECT count(*) FROM (SELECT lead_key, total FROM lead_score.top_leads('bench', 100)
                                 EXCEPT SELECT lead_key::text, total FROM (SELECT lead_key, total FROM lead_score.bench_current
                                 WHERE NOT disqualified ORDER BY total DESC, lead_key LIMIT 100) s) d")
echo "top_leads(100) rows not in a full sort's top 100: $check"
