/**
 * Reads a batch of disk files into one scan-protocol input. It runs on the plugin's worker thread (see
 * plugin/worker.ts, message `call-disk`), so reading and copying happen in parallel on every instance instead of
 * queueing on the main thread; the bytes go straight from the file into the buffer the plugin reads.
 * This is host code: the plugin itself still has no file access.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { allowedLines } from './allow.js';
import type { SkippedFile } from './model.js';
import { type BatchFile, encodeBatch, headerLine } from './protocol.js';

/**
 * `abs` arrives as a Uint8Array when the file's name is not UTF-8 (a Buffer becomes one on the way to a worker);
 * `size` is what the walk saw, used to size the plugin's input buffer before the file is opened.
 */
type DiskPath = { path: string; abs: string | Uint8Array; size: number };

export interface DiskBatch {
  files: DiskPath[];
  maxFileBytes: number;
  options?: Record<string, unknown>;
}

/** What became of each requested file: scanned (with its allow-comment lines) or skipped. */
export interface DiskFileOutcome {
  path: string;
  size: number;
  allow?: number[];
  skipped?: SkippedFile;
}

const BINARY_SNIFF = 8000;

export function isBinary(data: Uint8Array): boolean {
  return Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, BINARY_SNIFF)).indexOf(0) >= 0;
}

/**
 * Reads a text file without following a symlink swapped in after the walk, and without reading past the size limit
 * or past the room `into` gives it (`into` allocates the destination for the file's current size, or refuses).
 * A binary file is recognised from its first bytes and not read further: a tree of binaries costs no more than
 * their first pages. Synchronous on purpose: for page-cached files a read is a few microseconds, far less than a
 * thread-pool round trip per call.
 */
