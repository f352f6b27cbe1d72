/**
 * git is how wasmci reads a checkout, and the checkout is hostile: files a merge request commits (a bare
 * repository's HEAD, config, objects/, refs/), a `.git/` with hostile config in a tree that is not a checkout, and
 * `.gitattributes`. Each test plants the attack in a real repository built here and drives the real CLI:
 *  - git immunity: every command git could run (fsmonitor, hooks, pager, diff.external, textconv, filters, merge
 *    drivers, transports) leaves a mark in a trap directory outside the tree, which must stay empty; a hostile
 *    `core.worktree` must not move the scan out of the tree; the planted secret is still found;
 *  - the merge-request gate (--diff) and --history cannot be bypassed by a lone CR, by attributes that make text
 *    "binary", by adding and removing a secret inside the merge request, or by adding it in a merge commit.
 */
import { chmodSync, cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, runCli, tempDir } from './helpers/cli.js';
import { GitRepo } from './helpers/git.js';
import { fakeFixtureToken } from './helpers/secrets.js';

interface F {
  path: string;
  startLine: number;
  secret: string;
  commit?: { sha: string };
}
interface Report {
  findings: F[];
  skipped: { path: string; reason: string; detail?: string }[];
  target: { root: string; mode: string };
}

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  made.push(d);
  return d;
}

async function scan(target: string, args: string[] = []) {
  const r = await runCli([
    'scan',
    target,
    '--plugin',
    fixture('scanfix.wasm'),
    '--format',
    'json',
    '--no-redact',
    ...args,
  ]);
  let report: Report | undefined;
  try {
    report = JSON.parse(r.stdout.toString('utf8')) as Report;
  } catch {}
  const findings = report?.findings ?? [];
  return { ...r, report, findings, secrets: findings.map((f) => f.secret).sort() };
}

/**
 * A directory outside every scanned tree where hostile commands leave a mark (`ran-<what>`): a test fails if any
 * file but the script itself appears.
 */
function trap() {
  const d = dir('wasmci-trap-');
  const script = path.join(d, 'evil.sh');
  writeFileSync(script, '#!/bin/sh\ntouch "$(dirname "$0")/ran-$1"\nexit 0\n');
  chmodSync(script, 0o755);
  return {
    cmd: (what: string) => `${script} ${what}`,
    ran: () => readdirSync(d).filter((n) => n !== 'evil.sh'),
  };
}

const HOOKS = ['post-index-change', 'reference-transaction', 'post-checkout', 'post-merge', 'pre-auto-gc'];

/** Config that reaches every git feature able to run a command, and moves the work tree to `worktree`. */
function hostileConfig(t: ReturnType<typeof trap>, worktree: string, bare = false): string {
  return `[core]
	repositoryformatversion = 0
	bare = ${bare}
	worktree = ${worktree}
	fsmonitor = ${t.cmd('fsmonitor')}
	pager = ${t.cmd('pager')}
	sshCommand = ${t.cmd('ssh')}
	askPass = ${t.cmd('askpass')}
[pager]
	log = ${t.cmd('pager-log')}
	diff = ${t.cmd('pager-diff')}
	ls-files = ${t.cmd('pager-ls-files')}
[diff]
	external = ${t.cmd('diff-external')}
	submodule = diff
	interHunkContext = 10
	suppressBlankEmpty = true
[diff "x"]
	textconv = ${t.cmd('textconv')}
	command = ${t.cmd('diff-command')}
	binary = true
[filter "x"]
	clean = ${t.cmd('filter-clean')}
	smudge = ${t.cmd('filter-smudge')}
	required = true
[merge "x"]
	driver = ${t.cmd('merge-driver')}
[log]
	showRoot = false
[protocol]
	allow = always
[remote "origin"]
	url = ext::${t.cmd('ext-transport')}
	fetch = +refs/heads/*:refs/remotes/origin/*
`;
}

function plantHooks(hooksDir: string, t: ReturnType<typeof trap>): void {
  mkdirSync(hooksDir, { recursive: true });
  for (const h of HOOKS) {
    writeFileSync(path.join(hooksDir, h), `#!/bin/sh\n${t.cmd(`hook-${h}`)}\n`);
    chmodSync(path.join(hooksDir, h), 0o755);
  }
}

