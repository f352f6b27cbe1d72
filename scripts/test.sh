#!/usr/bin/env bash
# Sets up, builds and runs every test: the plugin crates' native tests and the runner's vitest suite.
# Ends with one plain line "N passed, N failed" (what CI reads) and a non-zero exit on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test || { echo "0 passed, 1 failed"; exit 1; }

out=$(mktemp -d)
status=0
for t in plugins/*/test.sh; do
  [[ -f $t ]] || continue
  bash "$t" 2>&1 | tee -a "$out/cargo.txt" || status=1
done
npx vitest run --reporter=default --reporter=json --outputFile="$out/vitest.json" || status=1
node scripts/test-summary.mjs "$out/cargo.txt" "$out/vitest.json" || status=1
rm -rf "$out"
exit $status
