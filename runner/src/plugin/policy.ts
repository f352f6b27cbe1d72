/**
 * The sandbox policy: what a plugin is granted. Deny by default; every grant is explicit and validated here,
 * whatever front end it came from (minism's --allow-paths JSON, the Extism CLI's --allow-path, a `.wasmci.yml`
 * step, a template input). Every front end maps to one `Grants` value, and `policyFrom()` is the only way from
 * grants to a SandboxPolicy. Adding a grant = a field in Grants, its enforcement (host.ts/worker.ts/wasi.ts), its
 * flag (cli/sandbox-options.ts) and, when a file may set it, its key (config/steps.ts).
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { LogLevel } from '../log.js';

export interface Mount {
  /** Absolute, symlink-free host directory. */
  host: string;
  /** Absolute guest path the plugin sees. */
  guest: string;
  readOnly: boolean;
}

/** A mount as written: the host directory not resolved yet (relative to the grant's base directory). */
export interface MountSpec {
  host: string;
  guest: string;
  readOnly: boolean;
}

export interface SandboxPolicy {
  mounts: Mount[];
  /** Host name patterns (`example.com`, `*.example.com`) the plugin may reach with Extism's http_request. */
  allowedHosts: string[];
  /** Print the plugin's WASI stdout/stderr on the runner's stderr (otherwise only at debug level). */
  wasiOutput: boolean;
  config: Record<string, string>;
  /** Wall-clock limit for one call. */
  timeoutMs: number;
  /** Cap on the plugin's linear memory and on the host blocks it may allocate. */
  memoryMaxBytes: number;
  /** Cap on one call's output. */
  outputMaxBytes: number;
  /** Cap on an http response body a granted plugin may read. */
  httpMaxBytes: number;
  logLevel: LogLevel;
  /** Cap on log bytes per call, so a plugin cannot flood the CI log. */
  logMaxBytes: number;
}

export const DEFAULT_POLICY: Readonly<SandboxPolicy> = Object.freeze({
  mounts: [],
  allowedHosts: [],
  wasiOutput: false,
  config: {},
  timeoutMs: 60_000,
  memoryMaxBytes: 256 * 1024 * 1024,
  outputMaxBytes: 64 * 1024 * 1024,
  httpMaxBytes: 16 * 1024 * 1024,
  logLevel: 'warn',
  logMaxBytes: 1024 * 1024,
});

export function policy(overrides: Partial<SandboxPolicy>): SandboxPolicy {
  return { ...DEFAULT_POLICY, ...overrides };
}

const MiB = 1024 * 1024;

/** What a plugin is given, in one vocabulary for every front end. Absent = the default (nothing, or the limit). */
export interface Grants {
  mounts?: MountSpec[];
  /** Host name patterns for http_request. */
  allowHosts?: string[];
  /** Host environment variables copied into the plugin config. */
  env?: string[];
  /** Print the plugin's WASI stdout/stderr raw on stderr. */
  wasiOutput?: boolean;
  /** The plugin's own settings (not access): merged under env copies. */
  config?: Record<string, string>;
  timeoutMs?: number;
  memoryMaxMiB?: number;
  maxOutputMiB?: number;
  logLevel?: LogLevel;
}

/**
 * The grants that widen what a plugin can reach or spend beyond the defaults: what a file from the checked-out
 * tree may not ask for. Plugin config and lower limits are not here: they cannot reach anything.
 */
export function wideningGrants(g: Grants, defaults: { timeoutMs: number }): string[] {
  const out: string[] = [];
  if (g.mounts?.length) out.push('allow_paths');
  if (g.allowHosts?.length) out.push('allow_hosts');
  if (g.env?.length) out.push('env');
  if (g.wasiOutput) out.push('wasi');
  if (g.timeoutMs !== undefined && g.timeoutMs > defaults.timeoutMs) out.push('timeout');
  if (g.memoryMaxMiB !== undefined && g.memoryMaxMiB * MiB > DEFAULT_POLICY.memoryMaxBytes) out.push('memory_max');
  if (g.maxOutputMiB !== undefined && g.maxOutputMiB * MiB > DEFAULT_POLICY.outputMaxBytes) out.push('max_output');
  return out;
}

