#!/usr/bin/env bash
# The deadlock test of scripts/test.sh (tests/pgbench/deadlocks.sh), for longer,
# in a cluster of its own, reporting rather than asserting.
#   bash bench/deadlocks/run.sh [--seconds S]
source "$(dirname "$0")/../../scripts/lib.sh"
SECONDS_=10
[ "${1:-}" = --seconds ] && SECONDS_=$2
ensure_deps
PROFILE=${PROFILE:-debug} install_extension
start_cluster /tmp/lead_score_deadlocks 28818
trap 'stop_cluster /tmp/lead_score_deadlocks' EXIT
bash "$ROOT/tests/pgbench/deadlocks.sh" lead_score_deadlocks "$SECONDS_" --report
