/**
 * The CLI where users run it: in pipes (`| head -1`), from a deleted directory, with report targets that are
 * devices, FIFOs, links or stdout, with missing GitHub file-command paths; fingerprints independent of the directory
 * named on the command line; the ignore triage loop; archives; and no silent scans. Every case runs the built CLI;
 * pipes are real shell pipes; "no stack trace" means no `    at ` frame on stderr.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import { fixture, runCli, secretsWasm, tempDir } from './helpers/cli.js';
import { GitRepo } from './helpers/git.js';
import { fakeFixtureToken } from './helpers/secrets.js';

const STACK = /^\s+at /m;
const scanfix = () => fixture('scanfix.wasm');

/** Runs `wasmci ARGS | TAIL` in bash; returns the CLI's own exit status (PIPESTATUS[0]) and the pipeline's output. */
function piped(args: string[], tail: string, cwd: string): Promise<{ status: number; stdout: string; stderr: string }> {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = `${q(process.execPath)} ${q(inject('cli'))} ${args.map(q).join(' ')} | ${tail}; echo "status=\${PIPESTATUS[0]}" >&2`;
  const child = spawn('bash', ['-c', cmd], { cwd, env: { ...process.env, CI: '', GITLAB_CI: '', GITHUB_ACTIONS: '' } });
  return collect(child).then(({ stdout, stderr }) => {
    const m = /status=(\d+)\s*$/.exec(stderr);
    return { status: Number(m?.[1] ?? -1), stdout, stderr: stderr.replace(/status=\d+\s*$/, '') };
  });
}

/** A child's exit code and output as text, killed after 60 s (the pipe and other-user runs spawn by hand). */
function collect(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (c) => {
      out += c;
    });
    child.stderr?.on('data', (c) => {
      err += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: out, stderr: err });
    });
  });
}

/** A repository with many findings: a JSON report far larger than a pipe's 64 KiB buffer. */
function leakyRepo(n = 3000): GitRepo {
  const repo = GitRepo.init();
  const lines = Array.from({ length: n }, () => `token = ${fakeFixtureToken()}`).join('\n');
  repo.write('src/many.cfg', `${lines}\n`).commit('leaky');
  return repo;
}

