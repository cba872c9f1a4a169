#!/usr/bin/env bash
# Learning from real history (not a test): the X Education leads data set
# (9,237 leads, 38.5% converted), fitted in the database with
# lead_score.logistic_regression and evaluated there (held-out ROC AUC with
# DeLong's interval, calibration error, Brier score), against scikit-learn and
# statsmodels on the same design matrix and a gradient-boosting baseline.
# The data set lives outside the repository, so its path is an argument:
#   bash bench/xeducation.sh ../shared/data/x_education_leads.csv
source "$(dirname "$0")/../scripts/lib.sh"

CSV=${1:?usage: $0 path/to/x_education_leads.csv}
CSV=$(cd "$(dirname "$CSV")" && pwd)/$(basename "$CSV")
BENCH_DIR=${BENCH_DIR:-/tmp/lead_score_xeducation}
BENCH_PORT=${BENCH_PORT:-28818}
VENV=${VENV:-$ROOT/target/xeducation-venv}

ensure_deps
ensure_venv "$VENV" "scikit-learn==1.5.*" "statsmodels==0.14.*" "pandas==2.2.*" "numpy<2.1"
PROFILE=release install_extension
start_cluster "$BENCH_DIR" "$BENCH_PORT"
trap 'stop_cluster "$BENCH_DIR"' EXIT
DB=lead_score_xeducation
psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql_q -d "$DB" -c "CREATE EXTENSION lead_score"
as_root chmod a+r "$CSV"
"$VENV/bin/python" "$ROOT/bench/xeducation.py" "$CSV" "$DB"
