#!/usr/bin/env bash
# Runs the native crate tests (host target) and checks that the benchmark example compiles.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
export RUSTC="${RUSTC:-/usr/bin/rustc}"
export RUSTDOC="${RUSTDOC:-/usr/bin/rustdoc}"
CARGO="${CARGO:-/usr/bin/cargo}"
"$CARGO" test --release "$@"
# The benchmark example needs the feature `bench` (its probes are left out of the plugin): prove it still compiles.
exec "$CARGO" check --release --features bench --example bench
