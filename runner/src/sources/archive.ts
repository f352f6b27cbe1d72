/**
 * Plugin bundles: a `.tar.gz` holding the wasm and `wasmci-plugin.json` (or an npm package whose package.json names
 * it in `wasmci.plugin`). Read in memory with `tar`'s parser — nothing from an untrusted archive is written to
 * disk, so links and `../` paths cannot escape anywhere; only regular files are read.
 *
 * A bundle can be a decompression bomb (a few MB that inflate to GBs), so it is streamed, never inflated whole:
 * one pass reads only the metadata files (≤ 1 MiB each) and counts the .wasm entries, a second pass holds only the
 * one wasm entry chosen (≤ 256 MiB); every other entry is skipped as it streams, and the whole inflated stream is
 * capped at 512 MiB (limits.ts), which bounds the CPU a bomb costs. Two passes inflate a real bundle twice (a few
 * MB, milliseconds) so that memory never depends on the order of the entries.
 */
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { RuntimeError } from '../errors.js';
import { printable } from '../log.js';
import { sha256Hex } from './cache.js';
import { MAX_BUNDLE_INFLATED_BYTES, MAX_METADATA_BYTES, MAX_PLUGIN_BYTES, mib } from './limits.js';

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

const METADATA = ['wasmci-plugin.json', 'package.json'];

/** The entry's path, normalised; undefined for anything but a regular file with a relative path inside the archive. */
function fileName(entry: ReadEntry): string | undefined {
  const name = path.posix.normalize(entry.path).replace(/^(\.\/)+/, '');
  if (entry.type !== 'File' || name === '..' || name.startsWith('../') || path.posix.isAbsolute(name)) return undefined;
  return name;
}

/**
 * Streams the archive through gunzip and tar's parser, handing each regular file to `visit`, which reads it or
 * resumes it (skips without holding it). Stops at the first error `visit` throws or past the inflated-size cap.
 */
function walk(archive: Uint8Array, label: string, visit: (name: string, entry: ReadEntry) => void): Promise<void> {
  const unreadable = (why: string) => new RuntimeError(`${label} is not a readable .tar.gz: ${why}`);
  return new Promise<void>((resolve, reject) => {
    const gunzip = createGunzip();
    // zstd: false — tar would otherwise sniff and inflate a second layer itself, outside the count below.
    const parser = new Parser({ strict: true, zstd: false });
    let inflated = 0;
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      gunzip.destroy();
      reject(err);
    };
    parser.on('entry', (entry: ReadEntry) => {
      const name = failed ? undefined : fileName(entry);
      if (name === undefined) return void entry.resume();
      try {
        visit(name, entry);
      } catch (err) {
        entry.resume();
        fail(err as Error);
      }
    });
    parser.on('error', (err: Error) => fail(unreadable(err.message)));
    parser.on('end', () => {
      if (!failed) resolve();
    });
    gunzip.on('data', (chunk: Buffer) => {
      if (failed) return;
      // A tar stream never starts with gzip's magic; tar's parser would inflate such a second layer on its own.
      if (inflated === 0 && isGzip(chunk)) return fail(unreadable('it is compressed twice'));
      inflated += chunk.length;
      if (inflated > MAX_BUNDLE_INFLATED_BYTES)
        return fail(
          new RuntimeError(
            `${label} inflates to more than ${mib(MAX_BUNDLE_INFLATED_BYTES)}: refused (a decompression bomb?)`,
            `a plugin bundle holds the wasm (at most ${mib(MAX_PLUGIN_BYTES)}) and its metadata: rebuild it without the rest`,
          ),
        );
      if (!parser.write(chunk)) {
        gunzip.pause();
        parser.once('drain', () => gunzip.resume());
      }
    });
    gunzip.on('end', () => {
      if (!failed) parser.end();
    });
    gunzip.on('error', (err: Error) => fail(unreadable(err.message)));
    // No copy of the (up to 256 MiB) archive: a view of the same bytes.
    gunzip.end(Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength));
  });
}

/** Reads one entry into memory, refusing it past `max` bytes (checked on the header's size, before any byte). */
function hold(entry: ReadEntry, name: string, label: string, max: number, into: (data: Buffer) => void): void {
  if (entry.size > max)
    throw new RuntimeError(
      `${label}: ${printable(name)} is ${entry.size} bytes, over the ${mib(max)} cap`,
      max === MAX_PLUGIN_BYTES ? 'a plugin that large is not accepted' : 'bundle metadata is a small JSON file',
    );
  const chunks: Buffer[] = [];
  entry.on('data', (c: Buffer) => chunks.push(c));
  entry.on('end', () => into(Buffer.concat(chunks)));
}

