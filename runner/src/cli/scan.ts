/**
 * `wasmci scan [PATH]`: run a scan plugin (default: the bundled secrets scanner) over a directory, a merge
 * request's additions, the staged changes or the git history; print findings (redacted) and write reports; exit 0/1/2/3.
 */
import path from 'node:path';
import { type Command, Option } from 'commander';
import { FAIL_ON, type FailOn } from '../core/model.js';
import { UsageError } from '../errors.js';
import { createLogger, type LogLevel } from '../log.js';
import { publishCi } from '../report/ci/index.js';
import { renderReport, reportFormats, writeReport } from '../report/index.js';
import { STDOUT } from '../report/target.js';
import { colorFor } from '../report/text.js';
import { findCheckout } from '../core/checkout.js';
import { type ScanRequest, SCAN_TIMEOUT_MS, scan, scanExitCode } from '../scan/index.js';
import { gitlabScanVariables } from '../scan/gitlab-variables.js';
import { createProgress } from '../scan/progress.js';
import { DEFAULT_ARCHIVE_DEPTH } from '../scan/targets/archive.js';
import { DEFAULT_MAX_FILE_MIB, DEFAULT_RECYCLE_MIB, DEFAULT_VERIFY_TIMEOUT_S } from '../scan/settle.js';
import { writeStdout } from './io.js';
import { addSandboxOptions, grantsFromFlags, type SandboxFlags } from './sandbox-options.js';
import { addSourceOptions, loadPlugin, type SourceFlags } from './source-options.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface ScanFlags extends SandboxFlags, SourceFlags {
  plugin?: string;
  report?: string[];
  format: 'text' | 'json';
  failOn?: FailOn;
  include?: string[];
  exclude?: string[];
  maxFileSize?: string;
  diff?: string | true;
  history?: string | true;
  gitlabVariables?: boolean;
  staged?: boolean;
  baseline?: string;
  ignoreFile?: string;
  redact: boolean;
  gitignore: boolean;
  jobs?: string;
  shard?: string;
  config?: string[];
  configFile?: string;
  trustConfig?: boolean;
  recycleAfter: string;
  verify?: boolean;
  verifyTimeout?: string;
  resolve?: string[];
  onlyVerified?: boolean;
  archives: boolean;
  archiveDepth?: string;
}

export interface ReportSpec {
  format: string;
  file: string;
}

/** `FORMAT=FILE` specs (flags) or a `{format: file}` map (a run config), checked and resolved against `cwd`. */
export function parseReports(specs: string[] | Record<string, string> | undefined, cwd: string): ReportSpec[] {
  const pairs = Array.isArray(specs)
    ? specs.map((s) => {
        const i = s.indexOf('=');
        if (i <= 0 || i === s.length - 1)
          throw new UsageError(`--report ${s} is not FORMAT=FILE`, 'e.g. --report json=wasmci-report.json');
        return [s.slice(0, i), s.slice(i + 1), s] as const;
      })
    : Object.entries(specs ?? {}).map(([f, file]) => [f, file, `${f}: ${file}`] as const);
  return pairs.map(([format, file, shown]) => {
    if (!reportFormats().includes(format)) {
      throw new UsageError(
        `--report ${shown}: unknown format "${format}"`,
        `use one of: ${reportFormats().join(', ')}`,
      );
    }
    return { format, file: file === STDOUT ? file : path.resolve(cwd, file) };
  });
}

