/**
 * GitLab `secret_detection` security report, schema 15.2.1 (runner/test/schemas/gitlab/). GitLab shows it in the
 * merge-request security widget and the vulnerability report (Ultimate). Vulnerability ids are UUIDv5 of the
 * fingerprint, and a `tracking` signature carries the fingerprint, so GitLab keeps one vulnerability per finding
 * across pipelines and line moves.
 */
import type { Finding, RuleInfo, ScanResult, Severity } from '../core/model.js';
import { gitlabVerification } from './verification.js';
import { occurrenceKeys, uuidV5 } from './ids.js';
import type { ReportOptions } from './index.js';
import { redactIn, redactSecret } from './redact.js';
import { GENERIC_REMEDIATION, rulesById, SECRETS_CWE } from './rules.js';

export const GITLAB_SCHEMA_VERSION = '15.2.1';
const SCHEMA_URL = `https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/v${GITLAB_SCHEMA_VERSION}/dist/secret-detection-report-format.json`;

/** What GitLab shows when the commit is unknown (a scan outside git and outside CI): its own analyzer's value. */
const NO_COMMIT = '0000000';

const SEVERITY: Record<Severity, string> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  info: 'Info',
};

/** The schema's time format: UTC, seconds, no zone suffix. */
function gitlabTime(iso: string): string {
  const d = new Date(iso);
  return (Number.isNaN(d.getTime()) ? new Date(0) : d).toISOString().slice(0, 19);
}

/**
 * The finding's identifiers. When the rule corresponds to a gitleaks default rule, its `gitleaks_rule_id` comes first:
 * GitLab takes the first identifier as the primary one, and a gitleaks-based analyzer's vulnerabilities carry it,
 * so they keep being tracked after the switch. Then the plugin's own rule id, then CWE-798 for secrets.
 */
function identifiers(f: Finding, rule: RuleInfo | undefined) {
  return [
    ...(rule?.gitleaks
      ? [{ type: 'gitleaks_rule_id', name: `Gitleaks rule ID ${rule.gitleaks}`, value: rule.gitleaks }]
      : []),
    { type: `${f.plugin.name}_rule_id`, name: `${f.plugin.name} rule ${f.ruleId}`, value: f.ruleId },
    // A secret_detection report says every finding is a hard-coded credential.
    { type: 'cwe', name: SECRETS_CWE.name, value: SECRETS_CWE.id, url: SECRETS_CWE.url },
  ];
}

function vulnerability(f: Finding, key: string, opts: ReportOptions, rule: RuleInfo | undefined) {
  const env = opts.env ?? process.env;
  const commit = f.commit ?? { sha: env.CI_COMMIT_SHA || NO_COMMIT };
  const shown = opts.redact ? redactSecret(f.secret) : f.secret;
  return {
    id: uuidV5(key),
    name: f.description.slice(0, 255),
    description: `${f.description} (rule ${f.ruleId}) in ${f.path} at line ${f.startLine}.`,
    severity: SEVERITY[f.severity],
    solution: rule?.remediation ? `${rule.remediation} ${GENERIC_REMEDIATION}` : GENERIC_REMEDIATION,
    raw_source_code_extract: opts.redact ? redactIn(f.match, f.secret) : f.match,
    identifiers: identifiers(f, rule),
    ...(rule?.docs ? { links: [{ name: `${f.description} documentation`.slice(0, 255), url: rule.docs }] } : {}),
    location: {
      file: f.path,
      start_line: f.startLine,
      end_line: f.endLine,
      commit: {
        sha: commit.sha,
        ...(commit.author ? { author: commit.author } : {}),
        ...(commit.date ? { date: commit.date } : {}),
        ...(commit.message ? { message: commit.message } : {}),
      },
    },
    tracking: {
      type: 'source',
      items: [
        {
          file: f.path,
          start_line: f.startLine,
          end_line: f.endLine,
          signatures: [{ algorithm: 'hash', value: f.fingerprint }],
        },
      ],
    },
    details: {
      secret: { type: 'value', name: 'Secret', value: shown },
      ...(f.commit ? { commit: { type: 'commit', name: 'Commit', value: f.commit.sha } } : {}),
      ...gitlabVerification(f),
    },
  };
}

export function renderGitlab(results: readonly ScanResult[], opts: ReportOptions): string {
  const findings = results.flatMap((r) => r.findings);
  const keys = occurrenceKeys(findings);
  const first = results[0];
  if (!first) throw new Error('renderGitlab needs at least one scan result');
  const starts = results.map((r) => r.stats.startedAt).sort();
  const ends = results.map((r) => r.stats.finishedAt).sort();
  const plugins = [...new Map(results.map((r) => [r.plugin.name, r.plugin])).values()];
  const errors = results.flatMap((r) => r.errors);
  const byResult = new Map(results.map((r) => [r, rulesById(r)]));
  const rules = new Map(results.flatMap((r) => r.findings.map((f) => [f, byResult.get(r)] as const)));
  const report = {
    version: GITLAB_SCHEMA_VERSION,
    schema: SCHEMA_URL,
    scan: {
      analyzer: {
        id: 'wasmci',
        name: 'wasmci',
        version: first.tool.version,
        vendor: { name: 'wasmci' },
      },
      scanner: {
        id: plugins.map((p) => p.name).join('+'),
        name: plugins.map((p) => p.name).join(' + '),
        version: plugins.map((p) => p.version).join(' + '),
        vendor: { name: 'wasmci' },
      },
      type: 'secret_detection',
      start_time: gitlabTime(starts[0] as string),
      end_time: gitlabTime(ends[ends.length - 1] as string),
      // Errors are per batch or file: a partial scan, which the schema calls a warning, not a failed one.
      status: 'success',
      messages: errors.map((e) => ({
        level: 'warn',
        value: `${e.path ? `${e.path}: ` : ''}${e.message || 'scan error'}`,
      })),
    },
    vulnerabilities: findings.map((f, i) => vulnerability(f, keys[i] as string, opts, rules.get(f)?.get(f.ruleId))),
    remediations: [],
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}
