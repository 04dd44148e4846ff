#!/usr/bin/env bash
# Runs every Tessera test on a Debian/Ubuntu machine, installing what it needs first:
# formatting and lints, the Rust tests of every crate (real SQLite files, the real Secret
# Service keyring, oathtool/zbarimg cross-checks, the server over HTTP), the UI component
# tests, and the desktop app's real-window end-to-end tests under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (inside a D-Bus session with gnome-keyring and Xvfb)"
scripts/with-session.sh cargo test --workspace --locked --no-fail-fast

if [ -f ui/package.json ]; then
  step "UI component tests (Vitest)"
  (cd ui && npm test --silent)
fi

if [ -x scripts/desktop-e2e.sh ]; then
  step "desktop app: real-window end-to-end tests (Xvfb + tauri-driver)"
  scripts/desktop-e2e.sh
fi

step "all tests passed"
