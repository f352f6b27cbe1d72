/**
 * The scan pipeline: targets (disk walk or git patches) -> filters (globs, shard, size, binary) -> batches ->
 * the plugin pool -> validated, enriched findings. Reading is I/O on the main thread while the plugins run on
 * their workers; at most a few batches are in flight, so memory stays bounded whatever the size of the tree.
 * A plugin fault costs only the file that caused it: the batch is split and retried to find that file.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import picomatch from 'picomatch';
import { PluginError } from '../errors.js';
import { allowedLines } from './allow.js';
import { fingerprint, secretHash } from './fingerprint.js';
import type { CommitInfo, Finding, PluginDescription, ScanError, SkippedFile } from './model.js';
import type { PluginPool } from './pool.js';
import type { Progress } from './progress.js';
import { type BatchFile, encodeBatch, ProtocolError, parseScanOutput, type RawFinding } from './protocol.js';
import { inShard, type Shard } from './shard.js';
import type { DiskFile } from './targets/files.js';
import type { PatchFile } from './targets/patch.js';

export type SourceItem = { disk: DiskFile } | { patch: PatchFile } | { skipped: SkippedFile };

export interface ScanPipelineOptions {
  pool: PluginPool;
  plugin: PluginDescription;
  include: string[];
  exclude: string[];
  maxFileBytes: number;
  shard?: Shard;
  /** Close a batch at this many bytes or files. */
  batchBytes: number;
  batchFiles: number;
  /** Passed to the plugin in every batch header. */
  pluginOptions?: Record<string, unknown>;
  progress?: Progress;
}

export interface PipelineResult {
  findings: Finding[];
  skipped: SkippedFile[];
  errors: ScanError[];
  files: number;
  bytes: number;
  /** Findings dropped by an inline allow comment. */
  allowed: number;
}

interface Pending {
  file: BatchFile;
  allow?: Set<number>;
  commitInfo?: CommitInfo;
}

const BINARY_SNIFF = 8000;

function isBinary(data: Uint8Array): boolean {
  return Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, BINARY_SNIFF)).indexOf(0) >= 0;
}

/**
 * Reads a file without following a symlink swapped in after the walk, and without reading past the size limit.
 * Synchronous on purpose: for page-cached files a read is a few microseconds, far less than a thread-pool round
 * trip per call, and the plugins keep working on their own threads meanwhile.
 */
