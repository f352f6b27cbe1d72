/**
 * The findings model shared by scan (producer), config and report (consumers): the ground floor, importing nothing.
 * Plugin output is validated into these types at the edge (scan/protocol.ts); nothing downstream re-checks it.
 */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Severity rank: higher is worse. */
export function severityRank(s: Severity): number {
  return SEVERITIES.length - SEVERITIES.indexOf(s);
}

/** The --fail-on threshold: findings at or above it fail the scan; `none` never fails. */
export const FAIL_ON = ['critical', 'high', 'medium', 'low', 'none'] as const;
export type FailOn = (typeof FAIL_ON)[number];

/** A `.wasmci.yml` override: the last entry whose path glob and rule match sets the severity; `off` drops it. */
export interface SeverityOverride {
  path?: string;
  rule?: string;
  severity: Severity | 'off';
}

/** One rule as a plugin's `describe` lists it. */
export interface RuleInfo {
  id: string;
  description: string;
  severity: Severity;
  tags: string[];
  /** How to revoke or rotate the credential (plugin data; reports render it as help/solution). */
  remediation?: string;
  /** The vendor's documentation URL for the credential. */
  docs?: string;
  /** The id of the corresponding rule in gitleaks' default config (GitLab report identifiers, `.gitleaksignore`). */
  gitleaks?: string;
  /** A config rule (custom rules, a gitleaks config) runs in the place of the plugin's built-in rule of this id. */
  replacesBuiltin?: boolean;
}

/** What a plugin's `describe` export returns. */
export interface PluginDescription {
  name: string;
  version: string;
  kind: 'scan' | 'call';
  protocol: number;
  rules: RuleInfo[];
  /** Hosts the plugin's `verify` export reaches (granted only with --verify). */
  verifyHosts?: string[];
}

/** What live verification said about a finding's secret (`scan --verify`). */
export const VERIFICATION_STATUSES = ['active', 'inactive', 'unknown'] as const;
export interface Verification {
  status: (typeof VERIFICATION_STATUSES)[number];
  /** Why it is unknown: timeout, rate-limited, no verifier, network refused, budget, ... */
  reason?: string;
  /** The vendor asked (plugin text). */
  provider?: string;
}

export interface CommitInfo {
  sha: string;
  author?: string;
  email?: string;
  date?: string;
  message?: string;
}

/** A finding after the runner has enriched it. `secret` is the full value; reporters redact unless told not to. */
export interface Finding {
  ruleId: string;
  description: string;
  severity: Severity;
  path: string;
  startLine: number;
  endLine: number;
  startColumn: number;
  endColumn: number;
  secret: string;
  match: string;
  entropy?: number;
  tags: string[];
  /** How sure the plugin is (e.g. "high" for a validated format, "low" for a generic high-entropy match). */
  confidence?: string;
  /** sha256 hex of the secret: lets baselines and ignore files work without storing the secret. */
  secretHash: string;
  /** Stable id: derived from path, rule and secret hash, not the line, so it survives moves and rebases. */
  fingerprint: string;
  commit?: CommitInfo;
  /** Which plugin found it (a scan may run several). */
  plugin: { name: string; version: string };
  /** Set by `scan --verify`. */
  verification?: Verification;
}

export interface SkippedFile {
  path: string;
  reason: 'binary' | 'too-large' | 'symlink' | 'unreadable' | 'excluded' | 'vanished';
  detail?: string;
}

export interface ScanError {
  path?: string;
  message: string;
}

export interface ScanResult {
  tool: { name: 'wasmci'; version: string };
  plugin: PluginDescription;
  target: {
    root: string;
    mode: 'files' | 'diff' | 'history' | 'staged' | 'push';
    base?: string;
    /** history: the range; push: the tips and what they were taken against, as git log reads them. */
    range?: string;
    /** Set when this result covers one shard of the files (`--shard INDEX/TOTAL`; index is 1-based). */
    shard?: { index: number; total: number };
  };
  findings: Finding[];
  skipped: SkippedFile[];
  errors: ScanError[];
  stats: {
    files: number;
    bytes: number;
    durationMs: number;
    startedAt: string;
    finishedAt: string;
    /** Files left out by include/exclude globs. */
    excluded?: number;
  };
  /** Findings the workflow dropped, by reason: known in the baseline, listed in the ignore file, allowed inline, or turned off in .wasmci.yml. */
  suppressed?: { baseline: number; ignored: number; allowed: number; disabled: number; gitleaksIgnored?: number };
  /** `scan --verify`: counts by outcome, requests made, and findings --only-verified dropped. */
  verification?: { active: number; inactive: number; unknown: number; dropped: number; budgetMs: number };
  /** Threshold the exit code was computed with. */
  failOn?: Exclude<Severity, 'info'> | 'none';
}
