/**
 * Issue 15, attack 5: a merge request edits the repository's `.wasmci.yml` to swap the scanner, grant its steps
 * mounts, environment copies and hosts, or write outside the tree. Each test performs the attack through the real
 * CLI and shows that, without the pipeline's --trust-config, the tree may only narrow the scan, and says so.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTodoPlugin } from './helpers/as-plugin.js';
import { fixture, repoRoot, runCli, secretsWasm, tempDir } from './helpers/cli.js';

// biome-ignore lint/suspicious/noExplicitAny: report JSON
type Json = any;

const TOKEN = readFileSync(path.join(repoRoot, 'examples/leaky-app/config.yml'), 'utf8').match(
  /glpat-[A-Za-z0-9_-]+/,
)?.[0] as string;

let todo: string;
let seed: string;

beforeAll(() => {
  todo = buildTodoPlugin();
  expect(existsSync(secretsWasm), `${secretsWasm} is missing: run npm run build`).toBe(true);
  // The image's layout: the default scan plugin beside a seed cache, found without --plugin.
  const share = tempDir('wasmci-share-');
  mkdirSync(path.join(share, 'plugins'));
  mkdirSync(path.join(share, 'cache'));
  cpSync(secretsWasm, path.join(share, 'plugins/secrets.wasm'));
  seed = path.join(share, 'cache');
});

/** A checkout (a git work tree: it has a .git) holding a leaked token, a TODO and the given .wasmci.yml. */
function checkout(config: string): string {
  const dir = tempDir('wasmci-mr-');
  execFileSync('git', ['init', '-q', dir]);
  mkdirSync(path.join(dir, 'src'));
  writeFileSync(path.join(dir, 'src/deploy.yml'), `token: ${TOKEN}\n`);
  writeFileSync(path.join(dir, 'src/app.ts'), '// TODO: ship it\n');
  writeFileSync(path.join(dir, '.wasmci.yml'), config);
  return dir;
}

const env = () => ({ WASMCI_SEED_CACHE: seed, WASMCI_CACHE_DIR: tempDir('wasmci-cache-') });

describe('a .wasmci.yml from the checked-out tree', () => {
  it('cannot swap the scanner: scan.plugin is ignored with a warning, the bundled plugin finds the token', async () => {
    const dir = checkout(`scan:\n  plugin: ${todo}\n`);
    const r = await runCli(['scan', '.', '--format', 'json'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout.toString());
    expect(report.plugin.name).toBe('secrets');
    expect(report.findings.map((f: Json) => f.path)).toEqual(['src/deploy.yml']);
    expect(r.stderr).toMatch(/\.wasmci\.yml is in the checked-out tree, so it cannot choose scan\.plugin .*: ignored/);
    expect(r.stderr).toMatch(/--trust-config/);
    // The pipeline may consent: then the file's plugin runs (the todo plugin finds the TODO, not the token).
    const trusted = await runCli(['scan', '.', '--format', 'json', '--trust-config'], { cwd: dir, env: env() });
    expect(JSON.parse(trusted.stdout.toString()).plugin.name).not.toBe('secrets');
    expect(trusted.stderr).not.toMatch(/cannot choose/);
  });

  it('may narrow the scan, and every narrowing is said with counts', async () => {
    const dir = checkout(
      'scan:\n  exclude: ["src/app.ts"]\n  fail_on: critical\n  overrides:\n    - { path: "src/**", severity: off }\n',
    );
    const r = await runCli(['scan', '.', '--format', 'json'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.toString()).findings).toEqual([]);
    expect(r.stderr).toMatch(
      /\.wasmci\.yml \(from the checked-out tree\) narrows this scan: fail_on: critical; exclude: 1 glob \(src\/app\.ts\); overrides: 1, 1 turning findings off/,
    );
    expect(r.stderr).toMatch(
      /the checked-out tree suppressed: 1 file\(s\) left out by include\/exclude globs, 1 finding\(s\) turned off by overrides/,
    );
    // The pipeline's own flag beats the tree's threshold.
    const gate = await runCli(['scan', '.', '--format', 'json', '--fail-on', 'low'], { cwd: dir, env: env() });
    expect(gate.stderr).not.toMatch(/fail_on: critical/);
  });

  it('a config file outside the checkout (the pipeline’s own) is trusted and says nothing', async () => {
    const dir = checkout('');
    const outside = path.join(tempDir('wasmci-pipeline-'), 'wasmci.yml');
    writeFileSync(outside, `scan:\n  plugin: ${secretsWasm}\n  exclude: ["src/app.ts"]\n`);
    const r = await runCli(['scan', '.', '--format', 'json', '--config-file', outside], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe('');
  });
});

describe('wasmci run with a .wasmci.yml from the checked-out tree', () => {
  const attacks: [string, string, RegExp][] = [
    [
      'a mount of /proc/self (the job’s environment)',
      `run:\n  steps:\n    - name: steal\n      scan: { path: src }\n      allow_paths: { /proc/self: "/p:ro" }\n`,
      /steal\): grants allow_paths/,
    ],
    [
      'a copy of CI_JOB_TOKEN into the plugin config',
      `run:\n  steps:\n    - name: steal\n      scan: { path: src }\n      env: [CI_JOB_TOKEN]\n`,
      /steal\): grants env/,
    ],
    [
      'network access for a plugin of its choosing',
      `run:\n  steps:\n    - name: exfil\n      call: { plugin: ${fixture('probe.wasm')}, function: http_get, input: "http://127.0.0.1:9/" }\n      allow_hosts: ["127.0.0.1"]\n`,
      /exfil\): grants allow_hosts/,
    ],
    [
      'a report written outside the tree',
      `run:\n  reports: { json: /tmp/../etc/wasmci-pwned.json }\n  steps:\n    - scan: { path: src }\n`,
      /run\.reports\.json \/tmp\/\.\.\/etc\/wasmci-pwned\.json is outside the checked-out tree/,
    ],
    [
      'a scan of the runner’s file system',
      `run:\n  steps:\n    - name: root\n      scan: { path: /proc/self }\n`,
      /root\): path \/proc\/self is outside the checked-out tree/,
    ],
    [
      'a limit above the defaults',
      `run:\n  steps:\n    - name: big\n      scan: { path: src }\n      memory_max: 4096\n`,
      /big\): grants memory_max/,
    ],
  ];
  for (const [what, config, message] of attacks) {
    it(`refuses ${what} before any step runs (exit 2), unless the pipeline trusts the file`, async () => {
      const dir = checkout(config);
      const r = await runCli(['run'], { cwd: dir, env: { ...env(), CI_JOB_TOKEN: 'job-token-must-not-leak' } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/\.wasmci\.yml is in the checked-out tree, which may only narrow a scan/);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/hint: run with --trust-config only where this file cannot come from a merge request/);
      expect(r.stdout.toString()).not.toMatch(/wasmci run: step/); // nothing ran
      expect(`${r.stdout}${r.stderr}`).not.toContain('job-token-must-not-leak');
      expect(existsSync('/etc/wasmci-pwned.json')).toBe(false);
    });
  }

  it('runs a narrowing-only config from the tree (the bundled plugin, no grants, reports inside)', async () => {
    const dir = checkout(
      'run:\n  reports: { json: out/all.json }\n  steps:\n    - name: secrets\n      scan: { path: ., fail_on: high }\n      config: { disable: "tag:nothing" }\n',
    );
    const r = await runCli(['run'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(1);
    expect(JSON.parse(readFileSync(path.join(dir, 'out/all.json'), 'utf8')).findings).toHaveLength(1);
  });
});

