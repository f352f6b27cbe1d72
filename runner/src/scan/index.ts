/**
 * A whole scan: `scan(request)` settles the request with the project config (settle.ts), loads what the scan reads
 * (ignore file, baseline, plugin), runs it and says what the checked-out tree changed about it; `runScan(options)`
 * is the engine: choose the targets (files, merge-request diff, history), start the plugin pool, run the pipeline,
 * apply the findings workflow. `wasmci scan` and every scan step of `wasmci run` come through `scan()`, in memory.
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/index.js';
import { findCheckout, inCheckout, projectPrefix } from '../core/checkout.js';
import type { PluginDescription, ScanResult, SeverityOverride } from '../core/model.js';
import { ExitCode, PluginError, UsageError } from '../errors.js';
import { type Logger, printable, redactValue } from '../log.js';
import { type CompiledPlugin, compilePlugin, SandboxedPlugin } from '../plugin/host.js';
import { policyFrom, type SandboxPolicy } from '../plugin/policy.js';
import { VERSION } from '../version.js';
import { loadBaseline } from './baseline.js';
import { defaultScanPlugin, embeddedScanPlugin, SEA_PLUGIN_ASSET } from './default-plugin.js';
import { checkRef, findRepo, hasCommit, isShallow, type Repo, requireRepo } from './git.js';
import {
  configError,
  GITLEAKS_TOML,
  gitlabRuleset,
  gitleaksToml,
  isTreeFile,
  type TreeConfigs,
} from './gitleaks-files.js';
import { GITLEAKSIGNORE, GitleaksIgnore } from './gitleaksignore.js';
import { IgnoreList, loadIgnoreFile, refuseIrregularIgnoreFile } from './ignore-file.js';
import { PluginPool } from './pool.js';
import type { Progress } from './progress.js';
import { parseDescribe } from '../core/protocol.js';
import { ScanPipeline, type SourceItem } from './scanner.js';
import type { Shard } from './shard.js';
import { archiveKindOf, expandArchive, MAX_ARCHIVE_FILE_BYTES } from './targets/archive.js';
import { listFiles } from './targets/files.js';
import { diffLines, historyLines, parsePatch, pushLines, stagedLines } from './targets/patch.js';
import { describeUnknown, unknownRuleIds } from './rule-ids.js';
import { applyWorkflow, failing } from './workflow.js';
import { type ScanRequest, type ScanTarget, type SettledScan, settleScan, type VerifySettings } from './settle.js';
import { verifyFindings } from './verify.js';

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
  /** Archives on disk scanned as their members to this nesting depth; 0: not opened. */
  archiveDepth?: number;
  shard?: Shard;
  overrides: SeverityOverride[];
  ignore?: IgnoreList;
  /** The scanned directory's `.gitleaksignore`. */
  gitleaksIgnore?: GitleaksIgnore;
  /** Plugin config key -> the file it was read from: a plugin error about that key names the file (exit 2). */
  configFiles?: Record<string, string>;
  baseline?: Set<string>;
  /** Register found secrets with the log masker, so no later log line can show one. */
  redact: boolean;
  log: Logger;
  progress?: Progress;
  /** Live verification after the workflow (the only network a scan makes). */
  verify?: VerifySettings;
  /** For the project directory (CI_PROJECT_DIR, GITHUB_WORKSPACE) that fingerprints are relative to. */
  env?: NodeJS.ProcessEnv;
  /** Where the plugin config's `disable`/`severity` came from: unknown ids are an error, or from the tree a warning. */
  ruleIdsFrom?: Partial<Record<'disable' | 'severity', 'trusted' | 'tree'>>;
  /** Checked-out tree files that add rules (`.wasmci.yml` rules, `.gitleaks.toml`, GitLab ruleset passthroughs). */
  treeRuleFiles?: string[];
}

/**
 * Checks the rule ids of `disable`/`severity` against the plugin's whole catalogue. `describe` answers after the
 * plugin applied its config (disabled rules are gone), so the catalogue comes from one extra instance started
 * without those two keys: ~0.3 s, paid only when they are set, alongside the scan.
 */