/** The files of a bare repository (HEAD, config, objects/, refs/, hooks/) written into `at`, with hostile config. */
function plantBareRepo(at: string, t: ReturnType<typeof trap>, worktree: string): void {
  const bare = dir('wasmci-bare-');
  new GitRepo(bare).git('init', '-q', '--bare', '.');
  cpSync(bare, at, { recursive: true });
  // empty directories are not committed; a clone of the merge request would still have these
  for (const d of ['objects/info', 'objects/pack', 'refs/heads', 'refs/tags'])
    writeFileSync(path.join(at, d, '.keep'), '');
  writeFileSync(path.join(at, 'config'), hostileConfig(t, worktree));
  plantHooks(path.join(at, 'hooks'), t);
}

describe('git runs no command from the scanned tree', () => {
  it('(a) a bare repository committed under src/ of a checkout: `scan src`, --diff and --history', async () => {
    const t = trap();
    const repo = GitRepo.init(dir('wasmci-hg-a-'));
    repo.write('README.md', 'project\n').commit('base');
    const base = repo.head();
    const token = fakeFixtureToken();
    repo.write('src/app.env', `TOKEN=${token}\n`);
    plantBareRepo(path.join(repo.dir, 'src'), t, '..');
    const mr = repo.commit('merge request: repository files under src/');
    const src = path.join(repo.dir, 'src');

    for (const args of [[], ['--diff', base], ['--history']]) {
      const r = await scan(src, args);
      expect(t.ran(), `scan src ${args.join(' ')}`).toEqual([]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.secrets).toEqual([token]);
      if (args.length) {
        // the checkout's own repository, not the committed one: the finding carries the merge request's commit
        expect(r.findings[0]?.commit?.sha).toBe(mr);
        expect(r.report?.target.root).toBe(repo.dir);
      }
    }
  });

  it('(b) a directory that is not a checkout, with a bare repository at its top', async () => {
    const t = trap();
    const d = dir('wasmci-hg-b-');
    plantBareRepo(d, t, '.');
    const token = fakeFixtureToken();
    writeFileSync(path.join(d, 'app.env'), `TOKEN=${token}\n`);

    const r = await scan(d);
    expect(t.ran()).toEqual([]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.secrets).toEqual([token]);

    // not a repository wasmci will use: no history from the planted objects, a clear error instead
    for (const args of [['--history'], ['--diff', 'HEAD']]) {
      const h = await scan(d, args);
      expect(t.ran()).toEqual([]);
      expect(h.code).toBe(2);
      expect(h.stderr).toMatch(/needs a git repository/);
      expect(h.stderr).toMatch(/bare repository/);
    }
  });

  it('(c) a tree that is not a checkout, with a hostile .git/: fsmonitor, core.worktree, diff.external, textconv, filters, hooks', async () => {
    const t = trap();
    const outside = dir('wasmci-hg-outside-');
    const outsideToken = fakeFixtureToken();
    writeFileSync(path.join(outside, 'outside-only.env'), `TOKEN=${outsideToken}\n`);

    const repo = GitRepo.init(dir('wasmci-hg-c-'));
    const rootToken = fakeFixtureToken();
    repo.write('.gitattributes', '* filter=x diff=x merge=x\n');
    repo.write('app.env', `TOKEN=${rootToken}\n`);
    repo.write('notes.txt', 'a\n\nb\n');
    repo.commit('root');
    const base = repo.head();
    const added = fakeFixtureToken();
    // two additions one unchanged blank line apart: with interHunkContext and suppressBlankEmpty from the hostile
    // config they would become one hunk whose blank context line is printed empty
    repo.write('notes.txt', `a\nfirst addition\n\nkey = ${added}\nb\n`);
    const second = repo.commit('second');
    const untracked = fakeFixtureToken();
    writeFileSync(path.join(repo.dir, 'untracked.env'), `TOKEN=${untracked}\n`);
    writeFileSync(path.join(repo.dir, '.git/config'), hostileConfig(t, outside));
    plantHooks(path.join(repo.dir, '.git/hooks'), t);

    const files = await scan(repo.dir);
    expect(t.ran()).toEqual([]);
    expect(files.code, files.stderr).toBe(1);
    expect(files.secrets).toEqual([rootToken, added, untracked].sort());
    expect(files.stdout.toString()).not.toMatch(/outside-only/);

    const diff = await scan(repo.dir, ['--diff', base]);
    expect(t.ran()).toEqual([]);
    expect(diff.code, diff.stderr).toBe(1);
    expect(diff.findings.map((f) => [f.path, f.startLine, f.secret, f.commit?.sha])).toEqual([
      ['notes.txt', 4, added, second],
    ]);
    expect(diff.report?.target.root).toBe(repo.dir);

    const history = await scan(repo.dir, ['--history']);
    expect(t.ran()).toEqual([]);
    expect(history.code, history.stderr).toBe(1);
    expect(history.secrets).toEqual([rootToken, added].sort()); // log.showRoot=false must not hide the root commit
    expect(history.stdout.toString()).not.toMatch(/outside-only/);
  });
});

