#!/usr/bin/env bash
# Tessera's main job, end to end on this machine: the desktop app and the server bundled with it.
#
#   ./scripts/demo.sh                      # on a desktop (X11, or Wayland with XWayland)
#   xvfb-run -n 99 -s "-screen 0 1920x1080x24 -ac" ./scripts/demo.sh   # no display: view it with
#                                          # `DISPLAY=:99 import -window root shot.png` or x11vnc
#   TESSERA_DEMO_HEADLESS=1 ./scripts/demo.sh   # (or CI=true) a bounded smoke run that exits itself
#
# It installs what it needs (scripts/install-deps.sh), builds tessera-server and tessera-desktop
# (debug: on 2 cores a debug build reaches the first run minutes sooner than a release build,
# and the app is just as usable), starts tessera-server on http://127.0.0.1:7878, creates the
# user `alice` with a demo password and an enrollment offer, puts the enrollment QR and a sample
# otpauth QR on the screen, prints what to do, and launches the app. Closing the app stops the
# server and the QR windows.
#
# State: a fresh demo directory per run (a temp dir, removed at exit): the app starts at its
# first-run screen and the server with an empty database every time, so every run shows the
# whole journey. TESSERA_DEMO_DIR=~/.local/share/tessera-demo keeps server, vault and
# enrollment across runs instead (the admin token is kept there, mode 0600).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

headless=""
if [ "${TESSERA_DEMO_HEADLESS:-}" = 1 ] || [ "${CI:-}" = true ]; then headless=1; fi
SMOKE_SECS="${TESSERA_DEMO_SMOKE_SECS:-20}"

say() { printf '\033[1m%s\033[0m\n' "$*"; }

# --- no display: explain, or (headless) re-run inside a private Xvfb + D-Bus session --------
if [ -z "${DISPLAY:-}" ]; then
  if [ -n "$headless" ]; then
    if [ -z "${TESSERA_DEMO_IN_XVFB:-}" ]; then
      bash scripts/install-deps.sh
      export TESSERA_DEMO_IN_XVFB=1
      # with-session.sh: a private D-Bus session with gnome-keyring, and Xvfb at 1920x1080.
      exec scripts/with-session.sh "$0" "$@" </dev/null
    fi
  else
    cat >&2 <<'EOF'
demo: there is no display ($DISPLAY is empty), and the demo shows a window and QR codes.
Run it under a virtual X server instead:

    xvfb-run -n 99 -s "-screen 0 1920x1080x24 -ac" ./scripts/demo.sh

(-n 99: display :99; -ac: other programs of yours may connect to it) and look at it from
another terminal, with a screenshot or through VNC:

    DISPLAY=:99 import -window root shot.png       # then open shot.png
    x11vnc -display :99 -localhost -nopw -forever  # apt-get install x11vnc; then vncviewer localhost:0

Or run the bounded, self-ending smoke run:  TESSERA_DEMO_HEADLESS=1 ./scripts/demo.sh
EOF
    exit 2
  fi
fi

if [ -z "${TESSERA_DEMO_IN_XVFB:-}" ]; then bash scripts/install-deps.sh; fi
export PATH="$HOME/.cargo/bin:$PATH"

# --- build (debug) ----------------------------------------------------------------------------
say "==> building tessera-server and tessera-desktop (debug)"
cargo build --quiet -p tessera-server </dev/null
cargo build --quiet -p tessera-desktop </dev/null
TARGET="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')"
SERVER_BIN="$TARGET/debug/tessera-server"
APP_BIN="$TARGET/debug/tessera-desktop"

# --- the demo directory and cleanup --------------------------------------------------------------
if [ -n "${TESSERA_DEMO_DIR:-}" ]; then
  demo="$TESSERA_DEMO_DIR"; keep=1
  mkdir -p "$demo"; chmod 700 "$demo"
else
  demo="$(mktemp -d "${TMPDIR:-/tmp}/tessera-demo.XXXXXX")"; keep=""
fi
mkdir -p "$demo/server" "$demo/app/config"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -z "$keep" ]; then rm -rf "$demo"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the server ---------------------------------------------------------------------------------
port=7878
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  say "demo: 127.0.0.1:7878 is taken; using 127.0.0.1:$port"
fi
url="http://127.0.0.1:$port"
say "==> starting tessera-server on $url (data in $demo/server)"
TESSERA_SERVER_DEVICE__ORIGIN="$url" TESSERA_SERVER_LOG=warn \
  "$SERVER_BIN" --listen "127.0.0.1:$port" --database "$demo/server/tessera-server.db" \
  >"$demo/server/stdout.log" 2>"$demo/server/server.log" </dev/null &
pids+=($!)
server_pid=$!
token=""
for _ in $(seq 1 150); do
  token="$(grep -m1 '^tsm_' "$demo/server/stdout.log" 2>/dev/null || true)"
  if [ -n "$token" ] || grep -q 'listening on' "$demo/server/stdout.log" 2>/dev/null; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$demo/server/server.log" >&2; exit 1; }
  sleep 0.2
done
if [ -n "$token" ]; then
  (umask 077; printf '%s\n' "$token" >"$demo/server/admin-token")
elif [ -f "$demo/server/admin-token" ]; then
  token="$(cat "$demo/server/admin-token")"
else
  echo "demo: the server printed no admin token and none is saved in $demo/server" >&2; exit 1
