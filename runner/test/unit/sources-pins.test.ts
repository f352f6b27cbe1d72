/**
 * Pins and cache trust (sources/index.ts pinsFor, sources/cache.ts): a lockfile or a cache inside the checkout can
 * refuse bytes, never choose them.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { PluginCache, sha256Hex } from '../../src/sources/cache.js';
import { pinsFor, type ResolveOptions } from '../../src/sources/index.js';

const log = createLogger('error', () => {});
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const REF = 'gitlab:1/p@1.0.0';

function dirs() {
  const base = mkdtempSync(path.join(os.tmpdir(), 'wasmci-unit-pins-'));
  const checkout = path.join(base, 'checkout');
  const outside = path.join(base, 'outside');
  mkdirSync(checkout);
  mkdirSync(outside);
  const lock = (dir: string, sha: string) =>
    writeFileSync(
      path.join(dir, 'wasmci.lock'),
      JSON.stringify({ lockfileVersion: 1, plugins: { [REF]: { sha256: sha, size: 1, resolved: 'x' } } }),
    );
  return { base, checkout, outside, lock, c: { roots: [checkout] } };
}

const opts = (o: Partial<ResolveOptions> = {}): ResolveOptions => ({ log, ...o });

describe('pinsFor', () => {
  it('a lockfile outside the checkout is a trusted pin; one inside only checks', async () => {
    const d = dirs();
    d.lock(d.outside, A);
    expect(await pinsFor(REF, opts(), {}, d.outside, d.c)).toEqual({
      check: { sha256: A, from: path.join(d.outside, 'wasmci.lock') },
      trusted: { sha256: A, from: path.join(d.outside, 'wasmci.lock') },
    });
    d.lock(d.checkout, A);
    expect(await pinsFor(REF, opts(), {}, d.checkout, d.c)).toEqual({
      check: { sha256: A, from: path.join(d.checkout, 'wasmci.lock') },
      trusted: undefined,
    });
    // --lockfile / WASMCI_LOCKFILE pointing into the checkout is just as untrusted.
    const viaEnv = await pinsFor(REF, opts(), { WASMCI_LOCKFILE: path.join(d.checkout, 'wasmci.lock') }, d.base, d.c);
    expect(viaEnv.trusted).toBeUndefined();
  });

  it('--sha256 is trusted; with an in-tree lockfile both must agree (the lockfile can refuse)', async () => {
    const d = dirs();
    d.lock(d.checkout, A);
    const agree = await pinsFor(REF, opts({ sha256: A.toUpperCase() }), {}, d.checkout, d.c);
    expect(agree.trusted).toEqual({ sha256: A, from: '--sha256' });
    await expect(pinsFor(REF, opts({ sha256: B }), {}, d.checkout, d.c)).rejects.toThrow(/disagrees with/);
  });

  it('--frozen is satisfied by an in-tree lockfile pin (it refuses unpinned refs) without making it trusted', async () => {
    const d = dirs();
    await expect(pinsFor(REF, opts({ frozen: true }), {}, d.checkout, d.c)).rejects.toThrow(/--frozen: no lockfile/);
    d.lock(d.checkout, A);
    const frozen = await pinsFor(REF, opts({ frozen: true }), {}, d.checkout, d.c);
    expect(frozen.check?.sha256).toBe(A);
    expect(frozen.trusted).toBeUndefined();
    await expect(pinsFor('gitlab:1/q@1.0.0', opts({ frozen: true }), {}, d.checkout, d.c)).rejects.toThrow(
      /not pinned/,
    );
  });
});

describe('PluginCache trust', () => {
  it('serves blobs from any root by digest, but reads the index only of roots outside the checkout', async () => {
    const d = dirs();
    const inTree = path.join(d.checkout, '.wasmci-cache');
    const bytes = Buffer.from('\0asm-planted');
    const planted = new PluginCache(inTree, [], log);
    await planted.putBlob(bytes);
    await planted.putIndex({ key: 'k', sha256: sha256Hex(bytes), size: bytes.length, origin: 'o' });
    const cache = new PluginCache(inTree, [], log, (r) => r.startsWith(d.checkout));
    expect(await cache.getIndex('k')).toBeUndefined();
    expect(await cache.lookup('k')).toBeUndefined();
    expect(Buffer.from((await cache.getBlob(sha256Hex(bytes))) ?? [])).toEqual(bytes);
    expect(cache.untrustedRoots).toEqual([inTree]);
    // The same directory as a trusted root (outside any checkout) is served by reference.
    expect((await new PluginCache(inTree, [], log).lookup('k'))?.entry.sha256).toBe(sha256Hex(bytes));
  });

  it('a seed inside the checkout is untrusted too; one outside is read', async () => {
    const d = dirs();
    const seedIn = path.join(d.checkout, 'seed');
    const seedOut = path.join(d.outside, 'seed');
    for (const s of [seedIn, seedOut]) {
      const c = new PluginCache(s, [], log);
      await c.putBlob(Buffer.from(s));
      await c.putIndex({ key: s, sha256: sha256Hex(Buffer.from(s)), size: 1, origin: 'o' });
    }
    const cache = new PluginCache(path.join(d.outside, 'main'), [seedIn, seedOut], log, (r) =>
      r.startsWith(d.checkout),
    );
    expect(await cache.getIndex(seedIn)).toBeUndefined();
    expect(await cache.getIndex(seedOut)).toBeDefined();
  });
});
