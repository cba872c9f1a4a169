#!/usr/bin/env bash
# Benchmark (not a test) of the learning functions on generated data, in one
# run, each against a baseline measured in the same run:
#   1. fit: lead_score.logistic_regression over N leads × F features in the
#      database, against exporting the same rows (COPY to a client) and fitting
#      them with scikit-learn (its exact Newton solver and its default L-BFGS);
#   2. evaluate(): scoring N leads as of a cut-off and their statistics, against
#      scoring them alone (a hand-written query over the same aggregates);
#   3. backtest() of 3 versions, against the same scoring once.
#   bash bench/learn.sh [--leads N] [--features F] [--reps R]
source "$(dirname "$0")/../scripts/lib.sh"

LEADS=1000000
NFEATURES=50
REPS=2
while [ $# -gt 0 ]; do
    case $1 in
        --leads) LEADS=$2; shift 2 ;;
        --features) NFEATURES=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        *) echo "usage: $0 [--leads N] [--features F] [--reps R]" >&2; exit 2 ;;
    esac
done
BENCH_DIR=${BENCH_DIR:-/tmp/lead_score_learn_bench}
BENCH_PORT=${BENCH_PORT:-28819}
DB=lead_score_learn_bench
VENV=${VENV:-$ROOT/target/xeducation-venv}

ensure_deps
ensure_venv "$VENV" "scikit-learn==1.5.*" "statsmodels==0.14.*" "pandas==2.2.*" "numpy<2.1"
[ "${SKIP_INSTALL:-}" = 1 ] || PROFILE=release install_extension
start_cluster "$BENCH_DIR" "$BENCH_PORT"
trap 'stop_cluster "$BENCH_DIR"' EXIT
export PGDATABASE=$DB
PGOPTIONS="-c client_min_messages=warning" psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"

cols=$(seq -s, 1 "$NFEATURES" | sed 's/\([0-9]\+\)/f\1 float8/g')
gen=$(seq -s, 1 "$NFEATURES" | sed 's/\([0-9]\+\)/random() * 2 - 1 AS f\1/g')
# True coefficients: (j mod 5 − 2) × 0.3, intercept −0.5.
logit=$(seq 1 "$NFEATURES" | awk '{printf "%s%.1f * f%d", (NR > 1 ? " + " : ""), (($1 % 5) - 2) * 0.3, $1}')
names=$(seq -s, 1 "$NFEATURES" | sed "s/\([0-9]\+\)/'f\1'/g")

log "generating $LEADS leads × $NFEATURES features, about 2 activities each"
psql_q <<SQL
SET client_min_messages = warning;
CREATE EXTENSION lead_score;
SELECT setseed(0.2026);
CREATE TABLE leads AS
SELECT s.*, '2026-01-01 00:00+00'::timestamptz + (s.lead_id % 90) * interval '1 day' AS created_at,
       random() < 1 / (1 + exp(-(-0.5 + $logit))) AS won
FROM (SELECT g AS lead_id, $gen FROM generate_series(1, $LEADS) g OFFSET 0) s;
ALTER TABLE leads ADD PRIMARY KEY (lead_id);
CREATE TABLE activities AS
SELECT l.lead_id, (ARRAY['visit', 'download', 'webinar', 'demo_request'])[1 + (l.lead_id * 7 + k) % 4] AS type,
       l.created_at + ((l.lead_id * 13 + k * 17) % 60) * interval '1 day' AS occurred_at
FROM leads l, generate_series(1, 3) k WHERE (l.lead_id + k) % 3 <> 0;
CREATE INDEX ON activities (lead_id);
-- One outcome per lead (its key unique, so evaluations need not group deals per lead).
CREATE TABLE outcomes AS SELECT lead_id, won, created_at + interval '100 days' AS closed_at FROM leads;
ALTER TABLE outcomes ADD PRIMARY KEY (lead_id);
VACUUM ANALYZE leads, activities, outcomes;
SQL

spec() {  # spec VERSION_POINTS: fit rules on f1..f10, engagement by type
    local p=$1
    local rules
    rules=$(seq 1 10 | awk -v p="$p" '{printf "%s{\"name\": \"f%d\", \"when\": {\"field\": \"f%d\", \"gt\": 0}, \"points\": %d}", (NR > 1 ? ", " : ""), $1, $1, ((($1 % 5) - 2) * p)}')
    cat <<JSON
{"fit": {"rules": [$rules]},
 "engagement": {"decay": {"kind": "exponential", "half_life": "30 days"},
   "rules": [{"name": "visit", "event": "visit", "points": 2}, {"name": "download", "event": "download", "points": 5},
             {"name": "webinar", "event": "webinar", "points": 8}, {"name": "demo", "event": "demo_request", "points": 20}]},
 "classification": {"grades": [{"name": "A", "min": 20}, {"name": "B"}], "labels": [{"name": "hot", "min": 20}, {"name": "cold"}],
   "quadrant": {"fit": 20, "engagement": 20}, "mql": {"min_total": 40}}}
JSON
}
for p in 5 10 3; do
    psql_q -qAt -c "SELECT lead_score.create_model('bl', \$s\$$(spec $p)\$s\$)" >/dev/null
