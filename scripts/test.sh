#!/usr/bin/env bash
# Run the whole test suite (called by `make test`; extra arguments go to pytest).
#
#   1. Install what the browser tests need when it is missing and we can: the
#      Debian package `chromium` (as root, with apt-get); likewise `ffmpeg`, which
#      decodes voice notes (their tests skip, saying why, without it).
#   2. Run the suite on SQLite, the embedded default.
#   3. With CI=true or ZALOAN_TEST_POSTGRES=1: start a throwaway PostgreSQL 15
#      server on a free loopback port, run the whole suite again on it (the
#      browser tests there: the flows in tests/browser/conftest.py ON_POSTGRES),
#      and stop and remove the server whatever the outcome.
#
# With two cores or more the two runs go side by side, each on its own
# database and its own temporary folder, each line of their output marked
# with its engine ("sqlite |", "postgresql |"); ZALOAN_TEST_SERIAL=1 runs
# them one after the other, unmarked.
#
# The exit status is non-zero when either run fails (pytest's "no tests ran"
# included). Under CI=true a missing browser fails the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
CHROMIUM=${ZALOAN_CHROMIUM:-/usr/bin/chromium}

say() { printf '\n== %s\n' "$*"; }

ensure_chromium() {
    [ -x "$CHROMIUM" ] && return 0
    local marker="$ROOT/.venv/.chromium-install-tried"
    if [ "$CHROMIUM" != /usr/bin/chromium ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null \
        || [ -e "$marker" ]; then
        return 0  # the browser tests say why they skip (or fail under CI=true)
    fi
    touch "$marker"  # try once: a machine without the package is not asked again
    say "Installing Chromium (Debian package chromium) for the browser tests"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
        >"$ROOT/.venv/chromium-install.log" 2>&1; then
        echo "Could not install chromium; see .venv/chromium-install.log"
    fi
}

ensure_ffmpeg() {
    command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null && return 0
    local marker="$ROOT/.venv/.ffmpeg-install-tried"
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || [ -e "$marker" ]; then
        return 0  # the voice note tests say why they skip
    fi
    touch "$marker"  # try once, as for chromium
    say "Installing ffmpeg (Debian package ffmpeg) for the voice note tests"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg; } \
        >"$ROOT/.venv/ffmpeg-install.log" 2>&1; then
        echo "Could not install ffmpeg; see .venv/ffmpeg-install.log"
    fi
}

run_pytest() {
    local status=0
    "$PY" -m pytest -q -rs "$@" || status=$?
    # 5 is "no tests were collected": a suite that runs nothing has not passed.
    return "$status"
}

# One run in the background, its output marked with its name; its own --basetemp under $RUNS_TMP, so two
# runs never share (or clean up) each other's temporary folders. Sets $! to the run's process.
RUNS_TMP=""
run_marked() {
    local name=$1; shift
    (
        set +e +o pipefail
        "$PY" -m pytest -q -rs --basetemp="$RUNS_TMP/$name" "$@" 2>&1 | sed -u "s/^/$name | /"
        exit "${PIPESTATUS[0]}"
    ) &
}

# --- A throwaway PostgreSQL server --------------------------------------------------

PG_DIR=""
PG_AS=()

pg_bin() {
    local name=$1 dir
    for dir in /usr/lib/postgresql/15/bin /usr/local/bin; do
        [ -x "$dir/$name" ] && { echo "$dir/$name"; return; }
    done
    command -v "$name" || { echo "PostgreSQL's $name was not found" >&2; return 1; }
}

stop_postgres() {
    [ -n "$PG_DIR" ] || return 0
    if [ -e "$PG_DIR/data/postmaster.pid" ]; then
        "${PG_AS[@]}" "$(pg_bin pg_ctl)" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_DIR"
    PG_DIR=""
}

start_postgres() {
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/zaloan-pg.XXXXXX")
    if [ "$(id -u)" = 0 ]; then
        # PostgreSQL refuses to run as root: the server and its files belong to `postgres`.
        chown postgres: "$PG_DIR"
        PG_AS=(runuser -u postgres --)
    else
        PG_AS=(env)
    fi
    PG_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${PG_AS[@]}" "$(pg_bin initdb)" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        --no-sync >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log"; return 1; }
    # Durability settings off: the server lives for one test run.
    "${PG_AS[@]}" "$(pg_bin pg_ctl)" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || { cat "$PG_DIR/server.log"; return 1; }
    "${PG_AS[@]}" "$(pg_bin createdb)" -h 127.0.0.1 -p "$PG_PORT" -U postgres zaloan_test
    export ZALOAN_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/zaloan_test"
}

# A process and everything it started (a run's subshell, its pytest and sed), children first.
kill_tree() {
    local child
    for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
    kill "$1" 2>/dev/null || true
}

stop_all() {
    local pid
    for pid in $(jobs -p); do kill_tree "$pid"; done
    [ -z "$RUNS_TMP" ] || rm -rf "$RUNS_TMP"
    stop_postgres
}

trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- The runs ------------------------------------------------------------------------

ensure_chromium
ensure_ffmpeg
started=$(date +%s)

sqlite_status=0
postgres_status=skipped
with_postgres=$([ "${CI:-}" = true ] || [ "${ZALOAN_TEST_POSTGRES:-}" = 1 ] && echo yes || echo no)

if [ "$with_postgres" = yes ] && [ "${ZALOAN_TEST_SERIAL:-}" != 1 ] && [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ]; then
    say "Tests on SQLite and on PostgreSQL 15 (throwaway server), side by side"
    postgres_status=0
    RUNS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/zaloan-tests.XXXXXX")
    if start_postgres; then
        (unset ZALOAN_TEST_DATABASE_URL; run_marked sqlite "$@"; wait $!) &
        sqlite_run=$!
        run_marked postgresql "$@"
        postgres_run=$!
        wait "$sqlite_run" || sqlite_status=$?
        wait "$postgres_run" || postgres_status=$?
    else
        echo "Could not start PostgreSQL."
        postgres_status=1
        say "Tests on SQLite"
        (unset ZALOAN_TEST_DATABASE_URL; run_pytest "$@") || sqlite_status=$?
    fi
    stop_postgres
else
    say "Tests on SQLite"
    (unset ZALOAN_TEST_DATABASE_URL; run_pytest "$@") || sqlite_status=$?
    if [ "$with_postgres" = yes ]; then
        say "Tests on PostgreSQL 15 (throwaway server)"
        postgres_status=0
        if start_postgres; then
            run_pytest "$@" || postgres_status=$?
        else
            echo "Could not start PostgreSQL."
            postgres_status=1
        fi
        stop_postgres
    fi
fi

say "SQLite: $([ "$sqlite_status" = 0 ] && echo passed || echo "FAILED ($sqlite_status)");" \
    "PostgreSQL: $(case $postgres_status in 0) echo passed;; skipped) echo "not run (set CI=true or ZALOAN_TEST_POSTGRES=1)";; *) echo "FAILED ($postgres_status)";; esac);" \
    "$(( $(date +%s) - started )) s"
[ "$sqlite_status" = 0 ] && { [ "$postgres_status" = 0 ] || [ "$postgres_status" = skipped ]; }
