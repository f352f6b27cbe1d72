/**
 * What happens to findings after the plugin: severity overrides from .wasmci.yml, the ignore file, the baseline,
 * a stable order, and the exit code from the --fail-on threshold. Inline allow comments are applied earlier
 * (scanner.ts), where the file's bytes are still at hand.
 */
import picomatch from 'picomatch';
import type { FailOn, SeverityOverride } from '../core/model.js';
import type { GitleaksIgnore } from './gitleaksignore.js';
import { legacyFingerprint } from './fingerprint.js';
import type { IgnoreList } from './ignore-file.js';
import { type Finding, type Severity, severityRank } from '../core/model.js';

export interface WorkflowInput {
  overrides: SeverityOverride[];
  ignore?: IgnoreList;
  /** `.gitleaksignore` entries, with the gitleaks id of each rule that has one (rule id -> gitleaks id). */
  gitleaksIgnore?: GitleaksIgnore;
  gitleaksIds?: ReadonlyMap<string, string>;
  baseline?: Set<string>;
}

export interface WorkflowOutput {
  findings: Finding[];
  suppressed: { baseline: number; ignored: number; disabled: number; gitleaksIgnored: number };
  /** Findings matched only by their pre-project-relative fingerprint (fingerprint.ts), by source. */
  legacy: { baseline: number; ignored: number };
}

function compileOverrides(list: SeverityOverride[]): ((f: Finding) => Severity | 'off' | undefined)[] {
  return list.map((o) => {
    const pathOk = o.path ? picomatch(o.path, { dot: true }) : () => true;
    return (f) => (pathOk(f.path) && (!o.rule || o.rule === f.ruleId) ? o.severity : undefined);
  });
}

export function compareFindings(a: Finding, b: Finding): number {
  return (
    (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) ||
    a.startLine - b.startLine ||
    a.startColumn - b.startColumn ||
    (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0) ||
    (a.commit?.sha ?? '').localeCompare(b.commit?.sha ?? '')
  );
}

export function applyWorkflow(findings: Finding[], w: WorkflowInput): WorkflowOutput {
  const overrides = compileOverrides(w.overrides);
  const suppressed = { baseline: 0, ignored: 0, disabled: 0, gitleaksIgnored: 0 };
  const legacy = { baseline: 0, ignored: 0 };
  const out: Finding[] = [];
  for (const f0 of findings) {
    let severity: Severity | 'off' = f0.severity;
    for (const o of overrides) severity = o(f0) ?? severity; // the last matching override wins
    if (severity === 'off') {
      suppressed.disabled++;
      continue;
    }
    const f = severity === f0.severity ? f0 : { ...f0, severity };
    const how = w.ignore?.match(f);
    if (how) {
      suppressed.ignored++;
      if (how === 'legacy') legacy.ignored++;
      continue;
    }
    if (w.gitleaksIgnore?.matches(f, w.gitleaksIds?.get(f.ruleId))) {
      suppressed.gitleaksIgnored++;
      continue;
    }
    if (w.baseline?.has(f.fingerprint)) {
      suppressed.baseline++;
      continue;
    }
    if (w.baseline?.has(legacyFingerprint(f))) {
      suppressed.baseline++;
      legacy.baseline++;
      continue;
    }
    out.push(f);
  }
  out.sort(compareFindings);
  return { findings: out, suppressed, legacy };
}

export function failing(findings: Finding[], failOn: FailOn): Finding[] {
  if (failOn === 'none') return [];
  const min = severityRank(failOn);
  return findings.filter((f) => severityRank(f.severity) >= min);
}