describe('a .wasmciignore from the checked-out tree', () => {
  // A host file the job can read (the job's /proc/self/environ holds CI_JOB_TOKEN on one NUL-separated "line"):
  // read as an ignore file, its first bad line would be quoted in the usage error.
  const hostFile = () => {
    const file = path.join(tempDir('wasmci-host-'), 'environ');
    writeFileSync(file, 'PATH=/usr/bin\0CI_JOB_TOKEN=job-token-must-not-leak\0HOME=/root\n');
    return file;
  };

  it('a symlink to a host file is refused unread: exit 2 naming it, nothing of the file in the log', async () => {
    const dir = checkout('');
    symlinkSync(hostFile(), path.join(dir, '.wasmciignore'));
    const r = await runCli(['scan', '.'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/\.wasmciignore is not a regular file .*read only as a plain file/);
    expect(r.stderr).toMatch(
      /hint: replace it with a regular file in the tree, or name the file to use with --ignore-file/,
    );
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/job-token-must-not-leak|CI_JOB_TOKEN|PATH=/);
  });

  it('a FIFO is refused at once instead of blocking the scan', async () => {
    const dir = checkout('');
    execFileSync('mkfifo', [path.join(dir, '.wasmciignore')]);
    const r = await runCli(['scan', '.'], { cwd: dir, env: env(), timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/\.wasmciignore is not a regular file/);
  });

  it('wasmci ignore list / add / remove refuse it too: nothing of the host file printed or copied into the tree', async () => {
    const dir = checkout('');
    const host = hostFile();
    symlinkSync(host, path.join(dir, '.wasmciignore'));
    const fp = 'a'.repeat(64);
    for (const args of [
      ['ignore', 'list'],
      ['ignore', 'add', fp],
      ['ignore', 'remove', fp],
    ]) {
      const r = await runCli(args, { cwd: dir, env: env() });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/\.wasmciignore is not a regular file .*read only as a plain file/);
      expect(r.stderr).toMatch(/hint: replace it with a regular file, or name the file to edit with --file/);
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/job-token-must-not-leak|CI_JOB_TOKEN|PATH=/);
    }
    // the link is still a link and the host file is as it was (before, `add` replaced the link with a regular
    // file holding the host file's text plus the entry; here that text fails to parse, on other files it need not)
    expect(lstatSync(path.join(dir, '.wasmciignore')).isSymbolicLink()).toBe(true);
    expect(readFileSync(host, 'utf8')).toBe('PATH=/usr/bin\0CI_JOB_TOKEN=job-token-must-not-leak\0HOME=/root\n');
    // a file named with --file is the user's choice
    const mine = path.join(tempDir('wasmci-ignores-'), 'reviewed');
    writeFileSync(mine, `${fp}  # reviewed\n`);
    symlinkSync(mine, path.join(dir, 'mine'));
    const r = await runCli(['ignore', 'list', '--file', 'mine'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toContain(`${fp}  # reviewed`);
  });

  it('a file the pipeline names with --ignore-file is its choice, symlink or not', async () => {
    const dir = checkout('');
    const outside = path.join(tempDir('wasmci-ignores-'), 'reviewed');
    writeFileSync(outside, '# nothing reviewed yet\n');
    symlinkSync(outside, path.join(dir, 'ignores'));
    const r = await runCli(['scan', '.', '--ignore-file', 'ignores'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(1); // the token is found; the (empty) ignore file was read
  });
});
