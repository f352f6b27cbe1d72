/**
 * Archives in the scanned tree (zip, jar/war/ear, tar, tar.gz/tgz) are scanned as their members, each reported as
 * `archive.zip!inner/path` (gitleaks' convention, nested: `a.tar.gz!lib/b.jar!config.properties`). The archive is
 * hostile input, so:
 * - members are data: read into memory, never written to disk, so `../`, absolute names and links lead nowhere
 *   (names are shown with leading `/` and `../` removed; link, device and directory members are not read);
 * - every number is bounded: nesting depth (--archive-depth, default 2), members per top-level archive (10 000),
 *   inflated bytes per top-level archive (256 MiB), each member (--max-file-size), and a member's compression
 *   ratio (over 200:1 beyond 1 MiB is refused as a bomb before it is inflated); zlib's maxOutputLength enforces
 *   the real size whatever the headers claim. What is refused is reported as skipped with the reason, never
 *   dropped in silence.
 * zip is read here (central directory + node:zlib raw inflate: stored and deflate, the two methods jar tools and
 * `zip` write); tar through `tar`'s parser, as for plugin bundles (sources/archive.ts).
 */
import path from 'node:path';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import type { SkippedFile } from '../../core/model.js';
import { MiB, mib } from '../../sources/limits.js';

export const DEFAULT_ARCHIVE_DEPTH = 2;
/** Members read from one top-level archive, nested ones included: a jar of a large app has a few thousand. */
export const MAX_ARCHIVE_MEMBERS = 10_000;
/** Inflated bytes from one top-level archive, nested ones included. */
export const MAX_ARCHIVE_INFLATED_BYTES = 256 * MiB;
/** A member inflating more than this many times its compressed size (past RATIO_FLOOR) is a bomb, not data. */
export const MAX_COMPRESSION_RATIO = 200;
const RATIO_FLOOR = 1 * MiB;
/** An archive file larger than this is not opened (it is held in memory whole). */
export const MAX_ARCHIVE_FILE_BYTES = 256 * MiB;

export type ArchiveKind = 'zip' | 'tar' | 'tgz';

/** By name: what the walk uses to pick archives without reading every file. */
export function archiveKindOf(name: string): ArchiveKind | undefined {
  const n = name.toLowerCase();
  if (/\.(zip|jar|war|ear)$/.test(n)) return 'zip';
  if (n.endsWith('.tar')) return 'tar';
  if (n.endsWith('.tar.gz') || n.endsWith('.tgz')) return 'tgz';
  return undefined;
}

export interface ArchiveLimits {
  depth: number;
  maxMemberBytes: number;
}

export interface ArchiveMember {
  path: string;
  data: Uint8Array;
}

export interface Expanded {
  members: ArchiveMember[];
  skipped: SkippedFile[];
}

/** A member's name as a label: forward slashes, no leading `/` or `./`, no `..` segment. */
export function memberName(raw: string): string {
  return path.posix
    .normalize(raw.replace(/\\/g, '/'))
    .split('/')
    .filter((s) => s !== '..' && s !== '.' && s !== '')
    .join('/');
}

interface Budget {
  members: number;
  bytes: number;
}

class Refused extends Error {}

function take(budget: Budget, bytes: number): void {
  budget.members++;
  budget.bytes += bytes;
  if (budget.members > MAX_ARCHIVE_MEMBERS) throw new Refused(`more than ${MAX_ARCHIVE_MEMBERS} members`);
  if (budget.bytes > MAX_ARCHIVE_INFLATED_BYTES)
    throw new Refused(`inflates to more than ${mib(MAX_ARCHIVE_INFLATED_BYTES)}`);
}

