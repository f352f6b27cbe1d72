/**
 * The npm package as users get it: `npm pack` of the source tree (its prepack builds the bundle and the plugin;
 * here the bundle under test stands in for that build) gives only what runs —
 * the self-contained CLI bundle, the secrets plugin, README, LICENSE, package.json — and no dependencies, so
 * `npm i -g ./wasmci-*.tgz` needs no registry, no Rust and no install script, and the installed `wasmci scan` and
 * `npx wasmci` find the plugin beside the bundle.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { repoRoot, secretsWasm, tempDir } from './helpers/cli.js';
import { fakeGithubToken } from './helpers/secrets.js';

describe('npm package', () => {
  const work = tempDir('wasmci-npm-pack-');
  let tgz: string;
  let files: string[];
  let pkg: { dependencies?: object; scripts?: Record<string, string> };
  // A PATH with node, npm and sh and nothing else: no cargo, no rustc, no git.
  const nodeBin = path.join(work, 'node-bin');
  const prefix = path.join(work, 'prefix');
  const env = () => ({
    PATH: `${path.join(prefix, 'bin')}:${nodeBin}`,
    HOME: work,
    npm_config_cache: path.join(work, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  });

  beforeAll(() => {
    // The whole source tree (what `npm pack` sees in a checkout), with the bundle under test as runner/dist; the
    // prepack build is what CI's setup already ran (`npm run build`), so it is skipped here.
    const src = path.join(work, 'src');
    execFileSync('rsync', [
      '-a',
      '--exclude=node_modules',
      '--exclude=.git',
      '--exclude=target',
      '--exclude=/dist',
      `${repoRoot}/`,
      `${src}/`,
    ]);
    execFileSync('mkdir', ['-p', path.join(src, 'runner/dist'), path.join(src, 'plugins/secrets/dist')]);
    execFileSync('cp', [inject('cli'), path.join(src, 'runner/dist/wasmci.cjs')]);
    execFileSync('cp', [secretsWasm, path.join(src, 'plugins/secrets/dist/secrets.wasm')]);
    const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
      cwd: src,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    const info = JSON.parse(out.slice(out.indexOf('[')))[0];
    tgz = path.join(work, info.filename);
    files = info.files.map((f: { path: string }) => f.path).sort();
    execFileSync('mkdir', ['-p', nodeBin]);
    execFileSync('ln', ['-s', process.execPath, path.join(nodeBin, 'node')]);
    execFileSync('ln', ['-s', '/bin/sh', path.join(nodeBin, 'sh')]); // npx runs bins through sh
    const npmCli = path.join(path.dirname(process.execPath), '../lib/node_modules/npm/bin');
    for (const b of ['npm', 'npx']) execFileSync('ln', ['-s', path.join(npmCli, `${b}-cli.js`), path.join(nodeBin, b)]);
    pkg = JSON.parse(execFileSync('tar', ['-xzOf', tgz, 'package/package.json'], { encoding: 'utf8' }));
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('holds only what runs, with no dependencies and no install scripts', () => {
    expect(files).toEqual([
      'LICENSE',
      'README.md',
      'package.json',
      'plugins/secrets/dist/secrets.wasm',
      'runner/dist/wasmci.cjs',
    ]);
    expect(pkg.dependencies ?? {}).toEqual({});
    for (const s of ['preinstall', 'install', 'postinstall']) expect(pkg.scripts?.[s], s).toBeUndefined();
    // `npm pack` / `npm publish` in a checkout build first.
    expect(pkg.scripts?.prepack).toBe('node scripts/build.mjs');
  });

  it('installs globally offline without Rust, and `wasmci scan` finds a secret (1) and passes a clean dir (0)', () => {
    const i = spawnSync('npm', ['install', '-g', '--offline', '--prefix', prefix, tgz], {
      env: env(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(i.status, i.stderr).toBe(0);
    const leaky = tempDir('wasmci-npm-leaky-');
    const token = fakeGithubToken();
    writeFileSync(path.join(leaky, 'deploy.sh'), `export GH_TOKEN=${token}\n`);
    const clean = tempDir('wasmci-npm-clean-');
    writeFileSync(path.join(clean, 'README.md'), 'nothing to see\n');
    const found = spawnSync('wasmci', ['scan', '.'], { cwd: leaky, env: env(), encoding: 'utf8', timeout: 60_000 });
    expect(found.status, found.stderr).toBe(1);
    expect(found.stdout).toMatch(/deploy\.sh[\s\S]*github-pat/);
    expect(found.stdout + found.stderr).not.toContain(token);
    const ok = spawnSync('wasmci', ['scan', '.'], { cwd: clean, env: env(), encoding: 'utf8', timeout: 60_000 });
    expect(ok.status, ok.stderr).toBe(0);
  }, 180_000);

  it('runs with npx from the tarball', () => {
    const leaky = tempDir('wasmci-npx-leaky-');
    writeFileSync(path.join(leaky, '.env'), `GITHUB_TOKEN=${fakeGithubToken()}\n`);
    const r = spawnSync('npx', ['--yes', '--offline', '--package', tgz, '--', 'wasmci', 'scan', '.'], {
      cwd: leaky,
      env: env(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/\.env[\s\S]*github-pat/);
  }, 180_000);
});
