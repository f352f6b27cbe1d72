/**
 * Stop secrets before they land, end to end with real git: `scan --staged`, the installed pre-commit and pre-push
 * hooks (chaining, core.hooksPath), and a real bare server repository whose hooks/pre-receive runs the built CLI —
 * `git push` refused or accepted, the server's refs checked afterwards. The real secrets plugin throughout.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli, secretsWasm, tempDir } from './helpers/cli.js';
import { GitRepo } from './helpers/git.js';
import { fakeGithubToken } from './helpers/secrets.js';

const ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Alice Example',
  GIT_AUTHOR_EMAIL: 'alice@example.test',
  GIT_COMMITTER_NAME: 'Alice Example',
  GIT_COMMITTER_EMAIL: 'alice@example.test',
  CI: '',
  GITLAB_CI: '',
  GITHUB_ACTIONS: '',
};

/** A git command that may fail (a hook refusing is the point): exit code and both streams. */
function git(dir: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync('git', ['-c', 'commit.gpgsign=false', ...args], {
    cwd: dir,
    env: { ...ENV, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const rev = (dir: string, ref: string) => git(dir, ['rev-parse', '--verify', '-q', ref]).out.trim();

beforeAll(() => {
  expect(existsSync(secretsWasm), `${secretsWasm} is missing: run bash plugins/secrets/build.sh`).toBe(true);
});

describe('wasmci scan --staged', () => {
  it('scans the index against HEAD (the empty tree before the first commit): a staged secret exits 1, clean 0', async () => {
    const repo = GitRepo.init();
    const first = fakeGithubToken();
    repo.write('config.env', `A=1\nTOKEN=${first}\n`).git('add', '-A');
    const scan = (...args: string[]) =>
      runCli(['scan', repo.dir, '--staged', '--plugin', secretsWasm, '--format', 'json', '--no-redact', ...args], {
        timeoutMs: 60_000,
      });
    // before the first commit: everything staged is added
    const unborn = await scan();
    expect(unborn.code).toBe(1);
    const report = JSON.parse(unborn.stdout.toString());
    expect(report.target.mode).toBe('staged');
    expect(
      report.findings.map((f: { path: string; startLine: number; secret: string }) => [f.path, f.startLine, f.secret]),
    ).toEqual([['config.env', 2, first]]);

    repo.commit('first');
    // the committed secret is not in the index's additions; a clean staged change passes
    repo.write('config.env', `A=2\nTOKEN=${first}\n`).git('add', '-A');
    const clean = await scan();
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout.toString()).findings).toEqual([]);

    // what is staged counts, not the work tree: a secret only in the work tree passes, staged it fails
    const second = fakeGithubToken();
    repo.write('notes.txt', `key ${second}\n`);
    expect((await scan()).code).toBe(0);
    repo.git('add', 'notes.txt');
    const staged = await scan();
    expect(staged.code).toBe(1);
    expect(JSON.parse(staged.stdout.toString()).findings.map((f: { secret: string }) => f.secret)).toEqual([second]);

    const both = await runCli(['scan', repo.dir, '--staged', '--history', '--plugin', secretsWasm]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--history and --staged cannot be combined/);
    const outside = await runCli(['scan', tempDir(), '--staged', '--plugin', secretsWasm]);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/--staged needs a git repository/);
  }, 120_000);
  it('runs no command the repository names: fsmonitor, diff.external, textconv, hooks', async () => {
    const trapDir = tempDir('wasmci-trap-');
    const script = path.join(trapDir, 'evil.sh');
    writeFileSync(script, '#!/bin/sh\ntouch "$(dirname "$0")/ran-$1"\nexit 0\n', { mode: 0o755 });
    const repo = GitRepo.init();
    const secret = fakeGithubToken();
    repo.write('.gitattributes', '*.env diff=x\n').write('app.env', `TOKEN=${secret}\n`).git('add', '-A');
    for (const [k, v] of [
      ['core.fsmonitor', `${script} fsmonitor`],
      ['diff.external', `${script} diff-external`],
      ['diff.x.textconv', `${script} textconv`],
      ['diff.x.command', `${script} diff-command`],
      ['diff.x.binary', 'true'],
      ['core.pager', `${script} pager`],
    ] as const)
      repo.git('config', k, v);
    for (const h of ['post-index-change', 'reference-transaction']) {
      writeFileSync(path.join(repo.dir, '.git/hooks', h), `#!/bin/sh\n${script} hook-${h}\n`, { mode: 0o755 });
    }
    const r = await runCli(['scan', repo.dir, '--staged', '--plugin', secretsWasm, '--format', 'json', '--no-redact'], {
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout.toString()).findings.map((f: { secret: string }) => f.secret)).toEqual([secret]);
    expect(readdirSync(trapDir)).toEqual(['evil.sh']);
  }, 60_000);
});

/** Installs a client hook with the test CLI (its absolute path goes into the hook) and the real plugin. */
async function install(dir: string, hook: string, ...extra: string[]) {
  return runCli(['hook', 'install', hook, '--plugin', secretsWasm, ...extra], {
    cwd: dir,
    env: ENV,
    timeoutMs: 30_000,
  });
}

describe('wasmci hook install pre-commit', () => {
  it('refuses a commit that adds a secret (also with commit -a), accepts a clean one, says how to go on', async () => {
    const repo = GitRepo.init();
    const r = await install(repo.dir, 'pre-commit');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toMatch(/git commit --no-verify/);
    expect(r.stdout.toString()).toMatch(/wasmci:allow/);
    const hook = readFileSync(path.join(repo.dir, '.git/hooks/pre-commit'), 'utf8');
    expect(hook).toContain(inject('cli'));
    expect(hook.startsWith('#!/bin/sh\n')).toBe(true);

    const secret = fakeGithubToken();
    repo.write('app.env', `X=1\nGITHUB=${secret}\n`);
    git(repo.dir, ['add', '-A']);
    const refused = git(repo.dir, ['commit', '-q', '-m', 'add config']);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/commit refused: 1 secret in the staged changes/);
    expect(refused.out).toMatch(/github-pat\s+app\.env:2/);
    expect(refused.out).toMatch(/git commit --no-verify/);
    expect(refused.out).toMatch(/wasmci:allow/);
    expect(refused.out).not.toContain(secret);
    expect(refused.out).not.toContain(secret.slice(0, 12));
    expect(rev(repo.dir, 'HEAD')).toBe('');

    repo.write('app.env', 'X=1\n');
    git(repo.dir, ['add', '-A']);
    const ok = git(repo.dir, ['commit', '-q', '-m', 'clean config']);
    expect(ok.code, ok.out).toBe(0);
    const head = rev(repo.dir, 'HEAD');
    expect(head).toMatch(/^[0-9a-f]{40}$/);

    // `git commit -a` commits a temporary index (GIT_INDEX_FILE): that is the one scanned
    repo.write('app.env', `X=1\nGITHUB=${secret}\n`);
    const dashA = git(repo.dir, ['commit', '-q', '-a', '-m', 'oops']);
    expect(dashA.code).toBe(1);
    expect(dashA.out).toMatch(/github-pat\s+app\.env:2/);
    expect(rev(repo.dir, 'HEAD')).toBe(head);

    // an allowed line passes
    repo.write('app.env', `X=1\nGITHUB=${secret} # wasmci:allow\n`);
    expect(git(repo.dir, ['commit', '-q', '-a', '-m', 'reviewed']).code).toBe(0);
  }, 120_000);

  it('chains a hook that was there (runs first, its failure stops the commit) and uninstall restores it', async () => {
    const repo = GitRepo.init();
    const hooks = path.join(repo.dir, '.git/hooks');
    mkdirSync(hooks, { recursive: true });
    const marker = path.join(repo.dir, '.git/old-hook-ran');
    const old = `#!/bin/sh\necho ran >> '${marker}'\n[ -e '${repo.dir}/.git/old-hook-fails' ] && exit 7\nexit 0\n`;
    writeFileSync(path.join(hooks, 'pre-commit'), old, { mode: 0o755 });
    const r = await install(repo.dir, 'pre-commit');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toMatch(/pre-commit\.wasmci-chained/);
    expect(readFileSync(path.join(hooks, 'pre-commit.wasmci-chained'), 'utf8')).toBe(old);

    repo.write('a.txt', 'clean\n');
    git(repo.dir, ['add', '-A']);
    expect(git(repo.dir, ['commit', '-q', '-m', 'one']).code).toBe(0);
    expect(readFileSync(marker, 'utf8')).toBe('ran\n');

    // the old hook's failure is the commit's failure, with its status
    writeFileSync(path.join(repo.dir, '.git/old-hook-fails'), '');
    repo.write('a.txt', 'clean 2\n');
    git(repo.dir, ['add', '-A']);
    const failed = git(repo.dir, ['commit', '-q', '-m', 'two']);
    expect(failed.code).toBe(1);
    expect(readFileSync(marker, 'utf8')).toBe('ran\nran\n');

    // a secret fails even though the old hook passes
    rmFile(path.join(repo.dir, '.git/old-hook-fails'));
    repo.write('a.txt', `${fakeGithubToken()}\n`);
    git(repo.dir, ['add', '-A']);
    expect(git(repo.dir, ['commit', '-q', '-m', 'three']).out).toMatch(/commit refused/);

    // installing again updates ours and keeps the chain
    const again = await install(repo.dir, 'pre-commit');
    expect(again.stdout.toString()).toMatch(/updated the pre-commit hook/);
    expect(readFileSync(path.join(hooks, 'pre-commit.wasmci-chained'), 'utf8')).toBe(old);

    const un = await runCli(['hook', 'uninstall', 'pre-commit'], { cwd: repo.dir, env: ENV });
    expect(un.code, un.stderr).toBe(0);
    expect(readFileSync(path.join(hooks, 'pre-commit'), 'utf8')).toBe(old);
    expect(existsSync(path.join(hooks, 'pre-commit.wasmci-chained'))).toBe(false);
    // a hook that is not ours is never removed
    const foreign = await runCli(['hook', 'uninstall', 'pre-commit'], { cwd: repo.dir, env: ENV });
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/was not installed by wasmci/);
    expect(readFileSync(path.join(hooks, 'pre-commit'), 'utf8')).toBe(old);
  }, 120_000);

  it('refuses to overwrite a stale chained hook without --force', async () => {
    const repo = GitRepo.init();
    const hooks = path.join(repo.dir, '.git/hooks');
    mkdirSync(hooks, { recursive: true });
    writeFileSync(path.join(hooks, 'pre-commit'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    writeFileSync(path.join(hooks, 'pre-commit.wasmci-chained'), '#!/bin/sh\necho stale\n', { mode: 0o755 });
    const r = await install(repo.dir, 'pre-commit');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--force/);
    expect(readFileSync(path.join(hooks, 'pre-commit'), 'utf8')).toBe('#!/bin/sh\nexit 0\n');
    const forced = await install(repo.dir, 'pre-commit', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(path.join(hooks, 'pre-commit.wasmci-chained'), 'utf8')).toBe('#!/bin/sh\nexit 0\n');
    const bad = await runCli(['hook', 'install', 'post-merge'], { cwd: repo.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown hook "post-merge"/);
  }, 60_000);

  it('installs where core.hooksPath points (relative to the work tree) and git runs it from there', async () => {
    const repo = GitRepo.init();
    repo.git('config', 'core.hooksPath', '.githooks');
    const sub = path.join(repo.dir, 'deep/dir');
    mkdirSync(sub, { recursive: true });
    const r = await install(sub, 'pre-commit');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(repo.dir, '.githooks/pre-commit'))).toBe(true);
    expect(existsSync(path.join(repo.dir, '.git/hooks/pre-commit'))).toBe(false);
    repo.write('k.txt', `${fakeGithubToken()}\n`);
    git(repo.dir, ['add', 'k.txt']);
    const refused = git(repo.dir, ['commit', '-q', '-m', 'k']);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/github-pat\s+k\.txt:1/);
  }, 60_000);
});