done
log "attaching (scores every lead once)"
psql_q -qAt <<'SQL' >/dev/null
SET client_min_messages = warning;
SELECT lead_score.attach('bl', 'leads', 'activities', '{"lead_key": "lead_id"}');
SELECT lead_score.link_outcomes('bl', 'outcomes', '{"lead_key": "lead_id", "won": "won", "closed_at": "closed_at"}');
SQL

CUTOFF='2026-04-15 00:00+00'
ms() {  # ms SQL: milliseconds of one run, from psql's \timing
    psql -X -q -v ON_ERROR_STOP=1 -c '\timing on' -c "SET client_min_messages = warning" -c "$1" 2>&1 |
        awk '/^Time:/ {t = $2} END {print t}'
}
best() {  # best SQL: the fastest of REPS runs, in ms
    local b="" t
    for _ in $(seq 1 "$REPS"); do
        t=$(ms "$1")
        b=$(awk -v a="$b" -v t="$t" 'BEGIN {print (a == "" || t < a) ? t : a}')
    done
    echo "$b"
}

log "1. fit: in the database, and export + scikit-learn"
fit_sql="SELECT count(*) FROM lead_score.logistic_regression('leads', 'won', ARRAY[$names], l2 => 1)"
fit_db=$(best "$fit_sql")
psql_q -At -c "SELECT 'fit: ' || max(iterations) || ' iterations, converged ' || bool_and(converged) || ', largest error against the true coefficients ' || round(max(abs(coefficient - CASE WHEN feature = '(intercept)' THEN -0.5 ELSE ((substr(feature, 2)::int % 5) - 2) * 0.3 END))::numeric, 4) FROM lead_score.logistic_regression('leads', 'won', ARRAY[$names], l2 => 1)"
read -r export_ms newton_ms lbfgs_ms maxdiff < <(
    "$VENV/bin/python" "$ROOT/bench/learn.py" "$NFEATURES" "$REPS" \
        "$(psql_q -At -c "SELECT string_agg(coefficient::text, ',' ORDER BY ord) FROM lead_score.logistic_regression('leads', 'won', ARRAY[$names], l2 => 1) WITH ORDINALITY AS r(feature, coefficient, std_error, z_value, p_value, log_likelihood, iterations, converged, ord)")")

log "2. evaluate() against scoring alone"
score_sql="SET lead_score.as_of = '$CUTOFF';
SELECT count(*), sum(x.total) FROM leads l
LEFT JOIN (SELECT a.lead_id, lead_score.engagement_state('bl', a.type, a.occurred_at) AS st
           FROM activities a WHERE a.occurred_at <= '$CUTOFF' GROUP BY a.lead_id) f ON f.lead_id = l.lead_id
JOIN outcomes o ON o.lead_id = l.lead_id AND o.closed_at >= '$CUTOFF'
CROSS JOIN LATERAL lead_score.score('bl', l, f.st) x"
score_ms=$(best "$score_sql")
eval_ms=$(best "SELECT * FROM lead_score.evaluate('bl', '$CUTOFF')")
psql_q -At -c "SELECT 'evaluate: ' || leads || ' leads, ' || positives || ' won, AUC ' || round(auc::numeric, 4) FROM lead_score.evaluate('bl', '$CUTOFF')"

log "3. backtest() of 3 versions against scoring once"
backtest_ms=$(best "SELECT * FROM lead_score.backtest('bl', '$CUTOFF', ARRAY[1, 2, 3])")
psql_q -At -c "SELECT 'backtest: version ' || version || ' AUC ' || round(auc::numeric, 4) || coalesce(', difference ' || round(auc_difference::numeric, 4), '') FROM lead_score.latest_evaluations ORDER BY version"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
cat <<REPORT

== lead_score learning benchmark: $LEADS leads × $NFEATURES features (best of $REPS)
fit in the database (logistic_regression, l2 = 1):      ${fit_db} ms
export (COPY to the client, parsed by pandas):          ${export_ms} ms
scikit-learn newton-cholesky fit:                        ${newton_ms} ms   → in-DB / (export + fit) = $(ratio "$fit_db" "$(awk -v a="$export_ms" -v b="$newton_ms" 'BEGIN {print a + b}')")
scikit-learn lbfgs fit (its default):                    ${lbfgs_ms} ms   → in-DB / (export + fit) = $(ratio "$fit_db" "$(awk -v a="$export_ms" -v b="$lbfgs_ms" 'BEGIN {print a + b}')")
largest coefficient difference, in-DB vs newton-cholesky: $maxdiff
scoring $LEADS leads as of the cut-off, alone:          ${score_ms} ms
evaluate():                                              ${eval_ms} ms   → $(ratio "$eval_ms" "$score_ms")× scoring
backtest() of 3 versions:                                ${backtest_ms} ms   → $(ratio "$backtest_ms" "$score_ms")× scoring once
REPORT
