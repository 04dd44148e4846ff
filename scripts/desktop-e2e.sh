#!/usr/bin/env bash
# The desktop app's real-window end-to-end tests: builds the UI, tessera-desktop and
# tessera-server (debug), then runs the pytest suite tests/desktop/ (Selenium's WebDriver client)
# inside a private D-Bus session with gnome-keyring and an Xvfb screen of 1920x1080
# (scripts/with-session.sh). The app runs under tauri-driver → WebKitWebDriver; QR codes are put
# on the virtual screen with ImageMagick's `display` and scanned by the app from real pixels; a
# real tessera-server plays the server.
#
#   scripts/desktop-e2e.sh                    # build, then test (headless, ≤ 10 min for the tests)
#   TESSERA_SCREENSHOTS=1 scripts/desktop-e2e.sh   # also refresh docs/screenshots/*.png
#   TESSERA_E2E_ONLY=a,b scripts/desktop-e2e.sh    # some scenarios: pytest -k "test_a_ or test_b_"
#                                             # (the scenarios they need run first, as their setup)
#   TESSERA_E2E_NO_BUILD=1 …                  # use the binaries already built
#   TESSERA_E2E_USE_DISPLAY=1 …               # run on your $DISPLAY instead of a private Xvfb
#
# Ends with pytest's summary line (`N passed in …s`, or `… failed …`) and exits non-zero on any
# failure. Needs no stdin; every process it starts is stopped on exit (also on Ctrl-C and
# timeouts). pytest is Debian's (/usr/bin/python3, which sees python3-selenium and
# python3-pytest-timeout; a pyenv or venv python3 may not).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera-ci-target}"
SUITE_TIMEOUT="${TESSERA_E2E_TIMEOUT:-570}"   # the suite's own budget is 540 s; this is the backstop
PYTHON=/usr/bin/python3

