#!/usr/bin/env bash
# Runs every Tessera test on a Debian/Ubuntu machine, installing what it needs first:
# formatting and lints, the Rust tests of every crate (real SQLite files, the real Secret
# Service keyring, oathtool/zbarimg cross-checks, the server over HTTP on both of its engines —
# SQLite and a private PostgreSQL cluster —, two server instances on one database), the UI
# component tests, and the desktop app's real-window end-to-end tests under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "PostgreSQL: a private cluster for the second engine (scripts/pg-cluster.sh)"
PG_DIR="$(mktemp -d /tmp/tessera-pg.XXXXXX)"
trap 'scripts/pg-cluster.sh stop "$PG_DIR" >/dev/null 2>&1 || true; rm -rf "$PG_DIR"' EXIT
eval "$(scripts/pg-cluster.sh start "$PG_DIR")"

step "cargo test (D-Bus session with gnome-keyring, Xvfb; the server's suite and the two-instance test on PostgreSQL)"
scripts/with-session.sh cargo test --workspace --locked --no-fail-fast

step "the server's suite again on SQLite (one test body, two engines)"
env -u TESSERA_TEST_DATABASE_URL cargo test -p tessera-server --locked --no-fail-fast

if [ -f ui/package.json ]; then
  step "UI component tests (Vitest)"
  (cd ui && npm test --silent)
fi

if [ -x scripts/desktop-e2e.sh ]; then
  step "desktop app: real-window end-to-end tests (Xvfb + tauri-driver)"
  scripts/desktop-e2e.sh
fi

step "all tests passed"
