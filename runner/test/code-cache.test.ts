/**
 * The CLI bundle's V8 code cache (scripts/build.mjs): the build writes it, a run uses it, and a cache that does not
 * fit the bundle is rejected by V8 without changing what the CLI does.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { tempDir } from './helpers/cli.js';

const version = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')).version;

function run(cli: string) {
  const r = spawnSync(process.execPath, [cli, '--version'], {
    env: { ...process.env, WASMCI_CODE_CACHE_REPORT: '1' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout.trim(), report: /code cache (\w+)/.exec(r.stderr)?.[1] };
}

describe('code cache of the CLI bundle', () => {
  it('is written by the build and used by a run', () => {
    const cli = inject('cli');
    expect(existsSync(`${cli}.v8cache`)).toBe(true);
    expect(run(cli)).toEqual({ code: 0, stdout: version, report: 'used' });
  });

  it('a cache from another build is rejected and the CLI still runs; none at all is fine too', () => {
    const dir = tempDir('wasmci-code-cache-');
    const cli = path.join(dir, 'wasmci.cjs');
    // The same loader around other code: V8 must refuse the cache (its source hash differs).
    writeFileSync(
      cli,
      readFileSync(inject('cli'), 'utf8').replace('const WASMCI_SOURCE = "', 'const WASMCI_SOURCE = "0;'),
    );
    expect(run(cli)).toEqual({ code: 0, stdout: version, report: 'absent' });
    copyFileSync(`${inject('cli')}.v8cache`, `${cli}.v8cache`);
    expect(run(cli)).toEqual({ code: 0, stdout: version, report: 'rejected' });
    writeFileSync(`${cli}.v8cache`, 'not a code cache');
    expect(run(cli)).toEqual({ code: 0, stdout: version, report: 'rejected' });
  });
});