/** zip: the central directory's entries (name, method, sizes, data offset); zip64 and multi-disk are refused. */
function* zipEntries(buf: Buffer): Generator<{
  name: string;
  method: number;
  encrypted: boolean;
  link: boolean;
  compSize: number;
  size: number;
  offset: number;
}> {
  const min = Math.max(0, buf.length - 65557);
  let eocd = -1;
  for (let i = buf.length - 22; i >= min; i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Refused('not a zip file (no end of central directory)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  if (p === 0xffffffff || count === 0xffff) throw new Refused('zip64 archives are not read');
  for (let n = 0; n < count; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) throw new Refused('corrupt central directory');
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const compSize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const madeBy = buf.readUInt16LE(p + 4) >> 8;
    const external = buf.readUInt32LE(p + 38);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    p += 46 + nameLen + extraLen + commentLen;
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) throw new Refused('corrupt local header');
    const offset = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    // Unix file type in the high 16 bits of the external attributes (made by Unix = 3): 0o120000 is a link.
    const link = madeBy === 3 && ((external >>> 16) & 0o170000) === 0o120000;
    if (name.endsWith('/')) continue;
    yield { name, method, encrypted: (flags & 1) === 1, link, compSize, size, offset };
  }
}

function expandZip(buf: Buffer, label: string, limits: ArchiveLimits, depth: number, budget: Budget, out: Work) {
  for (const e of zipEntries(buf)) {
    const where = `${label}!${memberName(e.name)}`;
    if (e.link) {
      out.skipped.push({ path: where, reason: 'symlink', detail: 'link members are not followed' });
      continue;
    }
    if (e.encrypted || (e.method !== 0 && e.method !== 8)) {
      out.skipped.push({
        path: where,
        reason: 'unreadable',
        detail: e.encrypted ? 'encrypted member' : `compression method ${e.method}`,
      });
      continue;
    }
    if (e.size > limits.maxMemberBytes && !archiveKindOf(e.name)) {
      out.skipped.push({ path: where, reason: 'too-large', detail: `${e.size} bytes` });
      continue;
    }
    if (e.size > RATIO_FLOOR && e.size > e.compSize * MAX_COMPRESSION_RATIO) {
      out.skipped.push({
        path: where,
        reason: 'too-large',
        detail: `compression ratio over ${MAX_COMPRESSION_RATIO}:1 (a bomb?)`,
      });
      continue;
    }
    const raw = buf.subarray(e.offset, e.offset + e.compSize);
    const cap = Math.min(
      MAX_ARCHIVE_INFLATED_BYTES - budget.bytes,
      archiveKindOf(e.name) ? MAX_ARCHIVE_FILE_BYTES : limits.maxMemberBytes,
    );
    let data: Buffer;
    try {
      data = e.method === 0 ? raw : inflateRawSync(raw, { maxOutputLength: Math.max(1, cap) });
    } catch (err) {
      const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      out.skipped.push({
        path: where,
        reason: tooBig ? 'too-large' : 'unreadable',
        detail: tooBig ? `inflates past ${mib(cap)}` : `cannot inflate: ${(err as Error).message}`,
      });
      continue;
    }
    member(where, e.name, data, limits, depth, budget, out);
  }
}

/** tar: regular files only, through `tar`'s parser, in memory. */
function tarFiles(buf: Buffer): Promise<{ name: string; type: string; size: number; data?: Buffer }[]> {
  return new Promise((resolve, reject) => {
    const parser = new Parser({ strict: true, zstd: false } as ConstructorParameters<typeof Parser>[0]);
    const files: { name: string; type: string; size: number; data?: Buffer }[] = [];
    parser.on('entry', (entry: ReadEntry) => {
      // Stop listing early: each record costs memory before the member budget (member()) sees it.
      if (files.length >= MAX_ARCHIVE_MEMBERS) {
        entry.resume();
        return void reject(new Refused(`more than ${MAX_ARCHIVE_MEMBERS} members`));
      }
      const rec: { name: string; type: string; size: number; data?: Buffer } = {
        name: entry.path,
        type: entry.type,
        size: entry.size,
      };
      files.push(rec);
      if (entry.type !== 'File' && entry.type !== 'OldFile') return void entry.resume();
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        rec.data = Buffer.concat(chunks);
      });
    });
    parser.on('error', (err: Error) => reject(new Refused(`not a readable tar: ${err.message}`)));
    parser.on('end', () => resolve(files));
    // tar's parser inflates a gzip stream on its own, outside the budget: gzip inside a `.tar` (or a .tgz whose
    // content is gzip again) is refused, as for plugin bundles (sources/archive.ts).
    if (buf.length > 2 && buf[0] === 0x1f && buf[1] === 0x8b)
      return reject(new Refused('compressed twice (gzip inside tar)'));
    parser.end(buf);
  });
}

