/**
 * The human report: findings grouped by file, then skipped files, errors and a totals line. Redacted by default.
 * Colour only when the caller says so (`colorFor`: a TTY and no NO_COLOR), so a file or a CI log never gets
 * escape codes by accident. Text from the repository or the plugin (paths, messages, matches, the plugin's
 * name and version) goes through printable(): a file name with a newline, or one that starts with `::`, must not
 * forge a CI log line.
 */
import { verificationLine } from './verification.js';
import { printable } from '../log.js';
import { type Finding, type ScanResult, SEVERITIES, type Severity } from '../core/model.js';
import type { ReportOptions } from './index.js';
import { redactIn, redactSecret } from './redact.js';
import { rulesById } from './rules.js';

/** https://no-color.org: any non-empty NO_COLOR turns colour off. */
export function colorFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return !!stream.isTTY && !env.NO_COLOR && env.TERM !== 'dumb';
}

type Paint = (code: string, s: string) => string;
const ESC = '\u001b[';

const SEVERITY_COLOR: Record<Severity, string> = {
  critical: '1;31',
  high: '31',
  medium: '33',
  low: '36',
  info: '2',
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Critical and high findings say where to rotate: the one action that cannot wait. */
const ROTATE_AT: ReadonlySet<Severity> = new Set(['critical', 'high']);

function findingLines(f: Finding, opts: ReportOptions, paint: Paint, width: number, docs?: string): string[] {
  const where = `${f.startLine}:${f.startColumn}`.padEnd(width);
  const sev = paint(SEVERITY_COLOR[f.severity], f.severity.padEnd(8));
  const secret = printable(opts.redact ? redactSecret(f.secret) : f.secret);
  const lines = [`  ${paint('2', where)}  ${sev} ${paint('1', printable(f.ruleId))}  ${printable(f.description)}`];
  const pad = ' '.repeat(width + 4);
  lines.push(`${pad}${paint('2', 'secret')} ${secret}  ${paint('2', `fingerprint ${f.fingerprint.slice(0, 16)}`)}`);
  if (f.match && f.match !== f.secret) {
    const shown = opts.redact ? redactIn(f.match, f.secret) : f.match;
    lines.push(`${pad}${paint('2', 'match')}  ${printable(shown.replace(/\s+/g, ' ').slice(0, 160))}`);
  }
  const verified = verificationLine(f);
  if (verified) {
    const color = f.verification?.status === 'active' ? '1;31' : '2';
    lines.push(`${pad}${paint(color, printable(verified))}`);
  }
  if (docs && ROTATE_AT.has(f.severity)) lines.push(`${pad}${paint('2', 'rotate:')} ${printable(docs)}`);
  if (f.commit) {
    const c = f.commit;
    lines.push(
      `${pad}${paint('2', 'commit')} ${c.sha.slice(0, 12)}${c.author ? ` by ${printable(c.author)}` : ''}${c.date ? ` on ${printable(c.date)}` : ''}`,
    );
  }
  return lines;
}

function summary(r: ScanResult, paint: Paint): string {
  const bySeverity = new Map<Severity, number>();
  for (const f of r.findings) bySeverity.set(f.severity, (bySeverity.get(f.severity) ?? 0) + 1);
  const sevs = SEVERITIES.filter((s) => bySeverity.has(s))
    .map((s) => paint(SEVERITY_COLOR[s], `${bySeverity.get(s)} ${s}`))
    .join(', ');
  const files = new Set(r.findings.map((f) => f.path)).size;
  const bySkip = new Map<string, number>();
  for (const s of r.skipped) bySkip.set(s.reason, (bySkip.get(s.reason) ?? 0) + 1);
  const skipped = [...bySkip].map(([k, n]) => `${n} ${k}`).join(', ');
  const s = r.suppressed;
  const sup = s
    ? [
        s.baseline && `${s.baseline} in baseline`,
        s.ignored && `${s.ignored} ignored`,
        s.gitleaksIgnored && `${s.gitleaksIgnored} in .gitleaksignore`,
        s.allowed && `${s.allowed} allowed inline`,
        s.disabled && `${s.disabled} turned off`,
      ]
        .filter(Boolean)
        .join(', ')
    : '';
  const head = r.findings.length
    ? paint('1', `${plural(r.findings.length, 'finding')} (${sevs}) in ${plural(files, 'file')}`)
    : paint('32', 'no findings');
  return (
    `${head} · ${printable(r.plugin.name)} ${printable(r.plugin.version)} scanned ${plural(r.stats.files, 'file')} ` +
    `(${(r.stats.bytes / 1e6).toFixed(1)} MB, ${(r.stats.durationMs / 1000).toFixed(1)} s)` +
    (r.target.shard ? ` · shard ${r.target.shard.index}/${r.target.shard.total}` : '') +
    (skipped ? `; skipped: ${skipped}` : '') +
    (sup ? `; suppressed: ${sup}` : '') +
    (r.verification
      ? `; verified: ${r.verification.active} active, ${r.verification.inactive} inactive, ${r.verification.unknown} unknown`
      : '') +
    (r.errors.length ? `; ${paint('31', plural(r.errors.length, 'error'))}` : '')
  );
}

function renderOne(r: ScanResult, opts: ReportOptions): string {
  const paint: Paint = opts.color ? (code, s) => `${ESC}${code}m${s}${ESC}0m` : (_c, s) => s;
  const out: string[] = [];
  const docs = rulesById(r);
  const byFile = new Map<string, Finding[]>();
  for (const f of r.findings) byFile.set(f.path, [...(byFile.get(f.path) ?? []), f]);
  for (const [file, list] of byFile) {
    const width = Math.max(...list.map((f) => `${f.startLine}:${f.startColumn}`.length));
    out.push(paint('1;4', printable(file)));
    for (const f of list) out.push(...findingLines(f, opts, paint, width, docs.get(f.ruleId)?.docs));
    out.push('');
  }
  for (const e of r.errors)
    out.push(`${paint('31', 'error')} ${e.path ? `${printable(e.path)}: ` : ''}${printable(e.message)}`);
  if (r.errors.length) out.push('');
  out.push(summary(r, paint));
  return out.join('\n');
}

export function renderText(results: readonly ScanResult[], opts: ReportOptions): string {
  return `${results.map((r) => renderOne(r, opts)).join('\n\n')}\n`;
}
