/**
 * A whole scan, from settled options to a ScanResult: choose the targets (files, merge-request diff, history),
 * start the plugin pool, run the pipeline, apply the findings workflow. Flag parsing lives in cli/scan.ts.
 */
import type { SeverityOverride } from '../config/index.js';
import { PluginError, UsageError } from '../errors.js';
import { type Logger, printable, redactValue } from '../log.js';
import type { CompiledPlugin, SandboxedPlugin } from '../plugin/host.js';
import type { SandboxPolicy } from '../plugin/policy.js';
import { VERSION } from '../version.js';
import { checkRef, hasCommit, isShallow, repoTop } from './git.js';
import type { IgnoreList } from './ignore-file.js';
import type { PluginDescription, ScanResult } from './model.js';
import { PluginPool } from './pool.js';
import type { Progress } from './progress.js';
import { parseDescribe } from './protocol.js';
import { ScanPipeline, type SourceItem } from './scanner.js';
import type { Shard } from './shard.js';
import { listFiles } from './targets/files.js';
import { diffLines, historyLines, parsePatch } from './targets/patch.js';
import { applyWorkflow } from './workflow.js';

export type ScanTarget = { mode: 'files' } | { mode: 'diff'; base: string } | { mode: 'history'; range: string };

export interface ScanOptions {
  /** Absolute directory to scan. */
  root: string;
  target: ScanTarget;
  compiled: CompiledPlugin;
  policy: SandboxPolicy;
  pluginName: string;
  jobs: number;
  recycleBytes: number;
  batchBytes: number;
  batchFiles: number;
  include: string[];
  exclude: string[];
  maxFileBytes: number;
  /** Honour .gitignore (files mode); false scans every file under root. */
  gitignore: boolean;
  shard?: Shard;
  overrides: SeverityOverride[];
  ignore?: IgnoreList;
  baseline?: Set<string>;
  /** Register found secrets with the log masker, so no later log line can show one. */
  redact: boolean;
  log: Logger;
  progress?: Progress;
}

async function describe(plugin: SandboxedPlugin, name: string): Promise<PluginDescription> {
  if (!plugin.exports.includes('scan')) {
    throw new UsageError(
      `plugin ${name} has no "scan" function, so it is not a scan plugin (it exports: ${plugin.exports.map(printable).join(', ') || 'nothing'})`,
      'run it with `wasmci call` instead, or pass a scan plugin with --plugin',
    );
  }
  if (!plugin.exports.includes('describe')) return { name, version: 'unknown', kind: 'scan', protocol: 1, rules: [] };
  try {
    return parseDescribe(await plugin.call('describe'));
  } catch (err) {
    if (err instanceof PluginError) throw err;
    throw new PluginError('plugin-error', `plugin ${name}: ${(err as Error).message}`);
  }
}

/** Checks the git preconditions of diff and history scans; returns the work tree's top directory. */
function gitRoot(root: string, target: Exclude<ScanTarget, { mode: 'files' }>, log: Logger): string {
  const top = repoTop(root);
  const flag = target.mode === 'diff' ? '--diff' : '--history';
  if (!top)
    throw new UsageError(
      `${flag} needs a git repository, and ${root} is not in one`,
      'scan the checkout, or drop the flag',
    );
  if (target.mode === 'diff') {
    checkRef('--diff base', target.base);
    if (!hasCommit(top, target.base)) {
      const shallow = isShallow(top);
      throw new UsageError(
        `the diff base ${target.base} is not in this clone${shallow ? ' (it is a shallow clone)' : ''}`,
        shallow
          ? 'fetch more history: set GIT_DEPTH: 0 (or a larger depth) in the job, or run `git fetch --deepen=100 origin`'
          : `fetch it first (git fetch origin ${target.base}) or check the revision`,
      );
    }
  } else {
    if (target.range !== '--all') checkRef('--history range', target.range);
    if (isShallow(top)) {
      log.warn(
        'this is a shallow clone: --history scans only the commits present, and the oldest one appears to add every file. ' +
          'Set GIT_DEPTH: 0 in the job (or `git fetch --unshallow`) to scan the full history.',
      );
    }
  }
  return top;
}

async function* sources(
  root: string,
  target: ScanTarget,
  maxFileBytes: number,
  gitignore: boolean,
): AsyncGenerator<SourceItem[]> {
  if (target.mode === 'files') {
    const mode = !gitignore ? 'all' : repoTop(root) ? 'git' : 'walk';
    for await (const items of listFiles(root, mode)) yield items.map((i) => ('file' in i ? { disk: i.file } : i));
    return;
  }
  const lines = target.mode === 'diff' ? diffLines(root, target.base) : historyLines(root, target.range);
  for await (const item of parsePatch(lines, maxFileBytes)) yield ['file' in item ? { patch: item.file } : item];
}

export async function runScan(o: ScanOptions): Promise<ScanResult> {
  const startedAt = new Date();
  const root = o.target.mode === 'files' ? o.root : gitRoot(o.root, o.target, o.log);
  const pool = new PluginPool(o.compiled, o.policy, o.log, {
    size: o.jobs,
    recycleBytes: o.recycleBytes,
    name: o.pluginName,
  });
  try {
    const ready = pool.warmUp().then((p) => describe(p, o.pluginName));
    const pipeline = new ScanPipeline({
      pool,
      plugin: ready,
      include: o.include,
      exclude: o.exclude,
      maxFileBytes: o.maxFileBytes,
      shard: o.shard,
      batchBytes: o.batchBytes,
      batchFiles: o.batchFiles,
      progress: o.progress,
    });
    const out = await pipeline.run(sources(root, o.target, o.maxFileBytes, o.gitignore));
    const plugin = await ready; // a scan of no files still needs it, and its start-up error
    if (o.redact) for (const f of out.findings) redactValue(f.secret);
    const w = applyWorkflow(out.findings, { overrides: o.overrides, ignore: o.ignore, baseline: o.baseline });
    const finishedAt = new Date();
    return {
      tool: { name: 'wasmci', version: VERSION },
      plugin,
      target: {
        root,
        mode: o.target.mode,
        ...(o.target.mode === 'diff' ? { base: o.target.base } : {}),
        ...(o.target.mode === 'history' ? { range: o.target.range } : {}),
        ...(o.shard ? { shard: o.shard } : {}),
      },
      findings: w.findings,
      skipped: out.skipped,
      errors: out.errors,
      stats: {
        files: out.files,
        bytes: out.bytes,
        durationMs: finishedAt.getTime() - startedAt.getTime(),
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
      },
      suppressed: { ...w.suppressed, allowed: out.allowed },
    };
  } finally {
    o.progress?.stop();
    await pool.close();
  }
}