async function expandTar(buf: Buffer, label: string, limits: ArchiveLimits, depth: number, budget: Budget, out: Work) {
  for (const f of await tarFiles(buf)) {
    const where = `${label}!${memberName(f.name)}`;
    if (f.type === 'Directory') continue;
    if (f.type === 'SymbolicLink' || f.type === 'Link') {
      out.skipped.push({ path: where, reason: 'symlink', detail: 'link members are not followed' });
      continue;
    }
    if (!f.data) continue; // devices, FIFOs, pax/GNU metadata entries
    if (f.size > limits.maxMemberBytes && !archiveKindOf(f.name)) {
      out.skipped.push({ path: where, reason: 'too-large', detail: `${f.size} bytes` });
      continue;
    }
    member(where, f.name, f.data, limits, depth, budget, out);
  }
}

/** A member read: counted against the budget, then scanned as a file or, within the depth, opened as an archive. */
function member(
  where: string,
  name: string,
  data: Buffer,
  limits: ArchiveLimits,
  depth: number,
  budget: Budget,
  out: Work,
) {
  take(budget, data.length);
  const kind = archiveKindOf(name);
  if (kind && depth < limits.depth) {
    out.nested.push({ where, kind, data, depth: depth + 1 });
    return;
  }
  if (kind) {
    out.skipped.push({
      path: where,
      reason: 'excluded',
      detail: `archive nested deeper than --archive-depth ${limits.depth}`,
    });
    return;
  }
  if (data.length > limits.maxMemberBytes) {
    out.skipped.push({ path: where, reason: 'too-large', detail: `${data.length} bytes` });
    return;
  }
  out.members.push({ path: where, data });
}

interface Work extends Expanded {
  nested: { where: string; kind: ArchiveKind; data: Buffer; depth: number }[];
}

/**
 * The members of the archive `data` (found at `label` in the scanned tree), nested archives opened to
 * `limits.depth` levels. A refused or unreadable archive (or nested archive) is one skipped entry with the reason;
 * members read before a budget ran out are kept.
 */
export async function expandArchive(
  label: string,
  kind: ArchiveKind,
  data: Buffer,
  limits: ArchiveLimits,
): Promise<Expanded> {
  const budget: Budget = { members: 0, bytes: 0 };
  const out: Work = { members: [], skipped: [], nested: [] };
  const queue: Work['nested'] = [{ where: label, kind, data, depth: 1 }];
  for (let item = queue.shift(); item; item = queue.shift()) {
    try {
      let buf = item.data;
      if (item.kind === 'tgz') {
        const cap = MAX_ARCHIVE_INFLATED_BYTES - budget.bytes;
        try {
          buf = gunzipSync(buf, { maxOutputLength: Math.max(1, cap) });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
            throw new Refused(`inflates to more than ${mib(MAX_ARCHIVE_INFLATED_BYTES)}`);
          throw new Refused(`not a readable gzip: ${(err as Error).message}`);
        }
        budget.bytes += buf.length;
      }
      if (item.kind === 'zip') expandZip(buf, item.where, limits, item.depth, budget, out);
      else await expandTar(buf, item.where, limits, item.depth, budget, out);
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      out.skipped.push({ path: item.where, reason: 'unreadable', detail: `archive: ${err.message}` });
      if (/more than/.test(err.message)) break; // the budget is spent: nothing more from this archive
    }
    queue.push(...out.nested);
    out.nested = [];
  }
  return { members: out.members, skipped: out.skipped };
}
