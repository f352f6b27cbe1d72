/**
 * The scan behind each git hook and the message that refuses a commit or a push. Rules: a hook runs only a local
 * plugin (the bundled secrets plugin, or a file the installer named) — nothing is downloaded while git waits; the
 * refusal names rule, file, line and commit, never the secret (not even redacted: a server hook's output goes to
 * whoever pushed, and a log may keep it), and says every way out; a server's scan keeps to its time budget.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FailOn, ScanResult } from '../core/model.js';
import { UsageError } from '../errors.js';
import { type Logger, printable } from '../log.js';
import { type ScanRequest, scan, scanExitCode } from '../scan/index.js';
import { failing } from '../scan/workflow.js';
import { SKIP_OPTION } from './refs.js';

export type HookName = 'pre-commit' | 'pre-push' | 'pre-receive';

export interface HookScanOptions {
  plugin?: string;
  failOn?: FailOn;
  log: Logger;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** A plugin reference a hook accepts: a file. URLs and registry references would download at commit/push time. */
export function localPlugin(ref: string, cwd: string): string {
  if (/^[a-z][a-z0-9+.-]+:/i.test(ref)) {
    throw new UsageError(
      `a git hook loads only a local plugin file, not ${printable(ref)}`,
      'fetch it once with `wasmci pull`, then pass the file: --plugin /path/to/plugin.wasm',
    );
  }
  return path.resolve(cwd, ref);
}

/** Runs the hook's scan: `target` is the request's mode part (staged, or a push range). */
export function hookScan(
  root: string,
  target: Pick<ScanRequest, 'staged' | 'push'>,
  o: HookScanOptions,
): Promise<ScanResult> {
  const req: ScanRequest = {
    path: root,
    cwd: o.cwd,
    grants: {},
    redact: true,
    ...target,
    ...(o.plugin ? { plugin: localPlugin(o.plugin, o.cwd) } : {}),
    ...(o.failOn ? { failOn: o.failOn } : {}),
  };
  return scan(req, {
    log: o.log,
    env: o.env,
    loadPlugin: async (ref) => readFileSync(localPlugin(ref, o.cwd)),
  });
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** At most this many findings are listed: a push of an old history can carry thousands, and git relays it all. */
const MAX_LISTED = 30;

/**
 * Why the hook refuses and how to go on, or undefined when it does not. Every field from the plugin or the pushed
 * tree (rule ids, paths) is escaped with printable(); the secret itself is not shown at all.
 */
export function refusal(result: ScanResult, hook: HookName, env: NodeJS.ProcessEnv): string | undefined {
  const code = scanExitCode(result);
  if (code === 0) return undefined;
  const bad = failing(result.findings, result.failOn ?? 'low');
  const what = hook === 'pre-commit' ? 'commit' : 'push';
  const where = hook === 'pre-commit' ? 'the staged changes' : 'the pushed commits';
  const out: string[] = [];
  if (bad.length) {
    out.push(`wasmci: ${what} refused: ${plural(bad.length, 'secret')} in ${where} (the secrets are not shown)`);
    for (const f of bad.slice(0, MAX_LISTED)) {
      const commit = f.commit ? `  commit ${f.commit.sha.slice(0, 10)}` : '';
      out.push(`  ${f.severity.padEnd(8)} ${printable(f.ruleId)}  ${printable(f.path)}:${f.startLine}${commit}`);
    }
    if (bad.length > MAX_LISTED) out.push(`  ... and ${bad.length - MAX_LISTED} more`);
  } else {
    out.push(
      `wasmci: ${what} refused: ${plural(result.errors.length, 'file')} in ${where} could not be scanned, so the check is incomplete`,
    );
    for (const e of result.errors.slice(0, MAX_LISTED))
      out.push(`  ${e.path ? `${printable(e.path)}: ` : ''}${printable(e.message)}`);
  }
  out.push('How to go on:');
  if (hook === 'pre-commit') {
    out.push('  fix:    remove the secret from the file, `git add` it again, and rotate it if it was ever shared');
  } else {
    out.push(
      '  fix:    the secret is in a commit: rewrite it — `git commit --amend` for the last commit, `git rebase -i <commit>^`',
      '          for an older one — then push again. A later commit that deletes it is not enough: history keeps it.',
    );
  }
  out.push('  allow:  a reviewed false positive: put wasmci:allow in a comment on that line');
  if (hook === 'pre-commit') out.push('  bypass: this once: git commit --no-verify');
  else if (hook === 'pre-push') out.push('  bypass: this once: git push --no-verify');
  else if (env.WASMCI_ALLOW_SKIP === '1') out.push(`  bypass: this server allows it: git push -o ${SKIP_OPTION}`);
  return `${out.join('\n')}\n`;
}

/**
 * What the scan left out (added content over the size limit), one line, or undefined: a gate that passes must not
 * let an unscanned file pass unseen.
 */
export function skippedNote(result: ScanResult): string | undefined {
  if (!result.skipped.length) return undefined;
  const shown = result.skipped
    .slice(0, 5)
    .map((s) => `${printable(s.path)} (${s.reason}${s.detail ? `: ${printable(s.detail)}` : ''})`);
  const more = result.skipped.length > 5 ? ` and ${result.skipped.length - 5} more` : '';
  return `wasmci: not scanned: ${shown.join(', ')}${more}`;
}

/** Fail open or closed when the budget runs out. */
export type OnTimeout = 'open' | 'closed';

/**
 * Runs `work` within what is left of the budget (`budgetMs` in all, `leftMs` still to go): its exit code, or —
 * past it — 0 (open) or 1 (closed), said on stderr. The scan still running is abandoned; the caller exits the
 * process, which ends its workers and git.
 */
export async function withinBudget(
  work: Promise<number>,
  budgetMs: number,
  leftMs: number,
  onTimeout: OnTimeout,
  say: (line: string) => void,
): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, leftMs));
  });
  work.catch(() => undefined); // a late failure after the budget is not reported twice
  try {
    const r = await Promise.race([work, expired]);
    if (r !== 'timeout') return r;
  } finally {
    clearTimeout(timer);
  }
  const s = `${budgetMs / 1000} s`;
  if (onTimeout === 'open') {
    say(`wasmci: the scan did not finish within ${s}: push ACCEPTED UNSCANNED (--on-timeout open)`);
    return 0;
  }
  say(
    `wasmci: push refused: the scan did not finish within ${s} (--on-timeout closed). ` +
      'Push fewer commits at a time, or ask the server admin to raise --timeout.',
  );
  return 1;
}
