#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring (a real Secret
# Service for the keyring tests) and, when no display is set, a virtual X display (Xvfb).
# Usage: scripts/with-session.sh CMD [ARGS…]
set -euo pipefail
if [ "$#" -eq 0 ]; then echo "usage: $0 CMD [ARGS…]" >&2; exit 2; fi

if [ -z "${TESSERA_IN_SESSION:-}" ]; then
  export TESSERA_IN_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi

# Inside the D-Bus session: a throw-away keyring directory, and gnome-keyring started with a
# fixed password so that it creates and unlocks a "login" collection without prompting (an
# empty password makes it ask through a GUI prompter, which fails headless).
if [ -z "${TESSERA_KEEP_XDG_DATA:-}" ]; then
  XDG_DATA_HOME=$(mktemp -d "${TMPDIR:-/tmp}/tessera-session.XXXXXX")
  export XDG_DATA_HOME
  trap 'rm -rf "$XDG_DATA_HOME"' EXIT
fi
keyring_env=$(printf 'tessera-test-session' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null || true)
# shellcheck disable=SC2163 # the daemon prints VAR=value lines
while IFS= read -r line; do [ -n "$line" ] && export "$line"; done <<<"$keyring_env"
export TESSERA_TEST_KEYRING=1

if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null 2>&1; then
  xvfb-run -a -s "-screen 0 1920x1080x24" "$@"; exit $?
fi
"$@"