async function checkRuleIds(o: ScanOptions): Promise<void> {
  const from = o.ruleIdsFrom ?? {};
  const config = o.policy.config;
  if (!from.disable && !from.severity) return;
  const { disable: _d, severity: _s, ...rest } = config;
  const plugin = await SandboxedPlugin.start(o.compiled, { ...o.policy, config: rest }, o.log, o.pluginName);
  let rules: PluginDescription['rules'];
  try {
    if (!plugin.exports.includes('describe')) return;
    rules = parseDescribe(await plugin.call('describe')).rules;
  } finally {
    await plugin.close();
  }
  if (!rules.length) return;
  const unknown = unknownRuleIds(config, rules);
  const errors = unknown.filter((u) => from[u.key] === 'trusted');
  const warnings = unknown.filter((u) => from[u.key] === 'tree');
  if (warnings.length)
    o.log.warn(`the checked-out tree's plugin config names unknown rules: ${warnings.map(describeUnknown).join('; ')}`);
  if (errors.length) {
    throw new UsageError(
      `plugin config names unknown rules: ${errors.map(describeUnknown).join('; ')}`,
      `use the ids of \`wasmci inspect --json\` (describe.rules), or tag:NAME for a family; ${rules.length} rules are known`,
    );
  }
}

const MiB = 1024 * 1024;
/** A batch closes at this many bytes or files: large enough to amortise a call, small enough to spread work. */
const BATCH_BYTES = 2 * MiB;
const BATCH_FILES = 1000;
/** Default --timeout of a scan: per batch, not per scan. */
export const SCAN_TIMEOUT_MS = 300_000;

async function describe(
  plugin: SandboxedPlugin,
  name: string,
  configFiles: Record<string, string> = {},
): Promise<PluginDescription> {
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
    // The plugin builds its rules at the first call: a bad config file shows up here, as the file's fault (exit 2).
    const usage = configError((err as Error).message, configFiles);
    if (usage) throw usage;
    if (err instanceof PluginError) throw err;
    throw new PluginError('plugin-error', `plugin ${name}: ${(err as Error).message}`);
  }
}

/**
 * A config rule with a built-in rule's id runs in its place (as in gitleaks), so a dead regex there turns the built-in
 * rule off: said like every other narrowing, as a warning when a tree file can have done it.
 */
function announceReplaced(d: PluginDescription, o: ScanOptions): void {
  const replaced = d.rules.filter((r) => r.replacesBuiltin).map((r) => printable(r.id));
  if (!replaced.length) return;
  const what = `config rules replace ${replaced.length} built-in rule(s) of ${o.pluginName}: ${replaced.join(', ')} (their own regex and allowlists run instead)`;
  if (o.treeRuleFiles?.length) o.log.warn(`${o.treeRuleFiles.join(', ')} (from the checked-out tree): ${what}`);
  else o.log.info(what);
}

type GitTarget = Exclude<ScanTarget, { mode: 'files' }>;

/**
 * The repository a git scan reads: a server's push scan (pre-receive) is handed the repository's git dir (serverRepo
 * checked it, and it has no work tree); every other mode looks for the work tree's `.git` at or above the root.
 */
