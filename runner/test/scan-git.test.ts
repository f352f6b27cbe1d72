/**
 * `wasmci scan --diff` and `--history` on real git repositories built by the tests: added lines only, at their
 * real line numbers; every commit's additions with commit, author and date; renames; shallow clones.
 */
import { describe, expect, it } from 'vitest';
import { fixture, runCli } from './helpers/cli.js';
import { ALICE, type Author, GitRepo } from './helpers/git.js';
import { fakeFixtureToken } from './helpers/secrets.js';

interface F {
  path: string;
  startLine: number;
  startColumn: number;
  secret: string;
  fingerprint: string;
  commit?: { sha: string; author?: string; email?: string; date?: string };
}

const BOB: Author = { name: 'Bob Builder', email: 'bob@example.test', date: '2024-06-02T08:30:00+00:00' };

async function scan(dir: string, args: string[], env: Record<string, string> = {}) {
  const r = await runCli(
    ['scan', dir, '--plugin', fixture('scanfix.wasm'), '--format', 'json', '--no-redact', ...args],
    {
      env,
    },
  );
  let findings: F[] = [];
  let report: { target: { mode: string }; skipped: { path: string; reason: string }[] } | undefined;
  try {
    report = JSON.parse(r.stdout.toString());
    findings = (report as unknown as { findings: F[] }).findings;
  } catch {}
  return { ...r, findings, report };
}

