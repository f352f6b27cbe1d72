/**
 * GitHub Actions integration through @actions/core: one annotation per finding (file/line), a job summary
 * table, and the step outputs `findings` and `report`. Called only when GITHUB_ACTIONS=true (see ci/index.ts):
 * outside GitHub, @actions/core would print `::` workflow commands into someone else's log.
 * Never `core.setSecret`: it prints the value it is given.
 * @actions/core escapes only `%`, CR and LF (and `:` `,` in properties): every plugin or tree string in an
 * annotation or the summary goes through printable() (log.ts) first, so no ESC, C1 or bidi control and no
 * `##[` command reaches the log, and no blank line ends the summary's HTML block early.
 */
import * as core from '@actions/core';
import { printable } from '../../log.js';
import { type Finding, type ScanResult, type Severity, severityRank } from '../../core/model.js';
import { toProjectPaths } from '../paths.js';
import { redactSecret } from '../redact.js';

/** GitHub shows at most 10 error and 10 warning annotations per step; past this, the summary has the rest. */
const MAX_ANNOTATIONS = 50;

const ANNOTATE: Record<Severity, (message: string, props: core.AnnotationProperties) => void> = {
  critical: core.error,
  high: core.error,
  medium: core.warning,
  low: core.notice,
  info: core.notice,
};

function html(s: string): string {
  return printable(s).replace(/[&<>"'|`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function shown(f: Finding, redact: boolean): string {
  return redact ? redactSecret(f.secret) : f.secret;
}

function annotate(f: Finding, redact: boolean): void {
  const props: core.AnnotationProperties = {
    title: `${printable(f.ruleId)} (${f.severity})`,
    // GitHub links the annotation by this path; a name that needs escaping is hostile and need not link.
    file: printable(f.path),
    startLine: f.startLine,
    endLine: f.endLine,
    // GitHub accepts columns only on a one-line annotation.
    ...(f.startLine === f.endLine ? { startColumn: f.startColumn, endColumn: f.endColumn } : {}),
  };
  ANNOTATE[f.severity](printable(`${f.description}: ${shown(f, redact)} (${f.plugin.name})`), props);
}

export interface GithubOptions {
  redact: boolean;
  /** Path of the main report file, exposed as the `report` output. */
  reportFile?: string;
}

export async function publishGithub(scanned: readonly ScanResult[], opts: GithubOptions): Promise<void> {
  const results = scanned.map((r) => toProjectPaths(r));
  const findings = results
    .flatMap((r) => r.findings)
    .sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  for (const f of findings.slice(0, MAX_ANNOTATIONS)) annotate(f, opts.redact);
  if (findings.length > MAX_ANNOTATIONS) {
    core.warning(`wasmci: ${findings.length - MAX_ANNOTATIONS} more findings are not annotated; see the job summary`);
  }
  fileCommand('GITHUB_OUTPUT', () => {
    core.setOutput('findings', String(findings.length));
    if (opts.reportFile) core.setOutput('report', opts.reportFile);
  });
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  const s = core.summary.addHeading(`wasmci: ${findings.length} finding${findings.length === 1 ? '' : 's'}`, 2);
  for (const r of results) {
    s.addRaw(
      `<p>${html(r.plugin.name)} ${html(r.plugin.version)}: ${r.stats.files} files, ${r.findings.length} findings` +
        `${r.errors.length ? `, ${r.errors.length} errors` : ''}</p>`,
      true,
    );
  }
  if (findings.length) {
    s.addTable([
      ['Severity', 'Rule', 'Location', 'Secret', 'Plugin'].map((data) => ({ data, header: true })),
      ...findings.map((f) => [
        f.severity,
        html(f.ruleId),
        `<code>${html(f.path)}:${f.startLine}</code>`,
        `<code>${html(shown(f, opts.redact))}</code>`,
        html(f.plugin.name),
      ]),
    ]);
  }
  await fileCommandAsync('GITHUB_STEP_SUMMARY', () => s.write());
}

/**
 * The outputs and the summary are extras: a runner whose GITHUB_OUTPUT or GITHUB_STEP_SUMMARY file cannot be written
 * (missing, read-only, another uid's inside a container) gets a warning, and the scan's exit code stands.
 */
function fileCommand(variable: string, write: () => void): void {
  try {
    write();
  } catch (err) {
    warnUnwritable(variable, err);
  }
}

async function fileCommandAsync(variable: string, write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (err) {
    warnUnwritable(variable, err);
  }
}

function warnUnwritable(variable: string, err: unknown): void {
  const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  core.warning(
    printable(
      `wasmci: could not write ${variable} (${process.env[variable] ?? 'unset'}: ${why}); the scan result stands. ` +
        `Pass the variable and its directory to the container (-e ${variable} -v "$RUNNER_TEMP:$RUNNER_TEMP").`,
    ),
  );
}