/** At most one report may go to stdout: two would interleave into one unreadable stream. */
export function checkStdoutReports(reports: ReportSpec[]): boolean {
  const toStdout = reports.filter((r) => r.file === STDOUT);
  if (toStdout.length > 1)
    throw new UsageError(
      `${toStdout.map((r) => `--report ${r.format}=-`).join(' and ')}: only one report can go to stdout`,
      'write the others to files',
    );
  return toStdout.length === 1;
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

/**
 * GitLab's variables on top of the flags: their excluded paths join --exclude; a historic scan or log options make a
 * history scan, which replaces --diff (GitLab's analyzer also lets SECRET_DETECTION_LOG_OPTIONS choose the commits).
 */
function fromGitlabVariables(flags: ScanFlags, env: NodeJS.ProcessEnv): Partial<ScanRequest> {
  const v = gitlabScanVariables(env);
  const out: Partial<ScanRequest> = {};
  if (v.exclude.length) out.exclude = [...(flags.exclude ?? []), ...v.exclude];
  if (v.history) {
    out.history = v.history.range;
    out.historyLimits = v.history.limits;
    out.diff = undefined;
  }
  return out;
}

/** The flags as a ScanRequest: nothing is decided here that settleScan decides. */
function request(dir: string, flags: ScanFlags, cwd: string): ScanRequest {
  // --config is shared with `call` as plugin config KEY=VALUE; a value without "=" names the project config file.
  const configFiles = (flags.config ?? []).filter((c) => !c.includes('='));
  if (configFiles.length + (flags.configFile ? 1 : 0) > 1) throw new UsageError('give one project config file');
  const grants = grantsFromFlags({ ...flags, config: (flags.config ?? []).filter((c) => c.includes('=')) }, cwd);
  const configFile = flags.configFile ?? configFiles[0];
  return {
    path: dir,
    cwd,
    grants,
    ...(flags.plugin ? { plugin: flags.plugin } : {}),
    ...(flags.failOn ? { failOn: flags.failOn } : {}),
    ...(flags.include ? { include: flags.include } : {}),
    ...(flags.exclude ? { exclude: flags.exclude } : {}),
    ...(flags.maxFileSize ? { maxFileSizeMiB: positive('--max-file-size', flags.maxFileSize) } : {}),
    gitignore: flags.gitignore,
    ...(flags.diff !== undefined ? { diff: flags.diff } : {}),
    ...(flags.history !== undefined ? { history: flags.history } : {}),
    ...(flags.gitlabVariables ? fromGitlabVariables(flags, process.env) : {}),
    ...(flags.staged ? { staged: true } : {}),
    ...(flags.baseline ? { baseline: flags.baseline } : {}),
    ...(flags.ignoreFile ? { ignoreFile: flags.ignoreFile } : {}),
    redact: flags.redact,
    ...(flags.jobs ? { jobs: positiveInt('--jobs', flags.jobs) } : {}),
    ...(flags.shard ? { shard: flags.shard } : {}),
    ...(configFile ? { configFile } : {}),
    recycleAfterMiB: positive('--recycle-after', flags.recycleAfter),
    ...(flags.verify ? { verify: true } : {}),
    ...(flags.verifyTimeout ? { verifyTimeoutS: positive('--verify-timeout', flags.verifyTimeout) } : {}),
    ...(flags.resolve ? { resolve: flags.resolve } : {}),
    ...(flags.onlyVerified ? { onlyVerified: true } : {}),
    archives: flags.archives,
    ...(flags.archiveDepth ? { archiveDepth: positiveInt('--archive-depth', flags.archiveDepth) } : {}),
  };
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
    .option('--no-archives', 'scan zip/jar/tar/tar.gz files as files, not as their members')
    .option('--archive-depth <n>', `open archives nested this deep (default: ${DEFAULT_ARCHIVE_DEPTH})`)
    .option('--diff [base]', 'scan only what the commits since BASE add (default: CI_MERGE_REQUEST_DIFF_BASE_SHA)')
    .option('--history [range]', "scan every commit's added lines (default range: HEAD; `--all` for every ref)")
    .option(
      '--gitlab-variables',
      'honour GitLab Secret Detection variables: SECRET_DETECTION_EXCLUDED_PATHS, _HISTORIC_SCAN, _LOG_OPTIONS',
    )
    .option('--staged', 'scan only what the next commit adds: the index against HEAD (for pre-commit checks)')
    .option('--baseline <file>', 'a previous JSON report: its findings do not count')
    .option('--ignore-file <file>', 'reviewed findings to ignore (default: PATH/.wasmciignore)')
    .option('--no-redact', 'show secrets in full in the output and reports')
    .option('--jobs <n>', 'plugin instances working in parallel (default: number of cores, at most 4)')
    .option('--shard <index/total>', 'scan only this share of the files (default: CI_NODE_INDEX/CI_NODE_TOTAL)')
    .option('--config-file <file>', 'project config (default: PATH/.wasmci.yml); `--config FILE` works too')
    .option(
      '--trust-config',
      'let the project config choose the scan plugin although it lies in the checked-out tree (only where a merge request cannot change it)',
    )
    .option(
      '--verify',
      "ask each finding's vendor whether the secret works (network: only the hosts the plugin declares; off by default)",
    )
    .option('--verify-timeout <seconds>', `total time for verification (default: ${DEFAULT_VERIFY_TIMEOUT_S})`)
    .option(
      '--resolve <host=base-url>',
      'send verification requests for HOST to a loopback BASE_URL instead (tests, mirrors; repeatable)',
      collect,
    )
    .option('--only-verified', 'keep only findings verified active (needs --verify); --fail-on applies after it')
    .addOption(
      new Option('--recycle-after <MiB>', 'replace a plugin instance after this much input')
        .default(String(DEFAULT_RECYCLE_MIB))
        .hideHelp(),
    );
  addSourceOptions(cmd);
  addSandboxOptions(cmd, { timeoutMs: SCAN_TIMEOUT_MS });
  cmd.action(async (dir: string, flags: ScanFlags) => {
    const env = process.env;
    const cwd = process.cwd();
    const log = createLogger((flags.logLevel ?? 'warn') as LogLevel);
    const req = request(dir, flags, cwd);
    const reports = parseReports(flags.report, cwd);
    const reportToStdout = checkStdoutReports(reports);
    const result = await scan(req, {
      log,
      env,
      loadPlugin: async (ref) => (await loadPlugin(ref, flags, log)).bytes,
      progress: createProgress({ tty: !!process.stderr.isTTY, ci: env.CI === 'true' }),
      trustConfig: flags.trustConfig,
    });
    const opts = { redact: flags.redact, env };
    // The findings reach the log first: a report that cannot be written must not hide them. With a report on
    // stdout (--report FORMAT=-), they go to stderr, so stdout holds the report alone.
    const out = reportToStdout ? process.stderr : process.stdout;
    const shown = renderReport(flags.format, result, { ...opts, color: colorFor(out, env) });
    if (reportToStdout) process.stderr.write(shown);
    else await writeStdout(shown);
    const checkout = findCheckout(env, cwd, [path.resolve(cwd, dir)]);
    for (const r of reports) await writeReport(r.format, r.file, result, opts, { checkout, toStdout: writeStdout });
    await publishCi([result], { ...opts, reportFile: reports[0]?.file });
    process.exitCode = scanExitCode(result);
  });
}
