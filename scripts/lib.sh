# Shared by demo.sh, test.sh and bench/: installs what is missing, builds the
# extension and runs a throwaway PostgreSQL 15 cluster that touches no other.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_CONFIG=/usr/bin/pg_config
PG_BIN=/usr/lib/postgresql/15/bin
PGRX_VERSION=0.18.0
APT_PACKAGES=(postgresql-15 postgresql-client-15 postgresql-server-dev-15 clang libclang-dev sudo build-essential pkg-config python3 python3-pip)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The unprivileged user clusters run as (initdb refuses root).
pg_user() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }

as_pg_user() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# ensure_venv DIR PIP_ARG...: a Python virtualenv in DIR with what `pip install
# PIP_ARG...` installs (package specs, or -r FILE), made again when those
# arguments or the files they name change. Installs python3-venv if missing.
# Only a DIR this function made (it has a .requirements stamp) is ever removed:
# into another existing virtualenv (a VENV of the user's own) it only installs.
ensure_venv() {
    local venv=$1 wanted a
    shift
    wanted=$({ printf '%s\n' "$@"; for a in "$@"; do if [ -f "$a" ]; then cat "$a"; fi; done; } | sha1sum | cut -c1-12)
    if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements" 2>/dev/null)" = "$wanted" ]; then
        return 0
    fi
    if [ -e "$venv" ] && [ ! -f "$venv/.requirements" ]; then
        if [ ! -x "$venv/bin/pip" ]; then
            log "$venv exists and is not a virtualenv: remove it, or set another directory"
            return 1
        fi
        log "installing into $venv: pip install $*"
        "$venv/bin/pip" install -q "$@" || return 1
        echo "$wanted" >"$venv/.requirements"
        return 0
    fi
    if ! python3 -c "import ensurepip" 2>/dev/null; then
        log "installing python3-venv"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    log "creating $venv: pip install $*"
    rm -rf "$venv"
    python3 -m venv "$venv" && "$venv/bin/pip" install -q "$@" || return 1
    echo "$wanted" >"$venv/.requirements"
}

ensure_deps() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if ! command -v cargo >/dev/null; then
        echo "cargo not found: install Rust with rustup first" >&2
        exit 1
    fi
    # scripts/test.sh lints with rustfmt and clippy.
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        log "installing the rustfmt and clippy components"
        rustup component add rustfmt clippy >/dev/null
    fi
    if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
        log "installing cargo-pgrx $PGRX_VERSION (a few minutes, once)"
        cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
    fi
    if ! grep -qs "pg15" "${PGRX_HOME:-$HOME/.pgrx}/config.toml"; then
        log "initialising cargo-pgrx against the system PostgreSQL 15"
        cargo pgrx init --pg15 "$PG_CONFIG" >/dev/null
    fi
}

# Builds and installs the extension into the system PostgreSQL 15.
# PROFILE=release (default) or debug; FEATURES=mock_clock for the test suite.
install_extension() {
    local profile=${PROFILE:-release}
    log "building and installing lead_score ($profile${FEATURES:+, $FEATURES})"
    local flag=()
    [ "$profile" = release ] && flag=(--release)
    [ -n "${FEATURES:-}" ] && flag+=(--features "$FEATURES")
    (cd "$ROOT" && as_root env "PATH=$PATH" "HOME=$HOME" "CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}" \
        "RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}" \
        cargo pgrx install "${flag[@]}" --pg-config "$PG_CONFIG" >/dev/null)
}

# start_cluster DIR PORT: a private cluster listening only on a socket in DIR.
start_cluster() {
    local dir=$1 port=$2
    export PGHOST=$dir PGPORT=$port PGUSER=$(pg_user) PGDATABASE=postgres
    as_root mkdir -p "$dir"
    as_root chown "$(pg_user)" "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        log "creating a throwaway cluster in $dir"
        as_pg_user "$PG_BIN/initdb" -D "$dir/data" -U "$(pg_user)" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        cat <<CONF | as_pg_user tee -a "$dir/data/postgresql.conf" >/dev/null
listen_addresses = ''
port = $port
unix_socket_directories = '$dir'
shared_buffers = 1GB
work_mem = 64MB
maintenance_work_mem = 512MB
max_parallel_workers_per_gather = 2
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 4GB
jit = off
log_min_messages = warning
CONF
    fi
    # Settings added since a cluster was made (its folder outlives the runs that
    # made it): the isolation tests prepare transactions. Takes a restart.
    if ! as_pg_user grep -q '^max_prepared_transactions = 10$' "$dir/data/postgresql.conf"; then
        echo "max_prepared_transactions = 10" | as_pg_user tee -a "$dir/data/postgresql.conf" >/dev/null
        as_pg_user "$PG_BIN/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    fi
    if ! as_pg_user "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        # RUST_BACKTRACE=1 so the tests prove no error a client sees carries a Rust backtrace.
        as_pg_user env RUST_BACKTRACE=1 "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
    fi
}

stop_cluster() {
    local dir=$1
    as_pg_user "$PG_BIN/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
}

psql_q() { psql -X -v ON_ERROR_STOP=1 -q "$@"; }