describe('wasmci hook install in a linked worktree', () => {
  it('installs into the common hooks dir, which git runs for every worktree', async () => {
    const repo = GitRepo.init();
    repo.write('a.txt', 'a\n').commit('base');
    const wt = path.join(tempDir('wasmci-wt-'), 'wt');
    repo.git('worktree', 'add', '-q', wt);
    const r = await install(wt, 'pre-commit');
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(repo.dir, '.git/hooks/pre-commit'))).toBe(true);
    writeFileSync(path.join(wt, 'k.txt'), `${fakeGithubToken()}\n`);
    git(wt, ['add', 'k.txt']);
    const refused = git(wt, ['commit', '-q', '-m', 'k']);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/github-pat\s+k\.txt:1/);
  }, 60_000);
});

function rmFile(p: string) {
  spawnSync('rm', ['-f', p]);
}

/** A bare "remote" and a clone of it with one pushed commit. */
function remoteAndClone() {
  const remote = path.join(tempDir('wasmci-remote-'), 'remote.git');
  git(path.dirname(remote), ['init', '-q', '--bare', '-b', 'main', remote]);
  const dir = path.join(tempDir('wasmci-clone-'), 'work');
  git(path.dirname(remote), ['clone', '-q', remote, dir]);
  const clone = new GitRepo(dir);
  clone.write('README', 'hello\n');
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'init']);
  expect(git(dir, ['push', '-q', 'origin', 'main']).code).toBe(0);
  return { remote, clone };
}

