/**
 * SARIF 2.1.0, for GitHub code scanning (`github/codeql-action/upload-sarif`) and any SARIF viewer. One run per
 * scan result; the rule catalogue comes from the plugin's `describe`. `partialFingerprints` carry the wasmci
 * fingerprint so GitHub keeps one alert per finding across line moves. Messages never hold the secret.
 */
import { sarifVerification } from './verification.js';
import type { Finding, RuleInfo, ScanResult, Severity } from '../core/model.js';
import { occurrenceKeys } from './ids.js';
import type { ReportOptions } from './index.js';
import { redactIn } from './redact.js';
import { GENERIC_REMEDIATION, isSecurityRule, ruleCatalogue, SECRETS_CWE } from './rules.js';

const SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'note',
};

/** GitHub's scale: over 9 critical, 7-8.9 high, 4-6.9 medium, 0.1-3.9 low. */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
  info: '0.0',
};

/** A relative URI reference for a repository path: each segment escaped (spaces, #, ?, %), the slashes kept. */
function uri(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/** Markdown's inline syntax characters escaped: plugin text shows as written, never as a link or markup. */
function md(s: string): string {
  return s.replace(/[\\`*_{}[\]()<>#+!|~]/g, (c) => `\\${c}`);
}

/**
 * A rule's help (how to revoke or rotate, and the vendor's page) as text and markdown; security rules get
 * `security-severity` and the CWE-798 tags GitHub reads (`external/cwe/cwe-798`).
 */
function rule(r: RuleInfo) {
  const security = isSecurityRule(r.tags);
  const tags = security ? [...r.tags, 'security', SECRETS_CWE.name, `external/cwe/cwe-${SECRETS_CWE.id}`] : r.tags;
  const fix = r.remediation ?? (security ? GENERIC_REMEDIATION : undefined);
  return {
    id: r.id,
    name: r.id,
    shortDescription: { text: r.description },
    fullDescription: { text: r.description },
    ...(fix || r.docs
      ? {
          help: {
            text: [fix, r.docs && `Documentation: ${r.docs}`].filter(Boolean).join('\n'),
            markdown: [fix && md(fix), r.docs && `[Documentation](<${r.docs}>)`].filter(Boolean).join('\n\n'),
          },
        }
      : {}),
    ...(r.docs ? { helpUri: r.docs } : {}),
    defaultConfiguration: { level: LEVEL[r.severity] },
    properties: {
      tags: [...new Set(tags)],
      ...(security ? { 'security-severity': SECURITY_SEVERITY[r.severity] } : {}),
    },
  };
}

function result(f: Finding, key: string, ruleIndex: number, opts: ReportOptions) {
  return {
    ruleId: f.ruleId,
    ruleIndex,
    level: LEVEL[f.severity],
    message: { text: `${f.description} (${f.ruleId})` },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: uri(f.path) },
          region: {
            startLine: f.startLine,
            startColumn: f.startColumn,
            endLine: f.endLine,
            // SARIF's endColumn is one past the last character; the findings model's is the last character.
            endColumn: f.endColumn + 1,
            snippet: { text: opts.redact ? redactIn(f.match, f.secret) : f.match },
          },
        },
      },
    ],
    // The same secret twice in one file shares a fingerprint; GitHub would fold the two alerts into one.
    partialFingerprints: { 'wasmciFingerprint/v1': key },
    properties: {
      severity: f.severity,
      tags: f.tags,
      ...(f.commit ? { commit: f.commit.sha } : {}),
      ...sarifVerification(f),
    },
  };
}

function run(r: ScanResult, opts: ReportOptions) {
  const rules = ruleCatalogue(r);
  const index = new Map(rules.map((x, i) => [x.id, i]));
  const keys = occurrenceKeys(r.findings);
  return {
    tool: {
      driver: {
        name: r.plugin.name,
        version: r.plugin.version,
        fullName: `${r.plugin.name} ${r.plugin.version} (wasmci ${r.tool.version})`,
        rules: rules.map(rule),
      },
    },
    automationDetails: { id: `wasmci/${r.plugin.name}/` },
    invocations: [
      {
        executionSuccessful: r.errors.length === 0,
        startTimeUtc: r.stats.startedAt,
        endTimeUtc: r.stats.finishedAt,
        toolExecutionNotifications: r.errors.map((e) => ({
          level: 'error',
          message: { text: e.message },
          ...(e.path ? { locations: [{ physicalLocation: { artifactLocation: { uri: uri(e.path) } } }] } : {}),
        })),
      },
    ],
    results: r.findings.map((f, i) => result(f, keys[i] as string, index.get(f.ruleId) as number, opts)),
    columnKind: 'unicodeCodePoints',
  };
}

export function renderSarif(results: readonly ScanResult[], opts: ReportOptions): string {
  return `${JSON.stringify({ $schema: SCHEMA, version: '2.1.0', runs: results.map((r) => run(r, opts)) }, null, 2)}\n`;
}