fail() { echo "desktop-e2e: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

for tool in tauri-driver WebKitWebDriver xvfb-run dbus-run-session gnome-keyring-daemon \
  qrencode zbarimg oathtool display import convert "$PYTHON"; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (run scripts/install-deps.sh)"
done
"$PYTHON" -c 'import pytest, pytest_timeout, selenium' 2>/dev/null ||
  fail "$PYTHON lacks pytest, pytest-timeout or selenium (run scripts/install-deps.sh)"

if [ -z "${TESSERA_E2E_NO_BUILD:-}" ]; then
  if [ -f ui/package.json ]; then
    if [ ! -d ui/node_modules ]; then
      echo "desktop-e2e: npm ci in ui/"
      (cd ui && { npm ci --no-audit --no-fund --loglevel=error ||
                  npm install --no-audit --no-fund --loglevel=error; }) </dev/null
    fi
    echo "desktop-e2e: npm --prefix ui run build"
    npm --prefix ui run build --silent </dev/null
  fi
  # The default features serve the embedded ui/dist (custom-protocol), as a bundle does.
  echo "desktop-e2e: cargo build -p tessera-server -p tessera-desktop --locked (debug)"
  cargo build -p tessera-server --locked </dev/null
  cargo build -p tessera-desktop --locked </dev/null
  # The shared target dir may be rebuilt by others while we run: test our own link to it.
  mkdir -p "$CARGO_TARGET_DIR/desktop-e2e"
  ln -f "$CARGO_TARGET_DIR/debug/tessera-desktop" "$CARGO_TARGET_DIR/desktop-e2e/tessera-desktop" 2>/dev/null ||
    cp -f "$CARGO_TARGET_DIR/debug/tessera-desktop" "$CARGO_TARGET_DIR/desktop-e2e/tessera-desktop"
fi
if [ -z "${TESSERA_E2E_APP_BIN:-}" ] && [ -x "$CARGO_TARGET_DIR/desktop-e2e/tessera-desktop" ]; then
  TESSERA_E2E_APP_BIN="$CARGO_TARGET_DIR/desktop-e2e/tessera-desktop"
fi
export TESSERA_E2E_APP_BIN="${TESSERA_E2E_APP_BIN:-$CARGO_TARGET_DIR/debug/tessera-desktop}"
export TESSERA_E2E_SERVER_BIN="${TESSERA_E2E_SERVER_BIN:-$CARGO_TARGET_DIR/debug/tessera-server}"
[ -x "$TESSERA_E2E_APP_BIN" ] || fail "no app binary at $TESSERA_E2E_APP_BIN"
[ -x "$TESSERA_E2E_SERVER_BIN" ] || fail "no server binary at $TESSERA_E2E_SERVER_BIN"

if [ "${TESSERA_SCREENSHOTS:-}" = 1 ]; then
  TESSERA_E2E_SHOTS="$PWD/docs/screenshots"
  mkdir -p "$TESSERA_E2E_SHOTS"
else
  TESSERA_E2E_SHOTS="$(mktemp -d "${TMPDIR:-/tmp}/tessera-e2e-shots.XXXXXX")"
fi
export TESSERA_E2E_SHOTS

# Every process of this run carries this marker in its environment; the exit trap stops the
# ones still running (daemons that left the process group, such as gnome-keyring-daemon).
TESSERA_E2E_RUN_ID="e2e-$$-$(date +%s%N)"
export TESSERA_E2E_RUN_ID
log="$(mktemp "${TMPDIR:-/tmp}/tessera-e2e-log.XXXXXX")"
suite_pid=""

stop_marked() {
  local sig=$1 pid env
  for env in /proc/[0-9]*/environ; do
    pid=${env#/proc/}; pid=${pid%/environ}
    [ "$pid" = "$$" ] && continue
    if grep -qszx "TESSERA_E2E_RUN_ID=$TESSERA_E2E_RUN_ID" "$env" 2>/dev/null; then
      kill "-$sig" "$pid" 2>/dev/null || true
    fi
  done
}
cleanup() {
  if [ -n "$suite_pid" ]; then kill -TERM -- "-$suite_pid" 2>/dev/null || true; fi
  stop_marked TERM
  sleep 1
  stop_marked KILL
  rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${TESSERA_E2E_USE_DISPLAY:-}" ]; then
  # A private Xvfb even on a desktop: the app scans "the screen", which must be ours.
  unset DISPLAY WAYLAND_DISPLAY
fi
export GDK_BACKEND=x11 NO_AT_BRIDGE=1 GTK_A11Y=none

# TESSERA_E2E_ONLY=a,e → -k "test_a_ or test_e_" (a full test name or -k word works too).
select=()
if [ -n "${TESSERA_E2E_ONLY:-}" ]; then
  expr=""
  IFS=, read -ra only <<<"$TESSERA_E2E_ONLY"
  for x in "${only[@]}"; do
    x="${x// /}"
    [ -n "$x" ] || continue
    if [[ "$x" =~ ^[a-z]$ ]]; then x="test_${x}_"; fi
    expr="${expr:+$expr or }$x"
  done
  select=(-k "$expr")
fi

echo "desktop-e2e: running pytest tests/desktop ${select[*]} (screenshots: $TESSERA_E2E_SHOTS)"
set +e
# Its own process group (setsid) so that the trap can stop all of it at once; bounded by
# `timeout` in case anything hangs beyond the suite's own per-test and overall limits.
setsid -w timeout --kill-after=15 "$SUITE_TIMEOUT" \
  scripts/with-session.sh "$PYTHON" -u -m pytest tests/desktop "${select[@]}" \
  </dev/null > >(tee "$log") 2>&1 &
suite_pid=$!
wait "$suite_pid"
rc=$?
suite_pid=""
set -e
sleep 0.5  # let tee flush

# pytest's summary line: `==== 7 passed in 312.45s (0:05:12) ====`, `… 1 failed, 6 passed …`.
last="$(grep -E '^=+ .*[0-9]+ (passed|failed|errors?|skipped|deselected).* in [0-9.]+s.* =+$' "$log" | tail -n 1 || true)"
if [ -z "$last" ]; then
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "desktop-e2e: the suite exceeded ${SUITE_TIMEOUT}s and was stopped"
  else
    echo "desktop-e2e: the suite stopped without a result (exit $rc)"
  fi
  echo "0 passed, 1 failed"
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "desktop-e2e: the suite exceeded ${SUITE_TIMEOUT}s and was stopped"
  fi
  # The summary line stays the last line.
  [ "$(tail -n 1 "$log")" = "$last" ] || echo "$last"
  exit 1
fi
if [ "${TESSERA_SCREENSHOTS:-}" = 1 ]; then
  echo "desktop-e2e: screenshots in docs/screenshots/"
  echo "$last"
fi
