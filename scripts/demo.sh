#!/usr/bin/env bash
# Installs what is missing, builds lead_score, starts a throwaway PostgreSQL 15
# cluster, loads a demo CRM and prints the hottest leads. Safe to run again.
#   SEED=42 LEADS=10000 ACTIVITIES=200000 bash scripts/demo.sh
source "$(dirname "$0")/lib.sh"

SEED=${SEED:-42}
LEADS=${LEADS:-10000}
ACTIVITIES=${ACTIVITIES:-200000}
DEMO_DIR=${DEMO_DIR:-/tmp/lead_score_demo}
DEMO_PORT=${DEMO_PORT:-28815}

ensure_deps
install_extension
start_cluster "$DEMO_DIR" "$DEMO_PORT"

wanted="$SEED/$LEADS/$ACTIVITIES/$(sha1sum "$ROOT/scripts/demo_crm.sql" | cut -c1-12)"
have=$(psql_q -d postgres -tAc "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'lead_score_demo'" || true)
if [ "$have" != "$wanted" ]; then
    log "loading the demo CRM: $LEADS leads, $ACTIVITIES activities (seed $SEED)"
    PGOPTIONS="-c client_min_messages=warning" psql_q -d postgres -c "DROP DATABASE IF EXISTS lead_score_demo" -c "CREATE DATABASE lead_score_demo"
    psql_q -d lead_score_demo -v seed="$SEED" -v leads="$LEADS" -v activities="$ACTIVITIES" \
        -f "$ROOT/scripts/demo_crm.sql"
    psql_q -d postgres -c "COMMENT ON DATABASE lead_score_demo IS '$wanted'"
else
    log "demo CRM already loaded (seed $SEED); refreshing the extension"
    psql_q -d lead_score_demo -c "ALTER EXTENSION lead_score UPDATE" 2>/dev/null || true
fi

psql -X -d lead_score_demo -v ON_ERROR_STOP=1 -f "$ROOT/scripts/demo_report.sql"

# Pictures: matplotlib from PyPI, in a venv of the demo's own.
VENV=${VENV:-$ROOT/target/demo-venv}
ensure_venv "$VENV" "matplotlib>=3.7,<4"
PICTURES=${PICTURES:-$ROOT/target/demo}
PGDATABASE=lead_score_demo "$VENV/bin/python" "$ROOT/scripts/demo_plots.py" "$PICTURES" >/dev/null
log "pictures: $PICTURES/quadrants.png (fit x engagement by quadrant), $PICTURES/history.png (leads per quadrant over time)"
log "the demo cluster is running: psql -h $DEMO_DIR -p $DEMO_PORT -U $(pg_user) lead_score_demo"
log "stop it with: $(if [ "$(id -u)" = 0 ]; then echo "runuser -u postgres -- "; fi)$PG_BIN/pg_ctl -D $DEMO_DIR/data stop"
