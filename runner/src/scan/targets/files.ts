/**
 * The files of a directory, as a stream: through git when the directory is in a work tree (tracked and untracked
 * files, .gitignore and .git/info/exclude honoured exactly as git does), otherwise a walk that applies .gitignore
 * files itself. Symlinks are never followed: a link could point anywhere on the runner's disk.
 */
import { spawn } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { RuntimeError } from '../../errors.js';
import type { SkippedFile } from '../model.js';

export interface DiskFile {
  /** Relative to the scan root, with forward slashes. */
  path: string;
  abs: string;
  size: number;
}

export type WalkItem = { file: DiskFile } | { skipped: SkippedFile };

/** lstat, synchronously: one syscall of microseconds, cheaper than a thread-pool round trip per file. */
function classify(root: string, rel: string): WalkItem | undefined {
  const abs = path.join(root, rel);
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

/** NUL-separated paths from `git ls-files`, streamed. */
async function* gitPaths(root: string): AsyncGenerator<string> {
  const child = spawn(
    'git',
    ['-c', 'core.quotePath=false', 'ls-files', '-co', '--exclude-standard', '--deduplicate', '-z'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  let rest = '';
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    const parts = (rest + chunk.toString('utf8')).split('\0');
    rest = parts.pop() ?? '';
    for (const p of parts) {
      if (p) yield p;
    }
  }
  if (rest) yield rest;
  const code = await exited;
  if (code !== 0) throw new RuntimeError(`git ls-files failed in ${root}: ${stderr.trim()}`);
}

interface Level {
  dir: string; // relative to root, '' for the root
  ig?: Ignore;
}

async function loadIgnore(abs: string): Promise<Ignore | undefined> {
  try {
    return ignore().add(await readFile(path.join(abs, '.gitignore'), 'utf8'));
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

/** A walk outside git: .gitignore files at every level, `.git` directories skipped, sorted for determinism. */
async function* walkPaths(root: string, useIgnore: boolean, rel = '', levels: Level[] = []): AsyncGenerator<string> {
  const abs = rel ? path.join(root, rel) : root;
  const here = useIgnore ? [...levels, { dir: rel, ig: await loadIgnore(abs) }] : levels;
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(abs, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name === '.git') continue;
    const child = rel ? `${rel}/${e.name}` : e.name;
    const isDir = e.isDirectory();
    if (ignoredBy(here, child, isDir)) continue;
    if (isDir) yield* walkPaths(root, useIgnore, child, here);
    else yield child;
  }
}

/** `mode`: 'git' lists through git; 'walk' applies .gitignore files itself; 'all' ignores no file (not even via .gitignore). */
export async function* listFiles(root: string, mode: 'git' | 'walk' | 'all'): AsyncGenerator<WalkItem> {
  const paths = mode === 'git' ? gitPaths(root) : walkPaths(root, mode === 'walk');
  for await (const rel of paths) {
    const item = classify(root, rel);
    if (item) yield item;
  }
}
