/**
 * The sandbox policy: what a plugin is granted. Deny by default; every grant is explicit and validated here,
 * whatever flag syntax it came from (minism's --allow-paths JSON, the Extism CLI's --allow-path, .wasmci.yml).
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
export function parseAllowPathsJson(json: string, cwd?: string): Mount[] {
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
    const ro = guest.endsWith(':ro');
    return makeMount(host, ro ? guest.slice(0, -3) : guest, ro, cwd);
  });
}

/** Extism CLI form: `HOST:GUEST[:ro]` (GUEST defaults to HOST). */
export function parseAllowPath(spec: string, cwd?: string): Mount {
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
  const guest = idx > 0 ? rest.slice(idx + 1) : path.resolve(cwd ?? process.cwd(), rest);
  if (!host) throw new UsageError(`--allow-path ${spec}: missing host directory`, 'use HOST:GUEST[:ro]');
  return makeMount(host, guest, ro, cwd);
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
