/**
 * `wasmci run [-c .wasmci.yml]`: the steps of the config's `run:` section, in order — scans (exactly what
 * `wasmci scan` does, with the step's settings as its flags) and plugin calls, each with its own grants — then
 * one set of reports for all scan steps, the CI integrations, a summary, and one exit code: the worst of the
 * steps that may fail the run (3 runtime > 2 usage > 1 findings > 0).
 * Step names, paths and functions come from the checked-out tree and results from plugins: each is printed
 * through printable() (log.ts), and a call step's answer shown in the log is escaped line by line.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Command, CommanderError, Option } from 'commander';
import { type CallStepSpec, loadRunConfig, type ScanStepSpec, type Step, type StepGrants } from '../config/steps.js';
import { ExitCode, exitCodeFor, PluginError, UsageError } from '../errors.js';
import { createLogger, type LogLevel, LOG_LEVELS, maskSecrets, printable, printableLines } from '../log.js';
import { compilePlugin, SandboxedPlugin } from '../plugin/host.js';
import { writeFileAtomic } from '../report/atomic.js';
import { publishCi } from '../report/ci/index.js';
import { sectionEnd, sectionStart } from '../report/ci/gitlab.js';
import { writeReport } from '../report/index.js';
import { loadJsonReport } from '../scan/merge.js';
import type { ScanResult } from '../scan/model.js';
import { writeStdout } from './io.js';
import { type SandboxFlags, sandboxPolicy } from './sandbox-options.js';
import { addSourceOptions, loadPlugin, type SourceFlags, sourceArgs } from './source-options.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface RunFlags extends SourceFlags {
  config: string;
  redact: boolean;
  step?: string[];
  failFast?: boolean;
  logLevel: LogLevel;
}

interface Outcome {
  step: Step;
  code: number;
  durationMs: number;
  result?: ScanResult;
  /** Why the step failed, when it did not finish normally. */
  error?: string;
}

function grantArgs(g: StepGrants): string[] {
  const a: string[] = [];
  if (g.config) a.push(`--config-json=${JSON.stringify(g.config)}`);
  for (const v of g.env ?? []) a.push(`--env=${v}`);
  for (const h of g.allowHosts ?? []) a.push(`--allow-host=${h}`);
  if (g.allowPaths) a.push(`--allow-paths=${JSON.stringify(g.allowPaths)}`);
  if (g.wasi) a.push('--wasi');
  if (g.timeoutMs) a.push(`--timeout=${g.timeoutMs}`);
  if (g.memoryMaxMiB) a.push(`--memory-max=${g.memoryMaxMiB}`);
  if (g.maxOutputMiB) a.push(`--max-output=${g.maxOutputMiB}`);
  return a;
}

/** The `wasmci scan` command line a scan step stands for. */
export function scanArgs(s: ScanStepSpec, step: Step, configFile: string, flags: RunFlags, json: string): string[] {
  const a = ['scan', s.path, `--config-file=${configFile}`, `--report=json=${json}`, `--log-level=${flags.logLevel}`];
  if (s.plugin) a.push(`--plugin=${s.plugin}`);
  if (s.failOn) a.push(`--fail-on=${s.failOn}`);
  if (s.diff !== undefined) a.push(s.diff === true ? '--diff' : `--diff=${s.diff}`);
  if (s.history !== undefined) a.push(s.history === true ? '--history' : `--history=${s.history}`);
  for (const g of s.include ?? []) a.push(`--include=${g}`);
  for (const g of s.exclude ?? []) a.push(`--exclude=${g}`);
  if (s.baseline) a.push(`--baseline=${s.baseline}`);
  if (s.ignoreFile) a.push(`--ignore-file=${s.ignoreFile}`);
  if (s.maxFileSizeMiB) a.push(`--max-file-size=${s.maxFileSizeMiB}`);
  if (s.jobs) a.push(`--jobs=${s.jobs}`);
  for (const [format, file] of Object.entries(step.reports)) a.push(`--report=${format}=${file}`);
  if (!flags.redact) a.push('--no-redact');
  return [...a, '--no-ci-publish', ...sourceArgs(flags), ...grantArgs(step.grants)];
}

function errorText(err: unknown): string {
  if (err instanceof CommanderError) return err.message.replace(/^error: /, '');
  const e = err as Error & { hint?: string; kind?: string };
  const label = err instanceof PluginError ? `plugin error (${e.kind}): ` : '';
  return `${label}${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}`;
}

