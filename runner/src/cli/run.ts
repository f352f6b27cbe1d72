/**
 * `wasmci run [-c .wasmci.yml]`: the steps of the config's `run:` section, in order — scans (exactly what
 * `wasmci scan` does, with the step's settings as its flags) and plugin calls, each with its own grants — then
 * one set of reports for all scan steps, the CI integrations, a summary, and one exit code: the worst of the
 * steps that may fail the run (3 runtime > 2 usage > 1 findings > 0).
 * Step names, paths and functions come from the checked-out tree and results from plugins: each is printed
 * through printable() (log.ts), and a call step's answer shown in the log is escaped line by line.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, CommanderError, Option } from 'commander';
import { type CallStepSpec, loadRunConfig, type RunConfig, type Step } from '../config/steps.js';
import { writeFileAtomic } from '../core/atomic.js';
import { type Checkout, findCheckout, inCheckout } from '../core/checkout.js';
import type { ScanResult } from '../core/model.js';
import { ExitCode, exitCodeFor, PluginError, UsageError } from '../errors.js';
import { createLogger, type LogLevel, LOG_LEVELS, maskSecrets, printable, printableLines } from '../log.js';
import { compilePlugin, SandboxedPlugin } from '../plugin/host.js';
import { policyFrom, wideningGrants } from '../plugin/policy.js';
import { publishCi } from '../report/ci/index.js';
import { sectionEnd, sectionStart } from '../report/ci/gitlab.js';
import { renderReport, writeReport } from '../report/index.js';
import { colorFor } from '../report/text.js';
import { SCAN_TIMEOUT_MS, scan, scanExitCode } from '../scan/index.js';
import { createProgress } from '../scan/progress.js';
import { writeStdout } from './io.js';
import { checkStdoutReports, parseReports } from './scan.js';
import { addSourceOptions, loadPlugin, type SourceFlags } from './source-options.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const CALL_TIMEOUT_MS = 60_000;

const DEFAULT_CONFIG = '.wasmci.yml';

interface RunFlags extends SourceFlags {
  config?: string;
  redact: boolean;
  step?: string[];
  failFast?: boolean;
  trustConfig?: boolean;
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

/**
 * What a run config inside the checked-out tree asks for beyond narrowing a scan: a plugin of its choosing, grants,
 * limits over the defaults, files outside the tree. Such a file may have been written by a merge request; each item
 * needs the pipeline's consent (--trust-config). Pure, so the rules have unit tests.
 */
export function untrustedAsks(cfg: RunConfig, checkout: Checkout): string[] {
  const dir = path.dirname(cfg.file);
  const outside = (what: string, p: string | undefined) =>
    p !== undefined && !inCheckout(checkout, path.resolve(dir, p))
      ? [`${what} ${p} is outside the checked-out tree`]
      : [];
  const asks: string[] = [];
  for (const [format, file] of Object.entries(cfg.reports)) asks.push(...outside(`run.reports.${format}`, file));
  for (const step of cfg.steps) {
    const at = `${step.where} (step ${step.name})`;
    const own: string[] = [];
    const timeoutMs = step.kind === 'scan' ? SCAN_TIMEOUT_MS : CALL_TIMEOUT_MS;
    const widening = wideningGrants(step.grants, { timeoutMs });
    if (widening.length) own.push(`grants ${widening.join(', ')}`);
    if (step.kind === 'call') own.push(`runs plugin ${step.call.plugin}`);
    else {
      if (step.scan.plugin) own.push(`chooses plugin ${step.scan.plugin}`);
      if (step.scan.verify) own.push('turns on verify (network to vendors)');
      own.push(...outside('path', step.scan.path));
      own.push(...outside('baseline', step.scan.baseline));
      own.push(...outside('ignore_file', step.scan.ignoreFile));
    }
    for (const [format, file] of Object.entries(step.reports)) own.push(...outside(`reports.${format}`, file));
    asks.push(...own.map((o) => `${at}: ${o}`));
  }
  return asks;
}

