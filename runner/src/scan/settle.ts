/**
 * One scan request, settled once: flags (or a `wasmci run` step), the project config and the defaults become one
 * SettledScan that every later stage reads (ripgrep's `HiArgs` idea). Precedence: what the request says, then the
 * project config, then the defaults. Trust: a project config inside the checked-out tree may only narrow the scan
 * (globs, overrides, plugin config, threshold), and everything it sets is listed in `narrowing` so the caller can
 * print it; it never picks the plugin unless the request trusts it. Pure: no I/O, so unit tests cover every rule.
 */
import path from 'node:path';
import type { WasmciConfig } from '../config/index.js';
import type { FailOn, SeverityOverride } from '../core/model.js';
import { UsageError } from '../errors.js';
import { parseResolve } from '../plugin/http.js';
import type { Grants } from '../plugin/policy.js';
import type { PushRange } from './targets/patch.js';
import { type Shard, shardFrom } from './shard.js';
import { DEFAULT_ARCHIVE_DEPTH } from './targets/archive.js';

/** What the caller asks for; absent fields take the project config's value, then the default. */
export interface ScanRequest {
  /** Directory to scan, relative to `cwd`. */
  path: string;
  /** Base for every relative path in the request (the working directory, or a run config's directory). */
  cwd: string;
  plugin?: string;
  failOn?: FailOn;
  include?: string[];
  exclude?: string[];
  maxFileSizeMiB?: number;
  /** false: scan ignored files too. */
  gitignore?: boolean;
  /** A base revision, or true for CI_MERGE_REQUEST_DIFF_BASE_SHA. */
  diff?: string | true;
  /** A revision range, or true for HEAD. */
  history?: string | true;
  /** git log limits of a history scan (`--since=DATE`, `--until=DATE`, `--max-count=N`; gitlab-variables.ts). */
  historyLimits?: string[];
  /** The added lines of the index against HEAD (what the next commit adds). */
  staged?: boolean;
  /** The commits a push brings (git hooks build this from the ref updates git hands them). */
  push?: PushRange;
  baseline?: string;
  ignoreFile?: string;
  /** false: secrets in full in outputs. */
  redact?: boolean;
  jobs?: number;
  /** `INDEX/TOTAL`; default CI_NODE_INDEX/CI_NODE_TOTAL. */
  shard?: string;
  /** The project config file; default PATH/.wasmci.yml. */
  configFile?: string;
  grants: Grants;
  recycleAfterMiB?: number;
  /** Ask each finding's vendor whether the secret works (network: the plugin's declared verify hosts only). */
  verify?: boolean;
  /** Total time for verification, seconds. */
  verifyTimeoutS?: number;
  /** `HOST=BASE_URL` routes for verification (loopback bases only). */
  resolve?: string[];
  /** Keep only findings verified active (needs verify). */
  onlyVerified?: boolean;
  /** The request itself comes from a file in the checked-out tree (a `wasmci run` step of an untrusted config). */
  fromTree?: boolean;
  /** false: archives on disk are scanned as files (binary: skipped), not as their members. */
  archives?: boolean;
  /** How deep nested archives are opened (1: only archives in the tree, not archives inside them). */
  archiveDepth?: number;
}

export type ScanTarget =
  | { mode: 'files' }
  | { mode: 'diff'; base: string }
  | { mode: 'history'; range: string; limits?: string[] }
  | { mode: 'staged' }
  | ({ mode: 'push' } & PushRange);

/** Everything a scan needs to run, decided. */
export interface SettledScan {
  root: string;
  target: ScanTarget;
  failOn: FailOn;
  /** Plugin reference; `undefined`: the bundled secrets plugin. */
  plugin?: string;
  include: string[];
  exclude: string[];
  maxFileBytes: number;
  gitignore: boolean;
  jobs: number;
  shard?: Shard;
  overrides: SeverityOverride[];
  ignoreFile: { file: string; explicit: boolean };
  baseline?: string;
  redact: boolean;
  recycleBytes: number;
  /** Live verification, when asked for by the request or a trusted config. */
  verify?: VerifySettings;
  onlyVerified: boolean;
  /** Archives found on disk are scanned as members to this depth; 0: not opened. */
  archiveDepth: number;
  /** Plugin grants with the project's plugin config merged under the request's. */
  grants: Grants;
  /** What an untrusted project config changed, one phrase each, for a visible warning. */
  narrowing: string[];
  /** What an untrusted project config asked for and did not get. */
  refused: string[];
  /** Settings that were adjusted, for the log. */
  warnings: string[];
}

