/**
 * The grant and limit flags every command that runs a plugin accepts (call, scan), mapped once into `Grants`
 * (plugin/policy.ts), the vocabulary `.wasmci.yml` steps map into too. Flag values are validated here, with messages
 * that name the flag.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { UsageError } from '../errors.js';
import { isLogLevel, LOG_LEVELS } from '../log.js';
import { type Grants, type MountSpec, parseAllowPath, parseAllowPathsJson } from '../plugin/policy.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export interface SandboxFlags {
  allowPaths?: string;
  allowPath?: string[];
  allowHost?: string[];
  wasi?: boolean;
  config?: string[];
  configJson?: string;
  configFrom?: string[];
  env?: string[];
  timeout?: string;
  memoryMax?: string;
  maxOutput?: string;
  logLevel?: string;
}

export function addSandboxOptions(cmd: Command, defaults: { timeoutMs: number }): Command {
  return cmd
    .option(
      '--allow-paths <json>',
      'mount host directories, minism form: \'{"./hostDir":"/guestDir"}\' (":ro" suffix on the guest for read-only)',
    )
    .option('--allow-path <host:guest[:ro]>', 'mount a host directory, Extism CLI form (repeatable)', collect)
    .option(
      '--allow-host <pattern>',
      'let the plugin reach this host with http_request, e.g. api.example.com or *.example.com (repeatable)',
      collect,
    )
    .option('--wasi', "show the plugin's WASI stdout/stderr on stderr (files still need a mount)")
    .option('--config <key=value>', 'plugin config entry (repeatable)', collect)
    .option('--config-json <json>', 'plugin config as a JSON object')
    .option('--config-from <key=file>', "plugin config entry whose value is a file's contents (repeatable)", collect)
    .option('--env <VAR>', 'copy host environment variable VAR into the plugin config (repeatable)', collect)
    .option('--timeout <ms>', 'wall-clock limit per plugin call', String(defaults.timeoutMs))
    .option('--memory-max <MiB>', "cap on the plugin's memory", '256')
    .option('--max-output <MiB>', "cap on one call's output", '64')
    .addOption(
      new Option('--log-level <level>', 'runner and plugin log level').choices([...LOG_LEVELS]).default('warn'),
    );
}

function positiveNumber(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got "${v}"`);
  return n;
}

/** The plugin config flags, merged: --config-json, then --config KEY=VALUE, then --config-from KEY=FILE. */
export function parseConfig(flags: Pick<SandboxFlags, 'config' | 'configJson' | 'configFrom'>): Record<string, string> {
  const config: Record<string, string> = {};
  if (flags.configJson) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(flags.configJson);
    } catch (err) {
      throw new UsageError(
        `--config-json is not valid JSON: ${(err as Error).message}`,
        `e.g. --config-json '{"key":"value"}'`,
      );
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new UsageError('--config-json must be a JSON object');
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      config[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
  }
  for (const kv of flags.config ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`--config ${kv} is not KEY=VALUE`, 'e.g. --config level=high');
    config[kv.slice(0, i)] = kv.slice(i + 1);
  }
  for (const kf of flags.configFrom ?? []) {
    const i = kf.indexOf('=');
    if (i <= 0)
      throw new UsageError(`--config-from ${kf} is not KEY=FILE`, 'e.g. --config-from gitleaks_config=.gitleaks.toml');
    try {
      config[kf.slice(0, i)] = readFileSync(kf.slice(i + 1), 'utf8');
    } catch (err) {
      throw new UsageError(`--config-from ${kf}: the file cannot be read (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  return config;
}

/** The flags as Grants; mount hosts stay relative (policyFrom resolves them against the working directory). */
export function grantsFromFlags(flags: SandboxFlags, cwd = process.cwd()): Grants {
  const mounts: MountSpec[] = [];
  if (flags.allowPaths) mounts.push(...parseAllowPathsJson(flags.allowPaths));
  for (const spec of flags.allowPath ?? []) mounts.push(parseAllowPath(spec, cwd));
  const logLevel = flags.logLevel ?? 'warn';
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const g: Grants = { config: parseConfig(flags), logLevel };
  if (mounts.length) g.mounts = mounts;
  if (flags.allowHost?.length) g.allowHosts = flags.allowHost;
  if (flags.env?.length) g.env = flags.env;
  if (flags.wasi) g.wasiOutput = true;
  const timeoutMs = positiveNumber('--timeout', flags.timeout);
  const memoryMaxMiB = positiveNumber('--memory-max', flags.memoryMax);
  const maxOutputMiB = positiveNumber('--max-output', flags.maxOutput);
  if (timeoutMs !== undefined) g.timeoutMs = timeoutMs;
  if (memoryMaxMiB !== undefined) g.memoryMaxMiB = memoryMaxMiB;
  if (maxOutputMiB !== undefined) g.maxOutputMiB = maxOutputMiB;
  return g;
}
