#!/usr/bin/env bash
# Benchmark (not a test) of live scores, measured against the same work with
# nothing attached, in one run, for both attach modes (sync and deferred):
#   1. COPY of M activities into an attached table vs an identical plain table;
#   2. single-row inserts with pgbench (C clients, S seconds, over 100k leads):
#      TPS and p50/p99 latency, attached vs plain;
#   3. top_leads(…, 100) out of N leads, against a full sort, with its scans;
#   4. deferred mode: the tick() that folds what 1 and 2 left pending (fresh
#      and analyzed tables), and top_leads and current_score with those
#      events pending.
#   bash bench/live.sh [--leads N] [--copy-rows M] [--clients C] [--seconds S] [--reps R]
source "$(dirname "$0")/../scripts/lib.sh"

LEADS=1000000
COPY_ROWS=1000000
CLIENTS=8
SECONDS_=20
REPS=3
while [ $# -gt 0 ]; do
    case $1 in
        --leads) LEADS=$2; shift 2 ;;
        --copy-rows) COPY_ROWS=$2; shift 2 ;;
        --clients) CLIENTS=$2; shift 2 ;;
        --seconds) SECONDS_=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        *) echo "usage: $0 [--leads N] [--copy-rows M] [--clients C] [--seconds S] [--reps R]" >&2; exit 2 ;;
    esac
done
BENCH_DIR=${BENCH_DIR:-/tmp/lead_score_bench}
BENCH_PORT=${BENCH_PORT:-28817}
DB=lead_score_live_bench
PGBENCH_LEADS=$(( LEADS < 100000 ? LEADS : 100000 ))

ensure_deps
PROFILE=release install_extension
start_cluster "$BENCH_DIR" "$BENCH_PORT"
export PGDATABASE=$DB
PGOPTIONS="-c client_min_messages=warning" psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
WORK=$(mktemp -d /tmp/lead_score_live.XXXX)
chmod 777 "$WORK"

log "setting up $LEADS leads and attaching the benchmark model"
psql_q -v leads="$LEADS" -v leads_sql="$ROOT/bench/leads.sql" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION lead_score;
\i :leads_sql
-- The attached activity table and an identical plain twin, indexes included.
CREATE TABLE activities (id bigserial PRIMARY KEY, lead_id bigint NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL, url text);
CREATE INDEX ON activities (lead_id);
CREATE TABLE activities_plain (LIKE activities INCLUDING ALL);
CREATE TABLE activities_deferred (LIKE activities INCLUDING ALL);
ANALYZE leads;
SQL
psql_q -c "SELECT lead_score.create_model('bench', \$spec\$$(cat "$ROOT/bench/model.json")\$spec\$)" >/dev/null
seconds_since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f s", e - s}'; }
start=$(date +%s.%N)
PGOPTIONS="-c client_min_messages=warning" psql_q -c "SELECT lead_score.attach('bench', 'leads', 'activities')" >/dev/null
attach_time=$(seconds_since "$start")
PGOPTIONS="-c client_min_messages=warning" psql_q \
    -c "SELECT lead_score.attach('bench', 'leads', 'activities_deferred', name => 'bench_deferred', mode => 'deferred')" >/dev/null
# Of which the first history rows (one per lead, and its head), recorded again
# into emptied history tables (TRUNCATE, as empty as the first attach found
# them) in a transaction that is rolled back.
history_ms=$(psql -X -q -c "BEGIN" -c "TRUNCATE lead_score.score_history, lead_score_internal._history_heads" \
    -c '\timing on' -c "SELECT lead_score_internal._record_history('bench', true)" -c '\timing off' -c "ROLLBACK" \
    | awk '/^Time:/{print $2}')
echo "attach (scores $LEADS leads from scratch): $attach_time, of which recording the first history rows: $history_ms ms"

log "writing $COPY_ROWS activities to a file for COPY"
psql_q -v rows="$COPY_ROWS" -v leads="$LEADS" -v file="$WORK/activities.tsv" <<'SQL'
SELECT setseed(0.25) AS seeded \gset
COPY (SELECT 1 + floor(random() * :leads)::bigint,
             (ARRAY['page_view','page_view','email_click','download','webinar','demo_request'])[1 + floor(random() * 6)::int],
             now() - random() * interval '60 days',
             (ARRAY['/pricing','/product/analytics','/product/automation','/blog',NULL])[1 + floor(random() * 5)::int]
      FROM generate_series(1, :rows)) TO :'file';
