#!/usr/bin/env bash
# Moved: the Citus checks are now a suite that starts its own cluster (a
# coordinator and two workers), tests/citus/run.sh; scripts/test.sh runs it.
set -euo pipefail
exec bash "$(dirname "$0")/../tests/citus/run.sh" "$@"
