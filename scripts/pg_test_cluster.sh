#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests.
#
#   pg_test_cluster.sh start <state_dir>   initdb into a fresh /tmp folder, start on a free port
#                                          on 127.0.0.1 and a Unix socket in that folder, create
#                                          role `strata` (a random password) and database
#                                          `strata_test`; writes <state_dir>/conninfo.env
#   pg_test_cluster.sh stop <state_dir>    stop it (immediately) and remove its folder
#   pg_test_cluster.sh kill <state_dir>    SIGKILL the server, as a crash would (tests)
#   pg_test_cluster.sh restart <state_dir> start it again after a kill, same port and data
#
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` OS user
# (created by Debian's package). The cluster favours speed over durability against power loss
# (fsync=off): a killed server still recovers every committed transaction from its WAL, which
# the operating system holds.
set -euo pipefail

cmd="${1:-}"
state="${2:-}"
if [[ -z "$cmd" || -z "$state" ]]; then
  echo "usage: $0 start|stop|kill|restart <state_dir>" >&2
  exit 2
fi
mkdir -p "$state"
state="$(cd "$state" && pwd)"
env_file="$state/conninfo.env"

bindir=/usr/lib/postgresql/15/bin
if [[ ! -x "$bindir/pg_ctl" ]]; then
  if command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/pg_ctl" ]]; then
    bindir="$(pg_config --bindir)"
  else
    echo "pg_test_cluster: PostgreSQL 15 server programs not found in $bindir (install postgresql-15: make bootstrap)" >&2
    exit 1
  fi
fi

as_owner() {  # runs a command as the cluster's OS user
  if [[ $(id -u) -eq 0 ]]; then
    if ! id postgres >/dev/null 2>&1; then
      echo "pg_test_cluster: running as root, but there is no 'postgres' OS user to run the server as" >&2
      exit 1
    fi
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

read_env() {
  [[ -f "$env_file" ]] || { echo "pg_test_cluster: no cluster recorded in $env_file" >&2; exit 1; }
  # shellcheck disable=SC1090
  source "$env_file"
}

stop_recorded() {
  [[ -f "$env_file" ]] || return 0
  # shellcheck disable=SC1090
  source "$env_file"
  if [[ -n "${STRATA_TEST_PG_DATA:-}" && -d "$STRATA_TEST_PG_DATA" ]]; then
    as_owner "$bindir/pg_ctl" -D "$STRATA_TEST_PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [[ -n "${STRATA_TEST_PG_DIR:-}" && "$STRATA_TEST_PG_DIR" == /tmp/strata-pg.* ]] && rm -rf "$STRATA_TEST_PG_DIR"
  rm -f "$env_file"
}

start_server() {  # start_server <data> <dir> <port> <log>
  as_owner "$bindir/pg_ctl" -D "$1" -l "$4" -w -t 60 \
    -o "-p $3 -k $2 -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=100" \
    start >/dev/null
}

case "$cmd" in
  start)
    stop_recorded  # a cluster left behind by an interrupted test run
    dir="$(mktemp -d /tmp/strata-pg.XXXXXX)"
    chmod 755 "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    data="$dir/data"
    log="$dir/server.log"
    if ! as_owner "$bindir/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
      echo "pg_test_cluster: initdb failed:" >&2
      cat "$dir/initdb.log" >&2
      exit 1
    fi
    password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
    # A free port: try a few at random in a private range; the server refuses a taken one.
    port=""
    for _ in $(seq 1 20); do
      candidate=$((40000 + RANDOM % 20000))
      if start_server "$data" "$dir" "$candidate" "$log" 2>/dev/null; then
        port="$candidate"
        break
      fi
    done
    if [[ -z "$port" ]]; then
      echo "pg_test_cluster: the server did not start; its log ($log):" >&2
      tail -n 30 "$log" >&2 || true
      exit 1
    fi
    as_owner "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
      -c "CREATE ROLE strata LOGIN CREATEDB CREATEROLE PASSWORD '$password'" \
      -c "CREATE DATABASE strata_test OWNER strata" >/dev/null
    cat >"$env_file" <<EOF
STRATA_TEST_PG_HOST=127.0.0.1
STRATA_TEST_PG_PORT=$port
STRATA_TEST_PG_SOCKET=$dir
STRATA_TEST_PG_USER=strata
STRATA_TEST_PG_PASSWORD=$password
STRATA_TEST_PG_DBNAME=strata_test
STRATA_TEST_PG_DATA=$data
STRATA_TEST_PG_DIR=$dir
STRATA_TEST_PG_BIN=$bindir
EOF
    echo "pg_test_cluster: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (socket $dir)"
    ;;
  stop)
    stop_recorded
    ;;
  kill)
    read_env
    pid="$(head -n1 "$STRATA_TEST_PG_DATA/postmaster.pid")"
    # The postmaster and every backend it started, at once, as a machine crash would.
    children="$(pgrep -P "$pid" || true)"
    kill -KILL "$pid" $children 2>/dev/null || true
    for _ in $(seq 1 100); do
      alive=0
      for p in $pid $children; do kill -0 "$p" 2>/dev/null && alive=1; done
      ((alive)) || break
      sleep 0.05
    done
    ;;
  restart)
    read_env
    rm -f "$STRATA_TEST_PG_DATA/postmaster.pid"
    start_server "$STRATA_TEST_PG_DATA" "$STRATA_TEST_PG_DIR" "$STRATA_TEST_PG_PORT" "$STRATA_TEST_PG_DIR/server.log"
    ;;
  *)
    echo "usage: $0 start|stop|kill|restart <state_dir>" >&2
    exit 2
    ;;
esac
