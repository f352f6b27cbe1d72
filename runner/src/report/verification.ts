/**
 * How a finding's live-verification outcome (`scan --verify`) appears in each report, in one place so every format
 * says the same words: `active`, `inactive`, or `unknown: REASON`. Absent when the scan did not verify. Plugin text
 * (reason, provider) was escaped when it entered the runner (scan/verify.ts).
 */
import type { Finding } from '../core/model.js';

/** `active` | `inactive` | `unknown: timeout`; undefined without verification. */
export function verificationText(f: Finding): string | undefined {
  const v = f.verification;
  if (!v) return undefined;
  return v.status === 'unknown' && v.reason ? `unknown: ${v.reason}` : v.status;
}

/** The text report's line: `verified active (GitHub)`. */
export function verificationLine(f: Finding): string | undefined {
  const t = verificationText(f);
  return t && `verified ${t}${f.verification?.provider ? ` (${f.verification.provider})` : ''}`;
}

/** SARIF result properties. */
export function sarifVerification(f: Finding): Record<string, string> {
  const v = f.verification;
  if (!v) return {};
  return {
    verification: v.status,
    ...(v.reason ? { verificationReason: v.reason } : {}),
    ...(v.provider ? { verificationProvider: v.provider } : {}),
  };
}

/** GitLab vulnerability details entry. */
export function gitlabVerification(f: Finding): Record<string, { type: 'text'; name: string; value: string }> {
  const t = verificationText(f);
  return t ? { verification: { type: 'text', name: 'Verification', value: t } } : {};
}
