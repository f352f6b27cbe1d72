/**
 * Reads a batch of disk files into one scan-protocol input. It runs on the plugin's worker thread (see
 * plugin/worker.ts, message `call-disk`), so reading and copying happen in parallel on every instance instead of
 * queueing on the main thread; the bytes go straight from the file into the buffer the plugin reads.
 * This is host code: the plugin itself still has no file access.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { allowedLines } from './allow.js';
import type { SkippedFile } from './model.js';
import { type BatchFile, encodeBatch } from './protocol.js';

/** `abs` arrives as a Uint8Array when the file's name is not UTF-8 (a Buffer becomes one on the way to a worker). */
type DiskPath = { path: string; abs: string | Uint8Array };

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
 * Reads a file without following a symlink swapped in after the walk, and without reading past the size limit.
 * Synchronous on purpose: for page-cached files a read is a few microseconds, far less than a thread-pool round
 * trip per call.
 */
export function readDisk(f: DiskPath, max: number): Uint8Array | SkippedFile {
  let fd: number | undefined;
  try {
    fd = openSync(typeof f.abs === 'string' ? f.abs : Buffer.from(f.abs), constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    if (!st.isFile()) return { path: f.path, reason: 'unreadable', detail: 'not a regular file' };
    if (st.size > max) return { path: f.path, reason: 'too-large', detail: `${st.size} bytes` };
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
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

export function readDiskBatch(batch: DiskBatch): { input: Uint8Array<ArrayBuffer>; outcomes: DiskFileOutcome[] } {
  const files: BatchFile[] = [];
  const outcomes: DiskFileOutcome[] = [];
  for (const f of batch.files) {
    const d = readDisk(f, batch.maxFileBytes);
    if (!(d instanceof Uint8Array)) {
      outcomes.push({ path: f.path, size: 0, skipped: d });
    } else if (isBinary(d)) {
      outcomes.push({ path: f.path, size: d.length, skipped: { path: f.path, reason: 'binary' } });
    } else {
      const allow = allowedLines(d);
      outcomes.push(allow ? { path: f.path, size: d.length, allow: [...allow] } : { path: f.path, size: d.length });
      files.push({ path: f.path, data: d });
    }
  }
  return { input: encodeBatch(files, batch.options), outcomes };
}
