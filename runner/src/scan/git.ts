/**
 * Every git process wasmci starts, in one place. Rule: the repository is hostile (issue 15) — its config, its
 * attributes, and any repository-looking files a merge request commits — so git is always told which repository
 * to use (never left to discover one in the scanned tree) and runs no command that a repository names. Arguments
 * only, never a shell; output read as bytes; errors turned into messages that say what to do.
 *
 * What each setting is for (command-line `-c` wins over every config file, the repository's own included):
 *   --git-dir/--work-tree  found here by walking up for `.git` (core/checkout.ts), as git would, but without
 *                          running git: git's own discovery takes a committed bare repository (HEAD, config,
 *                          objects/, refs/ under src/) for the repository, and its config then runs commands.
 *                          The explicit work tree also overrides a hostile `core.worktree`. With --git-dir git
 *                          discovers nothing, so GIT_CEILING_DIRECTORIES would change nothing and is not set.
 *   core.fsmonitor=false   the fsmonitor hook runs a command whenever the index is read (ls-files, rev-parse).
 *   core.hooksPath=/dev/null  no hook runs, whatever a command might trigger.
 *   safe.bareRepository=explicit  should any git process look for a repository, a bare one is refused.
 *   protocol.allow=never   no transport: `ext::` URLs run commands, and a partial clone fetches missing objects
 *                          on its own. (Credential helpers and core.sshCommand are used only by transports.)
 *   --no-pager             covers core.pager, pager.<cmd> and GIT_PAGER (stdout is a pipe anyway).
 *   --no-ext-diff          (diff flags) covers diff.external, GIT_EXTERNAL_DIFF and diff.<driver>.command.
 *                          `-c diff.external=` is NOT set: git 2.39 then tries to run "" and dies (measured).
 *   --no-textconv --text   (diff flags) attributes from the tree choose neither a converter nor "binary": the
 *                          scanner's own NUL sniff decides, as for files on disk.
 *   filters                clean/smudge/process filters convert between work tree and index; no command here
 *                          does that (ls-files lists names, log compares trees), which hostile-git.test proves.
 *   diff.submodule=short, submodule.recurse=false  `diff.submodule=diff` runs git inside a submodule.
 *   GIT_NO_REPLACE_OBJECTS=1  refs/replace cannot swap the commits the scan reads for others.
 *   GIT_TERMINAL_PROMPT=0  never wait for a password on a CI runner.
 *   GIT_OPTIONAL_LOCKS=0   read-only: no index refresh written into the checkout.
 *   GIT_CONFIG_NOSYSTEM    NOT set: the system config belongs to the runner image, which is trusted.
 *   the rest of the environment is passed through on purpose: it is the pipeline's (trusted), and git hooks need
 *                          what git sets for them — GIT_INDEX_FILE (the index `git commit -a` is about to commit,
 *                          read by `scan --staged` in a pre-commit hook), GIT_QUARANTINE_PATH, GIT_OBJECT_DIRECTORY
 *                          and GIT_ALTERNATE_OBJECT_DIRECTORIES (a pre-receive hook's pushed objects live in a
 *                          quarantine directory until it accepts them: without these git cannot see them).
 *                          GIT_DIR / GIT_WORK_TREE from the environment lose to the explicit flags.
 * The rest pins the output format the parsers read (see DIFF_FLAGS).
 */
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { realish, workTreeTop } from '../core/checkout.js';
import { RuntimeError, UsageError } from '../errors.js';
import { printable } from '../log.js';

const HARDENING = [
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'safe.bareRepository=explicit',
  'protocol.allow=never',
  'diff.submodule=short',
  'submodule.recurse=false',
  // output format: raw UTF-8 paths, a/ b/ prefixes, no blank context line printed as an empty line (which would end
  // a hunk early), the root commit's additions shown, no signature checks (gpg.program), UTF-8 commit headers
  'core.quotePath=false',
  'diff.noprefix=false',
  'diff.suppressBlankEmpty=false',
  'log.showRoot=true',
  'log.showSignature=false',
  'i18n.logOutputEncoding=UTF-8',
].flatMap((c) => ['-c', c]);

