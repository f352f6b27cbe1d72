/**
 * `--baseline`: a previous JSON report. Findings whose fingerprint it already holds are known and do not count,
 * so a team can adopt the scanner on an old repository and fail only on new secrets. Works with redacted reports:
 * it reads fingerprints, never secrets.
 */
import { loadJsonReport } from './merge.js';

export async function loadBaseline(file: string): Promise<Set<string>> {
  const { result } = await loadJsonReport(file, 'baseline');
  return new Set(result.findings.map((f) => f.fingerprint));
}
