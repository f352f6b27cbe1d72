/**
 * `wasmci scan` on directories: the walk (.gitignore, symlinks, binaries, size limit), exit codes, redaction,
 * faults in the plugin (trap, timeout, lying answer) and instance recycling. Runs the real CLI with the real
 * secrets plugin and with the scanfix fixture plugin (fault injection).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, repoRoot, runCli, secretsWasm, tempDir } from './helpers/cli.js';
import { GitRepo } from './helpers/git.js';
import { fakeFixtureToken, fakeGithubToken } from './helpers/secrets.js';

interface JsonFinding {
  ruleId: string;
  path: string;
  startLine: number;
  startColumn: number;
  secret: string;
  severity: string;
  fingerprint: string;
  secretHash: string;
}
interface JsonReport {
  findings: JsonFinding[];
  skipped: { path: string; reason: string }[];
  errors: { path?: string; message: string }[];
  stats: { files: number; bytes: number };
  redacted: boolean;
}

const scanfix = () => fixture('scanfix.wasm');

function tree(files: Record<string, string | Buffer>): string {
  const dir = tempDir('wasmci-scan-');
  for (const [rel, content] of Object.entries(files)) {
    const f = path.join(dir, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, content);
  }
  return dir;
}

async function scanJson(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = await runCli(['scan', '--format', 'json', ...args], { timeoutMs: 60_000, ...opts });
  let report: JsonReport | undefined;
  try {
    report = JSON.parse(r.stdout.toString('utf8'));
  } catch {}
  return { ...r, report };
}

/** Every byte the CLI produced, plus every file it wrote under `dirs`. */
function everything(r: { stdout: Buffer; stderr: string }, dirs: string[] = []): string {
  const parts = [r.stdout.toString('utf8'), r.stderr];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && e.name !== '.git') walk(p);
      else if (e.isFile()) parts.push(readFileSync(p, 'utf8'));
    }
  };
  for (const d of dirs) walk(d);
  return parts.join('\n');
}

describe('wasmci scan: targets', () => {
  it('walks a plain directory honouring nested .gitignore files, and reports binaries, big files and symlinks as skipped', async () => {
    const outside = tempDir('wasmci-outside-');
    const outsideToken = fakeFixtureToken();
    writeFileSync(path.join(outside, 'secret.txt'), `token ${outsideToken}\n`);
    const t = {
      kept: fakeFixtureToken(),
      ignored: fakeFixtureToken(),
      nested: fakeFixtureToken(),
      big: fakeFixtureToken(),
      bin: fakeFixtureToken(),
    };
    const dir = tree({
      '.gitignore': 'build/\n*.log\n',
      'src/app.js': `const a = 1;\nconst key = "${t.kept}";\n`,
      'build/out.js': `x = "${t.ignored}"\n`,
      'debug.log': `${t.ignored}\n`,
      'sub/.gitignore': 'private.txt\n',
      'sub/private.txt': `${t.nested}\n`,
      'big.txt': `${t.big}\n${'x'.repeat(2 * 1024 * 1024)}\n`,
      'blob.bin': Buffer.concat([Buffer.from([0, 1, 2, 0]), Buffer.from(t.bin)]),
    });
    symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'link.txt'));
    const r = await scanJson([dir, '--plugin', scanfix(), '--max-file-size', '1', '--fail-on', 'none']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = r.report as JsonReport;
    expect(rep.findings.map((f) => [f.path, f.startLine, f.startColumn])).toEqual([['src/app.js', 2, 14]]);
    const skipped = Object.fromEntries(rep.skipped.map((s) => [s.path, s.reason]));
    expect(skipped).toMatchObject({ 'big.txt': 'too-large', 'blob.bin': 'binary', 'link.txt': 'symlink' });
    expect(Object.keys(skipped)).not.toContain('build/out.js');
    expect(r.stdout.toString()).not.toContain(outsideToken.slice(11, 18));
  });

  it('in a git work tree lists tracked and untracked files but not ignored ones', async () => {
    const repo = GitRepo.init();
    const tracked = fakeFixtureToken();
    const untracked = fakeFixtureToken();
    const ignored = fakeFixtureToken();
    repo.write('.gitignore', 'secret-local.env\n').write('a.txt', `${tracked}\n`).commit('init');
    repo.write('b.txt', `${untracked}\n`).write('secret-local.env', `${ignored}\n`);
    // .git/info/exclude is honoured too: only git knows it, so this proves the git path is taken
    repo.write('.git/info/exclude', 'c.txt\n').write('c.txt', `${fakeFixtureToken()}\n`);
    const r = await scanJson([repo.dir, '--plugin', scanfix()]);
    expect(r.code).toBe(1);
    expect((r.report as JsonReport).findings.map((f) => f.path).sort()).toEqual(['a.txt', 'b.txt']);
  });
});

