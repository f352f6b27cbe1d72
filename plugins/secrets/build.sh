#!/usr/bin/env bash
# Builds plugins/secrets/dist/secrets.wasm from source (Debian rustc + offline Debian crate registry).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
CARGO="${CARGO:-/usr/bin/cargo}"
export RUSTC="${RUSTC:-/usr/bin/rustc}"
if [ ! -x "$CARGO" ]; then echo "build.sh: $CARGO not found (apt-get install cargo rustc libstd-rust-dev-wasm32)" >&2; exit 1; fi
"$CARGO" build --release --target wasm32-wasi
src="target/wasm32-wasi/release/secrets.wasm"
[ -f "$src" ] || { echo "build.sh: $src was not produced" >&2; exit 1; }
mkdir -p dist
tmp="dist/.secrets.wasm.tmp"
if command -v wasm-opt >/dev/null 2>&1; then
  wasm-opt -O3 --strip-debug --strip-producers "$src" -o "$tmp"
elif command -v wasm-strip >/dev/null 2>&1; then
  cp "$src" "$tmp" && wasm-strip "$tmp"
else
  cp "$src" "$tmp"
fi
mv -f "$tmp" dist/secrets.wasm
echo "built $(pwd)/dist/secrets.wasm ($(stat -c %s dist/secrets.wasm) bytes)"