export interface VerifySettings {
  /** Total budget for every verification request. */
  budgetMs: number;
  /** Host -> loopback base URL. */
  resolve: Map<string, string>;
}

const MiB = 1024 * 1024;
export const DEFAULT_MAX_FILE_MIB = 10;
/** Default --verify-timeout: a few dozen distinct secrets at ~10/s per host fit with room for slow vendors. */
export const DEFAULT_VERIFY_TIMEOUT_S = 60;
/**
 * Default --jobs: the cores, up to this many. Each instance is a worker thread with its own V8 heap and plugin
 * memory (~50 MB while scanning): one per core on a 32-core runner would cost 1.6 GB. --jobs N lifts the cap.
 */
export const DEFAULT_MAX_JOBS = 4;
/**
 * The plugin's memory is bounded by the largest batch (its input buffer is reused), so recycling is a safety net
 * for plugins that leak, not a routine: each replacement costs a worker start-up and a plugin init.
 */
export const DEFAULT_RECYCLE_MIB = 1024;

/** The scan modes besides files, as flags: one scan reads one of them. */
const MODES = [
  ['--diff', (r: ScanRequest) => r.diff !== undefined],
  ['--history', (r: ScanRequest) => r.history !== undefined],
  ['--staged', (r: ScanRequest) => !!r.staged],
  ['a push', (r: ScanRequest) => r.push !== undefined],
] as const;