describe('wasmci hook install pre-push', () => {
  it('scans the commits being pushed: a secret added then removed is refused, clean pushes go through', async () => {
    const { remote, clone } = remoteAndClone();
    const r = await install(clone.dir, 'pre-push');
    expect(r.code, r.stderr).toBe(0);
    const before = rev(remote, 'main');

    clone.write('deploy.sh', `export GH=${fakeGithubToken()}\n`);
    git(clone.dir, ['add', '-A']);
    git(clone.dir, ['commit', '-q', '-m', 'add token']);
    const added = rev(clone.dir, 'HEAD');
    git(clone.dir, ['rm', '-q', 'deploy.sh']);
    git(clone.dir, ['commit', '-q', '-m', 'remove token']);
    const refused = git(clone.dir, ['push', 'origin', 'main']);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/push refused: 1 secret in the pushed commits/);
    expect(refused.out).toContain(`deploy.sh:1  commit ${added.slice(0, 10)}`);
    expect(refused.out).toMatch(/git push --no-verify/);
    expect(rev(remote, 'main')).toBe(before);

    // a new branch with only clean new commits: the already-pushed history is not scanned again
    git(clone.dir, ['reset', '-q', '--hard', 'origin/main']);
    git(clone.dir, ['checkout', '-q', '-b', 'feature']);
    clone.write('b.txt', 'fine\n');
    git(clone.dir, ['add', '-A']);
    git(clone.dir, ['commit', '-q', '-m', 'clean']);
    const ok = git(clone.dir, ['push', '-q', 'origin', 'feature']);
    expect(ok.code, ok.out).toBe(0);
    expect(rev(remote, 'feature')).toBe(rev(clone.dir, 'feature'));
    // deleting a branch pushes no commit
    expect(git(clone.dir, ['push', '-q', 'origin', '--delete', 'feature']).code).toBe(0);
    expect(rev(remote, 'feature')).toBe('');
  }, 120_000);
});

