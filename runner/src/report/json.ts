/** wasmci's own JSON report: the ScanResult, secrets redacted unless asked. Also the baseline and merge input. */
import type { ScanResult } from '../core/model.js';
import type { ReportOptions } from './index.js';
import { redactIn, redactSecret } from './redact.js';

export function redactResult(result: ScanResult, redact: boolean): ScanResult {
  if (!redact) return result;
  return {
    ...result,
    findings: result.findings.map((f) => ({
      ...f,
      secret: redactSecret(f.secret),
      match: redactIn(f.match, f.secret),
    })),
  };
}

export function renderJson(result: ScanResult, opts: ReportOptions): string {
  return `${JSON.stringify({ ...redactResult(result, opts.redact), redacted: opts.redact }, null, 2)}\n`;
}
