#!/usr/bin/env bash
# Sets up wasmci and runs the main job: a secrets scan of the bundled example project.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo
echo "== wasmci scan examples/leaky-app (planted, fake secrets; exit code 1 means findings) =="
set +e
node runner/dist/wasmci.cjs scan examples/leaky-app
code=$?
set -e
echo "== exit code $code =="
[[ $code -eq 0 || $code -eq 1 ]]