describe('git starts no transport', () => {
  it('a partial clone whose promisor remote is an ext:: command: nothing is fetched, a clear error', async () => {
    const t = trap();
    const server = GitRepo.init(dir('wasmci-hg-server-'));
    server.write('a.env', `TOKEN=${fakeFixtureToken()}\n`).commit('one');
    server.git('config', 'uploadpack.allowFilter', 'true');
    const clone = dir('wasmci-hg-partial-');
    server.git('clone', '-q', '--filter=blob:none', '--no-checkout', `file://${server.dir}`, clone);
    const repo = new GitRepo(clone);
    expect(repo.git('count-objects', '-v')).toMatch(/^count: 0$/m); // the blob is missing: git would fetch it
    repo.git('config', 'remote.origin.url', `ext::${t.cmd('ext-transport')}`);
    repo.git('config', 'protocol.allow', 'always');

    const r = await scan(clone, ['--history']);
    expect(t.ran()).toEqual([]);
    expect(r.code).toBe(3);
    // git ends with exit 128 ("… from promisor remote") or, as often under load, by SIGPIPE after "transport 'ext'
    // not allowed": either is an error, never a scan of nothing that passes
    expect(r.stderr).toMatch(/git log failed.*(promisor remote|signal SIGPIPE\): fatal: transport 'ext' not allowed)/);
    expect(r.stderr).toMatch(/hint: this is a partial clone/);
  });
});

describe("git reads no repository but the tree's own", () => {
  it('a .git file pointing at another repository on the runner is not followed', async () => {
    const victim = GitRepo.init(dir('wasmci-hg-victim-'));
    const victimToken = fakeFixtureToken();
    victim.write('deploy.env', `TOKEN=${victimToken}\n`).commit('another project, with a secret in its history');
    const d = dir('wasmci-hg-gitfile-');
    writeFileSync(path.join(d, '.git'), `gitdir: ${path.join(victim.dir, '.git')}\n`);
    const token = fakeFixtureToken();
    writeFileSync(path.join(d, 'app.env'), `TOKEN=${token}\n`);

    const files = await scan(d);
    expect(files.code, files.stderr).toBe(1);
    expect(files.secrets).toEqual([token]);
    expect(files.stderr).toMatch(/neither a worktree nor a submodule.*not used; listing the files without git/);

    for (const args of [['--history'], ['--diff', 'HEAD']]) {
      const r = await scan(d, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/needs a git repository.*neither a worktree nor a submodule/s);
      expect(r.stdout.toString() + r.stderr).not.toContain(victimToken);
    }
  });

  it('a linked worktree (a .git file git wrote) is still scanned through git, history included', async () => {
    const repo = GitRepo.init(dir('wasmci-hg-main-'));
    const token = fakeFixtureToken();
    repo.write('.gitignore', 'ignored.env\n').write('app.env', `TOKEN=${token}\n`);
    const c = repo.commit('one');
    const wt = path.join(dir('wasmci-hg-wt-'), 'wt');
    repo.git('worktree', 'add', '-q', wt);
    writeFileSync(path.join(wt, 'ignored.env'), `TOKEN=${fakeFixtureToken()}\n`);
    const files = await scan(wt);
    expect(files.stderr).toBe('');
    expect(files.secrets).toEqual([token]); // .gitignore applied by git: ignored.env is not scanned
    const history = await scan(wt, ['--history']);
    expect(history.findings.map((f) => [f.path, f.secret, f.commit?.sha])).toEqual([['app.env', token, c]]);
  });
});