function targetRepo(root: string, target: GitTarget): Repo {
  if (target.mode === 'push' && target.server) return { top: root, gitDir: root, bare: true };
  return requireRepo(root, target.mode === 'push' ? 'a pre-push hook' : `--${target.mode}`);
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
function gitRoot(root: string, target: GitTarget, log: Logger): string {
  const repo = targetRepo(root, target);
  if (target.mode === 'push') {
    for (const r of [...target.tips, ...target.exclude])
      if (r !== '--all' && r !== '--remotes') checkRef('a pushed revision', r);
  } else if (target.mode === 'diff') {
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
  } else if (target.mode === 'history') {
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

/** A disk file that is an archive, as its members (targets/archive.ts); other items as they are. */
async function expandArchives(items: SourceItem[], maxFileBytes: number, depth: number): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for (const item of items) {
    const kind = 'disk' in item && depth > 0 ? archiveKindOf(item.disk.path) : undefined;
    if (!kind || !('disk' in item)) {
      out.push(item);
      continue;
    }
    const f = item.disk;
    if (f.size > MAX_ARCHIVE_FILE_BYTES) {
      out.push({ skipped: { path: f.path, reason: 'too-large', detail: `archive of ${f.size} bytes` } });
      continue;
    }
    let data: Buffer;
    try {
      data = await readFile(f.abs);
    } catch (err) {
      out.push({ skipped: { path: f.path, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code } });
      continue;
    }
    const x = await expandArchive(f.path, kind, data, { depth, maxMemberBytes: maxFileBytes });
    for (const s of x.skipped) out.push({ skipped: s });
    for (const m of x.members) out.push({ patch: { path: m.path, data: m.data } });
  }
  return out;
}

async function* sources(
  root: string,
  target: ScanTarget,
  maxFileBytes: number,
  gitignore: boolean,
  log: Logger,
  archiveDepth = 0,
): AsyncGenerator<SourceItem[]> {
  if (target.mode === 'files') {
    let mode: Parameters<typeof listFiles>[1] = 'all';
    if (gitignore) {
      const found = findRepo(root);
      // a .git that is not used is visible: the walk then applies the .gitignore files itself
      if (found.why) log.warn(`${printable(found.why)}: not used; listing the files without git`);
      mode = found.repo ? { git: found.repo } : 'walk';
    }
    for await (const items of listFiles(root, mode)) {
      const chunk: SourceItem[] = items.map((i) => ('file' in i ? { disk: i.file } : i));
      yield archiveDepth > 0 ? await expandArchives(chunk, maxFileBytes, archiveDepth) : chunk;
    }
    return;
  }
  // root is the top of the work tree (or a server's git dir) here (gitRoot)
  const repo = targetRepo(root, target);
  const lines =
    target.mode === 'diff'
      ? diffLines(repo, target.base, maxFileBytes)
      : target.mode === 'history'
        ? historyLines(repo, target.range, maxFileBytes, target.limits)
        : target.mode === 'staged'
          ? stagedLines(repo, maxFileBytes)
          : target.tips.length
            ? pushLines(repo, target, maxFileBytes)
            : (async function* () {})();
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
    let exports: string[] = [];
    const checked = checkRuleIds(o);
    const ready = Promise.all([
      pool.warmUp().then(async (p) => {
        exports = p.exports;
        const d = await describe(p, o.pluginName, o.configFiles);
        announceReplaced(d, o);
        return d;
      }),
      checked,
    ]).then(([d]) => d);
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
      projectPrefix: projectPrefix(root, o.env ?? process.env),
    });
    const out = await pipeline.run(sources(root, o.target, o.maxFileBytes, o.gitignore, o.log, o.archiveDepth));
    const plugin = await ready; // a scan of no files still needs it, and its start-up error
    if (o.redact) for (const f of out.findings) redactValue(f.secret);
    const w = applyWorkflow(out.findings, {
      overrides: o.overrides,
      ignore: o.ignore,
      gitleaksIgnore: o.gitleaksIgnore,
      gitleaksIds: new Map(plugin.rules.flatMap((r) => (r.gitleaks ? [[r.id, r.gitleaks] as const] : []))),
      baseline: o.baseline,
    });
    if (o.verify) {
      await verifyFindings(w.findings, {
        compiled: o.compiled,
        policy: o.policy,
        plugin,
        pluginName: o.pluginName,
        exports,
        jobs: o.jobs,
        settings: o.verify,
        log: o.log,
      });
    }
    const finishedAt = new Date();
    const result: ScanResult = {
      tool: { name: 'wasmci', version: VERSION },
      plugin,
      target: {
        root,
        mode: o.target.mode,
        ...(o.target.mode === 'diff' ? { base: o.target.base } : {}),
        ...(o.target.mode === 'history' ? { range: o.target.range } : {}),
        ...(o.target.mode === 'push' ? { range: [...o.target.tips, '--not', ...o.target.exclude].join(' ') } : {}),
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
    if (w.legacy.ignored || w.legacy.baseline) {
      const where = [
        w.legacy.ignored ? `${w.legacy.ignored} by the ignore file` : '',
        w.legacy.baseline ? `${w.legacy.baseline} by the baseline` : '',
      ].filter(Boolean);
      o.log.warn(
        `${where.join(' and ')} finding(s) matched through the old fingerprint (relative to the scanned directory, not the project): accepted in this version only; ` +
          'update the entries with the fingerprints this scan prints (wasmci ignore add ...), or write a new baseline',
      );
    }
    return result;
  } finally {
    o.progress?.stop();
    await pool.close();
  }
}

/** What a scan needs from its caller: where plugin bytes come from, where messages go. */
export interface ScanDeps {
  log: Logger;
  env: NodeJS.ProcessEnv;
  /**
   * A plugin reference -> verified bytes (the caller's source flags: cache, lockfile, credentials), which the scan
   * then owns: it compiles them in place.
   */
  loadPlugin(ref: string): Promise<Uint8Array>;
  progress?: Progress;
  /** The project config may choose the plugin though it lies in the checked-out tree (--trust-config). */
  trustConfig?: boolean;
  cores?: number;
}

/** Rules and allowlists a `.gitleaks.toml` declares, counted from its table headers (for the visible note). */
export function gitleaksCounts(toml: string): { rules: number; allowlists: number } {
  const headers = toml.match(/^\s*\[\[?[A-Za-z.]+\]\]?/gm) ?? [];
  const name = (h: string) => h.replace(/[\s[\]]/g, '');
  return {
    rules: headers.filter((h) => name(h) === 'rules').length,
    allowlists: headers.filter((h) => /(^|\.)allowlists?$/.test(name(h))).length,
  };
}

/** Where a plugin config key comes from: the request (flags, a run step), else the project config. */
function configOrigin(
  key: string,
  req: ScanRequest,
  project: Awaited<ReturnType<typeof loadConfig>>,
  trusted: boolean,
): 'trusted' | 'tree' | undefined {
  if (req.grants.config?.[key] !== undefined) return req.fromTree ? 'tree' : 'trusted';
  if (project.scan.pluginConfig?.[key] !== undefined) return trusted ? 'trusted' : 'tree';
  return undefined;
}

/** Where `disable` and `severity` come from. */
function ruleIdOrigins(
  req: ScanRequest,
  project: Awaited<ReturnType<typeof loadConfig>>,
  trusted: boolean,
): ScanOptions['ruleIdsFrom'] {
  const out: NonNullable<ScanOptions['ruleIdsFrom']> = {};
  for (const k of ['disable', 'severity'] as const) {
    const from = configOrigin(k, req, project, trusted);
    if (from) out[k] = from;
  }
  return out;
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
  // Teams moving from gitleaks or GitLab's analyzer keep their rules: like gitleaks, the scan picks up the project's
  // .gitleaks.toml (as plugin config `gitleaks_config`, with the base its [extend] path names), GitLab's
  // .gitlab/secret-detection-ruleset.toml and .gitleaksignore. They can hide findings, so a tree's file is announced.
  const shownFile = (f: string) => printable(path.relative(root, f) || f);
  const configFiles: Record<string, string> = {};
  const picked: [TreeConfigs | undefined, string][] = [];
  /** Tree files whose rules may take a built-in rule's place (announced once the plugin has described its rules). */
  const treeRuleFiles: string[] = [];
  if (configOrigin('rules', req, project, trusted) === 'tree') treeRuleFiles.push(shown ?? 'the plugin config');
  if (s.grants.config?.gitleaks_config === undefined) picked.push([gitleaksToml(root, shownFile), GITLEAKS_TOML]);
  if (s.grants.config?.gitlab_ruleset === undefined) picked.push([gitlabRuleset(root, shownFile, log), 'ruleset']);
  for (const [found, what] of picked) {
    if (!found) continue;
    s.grants.config = { ...s.grants.config, ...found.config };
    Object.assign(configFiles, found.files);
    const file = Object.values(found.files)[0] as string;
    const note =
      what === GITLEAKS_TOML
        ? (() => {
            const c = gitleaksCounts(found.config.gitleaks_config as string);
            const base = found.files.gitleaks_config_base ? ` (extending ${found.files.gitleaks_config_base})` : '';
            return `${file} adds ${c.rules} rule(s) and ${c.allowlists} allowlist(s) to this scan${base}`;
          })()
        : `${file} changes this scan's rules (GitLab secret-detection ruleset: disable/override/passthrough)`;
    if (fromTree(path.join(root, what === GITLEAKS_TOML ? GITLEAKS_TOML : '.gitlab'))) {
      log.warn(`${note} (from the checked-out tree; allowlists and disabled rules can hide findings)`);
      treeRuleFiles.push(file);
    } else log.info(note);
  }
  const gitleaksIgnoreFile = path.join(root, GITLEAKSIGNORE);
  const gitleaksIgnore = isTreeFile(root, gitleaksIgnoreFile)
    ? GitleaksIgnore.load(gitleaksIgnoreFile, shownFile(gitleaksIgnoreFile))
    : undefined;
  // The tree's own .wasmciignore, like its .gitleaksignore above, only as a regular file inside the tree, refused
  // unread otherwise; a file the pipeline names is its choice.
  if (!s.ignoreFile.explicit)
    refuseIrregularIgnoreFile(
      root,
      s.ignoreFile.file,
      'replace it with a regular file in the tree, or name the file to use with --ignore-file',
    );
  const ignore = new IgnoreList(await loadIgnoreFile(s.ignoreFile.file, s.ignoreFile.explicit));
  const baseline = s.baseline ? await loadBaseline(s.baseline) : undefined;
  const policy = policyFrom(s.grants, { cwd: req.cwd, env, timeoutMs: SCAN_TIMEOUT_MS });
  // The single executable carries its own plugin: it wins over files so the runner and plugin match.
  const embedded = s.plugin === undefined ? embeddedScanPlugin() : undefined;
  const ref = s.plugin ?? (embedded ? SEA_PLUGIN_ASSET : defaultScanPlugin(env));
  // The bytes are this scan's alone (loadPlugin's, or node:sea's copy of the asset): compiled in place.
  const compiled = await compilePlugin(embedded ?? (await deps.loadPlugin(ref)), policy, { consume: true });
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
      archiveDepth: s.archiveDepth,
      shard: s.shard,
      overrides: s.overrides,
      ignore,
      gitleaksIgnore,
      configFiles,
      baseline,
      redact: s.redact,
      log,
      progress: deps.progress,
      ...(s.verify ? { verify: s.verify } : {}),
      env,
      ruleIdsFrom: ruleIdOrigins(req, project, trusted),
      treeRuleFiles,
    },
  };
}