const CLI = () => inject('cli');

/** A real bare server repository whose hooks/pre-receive runs the built CLI; `env` lines are the server's. */
function server(opts: { env?: string; args?: string } = {}) {
  const dir = path.join(tempDir('wasmci-server-'), 'server.git');
  git(path.dirname(dir), ['init', '-q', '--bare', '-b', 'main', dir]);
  git(dir, ['config', 'receive.advertisePushOptions', 'true']);
  setHook(dir, opts);
  return dir;
}

function setHook(dir: string, opts: { env?: string; args?: string } = {}) {
  const file = path.join(dir, 'hooks/pre-receive');
  writeFileSync(
    file,
    `#!/bin/sh\n${opts.env ?? ''}\nexec '${process.execPath}' '${CLI()}' hook pre-receive --plugin '${secretsWasm}' ${opts.args ?? ''}\n`,
  );
  chmodSync(file, 0o755);
}

function client(remote: string) {
  const dir = path.join(tempDir('wasmci-client-'), 'work');
  git(path.dirname(remote), ['clone', '-q', remote, dir]);
  return new GitRepo(dir);
}

function commitFile(repo: GitRepo, file: string, content: string, msg: string): string {
  repo.write(file, content);
  git(repo.dir, ['add', '-A']);
  expect(git(repo.dir, ['commit', '-q', '-m', msg]).code).toBe(0);
  return rev(repo.dir, 'HEAD');
}

