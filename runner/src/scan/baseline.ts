/**
 * `--baseline`: a previous JSON report. Findings whose fingerprint it already holds are known and do not count,
 * so a team can adopt the scanner on an old repository and fail only on new secrets. Works with redacted reports:
 * it reads fingerprints, never secrets.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';

export async function loadBaseline(file: string): Promise<Set<string>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code ? `baseline ${file} cannot be read (${code})` : `baseline ${file} is not JSON: ${(err as Error).message}`,
      'pass a JSON report written earlier with --report json=FILE',
    );
  }
  const findings = (parsed as { findings?: unknown })?.findings;
  if (!Array.isArray(findings)) {
    throw new UsageError(
      `baseline ${file} has no "findings" array`,
      'pass a JSON report written with --report json=FILE',
    );
  }
  const out = new Set<string>();
  findings.forEach((f, i) => {
    const fp = (f as { fingerprint?: unknown })?.fingerprint;
    if (typeof fp !== 'string' || !/^[0-9a-f]{64}$/.test(fp)) {
      throw new UsageError(`baseline ${file}: findings[${i}] has no valid "fingerprint"`);
    }
    out.add(fp);
  });
  return out;
}