/** One scan from a request: settled, run, and its tree-made suppressions said in the log. */
export async function scan(req: ScanRequest, deps: ScanDeps): Promise<ScanResult> {
  const { s, options, fromTree } = await prepare(req, deps);
  const result = await runScan(options);
  result.failOn = s.failOn;
  const log = deps.log;
  if (s.verify) summarizeVerification(result, s.verify.budgetMs, s.onlyVerified, log);
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
  if (sup?.gitleaksIgnored) parts.push(`${sup.gitleaksIgnored} finding(s) ignored by ${GITLEAKSIGNORE}`);
  if (sup?.baseline && s.baseline && fromTree(s.baseline))
    parts.push(`${sup.baseline} finding(s) known to the baseline`);
  if (sup?.allowed) parts.push(`${sup.allowed} finding(s) allowed by inline comments`);
  if (parts.length) log.warn(`the checked-out tree suppressed: ${parts.join(', ')}`);
  for (const line of coverageNotes(result, req, s)) log[line.level](line.text);
  if (result.errors.length) log.warn(`${result.errors.length} file(s) could not be scanned: the scan is incomplete`);
  return result;
}

/** Counts by outcome into the result (and the log); --only-verified keeps the active ones, before --fail-on. */
function summarizeVerification(result: ScanResult, budgetMs: number, onlyVerified: boolean, log: Logger): void {
  const n = { active: 0, inactive: 0, unknown: 0 };
  for (const f of result.findings) n[f.verification?.status ?? 'unknown']++;
  const before = result.findings.length;
  if (onlyVerified) result.findings = result.findings.filter((f) => f.verification?.status === 'active');
  const dropped = before - result.findings.length;
  result.verification = { ...n, dropped, budgetMs };
  log.info(
    `verification: ${n.active} active, ${n.inactive} inactive, ${n.unknown} unknown` +
      (onlyVerified ? `; --only-verified dropped ${dropped} finding(s)` : ''),
  );
}