/** Grants -> policy: mounts resolved against `cwd`, env copies taken from `env` (an unset variable is an error). */
export function policyFrom(g: Grants, ctx: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): SandboxPolicy {
  const mounts = (g.mounts ?? []).map((m) => makeMount(m.host, m.guest, m.readOnly, ctx.cwd));
  const guests = new Set<string>();
  for (const m of mounts) {
    if (guests.has(m.guest)) throw new UsageError(`two mounts use the guest path ${m.guest}`);
    guests.add(m.guest);
  }
  const config = { ...(g.config ?? {}) };
  for (const name of g.env ?? []) {
    const v = ctx.env[name];
    if (v === undefined) throw new UsageError(`env ${name}: the variable is not set in the environment`);
    config[name] = v;
  }
  return policy({
    mounts,
    allowedHosts: (g.allowHosts ?? []).map(parseAllowedHost),
    wasiOutput: !!g.wasiOutput,
    config,
    timeoutMs: g.timeoutMs ?? ctx.timeoutMs,
    memoryMaxBytes: Math.floor((g.memoryMaxMiB ?? DEFAULT_POLICY.memoryMaxBytes / MiB) * MiB),
    outputMaxBytes: Math.floor((g.maxOutputMiB ?? DEFAULT_POLICY.outputMaxBytes / MiB) * MiB),
    logLevel: g.logLevel ?? DEFAULT_POLICY.logLevel,
  });
}

/** Validates a host directory and guest path into a Mount. `host` is resolved against `cwd`. */
export function makeMount(host: string, guest: string, readOnly: boolean, cwd = process.cwd()): Mount {
  const abs = path.resolve(cwd, host);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    throw new UsageError(`mounted directory ${host} does not exist`, 'create it or fix the path in the mount grant');
  }
  if (!statSync(real).isDirectory()) {
    throw new UsageError(`mounted path ${host} is not a directory`, 'mount the directory that holds the file');
  }
  if (!guest.startsWith('/')) guest = `/${guest}`;
  const normGuest = path.posix.normalize(guest);
  if (normGuest.split('/').includes('..')) throw new UsageError(`guest path ${guest} must not contain ..`);
  return { host: real, guest: normGuest.length > 1 ? normGuest.replace(/\/$/, '') : normGuest, readOnly };
}

/** minism / simplism form: `{"hostDir": "/guestDir"}`. A guest value may end in `:ro`. */
export function parseAllowPathsJson(json: string): MountSpec[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new UsageError(
      `--allow-paths is not valid JSON: ${(err as Error).message}`,
      `expected an object mapping host directories to guest paths, e.g. '{"./data":"/mnt"}'`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError('--allow-paths must be a JSON object', `e.g. '{"./data":"/mnt"}'`);
  }
  return Object.entries(parsed as Record<string, unknown>).map(([host, guest]) => {
    if (typeof guest !== 'string') throw new UsageError(`--allow-paths: the guest path for ${host} must be a string`);
    return mountSpec(host, guest);
  });
}

/** One `host: guest[:ro]` entry (the --allow-paths JSON and a step's allow_paths map). */
export function mountSpec(host: string, guest: string): MountSpec {
  const ro = guest.endsWith(':ro');
  return { host, guest: ro ? guest.slice(0, -3) : guest, readOnly: ro };
}

/** Extism CLI form: `HOST:GUEST[:ro]` (GUEST defaults to HOST's absolute path). */
export function parseAllowPath(spec: string, cwd: string): MountSpec {
  let rest = spec;
  let ro = false;
  if (rest.endsWith(':ro')) {
    ro = true;
    rest = rest.slice(0, -3);
  } else if (rest.endsWith(':rw')) {
    rest = rest.slice(0, -3);
  }
  const idx = rest.lastIndexOf(':');
  const host = idx > 0 ? rest.slice(0, idx) : rest;
  const guest = idx > 0 ? rest.slice(idx + 1) : path.resolve(cwd, rest);
  if (!host) throw new UsageError(`--allow-path ${spec}: missing host directory`, 'use HOST:GUEST[:ro]');
  return { host, guest, readOnly: ro };
}

const HOST_PATTERN = /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$|^\*$/i;

export function parseAllowedHost(pattern: string): string {
  const p = pattern.trim().toLowerCase();
  if (!HOST_PATTERN.test(p) && !/^\d{1,3}(\.\d{1,3}){3}$/.test(p) && p !== '[::1]' && p !== '::1') {
    throw new UsageError(`--allow-host ${pattern} is not a host name pattern`, 'use example.com or *.example.com');
  }
  return p;
}

export function hostAllowed(hostname: string, patterns: readonly string[]): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return patterns.some((p) => {
    const q = p.replace(/^\[|\]$/g, '');
    if (q === '*') return true;
    if (q.startsWith('*.')) return h.endsWith(q.slice(1)) && h.length > q.length - 1;
    return h === q;
  });
}
