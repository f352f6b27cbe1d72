#!/usr/bin/env bash
# Installs what wasmci needs on a Debian/Ubuntu machine and builds it. Idempotent: skips what is present.
#   bash scripts/setup.sh          build dependencies, npm packages, runner bundle, secrets plugin
#   bash scripts/setup.sh --test   also the packages the test suite needs
set -euo pipefail
cd "$(dirname "$0")/.."

lists=(scripts/apt-packages.txt plugins/*/apt-packages.txt)
[[ "${1:-}" == "--test" ]] && lists+=(scripts/apt-packages-test.txt)
mapfile -t wanted < <(cat "${lists[@]}" 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lockfile changed since the last install (it wipes node_modules).
stamp=node_modules/.wasmci-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

echo "setup: building runner and plugins"
npm run --silent build
