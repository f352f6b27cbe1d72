/**
 * `.wasmci.yml`: project settings for scans, validated at load with errors that point at file:line:column.
 *
 *   scan:
 *     plugin: plugins/secrets.wasm      # plugin reference (default: the bundled secrets plugin)
 *     plugin_config: { disable: generic-api-key }
 *     fail_on: high                     # critical | high | medium | low | none
 *     max_file_size: 5                  # MiB
 *     include: ["src/**"]
 *     exclude: ["**\/testdata/**"]
 *     overrides:                        # the last matching entry wins
 *       - { path: "test/**", severity: low }
 *       - { rule: generic-api-key, severity: off }   # off: drop these findings
 *       - { path: "docs/**", rule: jwt, severity: info }
 *     verify: true                      # live verification; counts only from a trusted config (see settle.ts)
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml';
import { type At, parseYamlDocument } from './yaml-doc.js';
import { UsageError } from '../errors.js';
import { FAIL_ON, type FailOn, SEVERITIES, type SeverityOverride } from '../core/model.js';

export interface ScanConfig {
  plugin?: string;
  pluginConfig?: Record<string, string>;
  failOn?: FailOn;
  maxFileSizeMiB?: number;
  include?: string[];
  exclude?: string[];
  overrides?: SeverityOverride[];
  /** Live verification (network): honoured only when the config is trusted. */
  verify?: boolean;
}

export interface WasmciConfig {
  /** Where the config came from (undefined: no config file). */
  file?: string;
  scan: ScanConfig;
}

export const CONFIG_NAMES = ['.wasmci.yml', '.wasmci.yaml'];

function scalar(at: At, node: unknown, what: string): unknown {
  if (!isScalar(node)) throw at.error(node as Node, `${what} must be a single value`);
  return node.value;
}

function stringValue(at: At, node: unknown, what: string): string {
  const v = scalar(at, node, what);
  if (typeof v !== 'string' || v === '') throw at.error(node as Node, `${what} must be a non-empty string`);
  return v;
}

function glob(at: At, node: unknown, what: string): string {
  const g = stringValue(at, node, what);
  try {
    picomatch(g);
  } catch (err) {
    throw at.error(node as Node, `${what} is not a valid glob: ${(err as Error).message}`);
  }
  return g;
}

function globList(at: At, node: unknown, what: string): string[] {
  if (!isSeq(node))
    throw at.error(node as Node, `${what} must be a list of glob patterns`, `e.g. ${what}: ["vendor/**"]`);
  return node.items.map((item, i) => glob(at, item, `${what}[${i}]`));
}

function oneOf<T extends string>(at: At, node: unknown, what: string, choices: readonly T[]): T {
  const v = scalar(at, node, what);
  const s = typeof v === 'string' ? v.toLowerCase() : v === false ? 'off' : v;
  if (!(choices as readonly unknown[]).includes(s))
    throw at.error(node as Node, `${what} must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
  return s as T;
}

function keys(at: At, map: YAMLMap, what: string, allowed: string[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const pair of map.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (k === undefined || !allowed.includes(k)) {
      throw at.error(
        pair.key as Node,
        `unknown key ${JSON.stringify(k)} in ${what}`,
        `allowed keys: ${allowed.join(', ')}`,
      );
    }
    out.set(k, pair.value);
  }
  return out;
}

function parseScan(at: At, node: unknown): ScanConfig {
  if (!isMap(node)) throw at.error(node as Node, '"scan" must be a mapping');
  const k = keys(at, node, '"scan"', [
    'plugin',
    'plugin_config',
    'fail_on',
    'max_file_size',
    'include',
    'exclude',
    'overrides',
    'verify',
  ]);
  const cfg: ScanConfig = {};
  if (k.has('verify')) {
    const n = k.get('verify');
    if (!isScalar(n) || typeof n.value !== 'boolean') throw at.error(n as Node, 'scan.verify must be true or false');
    cfg.verify = n.value;
  }
  if (k.has('plugin')) cfg.plugin = stringValue(at, k.get('plugin'), 'scan.plugin');
  if (k.has('fail_on')) cfg.failOn = oneOf(at, k.get('fail_on'), 'scan.fail_on', FAIL_ON);
  if (k.has('max_file_size')) {
    const n = k.get('max_file_size');
    const v = scalar(at, n, 'scan.max_file_size');
    if (typeof v !== 'number' || !(v > 0))
      throw at.error(n as Node, 'scan.max_file_size must be a positive number of MiB');
    cfg.maxFileSizeMiB = v;
  }
  if (k.has('include')) cfg.include = globList(at, k.get('include'), 'scan.include');
  if (k.has('exclude')) cfg.exclude = globList(at, k.get('exclude'), 'scan.exclude');
  if (k.has('plugin_config')) {
    const n = k.get('plugin_config');
    if (!isMap(n)) throw at.error(n as Node, 'scan.plugin_config must be a mapping of keys to values');
    cfg.pluginConfig = {};
    for (const pair of n.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const val = pair.value;
      cfg.pluginConfig[key] = isScalar(val)
        ? String(val.value)
        : JSON.stringify((val as Node | null)?.toJSON?.() ?? null);
    }
  }
  if (k.has('overrides')) {
    const n = k.get('overrides');
    if (!isSeq(n)) throw at.error(n as Node, 'scan.overrides must be a list of {path?, rule?, severity}');
    cfg.overrides = n.items.map((item, i) => {
      const what = `scan.overrides[${i}]`;
      if (!isMap(item)) throw at.error(item as Node, `${what} must be a mapping with path and/or rule, and severity`);
      const o = keys(at, item, what, ['path', 'rule', 'severity']);
      if (!o.has('severity'))
        throw at.error(item as Node, `${what} has no "severity"`, `one of ${[...SEVERITIES, 'off'].join(', ')}`);
      if (!o.has('path') && !o.has('rule')) throw at.error(item as Node, `${what} needs "path" or "rule" (or both)`);
      const ov: SeverityOverride = {
        severity: oneOf(at, o.get('severity'), `${what}.severity`, [...SEVERITIES, 'off']),
      };
      if (o.has('path')) ov.path = glob(at, o.get('path'), `${what}.path`);
      if (o.has('rule')) ov.rule = stringValue(at, o.get('rule'), `${what}.rule`);
      return ov;
    });
  }
  return cfg;
}

export function parseConfig(text: string, file: string): WasmciConfig {
  const { doc, at } = parseYamlDocument(text, file);
  if (doc.contents === null) return { file, scan: {} };
  if (!isMap(doc.contents)) throw at.error(doc.contents, 'the config must be a mapping (e.g. "scan:" at the top)');
  const top = keys(at, doc.contents, 'the config', ['version', 'scan', 'plugins', 'sources', 'run']);
  if (top.has('version')) {
    const v = scalar(at, top.get('version'), 'version');
    if (v !== 1) throw at.error(top.get('version') as Node, `version must be 1, got ${JSON.stringify(v)}`);
  }
  return { file, scan: top.has('scan') ? parseScan(at, top.get('scan')) : {} };
}

/** Loads `explicit` (an error if missing) or the first of CONFIG_NAMES in `root` (none is fine). */
export async function loadConfig(root: string, explicit?: string): Promise<WasmciConfig> {
  const candidates = explicit ? [explicit] : CONFIG_NAMES.map((n) => path.join(root, n));
  for (const file of candidates) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!explicit && code === 'ENOENT') continue;
      throw new UsageError(
        `config file ${file} cannot be read (${code})`,
        explicit ? 'check the --config path' : undefined,
      );
    }
    return parseConfig(text, file);
  }
  return { scan: {} };
}