fi
for _ in $(seq 1 100); do curl -fs -o /dev/null "$url/signin" && break; sleep 0.1; done

api() { # METHOD PATH [JSON] → body; the status code goes to $demo/last-status
  local out
  out="$(curl -s -w '\n%{http_code}' -X "$1" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "$url$2")"
  printf '%s' "${out##*$'\n'}" >"$demo/last-status"
  printf '%s' "${out%$'\n'*}"
}
json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

alice_pw="tessera-demo-alice"
api POST /api/v2/users "{\"username\":\"alice\",\"password\":\"$alice_pw\"}" >/dev/null
case "$(cat "$demo/last-status")" in
  201) ;;
  409) say "demo: user alice exists already (kept from an earlier run)" ;;
  *) echo "demo: creating alice failed (HTTP $(cat "$demo/last-status"))" >&2; exit 1 ;;
esac
offer="$(api POST /device/v1/enroll/offers '{"user":"alice"}')"
[ "$(cat "$demo/last-status")" = 201 ] || { echo "demo: enrollment offer failed: $offer" >&2; exit 1; }
enroll_link="$(printf '%s' "$offer" | json link)"

# --- QR codes on the screen -----------------------------------------------------------------------
secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
sample_uri="otpauth://totp/Example%20Co:alice@example.com?secret=$secret&issuer=Example%20Co"
qrencode -o "$demo/enroll-qr.png" -s 5 -m 3 "$enroll_link"
qrencode -o "$demo/account-qr.png" -s 6 -m 3 "$sample_uri"
display -title "Tessera demo: enrollment QR (app: Devices → Scan)" -geometry +1240+60 \
  "$demo/enroll-qr.png" </dev/null >/dev/null 2>&1 &
pids+=($!)
display -title "Tessera demo: account QR (app: Add → Scan the screen)" -geometry +1240+600 \
  "$demo/account-qr.png" </dev/null >/dev/null 2>&1 &
pids+=($!)

cat <<EOF

$(say "Tessera demo")
  server           $url   (admin token in $demo/server/admin-token)
  sign-in page     $url/signin
  demo user        alice / $alice_pw
  enrollment link  $enroll_link
                   (single use, valid 10 minutes; its QR is on the screen, top right)
  sample account   $sample_uri
                   (QR on the screen, bottom right; \`oathtool --totp -b $secret\` prints its code)
  display          $DISPLAY   (a screenshot: DISPLAY=$DISPLAY import -window root shot.png)
  app data         $demo/app   $( [ -n "$keep" ] && echo "(kept)" || echo "(removed when the app exits)")

$(say "What to do")
  1. The app opens at its first-run screen: choose a passphrase (or keep the key in the keyring).
  2. Add → "Scan the screen": pick "Example Co: alice@example.com" → the account and its code
     appear; Copy puts the code on the clipboard (cleared after 30 s). Compare with oathtool.
  3. Devices → "Scan the screen": pick the enrollment → the app enrolls with $url as alice
     (its key is pinned to this server; the paired TOTP account appears too).
  4. Open $url/signin in a browser (e.g. chromium), sign in as alice / $alice_pw:
     the page shows a number and the app opens an approval window → type that number and
     Approve → the page says "Signed in". Try a wrong number, Deny, or "This wasn't me" too.
  5. QR login: on the sign-in page choose "sign in with a QR code"; in the app use the QR-login
     scan → it shows who asks (origin, IP) → Approve → the browser is signed in.
  6. Lock (the header's lock button): codes disappear until you unlock with your passphrase.
  Close the app to stop the server.

EOF

# --- the app ------------------------------------------------------------------------------------
export TESSERA_VAULT="$demo/app/vault.sqlite3" TESSERA_CONFIG_DIR="$demo/app/config"
export TESSERA_POLICY="$demo/app/policy.json"   # absent: unmanaged (put a policy here to try managed mode)

if [ -n "$headless" ]; then
  say "==> headless smoke run: the app runs for ${SMOKE_SECS}s on the virtual screen"
  "$APP_BIN" </dev/null >"$demo/app.log" 2>&1 &
  app_pid=$!
  pids+=("$app_pid")
  sleep "$SMOKE_SECS"
  shot="${TMPDIR:-/tmp}/tessera-demo-screenshot.png"
  import -window root "$shot" 2>/dev/null && say "screenshot of the virtual screen: $shot"
  ok=1
  kill -0 "$app_pid" 2>/dev/null || { echo "demo: the app exited early:" >&2; tail -20 "$demo/app.log" >&2; ok=""; }
  code="$(curl -s -o /dev/null -w '%{http_code}' "$url/signin")"
  [ "$code" = 200 ] || { echo "demo: /signin answered $code" >&2; ok=""; }
  qr="$(zbarimg --raw -q "$demo/enroll-qr.png" || true)"
  [ "$qr" = "$enroll_link" ] || { echo "demo: the enrollment QR does not decode to the link" >&2; ok=""; }
  if [ -n "$ok" ]; then say "demo smoke run: OK (server up, QR codes shown, app running)"; exit 0; fi
  exit 1
fi

say "==> launching the app ($APP_BIN)"
set +e
"$APP_BIN" </dev/null
rc=$?
set -e
say "demo: the app exited ($rc); stopping the server"
exit 0
