/**
 * Reading a disk batch into a plugin's input buffer (scan/batch-reader.ts): the header is written after the files
 * are read, into room kept before them, so files that changed since the walk must still give a valid batch.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addAllowLines, type DiskBatch, readDiskBatch, readDiskBatchInto } from '../src/core/batch-reader.js';
import { tempDir } from './helpers/cli.js';

interface Header {
  files: { path: string; size: number }[];
}

/** Splits a scan-protocol input into its header and each file's bytes. */
function parseBatch(input: Uint8Array): { header: Header; data: Record<string, string> } {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const nl = buf.indexOf(10);
  const header = JSON.parse(buf.subarray(0, nl).toString('utf8')) as Header;
  const data: Record<string, string> = {};
  let off = nl + 1;
  for (const f of header.files) {
    data[f.path] = buf.subarray(off, off + f.size).toString('utf8');
    off += f.size;
  }
  expect(off, 'nothing after the last file').toBe(buf.length);
  return { header, data };
}

describe('disk batches', () => {
  // Sizes as the walk saw them (`planned`); then the files changed: b turned out binary, c grew (from 1 to 4 digits:
  // a longer header than the walk's sizes give), d shrank (with as many digits), e vanished.
  const dir = tempDir();
  const put = (name: string, content: string | Buffer) => writeFileSync(path.join(dir, name), content);
  put('a.txt', 'hello');
  put('b.bin', Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(3000)]));
  put('c.txt', `${'c'.repeat(1199)}\n`);
  put('d.txt', `${'d'.repeat(999)}\n`);
  const diskBatch = (planned: [string, number][]): DiskBatch => ({
    files: planned.map(([p, size]) => ({ path: p, abs: path.join(dir, p), size })),
    maxFileBytes: 10 * 1024 * 1024,
    options: { redact: true },
  });
  const batch = diskBatch([
    ['a.txt', 5],
    ['b.bin', 3006],
    ['c.txt', 3],
    ['d.txt', 9000],
    ['e.txt', 50],
  ]);

  it('gives a valid batch in the plugin buffer when files grew or shrank since the walk', () => {
    let room = 0;
    const buf = new Uint8Array(64 * 1024);
    const grown = diskBatch([
      ['a.txt', 5],
      ['c.txt', 3],
      ['d.txt', 9000],
    ]);
    const read = readDiskBatchInto(grown, (n) => {
      room = n;
      return buf.subarray(0, n);
    });
    expect(read.length).toBeLessThanOrEqual(room);
    const { header, data } = parseBatch(buf.subarray(0, read.length));
    expect(header.files).toEqual([
      { path: 'a.txt', size: 5 },
      { path: 'c.txt', size: 1200 },
      { path: 'd.txt', size: 1000 },
    ]);
    expect(data['a.txt']).toBe('hello');
    expect(data['c.txt']).toBe(`${'c'.repeat(1199)}\n`);
    expect(data['d.txt']).toBe(`${'d'.repeat(999)}\n`);
  });

  it('drops binary and vanished files from the batch and says so', () => {
    const buf = new Uint8Array(64 * 1024);
    const read = readDiskBatchInto(batch, (n) => buf.subarray(0, n));
    expect(parseBatch(buf.subarray(0, read.length)).header.files.map((f) => f.path)).toEqual([
      'a.txt',
      'c.txt',
      'd.txt',
    ]);
    expect(read.outcomes.map((o) => [o.path, o.skipped?.reason])).toEqual([
      ['a.txt', undefined],
      ['b.bin', 'binary'],
      ['c.txt', undefined],
      ['d.txt', undefined],
      ['e.txt', 'vanished'],
    ]);
  });

  it('reads the same files as the copying path, for plugins without an input buffer', () => {
    const buf = new Uint8Array(64 * 1024);
    const into = readDiskBatchInto(batch, (n) => buf.subarray(0, n));
    const copied = readDiskBatch(batch);
    expect(parseBatch(buf.subarray(0, into.length))).toEqual(parseBatch(copied.input));
    expect(into.outcomes).toEqual(copied.outcomes);
  });

  it('finds allow-comment lines after the call, in the files the plugin reported only', () => {
    put('f.txt', 'one\nkey = 1 # gitleaks:allow\nthree\n');
    put('g.txt', 'wasmci:allow\n');
    const buf = new Uint8Array(64 * 1024);
    const read = readDiskBatchInto(
      diskBatch([
        ['a.txt', 5],
        ['f.txt', 35],
        ['g.txt', 13],
      ]),
      (n) => buf.subarray(0, n),
    );
    expect(read.outcomes.map((o) => o.allow)).toEqual([undefined, undefined, undefined]);
    addAllowLines(read.spans, buf.subarray(0, read.length), new Set(['f.txt']));
    expect(read.outcomes.map((o) => o.allow)).toEqual([undefined, [2], undefined]);
    addAllowLines(read.spans, buf.subarray(0, read.length));
    expect(read.outcomes.map((o) => o.allow)).toEqual([undefined, [2], [1]]);
    // the copying path (plugins without an input buffer) finds them while reading
    expect(readDiskBatch(diskBatch([['g.txt', 13]])).outcomes[0]?.allow).toEqual([1]);
  });

  it('a FIFO, a directory or a symlink swapped in after the walk is skipped, without blocking or following', () => {
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    mkdirSync(path.join(dir, 'sub'));
    symlinkSync('/etc/passwd', path.join(dir, 'link'));
    const buf = new Uint8Array(64 * 1024);
    const swapped = diskBatch([
      ['fifo', 5],
      ['sub', 5],
      ['link', 5],
      ['a.txt', 5],
    ]);
    const read = readDiskBatchInto(swapped, (n) => buf.subarray(0, n));
    expect(read.outcomes.map((o) => [o.path, o.skipped?.reason, o.skipped?.detail])).toEqual([
      ['fifo', 'unreadable', 'not a regular file'],
      ['sub', 'unreadable', 'not a regular file'],
      ['link', 'symlink', 'became a symlink during the scan'],
      ['a.txt', undefined, undefined],
    ]);
    expect(parseBatch(buf.subarray(0, read.length)).data).toEqual({ 'a.txt': 'hello' });
  });

  it('a file that grew into the room of a later file that did not is skipped, not the later file', () => {
    put('p.txt', '0123456789');
    put('q.txt', 'hello!');
    const buf = new Uint8Array(64 * 1024);
    // p grew from 5 to 10 bytes, taking all but one byte of q's room; q is as the walk saw it
    const read = readDiskBatchInto(
      diskBatch([
        ['p.txt', 5],
        ['q.txt', 6],
      ]),
      (n) => buf.subarray(0, n),
    );
    expect(read.outcomes).toEqual([
      { path: 'p.txt', size: 0, skipped: { path: 'p.txt', reason: 'unreadable', detail: 'grew during the scan' } },
      { path: 'q.txt', size: 6 },
    ]);
    expect(parseBatch(buf.subarray(0, read.length)).data).toEqual({ 'q.txt': 'hello!' });
  });

  it('skips a file that grew past all the room the walk left, and says why', () => {
    const tight = diskBatch([['c.txt', 3]]);
    const buf = new Uint8Array(64 * 1024);
    const read = readDiskBatchInto(tight, (n) => buf.subarray(0, n));
    expect(read.outcomes).toEqual([
      { path: 'c.txt', size: 0, skipped: { path: 'c.txt', reason: 'unreadable', detail: 'grew during the scan' } },
    ]);
    expect(parseBatch(buf.subarray(0, read.length)).header.files).toEqual([]);
  });
});
