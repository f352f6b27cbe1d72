/**
 * A whole scan: `scan(request)` settles the request with the project config (settle.ts), loads what the scan reads
 * (ignore file, baseline, plugin), runs it and says what the checked-out tree changed about it; `runScan(options)`
 * is the engine: choose the targets (files, merge-request diff, history), start the plugin pool, run the pipeline,
 * apply the findings workflow. `wasmci scan` and every scan step of `wasmci run` come through `scan()`, in memory.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/index.js';
import { findCheckout, inCheckout } from '../core/checkout.js';
import type { PluginDescription, ScanResult, SeverityOverride } from '../core/model.js';
import { ExitCode, PluginError, UsageError } from '../errors.js';
import { type Logger, printable, redactValue } from '../log.js';
import { type CompiledPlugin, compilePlugin, type SandboxedPlugin } from '../plugin/host.js';
import { policyFrom, type SandboxPolicy } from '../plugin/policy.js';
import { VERSION } from '../version.js';
import { loadBaseline } from './baseline.js';
import { defaultScanPlugin, embeddedScanPlugin, SEA_PLUGIN_ASSET } from './default-plugin.js';
import { checkRef, findRepo, hasCommit, isShallow, requireRepo } from './git.js';
import { IgnoreList, loadIgnoreFile } from './ignore-file.js';
import { PluginPool } from './pool.js';
import type { Progress } from './progress.js';
import { parseDescribe } from '../core/protocol.js';
import { ScanPipeline, type SourceItem } from './scanner.js';
import type { Shard } from './shard.js';
import { listFiles } from './targets/files.js';
import { diffLines, historyLines, parsePatch } from './targets/patch.js';
import { applyWorkflow, failing } from './workflow.js';
import { type ScanRequest, type ScanTarget, type SettledScan, settleScan } from './settle.js';

export type { ScanRequest, ScanTarget } from './settle.js';

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

const MiB = 1024 * 1024;
/** A batch closes at this many bytes or files: large enough to amortise a call, small enough to spread work. */
const BATCH_BYTES = 2 * MiB;
const BATCH_FILES = 1000;
/** Default --timeout of a scan: per batch, not per scan. */
export const SCAN_TIMEOUT_MS = 300_000;

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

/**
 * How to get more history, in the words of the CI the scan runs in: actions/checkout clones with depth 1 by default
 * (only the merge commit of a pull request), GitLab with GIT_DEPTH 20 (50 before 15.0). `git fetch` works in the
 * image too (git's http(s) transport and CA certificates are in it).
 */
function deepenHint(what: string, fetch = '--deepen=100'): string {
  const run = `run \`git fetch ${fetch} origin\` before the scan`;
  if (process.env.GITHUB_ACTIONS === 'true')
    return `set \`fetch-depth: 0\` (${what}) under \`with:\` of actions/checkout, or ${run}`;
  if (process.env.GITLAB_CI === 'true') return `set GIT_DEPTH: 0 (${what}) in the job's variables, or ${run}`;
  return run;
}

/** Checks the git preconditions of diff and history scans; returns the work tree's top directory. */
function gitRoot(root: string, target: Exclude<ScanTarget, { mode: 'files' }>, log: Logger): string {
  const repo = requireRepo(root, target.mode === 'diff' ? '--diff' : '--history');
  if (target.mode === 'diff') {
    checkRef('--diff base', target.base);
    if (!hasCommit(repo, target.base)) {
      const shallow = isShallow(repo);
      throw new UsageError(
        `the diff base ${target.base} is not in this clone${shallow ? ' (it is a shallow clone)' : ''}`,
        shallow
          ? `fetch more history: ${deepenHint('a larger depth')}`
          : `fetch it first (git fetch origin ${target.base}) or check the revision`,
      );
    }
  } else {
    if (target.range !== '--all') checkRef('--history range', target.range);
    if (isShallow(repo)) {
      log.warn(
        'this is a shallow clone: --history scans only the commits present, and the oldest one appears to add every file. ' +
          `To scan the full history: ${deepenHint('no depth limit', '--unshallow')}.`,
      );
    }
  }
  return repo.top;
}

