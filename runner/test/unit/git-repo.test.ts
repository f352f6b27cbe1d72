/**
 * findRepo (scan/git.ts): which repository wasmci names to git, decided without running git in the tree. Real
 * repositories made with git; the hostile shapes (a planted `.git` file, a `.git` symlink, an empty `.git`, a bare
 * repository's files) are refused with a reason, git's own worktrees and submodules are accepted.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findRepo } from '../../src/scan/git.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'wasmci-unit-git-')));
  made.push(d);
  return d;
}
const ENV = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=T', '-c', 'user.email=t@example.test', '-c', 'protocol.file.allow=always', ...args],
    { cwd, env: ENV, encoding: 'utf8' },
  );
}
function initRepo(dir: string): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(dir, 'a.txt'), 'a\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'a');
  return dir;
}

describe('findRepo', () => {
  it('a checkout: from its top and from a subdirectory, even one holding a bare repository’s files', () => {
    const top = initRepo(path.join(tmp(), 'p'));
    const src = path.join(top, 'src');
    mkdirSync(src);
    git(src, 'init', '-q', '--bare', '.'); // HEAD, config, objects/, refs/ right in src/
    for (const d of [top, src]) expect(findRepo(d)).toEqual({ repo: { top, gitDir: path.join(top, '.git') } });
    // a symlinked path: the repository where git would run, i.e. around the link's target
    const link = path.join(initRepo(path.join(tmp(), 'elsewhere')), 'link');
    symlinkSync(src, link);
    expect(findRepo(link).repo?.top).toBe(top);
  });

  it('no repository: nothing, or why when the directory holds a bare repository’s files', () => {
    const d = tmp();
    expect(findRepo(d)).toEqual({});
    git(d, 'init', '-q', '--bare', '.');
    expect(findRepo(d).why).toMatch(/holds the files of a bare repository/);
  });

  it('a linked worktree and a submodule: their .git files are followed', () => {
    const top = initRepo(path.join(tmp(), 'main'));
    const wt = path.join(tmp(), 'wt');
    git(top, 'worktree', 'add', '-q', wt);
    expect(findRepo(wt)).toEqual({ repo: { top: wt, gitDir: path.join(top, '.git/worktrees/wt') } });

    const lib = initRepo(path.join(tmp(), 'lib'));
    git(top, 'submodule', 'add', '-q', lib, 'vendor/lib');
    const sub = path.join(top, 'vendor/lib');
    expect(findRepo(sub)).toEqual({ repo: { top: sub, gitDir: path.join(top, '.git/modules/vendor/lib') } });
  });

  it('a planted .git file, a .git symlink, an empty .git: refused with the reason', () => {
    const other = initRepo(path.join(tmp(), 'other'));
    const planted = tmp();
    writeFileSync(path.join(planted, '.git'), `gitdir: ${other}/.git\n`);
    expect(findRepo(planted).why).toMatch(/neither a worktree nor a submodule/);
    writeFileSync(path.join(planted, '.git'), 'gitdir: ../nowhere\n');
    expect(findRepo(planted).why).toMatch(/does not exist/);
    writeFileSync(path.join(planted, '.git'), 'hello\n');
    expect(findRepo(planted).why).toMatch(/without a "gitdir:" line/);

    const linked = tmp();
    symlinkSync(path.join(other, '.git'), path.join(linked, '.git'));
    expect(findRepo(linked).why).toMatch(/is a symbolic link/);

    const empty = tmp();
    mkdirSync(path.join(empty, '.git'));
    expect(findRepo(path.join(empty)).why).toMatch(/is not a git directory/);
  });
});
