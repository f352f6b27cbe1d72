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
# One wasm-opt however the build is started: Debian's (scripts/apt-packages.txt) before any other on PATH. `npm run
# build` puts node_modules/.bin first (binaryen 131 from npm, via assemblyscript) and `bash build.sh` found Debian's
# 108: the two wrote different plugins (15 bytes of the code section), each reproducible. WASM_OPT overrides.
WASM_OPT="${WASM_OPT:-}"
if [ -z "$WASM_OPT" ]; then
  if [ -x /usr/bin/wasm-opt ]; then WASM_OPT=/usr/bin/wasm-opt; else WASM_OPT="$(command -v wasm-opt || true)"; fi
fi
if [ -n "$WASM_OPT" ]; then
  # Stripped, not optimised: wasm-opt -O3's inlining built functions of up to 35 KB of wasm, which V8's TurboFan
  # compiles again at every run (TurboFan CPU per `scan --jobs 1` of the bench corpus 0.9 s -> 0.3-0.4 s without it;
  # the whole scan pinned to one core 3.48 -> 3.25 s, median of 5). LLVM's opt-level "s" output is what runs.
  "$WASM_OPT" --strip-debug --strip-producers "$src" -o "$tmp"
elif command -v wasm-strip >/dev/null 2>&1; then
  cp "$src" "$tmp" && wasm-strip "$tmp"
else
  cp "$src" "$tmp"
fi
# Pre-initialised: the built-in rules and their keyword automaton are built once here, not in every plugin instance
# (preinit.mjs; Node, which the runner's build needs anyway).
NODE="${NODE:-node}"
command -v "$NODE" >/dev/null 2>&1 || { echo "build.sh: node not found (Node >= 20 pre-initialises the plugin: apt-get install nodejs, or set NODE)" >&2; exit 1; }
"$NODE" preinit.mjs "$tmp" "$tmp"
mv -f "$tmp" dist/secrets.wasm
echo "built $(pwd)/dist/secrets.wasm ($(stat -c %s dist/secrets.wasm) bytes)"
