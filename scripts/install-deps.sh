#!/usr/bin/env bash
# Installs everything Tessera's build, demo and tests need on a fresh Debian/Ubuntu machine.
# Idempotent: packages already present are skipped quickly. Needs root or sudo for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  # toolchain basics and C libraries for -sys crates
  build-essential pkg-config libssl-dev curl ca-certificates
  # TLS tests: certificates made and checked by an independent stack; the systemd unit check
  openssl systemd
  # independent cross-checks used by the tests
  # (python3-aiosmtpd: the real SMTP server the email-factor tests send to)
  oathtool zbar-tools qrencode python3 python3-cryptography libsodium23 sqlite3 python3-aiosmtpd
  # a real Secret Service for the keyring tests
  dbus dbus-x11 gnome-keyring libsecret-tools
  # headless display and screenshots
  xvfb xauth imagemagick
  # Japanese glyphs for the pages and the app in Japanese (screenshots, real windows)
  fonts-ipafont-gothic
  # Tauri 2 (desktop app)
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libgtk-3-dev
  # screen capture (xcap)
  libpipewire-0.3-dev libclang-dev clang libwayland-dev libgbm-dev libegl-dev
  libxcb-randr0-dev libxcb-shm0-dev
  # real-window end-to-end tests and web pages (the desktop tests: pytest + Selenium's client)
  webkit2gtk-driver chromium chromium-driver python3 python3-pytest python3-pytest-timeout
  python3-selenium
  # load generator for the server benchmark
  wrk
  # the PostgreSQL engine's tests and benchmarks: a private cluster (scripts/pg-cluster.sh)
  postgresql postgresql-client
)
EXTRA_APT=(${TESSERA_EXTRA_APT:-})

missing=()
for p in "${APT_PACKAGES[@]}" "${EXTRA_APT[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${#missing[@]} apt packages: ${missing[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: installing Rust with rustup (https://rustup.rs)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  export PATH="$HOME/.cargo/bin:$PATH"
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

if ! command -v node >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi

if [ -f ui/package.json ] && [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ] 2>/dev/null; then
  echo "install-deps: npm ci in ui/"
  # npm ci refuses a lock file without every platform's optional packages (the Tauri CLI's
  # binaries), which registries that only mirror some platforms leave out; fall back to a
  # lock-respecting npm install then.
  (cd ui && { npm ci --no-audit --no-fund --loglevel=error 2>/dev/null ||
              npm install --no-audit --no-fund --loglevel=error; })
fi
# The desktop crate embeds ui/dist at compile time (tauri.conf.json: frontendDist).
if [ -f ui/package.json ] && [ -d ui/node_modules ]; then
  echo "install-deps: npm run build in ui/"
  (cd ui && npm run build --silent >/dev/null)
fi

# The real-window tests drive the app through tauri-driver (WebKitWebDriver underneath).
if [ -d src-tauri ] && grep -q '^tauri = ' Cargo.toml 2>/dev/null && ! command -v tauri-driver >/dev/null 2>&1; then
  echo "install-deps: cargo install tauri-driver"
  cargo install tauri-driver --locked --quiet
fi
echo "install-deps: done"