function settleTarget(req: ScanRequest, env: NodeJS.ProcessEnv): ScanTarget {
  const asked = MODES.filter(([, on]) => on(req)).map(([flag]) => flag);
  if (asked.length > 1) {
    throw new UsageError(
      `${asked.join(' and ')} cannot be combined: a scan reads one of them`,
      'a merge request pipeline uses --diff; a full audit --history; a pre-commit check --staged',
    );
  }
  if (req.staged) return { mode: 'staged' };
  if (req.push) return { mode: 'push', ...req.push };
  if (req.diff !== undefined) {
    const base = req.diff === true ? env.CI_MERGE_REQUEST_DIFF_BASE_SHA : req.diff;
    if (!base) {
      throw new UsageError(
        '--diff without a base needs CI_MERGE_REQUEST_DIFF_BASE_SHA (set in GitLab merge request pipelines)',
        'pass the base explicitly: --diff origin/main',
      );
    }
    return { mode: 'diff', base };
  }
  if (req.history !== undefined) {
    const range = req.history === true ? 'HEAD' : req.history;
    return { mode: 'history', range, ...(req.historyLimits?.length ? { limits: req.historyLimits } : {}) };
  }
  return { mode: 'files' };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** What an untrusted project config sets, in words ("exclude: 2 globs", "overrides: 3, 1 turning findings off"). */
function describeNarrowing(sc: WasmciConfig['scan'], req: ScanRequest): string[] {
  const out: string[] = [];
  if (sc.failOn && !req.failOn) out.push(`fail_on: ${sc.failOn}`);
  if (sc.include?.length) out.push(`include: ${plural(sc.include.length, 'glob')}`);
  if (sc.exclude?.length) out.push(`exclude: ${plural(sc.exclude.length, 'glob')} (${sc.exclude.join(', ')})`);
  if (sc.overrides?.length) {
    const off = sc.overrides.filter((o) => o.severity === 'off').length;
    out.push(`overrides: ${sc.overrides.length}${off ? `, ${off} turning findings off` : ''}`);
  }
  const keys = Object.keys(sc.pluginConfig ?? {}).filter((k) => req.grants.config?.[k] === undefined);
  if (keys.length) out.push(`plugin_config: ${keys.join(', ')}`);
  if (sc.maxFileSizeMiB && !req.maxFileSizeMiB) out.push(`max_file_size: ${sc.maxFileSizeMiB} MiB`);
  return out;
}

/**
 * Settles a request. `project` is the loaded project config (`file` undefined: none); `trusted` says whether that
 * file may choose the plugin (it lies outside the checked-out tree, or the pipeline said so with --trust-config).
 */
export function settleScan(
  req: ScanRequest,
  project: WasmciConfig,
  facts: { trusted: boolean; cores: number; env: NodeJS.ProcessEnv; memoryMaxBytes: number },
): SettledScan {
  const sc = project.scan;
  const root = path.resolve(req.cwd, req.path);
  const refused: string[] = [];
  let plugin = req.plugin;
  if (!plugin && sc.plugin) {
    if (facts.trusted) plugin = sc.plugin;
    else refused.push(`scan.plugin (${sc.plugin})`);
  }
  const warnings: string[] = [];
  let maxFileBytes = Math.floor((req.maxFileSizeMiB ?? sc.maxFileSizeMiB ?? DEFAULT_MAX_FILE_MIB) * MiB);
  // A file larger than the plugin's whole memory can never be scanned: skip it up front instead of reading and
  // copying it (hundreds of MB of host memory) only for the plugin to fail.
  if (maxFileBytes > facts.memoryMaxBytes) {
    warnings.push(
      `--max-file-size is over the plugin memory limit (${facts.memoryMaxBytes / MiB} MiB): larger files are skipped; raise --memory-max to scan them`,
    );
    maxFileBytes = facts.memoryMaxBytes;
  }
  const shard = shardFrom(req.shard, facts.env);
  // Verification sends found secrets to their vendors: only the pipeline (flags, template input, a trusted config)
  // may turn it on, never the checked-out tree's own config.
  let verifyOn = req.verify;
  if (verifyOn === undefined && sc.verify) {
    if (facts.trusted) verifyOn = true;
    else refused.push('scan.verify (live verification sends found secrets to their vendors)');
  }
  const resolve = new Map<string, string>();
  for (const spec of req.resolve ?? []) {
    const r = parseResolve(spec);
    if (typeof r === 'string') {
      throw new UsageError(`--resolve ${spec}: ${r}`, 'e.g. --resolve api.github.com=http://127.0.0.1:8080');
    }
    resolve.set(r[0], r[1]);
  }
  if (req.onlyVerified && !verifyOn) {
    throw new UsageError('--only-verified needs --verify', 'add --verify (live verification) or drop --only-verified');
  }
  if (req.verifyTimeoutS !== undefined && !(req.verifyTimeoutS > 0)) {
    throw new UsageError(`--verify-timeout must be a positive number of seconds, got ${req.verifyTimeoutS}`);
  }
  if (resolve.size && !verifyOn) warnings.push('--resolve has no effect without --verify: nothing is verified');
  const verify = verifyOn
    ? { budgetMs: Math.round((req.verifyTimeoutS ?? DEFAULT_VERIFY_TIMEOUT_S) * 1000), resolve }
    : undefined;
  return {
    root,
    target: settleTarget(req, facts.env),
    failOn: req.failOn ?? sc.failOn ?? 'low',
    ...(plugin ? { plugin } : {}),
    include: [...(sc.include ?? []), ...(req.include ?? [])],
    exclude: [...(sc.exclude ?? []), ...(req.exclude ?? [])],
    maxFileBytes,
    gitignore: req.gitignore ?? true,
    jobs: req.jobs ?? Math.min(facts.cores, DEFAULT_MAX_JOBS),
    ...(shard ? { shard } : {}),
    overrides: sc.overrides ?? [],
    ignoreFile: req.ignoreFile
      ? { file: path.resolve(req.cwd, req.ignoreFile), explicit: true }
      : { file: path.join(root, '.wasmciignore'), explicit: false },
    ...(req.baseline ? { baseline: path.resolve(req.cwd, req.baseline) } : {}),
    redact: req.redact ?? true,
    recycleBytes: (req.recycleAfterMiB ?? DEFAULT_RECYCLE_MIB) * MiB,
    ...(verify ? { verify } : {}),
    onlyVerified: !!req.onlyVerified,
    archiveDepth: req.archives === false ? 0 : (req.archiveDepth ?? DEFAULT_ARCHIVE_DEPTH),
    grants: { ...req.grants, config: { ...(sc.pluginConfig ?? {}), ...(req.grants.config ?? {}) } },
    narrowing: project.file && !facts.trusted ? describeNarrowing(sc, req) : [],
    refused,
    warnings,
  };
}