async function* sources(
  root: string,
  target: ScanTarget,
  maxFileBytes: number,
  gitignore: boolean,
  log: Logger,
): AsyncGenerator<SourceItem[]> {
  if (target.mode === 'files') {
    let mode: Parameters<typeof listFiles>[1] = 'all';
    if (gitignore) {
      const found = findRepo(root);
      // a .git that is not used is visible: the walk then applies the .gitignore files itself
      if (found.why) log.warn(`${printable(found.why)}: not used; listing the files without git`);
      mode = found.repo ? { git: found.repo } : 'walk';
    }
    for await (const items of listFiles(root, mode)) yield items.map((i) => ('file' in i ? { disk: i.file } : i));
    return;
  }
  // root is the top of the work tree here (gitRoot)
  const repo = requireRepo(root, target.mode === 'diff' ? '--diff' : '--history');
  const lines =
    target.mode === 'diff'
      ? diffLines(repo, target.base, maxFileBytes)
      : historyLines(repo, target.range, maxFileBytes);
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
    const out = await pipeline.run(sources(root, o.target, o.maxFileBytes, o.gitignore, o.log));
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
        excluded: out.excluded,
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

/** What a scan needs from its caller: where plugin bytes come from, where messages go. */
export interface ScanDeps {
  log: Logger;
  env: NodeJS.ProcessEnv;
  /** A plugin reference -> verified bytes (the caller's source flags: cache, lockfile, credentials). */
  loadPlugin(ref: string): Promise<Uint8Array>;
  progress?: Progress;
  /** The project config may choose the plugin though it lies in the checked-out tree (--trust-config). */
  trustConfig?: boolean;
  cores?: number;
}

const GITLEAKS_TOML = '.gitleaks.toml';

/** Rules and allowlists a `.gitleaks.toml` declares, counted from its table headers (for the visible note). */
export function gitleaksCounts(toml: string): { rules: number; allowlists: number } {
  const headers = toml.match(/^\s*\[\[?[A-Za-z.]+\]\]?/gm) ?? [];
  const name = (h: string) => h.replace(/[\s[\]]/g, '');
  return {
    rules: headers.filter((h) => name(h) === 'rules').length,
    allowlists: headers.filter((h) => /(^|\.)allowlists?$/.test(name(h))).length,
  };
}

/** The settled options, the plugin and the files a scan reads, loaded; the tree's part in them said out loud. */
async function prepare(
  req: ScanRequest,
  deps: ScanDeps,
): Promise<{ s: SettledScan; options: ScanOptions; fromTree: (file: string) => boolean }> {
  const { log, env } = deps;
  const root = path.resolve(req.cwd, req.path);
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {}
  if (!isDir)
    throw new UsageError(`${req.path} is not a directory`, 'pass the directory to scan, e.g. `wasmci scan .`');
  const checkout = findCheckout(env, req.cwd, [root]);
  const project = await loadConfig(root, req.configFile ? path.resolve(req.cwd, req.configFile) : undefined);
  const fromTree = (file: string) => inCheckout(checkout, file);
  const trusted = !!deps.trustConfig || (project.file !== undefined && !fromTree(project.file));
  const grants = req.grants;
  const memoryMaxBytes = policyFrom(
    { memoryMaxMiB: grants.memoryMaxMiB },
    { cwd: req.cwd, env, timeoutMs: 1 },
  ).memoryMaxBytes;
  const s = settleScan(req, project, { trusted, cores: deps.cores ?? os.availableParallelism(), env, memoryMaxBytes });
  for (const w of s.warnings) log.warn(w);
  const shown = project.file && printable(path.relative(req.cwd, project.file) || project.file);
  if (s.refused.length) {
    log.warn(
      `${shown} is in the checked-out tree, so it cannot choose ${s.refused.join(', ')}: ignored. ` +
        'Pass the plugin with --plugin, or --trust-config when this file cannot come from a merge request.',
    );
  }
  if (s.narrowing.length) log.warn(`${shown} (from the checked-out tree) narrows this scan: ${s.narrowing.join('; ')}`);
  // Teams moving from gitleaks keep their rules: like gitleaks, the scan picks up the project's .gitleaks.toml
  // (as plugin config `gitleaks_config`, which the secrets plugin reads and other plugins ignore). Its allowlists
  // can hide findings, so a tree's file is announced with what it holds.
  const gitleaksToml = path.join(root, GITLEAKS_TOML);
  if (s.grants.config?.gitleaks_config === undefined && existsSync(gitleaksToml)) {
    const text = readFileSync(gitleaksToml, 'utf8');
    s.grants.config = { ...s.grants.config, gitleaks_config: text };
    const c = gitleaksCounts(text);
    const what = `${GITLEAKS_TOML} adds ${c.rules} rule(s) and ${c.allowlists} allowlist(s) to this scan`;
    if (fromTree(gitleaksToml)) log.warn(`${what} (from the checked-out tree; allowlists can hide findings)`);
    else log.info(what);
  }
  const ignore = new IgnoreList(await loadIgnoreFile(s.ignoreFile.file, s.ignoreFile.explicit));
  const baseline = s.baseline ? await loadBaseline(s.baseline) : undefined;
  const policy = policyFrom(s.grants, { cwd: req.cwd, env, timeoutMs: SCAN_TIMEOUT_MS });
  // The single executable carries its own plugin: it wins over files so the runner and plugin match.
  const embedded = s.plugin === undefined ? embeddedScanPlugin() : undefined;
  const ref = s.plugin ?? (embedded ? SEA_PLUGIN_ASSET : defaultScanPlugin(env));
  const compiled = await compilePlugin(embedded ?? (await deps.loadPlugin(ref)), policy);
  return {
    s,
    fromTree,
    options: {
      root: s.root,
      target: s.target,
      compiled,
      policy,
      pluginName: path.basename(ref).replace(/\.wasm$/, '') || ref,
      jobs: s.jobs,
      recycleBytes: s.recycleBytes,
      batchBytes: BATCH_BYTES,
      batchFiles: BATCH_FILES,
      include: s.include,
      exclude: s.exclude,
      maxFileBytes: s.maxFileBytes,
      gitignore: s.gitignore,
      shard: s.shard,
      overrides: s.overrides,
      ignore,
      baseline,
      redact: s.redact,
      log,
      progress: deps.progress,
    },
  };
}

/** One scan from a request: settled, run, and its tree-made suppressions said in the log. */
export async function scan(req: ScanRequest, deps: ScanDeps): Promise<ScanResult> {
  const { s, options, fromTree } = await prepare(req, deps);
  const result = await runScan(options);
  result.failOn = s.failOn;
  const log = deps.log;
  // Stale ignore entries are only knowable when the whole tree was scanned.
  if (s.target.mode === 'files' && !s.shard && !req.include?.length) {
    for (const e of options.ignore?.stale() ?? []) {
      log.warn(
        `${s.ignoreFile.file}:${e.line}: ${printable(e.text)} matched no finding; remove it if the secret is gone`,
      );
    }
  }
  const sup = result.suppressed;
  const parts: string[] = [];
  if (s.narrowing.length && (result.stats.excluded ?? 0) > 0)
    parts.push(`${result.stats.excluded} file(s) left out by include/exclude globs`);
  if (sup?.disabled && s.narrowing.length) parts.push(`${sup.disabled} finding(s) turned off by overrides`);
  if (sup?.ignored && fromTree(s.ignoreFile.file))
    parts.push(`${sup.ignored} finding(s) ignored by ${printable(path.basename(s.ignoreFile.file))}`);
  if (sup?.baseline && s.baseline && fromTree(s.baseline))
    parts.push(`${sup.baseline} finding(s) known to the baseline`);
  if (sup?.allowed) parts.push(`${sup.allowed} finding(s) allowed by inline comments`);
  if (parts.length) log.warn(`the checked-out tree suppressed: ${parts.join(', ')}`);
  if (result.errors.length) log.warn(`${result.errors.length} file(s) could not be scanned: the scan is incomplete`);
  return result;
}

/** A scan's exit code: 1 when findings reach the threshold, else 3 when a file could not be scanned, else 0. */
export function scanExitCode(result: ScanResult): number {
  if (failing(result.findings, result.failOn ?? 'low').length) return ExitCode.findings;
  return result.errors.length ? ExitCode.runtime : ExitCode.ok;
}