function errorText(err: unknown): string {
  if (err instanceof CommanderError) return err.message.replace(/^error: /, '');
  const e = err as Error & { hint?: string; kind?: string };
  const label = err instanceof PluginError ? `plugin error (${e.kind}): ` : '';
  return `${label}${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}`;
}

/** A scan step is exactly `wasmci scan` with the step's settings: the same request, settled the same way. */
async function runScanStep(
  step: Step & { kind: 'scan' },
  cfg: RunConfig,
  flags: RunFlags,
  trusted: boolean,
): Promise<Outcome> {
  const started = Date.now();
  const sc = step.scan;
  const cwd = path.dirname(cfg.file);
  const log = createLogger(flags.logLevel);
  const result = await scan(
    {
      ...sc,
      cwd,
      configFile: cfg.file,
      redact: flags.redact,
      grants: { ...step.grants, logLevel: flags.logLevel },
      fromTree: !trusted,
    },
    {
      log,
      env: process.env,
      loadPlugin: async (ref) => (await loadPlugin(ref, flags, log)).bytes,
      progress: createProgress({ tty: !!process.stderr.isTTY, ci: process.env.CI === 'true' }),
      trustConfig: trusted,
    },
  );
  const opts = { redact: flags.redact, env: process.env };
  // The step's findings reach the log (inside its section) before any report is written.
  await writeStdout(renderReport('text', result, { ...opts, color: colorFor(process.stdout, process.env) }));
  const checkout = findCheckout(process.env, cwd, [path.resolve(cwd, sc.path)]);
  for (const r of parseReports(step.reports, cwd))
    await writeReport(r.format, r.file, result, opts, { checkout, toStdout: writeStdout });
  return { step, code: scanExitCode(result), durationMs: Date.now() - started, result };
}