describe('no stack trace, ever', () => {
  it('scan --format json | head -1: quiet, exit 1 (the findings), reports still written', async () => {
    const repo = leakyRepo();
    const report = path.join(repo.dir, '..', `${path.basename(repo.dir)}-r.json`);
    const r = await piped(
      ['scan', '.', '--plugin', scanfix(), '--format', 'json', '--report', `json=${report}`],
      'head -1',
      repo.dir,
    );
    expect(r.stdout).toBe('{\n');
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr).not.toMatch(/EPIPE|internal error/);
    expect(r.status).toBe(1);
    expect(JSON.parse(readFileSync(report, 'utf8')).findings).toHaveLength(3000);
  }, 90_000);

  it('scan text output | head -1 and inspect --json | head -1: quiet', async () => {
    const repo = leakyRepo(2000);
    const a = await piped(['scan', '.', '--plugin', scanfix()], 'head -1', repo.dir);
    expect(a.stderr).not.toMatch(STACK);
    expect(a.status).toBe(1);
    const b = await piped(['inspect', secretsWasm, '--json'], 'head -1', repo.dir);
    expect(b.stdout).toBe('{\n');
    expect(b.stderr).not.toMatch(STACK);
    expect(b.status).toBe(0);
  }, 90_000);

  it('ignore add --file <a directory>: a usage error naming it', async () => {
    const dir = tempDir();
    const r = await runCli(['ignore', 'add', 'a'.repeat(64), '--file', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`ignore file ${dir} cannot be read (it is a directory)`);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('a deleted working directory: exit 2, says so and what to do', async () => {
    const dir = tempDir();
    const gone = path.join(dir, 'gone');
    mkdirSync(gone);
    const q = (s: string) => `'${s}'`;
    const out = execFileSync(
      'bash',
      [
        '-c',
        `cd ${q(gone)} && rmdir ${q(gone)} && ${q(process.execPath)} ${q(inject('cli'))} scan ${q(dir)} 2>&1; echo "status=$?"`,
      ],
      { encoding: 'utf8' },
    );
    expect(out).toContain('wasmci: error: the working directory no longer exists (ENOENT)');
    expect(out).toContain('hint: cd into an existing directory');
    expect(out).not.toMatch(STACK);
    expect(out).toMatch(/status=2\s*$/);
  });

  it('a missing GITHUB_OUTPUT file: a warning, findings and exit code unchanged', async () => {
    const repo = GitRepo.init();
    repo.write('a.cfg', `k=${fakeFixtureToken()}\n`).commit('a');
    const r = await runCli(['scan', repo.dir, '--plugin', scanfix()], {
      env: {
        GITHUB_ACTIONS: 'true',
        GITHUB_OUTPUT: path.join(repo.dir, 'no/such/dir/output'),
        GITHUB_STEP_SUMMARY: '',
      },
    });
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toContain('a.cfg');
    // A GitHub warning annotation (report/ci/github.ts): shown on the run's page, where the user looks.
    expect(r.stdout.toString()).toMatch(/::warning::wasmci: could not write GITHUB_OUTPUT \(.*Missing file at path/);
    expect(r.stderr).not.toMatch(STACK);
  });
});

describe('report targets', () => {
  it('--report json=- writes the report to stdout and the text to stderr', async () => {
    const repo = GitRepo.init();
    const token = fakeFixtureToken();
    repo.write('a.cfg', `k=${token}\n`).commit('a');
    const r = await runCli(['scan', '.', '--plugin', scanfix(), '--report', 'json=-'], { cwd: repo.dir });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout.toString());
    expect(report.findings.map((f: { path: string }) => f.path)).toEqual(['a.cfg']);
    expect(r.stderr).toContain('a.cfg');
    const two = await runCli(['scan', '.', '--plugin', scanfix(), '--report', 'json=-', '--report', 'sarif=-'], {
      cwd: repo.dir,
    });
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('only one report can go to stdout');
  });

  it('/dev/null is written in place, /dev/full is a clear ENOSPC error after the findings', async () => {
    const repo = GitRepo.init();
    repo.write('a.cfg', `k=${fakeFixtureToken()}\n`).commit('a');
    const before = lstatSync('/dev/full');
    const ok = await runCli(['scan', '.', '--plugin', scanfix(), '--report', 'json=/dev/null'], { cwd: repo.dir });
    expect(ok.code).toBe(1);
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
    const full = await runCli(['scan', '.', '--plugin', scanfix(), '--report', 'json=/dev/full'], { cwd: repo.dir });
    expect(full.code).toBe(3);
    expect(full.stdout.toString()).toContain('a.cfg'); // the findings came first
    expect(full.stderr).toContain('cannot write the json report /dev/full: no space left on the device (ENOSPC)');
    expect(full.stderr).not.toMatch(STACK);
    const after = lstatSync('/dev/full');
    expect(after.isCharacterDevice()).toBe(true);
    expect(after.rdev).toBe(before.rdev);
  });

  it('--report json=/dev/stdout with stdout redirected to a file: the text, then the report, in that file', async () => {
    const repo = GitRepo.init();
    repo.write('a.cfg', `k=${fakeFixtureToken()}\n`).commit('a');
    const out = path.join(tempDir(), 'out.txt');
    const q = (s: string) => `'${s}'`;
    execFileSync(
      'bash',
      [
        '-c',
        `${q(process.execPath)} ${q(inject('cli'))} scan . --plugin ${q(scanfix())} --report json=/dev/stdout > ${q(out)}; true`,
      ],
      { cwd: repo.dir, env: { ...process.env, CI: '', GITHUB_ACTIONS: '' } },
    );
    const text = readFileSync(out, 'utf8');
    const at = text.indexOf('{\n');
    expect(text.slice(0, at)).toContain('1 finding');
    expect(JSON.parse(text.slice(at)).findings).toHaveLength(1);
  });

  it("wasmci run prints each step's findings before its reports; an unwritable report is a clear error", async () => {
    const repo = GitRepo.init();
    repo.write('a.cfg', `k=${fakeFixtureToken()}\n`).commit('a');
    const cfg = path.join(tempDir(), 'run.yml');
    writeFileSync(
      cfg,
      `run:\n  reports: { json: /dev/full }\n  steps:\n    - name: secrets\n      scan: { path: ${repo.dir}, plugin: ${scanfix()} }\n`,
    );
    const r = await runCli(['run', '-c', cfg], { cwd: repo.dir });
    expect(r.code).toBe(3);
    const stdout = r.stdout.toString();
    expect(stdout).toMatch(/a\.cfg\n\s+1:3\s+high\s+fake-token/);
    expect(r.stderr).toContain('cannot write the json report /dev/full: no space left on the device (ENOSPC)');
    expect(r.stderr).not.toMatch(STACK);
  });

  it('a FIFO outside the checkout is written in place', async () => {
    const repo = GitRepo.init();
    repo.write('a.cfg', `k=${fakeFixtureToken()}\n`).commit('a');
    const fifo = path.join(tempDir(), 'report.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = new Promise<string>((resolve) => {
      const cat = spawn('cat', [fifo]);
      let s = '';
      cat.stdout.on('data', (c) => {
        s += c;
      });
      cat.on('close', () => resolve(s));
    });
    const r = await runCli(['scan', '.', '--plugin', scanfix(), '--report', `json=${fifo}`], { cwd: repo.dir });
    expect(r.code).toBe(1);
    expect(JSON.parse(await reader).findings).toHaveLength(1);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('a symlink planted in the checkout is replaced, never followed; the user’s own link outside is followed', async () => {
    const repo = GitRepo.init();
    repo.write('a.cfg', `k=${fakeFixtureToken()}\n`).commit('a');
    const victim = path.join(tempDir(), 'bashrc');
    writeFileSync(victim, 'precious\n');
    const planted = path.join(repo.dir, 'gl-secret-detection-report.json');
    symlinkSync(victim, planted);
    const r = await runCli(['scan', '.', '--plugin', scanfix(), '--report', `gitlab=${planted}`], { cwd: repo.dir });
    expect(r.code).toBe(1);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(planted).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(planted, 'utf8')).vulnerabilities).toHaveLength(1);

    const out = tempDir();
    const target = path.join(out, 'real.json');
    const link = path.join(out, 'link.json');
    symlinkSync(target, link);
    const own = await runCli(['scan', '.', '--plugin', scanfix(), '--report', `json=${link}`], { cwd: repo.dir });
    expect(own.code).toBe(1);
    expect(readlinkSync(link)).toBe(target);
    expect(JSON.parse(readFileSync(target, 'utf8')).findings).toHaveLength(1);
  });

  it('a report path that is a directory names the path and the fix', async () => {
    const repo = GitRepo.init();
    repo.write('a.cfg', `k=${fakeFixtureToken()}\n`).commit('a');
    const dir = tempDir();
    const r = await runCli(['scan', '.', '--plugin', scanfix(), '--report', `json=${dir}`], { cwd: repo.dir });
    expect(r.code).toBe(3);
    expect(r.stdout.toString()).toContain('a.cfg');
    expect(r.stderr).toContain(`cannot write the json report ${dir}: it is a directory`);
  });
});

const asRoot = process.getuid?.() === 0;

/** Runs the built CLI as another user (uid/gid 65534; when not root: as ourselves), from a world-readable copy. */
function runAsOther(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const bin = tempDir('wasmci-nobody-');
  for (const f of ['wasmci.cjs', 'plugin-worker.cjs'])
    copyFileSync(path.join(path.dirname(inject('cli')), f), path.join(bin, f));
  copyFileSync(scanfix(), path.join(bin, 'scanfix.wasm'));
  execFileSync('chmod', ['-R', 'a+rX', bin]);
  const child = spawn(
    process.execPath,
    [path.join(bin, 'wasmci.cjs'), ...args.map((a) => a.replace('@scanfix', path.join(bin, 'scanfix.wasm')))],
    {
      cwd,
      uid: 65534,
      gid: 65534,
      env: { PATH: process.env.PATH, HOME: '/nonexistent' },
    },
  );
  return collect(child);
}

describe('as a user who cannot write the tree (the container case)', () => {
  it('an unwritable report names uid, owner and fix after the findings; an unreadable directory is listed', async () => {
    const tree = tempDir('wasmci-owned-');
    writeFileSync(path.join(tree, 'a.cfg'), `k=${fakeFixtureToken()}\n`);
    mkdirSync(path.join(tree, 'locked'));
    writeFileSync(path.join(tree, 'locked', 'b.cfg'), `k=${fakeFixtureToken()}\n`);
    execFileSync('chmod', [asRoot ? '755' : '555', tree]);
    execFileSync('chmod', [asRoot ? '700' : '000', path.join(tree, 'locked')]);
    const uid = asRoot ? 65534 : process.getuid?.();
    const gid = asRoot ? 65534 : process.getgid?.();
    execFileSync('chmod', ['755', path.dirname(tree)]);
    const r = await runAsOther(['scan', '.', '--plugin', '@scanfix', '--report', 'gitlab=gl.json'], tree);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('a.cfg'); // the findings came first
    expect(r.stderr).toContain(
      `cannot write the gitlab report ${path.join(tree, 'gl.json')}: permission denied (EACCES): wasmci runs as uid ${uid} (gid ${gid}), and ${tree} is owned by uid ${process.getuid?.()} (mode ${asRoot ? '755' : '555'})`,
    );
    expect(r.stderr).toContain('--user "$(id -u):$(id -g)"');
    expect(r.stderr).not.toMatch(/disk space/);
    expect(r.stderr).toContain('1 unreadable path(s) skipped, not scanned: locked/ (directory: EACCES)');
    expect(r.stderr).not.toMatch(STACK);
    // the same tree as a git work tree: git lists nothing under locked/ and says so only on stderr
    execFileSync('chmod', ['u+w', tree]);
    execFileSync('git', ['init', '-q', tree]);
    execFileSync('chmod', ['-R', 'a+rX', path.join(tree, '.git')]);
    execFileSync('chmod', [asRoot ? '755' : '555', tree]);
    const g = await runAsOther(['scan', '.', '--plugin', '@scanfix'], tree);
    expect(g.code).toBe(1);
    expect(g.stderr).toContain('1 unreadable path(s) skipped, not scanned: locked/ (directory: Permission denied)');
  });
});

describe('fingerprints do not depend on the directory named', () => {
  it('scan . and scan src, from the top and from src, give the same fingerprint and GitLab id', async () => {
    const repo = GitRepo.init();
    const token = fakeFixtureToken();
    repo.write('src/app.cfg', `a=${token}\nb=1\nc=${token}\n`).commit('a');
    const runs = [
      { cwd: repo.dir, dir: '.' },
      { cwd: repo.dir, dir: 'src' },
      { cwd: path.join(repo.dir, 'src'), dir: '.' },
    ];
    const seen: { fps: string[]; ids: string[]; cq: string[]; sarif: string[]; paths: string[] }[] = [];
    for (const run of runs) {
      const out = tempDir();
      const r = await runCli(
        [
          'scan',
          run.dir,
          '--plugin',
          scanfix(),
          '--report',
          `json=${out}/r.json`,
          '--report',
          `gitlab=${out}/gl.json`,
          '--report',
          `codequality=${out}/cq.json`,
          '--report',
          `sarif=${out}/r.sarif`,
        ],
        { cwd: run.cwd },
      );
      expect(r.code).toBe(1);
      const json = JSON.parse(readFileSync(`${out}/r.json`, 'utf8'));
      const gl = JSON.parse(readFileSync(`${out}/gl.json`, 'utf8'));
      const cq = JSON.parse(readFileSync(`${out}/cq.json`, 'utf8'));
      const sarif = JSON.parse(readFileSync(`${out}/r.sarif`, 'utf8'));
      seen.push({
        fps: json.findings.map((f: { fingerprint: string }) => f.fingerprint),
        ids: gl.vulnerabilities.map((v: { id: string }) => v.id),
        cq: cq.map((i: { fingerprint: string }) => i.fingerprint),
        sarif: sarif.runs[0].results.map(
          (x: { partialFingerprints: Record<string, string> }) => x.partialFingerprints['wasmciFingerprint/v1'],
        ),
        paths: gl.vulnerabilities.map((v: { location: { file: string } }) => v.location.file),
      });
    }
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[2]).toEqual(seen[0]);
    const first = seen[0] as (typeof seen)[number];
    expect(first.paths).toEqual(['src/app.cfg', 'src/app.cfg']);
    // the same secret twice in one file: one fingerprint, two distinct ids everywhere else
    expect(new Set(first.fps).size).toBe(1);
    expect(new Set(first.ids).size).toBe(2);
    expect(new Set(first.cq).size).toBe(2);
    expect(new Set(first.sarif).size).toBe(2);
  }, 90_000);

  it('an ignore file with the old (scan-relative) fingerprint still matches, with a warning', async () => {
    const repo = GitRepo.init();
    const token = fakeFixtureToken();
    repo.write('src/app.cfg', `a=${token}\n`).commit('a');
    const { createHash } = await import('node:crypto');
    const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
    const old = sha(`app.cfg\0fake-token\0${sha(token)}`);
    writeFileSync(path.join(repo.dir, 'src/.wasmciignore'), `${old}\n`);
    const r = await runCli(['scan', 'src', '--plugin', scanfix()], { cwd: repo.dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('1 by the ignore file finding(s) matched through the old fingerprint');
  });
});

describe('ignore add / list / remove', () => {
  it('add takes the printed 16-digit prefix (from a report or a scan), list shows it, remove takes a prefix', async () => {
    const repo = GitRepo.init();
    repo.write('a.cfg', `k=${fakeFixtureToken()}\nj=${fakeFixtureToken()}\n`).commit('a');
    const report = path.join(tempDir(), 'r.json');
    const s = await runCli(['scan', '.', '--plugin', scanfix(), '--report', `json=${report}`], { cwd: repo.dir });
    const printed = [...s.stdout.toString().matchAll(/fingerprint ([0-9a-f]{16})/g)].map((m) => m[1] as string);
    expect(printed).toHaveLength(2);
    const full = JSON.parse(readFileSync(report, 'utf8')).findings.map((f: { fingerprint: string }) => f.fingerprint);

    const add = await runCli(['ignore', 'add', printed[0] as string, '--from', report, '--reason', 'test fixture'], {
      cwd: repo.dir,
    });
    expect(add.code).toBe(0);
    expect(add.stdout.toString()).toContain(`added ${full[0]}`);
    // without --from: resolved by a scan of the ignore file's directory
    const add2 = await runCli(['ignore', 'add', printed[1] as string, '--plugin', scanfix()], { cwd: repo.dir });
    expect(add2.code).toBe(0);
    expect(add2.stdout.toString()).toContain(`added ${full[1]}`);
    const again = await runCli(['ignore', 'add', printed[0] as string], { cwd: repo.dir });
    expect(again.stdout.toString()).toContain('already present');

    const list = await runCli(['ignore', 'list'], { cwd: repo.dir });
    expect(list.stdout.toString()).toContain(`${full[0]}  # test fixture`);
    expect(list.stdout.toString()).toContain('2 entries');
    const after = await runCli(['scan', '.', '--plugin', scanfix()], { cwd: repo.dir });
    expect(after.code).toBe(0);

    const rm = await runCli(['ignore', 'remove', printed[0] as string], { cwd: repo.dir });
    expect(rm.code).toBe(0);
    expect(rm.stdout.toString()).toContain(`removed ${full[0]}`);
    const text = readFileSync(path.join(repo.dir, '.wasmciignore'), 'utf8');
    expect(text).not.toContain(full[0]);
    expect(text).toContain(full[1]);
    expect(text).toContain('# wasmci ignore file');

    const unknown = await runCli(['ignore', 'add', 'deadbeefdeadbeef', '--from', report], { cwd: repo.dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no finding in');
  }, 90_000);
});

describe('archives', () => {
  it('finds secrets in zip, jar, tar, tar.gz and a zip nested in a tgz; --no-archives and --archive-depth', async () => {
    const dir = tempDir();
    const t = Array.from({ length: 4 }, () => fakeFixtureToken());
    const stage = path.join(dir, 'stage');
    mkdirSync(path.join(stage, 'conf'), { recursive: true });
    writeFileSync(path.join(stage, 'conf/app.properties'), `key=${t[0]}\n`);
    const tree = path.join(dir, 'tree');
    mkdirSync(tree);
    execFileSync('zip', ['-qr', path.join(tree, 'app.jar'), 'conf'], { cwd: stage });
    writeFileSync(path.join(stage, 'conf/app.properties'), `key=${t[1]}\n`);
    execFileSync('tar', ['cf', path.join(tree, 'b.tar'), 'conf'], { cwd: stage });
    writeFileSync(path.join(stage, 'conf/app.properties'), `key=${t[2]}\n`);
    execFileSync('zip', ['-qr', path.join(stage, 'inner.zip'), 'conf'], { cwd: stage });
    execFileSync('tar', ['czf', path.join(tree, 'c.tgz'), 'inner.zip'], { cwd: stage });
    // path tricks: an absolute name and ../ in a tar (written with -P), a symlink member
    writeFileSync(path.join(stage, 'evil.txt'), `key=${t[3]}\n`);
    symlinkSync('/etc/passwd', path.join(stage, 'link'));
    execFileSync('tar', ['cPf', path.join(tree, 'd.tar'), `${stage}/evil.txt`, 'link'], { cwd: stage });

    const r = await runCli(['scan', tree, '--plugin', scanfix(), '--format', 'json', '--no-redact']);
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout.toString());
    const found = rep.findings.map((f: { path: string; secret: string }) => [f.path, f.secret]);
    expect(found).toEqual([
      ['app.jar!conf/app.properties', t[0]],
      ['b.tar!conf/app.properties', t[1]],
      ['c.tgz!inner.zip!conf/app.properties', t[2]],
      [`d.tar!${stage.slice(1)}/evil.txt`, t[3]],
    ]);
    expect(rep.skipped).toContainEqual({
      path: 'd.tar!link',
      reason: 'symlink',
      detail: 'link members are not followed',
    });
    expect(existsSync('/etc/passwd')).toBe(true);

    const off = await runCli(['scan', tree, '--plugin', scanfix(), '--format', 'json', '--no-archives']);
    expect(off.code).toBe(0);
    const shallow = await runCli(['scan', tree, '--plugin', scanfix(), '--format', 'json', '--archive-depth', '1']);
    const sp = JSON.parse(shallow.stdout.toString());
    expect(sp.findings.map((f: { path: string }) => f.path)).not.toContain('c.tgz!inner.zip!conf/app.properties');
    expect(sp.skipped).toContainEqual({
      path: 'c.tgz!inner.zip',
      reason: 'excluded',
      detail: 'archive nested deeper than --archive-depth 1',
    });
  }, 90_000);

  it('a zip bomb is refused by ratio and size, reported as skipped; other members are still scanned', async () => {
    const dir = tempDir();
    const stage = path.join(dir, 'stage');
    mkdirSync(stage);
    writeFileSync(path.join(stage, 'zeros.txt'), Buffer.alloc(64 * 1024 * 1024));
    const token = fakeFixtureToken();
    writeFileSync(path.join(stage, 'ok.txt'), `k=${token}\n`);
    const tree = path.join(dir, 'tree');
    mkdirSync(tree);
    execFileSync('zip', ['-q', path.join(tree, 'bomb.zip'), 'zeros.txt', 'ok.txt'], { cwd: stage });
    rmSync(stage, { recursive: true });
    const r = await runCli(['scan', tree, '--plugin', scanfix(), '--format', 'json']);
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout.toString());
    expect(rep.findings.map((f: { path: string }) => f.path)).toEqual(['bomb.zip!ok.txt']);
    expect(rep.skipped).toContainEqual(expect.objectContaining({ path: 'bomb.zip!zeros.txt', reason: 'too-large' }));
    expect(r.peakRssMiB).toBeLessThan(400);
  }, 90_000);
});

describe('silence is a bug', () => {
  it('zero files scanned warns with the cause: an --include typo, an empty directory', async () => {
    const repo = GitRepo.init();
    repo.write('src/a.cfg', 'x=1\n').commit('a');
    const typo = await runCli(['scan', '.', '--plugin', scanfix(), '--include', 'scr/**'], { cwd: repo.dir });
    expect(typo.stderr).toContain('no file was scanned: no file matched --include scr/** (1 file(s) left out');
    const empty = tempDir();
    const e = await runCli(['scan', empty, '--plugin', scanfix()]);
    expect(e.stderr).toContain('no file was scanned:');
    expect(e.stderr).toContain('holds no file to scan');
  });

  it('unknown rule ids: from flags a usage error with the closest id; from the tree a warning', async () => {
    const repo = GitRepo.init();
    repo.write('a.cfg', `k=${fakeFixtureToken()}\n`).commit('a');
    const flag = await runCli(['scan', '.', '--plugin', scanfix(), '--config', 'disable=fake-tokn'], {
      cwd: repo.dir,
    });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('disable: no rule "fake-tokn" (did you mean fake-token?)');
    const sev = await runCli(['scan', '.', '--plugin', scanfix(), '--config', 'severity={"fake-tokne":"low"}'], {
      cwd: repo.dir,
    });
    expect(sev.code).toBe(2);
    expect(sev.stderr).toContain('severity: no rule "fake-tokne" (did you mean fake-token?)');
    repo.write('.wasmci.yml', 'version: 1\nscan:\n  plugin_config: { disable: "fake-tokn" }\n');
    const tree = await runCli(['scan', '.', '--plugin', scanfix()], { cwd: repo.dir });
    expect(tree.code).toBe(1);
    expect(tree.stderr).toContain(
      'the checked-out tree\'s plugin config names unknown rules: disable: no rule "fake-tokn"',
    );
    // the same file outside the checkout is the pipeline's own: an error
    const outside = path.join(tempDir(), 'wasmci.yml');
    writeFileSync(outside, 'version: 1\nscan:\n  plugin_config: { disable: "fake-tokn" }\n');
    const trusted = await runCli(['scan', '.', '--plugin', scanfix(), '--config-file', outside], { cwd: repo.dir });
    expect(trusted.code).toBe(2);
    expect(trusted.stderr).toContain('disable: no rule "fake-tokn" (did you mean fake-token?)');
  });

  it('--log-level info says what was scanned and why files were skipped', async () => {
    const repo = GitRepo.init();
    repo
      .write('a.cfg', 'x=1\n')
      .write('b.bin', Buffer.from([0, 1, 2, 0, 0, 3]))
      .commit('a');
    const r = await runCli(['scan', '.', '--plugin', scanfix(), '--log-level', 'info', '--exclude', 'zzz*'], {
      cwd: repo.dir,
    });
    expect(r.stderr).toMatch(
      /wasmci info: scanned 1 file\(s\), 4 bytes, in \. \(files, \.gitignore honoured\); skipped: binary 1/,
    );
  });
});