describe('wasmci scan: exit codes and errors', () => {
  it('exits 0 when nothing reaches the threshold and 1 when something does', async () => {
    const dir = tree({ 'a.txt': `${fakeFixtureToken('M')}\n` });
    expect((await scanJson([dir, '--plugin', scanfix(), '--fail-on', 'high'])).code).toBe(0);
    expect((await scanJson([dir, '--plugin', scanfix(), '--fail-on', 'medium'])).code).toBe(1);
    expect((await scanJson([dir, '--plugin', scanfix()])).code).toBe(1); // default threshold: low
    expect((await scanJson([dir, '--plugin', scanfix(), '--fail-on', 'none'])).code).toBe(0);
    const clean = tree({ 'a.txt': 'nothing here\n' });
    const r = await scanJson([clean, '--plugin', scanfix()]);
    expect(r.code).toBe(0);
    expect(r.report?.stats.files).toBe(1);
  });

  it.each([
    [['--fail-on', 'severe'], /fail-on/],
    [['--shard', '3/2'], /--shard must be INDEX\/TOTAL/],
    [['--report', 'pdf=out.pdf'], /unknown format "pdf"/],
    [['--report', 'json'], /not FORMAT=FILE/],
    [['--jobs', '0'], /--jobs must be a positive whole number/],
    [['--diff', 'main', '--history'], /cannot be combined/],
    [['--plugin', '/nonexistent/p.wasm'], /does not exist/],
    [['--baseline', '/nonexistent/b.json'], /baseline .* cannot be read/],
  ])('exits 2 on bad usage: %s', async (args, message) => {
    const dir = tree({ 'a.txt': 'x\n' });
    const r = await runCli(['scan', dir, '--plugin', scanfix(), ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('exits 2 when PATH is not a directory and names it', async () => {
    const r = await runCli(['scan', '/nonexistent/dir', '--plugin', scanfix()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/nonexistent/dir is not a directory');
  });

  it('reports a trapping file, replaces the instance and scans every other file (exit 3 without findings)', async () => {
    const files: Record<string, string> = {};
    const tokens: string[] = [];
    for (let i = 0; i < 12; i++) {
      const t = fakeFixtureToken('L');
      tokens.push(t);
      files[`f${String(i).padStart(2, '0')}.txt`] = `line\n${t}\n`;
    }
    files['f05.txt'] = 'WASMCI_TRAP_ME\n';
    const dir = tree(files);
    const r = await scanJson([dir, '--plugin', scanfix(), '--jobs', '2', '--fail-on', 'high']);
    expect(r.code).toBe(3);
    const rep = r.report as JsonReport;
    expect(rep.errors).toHaveLength(1);
    expect(rep.errors[0]?.path).toBe('f05.txt');
    expect(rep.errors[0]?.message).toMatch(/trap/);
    expect(rep.findings).toHaveLength(11);
    expect(r.stderr).toMatch(/could not be scanned/);
    // with findings over the threshold, findings decide the exit code
    expect((await scanJson([dir, '--plugin', scanfix(), '--fail-on', 'low'])).code).toBe(1);
  });

  it('stops a plugin that loops (timeout), names the files of that batch, and goes on with the rest', async () => {
    // a file over the 4 MiB batch size is a batch of its own, so the looping file's batch holds only itself
    const big = fakeFixtureToken();
    const dir = tree({ 'a-big.txt': `${big}\n${'z'.repeat(4.5 * 1024 * 1024)}\n`, 'b-spin.txt': 'WASMCI_SPIN_ME\n' });
    const r = await scanJson([dir, '--plugin', scanfix(), '--timeout', '1500', '--jobs', '1']);
    const rep = r.report as JsonReport;
    expect(rep.errors).toEqual([{ path: 'b-spin.txt', message: expect.stringMatching(/timeout/) }]);
    expect(rep.findings.map((f) => f.path)).toEqual(['a-big.txt']);
    expect(r.code).toBe(1);
  });

  it('rejects a plugin answer that names a file outside the batch', async () => {
    const dir = tree({ 'a.txt': 'WASMCI_BAD_ANSWER\n', 'b.txt': `${fakeFixtureToken()}\n` });
    const r = await scanJson([dir, '--plugin', scanfix(), '--fail-on', 'none']);
    const rep = r.report as JsonReport;
    expect(rep.errors).toEqual([{ path: 'a.txt', message: expect.stringMatching(/not in the batch/) }]);
    expect(rep.findings.map((f) => f.path)).toEqual(['b.txt']);
    expect(JSON.stringify(rep.findings)).not.toContain('/etc/passwd');
    expect(r.code).toBe(3);
  });

  it('recycles plugin instances after the configured input volume and still finds everything', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`d/${i}.txt`] = `${'y'.repeat(40_000)}\n${fakeFixtureToken('H')}\n`;
    const dir = tree(files);
    const r = await scanJson([
      dir,
      '--plugin',
      scanfix(),
      '--recycle-after',
      '0.1',
      '--jobs',
      '2',
      '--log-level',
      'debug',
    ]);
    expect(r.report?.findings).toHaveLength(30);
    expect(r.stderr).toMatch(/recycling an instance/);
  });

  it('starts plugin instances only when work reaches them: a small scan uses one, a large one all', async () => {
    const small = await scanJson([
      tree({ 'a.txt': 'x' }),
      '--plugin',
      scanfix(),
      '--jobs',
      '4',
      '--log-level',
      'debug',
    ]);
    expect(small.stderr.match(/instance \d+ started/g)).toEqual(['instance 1 started']);
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`d/${i}.txt`] = 'y'.repeat(200_000); // 4 batches of 2 MiB
    const large = await scanJson([tree(files), '--plugin', scanfix(), '--jobs', '2', '--log-level', 'debug']);
    expect(large.stderr.match(/instance \d+ started/g)).toHaveLength(2);
  });

  it('goes on with fewer instances when an extra one fails to start', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`d/${i}.txt`] = `${'y'.repeat(200_000)}\n${fakeFixtureToken('H')}\n`;
    const mark = tempDir();
    const r = await scanJson([tree(files), '--plugin', scanfix(), '--jobs', '2', '--allow-path', `${mark}:/m`]);
    expect(r.stderr).toMatch(/a plugin instance failed to start, going on with fewer/);
    expect(r.report?.errors).toEqual([]);
    expect(r.report?.findings).toHaveLength(40);
    expect(r.code).toBe(1);
  });

  it('refuses a plugin without a scan export', async () => {
    const r = await runCli(['scan', tree({ 'a.txt': 'x' }), '--plugin', fixture('echo.wasm')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no "scan" function/);
  });
});

describe('wasmci scan: redaction (real secrets plugin)', () => {
  it('never shows a planted secret in stdout, stderr or any report unless --no-redact', async () => {
    expect(existsSync(secretsWasm), `build the secrets plugin first: bash plugins/secrets/build.sh`).toBe(true);
    const token = fakeGithubToken();
    const dir = tree({ 'config/.env': `GITHUB_TOKEN=${token}\n`, 'src/x.js': `const t = "${token}";\n` });
    const out = tempDir('wasmci-reports-');
    const r = await runCli(
      ['scan', dir, '--plugin', secretsWasm, '--report', `json=${out}/r.json`, '--log-level', 'debug'],
      { timeoutMs: 60_000 },
    );
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toContain('config/.env');
    const all = everything(r, [out]);
    expect(all).not.toContain(token);
    expect(all).not.toContain(token.slice(4, 30));
    const rep = JSON.parse(readFileSync(`${out}/r.json`, 'utf8')) as JsonReport;
    expect(rep.redacted).toBe(true);
    expect(rep.findings.length).toBeGreaterThanOrEqual(2);
    expect(rep.findings[0]?.secretHash).toMatch(/^[0-9a-f]{64}$/);

    const plain = await scanJson([dir, '--plugin', secretsWasm, '--no-redact']);
    expect(plain.report?.redacted).toBe(false);
    expect(plain.report?.findings.map((f) => f.secret)).toContain(token);
  });

  it('scans the bundled leaky-app example: findings, exit 1, nothing planted in the output', async () => {
    const app = path.join(repoRoot, 'examples/leaky-app');
    const planted = [
      'ghp_MVeAdgCni79MFFyJa2kbkZx7ET3Rq51UMUgo',
      'AKIA4KQ6YGGSIDMQ4WS2',
      'sk_live_HYoY5xjZogupGdc41rv9hq5S',
    ];
    const r = await runCli(['scan', app, '--plugin', secretsWasm, '--format', 'json'], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout.toString()) as JsonReport;
    expect(rep.findings.map((f) => f.path)).toContain('.env');
    expect(rep.findings.some((f) => f.path === 'src/allowed.js')).toBe(false);
    for (const p of planted) expect(everything(r)).not.toContain(p);
  });
});
