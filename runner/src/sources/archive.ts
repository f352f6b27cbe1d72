/**
 * Plugin bundles: a `.tar.gz` holding the wasm and `wasmci-plugin.json` (or an npm package whose package.json names
 * it in `wasmci.plugin`). Parsed in memory with `tar`'s parser — nothing from an untrusted archive is written to
 * disk, so links and `../` paths cannot escape anywhere; only regular files are read, with a size cap.
 */
import path from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { RuntimeError } from '../errors.js';
import { sha256Hex } from './cache.js';

const MAX_FILE = 256 * 1024 * 1024;

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

async function readEntries(archive: Uint8Array, label: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const parser = new Parser({ strict: true });
  const done = new Promise<void>((resolve, reject) => {
    parser.on('entry', (entry: ReadEntry) => {
      const name = path.posix.normalize(entry.path).replace(/^(\.\/)+/, '');
      if (entry.type !== 'File' || name.startsWith('../') || path.posix.isAbsolute(name) || entry.size > MAX_FILE) {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => files.set(name, Buffer.concat(chunks)));
    });
    parser.on('end', resolve);
    parser.on('error', reject);
  });
  try {
    parser.end(Buffer.from(archive));
    await done;
  } catch (err) {
    throw new RuntimeError(`${label} is not a readable .tar.gz: ${(err as Error).message}`);
  }
  return files;
}

/** Strips one leading directory shared by every entry (npm's `package/`, `secrets-1.2.0/`). */
function stripCommonRoot(files: Map<string, Buffer>): Map<string, Buffer> {
  const roots = new Set([...files.keys()].map((k) => (k.includes('/') ? k.slice(0, k.indexOf('/')) : '')));
  if (roots.size !== 1 || roots.has('')) return files;
  const cut = [...roots][0]?.length ?? 0;
  return new Map([...files].map(([k, v]) => [k.slice(cut + 1), v]));
}

function jsonOf(files: Map<string, Buffer>, name: string, label: string): Record<string, unknown> | undefined {
  const raw = files.get(name);
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw.toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {}
  throw new RuntimeError(`${label}: ${name} is not a JSON object`);
}

export interface ExtractedPlugin {
  wasm: Uint8Array;
  /** Path of the wasm inside the archive. */
  file: string;
  metadata?: Record<string, unknown>;
}

/** The plugin in a bundle: `wasmci-plugin.json` `wasm`, else package.json `wasmci.plugin`, else the one .wasm. */
export async function extractPlugin(archive: Uint8Array, label: string): Promise<ExtractedPlugin> {
  const files = stripCommonRoot(await readEntries(archive, label));
  const meta = jsonOf(files, 'wasmci-plugin.json', label);
  const pkg = jsonOf(files, 'package.json', label);
  const fromPkg = (pkg?.wasmci as Record<string, unknown> | undefined)?.plugin;
  let file = (typeof meta?.wasm === 'string' && meta.wasm) || (typeof fromPkg === 'string' && fromPkg) || undefined;
  if (!file) {
    const wasms = [...files.keys()].filter((k) => k.endsWith('.wasm'));
    if (wasms.length !== 1)
      throw new RuntimeError(
        `${label} holds ${wasms.length} .wasm files and no wasmci-plugin.json naming one`,
        'add wasmci-plugin.json {"wasm": "<file>.wasm"} (or "wasmci": {"plugin": …} in package.json)',
      );
    file = wasms[0] as string;
  }
  file = path.posix.normalize(file).replace(/^(\.\/)+/, '');
  const wasm = files.get(file);
  if (!wasm) throw new RuntimeError(`${label}: the plugin file ${file} named by its metadata is not in the archive`);
  const pinned = meta?.sha256;
  if (typeof pinned === 'string' && pinned.toLowerCase() !== sha256Hex(wasm))
    throw new RuntimeError(
      `${label}: ${file} does not match the sha256 in wasmci-plugin.json`,
      'the bundle was modified after it was built: do not use it',
    );
  return { wasm, file, metadata: meta ?? (pkg ? { name: pkg.name, version: pkg.version } : undefined) };
}
