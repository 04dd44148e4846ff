#!/usr/bin/env bash
# Tessera's main job, until the desktop app lands: a guided CLI session on a fresh vault.
# Installs what it needs, builds `tessera`, then: makes a QR code with qrencode (as a website
# would show), scans it into an encrypted vault, shows the code next to oathtool's, imports a
# Google Authenticator export, and writes and test-restores an encrypted backup.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --quiet --release -p tessera-cli
TESSERA="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')/release/tessera"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'demo passphrase\n' >"$work/pass"
export TESSERA_VAULT="$work/vault.sqlite3" TESSERA_PASSPHRASE_FILE="$work/pass"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
uri="otpauth://totp/Example%20Co:alice@example.com?secret=$secret&issuer=Example%20Co"
qrencode -o "$work/enroll.png" -s 6 "$uri"
say "tessera scan enroll.png          # a QR code made by qrencode, as a website shows it"
"$TESSERA" scan "$work/enroll.png"
say "tessera code 'Example Co'"
"$TESSERA" code "Example Co"
say "oathtool --totp -b $secret       # an independent implementation agrees"
oathtool --totp -b "$secret"

say "tessera add --issuer Bank --name bob --type hotp --counter 0 --digits 8 --secret -"
echo GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ | "$TESSERA" add --issuer Bank --name bob --type hotp --counter 0 --digits 8 --secret -
say "tessera code Bank                # HOTP: shows a code and advances the counter"
"$TESSERA" code Bank

say "tessera export google.txt --format migration  # Google Authenticator's export format"
"$TESSERA" export "$work/google.txt" --format migration
head -c 100 "$work/google.txt"; echo …
printf 'backup password\n' >"$work/bpass"
say "tessera export backup.tsbk --format backup --password-file bpass --verify"
"$TESSERA" export "$work/backup.tsbk" --format backup --password-file "$work/bpass" --verify
say "tessera list"
"$TESSERA" list
printf '\nThe vault (%s) holds no readable secret or account name:\n' "$TESSERA_VAULT"
if grep -c -e "$secret" -e "alice" "$TESSERA_VAULT"; then echo "(unexpected!)"; else echo "grep finds nothing."; fi
