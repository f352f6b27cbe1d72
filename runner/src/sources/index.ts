/**
 * Plugin reference -> verified bytes. This first version knows paths and https URLs;
 * the sources issue extends it with gitlab:, npm:, oci://, the cache and the lockfile.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import got from 'got';
import { RuntimeError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';

export interface ResolveOptions {
  /** Expected sha256 (hex) of the wasm: a mismatch is an error, never a warning. */
  sha256?: string;
  offline?: boolean;
  log: Logger;
}

export interface ResolvedPlugin {
  bytes: Uint8Array;
  sha256: string;
  /** The reference as the user wrote it. */
  ref: string;
  /** Where the bytes came from (path or URL, never with credentials). */
  origin: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function resolvePlugin(ref: string, opts: ResolveOptions): Promise<ResolvedPlugin> {
  let bytes: Uint8Array;
  if (/^https?:\/\//i.test(ref)) {
    if (opts.offline) throw new UsageError(`plugin ${ref} is not available offline`, 'drop --offline or pull it first');
    try {
      bytes = await got(ref, { retry: { limit: 2 }, timeout: { request: 60_000 } }).buffer();
    } catch (err) {
      throw new RuntimeError(`could not download plugin ${ref}: ${(err as Error).message}`);
    }
  } else {
    try {
      bytes = await readFile(ref);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(
        `plugin file ${ref} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`,
        'pass a path to a .wasm file or an https:// URL',
      );
    }
  }
  const sha256 = sha256Hex(bytes);
  if (opts.sha256 && opts.sha256.toLowerCase() !== sha256) {
    throw new RuntimeError(
      `plugin ${ref} has sha256 ${sha256}, expected ${opts.sha256.toLowerCase()}`,
      'the file changed since it was pinned: check its origin before updating the pin',
    );
  }
  return { bytes, sha256, ref, origin: ref };
}
