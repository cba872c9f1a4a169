# A Citus cluster of a coordinator and two workers, and a plain single node to
# compare with: private PostgreSQL 15 clusters run as the unprivileged postgres
# user, on loopback ports. Sourced by tests/citus/run.sh and bench/citus.sh.
#
#   PG_BIN          PostgreSQL bin directory [/usr/lib/postgresql/15/bin]
#   CITUS_DIR       where the clusters live   [/tmp/citus_test]
#   CITUS_PORT      coordinator port; workers and the single node take the next three [29101]
#   SKIP_INSTALL=1  use the lead_score already installed under PG_BIN (no build)
# shellcheck shell=bash
citus_pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
PG_BIN=$citus_pg_bin
CITUS_DIR=${CITUS_DIR:-/tmp/citus_test}
CITUS_PORT=${CITUS_PORT:-29101}
COORD=$CITUS_PORT
WORKER1=$((CITUS_PORT + 1))
WORKER2=$((CITUS_PORT + 2))
SINGLE=$((CITUS_PORT + 3))
export PGUSER PGDATABASE=postgres PGHOST=127.0.0.1
PGUSER=$(pg_user)

# citus_available: citus.so is installed under PG_BIN's PostgreSQL.
citus_available() {
    [ -f "$("$PG_BIN/pg_config" --pkglibdir)/citus.so" ]
}

# node_start NAME PORT CITUS(0/1): a private cluster on 127.0.0.1:PORT.
node_start() {
    local dir=$CITUS_DIR/$1 port=$2 citus=$3
    as_root mkdir -p "$dir"
    as_root chown "$(pg_user)" "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_pg_user "$PG_BIN/initdb" -D "$dir/data" -U "$(pg_user)" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        {
            echo "listen_addresses = '127.0.0.1'"
            echo "port = $port"
            echo "unix_socket_directories = '$dir'"
            echo "max_connections = 300"
            echo "max_prepared_transactions = 300"
            echo "shared_buffers = ${CITUS_SHARED_BUFFERS:-256MB}"
            echo "work_mem = 64MB"
            echo "maintenance_work_mem = 256MB"
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
            echo "max_wal_size = 4GB"
            echo "jit = off"
            echo "log_min_messages = warning"
            if [ "$citus" = 1 ]; then
                echo "shared_preload_libraries = 'citus'"
                echo "citus.enable_unsafe_triggers = on"
            fi
        } | as_pg_user tee -a "$dir/data/postgresql.conf" >/dev/null
    fi
    as_pg_user "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 ||
        as_pg_user bash -c "ulimit -c unlimited 2>/dev/null; exec \"\$0\" \"\$@\"" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}

node_stop() {
    as_pg_user "$PG_BIN/pg_ctl" -D "$CITUS_DIR/$1/data" -m fast stop >/dev/null 2>&1 || true
}

# cluster_start: fresh coordinator, two workers and the single node; citus on
# the first three, with the workers added to the coordinator.
cluster_start() {
    cluster_stop
    as_root rm -rf "$CITUS_DIR"
    node_start coordinator "$COORD" 1
    node_start worker1 "$WORKER1" 1
    node_start worker2 "$WORKER2" 1
    node_start single "$SINGLE" 0
    for p in "$WORKER1" "$WORKER2"; do
        psql -X -q -v ON_ERROR_STOP=1 -p "$p" -c "SET client_min_messages = warning" -c "CREATE EXTENSION citus" >/dev/null
    done
    psql -X -q -v ON_ERROR_STOP=1 -p "$COORD" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION citus;
SELECT citus_set_coordinator_host('127.0.0.1', $COORD);
SELECT citus_add_node('127.0.0.1', $WORKER1);
SELECT citus_add_node('127.0.0.1', $WORKER2);
SQL
}

cluster_stop() {
    for n in coordinator worker1 worker2 single; do node_stop "$n"; done
}

# Installs lead_score into PG_BIN's PostgreSQL unless SKIP_INSTALL=1: into the
# system PostgreSQL through scripts/lib.sh, or, for a relocated copy of it
# (PG_BIN elsewhere), from a `cargo pgrx package` build copied into that tree.
install_lead_score() {
    [ "${SKIP_INSTALL:-0}" = 1 ] && return 0
    if [ "$PG_BIN" = /usr/lib/postgresql/15/bin ]; then
        install_extension
    else
        log "packaging lead_score (release) into $("$PG_BIN/pg_config" --pkglibdir)"
        (cd "$ROOT" && cargo pgrx package --pg-config "$PG_CONFIG" >/dev/null)
        local pkg=$ROOT/target/release/lead_score-pg15
        cp "$pkg"/usr/lib/postgresql/15/lib/lead_score.so "$("$PG_BIN/pg_config" --pkglibdir)/"
        cp "$pkg"/usr/share/postgresql/15/extension/lead_score* "$("$PG_BIN/pg_config" --sharedir)/extension/"
    fi
}

# psql on a node: on NODE_PORT [args...]
on() { local port=$1; shift; psql -X -v ON_ERROR_STOP=1 -qtA -p "$port" "$@"; }

# citus_setup_sql: the setup block of docs/citus.md, as SQL (the suites run it verbatim).
citus_setup_sql() {
    awk '/<!-- citus-setup:begin/ {on = 1; next} /<!-- citus-setup:end/ {on = 0} on && !/^```/' "$ROOT/docs/citus.md"
}

# The suites' checks: check NAME GOT WANT prints ok or FAILED under $MODE
# and counts failures; mismatches of the attachment 'default'.
failures=0
check() {
    if [ "$2" = "$3" ]; then
        echo "ok: $MODE: $1"
    else
        echo "FAILED: $MODE: $1: got '$2', want '$3'"
        failures=$((failures + 1))
    fi
}
mismatches() { on "$COORD" -c "SELECT count(*) FROM lead_score.check_consistency('default')"; }