SQL

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
copy_ms() { # copy_ms TABLE: time one COPY of the file into TABLE, then empty it (untimed)
    local ms
    # Each COPY starts clean, not paying for the dirty pages of the run before it.
    psql_q -c "CHECKPOINT" >/dev/null
    ms=$(psql -X -q -c '\timing on' -c "COPY $1 (lead_id, type, occurred_at, url) FROM '$WORK/activities.tsv'" | awk '/^Time:/{print $2}')
    psql_q -c "TRUNCATE $1" >/dev/null
    # A TRUNCATE of an attached table rewrites every score row (engagement
    # empties): vacuum them now, so autovacuum does not run into the next COPY.
    psql_q -c "VACUUM lead_score_internal.bench_scores, lead_score_internal.bench_deferred_scores" >/dev/null
    echo "$ms"
}
one_lead_ms() { # one_lead_ms ATTACHMENT: mean ms of 50 current_score reads of spread leads, one session
    local f="$WORK/one_lead.sql" start end
    : >"$f"
    for i in $(seq 1 50); do
        echo "SELECT total FROM lead_score.current_score('$1', $(( (i * 7919) % LEADS + 1 ))::bigint);" >>"$f"
    done
    start=$(date +%s%N)
    psql_q -f "$f" >/dev/null
    end=$(date +%s%N)
    awk -v ns=$((end - start)) 'BEGIN {printf "%.1f", ns / 1e6 / 50}'
}
top_ms() { # top_ms ATTACHMENT: time top_leads(ATTACHMENT, 100), the second of two runs
    psql -X -q -c '\timing on' -c "SELECT * FROM lead_score.top_leads('$1', 100)" \
        -c "SELECT * FROM lead_score.top_leads('$1', 100)" | awk '/^Time:/{t = $2} END {print t}'
}
same_as_sort() { # same_as_sort ATTACHMENT: whether top_leads(ATTACHMENT, 100) gives a full sort's leads, in order
    psql_q -tAc "SELECT (SELECT array_agg(t.lead_key ORDER BY t.o) FROM lead_score.top_leads('$1', 100)
                             WITH ORDINALITY AS t(lead_key, total, fit, engagement, grade, label, quadrant, mql, disqualified, o))
                      = (SELECT array_agg(c.lead_key::text ORDER BY c.total DESC, c.lead_key)
                         FROM (SELECT lead_key, total FROM lead_score.$1_current WHERE NOT disqualified
                               ORDER BY total DESC, lead_key LIMIT 100) c)"
}
tick_s() { # tick_s: time one tick(), which folds the deferred attachment's pending events
    psql -X -q -c '\timing on' -c "SELECT lead_score.tick()" | awk '/^Time:/{printf "%.1f", $2 / 1000}'
}
log "COPY $COPY_ROWS activities, $REPS times each, interleaved"
plain="" attached="" deferred="" fold_copy=""
for ((r = 1; r <= REPS; r++)); do
    plain+="$(copy_ms activities_plain) "
    attached+="$(copy_ms activities) "
    if [ "$r" = "$REPS" ]; then  # the last deferred COPY is folded before it is emptied
        psql_q -c "CHECKPOINT" >/dev/null
        deferred+="$(psql -X -q -c '\timing on' -c "COPY activities_deferred (lead_id, type, occurred_at, url) FROM '$WORK/activities.tsv'" | awk '/^Time:/{print $2}') "
        top_copy_pending_ms=$(top_ms bench_deferred)
        top_copy_pending_same=$(same_as_sort bench_deferred)
        one_copy_pending_ms=$(one_lead_ms bench_deferred)
        fold_copy=$(tick_s)
        top_copy_folded_ms=$(top_ms bench_deferred)
        one_copy_folded_ms=$(one_lead_ms bench_deferred)
        psql_q -c "TRUNCATE activities_deferred" >/dev/null
        # Again on analyzed tables: the fold's plan must not depend on statistics.
        psql_q -c "COPY activities_deferred (lead_id, type, occurred_at, url) FROM '$WORK/activities.tsv'" \
               -c "ANALYZE activities_deferred, lead_score_internal.bench_deferred_pending, lead_score_internal.bench_deferred_scores" >/dev/null
        fold_copy_analyzed=$(tick_s)
        tick_idle=$(tick_s)
        psql_q -c "TRUNCATE activities_deferred" \
               -c "VACUUM lead_score_internal.bench_scores, lead_score_internal.bench_deferred_scores" >/dev/null
    else
        deferred+="$(copy_ms activities_deferred) "
    fi
