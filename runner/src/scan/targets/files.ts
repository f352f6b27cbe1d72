/**
 * The files of a directory, as a stream: through git when the directory is in a work tree (tracked and untracked
 * files, .gitignore and .git/info/exclude honoured exactly as git does), otherwise a walk that applies .gitignore
 * files itself. Symlinks are never followed: a link could point anywhere on the runner's disk.
 */
import { type Dirent, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import type { SkippedFile } from '../../core/model.js';
import { type Repo, gitRecords } from '../git.js';

export interface DiskFile {
  /** Relative to the scan root, with forward slashes; bytes that are not UTF-8 shown as `\xNN`. */
  path: string;
  /** The file's real name: a Buffer when the name is not UTF-8 (a decoded string would name another file). */
  abs: string | Buffer;
  size: number;
}

/**
 * A file name from the file system or git. Names need not be UTF-8, and a repository could otherwise hide a file
 * from the scan by giving it a name that decodes to something else: such a name keeps its bytes in `raw`, and
 * `shown` escapes them. (Most names are UTF-8 and carry no copy of their bytes: the walk makes one per file.)
 */
interface RawName {
  shown: string;
  /** Only for a name that is not UTF-8: its bytes, which `shown` cannot reproduce. */
  raw?: Buffer;
}

function rawName(raw: Buffer): RawName {
  const shown = raw.toString('utf8');
  // Invalid UTF-8 decodes to U+FFFD; a name with a real U+FFFD in it is merely shown escaped.
  if (!shown.includes('\ufffd')) return { shown };
  let escaped = '';
  for (const b of raw) escaped += b >= 0x80 ? `\\x${b.toString(16).padStart(2, '0')}` : String.fromCharCode(b);
  return { shown: escaped, raw: Buffer.from(raw) };
}

const bytesOf = (n: RawName) => n.raw ?? Buffer.from(n.shown);

function joinRaw(a: RawName, b: RawName): RawName {
  const shown = `${a.shown}/${b.shown}`;
  return a.raw || b.raw ? { shown, raw: Buffer.concat([bytesOf(a), Buffer.from('/'), bytesOf(b)]) } : { shown };
}

/** The name's path under root: a string when it is UTF-8 (root is absolute and normalised, names are relative). */
const absOf = (root: string, name: RawName): string | Buffer =>
  name.raw ? Buffer.concat([Buffer.from(`${root}/`), name.raw]) : `${root}/${name.shown}`;

export type WalkItem = { file: DiskFile } | { skipped: SkippedFile };

/** lstat, synchronously: one syscall of microseconds, cheaper than a thread-pool round trip per file. */
function classify(root: string, name: RawName): WalkItem | undefined {
  const rel = name.shown;
  const abs = absOf(root, name);
  try {
    const st = lstatSync(abs);
    if (st.isSymbolicLink()) return { skipped: { path: rel, reason: 'symlink', detail: 'symlinks are not followed' } };
    if (!st.isFile()) return undefined; // directories (submodules), sockets, devices
    return { file: { path: rel, abs, size: st.size } };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { skipped: { path: rel, reason: 'vanished', detail: 'deleted in the work tree' } };
    return { skipped: { path: rel, reason: 'unreadable', detail: code } };
  }
}

/**
 * NUL-separated paths from `git ls-files`, streamed: the names of each chunk of its output. Run through
 * scan/git.ts on the repository found there (explicit git dir and work tree, nothing from the repository's config
 * that runs a command); `cwd` is the scan root, so git lists what is under it, relative to it.
 */
async function* gitPaths(root: string, repo: Repo, warnings?: string[]): AsyncGenerator<RawName[]> {
  const args = ['ls-files', '-co', '--exclude-standard', '--deduplicate', '-z'];
  // 64 KiB: longer than any path the kernel accepts (PATH_MAX 4096), so a name is never cut
  for await (const records of gitRecords(repo, args, { cwd: root, sep: 0, maxRecord: 65536, warnings })) {
    const names: RawName[] = [];
    for (const r of records) if (r.length > 0) names.push(rawName(r));
    yield names;
  }
}

interface Level {
  dir: string; // relative to root, '' for the root
  ig?: Ignore;
}

const DOT_GIT = Buffer.from('.git');
const DOT_GITIGNORE = Buffer.from('.gitignore');

/** The directory's .gitignore, if its listing has one (most directories have none: no failed open for them). */
function loadIgnore(dir: string | Buffer, entries: Dirent<Buffer>[]): Ignore | undefined {
  if (!entries.some((e) => e.isFile() && e.name.equals(DOT_GITIGNORE))) return undefined;
  try {
    const file =
      typeof dir === 'string' ? path.join(dir, '.gitignore') : Buffer.concat([dir, Buffer.from('/.gitignore')]);
    return ignore().add(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function ignoredBy(levels: Level[], rel: string, isDir: boolean): boolean {
  for (const l of levels) {
    if (!l.ig) continue;
    const sub = l.dir ? rel.slice(l.dir.length + 1) : rel;
    if (l.ig.ignores(isDir ? `${sub}/` : sub)) return true;
  }
  return false;
}

interface OpenDir {
  rel?: RawName;
  levels: Level[];
  entries: Dirent<Buffer>[];
  next: number;
}

/**
 * A walk outside git: .gitignore files at every level, `.git` directories skipped, sorted for determinism.
 * Iterative and synchronous: a recursive async generator costs a promise per level for every file it passes up.
 */
function* walkPaths(root: string, useIgnore: boolean): Generator<RawName | SkippedFile> {
  const stack: OpenDir[] = [];
  const unreadable: SkippedFile[] = [];
  const enter = (rel: RawName | undefined, levels: Level[]) => {
    const abs = rel ? absOf(root, rel) : root;
    let entries: Dirent<Buffer>[];
    try {
      entries = readdirSync(abs, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      // A directory that cannot be listed is said, not skipped in silence: its files are not scanned.
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      unreadable.push({ path: rel ? `${rel.shown}/` : './', reason: 'unreadable', detail: `directory: ${code}` });
      return;
    }
    entries.sort((a, b) => Buffer.compare(a.name, b.name));
    const here = useIgnore ? [...levels, { dir: rel?.shown ?? '', ig: loadIgnore(abs, entries) }] : levels;
    stack.push({ rel, levels: here, entries, next: 0 });
  };
  enter(undefined, []);
  while (stack.length > 0 || unreadable.length > 0) {
    const u = unreadable.pop();
    if (u) {
      yield u;
      continue;
    }
    const dir = stack[stack.length - 1] as OpenDir;
    const e = dir.entries[dir.next++];
    if (!e) {
      stack.pop();
      continue;
    }
    if (e.name.equals(DOT_GIT)) continue;
    const name = rawName(e.name);
    const child = dir.rel ? joinRaw(dir.rel, name) : name;
    const isDir = e.isDirectory();
    if (ignoredBy(dir.levels, child.shown, isDir)) continue;
    if (isDir) enter(child, dir.levels);
    else yield child;
  }
}

/** Files per chunk the walk hands on: an async step per file costs more than looking at the file. */
const CHUNK = 256;

/**
 * The files, in chunks. `mode`: `{ git }` lists through git in that repository; 'walk' applies .gitignore files
 * itself; 'all' ignores no file (not even via .gitignore).
 */
export async function* listFiles(root: string, mode: { git: Repo } | 'walk' | 'all'): AsyncGenerator<WalkItem[]> {
  const classified = (names: Iterable<RawName>) => {
    const items: WalkItem[] = [];
    for (const name of names) {
      const item = classify(root, name);
      if (item) items.push(item);
    }
    return items;
  };
  if (typeof mode === 'object') {
    const warnings: string[] = [];
    for await (const names of gitPaths(root, mode.git, warnings)) yield classified(names);
    // git lists nothing under a directory it cannot open and says so only on stderr: said here as skipped.
    const unreadable: WalkItem[] = [];
    for (const w of warnings) {
      const m = /^warning: could not open directory '(.*)': (.*)$/.exec(w);
      if (m) unreadable.push({ skipped: { path: m[1] as string, reason: 'unreadable', detail: `directory: ${m[2]}` } });
    }
    if (unreadable.length) yield unreadable;
    return;
  }
  let names: RawName[] = [];
  const skipped: WalkItem[] = [];
  for (const name of walkPaths(root, mode === 'walk')) {
    if ('reason' in name) {
      skipped.push({ skipped: name });
      continue;
    }
    names.push(name);
    if (names.length === CHUNK) {
      yield classified(names);
      names = [];
    }
  }
  yield [...skipped, ...classified(names)];
}
