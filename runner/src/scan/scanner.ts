/**
 * The scan pipeline: targets (disk walk or git patches) -> filters (globs, shard, size, binary) -> batches ->
 * the plugin pool -> validated, enriched findings. Disk files are read by the plugin's worker thread itself
 * (scan/batch-reader.ts), so the main thread only walks and dispatches; git content (diff, history) is batched
 * here. At most a few batches are in flight, so memory stays bounded whatever the size of the tree.
 * A plugin fault costs only the file that caused it: the batch is split and retried to find that file.
 */
import picomatch from 'picomatch';
import { PluginError } from '../errors.js';
import { allowedLines } from '../core/allow.js';
import { type DiskBatch, type DiskFileOutcome, isBinary } from '../core/batch-reader.js';
import { fingerprint, projectPath, secretHash } from './fingerprint.js';
import type { CommitInfo, Finding, PluginDescription, ScanError, SkippedFile } from '../core/model.js';
import type { PluginPool } from './pool.js';
import type { Progress } from './progress.js';
import {
  type BatchFile,
  encodeBatch,
  ProtocolError,
  parseScanOutput,
  type RawFinding,
  type ScanAnswer,
} from '../core/protocol.js';
import { inShard, type Shard } from './shard.js';
import type { DiskFile } from './targets/files.js';
import type { PatchFile } from './targets/patch.js';

/** Where a finding's file came from: its allow-comment lines and, in history scans, its commit. */
type SourceOf = (path: string, commit?: string) => { allow?: Set<number>; commitInfo?: CommitInfo };

const sum = (outcomes: DiskFileOutcome[]) => outcomes.reduce((n, o) => n + o.size, 0);
const allowOf = (o: DiskFileOutcome | undefined) => ({ allow: o?.allow ? new Set(o.allow) : undefined });

export type SourceItem = { disk: DiskFile } | { patch: PatchFile } | { skipped: SkippedFile };

export interface ScanPipelineOptions {
  pool: PluginPool;
  /**
   * The plugin's description, once its first instance has started and answered `describe`. The walk does not wait
   * for it (it overlaps the plugin's start-up); batches do, and a rejection ends the scan with that error.
   */
  plugin: Promise<PluginDescription>;
  include: string[];
  exclude: string[];
  maxFileBytes: number;
  shard?: Shard;
  /** Close a batch at this many bytes or files. */
  batchBytes: number;
  batchFiles: number;
  /** Where the scanned directory lies in the project (core/checkout.ts projectPrefix): fingerprints use it. */
  projectPrefix?: string;
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
  /** Files left out by the include/exclude globs. */
  excluded: number;
}

interface Pending {
  file: BatchFile;
  allow?: Set<number>;
  commitInfo?: CommitInfo;
}

