/**
 * The plugin cache: content-addressed blobs (`blobs/sha256/<hex>`) and an index of reference -> sha256
 * (`index/<sha256 of the key>.json`, one file per reference so concurrent writers never merge a shared file).
 * Every write is a temp file in the same directory + fsync + rename, so parallel jobs sharing the cache see either
 * nothing or a whole entry. Every read re-hashes: a corrupted blob is removed and reported as a miss.
 * Seed directories (WASMCI_SEED_CACHE, e.g. baked into the image) have the same layout and are only read.
 *
 * A cache root inside the checked-out tree (the CI default `$CI_PROJECT_DIR/.wasmci-cache`) may hold whatever a
 * merge request committed there. Its blobs are still content-addressed (served for a digest that a trusted pin
 * names: re-hashing proves them), but its index — which says which bytes a reference means — is never read:
 * such a cache can hold bytes, never choose them. `untrusted(root)` says which roots those are.
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../log.js';
import { writeFileAtomic } from '../core/atomic.js';

export interface IndexEntry {
  key: string;
  sha256: string;
  size: number;
  /** Where the bytes came from, without credentials. */
  origin: string;
  fetchedAt: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** --cache-dir, WASMCI_CACHE_DIR, in CI the project dir (so GitLab `cache:` can keep it), else the XDG cache. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WASMCI_CACHE_DIR) return path.resolve(env.WASMCI_CACHE_DIR);
  const inCi = env.CI === 'true' || env.GITLAB_CI === 'true';
  if (inCi && env.CI_PROJECT_DIR) return path.join(env.CI_PROJECT_DIR, '.wasmci-cache');
  const xdg = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(xdg, 'wasmci');
}

export function seedDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.WASMCI_SEED_CACHE ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((d) => path.resolve(d));
}

const isHex = (s: string) => /^[a-f0-9]{64}$/.test(s);

export class PluginCache {
  constructor(
    readonly dir: string,
    readonly seeds: string[],
    readonly log: Logger,
    readonly untrusted: (root: string) => boolean = () => false,
  ) {}

  /** The roots whose index is not read (inside the checkout), for messages. */
  get untrustedRoots(): string[] {
    return [this.dir, ...this.seeds].filter((r) => this.untrusted(r));
  }

  #blobPath(root: string, sha256: string): string {
    return path.join(root, 'blobs', 'sha256', sha256);
  }

  #indexPath(root: string, key: string): string {
    return path.join(root, 'index', `${sha256Hex(Buffer.from(key))}.json`);
  }

  /** The verified bytes for a digest from the cache or a seed, or undefined. Corrupted entries are dropped. */
  async getBlob(sha256: string): Promise<Uint8Array | undefined> {
    if (!isHex(sha256)) return undefined;
    for (const root of [this.dir, ...this.seeds]) {
      const file = this.#blobPath(root, sha256);
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch {
        continue;
      }
      if (sha256Hex(bytes) === sha256) {
        this.log.debug(`cache hit ${sha256.slice(0, 12)} in ${root}`);
        return bytes;
      }
      if (root === this.dir) {
        this.log.warn(`cache entry ${file} is corrupted (its content does not match its sha256): removed, re-fetching`);
        await rm(file, { force: true });
      } else this.log.warn(`seed cache entry ${file} is corrupted: ignored`);
    }
    return undefined;
  }

  async putBlob(bytes: Uint8Array): Promise<string> {
    const sha256 = sha256Hex(bytes);
    await writeFileAtomic(this.#blobPath(this.dir, sha256), bytes);
    return sha256;
  }

  /** The index entry for a reference, from trusted roots only (an in-tree index could name any bytes). */
  async getIndex(key: string): Promise<IndexEntry | undefined> {
    for (const root of [this.dir, ...this.seeds]) {
      if (this.untrusted(root)) continue;
      try {
        const entry = JSON.parse(await readFile(this.#indexPath(root, key), 'utf8')) as IndexEntry;
        if (entry.key === key && isHex(entry.sha256)) return entry;
      } catch {
        // missing or unreadable index entries are misses; the blob check is what protects integrity
      }
    }
    return undefined;
  }

  async putIndex(entry: Omit<IndexEntry, 'fetchedAt'>): Promise<void> {
    const full: IndexEntry = { ...entry, fetchedAt: new Date().toISOString() };
    await writeFileAtomic(this.#indexPath(this.dir, entry.key), `${JSON.stringify(full, null, 2)}\n`);
  }

  /** Index lookup + verified blob: what an immutable (or offline) reference is served from. */
  async lookup(key: string): Promise<{ entry: IndexEntry; bytes: Uint8Array } | undefined> {
    const entry = await this.getIndex(key);
    if (!entry) return undefined;
    const bytes = await this.getBlob(entry.sha256);
    return bytes ? { entry, bytes } : undefined;
  }
}
