/** The rule catalogue reports list (SARIF rules, JUnit test cases): the plugin's `describe`, plus any rule a finding names that `describe` left out. */
import type { RuleInfo, ScanResult } from '../core/model.js';

/** Tags that mark a rule as a security rule (GitHub's `security-severity`, Code Quality's Security category). */
const SECURITY_TAGS = new Set(['secret', 'secrets', 'security', 'credential']);

export function isSecurityRule(tags: readonly string[]): boolean {
  return tags.some((t) => SECURITY_TAGS.has(t.toLowerCase()));
}

/** CWE-798, Use of Hard-coded Credentials: the weakness every secrets finding is an instance of. */
export const SECRETS_CWE = { id: '798', name: 'CWE-798', url: 'https://cwe.mitre.org/data/definitions/798.html' };

/** What to do about a leaked credential when the rule says nothing more specific. */
export const GENERIC_REMEDIATION =
  'Remove it from the code. If it is a real credential, revoke and rotate it first: it stays in the git history.';

/** Each rule of a scan's catalogue by id (remediation, docs, gitleaks id for the findings that name it). */
export function rulesById(result: ScanResult): Map<string, RuleInfo> {
  return new Map(ruleCatalogue(result).map((r) => [r.id, r]));
}

/** Rules in `describe` order, then undeclared ones in the order findings name them. */
export function ruleCatalogue(result: ScanResult): RuleInfo[] {
  const rules = new Map<string, RuleInfo>();
  for (const r of result.plugin.rules) if (!rules.has(r.id)) rules.set(r.id, r);
  for (const f of result.findings) {
    if (!rules.has(f.ruleId))
      rules.set(f.ruleId, { id: f.ruleId, description: f.description, severity: f.severity, tags: f.tags });
  }
  return [...rules.values()];
}
