/**
 * `wasmci scan [PATH]`: run a scan plugin (default: the bundled secrets scanner) over a directory, a merge
 * request's additions or the git history; print findings (redacted) and write reports; exit 0/1/2/3.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { loadConfig } from '../config/index.js';
import { FAIL_ON, type FailOn } from '../core/model.js';
import { ExitCode, UsageError } from '../errors.js';
import { createLogger, type LogLevel } from '../log.js';
import { compilePlugin } from '../plugin/host.js';
import { publishCi } from '../report/ci/index.js';
import { renderReport, reportFormats, writeReport } from '../report/index.js';
import { colorFor } from '../report/text.js';
import { loadBaseline } from '../scan/baseline.js';
import { defaultScanPlugin } from '../scan/default-plugin.js';
import { IgnoreList, loadIgnoreFile } from '../scan/ignore-file.js';
import { runScan, type ScanTarget } from '../scan/index.js';
import { createProgress } from '../scan/progress.js';
import { shardFrom } from '../scan/shard.js';
import { failing } from '../scan/workflow.js';
import { writeStdout } from './io.js';
import { addSandboxOptions, type SandboxFlags, sandboxPolicy } from './sandbox-options.js';
import { addSourceOptions, loadPlugin, type SourceFlags } from './source-options.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const MiB = 1024 * 1024;
const DEFAULT_MAX_FILE_MIB = 10;
const BATCH_BYTES = 2 * MiB;
const BATCH_FILES = 1000;
/**
 * Default --jobs: the cores, up to this many. Each instance is a worker thread with its own V8 heap and plugin
 * memory (~50 MB while scanning): one per core on a 32-core runner would cost 1.6 GB. --jobs N lifts the cap.
 */
const DEFAULT_MAX_JOBS = 4;

interface ScanFlags extends SandboxFlags, SourceFlags {
  plugin?: string;
  /** false when `wasmci run` invokes this scan: run publishes once for all its steps. */
  ciPublish: boolean;
  report?: string[];
  format: 'text' | 'json';
  failOn?: FailOn;
  include?: string[];
  exclude?: string[];
  maxFileSize?: string;
  diff?: string | true;
  history?: string | true;
  baseline?: string;
  ignoreFile?: string;
  redact: boolean;
  gitignore: boolean;
  jobs?: string;
  shard?: string;
  config?: string[];
  configFile?: string;
  recycleAfter: string;
}

interface ReportSpec {
  format: string;
  file: string;
}

function parseReports(specs: string[] | undefined, cwd: string): ReportSpec[] {
  return (specs ?? []).map((s) => {
    const i = s.indexOf('=');
    const format = i > 0 ? s.slice(0, i) : '';
    const file = i > 0 ? s.slice(i + 1) : '';
    if (!format || !file)
      throw new UsageError(`--report ${s} is not FORMAT=FILE`, 'e.g. --report json=wasmci-report.json');
    if (!reportFormats().includes(format)) {
      throw new UsageError(`--report ${s}: unknown format "${format}"`, `use one of: ${reportFormats().join(', ')}`);
    }
    return { format, file: path.resolve(cwd, file) };
  });
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive whole number, got "${v}"`);
  return n;
}

function positive(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got "${v}"`);
  return n;
}

function target(flags: ScanFlags, env: NodeJS.ProcessEnv): ScanTarget {
  if (flags.diff !== undefined && flags.history !== undefined) {
    throw new UsageError(
      '--diff and --history cannot be combined',
      'a merge request pipeline uses --diff; a full audit --history',
    );
  }
  if (flags.diff !== undefined) {
    const base = flags.diff === true ? env.CI_MERGE_REQUEST_DIFF_BASE_SHA : flags.diff;
    if (!base) {
      throw new UsageError(
        '--diff without a base needs CI_MERGE_REQUEST_DIFF_BASE_SHA (set in GitLab merge request pipelines)',
        'pass the base explicitly: --diff origin/main',
      );
    }
    return { mode: 'diff', base };
  }
  if (flags.history !== undefined) return { mode: 'history', range: flags.history === true ? 'HEAD' : flags.history };
  return { mode: 'files' };
}