/** Runs another wasmci command in this process, as the CLI would, and returns its exit code. */
async function invoke(args: string[]): Promise<number> {
  const { buildProgram } = await import('./main.js');
  process.exitCode = undefined;
  try {
    await buildProgram().parseAsync(args, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } finally {
    process.exitCode = undefined;
  }
}

async function runScanStep(step: Step & { kind: 'scan' }, cfg: string, flags: RunFlags): Promise<Outcome> {
  const started = Date.now();
  // The step's result comes back as its JSON report, in a private temp dir (never in the scanned tree).
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'wasmci-run-'));
  const json = path.join(tmp, `${step.name}.json`);
  try {
    const code = await invoke(scanArgs(step.scan, step, cfg, flags, json));
    const result = (await loadJsonReport(json)).result;
    return { step, code, durationMs: Date.now() - started, result };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function callInput(c: CallStepSpec): Promise<Uint8Array> {
  if (c.input !== undefined) return new TextEncoder().encode(c.input);
  if (c.inputFile === undefined) return new Uint8Array(0);
  try {
    return await readFile(c.inputFile);
  } catch (err) {
    throw new UsageError(`input_file ${c.inputFile} cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
}

function sandboxFlags(g: StepGrants, logLevel: LogLevel): SandboxFlags {
  return {
    configJson: g.config ? JSON.stringify(g.config) : undefined,
    env: g.env,
    allowHost: g.allowHosts,
    allowPaths: g.allowPaths ? JSON.stringify(g.allowPaths) : undefined,
    wasi: g.wasi,
    timeout: g.timeoutMs ? String(g.timeoutMs) : undefined,
    memoryMax: g.memoryMaxMiB ? String(g.memoryMaxMiB) : undefined,
    maxOutput: g.maxOutputMiB ? String(g.maxOutputMiB) : undefined,
    logLevel,
  };
}

/** A call step is `wasmci call` with an optional output file (written atomically). */
async function runCallStep(step: Step & { kind: 'call' }, flags: RunFlags): Promise<Outcome> {
  const started = Date.now();
  const c = step.call;
  const log = createLogger(flags.logLevel);
  const policy = sandboxPolicy(sandboxFlags(step.grants, flags.logLevel));
  const input = await callInput(c);
  const resolved = await loadPlugin(c.plugin, flags, log);
  const plugin = await SandboxedPlugin.start(await compilePlugin(resolved.bytes, policy), policy, log, step.name);
  try {
    const out = await plugin.call(c.function, input);
    if (c.output) await writeFileAtomic(c.output, out);
    else if (out.length) await writeStdout(`${printableLines(new TextDecoder().decode(out).replace(/\r?\n$/, ''))}\n`);
  } finally {
    await plugin.close();
  }
  return { step, code: ExitCode.ok, durationMs: Date.now() - started };
}

async function runStep(step: Step, cfg: string, flags: RunFlags): Promise<Outcome> {
  const started = Date.now();
  try {
    return step.kind === 'scan' ? await runScanStep(step, cfg, flags) : await runCallStep(step, flags);
  } catch (err) {
    const code = err instanceof CommanderError ? ExitCode.usage : exitCodeFor(err);
    return { step, code, durationMs: Date.now() - started, error: errorText(err) };
  }
}

function summaryLine(o: Outcome): string {
  const status = o.code === 0 ? 'ok' : o.step.allowFailure ? 'failed (allowed)' : 'failed';
  const what = o.result
    ? `${o.result.findings.length} finding${o.result.findings.length === 1 ? '' : 's'} (${printable(o.result.plugin.name)})`
    : o.step.kind;
  return `  ${printable(o.step.name).padEnd(20)} ${what.padEnd(36)} exit ${o.code}  ${status}  ${(o.durationMs / 1000).toFixed(1)} s`;
}

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('run the steps of .wasmci.yml (scans and plugin calls) in order; one set of reports, one exit code')
    .option('-c, --config <file>', 'the config file with a run: section', '.wasmci.yml')
    .option('--step <name>', 'run only this step (repeatable)', collect)
    .option('--fail-fast', 'stop at the first step that fails the run')
    .option('--no-redact', 'show secrets in full in the output and reports')
    .addOption(
      new Option('--log-level <level>', 'runner and plugin log level').choices([...LOG_LEVELS]).default('warn'),
    );
  addSourceOptions(cmd, { single: false });
  cmd.action(async (flags: RunFlags) => {
    const env = process.env;
    const cfg = await loadRunConfig(path.resolve(flags.config));
    const unknown = (flags.step ?? []).filter((n) => !cfg.steps.some((s) => s.name === n));
    if (unknown.length) {
      throw new UsageError(
        `--step ${unknown.join(', ')}: no such step in ${cfg.file}`,
        `steps: ${cfg.steps.map((s) => s.name).join(', ')}`,
      );
    }
    const steps = flags.step ? cfg.steps.filter((s) => flags.step?.includes(s.name)) : cfg.steps;
    // Paths in the config are relative to its directory, as GitLab's are to the project's.
    const cwd = process.cwd();
    process.chdir(path.dirname(cfg.file));
    const outcomes: Outcome[] = [];
    try {
      for (const step of steps) {
        const header = printable(
          `wasmci run: step ${step.name} (${step.kind === 'scan' ? `scan ${step.scan.path}` : `call ${step.call.function}`})`,
        );
        await writeStdout(sectionStart(step.name, header, env, false));
        const o = await runStep(step, cfg.file, flags);
        if (o.error)
          process.stderr.write(`${printable(maskSecrets(`wasmci: step ${step.name} failed: ${o.error}`))}\n`);
        await writeStdout(sectionEnd(step.name, env));
        outcomes.push(o);
        if (flags.failFast && o.code !== 0 && !step.allowFailure) break;
      }
      const results = outcomes.flatMap((o) => (o.result ? [o.result] : []));
      const opts = { redact: flags.redact, env };
      if (results.length) {
        for (const [format, file] of Object.entries(cfg.reports)) await writeReport(format, file, results, opts);
      }
      const mainReport = Object.values(cfg.reports)[0];
      await publishCi(results, { redact: flags.redact, env, reportFile: mainReport && path.resolve(mainReport) });
      const skipped = steps.length - outcomes.length;
      await writeStdout(
        `wasmci run: ${outcomes.length} step${outcomes.length === 1 ? '' : 's'}${skipped ? ` (${skipped} not run: --fail-fast)` : ''}\n` +
          `${outcomes.map(summaryLine).join('\n')}\n`,
      );
    } finally {
      process.chdir(cwd);
    }
    const counted = outcomes.filter((o) => !o.step.allowFailure).map((o) => o.code);
    const worst = [ExitCode.runtime, ExitCode.usage, ExitCode.findings].find((c) => counted.includes(c));
    process.exitCode = worst ?? ExitCode.ok;
  });
}
