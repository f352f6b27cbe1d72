// Adds up cargo's and vitest's results into the one plain line CI reads: "N passed, N failed[, N skipped]".
// A missing or unreadable result file counts as a failure, never as zero tests.
import { existsSync, readFileSync } from 'node:fs';

const [cargoFile, vitestFile] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
if (cargoFile && existsSync(cargoFile)) {
  for (const m of readFileSync(cargoFile, 'utf8').matchAll(
    /test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/g,
  )) {
    passed += Number(m[1]);
    failed += Number(m[2]);
    skipped += Number(m[3]);
  }
}
try {
  const v = JSON.parse(readFileSync(vitestFile, 'utf8'));
  passed += v.numPassedTests;
  failed += v.numFailedTests;
  skipped += v.numPendingTests + v.numTodoTests;
  // A test file that failed to load has no tests to count: count the file.
  failed += v.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
} catch (err) {
  console.error(`test-summary: no vitest results (${err.message})`);
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
