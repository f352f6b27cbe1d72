/**
 * Running git for scan targets: always with arguments (never a shell), with the user's config neutralised where it
 * would change the output we parse, and with errors turned into messages that say what to do.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { RuntimeError, UsageError } from '../errors.js';

/** Options that make git's diff output parseable whatever the user's or the repository's config says. */
export const DIFF_FLAGS = [
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--src-prefix=a/',
  '--dst-prefix=b/',
  '-U0',
  '-M',
];
const CONFIG = ['-c', 'core.quotePath=false', '-c', 'diff.noprefix=false', '-c', 'log.showSignature=false'];

export function git(cwd: string, args: string[]): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync('git', [...CONFIG, ...args], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new RuntimeError(`cannot run git: ${r.error.message}`, 'install git (apt-get install -y git)');
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr };
}

/** The top of the work tree containing `dir`, or undefined when `dir` is not in a git repository. */
export function repoTop(dir: string): string | undefined {
  try {
    const r = git(dir, ['rev-parse', '--show-toplevel']);
    return r.ok ? r.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

export function isShallow(dir: string): boolean {
  return git(dir, ['rev-parse', '--is-shallow-repository']).stdout.trim() === 'true';
}

export function hasCommit(dir: string, ref: string): boolean {
  return git(dir, ['cat-file', '-e', `${ref}^{commit}`]).ok;
}

/** Refuses anything that git would take as an option: refs come from users and CI variables. */
export function checkRef(what: string, ref: string): void {
  if (!ref || ref.startsWith('-') || /[\s\0]/.test(ref)) {
    throw new UsageError(`${what} "${ref}" is not a valid git revision`);
  }
}

/** Streams a git command's stdout line by line (bounded memory however long the output). */
export async function* gitLines(cwd: string, args: string[]): AsyncGenerator<string> {
  const child = spawn('git', [...CONFIG, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 8192) stderr += c.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (e) => reject(new RuntimeError(`cannot run git: ${e.message}`, 'install git')));
    child.on('close', (code) => resolve(code));
  });
  const rl = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of rl) yield line;
  } finally {
    if (child.exitCode === null) child.kill();
  }
  const code = await exited;
  if (code !== 0 && code !== null) {
    throw new RuntimeError(`git ${args[0]} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`);
  }
}

/** Undoes git's C-style quoting of unusual paths ("a\tb" with octal escapes for non-ASCII bytes). */
export function unquotePath(p: string): string {
  if (!p.startsWith('"') || !p.endsWith('"')) return p;
  const bytes: number[] = [];
  const s = p.slice(1, -1);
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, '"': 34, '\\': 92, a: 7, b: 8, f: 12, v: 11 };
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const n = s[i + 1] as string;
    if (/[0-7]/.test(n)) {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      bytes.push(simple[n] ?? n.charCodeAt(0));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
