#!/usr/bin/env bash
# Push round trip across two tessera-server instances on one PostgreSQL database
# (tests/benches/push_instances.rs): a private PostgreSQL cluster, the release binary, then the
# bench. Arguments go to the bench: [devices] [rounds] [in_flight] (defaults 1000 2000 1).
#
#   scripts/bench-push-instances.sh 1000 2000 1
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release -p tessera-server --bin tessera-server
PG_DIR="$(mktemp -d /tmp/tessera-bench-pg.XXXXXX)"
trap 'scripts/pg-cluster.sh stop "$PG_DIR" >/dev/null 2>&1 || true; rm -rf "$PG_DIR"' EXIT
eval "$(scripts/pg-cluster.sh start "$PG_DIR")"
# Each device holds a connection; each instance's pool and listener hold some more.
ulimit -n 65536 2>/dev/null || true
cargo bench -p tessera-e2e --bench push_instances -- "$@"