function readDisk(
  f: DiskPath,
  max: number,
  into: (size: number) => Uint8Array | SkippedFile,
): Uint8Array | SkippedFile {
  let fd: number | undefined;
  try {
    // O_NONBLOCK: a FIFO swapped in after the walk would otherwise block this open until the call's time limit.
    fd = openSync(
      typeof f.abs === 'string' ? f.abs : Buffer.from(f.abs),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
    const st = fstatSync(fd);
    if (!st.isFile()) return { path: f.path, reason: 'unreadable', detail: 'not a regular file' };
    if (st.size > max) return { path: f.path, reason: 'too-large', detail: `${st.size} bytes` };
    const buf = into(st.size);
    if (!(buf instanceof Uint8Array)) return buf;
    let got = 0;
    const fill = (upTo: number) => {
      while (got < upTo) {
        const n = readSync(fd as number, buf, got, upTo - got, got);
        if (n === 0) return;
        got += n;
      }
    };
    fill(Math.min(buf.length, BINARY_SNIFF));
    if (isBinary(buf.subarray(0, got))) return { path: f.path, reason: 'binary' };
    fill(buf.length);
    return buf.subarray(0, got);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path: f.path, reason: 'vanished', detail: 'deleted during the scan' };
    if (code === 'ELOOP') return { path: f.path, reason: 'symlink', detail: 'became a symlink during the scan' };
    return { path: f.path, reason: 'unreadable', detail: code ?? (err as Error).message };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A text file read: its size and the lines of its allow comments. */
function outcomeOf(f: DiskPath, data: Uint8Array): DiskFileOutcome {
  const allow = allowedLines(data);
  return allow ? { path: f.path, size: data.length, allow: [...allow] } : { path: f.path, size: data.length };
}

/** Where a scanned file's bytes sit in a batch input, so its allow comments can be looked for after the call. */
export interface FileSpan {
  outcome: DiskFileOutcome;
  offset: number;
  length: number;
}

/**
 * Fills in the allow-comment lines of the files in `only` (all when undefined), searching `input`, the batch as the
 * plugin got it. Searching every file of every batch was ~4% of a worker's time on a big tree, for the few files
 * a plugin reports anything in.
 */
export function addAllowLines(spans: FileSpan[], input: Uint8Array, only?: ReadonlySet<string>): void {
  for (const s of spans) {
    if (only && !only.has(s.outcome.path)) continue;
    const allow = allowedLines(input.subarray(s.offset, s.offset + s.length));
    if (allow) s.outcome.allow = [...allow];
  }
}

/** A batch as a scan-protocol input of its own (for plugins without wasmci's input buffer). */
export function readDiskBatch(batch: DiskBatch): { input: Uint8Array<ArrayBuffer>; outcomes: DiskFileOutcome[] } {
  const files: BatchFile[] = [];
  const outcomes: DiskFileOutcome[] = [];
  for (const f of batch.files) {
    const d = readDisk(f, batch.maxFileBytes, (size) => Buffer.allocUnsafe(size));
    if (!(d instanceof Uint8Array)) {
      outcomes.push({ path: f.path, size: 0, skipped: d });
      continue;
    }
    outcomes.push(outcomeOf(f, d));
    files.push({ path: f.path, data: d });
  }
  return { input: encodeBatch(files, batch.options), outcomes };
}

/**
 * A batch read straight into the plugin's input buffer (`buffer(n)`: a view of n bytes of its linear memory), laid
 * out as the scan protocol says: the header line, then the files back to back. The header comes first but is only
 * known once the files are read (sizes change, binaries drop out), so room is kept for the longest it can be (every
 * size at the size limit) and it is padded with spaces, which JSON allows. Returns the input's length, and each
 * file's span for `addAllowLines` once the plugin has answered (its outcomes carry no allow lines until then).
 */
export function readDiskBatchInto(
  batch: DiskBatch,
  buffer: (n: number) => Uint8Array,
): { length: number; outcomes: DiskFileOutcome[]; spans: FileSpan[] } {
  const longest = headerLine(
    batch.files.map((f) => ({ path: f.path, size: batch.maxFileBytes })),
    batch.options,
  );
  const headerRoom = Buffer.byteLength(longest);
  const view = buffer(headerRoom + batch.files.reduce((n, f) => n + f.size, 0));
  // Room the walk's sizes promise to the files after each one.
  const after: number[] = new Array(batch.files.length);
  for (let i = batch.files.length - 1, n = 0; i >= 0; i--) {
    after[i] = n;
    n += (batch.files[i] as DiskPath).size;
  }
  /**
   * Reads the files back to back. A file may have grown since the walk: first it may take any room left (a later
   * file may have shrunk or vanished); if that left a file that did not grow without room, the batch is read again
   * with the room of later files kept for them, so only files that grew are skipped.
   */
  const fill = (keepLaterRoom: boolean) => {
    const outcomes: DiskFileOutcome[] = [];
    const spans: FileSpan[] = [];
    const entries: { path: string; size: number }[] = [];
    let off = headerRoom;
    let crowdedOut = false;
    for (const [i, f] of batch.files.entries()) {
      const d = readDisk(f, batch.maxFileBytes, (size) => {
        if (off + size + (keepLaterRoom ? (after[i] as number) : 0) <= view.length)
          return view.subarray(off, off + size);
        if (size <= f.size) crowdedOut = true;
        return { path: f.path, reason: 'unreadable', detail: 'grew during the scan' };
      });
      if (!(d instanceof Uint8Array)) {
        outcomes.push({ path: f.path, size: 0, skipped: d });
        continue;
      }
      const outcome = { path: f.path, size: d.length };
      outcomes.push(outcome);
      spans.push({ outcome, offset: off, length: d.length });
      entries.push({ path: f.path, size: d.length });
      off += d.length;
    }
    return { off, outcomes, spans, entries, crowdedOut };
  };
  let read = fill(false);
  if (read.crowdedOut) read = fill(true);
  const { off, outcomes, spans, entries } = read;
  const header = headerLine(entries, batch.options);
  const written = Buffer.from(view.buffer, view.byteOffset, headerRoom).write(header.slice(0, -1), 'utf8');
  view.fill(0x20, written, headerRoom - 1);
  view[headerRoom - 1] = 0x0a;
  return { length: off, outcomes, spans };
}