async function callInput(c: CallStepSpec, cwd: string): Promise<Uint8Array> {
  if (c.input !== undefined) return new TextEncoder().encode(c.input);
  if (c.inputFile === undefined) return new Uint8Array(0);
  try {
    return await readFile(path.resolve(cwd, c.inputFile));
  } catch (err) {
    throw new UsageError(`input_file ${c.inputFile} cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
}

/** A call step is `wasmci call` with an optional output file (written atomically). */
async function runCallStep(step: Step & { kind: 'call' }, cfg: RunConfig, flags: RunFlags): Promise<Outcome> {
  const started = Date.now();
  const cwd = path.dirname(cfg.file);
  const c = step.call;
  const log = createLogger(flags.logLevel);
  const grants = { ...step.grants, logLevel: flags.logLevel };
  const policy = policyFrom(grants, { cwd, env: process.env, timeoutMs: CALL_TIMEOUT_MS });
  const input = await callInput(c, cwd);
  const resolved = await loadPlugin(c.plugin, flags, log);
  const plugin = await SandboxedPlugin.start(await compilePlugin(resolved.bytes, policy), policy, log, step.name);
  try {
    const out = await plugin.call(c.function, input);
    if (c.output) await writeFileAtomic(path.resolve(cwd, c.output), out);
    else if (out.length) await writeStdout(`${printableLines(new TextDecoder().decode(out).replace(/\r?\n$/, ''))}\n`);
  } finally {
    await plugin.close();
  }
  return { step, code: ExitCode.ok, durationMs: Date.now() - started };
}

async function runStep(step: Step, cfg: RunConfig, flags: RunFlags, trusted: boolean): Promise<Outcome> {
  const started = Date.now();
  try {
    return step.kind === 'scan' ? await runScanStep(step, cfg, flags, trusted) : await runCallStep(step, cfg, flags);
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
    .option('-c, --config <file>', 'the config file with a run: section (default: ./.wasmci.yml)')
    .option('--step <name>', 'run only this step (repeatable)', collect)
    .option('--fail-fast', 'stop at the first step that fails the run')
    .option('--no-redact', 'show secrets in full in the output and reports')
    .option(
      '--trust-config',
      'the config may choose plugins and grant them access although it lies in the checked-out tree (only where a merge request cannot change it)',
    )
    .addOption(
      new Option('--log-level <level>', 'runner and plugin log level').choices([...LOG_LEVELS]).default('warn'),
    );
  addSourceOptions(cmd, { single: false });
  cmd.action(async (flags: RunFlags) => {
    const env = process.env;
    const cfg = await loadRunConfig(path.resolve(flags.config ?? DEFAULT_CONFIG));
    const unknown = (flags.step ?? []).filter((n) => !cfg.steps.some((s) => s.name === n));
    if (unknown.length) {
      throw new UsageError(
        `--step ${unknown.join(', ')}: no such step in ${cfg.file}`,
        `steps: ${cfg.steps.map((s) => s.name).join(', ')}`,
      );
    }
    const steps = flags.step ? cfg.steps.filter((s) => flags.step?.includes(s.name)) : cfg.steps;
    // The trees the steps read are hostile; a config inside one of them (or inside the CI project) is too.
    const scanned = steps.flatMap((s) =>
      s.kind === 'scan' ? [path.resolve(path.dirname(cfg.file), s.scan.path)] : [],
    );
    const checkout = findCheckout(env, process.cwd(), scanned);
    // The default ./.wasmci.yml is the project's own file, whatever directory this is; a file the pipeline names
    // with -c is trusted only when it lies outside every checked-out tree.
    const trusted = !!flags.trustConfig || (flags.config !== undefined && !inCheckout(checkout, cfg.file));
    if (!trusted) {
      // Confined to the tree the file came from: its own scan paths must not widen what counts as "inside".
      const asks = untrustedAsks({ ...cfg, steps }, findCheckout(env, process.cwd(), [path.dirname(cfg.file)]));
      if (asks.length) {
        throw new UsageError(
          `${printable(cfg.file)} is in the checked-out tree, which may only narrow a scan (a merge request can change it); it asks for more: ${asks.map(printable).join('; ')}`,
          'run with --trust-config only where this file cannot come from a merge request (e.g. protected-branch pipelines), or give the grants as flags in the pipeline definition (wasmci call/scan)',
        );
      }
    }
    // Paths in the config are relative to its directory, as GitLab's are to the project's.
    const cwd = path.dirname(cfg.file);
    const outcomes: Outcome[] = [];
    for (const step of steps) {
      const header = printable(
        `wasmci run: step ${step.name} (${step.kind === 'scan' ? `scan ${step.scan.path}` : `call ${step.call.function}`})`,
      );
      await writeStdout(sectionStart(step.name, header, env, false));
      const o = await runStep(step, cfg, flags, trusted);
      if (o.error) process.stderr.write(`${printable(maskSecrets(`wasmci: step ${step.name} failed: ${o.error}`))}\n`);
      await writeStdout(sectionEnd(step.name, env));
      outcomes.push(o);
      if (flags.failFast && o.code !== 0 && !step.allowFailure) break;
    }
    const results = outcomes.flatMap((o) => (o.result ? [o.result] : []));
    const opts = { redact: flags.redact, env };
    const skipped = steps.length - outcomes.length;
    await writeStdout(
      `wasmci run: ${outcomes.length} step${outcomes.length === 1 ? '' : 's'}${skipped ? ` (${skipped} not run: --fail-fast)` : ''}\n` +
        `${outcomes.map(summaryLine).join('\n')}\n`,
    );
    const reports = parseReports(cfg.reports, cwd);
    checkStdoutReports(reports);
    if (results.length)
      for (const r of reports) await writeReport(r.format, r.file, results, opts, { checkout, toStdout: writeStdout });
    await publishCi(results, { ...opts, reportFile: reports[0]?.file });
    const counted = outcomes.filter((o) => !o.step.allowFailure).map((o) => o.code);
    const worst = [ExitCode.runtime, ExitCode.usage, ExitCode.findings].find((c) => counted.includes(c));
    process.exitCode = worst ?? ExitCode.ok;
  });
}
