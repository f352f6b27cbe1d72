/**
 * wasmci's own JSON report: the ScanResult, secrets redacted unless asked. Also the baseline and merge input.
 * Written with logJson (log.ts): `--format json` puts it in the CI log, and plugin and tree text must not carry
 * raw C1 or bidi controls or a `##[` command there; the parsed value is the same.
 */
import { logJson } from '../log.js';
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
  return `${logJson({ ...redactResult(result, opts.redact), redacted: opts.redact }, 2)}\n`;
}
