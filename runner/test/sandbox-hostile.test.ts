/**
 * Hostile plugins: each abuse must end in a clear error or a refused call, the runner must not crash, and the
 * file system must be exactly as before.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture, runCli, tempDir } from './helpers/cli.js';
import { treeHash } from './helpers/hardening.js';

const WASI_EFAULT = 21;
const WASI_EBADF = 8;

describe('hostile plugins', () => {
  let root: string;
  let before: string;
  beforeAll(() => {
    root = tempDir();
    mkdirSync(path.join(root, 'mount/sub'), { recursive: true });
    writeFileSync(path.join(root, 'mount/data.txt'), 'data');
    writeFileSync(path.join(root, 'secret.txt'), 'top secret outside the mount');
    symlinkSync('../secret.txt', path.join(root, 'mount/sub/up'));
    symlinkSync('/', path.join(root, 'mount/rootlink'));
    before = treeHash(root);
  });

  const ro = () => ['--allow-path', `${root}/mount:/mnt:ro`];

  it('cannot reach outside the mount through planted symlinks, .. or absolute paths', async () => {
    for (const p of ['/mnt/sub/up', '/mnt/rootlink/etc/hostname', '/mnt/sub/../../secret.txt', `${root}/secret.txt`]) {
      const r = await runCli(['call', fixture('probe.wasm'), 'read_file', '--input', p, ...ro()]);
      expect(r.code, p).toBe(3);
      expect(r.stdout.toString(), p).not.toContain('top secret');
    }
    expect(treeHash(root)).toBe(before);
  });

  it('cannot write, create or delete through a read-only mount', async () => {
    for (const p of ['/mnt/data.txt', '/mnt/new.txt', '/mnt/sub/new.txt', '/mnt/sub/up']) {
      const r = await runCli(['call', fixture('probe.wasm'), 'write_file', '--input', `${p}\npwned`, ...ro()]);
      expect(r.code, p).toBe(3);
    }
    expect(treeHash(root)).toBe(before);
  });

  it('cannot write through a symlink out of a read-write mount', async () => {
    const r = await runCli([
      'call',
      fixture('probe.wasm'),
      'write_file',
      '--input',
      '/mnt/sub/up\npwned',
      '--allow-path',
      `${root}/mount:/mnt`,
    ]);
    expect(r.code).toBe(3);
    expect(readFileSync(path.join(root, 'secret.txt'), 'utf8')).toBe('top secret outside the mount');
    expect(treeHash(root)).toBe(before);
  });

  it('gets a WASI error, not a host crash, for pointers outside its memory', async () => {
    for (const fn of ['bad_iovec', 'bad_path']) {
      const r = await runCli(['call', fixture('hostile.wasm'), fn]);
      expect(r.code, r.stderr).toBe(0);
      expect([...r.stdout], fn).toEqual([WASI_EFAULT]);
    }
  });

  it('sees no descriptors it was not granted', async () => {
    const r = await runCli(['call', fixture('hostile.wasm'), 'no_preopen']);
    expect([...r.stdout]).toEqual([WASI_EBADF]);
  });

  it('gets a clean error for an invalid output block', async () => {
    const r = await runCli(['call', fixture('hostile.wasm'), 'bad_output']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/host-error.*cannot assign to this block/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('cannot make the host write its input outside its memory through wasmci_input_buffer', async () => {
    const r = await runCli(['call', fixture('badbuffer.wasm'), 'length', '--input', 'x'.repeat(1000)]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/wasmci_input_buffer returned an out-of-bounds pointer/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('reads nothing for an invalid block offset', async () => {
    const r = await runCli(['call', fixture('hostile.wasm'), 'bad_config_key']);
    expect(r.code).toBe(0);
    expect([...r.stdout]).toEqual([7]);
  });
});
