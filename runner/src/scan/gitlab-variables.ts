/**
 * GitLab Secret Detection's CI variables as scan settings (`wasmci scan --gitlab-variables`, used by
 * ci-templates/secrets.yml), so a project switching from GitLab's template keeps its settings:
 *   SECRET_DETECTION_EXCLUDED_PATHS  comma-separated globs or paths (a path also excludes what is under it)
 *   SECRET_DETECTION_HISTORIC_SCAN   "true"/"1": scan the history instead of the files
 *   SECRET_DETECTION_LOG_OPTIONS     git log options choosing the commits: a history scan of them
 * The variables belong to the pipeline definition (trusted), yet git log options are code-adjacent: `--output`
 * writes files, `--ext-diff`/`--textconv` run programs, a stray option changes what is read. So LOG_OPTIONS is
 * parsed, never passed through: only a revision or range, `--all`, `--since/--after/--until/--before` and
 * `-n/--max-count` are accepted, each value checked, anything else is exit 2 naming the variable.
 */
import { UsageError } from '../errors.js';
import { printable } from '../log.js';

export interface GitlabScanVariables {
  exclude: string[];
  /** A history scan of this range (`--all` for every ref), with these `git log` limits. */
  history?: { range: string; limits: string[] };
}

const GLOB = /[*?[\]{}!]/;

/** `doc, spec/**,vendor/` -> globs; a plain path excludes itself and everything under it (GitLab: "file or folder"). */
export function excludedPaths(value: string): string[] {
  const out: string[] = [];
  for (const raw of value.split(',')) {
    const p = raw.trim().replace(/^\.\//, '');
    if (!p) continue;
    if (GLOB.test(p)) {
      out.push(p);
      continue;
    }
    const dir = p.replace(/\/+$/, '');
    out.push(dir, `${dir}/**`);
  }
  return out;
}

/** Words as a POSIX shell would split them, with '…' and "…" quoting (no escapes, no expansion). */
function words(text: string, name: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  let quote: string | undefined;
  for (const c of text) {
    if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      cur ??= '';
    } else if (/\s/.test(c)) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else cur = (cur ?? '') + c;
  }
  if (quote) throw new UsageError(`${name}: unbalanced quote in "${printable(text)}"`);
  if (cur !== undefined) out.push(cur);
  return out;
}

/** A git revision or range (`main`, `v1.2`, `HEAD~20`, `origin/main..HEAD`, `a1b2c3...HEAD`): no option, no space. */
const REV = /^(?!-)[A-Za-z0-9_./@^~{}-]{1,200}$/;
/** What git's approxidate reads: dates, times, "2 weeks ago"; no shell or option characters. */
const DATE = /^[A-Za-z0-9:.,+\-/ ]{1,64}$/;

/** Parses SECRET_DETECTION_LOG_OPTIONS into a range and git log limits; refuses anything else. */
export function parseLogOptions(
  text: string,
  name = 'SECRET_DETECTION_LOG_OPTIONS',
): { range: string; limits: string[] } {
  const ws = words(text.trim(), name);
  const limits: string[] = [];
  const ranges: string[] = [];
  const fix =
    'wasmci accepts a revision or range (main..HEAD), --all, --since/--after/--until/--before=DATE and -n/--max-count=N';
  const value = (opt: string, i: number, inline: string | undefined): [string, number] => {
    if (inline !== undefined) return [inline, i];
    const next = ws[i + 1];
    if (next === undefined) throw new UsageError(`${name}: ${opt} needs a value`, fix);
    return [next, i + 1];
  };
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i] as string;
    const eq = w.indexOf('=');
    const opt = w.startsWith('--') && eq > 0 ? w.slice(0, eq) : w;
    const inline = w.startsWith('--') && eq > 0 ? w.slice(eq + 1) : undefined;
    if (w === '--all') {
      ranges.push('--all');
    } else if (['--since', '--after', '--until', '--before'].includes(opt)) {
      const [v, j] = value(opt, i, inline);
      if (!DATE.test(v)) throw new UsageError(`${name}: ${opt} "${printable(v)}" is not a date`, fix);
      limits.push(`${opt === '--after' ? '--since' : opt === '--before' ? '--until' : opt}=${v}`);
      i = j;
    } else if (opt === '--max-count' || w === '-n' || /^-n\d+$/.test(w) || /^-\d+$/.test(w)) {
      const [v, j] =
        opt === '--max-count'
          ? value(opt, i, inline)
          : w === '-n'
            ? value('-n', i, undefined)
            : [w.replace(/^-n?/, ''), i];
      if (!/^\d{1,9}$/.test(v)) throw new UsageError(`${name}: ${opt} "${printable(v)}" is not a count`, fix);
      limits.push(`--max-count=${Number(v)}`);
      i = j;
    } else if (REV.test(w)) {
      ranges.push(w);
    } else {
      throw new UsageError(`${name}: "${printable(w)}" is not supported`, fix);
    }
  }
  if (ranges.length > 1)
    throw new UsageError(`${name}: one revision range at most (got ${ranges.map(printable).join(', ')})`, fix);
  return { range: ranges[0] ?? 'HEAD', limits };
}

const yes = (v: string | undefined) => v === 'true' || v === '1';

/** The scan settings GitLab's Secret Detection variables ask for. */
export function gitlabScanVariables(env: NodeJS.ProcessEnv): GitlabScanVariables {
  const exclude = excludedPaths(env.SECRET_DETECTION_EXCLUDED_PATHS ?? '');
  const log = env.SECRET_DETECTION_LOG_OPTIONS?.trim();
  if (log) return { exclude, history: parseLogOptions(log) };
  if (yes(env.SECRET_DETECTION_HISTORIC_SCAN)) return { exclude, history: { range: 'HEAD', limits: [] } };
  return { exclude };
}