describe('the merge-request gate cannot be bypassed', () => {
  it('(a) a lone CR in an added line hides nothing after it', async () => {
    const repo = GitRepo.init(dir('wasmci-hg-cr-'));
    repo.write('README.md', 'project\n').commit('base');
    const base = repo.head();
    const afterCr = fakeFixtureToken();
    const nextLine = fakeFixtureToken();
    repo.write('notes.txt', `harmless\r${afterCr}\n# a comment\r# more\nkey = ${nextLine}\n`).commit('mr');
    for (const args of [['--diff', base], ['--history']]) {
      const r = await scan(repo.dir, args);
      expect(r.code, r.stderr).toBe(1);
      expect(r.findings.map((f) => [f.path, f.startLine, f.secret])).toEqual([
        ['notes.txt', 1, afterCr],
        ['notes.txt', 3, nextLine],
      ]);
    }
  });

  it('(b) .gitattributes cannot turn added text into skipped "binary" files; real binaries are still skipped', async () => {
    const repo = GitRepo.init(dir('wasmci-hg-attr-'));
    repo.write('README.md', 'project\n').commit('base');
    const base = repo.head();
    const t1 = fakeFixtureToken();
    const t2 = fakeFixtureToken();
    const t3 = fakeFixtureToken();
    repo.write('.gitattributes', '* -diff\n*.env binary\n*.cfg diff=x\n');
    repo.write('a.txt', `TOKEN=${t1}\n`);
    repo.write('b.env', `TOKEN=${t2}\n`);
    repo.write('c.cfg', `TOKEN=${t3}\n`);
    repo.write('real.bin', Buffer.concat([Buffer.from('\x7fELF\0\0\0'), Buffer.from(`${fakeFixtureToken()}\n`)]));
    repo.commit('mr');
    for (const args of [['--diff', base], ['--history']]) {
      const r = await scan(repo.dir, args);
      expect(r.code, r.stderr).toBe(1);
      expect(r.secrets).toEqual([t1, t2, t3].sort());
      expect(r.report?.skipped.map((s) => [s.path, s.reason])).toEqual([['real.bin', 'binary']]);
    }
  });

  it('(c) a secret added and removed again inside the merge request is found, with its commit', async () => {
    const repo = GitRepo.init(dir('wasmci-hg-rm-'));
    repo.write('README.md', 'project\n').write('keep.env', 'A=1\n').commit('base');
    const base = repo.head();
    const removed = fakeFixtureToken();
    const kept = fakeFixtureToken();
    repo.write('leak.env', `TOKEN=${removed}\n`).write('keep.env', `A=1\nB=${kept}\n`);
    const c1 = repo.commit('add credentials');
    repo.write('leak.env', 'TOKEN=$CI_TOKEN\n');
    repo.commit('oops, use a variable');
    repo.write('keep.env', `# header\nA=1\nB=${kept}\n`);
    repo.commit('a header line');

    const r = await scan(repo.dir, ['--diff', base]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.report?.target.mode).toBe('diff');
    expect(
      r.findings
        .map((f) => [f.path, f.startLine, f.secret, f.commit?.sha])
        .sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    ).toEqual([
      ['keep.env', 2, kept, c1],
      ['leak.env', 1, removed, c1],
    ]);
  });

  it('(d) a secret a merge commit adds (evil merge, conflict resolution) is found once, and nothing twice', async () => {
    const repo = GitRepo.init(dir('wasmci-hg-merge-'));
    repo.write('main.txt', 'm1\nm2\n').write('conf.txt', 'key = 1\n').commit('base');
    const base = repo.head();
    repo.git('checkout', '-q', '-b', 'side');
    const sideToken = fakeFixtureToken();
    repo.write('side.txt', `TOKEN=${sideToken}\n`).write('conf.txt', 'key = 2\n');
    const sideCommit = repo.commit('side work');
    repo.git('checkout', '-q', 'main');
    repo.write('conf.txt', 'key = 3\n').commit('main work');
    try {
      repo.git('-c', 'user.name=A', '-c', 'user.email=a@example.test', 'merge', '-q', '--no-commit', '--no-ff', 'side');
    } catch {} // conf.txt conflicts: resolved below
    const evil = fakeFixtureToken();
    const resolution = fakeFixtureToken();
    const newFile = fakeFixtureToken();
    repo.write('main.txt', `m1\nEVIL=${evil}\nm2\n`);
    repo.write('conf.txt', `key = ${resolution}\n`);
    repo.write('added-in-merge.txt', `x\n${newFile}\n`);
    const merge = repo.commit('merge side');
    expect(repo.git('rev-list', '--parents', '-1', merge).trim().split(' ')).toHaveLength(3);

    const expected = [
      ['added-in-merge.txt', 2, newFile, merge],
      ['conf.txt', 1, resolution, merge],
      ['main.txt', 2, evil, merge],
      ['side.txt', 1, sideToken, sideCommit],
    ];
    for (const args of [['--history'], ['--diff', base]]) {
      const r = await scan(repo.dir, args);
      expect(r.code, r.stderr).toBe(1);
      const got = r.findings
        .map((f) => [f.path, f.startLine, f.secret, f.commit?.sha])
        .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
      expect(got, args.join(' ')).toEqual(expected);
    }
  });
});
