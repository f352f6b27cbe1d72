/**
 * Builds the container image with scripts/image.sh from the bundle under test and the built secrets plugin, into a
 * private work dir (test files build side by side without sharing dist/image). ~40 s on 2 busy cores.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';
import { repoRoot, secretsWasm, tempDir } from './cli.js';

export const version = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version as string;
/** The image name the README uses and scripts/image.sh tags by default. */
export const IMAGE = `registry.gitlab.com/wasmci/wasmci:${version}`;

export function buildImage(out: string): void {
  const work = tempDir('wasmci-image-work-'); // ~135 MB of rootfs, removed once the archive is written
  const r = spawnSync(
    'bash',
    ['scripts/image.sh', '--bundle', inject('cli'), '--plugin', secretsWasm, '--out', out, '--work', work],
    { cwd: repoRoot, encoding: 'utf8', timeout: 170_000 },
  );
  rmSync(work, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`scripts/image.sh failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}
