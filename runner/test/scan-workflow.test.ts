/**
 * The findings workflow through the real CLI: stable fingerprints, --baseline (from a redacted report),
 * .wasmciignore and `wasmci ignore add`, inline allow comments, .wasmci.yml overrides and its errors,
 * sharding (the union of the shards is the unsharded scan) and merge-reports.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, runCli, secretsWasm, tempDir } from './helpers/cli.js';
import { fakeFixtureToken, fakeGithubToken } from './helpers/secrets.js';

interface F {
  path: string;
  startLine: number;
  severity: string;
  secret: string;
  fingerprint: string;
  secretHash: string;
}
interface Report {
  findings: F[];
  stats: { files: number };
  suppressed: { baseline: number; ignored: number; allowed: number; disabled: number };
  target: { shard?: { index: number; total: number } };
}

function tree(files: Record<string, string>, dir = tempDir('wasmci-wf-')): string {
  for (const [rel, content] of Object.entries(files)) {
    const f = path.join(dir, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, content);
  }
  return dir;
}

async function scan(dir: string, args: string[] = []) {
  const r = await runCli(['scan', dir, '--plugin', fixture('scanfix.wasm'), '--format', 'json', ...args]);
  let report: Report | undefined;
  try {
    report = JSON.parse(r.stdout.toString());
  } catch {}
  return { ...r, report: report as Report };
}

describe('fingerprints and baselines', () => {
  it('keeps a finding’s fingerprint when lines move, and a redacted baseline hides known findings only', async () => {
    const known = fakeFixtureToken();
    const dir = tree({ 'app.env': `A=1\nTOKEN=${known}\n` });
    const out = tempDir('wasmci-wf-out-');
    const first = await scan(dir, ['--report', `json=${out}/base.json`]);
    expect(first.code).toBe(1);
    const baseText = readFileSync(`${out}/base.json`, 'utf8');
    expect(baseText).not.toContain(known); // the baseline is a redacted report
    const fp = first.report.findings[0]?.fingerprint;

    // move the line down: same fingerprint, so the baseline still knows it
    tree({ 'app.env': `# header\n\n\nA=1\nB=2\nTOKEN=${known}\n` }, dir);
    const moved = await scan(dir, ['--baseline', `${out}/base.json`]);
    expect(moved.code).toBe(0);
    expect(moved.report.findings).toEqual([]);
    expect(moved.report.suppressed.baseline).toBe(1);
    const again = await scan(dir);
    expect(again.report.findings[0]?.fingerprint).toBe(fp);
    expect(again.report.findings[0]?.startLine).toBe(6);

    // a new secret is reported, the known one is not
    const fresh = fakeFixtureToken();
    tree({ 'other.env': `T=${fresh}\n` }, dir);
    const withNew = await scan(dir, ['--baseline', `${out}/base.json`, '--no-redact']);
    expect(withNew.code).toBe(1);
    expect(withNew.report.findings.map((f) => f.secret)).toEqual([fresh]);
  });

  it('rejects a baseline that is not a wasmci report', async () => {
    const dir = tree({ 'a.txt': 'x\n' });
    const bad = path.join(tempDir(), 'b.json');
    writeFileSync(bad, '{"results":[]}');
    const r = await scan(dir, ['--baseline', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/baseline .*b\.json is not a wasmci JSON report/);
  });
});

describe('.wasmciignore and inline allow comments', () => {
  it('ignores listed fingerprints and secret hashes, adds entries with `wasmci ignore add`, and warns about stale ones', async () => {
    const a = fakeFixtureToken();
    const b = fakeFixtureToken();
    const c = fakeFixtureToken();
    const dir = tree({ 'a.txt': `${a}\n`, 'b.txt': `${b}\n`, 'c.txt': `${c}\n` });
    const all = await scan(dir);
    const byPath = Object.fromEntries(all.report.findings.map((f) => [f.path, f]));
    const ignoreFile = path.join(dir, '.wasmciignore');

    const add = await runCli([
      'ignore',
      'add',
      byPath['a.txt']?.fingerprint as string,
      `secret:${byPath['b.txt']?.secretHash}`,
      '--file',
      ignoreFile,
      '--reason',
      'test credentials, reviewed',
    ]);
    expect(add.code).toBe(0);
    expect(add.stdout.toString()).toMatch(/2 added/);
    const text = readFileSync(ignoreFile, 'utf8');
    expect(text).toContain('# test credentials, reviewed');
    expect(text).not.toContain(a);
    const again = await runCli(['ignore', 'add', byPath['a.txt']?.fingerprint as string, '--file', ignoreFile]);
    expect(again.stdout.toString()).toMatch(/already present/);

    const r = await scan(dir);
    expect(r.report.findings.map((f) => f.path)).toEqual(['c.txt']);
    expect(r.report.suppressed.ignored).toBe(2);
    // The ignore file lives in the scanned tree: what it hid is said, with the count, and nothing else is.
    expect(r.stderr).toBe('wasmci warn: the checked-out tree suppressed: 2 finding(s) ignored by .wasmciignore\n');

    // the secret leaves a.txt: its entry is now stale
    writeFileSync(path.join(dir, 'a.txt'), 'clean\n');
    const stale = await scan(dir);
    expect(stale.stderr).toMatch(/\.wasmciignore:\d+: [0-9a-f]{64} matched no finding/);

    const bad = await runCli(['ignore', 'add', 'not-a-fingerprint', '--file', ignoreFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/neither a fingerprint/);
    writeFileSync(path.join(dir, '.wasmciignore'), 'zzz\n');
    const broken = await scan(dir);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/\.wasmciignore:1: "zzz"/);
  });

  it('honours wasmci:allow and gitleaks:allow on the finding’s line only', async () => {
    const [t1, t2, t3] = [fakeFixtureToken(), fakeFixtureToken(), fakeFixtureToken()];
    const dir = tree({
      'a.js': `const x = "${t1}"; // wasmci:allow\n# gitleaks:allow\nconst y = "${t2}";\nz = "${t3}" # gitleaks:allow\n`,
    });
    const r = await scan(dir, ['--no-redact']);
    expect(r.report.findings.map((f) => f.secret)).toEqual([t2]);
    expect(r.report.suppressed.allowed).toBe(2);
  });

  it('honours allow comments with the secrets plugin, whose batches go straight into its own buffer', async () => {
    // That path looks for allow comments after the call, in the files with findings only.
    const [t1, t2, t3] = [fakeGithubToken(), fakeGithubToken(), fakeGithubToken()];
    const dir = tree({
      'a.js': `const x = "${t1}"; // wasmci:allow\nconst y = "${t2}";\n`,
      'b.yml': `# gitleaks:allow\ntoken: ${t3} # gitleaks:allow\n`,
      'c.md': 'wasmci:allow, and nothing else\n',
    });
    const r = await runCli(['scan', dir, '--plugin', secretsWasm, '--format', 'json', '--no-redact']);
    const report = JSON.parse(r.stdout.toString()) as {
      findings: { secret: string }[];
      suppressed: { allowed: number };
    };
    expect(report.findings.map((f) => f.secret)).toEqual([t2]);
    expect(report.suppressed.allowed).toBe(2);
  });
});

describe('.wasmci.yml', () => {
  it('applies per-path and per-rule severity overrides, excludes and fail_on', async () => {
    const dir = tree({
      'src/a.txt': `${fakeFixtureToken('H')}\n`,
      'test/b.txt': `${fakeFixtureToken('H')}\n`,
      'vendor/c.txt': `${fakeFixtureToken('H')}\n`,
      'docs/d.txt': `${fakeFixtureToken('H')}\n`,
      '.wasmci.yml': [
        'version: 1',
        'scan:',
        '  fail_on: high',
        '  exclude: ["vendor/**"]',
        '  overrides:',
        '    - { path: "test/**", severity: low }',
        '    - { path: "docs/**", rule: fake-token, severity: off }',
        '',
      ].join('\n'),
    });
    const r = await scan(dir);
    expect(r.report.findings.map((f) => [f.path, f.severity])).toEqual([
      ['src/a.txt', 'high'],
      ['test/b.txt', 'low'],
    ]);
    expect(r.report.suppressed.disabled).toBe(1);
    expect(r.code).toBe(1);
    writeFileSync(path.join(dir, 'src/a.txt'), 'gone\n');
    expect((await scan(dir)).code).toBe(0); // only a low finding left, fail_on high
    expect((await scan(dir, ['--fail-on', 'low'])).code).toBe(1); // the flag wins over the file
  });

  it.each([
    ['scan:\n  fail_on: severe\n', /\.wasmci\.yml:2:12: scan\.fail_on must be one of/],
    ['scan:\n  exclud: ["x"]\n', /\.wasmci\.yml:2:3: unknown key "exclud" in "scan"/],
    ['scan:\n  overrides:\n    - { path: "a/**" }\n', /\.wasmci\.yml:3:7: scan\.overrides\[0\] has no "severity"/],
    ['scan:\n  include: "src"\n', /\.wasmci\.yml:2:12: scan\.include must be a list/],
    ['scan: [\n', /\.wasmci\.yml:\d+:\d+: invalid YAML/],
  ])('points at the line of a config error: %j', async (yml, message) => {
    const dir = tree({ '.wasmci.yml': yml, 'a.txt': 'x\n' });
    const r = await runCli(['scan', dir, '--plugin', fixture('scanfix.wasm')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('takes the config from --config FILE', async () => {
    const dir = tree({ 'a.txt': `${fakeFixtureToken('M')}\n` });
    const cfg = path.join(tempDir(), 'ci.yml');
    writeFileSync(cfg, 'scan:\n  fail_on: critical\n');
    expect((await scan(dir, ['--config', cfg])).code).toBe(0);
  });
});

describe('sharding and merge-reports', () => {
  it('splits the files deterministically: the union of the shards is the unsharded scan, and merge-reports rebuilds it', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`dir${i % 4}/file${i}.txt`] = `x\n${fakeFixtureToken()}\n`;
    const dir = tree(files);
    const out = tempDir('wasmci-shards-');
    const full = await scan(dir, ['--report', `json=${out}/full.json`]);
    const shards = [];
    for (let i = 1; i <= 3; i++) {
      const s = await scan(dir, ['--shard', `${i}/3`, '--report', `json=${out}/s${i}.json`]);
      shards.push(s.report);
    }
    const fps = (fs: F[]) => fs.map((f) => f.fingerprint).sort();
    expect(fps(shards.flatMap((s) => s.findings))).toEqual(fps(full.report.findings));
    expect(shards.every((s) => s.findings.length > 0 && s.findings.length < 40)).toBe(true);
    expect(shards.reduce((n, s) => n + s.stats.files, 0)).toBe(full.report.stats.files);
    expect(shards[1]?.target.shard).toEqual({ index: 2, total: 3 });

    // GitLab parallel: variables select the same shard
    const viaEnv = await runCli(['scan', dir, '--plugin', fixture('scanfix.wasm'), '--format', 'json'], {
      env: { CI_NODE_INDEX: '2', CI_NODE_TOTAL: '3' },
    });
    expect(fps(JSON.parse(viaEnv.stdout.toString()).findings)).toEqual(fps(shards[1]?.findings ?? []));

    const merged = await runCli([
      'merge-reports',
      `${out}/merged.json`,
      `${out}/s1.json`,
      `${out}/s2.json`,
      `${out}/s3.json`,
      '--fail-on',
      'low',
    ]);
    expect(merged.code).toBe(1);
    const m = JSON.parse(readFileSync(`${out}/merged.json`, 'utf8'));
    expect(fps(m.findings)).toEqual(fps(full.report.findings));
    expect(m.stats.files).toBe(40);
    expect(m.target.shard).toBeUndefined();
    expect(m.redacted).toBe(true);

    const notReport = path.join(out, 'x.json');
    writeFileSync(notReport, '[]');
    const bad = await runCli(['merge-reports', `${out}/m2.json`, notReport]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a wasmci JSON report/);
  });
});
