#!/usr/bin/env bash
# Runs the native crate tests (host target).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
export RUSTC="${RUSTC:-/usr/bin/rustc}"
export RUSTDOC="${RUSTDOC:-/usr/bin/rustdoc}"
exec "${CARGO:-/usr/bin/cargo}" test --release "$@"