done
copy_plain=$(echo "$plain" | median)
copy_attached=$(echo "$attached" | median)
copy_deferred=$(echo "$deferred" | median)

log "pgbench: single-row inserts, $CLIENTS clients, ${SECONDS_}s each, over $PGBENCH_LEADS leads"
run_pgbench() { # run_pgbench TABLE: prints "tps p50_ms p99_ms"
    local dir="$WORK/pgbench_$1"
    mkdir -p "$dir" && chmod 777 "$dir"
    rm -f "$dir"/pgbench_log.*
    cat >"$dir/insert.sql" <<SQL
\set lead random(1, $PGBENCH_LEADS)
INSERT INTO $1 (lead_id, type, occurred_at, url) VALUES (:lead, 'page_view', now(), '/pricing');
SQL
    (cd "$dir" && pgbench -n -c "$CLIENTS" -j 2 -T "$SECONDS_" -l -f insert.sql "$DB" >"$dir/out.txt" 2>&1)
    local tps
    tps=$(awk '/^tps = / {print $3; exit}' "$dir/out.txt")
    cat "$dir"/pgbench_log.* | awk '{print $3 / 1000}' | sort -g >"$dir/latencies"
    local n p50 p99
    n=$(wc -l <"$dir/latencies")
    p50=$(sed -n "$(( (n + 1) / 2 ))p" "$dir/latencies")
    p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$dir/latencies")
    echo "$tps $p50 $p99"
}
psql_q -c "CHECKPOINT" >/dev/null
# Two rounds in rotated order, so neither mode always runs after the other's
# writes (checkpoints, autovacuum); each figure is the better of its two runs.
best() { # best "tps p50 p99" "tps p50 p99": the run with the higher TPS
    awk -v a="$1" -v b="$2" 'BEGIN {split(a, x, " "); split(b, y, " "); print (x[1] >= y[1]) ? a : b}'
}
r1_plain=$(run_pgbench activities_plain); r1_sync=$(run_pgbench activities); r1_deferred=$(run_pgbench activities_deferred)
fold_first=$(tick_s)
r2_deferred=$(run_pgbench activities_deferred); r2_sync=$(run_pgbench activities); r2_plain=$(run_pgbench activities_plain)
read -r tps_plain p50_plain p99_plain <<<"$(best "$r1_plain" "$r2_plain")"
read -r tps_attached p50_attached p99_attached <<<"$(best "$r1_sync" "$r2_sync")"
read -r tps_deferred p50_deferred p99_deferred <<<"$(best "$r1_deferred" "$r2_deferred")"
pending_events=$(psql_q -tAc "SELECT count(*) FROM lead_score_internal.bench_deferred_pending")
pending_leads=$(psql_q -tAc "SELECT count(DISTINCT lead_key) FROM lead_score_internal.bench_deferred_pending")
top_pending_ms=$(psql -X -q -c '\timing on' -c "SELECT * FROM lead_score.top_leads('bench_deferred', 100)" | awk '/^Time:/{print $2}')
fold_pgbench=$(tick_s)
top_folded_ms=$(psql -X -q -c '\timing on' -c "SELECT * FROM lead_score.top_leads('bench_deferred', 100)" | awk '/^Time:/{print $2}')
# The fold leaves dead rows in the pending table until (auto)vacuum; then:
psql_q -c "VACUUM lead_score_internal.bench_deferred_pending" >/dev/null
top_vacuumed_ms=$(psql -X -q -c '\timing on' -c "SELECT * FROM lead_score.top_leads('bench_deferred', 100)" | awk '/^Time:/{print $2}')
one_vacuumed_ms=$(one_lead_ms bench_deferred)
top_deferred_plan=$(psql -X -c "LOAD 'auto_explain'" -c "SET auto_explain.log_min_duration = 0" \
    -c "SET auto_explain.log_nested_statements = on" -c "SET auto_explain.log_level = notice" \
    -c "SET client_min_messages = notice" -c "SELECT count(*) FROM lead_score.top_leads('bench_deferred', 100)" 2>&1 \
    | grep -E "(Index|Seq) Scan.* on bench_deferred" | sed 's/ *(cost=.*//; s/^ *//' | sort | uniq -c | sed 's/^ */    /')

