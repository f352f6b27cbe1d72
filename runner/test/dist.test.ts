/**
 * The single executable (scripts/sea.mjs): built from the same bundle the other tests drive, byte-for-byte
 * reproducible, running plugins in its worker threads (the worker's code is inlined and started with eval), and
 * scanning alone with the secrets plugin embedded as a SEA asset — on x64 natively and on arm64 under qemu-user
 * with Debian's arm64 cross libc (scripts/apt-packages-test.txt).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fixture, repoRoot, secretsWasm, tempDir } from './helpers/cli.js';
import { fakeGithubToken } from './helpers/secrets.js';

const version = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version as string;
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

function buildSea(out: string, arch = 'x64'): void {
  execFileSync(
    process.execPath,
    [
      path.join(repoRoot, 'scripts/sea.mjs'),
      ...['--arch', arch, '--bundle', inject('cli'), '--plugin', secretsWasm, '--out', out],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 170_000 },
  );
}

/** A directory with one planted token, and the scan's expectations. */
function leakyDir() {
  const dir = tempDir('wasmci-sea-leaky-');
  const token = fakeGithubToken();
  writeFileSync(path.join(dir, 'deploy.env'), `GH_TOKEN=${token}\n`);
  return { dir, token };
}

describe('single executable', () => {
  const dir = tempDir('wasmci-sea-test-');
  const a = path.join(dir, 'a/wasmci');
  const b = path.join(dir, 'b/wasmci');
  beforeAll(() => {
    buildSea(a);
    buildSea(b);
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true })); // two or three 105 MB executables

  it('is reproducible and smaller than the unstripped Node it is made from', () => {
    expect(sha(a)).toBe(sha(b));
    expect(statSync(a).size).toBeLessThan(115 * 2 ** 20);
  });

  it('runs without Node on PATH and without the experimental warning', () => {
    const r = spawnSync(a, ['--version'], { env: { PATH: '/nonexistent' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(version);
    expect(r.stderr).toBe('');
  });

  it('runs a plugin in its worker thread and stops a runaway one at the timeout', () => {
    const ok = spawnSync(a, ['call', fixture('echo.wasm'), 'echo', '--input', 'hello from the sea'], {
      encoding: 'utf8',
    });
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('hello from the sea');
    const spin = spawnSync(a, ['call', fixture('echo.wasm'), 'spin', '--timeout', '300'], { encoding: 'utf8' });
    expect(spin.status).toBe(3);
    expect(spin.stderr).toMatch(/did not finish within 300 ms/);
  });

  it('scans alone: the secrets plugin is inside the executable (no checkout, no seed cache, no PATH)', () => {
    const { dir, token } = leakyDir();
    const r = spawnSync(a, ['scan', '.'], { cwd: dir, env: { PATH: '/nonexistent' }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/deploy\.env[\s\S]*github-pat/);
    expect(r.stdout).toMatch(/secrets 0\.\d+\.\d+ scanned 1 file/);
    expect(r.stdout + r.stderr).not.toContain(token);
  });

  it('builds the arm64 executable, stripped, and it scans alone under qemu-user', () => {
    const arm = path.join(dir, 'arm64/wasmci');
    buildSea(arm, 'arm64');
    const elf = readFileSync(arm).subarray(0, 20);
    expect(elf.readUInt16LE(18)).toBe(183); // e_machine EM_AARCH64
    expect(statSync(arm).size).toBeLessThan(110 * 2 ** 20); // unstripped it is ~119 MiB
    const { dir: leaky, token } = leakyDir();
    const r = spawnSync('/usr/bin/qemu-aarch64', ['-L', '/usr/aarch64-linux-gnu', arm, 'scan', '.'], {
      cwd: leaky,
      env: { PATH: '/nonexistent' },
      encoding: 'utf8',
      timeout: 170_000,
    });
    expect(
      r.error,
      'qemu-aarch64 (apt-get install qemu-user libc6-arm64-cross libstdc++6-arm64-cross)',
    ).toBeUndefined();
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/deploy\.env[\s\S]*github-pat/);
    expect(r.stdout + r.stderr).not.toContain(token);
  }, 240_000);
});