function readDisk(f: DiskFile, max: number): Uint8Array | SkippedFile {
  let fd: number | undefined;
  try {
    fd = openSync(f.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
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

export class ScanPipeline {
  readonly #o: ScanPipelineOptions;
  readonly #included: (p: string) => boolean;
  readonly #excluded: (p: string) => boolean;
  readonly #out: PipelineResult = { findings: [], skipped: [], errors: [], files: 0, bytes: 0, allowed: 0 };
  readonly #inFlight = new Set<Promise<void>>();
  #batch: Pending[] = [];
  #batchSize = 0;
  #toRead: DiskFile[] = [];
  #toReadSize = 0;

  constructor(o: ScanPipelineOptions) {
    this.#o = o;
    const inc = o.include.length ? picomatch(o.include, { dot: true }) : () => true;
    const exc = o.exclude.length ? picomatch(o.exclude, { dot: true }) : () => false;
    this.#included = inc;
    this.#excluded = exc;
  }

  async run(items: AsyncIterable<SourceItem>): Promise<PipelineResult> {
    for await (const item of items) {
      if ('skipped' in item) {
        this.#skip(item.skipped);
        continue;
      }
      const p = 'disk' in item ? item.disk.path : item.patch.path;
      if (!inShard(p, this.#o.shard)) continue;
      if (!this.#included(p) || this.#excluded(p)) continue;
      if ('disk' in item) {
        if (item.disk.size > this.#o.maxFileBytes) {
          this.#skip({ path: p, reason: 'too-large', detail: `${item.disk.size} bytes` });
          continue;
        }
        this.#toRead.push(item.disk);
        this.#toReadSize += item.disk.size;
        if (this.#toReadSize >= this.#o.batchBytes || this.#toRead.length >= this.#o.batchFiles) await this.#readSome();
      } else {
        await this.#add(item.patch, item.patch.commit);
      }
    }
    await this.#readSome();
    await this.#submit();
    await Promise.all(this.#inFlight);
    return this.#out;
  }

  #skip(s: SkippedFile): void {
    this.#out.skipped.push(s);
    this.#o.progress?.skipped();
  }

  /** Reads the queued disk files and batches them in walk order. */
  async #readSome(): Promise<void> {
    const files = this.#toRead;
    this.#toRead = [];
    this.#toReadSize = 0;
    for (const f of files) {
      const d = readDisk(f, this.#o.maxFileBytes);
      if (!(d instanceof Uint8Array)) this.#skip(d);
      else await this.#add({ path: f.path, data: d });
    }
  }

  async #add(f: PatchFile, commitInfo?: CommitInfo): Promise<void> {
    if (f.data.length > this.#o.maxFileBytes) {
      this.#skip({ path: f.path, reason: 'too-large', detail: `${f.data.length} bytes` });
      return;
    }
    if (isBinary(f.data)) {
      this.#skip({ path: f.path, reason: 'binary', ...(commitInfo ? { detail: `commit ${commitInfo.sha}` } : {}) });
      return;
    }
    const file: BatchFile = commitInfo
      ? { path: f.path, data: f.data, commit: commitInfo.sha }
      : { path: f.path, data: f.data };
    this.#batch.push({ file, allow: allowedLines(f.data), commitInfo });
    this.#batchSize += f.data.length;
    if (this.#batchSize >= this.#o.batchBytes || this.#batch.length >= this.#o.batchFiles) await this.#submit();
  }

  /** Sends the current batch; waits first while enough batches are in flight to keep every instance busy. */
  async #submit(): Promise<void> {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#batchSize = 0;
    while (this.#inFlight.size >= this.#o.pool.size * 2) await Promise.race(this.#inFlight);
    const p = this.#scanBatch(batch).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  async #scanBatch(batch: Pending[]): Promise<void> {
    const bytes = batch.reduce((n, b) => n + b.file.data.length, 0);
    try {
      const out = await this.#o.pool.run(
        'scan',
        encodeBatch(
          batch.map((b) => b.file),
          this.#o.pluginOptions,
        ),
      );
      const answer = parseScanOutput(out, new Set(batch.map((b) => b.file.path)));
      this.#accept(batch, answer.findings);
      for (const e of answer.errors) this.#out.errors.push(e);
      this.#out.files += batch.length;
      this.#out.bytes += bytes;
      this.#o.progress?.scanned(batch.length, bytes);
    } catch (err) {
      if (batch.length > 1 && !(err instanceof PluginError && err.kind === 'timeout')) {
        // Find the file that caused the fault: split and retry, so the rest of the batch is still scanned.
        const mid = Math.ceil(batch.length / 2);
        await Promise.all([this.#scanBatch(batch.slice(0, mid)), this.#scanBatch(batch.slice(mid))]);
        return;
      }
      const reason =
        err instanceof ProtocolError
          ? `the plugin's answer was rejected: ${err.message}`
          : err instanceof PluginError
            ? `plugin error (${err.kind}): ${err.message}`
            : `scan failed: ${(err as Error).message}`;
      for (const b of batch) {
        const where = b.commitInfo ? ` (commit ${b.commitInfo.sha})` : '';
        this.#out.errors.push({
          path: b.file.path,
          message: `${reason}${batch.length > 1 ? ` [batch of ${batch.length}]` : ''}${where}`,
        });
      }
      this.#o.progress?.scanned(0, 0);
    }
  }

  #accept(batch: Pending[], raw: RawFinding[]): void {
    const byKey = new Map<string, Pending>();
    for (const b of batch) byKey.set(`${b.file.commit ?? ''}\0${b.file.path}`, b);
    const rules = new Map(this.#o.plugin.rules.map((r) => [r.id, r]));
    let n = 0;
    for (const r of raw) {
      const src = byKey.get(`${r.commit ?? ''}\0${r.path}`) ?? batch.find((b) => b.file.path === r.path);
      if (src?.allow?.has(r.startLine)) {
        this.#out.allowed++;
        continue;
      }
      const sh = secretHash(r.secret);
      const f: Finding = {
        ruleId: r.ruleId,
        description: r.description || rules.get(r.ruleId)?.description || r.ruleId,
        severity: r.severity,
        path: r.path,
        startLine: r.startLine,
        endLine: r.endLine,
        startColumn: r.startColumn,
        endColumn: r.endColumn,
        secret: r.secret,
        match: r.match,
        tags: r.tags,
        secretHash: sh,
        fingerprint: fingerprint(r.path, r.ruleId, sh),
        plugin: { name: this.#o.plugin.name, version: this.#o.plugin.version },
      };
      if (r.entropy !== undefined) f.entropy = r.entropy;
      if (r.confidence) f.confidence = r.confidence;
      if (src?.commitInfo) f.commit = src.commitInfo;
      this.#out.findings.push(f);
      n++;
    }
    this.#o.progress?.found(n);
  }
}
