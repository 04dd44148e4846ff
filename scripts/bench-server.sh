#!/usr/bin/env bash
# Load test of TOTP validation with one-time use on (tessera-server).
#
# Starts a release tessera-server per durability setting on a fresh database (TOTP period 1 s so
# that USERS users sustain the rate: each user is validated at most once per time step, so every
# request is a real, first-time validation), runs the load generator
# (crates/server/examples/load.rs) for SECS seconds with CONNS requests in flight, and prints
# req/s, p50, p99. Server and generator share the machine.
#
#   scripts/bench-server.sh                 # all four settings
#   SETTINGS="full:256" SECS=10 scripts/bench-server.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
USERS="${USERS:-12000}"
CONNS="${CONNS:-256}"
SECS="${SECS:-20}"
SETTINGS="${SETTINGS:-normal:256 full:256 normal:1 full:1}"

cargo build --release -p tessera-server --bin tessera-server --example load
BIN="$CARGO_TARGET_DIR/release/tessera-server"
LOAD="$CARGO_TARGET_DIR/release/examples/load"

for setting in $SETTINGS; do
  sync="${setting%%:*}"
  group="${setting##*:}"
  dir="$(mktemp -d)"
  TESSERA_SERVER_TOTP__PERIOD=1 \
  TESSERA_SERVER_STORAGE__SYNCHRONOUS="$sync" \
  TESSERA_SERVER_STORAGE__GROUP_COMMIT_MAX="$group" \
  TESSERA_SERVER_LOG=warn \
    "$BIN" --listen 127.0.0.1:0 --database "$dir/db.sqlite" >"$dir/out" 2>"$dir/err" &
  pid=$!
  for _ in $(seq 100); do [ "$(wc -l <"$dir/out")" -ge 3 ] && break; sleep 0.1; done
  url="$(sed -n 1p "$dir/out" | sed 's/^tessera-server listening on //')"
  token="$(sed -n 3p "$dir/out")"
  echo "== synchronous=$sync group_commit_max=$group users=$USERS connections=$CONNS seconds=$SECS"
  "$LOAD" --url "$url" --token "$token" --users "$USERS" --connections "$CONNS" --seconds "$SECS" --period 1 \
    >"$dir/load" 2>&1 &
  lpid=$!
  # CPU time (clock ticks) the server spends during the measured phase only.
  while ! grep -qs '^setup' "$dir/load"; do sleep 0.2; done
  cpu0="$(awk '{print $14+$15}' "/proc/$pid/stat")"
  wait "$lpid"
  cpu1="$(awk '{print $14+$15}' "/proc/$pid/stat")"
  cat "$dir/load"
  requests="$(sed -n 's/^requests=\([0-9]*\).*/\1/p' "$dir/load")"
  hz="$(getconf CLK_TCK)"
  awk -v c=$((cpu1 - cpu0)) -v hz="$hz" -v n="${requests:-0}" -v s="$SECS" \
    'BEGIN { if (n > 0) printf "server_cpu_us_per_request=%.0f server_cores_used=%.2f\n", c / hz * 1e6 / n, c / hz / s }'
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  kill "$pid"
  wait "$pid" || true
  rm -rf "$dir"
done