export function register(program: Command): void {
  const cmd = program
    .command('scan')
    .description('scan a directory, a merge request diff or the git history with a scan plugin (default: secrets)')
    .argument('[path]', 'directory to scan', '.')
    .option('--plugin <ref>', 'scan plugin reference (default: the bundled secrets plugin)')
    .option(
      '--report <format=file>',
      `write a report: FORMAT=FILE, FORMAT one of ${reportFormats().join(', ')} (repeatable)`,
      collect,
    )
    .addOption(new Option('--format <format>', 'what goes to stdout').choices(['text', 'json']).default('text'))
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 on findings at or above this severity (default: low)').choices([
        ...FAIL_ON,
      ]),
    )
    .option('--include <glob>', 'scan only paths matching (repeatable)', collect)
    .option('--exclude <glob>', 'skip paths matching (repeatable)', collect)
    .option('--max-file-size <MiB>', `skip larger files, reported as skipped (default: ${DEFAULT_MAX_FILE_MIB})`)
    .option('--no-gitignore', 'scan ignored files too (e.g. build output or node_modules)')
    .option('--diff [base]', 'scan only what the commits since BASE add (default: CI_MERGE_REQUEST_DIFF_BASE_SHA)')
    .option('--history [range]', "scan every commit's added lines (default range: HEAD; `--all` for every ref)")
    .option('--baseline <file>', 'a previous JSON report: its findings do not count')
    .option('--ignore-file <file>', 'reviewed findings to ignore (default: PATH/.wasmciignore)')
    .option('--no-redact', 'show secrets in full in the output and reports')
    .option('--jobs <n>', 'plugin instances working in parallel (default: number of cores, at most 4)')
    .option('--shard <index/total>', 'scan only this share of the files (default: CI_NODE_INDEX/CI_NODE_TOTAL)')
    .option('--config-file <file>', 'project config (default: PATH/.wasmci.yml); `--config FILE` works too')
    .addOption(
      // The plugin's memory is bounded by the largest batch (its input buffer is reused), so recycling is a safety
      // net for plugins that leak, not a routine: each replacement costs a worker start-up and a plugin init.
      new Option('--recycle-after <MiB>', 'replace a plugin instance after this much input').default('1024').hideHelp(),
    )
    .addOption(new Option('--no-ci-publish', 'skip CI integrations (GitHub annotations, summary, outputs)').hideHelp());
  addSourceOptions(cmd);
  addSandboxOptions(cmd, { timeoutMs: 300_000 });
  cmd.action(async (dir: string, flags: ScanFlags) => {
    const env = process.env;
    const cwd = process.cwd();
    const log = createLogger((flags.logLevel ?? 'warn') as LogLevel);
    const root = path.resolve(cwd, dir);
    let isDir = false;
    try {
      isDir = statSync(root).isDirectory();
    } catch {}
    if (!isDir) throw new UsageError(`${dir} is not a directory`, 'pass the directory to scan, e.g. `wasmci scan .`');

    // --config is shared with `call` as plugin config KEY=VALUE; a value without "=" names the project config file.
    const configFiles = (flags.config ?? []).filter((c) => !c.includes('='));
    flags.config = (flags.config ?? []).filter((c) => c.includes('='));
    if (configFiles.length + (flags.configFile ? 1 : 0) > 1) throw new UsageError('give one project config file');
    const configFile = flags.configFile ?? configFiles[0];
    const config = await loadConfig(root, configFile ? path.resolve(cwd, configFile) : undefined);
    const sc = config.scan;
    const reports = parseReports(flags.report, cwd);
    const tgt = target(flags, env);
    const failOn: FailOn = flags.failOn ?? sc.failOn ?? 'low';
    let maxFileBytes = Math.floor(
      (flags.maxFileSize
        ? positive('--max-file-size', flags.maxFileSize)
        : (sc.maxFileSizeMiB ?? DEFAULT_MAX_FILE_MIB)) * MiB,
    );
    const jobs = flags.jobs ? positiveInt('--jobs', flags.jobs) : Math.min(os.availableParallelism(), DEFAULT_MAX_JOBS);
    const shard = shardFrom(flags.shard, env);
    const baseline = flags.baseline ? await loadBaseline(path.resolve(cwd, flags.baseline)) : undefined;
    const ignoreFile = flags.ignoreFile ? path.resolve(cwd, flags.ignoreFile) : path.join(root, '.wasmciignore');
    const ignore = new IgnoreList(await loadIgnoreFile(ignoreFile, !!flags.ignoreFile));

    const policy = sandboxPolicy(flags);
    policy.config = { ...(sc.pluginConfig ?? {}), ...policy.config };
    // A file larger than the plugin's whole memory can never be scanned: skip it up front instead of reading and
    // copying it (hundreds of MB of host memory) only for the plugin to fail.
    if (maxFileBytes > policy.memoryMaxBytes) {
      log.warn(
        `--max-file-size is over the plugin memory limit (${policy.memoryMaxBytes / MiB} MiB): larger files are skipped; raise --memory-max to scan them`,
      );
      maxFileBytes = policy.memoryMaxBytes;
    }
    // Teams moving from gitleaks keep their rules: like gitleaks, the scan picks up the project's .gitleaks.toml
    // (as plugin config `gitleaks_config`, which the secrets plugin reads and other plugins ignore).
    const gitleaksToml = path.join(root, '.gitleaks.toml');
    if (policy.config.gitleaks_config === undefined && existsSync(gitleaksToml)) {
      policy.config.gitleaks_config = readFileSync(gitleaksToml, 'utf8');
      log.info(`using the rules and allowlists of ${gitleaksToml}`);
    }
    const ref = flags.plugin ?? sc.plugin ?? defaultScanPlugin(env);
    const resolved = await loadPlugin(ref, flags, log);
    const compiled = await compilePlugin(resolved.bytes, policy);
    const pluginName = path.basename(ref).replace(/\.wasm$/, '') || ref;

    const result = await runScan({
      root,
      target: tgt,
      compiled,
      policy,
      pluginName,
      jobs,
      recycleBytes: positive('--recycle-after', flags.recycleAfter) * MiB,
      batchBytes: BATCH_BYTES,
      batchFiles: BATCH_FILES,
      include: [...(sc.include ?? []), ...(flags.include ?? [])],
      exclude: [...(sc.exclude ?? []), ...(flags.exclude ?? [])],
      maxFileBytes,
      gitignore: flags.gitignore,
      shard,
      overrides: sc.overrides ?? [],
      ignore,
      baseline,
      redact: flags.redact,
      log,
      progress: createProgress({ tty: !!process.stderr.isTTY, ci: env.CI === 'true' }),
    });
    result.failOn = failOn;

    // Stale ignore entries are only knowable when the whole tree was scanned.
    if (tgt.mode === 'files' && !shard && !flags.include?.length) {
      for (const e of ignore.stale()) {
        log.warn(`${ignoreFile}:${e.line}: ${e.text} matched no finding; remove it if the secret is gone`);
      }
    }
    const opts = { redact: flags.redact, env };
    for (const r of reports) await writeReport(r.format, r.file, result, opts);
    if (flags.ciPublish) await publishCi([result], { ...opts, reportFile: reports[0]?.file });
    await writeStdout(renderReport(flags.format, result, { ...opts, color: colorFor(process.stdout, env) }));
    if (result.errors.length) log.warn(`${result.errors.length} file(s) could not be scanned: the scan is incomplete`);
    const bad = failing(result.findings, failOn);
    process.exitCode = bad.length ? ExitCode.findings : result.errors.length ? ExitCode.runtime : ExitCode.ok;
  });
}
