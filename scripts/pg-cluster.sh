#!/usr/bin/env bash
# A private PostgreSQL cluster for tests and benchmarks: no system service, no root service.
#
#   eval "$(scripts/pg-cluster.sh start DIR)"   # exports TESSERA_TEST_DATABASE_URL (and PG*)
#   scripts/pg-cluster.sh stop DIR
#
# `initdb` + `pg_ctl` on DIR, listening on a Unix socket in DIR and on a free loopback port,
# trust authentication for the local user only. PostgreSQL refuses to run as root, so as root
# the cluster runs as `nobody` (DIR is handed to it). Settings are the production defaults
# that matter for our guarantees (fsync and synchronous_commit on).
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi

bin=""
for v in 17 16 15; do
  if [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then bin="/usr/lib/postgresql/$v/bin"; break; fi
done
if [ -z "$bin" ]; then
  echo "pg-cluster: PostgreSQL 15 or newer is not installed (apt-get install postgresql)" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ "$(id -u)" -eq 0 ]; then chown nobody: "$dir"; chmod 700 "$dir"; fi
    user="$(as_owner id -un)"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U "$user" -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
      }
    fi
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=on -c synchronous_commit=on" \
      start >/dev/null || {
      cat "$dir/server.log" >&2
      exit 1
    }
    echo "$port" >"$dir/port"
    echo "export TESSERA_TEST_DATABASE_URL='postgres://$user@127.0.0.1:$port/postgres'"
    echo "export PGHOST='$dir' PGPORT='$port' PGUSER='$user' PGDATABASE=postgres"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
