/**
 * `wasmci.lock`: JSON pinning each plugin reference (as written) to the sha256 and size of its wasm, with the URL
 * it was resolved from (never with credentials). Read on every run when present; written by `wasmci pull --lock`.
 * One inside the checked-out tree is only a check (sources/index.ts): it can refuse bytes, never choose them.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../core/atomic.js';

export const LOCKFILE_NAME = 'wasmci.lock';

export interface LockEntry {
  sha256: string;
  size: number;
  resolved: string;
}

export interface Lockfile {
  lockfileVersion: 1;
  plugins: Record<string, LockEntry>;
}

/** --lockfile, else WASMCI_LOCKFILE, else ./wasmci.lock (an empty variable, as CI templates leave them, is unset). */
export function lockfilePath(flag: string | undefined, env = process.env, cwd = process.cwd()): string {
  return path.resolve(cwd, flag || env.WASMCI_LOCKFILE || LOCKFILE_NAME);
}

function invalid(file: string, why: string): UsageError {
  return new UsageError(`lockfile ${file} is invalid: ${why}`, 'regenerate it with `wasmci pull --lock <refs…>`');
}

/** The lockfile, or undefined when there is none. A present but malformed lockfile is an error, never ignored. */
export async function readLockfile(file: string): Promise<Lockfile | undefined> {
  if (!existsSync(file)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw invalid(file, (err as Error).message);
  }
  const lock = data as Lockfile;
  if (!lock || typeof lock !== 'object' || lock.lockfileVersion !== 1 || typeof lock.plugins !== 'object')
    throw invalid(file, 'expected {"lockfileVersion": 1, "plugins": {...}}');
  for (const [ref, e] of Object.entries(lock.plugins)) {
    if (!e || !/^[a-f0-9]{64}$/.test(e.sha256) || !Number.isInteger(e.size) || typeof e.resolved !== 'string')
      throw invalid(file, `entry "${ref}" needs sha256 (64 hex), size and resolved`);
  }
  return lock;
}

/** Merges entries into the lockfile (created if missing); written atomically, keys sorted for stable diffs. */
export async function updateLockfile(file: string, entries: Record<string, LockEntry>): Promise<Lockfile> {
  const current = (await readLockfile(file)) ?? { lockfileVersion: 1, plugins: {} };
  const merged = { ...current.plugins, ...entries };
  const plugins: Record<string, LockEntry> = {};
  for (const k of Object.keys(merged).sort()) plugins[k] = merged[k] as LockEntry;
  const lock: Lockfile = { lockfileVersion: 1, plugins };
  await writeFileAtomic(file, `${JSON.stringify(lock, null, 2)}\n`);
  return lock;
}