const SHOWN_PATHS = 5;

/**
 * What was scanned and why files were not, so silence never hides a mistake: a typo in --include, an empty or
 * unreadable directory. `info` lines say what was scanned and the skip counts by reason; `warn` lines say that
 * nothing was scanned (with the likeliest cause) and which directories could not be read.
 */
export function coverageNotes(
  result: ScanResult,
  req: Pick<ScanRequest, 'path' | 'include'>,
  s: Pick<SettledScan, 'include' | 'exclude' | 'gitignore' | 'target'>,
): { level: 'info' | 'warn'; text: string }[] {
  const out: { level: 'info' | 'warn'; text: string }[] = [];
  const byReason = new Map<string, number>();
  for (const k of result.skipped) byReason.set(k.reason, (byReason.get(k.reason) ?? 0) + 1);
  const excluded = result.stats.excluded ?? 0;
  const skips = [...byReason].map(([r, n]) => `${r} ${n}`);
  if (excluded) skips.push(`excluded by include/exclude globs ${excluded}`);
  const mode =
    s.target.mode === 'files'
      ? `files${s.gitignore ? ', .gitignore honoured' : ', --no-gitignore'}`
      : s.target.mode === 'diff'
        ? `diff from ${s.target.base}`
        : s.target.mode === 'history'
          ? `history ${s.target.range}`
          : s.target.mode === 'staged'
            ? 'staged changes'
            : 'pushed commits';
  out.push({
    level: 'info',
    text: `scanned ${result.stats.files} file(s), ${result.stats.bytes} bytes, in ${printable(req.path)} (${printable(mode)}); skipped: ${skips.join(', ') || 'none'}`,
  });
  const unreadable = result.skipped.filter((k) => k.reason === 'unreadable');
  if (unreadable.length) {
    const first = unreadable.slice(0, SHOWN_PATHS).map((k) => `${printable(k.path)} (${printable(k.detail ?? '')})`);
    out.push({
      level: 'warn',
      text: `${unreadable.length} unreadable path(s) skipped, not scanned: ${first.join(', ')}${unreadable.length > SHOWN_PATHS ? ', ...' : ''}`,
    });
  }
  if (result.stats.files === 0 && result.errors.length === 0 && s.target.mode === 'files') {
    let cause: string;
    if (excluded && s.include.length)
      cause = `no file matched --include ${s.include.map(printable).join(', ')} (${excluded} file(s) left out by the globs): check the glob (e.g. "src/**/*.ts")`;
    else if (excluded) cause = `all ${excluded} file(s) were left out by the exclude globs`;
    else if (result.skipped.length) cause = `all ${result.skipped.length} file(s) were skipped (${skips.join(', ')})`;
    else
      cause = `${printable(req.path)} holds no file to scan${s.gitignore ? ' (or .gitignore ignores all of them; --no-gitignore scans those too)' : ''}`;
    out.push({ level: 'warn', text: `no file was scanned: ${cause}` });
  }
  return out;
}

/** A scan's exit code: 1 when findings reach the threshold, else 3 when a file could not be scanned, else 0. */
export function scanExitCode(result: ScanResult): number {
  if (failing(result.findings, result.failOn ?? 'low').length) return ExitCode.findings;
  return result.errors.length ? ExitCode.runtime : ExitCode.ok;
}