const lines = (n: number, prefix = 'line') => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`).join('\n');

describe('wasmci scan --diff', () => {
  it('reports only secrets the branch adds, at their line in the new file', async () => {
    const repo = GitRepo.init();
    const old = fakeFixtureToken();
    repo.write('app.cfg', `${lines(10)}\nold=${old}\n${lines(5, 'tail')}\n`).commit('base');
    const base = repo.head();
    repo.git('checkout', '-q', '-b', 'feature');
    const added = fakeFixtureToken();
    const content = `${lines(3)}\ninserted\n${lines(10).split('\n').slice(3).join('\n')}\nold=${old}\n${lines(5, 'tail')}\n  key = ${added}\n`;
    repo.write('app.cfg', content);
    const newFile = fakeFixtureToken();
    repo.write('new/creds.txt', `a\nb\n${newFile}\n`).commit('feature work');

    const r = await scan(repo.dir, ['--diff', base]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const expectedLine = content.split('\n').findIndex((l) => l.includes(added)) + 1;
    expect(r.findings.map((f) => [f.path, f.startLine, f.startColumn, f.secret])).toEqual([
      ['app.cfg', expectedLine, 9, added],
      ['new/creds.txt', 3, 1, newFile],
    ]);
    expect(r.report?.target.mode).toBe('diff');

    // --diff with no value takes GitLab's merge request base
    const ci = await scan(repo.dir, ['--diff'], { CI_MERGE_REQUEST_DIFF_BASE_SHA: base });
    expect(ci.findings.map((f) => f.secret)).toEqual([added, newFile]);
    const noBase = await runCli(['scan', repo.dir, '--plugin', fixture('scanfix.wasm'), '--diff']);
    expect(noBase.code).toBe(2);
    expect(noBase.stderr).toMatch(/CI_MERGE_REQUEST_DIFF_BASE_SHA/);
  });

  it('follows a rename: only lines added to the renamed file count, under the new path', async () => {
    const repo = GitRepo.init();
    const old = fakeFixtureToken();
    repo.write('old/name.env', `${lines(20)}\nA=${old}\n`).commit('base');
    const base = repo.head();
    repo.mv('old/name.env', 'new/name.env');
    const added = fakeFixtureToken();
    repo.write('new/name.env', `${lines(20)}\nA=${old}\nB=${added}\n`).commit('rename and add');
    const r = await scan(repo.dir, ['--diff', base]);
    expect(r.findings.map((f) => [f.path, f.startLine, f.secret])).toEqual([['new/name.env', 22, added]]);
  });

  it('in a shallow clone without the base, exits 2 and says how to fetch more history', async () => {
    const repo = GitRepo.init();
    repo.write('a.txt', 'one\n').commit('one');
    const base = repo.head();
    repo.write('a.txt', 'two\n').commit('two');
    repo.write('a.txt', 'three\n').commit('three');
    const clone = repo.shallowClone(1);
    const r = await runCli(['scan', clone.dir, '--plugin', fixture('scanfix.wasm'), '--diff', base]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not in this clone \(it is a shallow clone\)/);
    expect(r.stderr).toMatch(/git fetch --deepen=100 origin/); // outside CI: the command, no CI variable
    expect(r.stderr).not.toMatch(/fatal:/);
  });

  it('refuses revisions that look like options and non-repositories', async () => {
    const repo = GitRepo.init();
    repo.write('a.txt', 'x\n').commit('x');
    const r = await runCli(['scan', repo.dir, '--plugin', fixture('scanfix.wasm'), '--diff=--output=/tmp/pwned']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a valid git revision/);
    const notRepo = await runCli(['scan', '/tmp', '--plugin', fixture('scanfix.wasm'), '--history']);
    expect(notRepo.code).toBe(2);
    expect(notRepo.stderr).toMatch(/needs a git repository/);
  });
});

describe('wasmci scan --history', () => {
  it("finds secrets in every commit's additions, even removed ones, with commit, author and date", async () => {
    const repo = GitRepo.init();
    const first = fakeFixtureToken();
    repo.write('README.md', '# app\n').commit('init');
    repo.write('deploy.sh', `#!/bin/sh\nexport TOKEN=${first}\n`);
    const c1 = repo.commit('add deploy', ALICE);
    repo.write('deploy.sh', '#!/bin/sh\nexport TOKEN="$CI_TOKEN"\n').commit('remove the token', ALICE);
    const second = fakeFixtureToken();
    repo.write('src/x.js', `${lines(4)}\nconst k = "${second}";\n`);
    const c2 = repo.commit('add x', BOB);
    repo.mv('src/x.js', 'src/y.js');
    repo.commit('rename x', BOB);

    const r = await scan(repo.dir, ['--history']);
    expect(r.code).toBe(1);
    expect(r.report?.target.mode).toBe('history');
    const got = r.findings.map((f) => ({ path: f.path, line: f.startLine, secret: f.secret, commit: f.commit }));
    expect(got).toEqual([
      {
        path: 'deploy.sh',
        line: 2,
        secret: first,
        commit: { sha: c1, author: ALICE.name, email: ALICE.email, date: '2024-05-01T10:00:00+00:00' },
      },
      {
        path: 'src/x.js',
        line: 5,
        secret: second,
        commit: { sha: c2, author: BOB.name, email: BOB.email, date: '2024-06-02T08:30:00+00:00' },
      },
    ]);
    // the pure rename adds nothing, so the secret is not reported again under src/y.js

    const range = await scan(repo.dir, ['--history', `${c1}..HEAD`]);
    expect(range.findings.map((f) => f.secret)).toEqual([second]);
  });

  it('scans a shallow clone with a warning instead of failing', async () => {
    const repo = GitRepo.init();
    const t = fakeFixtureToken();
    repo.write('a.txt', `${t}\n`).commit('one');
    repo.write('b.txt', 'two\n').commit('two');
    const clone = repo.shallowClone(1);
    const r = await scan(clone.dir, ['--history']);
    expect(r.stderr).toMatch(/shallow clone.*git fetch --unshallow origin/s);
    expect(r.code).toBe(1); // the boundary commit carries the whole tree, so the token is still seen
    expect(r.findings.map((f) => f.secret)).toEqual([t]);
  });

  it("says how to get more history in the CI's own words (GitLab, GitHub, a terminal)", async () => {
    const repo = GitRepo.init();
    repo.write('a.txt', 'one\n').commit('one');
    const base = repo.git('rev-parse', 'HEAD').trim();
    repo.write('b.txt', 'two\n').commit('two');
    const clone = repo.shallowClone(1);
    const gitlab = await scan(clone.dir, [`--diff=${base}`], { GITLAB_CI: 'true' });
    expect(gitlab.code).toBe(2);
    expect(gitlab.stderr).toMatch(
      /shallow clone[\s\S]*GIT_DEPTH: 0 \(a larger depth\) in the job's variables, or run `git fetch --deepen=100 origin`/,
    );
    const github = await scan(clone.dir, [`--diff=${base}`], { GITHUB_ACTIONS: 'true' });
    expect(github.stderr).toMatch(
      /set `fetch-depth: 0` \(a larger depth\) under `with:` of actions\/checkout, or run `git fetch --deepen=100 origin`/,
    );
    const terminal = await scan(clone.dir, [`--diff=${base}`]);
    expect(terminal.stderr).toMatch(/fetch more history: run `git fetch --deepen=100 origin` before the scan/);
    expect(terminal.stderr).not.toMatch(/GIT_DEPTH|fetch-depth/);
  });
});