interface Survey {
  /** The first path segment shared by every file ('' when a file sits at the top), or null when they differ. */
  root: string | null | undefined;
  /** Metadata files at the top and under the first root seen, by their path in the archive. */
  metadata: Map<string, Buffer>;
  wasmCount: number;
  firstWasm?: string;
}

/** Pass 1: the shared root, the metadata files, and how many .wasm files there are — nothing else is held. */
async function survey(archive: Uint8Array, label: string): Promise<Survey> {
  const s: Survey = { root: undefined, metadata: new Map(), wasmCount: 0 };
  let firstRoot: string | undefined;
  await walk(archive, label, (name, entry) => {
    const top = name.includes('/') ? name.slice(0, name.indexOf('/')) : '';
    firstRoot ??= top;
    if (s.root !== null) s.root = top === firstRoot && top !== '' ? top : null;
    if (name.endsWith('.wasm')) {
      s.wasmCount++;
      s.firstWasm ??= name;
    }
    // npm's `package/` and `secrets-1.2.0/` roots are stripped below: keep both the top-level and the rooted names.
    const candidate = METADATA.includes(name) || METADATA.some((m) => name === `${firstRoot}/${m}`);
    if (!candidate) return void entry.resume();
    hold(entry, name, label, MAX_METADATA_BYTES, (data) => s.metadata.set(name, data));
  });
  return s;
}

/** Pass 2: the one entry named `wanted`, held; two entries of that name are refused (tools disagree on which wins). */
async function readOne(archive: Uint8Array, label: string, wanted: string): Promise<Buffer | undefined> {
  let found: Buffer | undefined;
  let seen = 0;
  await walk(archive, label, (name, entry) => {
    if (name !== wanted) return void entry.resume();
    if (++seen > 1)
      throw new RuntimeError(`${label} holds two entries named ${printable(name)}`, 'a bundle must be unambiguous');
    hold(entry, name, label, MAX_PLUGIN_BYTES, (data) => {
      found = data;
    });
  });
  return found;
}

function jsonOf(raw: Buffer | undefined, name: string, label: string): Record<string, unknown> | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw.toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {}
  throw new RuntimeError(`${label}: ${name} is not a JSON object`);
}

export interface ExtractedPlugin {
  wasm: Uint8Array;
  /** Path of the wasm inside the archive (after the shared root directory). */
  file: string;
  metadata?: Record<string, unknown>;
}

/** The plugin in a bundle: `wasmci-plugin.json` `wasm`, else package.json `wasmci.plugin`, else the one .wasm. */
export async function extractPlugin(archive: Uint8Array, label: string): Promise<ExtractedPlugin> {
  const s = await survey(archive, label);
  // One leading directory shared by every entry (npm's `package/`, `secrets-1.2.0/`) is stripped.
  const prefix = s.root ? `${s.root}/` : '';
  const meta = jsonOf(s.metadata.get(`${prefix}wasmci-plugin.json`), 'wasmci-plugin.json', label);
  const pkg = jsonOf(s.metadata.get(`${prefix}package.json`), 'package.json', label);
  const fromPkg = (pkg?.wasmci as Record<string, unknown> | undefined)?.plugin;
  let file = (typeof meta?.wasm === 'string' && meta.wasm) || (typeof fromPkg === 'string' && fromPkg) || undefined;
  if (!file) {
    if (s.wasmCount !== 1)
      throw new RuntimeError(
        `${label} holds ${s.wasmCount} .wasm files and no wasmci-plugin.json naming one`,
        'add wasmci-plugin.json {"wasm": "<file>.wasm"} (or "wasmci": {"plugin": …} in package.json)',
      );
    file = (s.firstWasm as string).slice(prefix.length);
  }
  file = path.posix.normalize(file).replace(/^(\.\/)+/, '');
  const wasm =
    file.startsWith('../') || path.posix.isAbsolute(file) ? undefined : await readOne(archive, label, prefix + file);
  if (!wasm)
    throw new RuntimeError(`${label}: the plugin file ${printable(file)} named by its metadata is not in the archive`);
  const pinned = meta?.sha256;
  if (typeof pinned === 'string' && pinned.toLowerCase() !== sha256Hex(wasm))
    throw new RuntimeError(
      `${label}: ${printable(file)} does not match the sha256 in wasmci-plugin.json`,
      'the bundle was modified after it was built: do not use it',
    );
  return { wasm, file, metadata: meta ?? (pkg ? { name: pkg.name, version: pkg.version } : undefined) };
}