const ENV = { GIT_NO_REPLACE_OBJECTS: '1', GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' };

/**
 * Options that make git's patch output parseable and complete whatever the repository says: no external diff or
 * text conversion, every file as text (attributes cannot hide additions as "binary"), zero context and no merged
 * hunks, paths from the top, submodule pointers left out (they are not content).
 */
export const DIFF_FLAGS = [
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--text',
  '--no-relative',
  '--src-prefix=a/',
  '--dst-prefix=b/',
  '-U0',
  '--inter-hunk-context=0',
  '--ignore-submodules=all',
  '-M',
];

/**
 * A repository named to git explicitly: its work tree's top and its git directory, both real paths. A bare
 * repository (a server's, for the pre-receive hook) has no work tree: `top` is then its git dir, where git runs.
 */
export interface Repo {
  top: string;
  gitDir: string;
  bare?: boolean;
}

/** A repository, or why there is none (`why` is set when something looked like one but is not used). */
export type RepoLookup = { repo: Repo; why?: undefined } | { repo?: undefined; why?: string };

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** What git itself checks before taking a directory for a git dir (a linked worktree's has `commondir` instead). */
function isGitDir(d: string): boolean {
  return (
    isFile(path.join(d, 'HEAD')) &&
    ((isDir(path.join(d, 'objects')) && isDir(path.join(d, 'refs'))) || isFile(path.join(d, 'commondir')))
  );
}

const within = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/**
 * The git dir a `.git` FILE names (`gitdir: X`), if it stays sane: git's linked worktrees and submodules are the
 * only writers of such files, and a checkout cannot contain one (git refuses to track `.git`), so one found in a
 * scanned tree that does not match either shape was planted, to point git at another repository on the runner
 * (another project's clone and its history). Accepted: a linked worktree whose admin dir points back at this
 * `.git` file (`<gitdir>/gitdir`), or a submodule whose git dir lies in `<A>/.git/modules/` of a directory A
 * around this work tree.
 */
function gitFileTarget(top: string, dotGit: string): { dir: string } | { why: string } {
  let text: string;
  try {
    text = readFileSync(dotGit, 'utf8').slice(0, 4096);
  } catch (err) {
    return { why: `${dotGit} cannot be read (${(err as NodeJS.ErrnoException).code})` };
  }
  const m = /^gitdir: *(.+?)\s*$/m.exec(text);
  if (!m) return { why: `${dotGit} is a file without a "gitdir:" line` };
  let dir: string;
  try {
    dir = realpathSync(path.resolve(top, m[1] as string));
  } catch {
    return { why: `${dotGit} points to ${m[1]}, which does not exist` };
  }
  if (!isGitDir(dir)) return { why: `${dotGit} points to ${dir}, which is not a git directory` };
  const back = path.join(dir, 'gitdir');
  if (isFile(back)) {
    const named = readFileSync(back, 'utf8').trim();
    if (named && realish(path.resolve(dir, named)) === realish(dotGit)) return { dir };
  }
  const at = dir.indexOf('/.git/modules/');
  if (at > 0 && within(realish(top), dir.slice(0, at))) return { dir };
  return {
    why: `${dotGit} points to ${dir}, which is neither a worktree nor a submodule of a repository around it`,
  };
}

/**
 * The repository whose work tree holds `dir`, found without running git: the nearest `.git` at or above it. A
 * `.git` that is a symlink, not a git dir, or a `.git` file that points somewhere insane is not used (`why`).
 */
export function findRepo(dir: string): RepoLookup {
  // from the real path: git runs in the directory a symlinked path leads to, so that is where its repository is
  const top = workTreeTop(realish(dir));
  if (!top) {
    // a bare repository's files (what a merge request can commit, and what git's discovery would take)
    return isGitDir(dir)
      ? { why: `${dir} holds the files of a bare repository (HEAD, objects/, refs/), which wasmci never uses as one` }
      : {};
  }
  const dotGit = path.join(top, '.git');
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(dotGit);
  } catch {
    return {};
  }
  if (st.isSymbolicLink()) return { why: `${dotGit} is a symbolic link` };
  if (st.isDirectory()) {
    if (!isGitDir(dotGit)) return { why: `${dotGit} is not a git directory (no HEAD, objects/, refs/)` };
    return { repo: { top: realpathSync(top), gitDir: realpathSync(dotGit) } };
  }
  if (!st.isFile()) return { why: `${dotGit} is neither a directory nor a file` };
  const target = gitFileTarget(top, dotGit);
  return 'dir' in target ? { repo: { top: realpathSync(top), gitDir: target.dir } } : { why: target.why };
}

/**
 * The repository a diff or history scan reads (`flag` names the scan mode in the message): findRepo's, or a usage
 * error that says why there is none.
 */
export function requireRepo(dir: string, flag: string): Repo {
  const found = findRepo(dir);
  if (found.repo) return found.repo;
  throw new UsageError(
    `${flag} needs a git repository, and ${printable(dir)} is not in one${found.why ? ` (${printable(found.why)})` : ''}`,
    found.why ? 'scan a clone of the repository (git clone), or drop the flag' : 'scan the checkout, or drop the flag',
  );
}

/**
 * The repository a server-side hook runs for: git runs pre-receive in the repository's git dir with GIT_DIR set
 * (often to "."), and both come from the server, not from the push, so they are trusted. Named to git
 * explicitly like every other repository; no work tree.
 */
export function serverRepo(env: NodeJS.ProcessEnv, cwd: string): Repo {
  const dir = path.resolve(cwd, env.GIT_DIR || '.');
  if (!isGitDir(dir)) {
    throw new UsageError(
      `${printable(dir)} is not a git repository (no HEAD, objects/, refs/)`,
      "run `wasmci hook pre-receive` from the repository's hooks/pre-receive script: git starts it in the repository with GIT_DIR set",
    );
  }
  const real = realpathSync(dir);
  return { top: real, gitDir: real, bare: true };
}

/** The whole argument list of a git command run on `repo`. */
export function gitArgs(repo: Repo, args: string[]): string[] {
  const tree = repo.bare ? [] : [`--work-tree=${repo.top}`];
  return ['--no-pager', `--git-dir=${repo.gitDir}`, ...tree, ...HARDENING, ...args];
}

const env = () => ({ ...process.env, ...ENV });

const missingGit = (e: Error) =>
  new RuntimeError(`cannot run git: ${e.message}`, 'install git (apt-get install -y git)');

/** git's last lines of complaint, safe for a log line (they can quote paths and refs from the tree). */
const tail = (stderr: string) => printable(stderr.trim().split('\n').slice(-3).join(' '));

/** A short git command, run to completion. */
export function git(repo: Repo, args: string[]): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync('git', gitArgs(repo, args), {
    cwd: repo.top,
    env: env(),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.error) throw missingGit(r.error);
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr };
}

