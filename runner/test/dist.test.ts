/**
 * The single executable (scripts/sea.mjs): built from the same bundle the other tests drive, byte-for-byte
 * reproducible, and running plugins in its worker threads (the worker's code is inlined and started with eval).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { fixture, repoRoot, tempDir } from './helpers/cli.js';

const version = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version as string;
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

function buildSea(out: string): void {
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts/sea.mjs'), '--bundle', inject('cli'), '--out', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 170_000,
  });
}

describe('single executable', () => {
  const dir = tempDir('wasmci-sea-test-');
  const a = path.join(dir, 'a/wasmci');
  const b = path.join(dir, 'b/wasmci');
  beforeAll(() => {
    buildSea(a);
    buildSea(b);
  }, 180_000);

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
});