export class ScanPipeline {
  readonly #o: ScanPipelineOptions;
  readonly #included: (p: string) => boolean;
  readonly #excluded: (p: string) => boolean;
  readonly #out: PipelineResult = {
    findings: [],
    skipped: [],
    errors: [],
    files: 0,
    bytes: 0,
    allowed: 0,
    excluded: 0,
  };
  readonly #inFlight = new Set<Promise<void>>();
  #batch: Pending[] = [];
  #batchSize = 0;
  #disk: DiskFile[] = [];
  #diskSize = 0;

  constructor(o: ScanPipelineOptions) {
    this.#o = o;
    const inc = o.include.length ? picomatch(o.include, { dot: true }) : () => true;
    const exc = o.exclude.length ? picomatch(o.exclude, { dot: true }) : () => false;
    this.#included = inc;
    this.#excluded = exc;
  }

  /** `chunks`: the source's items, a chunk at a time. */
  async run(chunks: AsyncIterable<SourceItem[]>): Promise<PipelineResult> {
    let notReady: unknown;
    this.#o.plugin.catch((err) => {
      notReady = err;
    });
    for await (const items of chunks) {
      if (notReady) throw notReady; // the plugin did not start: no point walking on
      for (const item of items) {
        const submitted = this.#take(item); // a promise only when a batch was sent: no await per file
        if (submitted) await submitted;
      }
    }
    await this.#submitDisk();
    await this.#submit();
    await Promise.all(this.#inFlight);
    return this.#out;
  }

  /** Queues an item; returns the submission when it completed a batch. */
  #take(item: SourceItem): Promise<void> | undefined {
    if ('skipped' in item) {
      this.#skip(item.skipped);
      return;
    }
    const full = 'disk' in item ? item.disk.path : item.patch.path;
    // An archive member (`a.zip!x`) is selected by the archive's own path: globs and shards name files on disk.
    const bang = 'patch' in item && !item.patch.commit ? full.indexOf('!') : -1;
    const p = bang > 0 ? full.slice(0, bang) : full;
    if (!inShard(p, this.#o.shard)) return;
    if (!this.#included(p) || this.#excluded(p)) {
      this.#out.excluded++;
      return;
    }
    if ('patch' in item) return this.#add(item.patch, item.patch.commit);
    if (item.disk.size > this.#o.maxFileBytes) {
      this.#skip({ path: p, reason: 'too-large', detail: `${item.disk.size} bytes` });
      return;
    }
    this.#disk.push(item.disk);
    this.#diskSize += item.disk.size;
    if (this.#diskSize >= this.#o.batchBytes || this.#disk.length >= this.#o.batchFiles) return this.#submitDisk();
  }

  #skip(s: SkippedFile): void {
    this.#out.skipped.push(s);
    this.#o.progress?.skipped();
  }

  /** Sends the queued disk files; the worker reads them. */
  async #submitDisk(): Promise<void> {
    if (this.#disk.length === 0) return;
    const files = this.#disk;
    this.#disk = [];
    this.#diskSize = 0;
    await this.#inFlightSlot(this.#scanDisk(files));
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

  /** Sends the current batch of in-memory content (diff, history). */
  async #submit(): Promise<void> {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#batchSize = 0;
    await this.#inFlightSlot(this.#scanBatch(batch));
  }

  /**
   * Waits while enough batches are in flight to keep every instance busy, then tracks `work`, which starts once the
   * plugin is ready. A rejection (the plugin did not start) reaches run() through the race or the final wait.
   */
  async #inFlightSlot(work: () => Promise<void>): Promise<void> {
    while (this.#inFlight.size >= this.#o.pool.capacity) await Promise.race(this.#inFlight);
    const p = this.#o.plugin.then(work).finally(() => this.#inFlight.delete(p));
    p.catch(() => undefined); // observed by run(); not an unhandled rejection if run() has already thrown
    this.#inFlight.add(p);
    // Work for more than the first instance: start the others now, while the first is still starting up.
    if (this.#inFlight.size > 1) this.#o.pool.startAll();
  }

  #scanDisk(files: DiskFile[]): () => Promise<void> {
    const attempt = async (part: DiskFile[]) => {
      const batch: DiskBatch = {
        files: part.map((f) => ({ path: f.path, abs: f.abs, size: f.size })),
        maxFileBytes: this.#o.maxFileBytes,
        options: this.#o.pluginOptions,
      };
      const bytes = part.reduce((n, f) => n + f.size, 0);
      const r = await this.#o.pool.run(bytes, (p) => p.callDisk('scan', batch));
      const scanned = r.outcomes.filter((o) => !o.skipped);
      for (const o of r.outcomes) if (o.skipped) this.#skip(o.skipped);
      const answer = parseScanOutput(r.output, new Set(scanned.map((o) => o.path)));
      const byPath = new Map(scanned.map((o) => [o.path, o]));
      this.#finish(await this.#o.plugin, answer, scanned.length, sum(scanned), (path) => allowOf(byPath.get(path)));
    };
    return () =>
      this.#bisect(files, attempt, (err, part) =>
        this.#fail(
          err,
          part.map((f) => ({ path: f.path })),
        ),
      );
  }

  #scanBatch(batch: Pending[]): () => Promise<void> {
    const attempt = async (part: Pending[]) => {
      const bytes = part.reduce((n, b) => n + b.file.data.length, 0);
      const input = encodeBatch(
        part.map((b) => b.file),
        this.#o.pluginOptions,
      );
      const out = await this.#o.pool.run(bytes, (p) => p.call('scan', input, { transfer: true }));
      const answer = parseScanOutput(out, new Set(part.map((b) => b.file.path)));
      const byKey = new Map(part.map((b) => [`${b.file.commit ?? ''}\0${b.file.path}`, b]));
      this.#finish(await this.#o.plugin, answer, part.length, bytes, (path, commit) => {
        const src = byKey.get(`${commit ?? ''}\0${path}`) ?? part.find((b) => b.file.path === path);
        return { allow: src?.allow, commitInfo: src?.commitInfo };
      });
    };
    return () =>
      this.#bisect(batch, attempt, (err, part) =>
        this.#fail(
          err,
          part.map((b) => ({ path: b.file.path, commit: b.commitInfo?.sha })),
        ),
      );
  }

  /**
   * Scans `items` with `attempt`; after a fault (other than a timeout, which would only repeat) the batch is split
   * and the halves retried, so only the file that caused it is reported and the rest is still scanned.
   */
  async #bisect<T>(
    items: T[],
    attempt: (part: T[]) => Promise<void>,
    failed: (err: unknown, part: T[]) => void,
  ): Promise<void> {
    try {
      await attempt(items);
    } catch (err) {
      if (items.length > 1 && !(err instanceof PluginError && err.kind === 'timeout')) {
        const mid = Math.ceil(items.length / 2);
        await Promise.all([
          this.#bisect(items.slice(0, mid), attempt, failed),
          this.#bisect(items.slice(mid), attempt, failed),
        ]);
        return;
      }
      failed(err, items);
    }
  }

  #finish(plugin: PluginDescription, answer: ScanAnswer, files: number, bytes: number, source: SourceOf): void {
    this.#accept(plugin, answer.findings, source);
    for (const e of answer.errors) this.#out.errors.push(e);
    this.#out.files += files;
    this.#out.bytes += bytes;
    this.#o.progress?.scanned(files, bytes);
  }

  /** Records a batch (after splitting, a single file) that could not be scanned. */
  #fail(err: unknown, files: { path: string; commit?: string }[]): void {
    const reason =
      err instanceof ProtocolError
        ? `the plugin's answer was rejected: ${err.message}`
        : err instanceof PluginError
          ? `plugin error (${err.kind}): ${err.message}`
          : `scan failed: ${(err as Error).message}`;
    for (const f of files) {
      const where = f.commit ? ` (commit ${f.commit})` : '';
      this.#out.errors.push({
        path: f.path,
        message: `${reason}${files.length > 1 ? ` [batch of ${files.length}]` : ''}${where}`,
      });
    }
    this.#o.progress?.scanned(0, 0);
  }

  #accept(plugin: PluginDescription, raw: RawFinding[], source: SourceOf): void {
    let n = 0;
    for (const r of raw) {
      const src = source(r.path, r.commit);
      if (src.allow?.has(r.startLine)) {
        this.#out.allowed++;
        continue;
      }
      const sh = secretHash(r.secret);
      const f: Finding = {
        ruleId: r.ruleId,
        description: r.description || plugin.rules.find((x) => x.id === r.ruleId)?.description || r.ruleId,
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
        fingerprint: fingerprint(projectPath(this.#o.projectPrefix ?? '', r.path), r.ruleId, sh),
        plugin: { name: plugin.name, version: plugin.version },
      };
      if (r.entropy !== undefined) f.entropy = r.entropy;
      if (r.confidence) f.confidence = r.confidence;
      if (src.commitInfo) f.commit = src.commitInfo;
      this.#out.findings.push(f);
      n++;
    }
    this.#o.progress?.found(n);
  }
}