export function isShallow(repo: Repo): boolean {
  return git(repo, ['rev-parse', '--is-shallow-repository']).stdout.trim() === 'true';
}

export function hasCommit(repo: Repo, ref: string): boolean {
  return git(repo, ['cat-file', '-e', `${ref}^{commit}`]).ok;
}

/**
 * Where git runs this repository's hooks: `core.hooksPath` as the repository's own config files set it (our
 * command-line `core.hooksPath=/dev/null` is left out by scope; a relative path is relative to the work tree's
 * top, where git runs hooks; `~` is expanded by `--type=path`), else `hooks/` of the common git dir (shared by
 * linked worktrees). Reading a value runs nothing.
 */
export function hooksDir(repo: Repo): string {
  const r = git(repo, ['config', '--show-scope', '--type=path', '--get-all', 'core.hooksPath']);
  // exit 1 without a word: not set; anything else (a git older than 2.26 has no --show-scope) must not be taken
  // for "not set", or the hook would go where git never runs it
  if (!r.ok && r.stderr.trim()) {
    throw new RuntimeError(
      `cannot read core.hooksPath in ${printable(repo.top)}: ${tail(r.stderr)}`,
      'use git 2.26 or later',
    );
  }
  // one "scope<TAB>value" line per setting, in the order git reads them: the last one outside "command" wins
  const set = r.stdout
    .split('\n')
    .map((l) => /^([a-z]+)\t(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m && m[1] !== 'command')
    .map((m) => m[2] as string);
  const configured = set[set.length - 1];
  if (configured) return path.resolve(repo.top, configured);
  const common = git(repo, ['rev-parse', '--git-common-dir']);
  if (!common.ok)
    throw new RuntimeError(`git rev-parse --git-common-dir failed in ${printable(repo.top)}: ${tail(common.stderr)}`);
  return path.join(path.resolve(repo.top, common.stdout.trim()), 'hooks');
}

/** Refuses anything that git would take as an option: refs come from users and CI variables. */
export function checkRef(what: string, ref: string): void {
  if (!ref || ref.startsWith('-') || /[\s\0]/.test(ref)) {
    throw new UsageError(`${what} "${printable(ref)}" is not a valid git revision`);
  }
}

export interface RecordOptions {
  /** Where git runs (a directory of the work tree: `ls-files` lists what is under it). Default: the top. */
  cwd?: string;
  /** The byte that ends a record: 0x0a for lines, 0 for `-z` output. */
  sep: number;
  /**
   * Bytes kept of a record: a longer one is cut to `maxRecord + 1` bytes (so the reader sees it is too long) and
   * the rest is dropped, so memory stays bounded however long a line git prints (a binary blob shown `--text`).
   */
  maxRecord: number;
  /** Filled with git's stderr lines (first 8 KiB) once it exits successfully: warnings such as unreadable dirs. */
  warnings?: string[];
}

/**
 * A git command's stdout as records split on one byte — never decoded first, so a CR stays inside its line and a
 * file name that is not UTF-8 keeps its bytes — in the arrays each chunk of output yields (an async step per
 * record would cost more than the record). Stopping early ends git.
 */
export async function* gitRecords(repo: Repo, args: string[], o: RecordOptions): AsyncGenerator<Buffer[]> {
  const child = spawn('git', gitArgs(repo, args), {
    cwd: o.cwd ?? repo.top,
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 8192) stderr += c.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', (e) => reject(missingGit(e)));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  exited.catch(() => undefined); // observed below; not unhandled if the consumer stops first
  let parts: Buffer[] = [];
  let kept = 0;
  let complete = false;
  const take = (piece: Buffer) => {
    const room = o.maxRecord + 1 - kept;
    if (room <= 0 || piece.length === 0) return;
    const p = piece.length > room ? piece.subarray(0, room) : piece;
    parts.push(p);
    kept += p.length;
  };
  const finish = (): Buffer => {
    const r = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, kept);
    parts = [];
    kept = 0;
    return r;
  };
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      const out: Buffer[] = [];
      let start = 0;
      for (let at = chunk.indexOf(o.sep); at >= 0; at = chunk.indexOf(o.sep, start)) {
        take(chunk.subarray(start, at));
        out.push(finish());
        start = at + 1;
      }
      take(chunk.subarray(start));
      if (out.length) yield out;
    }
    if (kept > 0) yield [finish()];
    complete = true;
  } finally {
    // Only a consumer that stopped early ends git; a git that has closed its stdout is left to exit, and its
    // status is read (killing it raced that status).
    if (!complete && child.exitCode === null) child.kill();
  }
  // A death by signal is a failure too: a partial clone's `git log` dies of SIGPIPE when its fetch child is refused,
  // and `code === null` used to pass as success — a history scan of nothing that exited 0 (hostile-git.test, twice
  // in full runs on a loaded machine).
  const { code, signal } = await exited;
  if (code === 0 && o.warnings) o.warnings.push(...stderr.split('\n').filter(Boolean));
  if (code !== 0) {
    throw new RuntimeError(
      `git ${args[0]} failed in ${printable(repo.top)} (${code === null ? `signal ${signal}` : `exit ${code}`}): ${tail(stderr)}`,
      // git ends either way: exit 128 with "could not fetch … from promisor remote", or killed by SIGPIPE (its fetch
      // child died) after only "transport 'ext' not allowed"
      /promisor remote|transport '[^']*' not allowed/.test(stderr)
        ? 'this is a partial clone (--filter) that lacks objects, and wasmci fetches nothing (protocol.allow=never): ' +
            'scan a full clone (no --filter in GIT_FETCH_EXTRA_FLAGS)'
        : undefined,
    );
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
