#!/usr/bin/env bash
# Installs the Debian packages Callscribe needs, when they are missing:
#   chromium                        real browser for the end-to-end tests (driven by playwright-core)
#   pocketsphinx pocketsphinx-en-us the on-premise speech engine and its US English model
#   postgresql-15 util-linux        a real PostgreSQL for the scale-out tests (started by the tests, as user postgres via runuser)
# Idempotent and quick when everything is present. Needs root or passwordless sudo.
set -euo pipefail

packages=(chromium pocketsphinx pocketsphinx-en-us libpocketsphinx3 postgresql-15 util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