log "top 100 current scores out of $LEADS leads"
top_sync_ms=$(top_ms bench)
full_sort_ms=$(psql -X -q -c '\timing on' -c "SELECT lead_key FROM lead_score.bench_current WHERE NOT disqualified ORDER BY total DESC, lead_key LIMIT 100" \
    | awk '/^Time:/{print $2}')
top_sync_plan=$(psql -X -c "LOAD 'auto_explain'" -c "SET auto_explain.log_min_duration = 0" \
    -c "SET auto_explain.log_nested_statements = on" -c "SET auto_explain.log_level = notice" \
    -c "SET client_min_messages = notice" -c "SELECT count(*) FROM lead_score.top_leads('bench', 100)" 2>&1 \
    | grep -E "(Index|Seq) Scan.* on bench_" | sed 's/ *(cost=.*//; s/^ *//' | sort | uniq -c | sed 's/^ */    /')
consistency=$(psql_q -tAc "SELECT count(*) FROM lead_score.check_consistency('bench')")
consistency_deferred=$(psql_q -tAc "SELECT count(*) FROM lead_score.check_consistency('bench_deferred')")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo
echo "leads=$LEADS copy_rows=$COPY_ROWS clients=$CLIENTS seconds=$SECONDS_ reps=$REPS cores=$(nproc)"
echo "attach: $attach_time, of which the first history rows: $history_ms ms"
printf 'COPY %s activities: plain %.0f ms, sync %.0f ms, deferred %.0f ms (medians; runs plain: %s; sync: %s; deferred: %s)\n' \
    "$COPY_ROWS" "$copy_plain" "$copy_attached" "$copy_deferred" "$plain" "$attached" "$deferred"
echo "  COPY sync / plain: $(ratio "$copy_attached" "$copy_plain"), deferred / plain: $(ratio "$copy_deferred" "$copy_plain")  (target <= 1.3)"
echo "  tick() folding the $COPY_ROWS copied events (deferred): $fold_copy s; again on analyzed tables: $fold_copy_analyzed s; tick() with nothing pending: $tick_idle s"
echo "  top_leads('bench_deferred', 100) with those $COPY_ROWS events pending: $top_copy_pending_ms ms (the full sort's 100 leads: $top_copy_pending_same); once folded: $top_copy_folded_ms ms"
echo "  current_score('bench_deferred', key) with those events pending: $one_copy_pending_ms ms a read (mean of 50); once folded: $one_copy_folded_ms ms"
echo "single-row INSERT, $CLIENTS clients: plain $tps_plain TPS (p50 $p50_plain ms, p99 $p99_plain ms)"
echo "  sync $tps_attached TPS (p50 $p50_attached ms, p99 $p99_attached ms); deferred $tps_deferred TPS (p50 $p50_deferred ms, p99 $p99_deferred ms)"
echo "  insert TPS sync / plain: $(ratio "$tps_attached" "$tps_plain"), deferred / plain: $(ratio "$tps_deferred" "$tps_plain")  (target >= 0.7)"
echo "  runs (tps p50 p99): plain $r1_plain | $r2_plain; sync $r1_sync | $r2_sync; deferred $r1_deferred | $r2_deferred"
echo "  tick() folding the events pending after each deferred run: $fold_first s, then $fold_pgbench s ($pending_events events on $pending_leads leads)"
echo "top_leads('bench', 100) of $LEADS leads (sync): $top_sync_ms ms; a full sort of the current view: $full_sort_ms ms; its scans:"
echo "$top_sync_plan"
echo "current_score('bench_deferred', key) with nothing pending, once vacuumed: $one_vacuumed_ms ms a read (mean of 50)"
echo "top_leads('bench_deferred', 100): $top_pending_ms ms with $pending_events events pending, $top_folded_ms ms after tick(), $top_vacuumed_ms ms once vacuumed; its scans:"
echo "$top_deferred_plan"
echo "check_consistency mismatches after the run: sync $consistency, deferred $consistency_deferred"
rm -rf "$WORK"
