#!/usr/bin/env bash
# Load test of TOTP validation with one-time use on (tessera-server), on each engine side by
# side in one run.
#
# For each setting it starts release tessera-server process(es) on a fresh database (TOTP
# period 1 s so that USERS users sustain the rate: each user is validated at most once per time
# step, so every request is a real, first-time validation), runs the load generator
# (crates/server/examples/load.rs) for SECS seconds with CONNS requests in flight spread over
# the instances, and prints req/s, p50, p99, and the CPU time per validation of the server
# processes and (for PostgreSQL) of the database's processes. Everything shares the machine.
#
# Settings: sqlite-<synchronous>:<group_commit_max> (e.g. sqlite-full:256), pg1 (one instance on
# PostgreSQL, synchronous_commit=on), pg2 (two instances on one PostgreSQL database).
#
#   scripts/bench-server.sh                          # sqlite-full:256 pg1 pg2
#   SETTINGS="sqlite-full:256 sqlite-full:1" SECS=10 scripts/bench-server.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
USERS="${USERS:-12000}"
CONNS="${CONNS:-256}"
SECS="${SECS:-20}"
SETTINGS="${SETTINGS:-sqlite-full:256 pg1 pg2}"

cargo build --release -p tessera-server --bin tessera-server --example load
BIN="$CARGO_TARGET_DIR/release/tessera-server"
LOAD="$CARGO_TARGET_DIR/release/examples/load"

PG_DIR=""
cleanup() {
  if [ -n "$PG_DIR" ]; then scripts/pg-cluster.sh stop "$PG_DIR" >/dev/null 2>&1 || true; rm -rf "$PG_DIR"; fi
}
trap cleanup EXIT
ensure_pg() {
  if [ -z "$PG_DIR" ]; then
    PG_DIR="$(mktemp -d /tmp/tessera-bench-pg.XXXXXX)"
    eval "$(scripts/pg-cluster.sh start "$PG_DIR")"
  fi
}
pg_database() {
  local name="bench_$RANDOM$RANDOM"
  psql -X -q -d "$TESSERA_TEST_DATABASE_URL" -c "CREATE DATABASE $name"
  local base="${TESSERA_TEST_DATABASE_URL%%\?*}"
  echo "${base%/*}/$name${TESSERA_TEST_DATABASE_URL#"$base"}"
}
cpu_ticks() { # total utime+stime of the given pids
  local t=0 p
  for p in "$@"; do
    if [ -r "/proc/$p/stat" ]; then t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); fi
  done
  echo "$t"
}
pg_pids() { if [ -n "$PG_DIR" ]; then pgrep -u "$(stat -c %U "$PG_DIR")" postgres | tr '\n' ' '; fi; }

start_server() { # dir db key extra-env... ; prints the pid, writes dir/out
  local dir="$1" db="$2" key="$3"
  shift 3
  env TESSERA_SERVER_TOTP__PERIOD=1 TESSERA_SERVER_LOG=warn "$@" \
    "$BIN" --listen 127.0.0.1:0 --database "$db" --key-file "$key" >"$dir/out" 2>"$dir/err" &
  local pid=$!
  for _ in $(seq 200); do grep -qs '^tessera-server listening on' "$dir/out" && [ "$(wc -l <"$dir/out")" -ge 2 ] && break; sleep 0.1; done
  echo "$pid"
}

for setting in $SETTINGS; do
  dir="$(mktemp -d)"
  pids=()
  urls=()
  case "$setting" in
    sqlite-*)
      s="${setting#sqlite-}"
      sync="${s%%:*}"
      group="${s##*:}"
      mkdir "$dir/a"
      pids+=("$(start_server "$dir/a" "$dir/db.sqlite" "$dir/master.key" \
        TESSERA_SERVER_STORAGE__SYNCHRONOUS="$sync" TESSERA_SERVER_STORAGE__GROUP_COMMIT_MAX="$group")")
      label="SQLite synchronous=$sync group_commit_max=$group"
      ;;
    pg1 | pg2)
      ensure_pg
      db="$(pg_database)"
      n="${setting#pg}"
      for i in $(seq "$n"); do
        mkdir "$dir/$i"
        pids+=("$(start_server "$dir/$i" "$db" "$dir/master.key" TESSERA_SERVER_DATABASE__POOL_SIZE=32)")
      done
      label="PostgreSQL, $n instance(s), synchronous_commit=$(psql -X -tA -d "$TESSERA_TEST_DATABASE_URL" -c 'show synchronous_commit')"
      ;;
    *) echo "unknown setting $setting" >&2; exit 2 ;;
  esac
  token=""
  for o in "$dir"/*/out; do
    urls+=("$(sed -n 1p "$o" | sed 's/^tessera-server listening on //')")
    t="$(sed -n 3p "$o")"
    if [ -n "$t" ] && [ -z "$token" ]; then token="$t"; fi
  done
  url_list="$(IFS=,; echo "${urls[*]}")"
  echo "== $label users=$USERS connections=$CONNS seconds=$SECS"
  "$LOAD" --url "$url_list" --token "$token" --users "$USERS" --connections "$CONNS" --seconds "$SECS" --period 1 \
    >"$dir/load" 2>&1 &
  lpid=$!
  # CPU time (clock ticks) during the measured phase only.
  while ! grep -qs '^setup' "$dir/load"; do
    if ! kill -0 "$lpid" 2>/dev/null; then cat "$dir/load"; exit 1; fi
    sleep 0.2
  done
  pgp="$(pg_pids)"
  # shellcheck disable=SC2086
  s0="$(cpu_ticks "${pids[@]}")"; d0="$(cpu_ticks $pgp)"
  wait "$lpid"
  # shellcheck disable=SC2086
  s1="$(cpu_ticks "${pids[@]}")"; d1="$(cpu_ticks $pgp)"
  cat "$dir/load"
  requests="$(sed -n 's/^requests=\([0-9]*\).*/\1/p' "$dir/load")"
  hz="$(getconf CLK_TCK)"
  awk -v c=$((s1 - s0)) -v d=$((d1 - d0)) -v hz="$hz" -v n="${requests:-0}" -v s="$SECS" \
    'BEGIN { if (n > 0) printf "server_cpu_us_per_request=%.0f database_cpu_us_per_request=%.0f server_cores_used=%.2f database_cores_used=%.2f\n", c / hz * 1e6 / n, d / hz * 1e6 / n, c / hz / s, d / hz / s }'
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  # (The servers were started in command substitutions: not children of this shell to wait for.)
  for p in "${pids[@]}"; do
    kill "$p"
    while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
  done
  rm -rf "$dir"
done
