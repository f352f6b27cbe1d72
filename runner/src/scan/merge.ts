/**
 * Combining the JSON reports of a sharded scan (one per CI job) into one result: findings, skipped files and
 * errors united (findings de-duplicated by fingerprint and location), stats summed. Reports are validated here,
 * at the edge, since they are files from other jobs.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import type { Finding, ScanResult } from '../core/model.js';
import { compareFindings } from './workflow.js';

export interface LoadedReport {
  result: ScanResult;
  redacted: boolean;
}

/** Reads and validates a wasmci JSON report; `what` names it in errors ("report", "baseline"). */
export async function loadJsonReport(file: string, what = 'report'): Promise<LoadedReport> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code ? `${what} ${file} cannot be read (${code})` : `${what} ${file} is not JSON: ${(err as Error).message}`,
      'pass a JSON report written with --report json=FILE',
    );
  }
  const r = parsed as Partial<ScanResult> & { redacted?: unknown };
  const ok =
    r &&
    typeof r === 'object' &&
    r.tool?.name === 'wasmci' &&
    Array.isArray(r.findings) &&
    Array.isArray(r.skipped) &&
    Array.isArray(r.errors) &&
    typeof r.stats?.files === 'number' &&
    typeof r.plugin?.name === 'string' &&
    typeof r.target?.mode === 'string';
  if (!ok)
    throw new UsageError(
      `${what} ${file} is not a wasmci JSON report`,
      'pass a JSON report written with --report json=FILE',
    );
  for (const [i, f] of (r.findings as unknown[]).entries()) {
    const x = f as Partial<Finding>;
    if (typeof x?.fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(x.fingerprint))
      throw new UsageError(`${what} ${file}: findings[${i}] has no valid "fingerprint"`);
    if (typeof x.path !== 'string' || typeof x.startLine !== 'number')
      throw new UsageError(`${what} ${file}: findings[${i}] is malformed`);
  }
  return { result: r as ScanResult, redacted: r.redacted !== false };
}

export function mergeResults(reports: LoadedReport[]): { result: ScanResult; redacted: boolean } {
  const first = reports[0];
  if (!first) throw new UsageError('merge-reports needs at least one input report');
  const seen = new Set<string>();
  const findings: Finding[] = [];
  const stats = { ...first.result.stats, files: 0, bytes: 0, durationMs: 0 };
  const suppressed = { baseline: 0, ignored: 0, allowed: 0, disabled: 0 };
  for (const { result: r } of reports) {
    if (r.plugin.name !== first.result.plugin.name || r.target.mode !== first.result.target.mode) {
      throw new UsageError('the reports come from different scans (plugin or mode differ) and cannot be merged');
    }
    for (const f of r.findings) {
      const key = `${f.fingerprint}\0${f.startLine}\0${f.startColumn}\0${f.commit?.sha ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push(f);
    }
    stats.files += r.stats.files;
    stats.bytes += r.stats.bytes;
    stats.durationMs = Math.max(stats.durationMs, r.stats.durationMs);
    if (r.stats.startedAt < stats.startedAt) stats.startedAt = r.stats.startedAt;
    if (r.stats.finishedAt > stats.finishedAt) stats.finishedAt = r.stats.finishedAt;
    for (const k of Object.keys(suppressed) as (keyof typeof suppressed)[]) suppressed[k] += r.suppressed?.[k] ?? 0;
  }
  findings.sort(compareFindings);
  const { shard: _shard, ...target } = first.result.target;
  return {
    result: {
      ...first.result,
      target,
      findings,
      skipped: reports.flatMap((r) => r.result.skipped),
      errors: reports.flatMap((r) => r.result.errors),
      stats,
      suppressed,
    },
    // Merged output is redacted if any input was: the secrets are not there to un-redact.
    redacted: reports.some((r) => r.redacted),
  };
}