describe('wasmci hook pre-receive (a real bare server repository)', () => {
  it('refuses a push whose commits add a secret, even if a later one removes it; the branch does not move', async () => {
    const srv = server();
    const c = client(srv);
    const base = commitFile(c, 'README', 'hello\n', 'init');
    const first = git(c.dir, ['push', 'origin', 'main']);
    expect(first.code, first.out).toBe(0);
    expect(rev(srv, 'main')).toBe(base);

    const secret = fakeGithubToken();
    const added = commitFile(c, 'src/settings.py', `DEBUG = True\n\nGITHUB_TOKEN = "${secret}"\n`, 'settings');
    git(c.dir, ['rm', '-q', 'src/settings.py']);
    git(c.dir, ['commit', '-q', '-m', 'oops, remove']);
    const refused = git(c.dir, ['push', 'origin', 'main']);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/pre-receive hook declined/);
    expect(refused.out).toMatch(/remote: wasmci: push refused: 1 secret in the pushed commits/);
    expect(refused.out).toContain(`github-pat  src/settings.py:3  commit ${added.slice(0, 10)}`);
    expect(refused.out).toMatch(/git rebase -i/);
    expect(refused.out).not.toContain(secret);
    expect(refused.out).not.toContain(secret.slice(4, 14));
    // no skip offered where the server does not allow it
    expect(refused.out).not.toMatch(/wasmci\.skip/);
    expect(rev(srv, 'main')).toBe(base);
    // the refused objects stayed in the quarantine: the server does not have the commit
    expect(git(srv, ['cat-file', '-e', added]).code).not.toBe(0);

    // a clean push is accepted
    git(c.dir, ['reset', '-q', '--hard', base]);
    const clean = commitFile(c, 'src/settings.py', 'DEBUG = True\n', 'settings, clean');
    const ok = git(c.dir, ['push', 'origin', 'main']);
    expect(ok.code, ok.out).toBe(0);
    expect(rev(srv, 'main')).toBe(clean);
  }, 120_000);

  it('force pushes, new branches and tags are scanned; a deletion passes', async () => {
    const srv = server();
    const c = client(srv);
    const base = commitFile(c, 'README', 'hello\n', 'init');
    commitFile(c, 'a.txt', 'one\n', 'one');
    expect(git(c.dir, ['push', '-q', 'origin', 'main']).code).toBe(0);
    const tip = rev(srv, 'main');

    // force push: history rewritten to a commit with a secret
    git(c.dir, ['reset', '-q', '--hard', base]);
    commitFile(c, 'a.txt', `one ${fakeGithubToken()}\n`, 'rewritten');
    const forced = git(c.dir, ['push', '--force', 'origin', 'main']);
    expect(forced.code).not.toBe(0);
    expect(forced.out).toMatch(/github-pat {2}a\.txt:1/);
    expect(rev(srv, 'main')).toBe(tip);
    // a clean force push is accepted
    git(c.dir, ['reset', '-q', '--hard', base]);
    const rewritten = commitFile(c, 'a.txt', 'one, again\n', 'rewritten clean');
    expect(git(c.dir, ['push', '-q', '--force', 'origin', 'main']).code).toBe(0);
    expect(rev(srv, 'main')).toBe(rewritten);

    // a new branch from an old commit: only its own commit is scanned, and it has a secret
    git(c.dir, ['checkout', '-q', '-b', 'topic', base]);
    commitFile(c, 'b.txt', `${fakeGithubToken()}\n`, 'topic');
    const branch = git(c.dir, ['push', 'origin', 'topic']);
    expect(branch.code).not.toBe(0);
    expect(branch.out).toMatch(/github-pat {2}b\.txt:1/);
    expect(rev(srv, 'refs/heads/topic')).toBe('');

    // a new annotated tag on a commit that is not on the server yet is scanned through
    const tagged = commitFile(c, 'c.txt', `${fakeGithubToken()}\n`, 'tagged');
    git(c.dir, ['tag', '-a', '-m', 'release', 'v1', tagged]);
    const tag = git(c.dir, ['push', 'origin', 'v1']);
    expect(tag.code).not.toBe(0);
    expect(tag.out).toMatch(/github-pat {2}c\.txt:1/);
    expect(rev(srv, 'refs/tags/v1')).toBe('');
    // a tag on a commit the server has brings nothing new: accepted
    git(c.dir, ['tag', '-a', '-m', 'base', 'v0', base]);
    expect(git(c.dir, ['push', '-q', 'origin', 'v0']).code).toBe(0);
    expect(rev(srv, 'refs/tags/v0^{commit}')).toBe(base);

    // deletions pass (a secret elsewhere in the history does not matter for them)
    git(c.dir, ['checkout', '-q', 'main']);
    git(c.dir, ['push', '-q', 'origin', `${base}:refs/heads/old`]);
    expect(rev(srv, 'refs/heads/old')).toBe(base);
    const del = git(c.dir, ['push', 'origin', '--delete', 'old', 'v0']);
    expect(del.code, del.out).toBe(0);
    expect(rev(srv, 'refs/heads/old')).toBe('');
    expect(rev(srv, 'refs/tags/v0')).toBe('');
  }, 180_000);

  it('push option wasmci.skip is honoured only when the server sets WASMCI_ALLOW_SKIP=1', async () => {
    const srv = server();
    const c = client(srv);
    commitFile(c, 'README', 'hello\n', 'init');
    expect(git(c.dir, ['push', '-q', 'origin', 'main']).code).toBe(0);
    const tip = rev(srv, 'main');
    const withSecret = commitFile(c, 'fixture.txt', `${fakeGithubToken()}\n`, 'test fixture');

    // the pusher alone cannot skip the scan
    const notAllowed = git(c.dir, ['push', '-o', 'wasmci.skip', 'origin', 'main']);
    expect(notAllowed.code).not.toBe(0);
    expect(notAllowed.out).toMatch(/push option wasmci\.skip is not allowed on this server/);
    expect(rev(srv, 'main')).toBe(tip);

    setHook(srv, { env: 'WASMCI_ALLOW_SKIP=1; export WASMCI_ALLOW_SKIP' });
    const noOption = git(c.dir, ['push', 'origin', 'main']);
    expect(noOption.code).not.toBe(0);
    expect(noOption.out).toMatch(/git push -o wasmci\.skip/);
    const skipped = git(c.dir, ['push', '-o', 'wasmci.skip', 'origin', 'main']);
    expect(skipped.code, skipped.out).toBe(0);
    expect(skipped.out).toMatch(/scan skipped by push option wasmci\.skip/);
    expect(rev(srv, 'main')).toBe(withSecret);
  }, 120_000);

  it('keeps to its time budget: past it the push is refused (closed) or accepted unscanned (open), said on stderr', async () => {
    const srv = server({ args: '--timeout 0.001' });
    const c = client(srv);
    commitFile(c, 'README', 'hello\n', 'init');
    const closed = git(c.dir, ['push', 'origin', 'main']);
    expect(closed.code).not.toBe(0);
    expect(closed.out).toMatch(/push refused: the scan did not finish within 0\.001 s \(--on-timeout closed\)/);
    expect(rev(srv, 'main')).toBe('');
    setHook(srv, { args: '--timeout 0.001 --on-timeout open' });
    const open = git(c.dir, ['push', 'origin', 'main']);
    expect(open.code, open.out).toBe(0);
    expect(open.out).toMatch(/did not finish within 0\.001 s: push ACCEPTED UNSCANNED \(--on-timeout open\)/);
    expect(rev(srv, 'main')).toBe(rev(c.dir, 'HEAD'));
  }, 120_000);

  it('a wrapper that clears the quarantine environment makes the push fail, not pass unscanned', async () => {
    const srv = server();
    const file = path.join(srv, 'hooks/pre-receive');
    writeFileSync(
      file,
      `#!/bin/sh\nexec env -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES -u GIT_QUARANTINE_PATH '${process.execPath}' '${CLI()}' hook pre-receive --plugin '${secretsWasm}'\n`,
    );
    const c = client(srv);
    commitFile(c, 'README', 'hello\n', 'init');
    const r = git(c.dir, ['push', 'origin', 'main']);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/the pushed object [0-9a-f]{40} is not visible to git/);
    expect(r.out).toMatch(/GIT_QUARANTINE_PATH/);
    expect(rev(srv, 'main')).toBe('');
  }, 60_000);

  it('refuses what is not a ref update line, and a directory that is not a repository', async () => {
    const srv = server();
    const bad = await runCli(['hook', 'pre-receive', '--plugin', secretsWasm], {
      cwd: srv,
      env: { GIT_DIR: '.' },
      stdin: '--all HEAD refs/heads/main\n',
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not a ref update line git writes/);
    const notRepo = await runCli(['hook', 'pre-receive'], { cwd: tempDir(), stdin: '' });
    expect(notRepo.code).toBe(2);
    expect(notRepo.stderr).toMatch(/is not a git repository/);
  }, 60_000);
});
