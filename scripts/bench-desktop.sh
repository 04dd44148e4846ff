#!/usr/bin/env bash
# Desktop benchmarks: criterion (list of 1,000 accounts, one 1920×1080 screen decode, capture +
# decode on the Xvfb screen) and the real window (cold start to first code, memory with 1,000
# accounts). Release builds. Figures: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked -p tessera-desktop -p tessera-cli
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')"
# (Debian's /usr/bin/python3: it sees python3-selenium, which a pyenv or venv python3 may not.)
scripts/with-session.sh /usr/bin/python3 tests/desktop/bench.py "$target/release/tessera-desktop" "$target/release/tessera" "${RUNS:-5}"
scripts/with-session.sh cargo bench --locked -p tessera-desktop --bench desktop -- --noplot
