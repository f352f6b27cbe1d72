/**
 * GitLab Code Quality report (a subset of the Code Climate issue format). GitLab shows it in merge requests on
 * every tier, so it is the free-tier way to surface findings where reviewers look. The description never holds
 * the secret: Code Quality has no notion of sensitive fields and shows everything to every reader.
 */
import type { ScanResult, Severity } from '../core/model.js';
import { occurrenceKeys } from './ids.js';
import type { ReportOptions } from './index.js';
import { isSecurityRule, rulesById } from './rules.js';

const SEVERITY: Record<Severity, string> = {
  critical: 'blocker',
  high: 'critical',
  medium: 'major',
  low: 'minor',
  info: 'info',
};

export function renderCodeQuality(results: readonly ScanResult[], _opts: ReportOptions): string {
  const findings = results.flatMap((r) => r.findings);
  const rule = new Map(
    results.flatMap((r) => {
      const byId = rulesById(r);
      return r.findings.map((f) => [f, byId.get(f.ruleId)] as const);
    }),
  );
  const keys = occurrenceKeys(findings);
  const issues = findings.map((f, i) => ({
    type: 'issue',
    check_name: f.ruleId,
    // The merge request widget shows the description only: where to rotate goes into it (the docs URL, short).
    description: `${f.description} (${f.ruleId})${rule.get(f)?.docs ? ` · rotate: ${rule.get(f)?.docs}` : ''}`,
    ...(rule.get(f)?.remediation ? { content: { body: rule.get(f)?.remediation } } : {}),
    ...(isSecurityRule(rule.get(f)?.tags ?? f.tags) ? { categories: ['Security'] } : {}),
    severity: SEVERITY[f.severity],
    // GitLab compares fingerprints between the source and target branch to tell new issues from fixed ones.
    fingerprint: keys[i],
    engine_name: f.plugin.name,
    location: { path: f.path, lines: { begin: f.startLine, end: f.endLine } },
  }));
  return `${JSON.stringify(issues, null, 2)}\n`;
}
