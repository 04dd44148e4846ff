#!/usr/bin/env bash
# A private PostgreSQL cluster for tests and benchmarks: no system service, no root service.
#
#   eval "$(scripts/pg-cluster.sh start DIR)"   # exports TESSERA_TEST_DATABASE_URL,
#                                               # TESSERA_TEST_PG_CA (and PG*)
#   scripts/pg-cluster.sh stop DIR
#
# `initdb` + `pg_ctl` on DIR, listening on a Unix socket in DIR and on a free loopback port,
# trust authentication for the local user only. PostgreSQL refuses to run as root, so as root
# the cluster runs as `nobody` (DIR is handed to it). Settings are the production defaults
# that matter for our guarantees (fsync and synchronous_commit on).
#
# TLS is on (`ssl=on`) with a throwaway CA made by the `openssl` command (DIR/tls/ca.pem,
# exported as TESSERA_TEST_PG_CA) and a server certificate it signed for 127.0.0.1 and
# localhost. TESSERA_TEST_DATABASE_URL says `sslmode=prefer` (encrypted, not verified: the
# suite's many connections need no CA); the TLS tests add `sslmode=verify-full` and the CA.
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
    tls="$dir/tls"
    if [ ! -f "$tls/server.pem" ]; then
      mkdir -p "$tls"
      ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
      openssl req -x509 "${ec[@]}" -days 30 -subj "/CN=Tessera test PostgreSQL CA" \
        -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
      openssl req "${ec[@]}" -subj "/CN=127.0.0.1" -keyout "$tls/server.key" \
        -out "$tls/server.csr" 2>/dev/null
      printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' \
        >"$tls/server.ext"
      openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
        -CAcreateserial -days 30 -extfile "$tls/server.ext" -out "$tls/server.pem" 2>/dev/null
      rm -f "$tls/ca.key" "$tls/server.csr" "$tls/server.ext" "$tls/ca.srl"
      # PostgreSQL reads the key only if its owner alone can.
      chmod 600 "$tls/server.key"
      if [ "$(id -u)" -eq 0 ]; then chown -R nobody: "$tls"; fi
    fi
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=on -c synchronous_commit=on -c ssl=on -c ssl_cert_file=$tls/server.pem -c ssl_key_file=$tls/server.key" \
      start >/dev/null || {
      cat "$dir/server.log" >&2
      exit 1
    }
    echo "$port" >"$dir/port"
    echo "export TESSERA_TEST_DATABASE_URL='postgres://$user@127.0.0.1:$port/postgres?sslmode=prefer'"
    echo "export TESSERA_TEST_PG_CA='$tls/ca.pem'"
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
