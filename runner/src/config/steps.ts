/**
 * The `run:` section of `.wasmci.yml`: the steps `wasmci run` executes in order, and the reports it writes for
 * all scan steps together. Validated here, with errors that point at file:line:column. (The rest of the file is
 * config/index.ts's; it accepts `run:` and leaves it to this module.)
 *
 *   run:
 *     reports: { gitlab: gl-secret-detection-report.json, sarif: wasmci.sarif }   # all scan steps in one
 *     steps:
 *       - name: secrets                      # optional, unique; default: scan-1, call-2, ...
 *         scan: { path: ., plugin: secrets@1.2.0, fail_on: high, diff: true }
 *         reports: { codequality: gl-code-quality-report.json }                     # this step only
 *       - name: todo
 *         scan: { path: src, plugin: examples/as-todo-plugin/dist/todo.wasm, fail_on: none }
 *         config: { forbidden_words: "DO NOT MERGE" }
 *         allow_failure: true                 # its findings and errors do not fail the run
 *       - name: lint-config
 *         call: { plugin: ./lint.wasm, function: check, input_file: config.json, output: lint.json }
 *         allow_paths: { ./config: /config:ro }
 *         allow_hosts: [api.example.com]
 *         timeout: 30000
 */
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, type YAMLMap } from 'yaml';
import { type At, parseYamlDocument } from './yaml-doc.js';
import { UsageError } from '../errors.js';
import { type Grants, mountSpec } from '../plugin/policy.js';
import { reportFormats } from '../report/index.js';
import { FAIL_ON, type FailOn } from '../core/model.js';

export interface ScanStepSpec {
  path: string;
  plugin?: string;
  failOn?: FailOn;
  diff?: string | true;
  history?: string | true;
  include?: string[];
  exclude?: string[];
  baseline?: string;
  ignoreFile?: string;
  maxFileSizeMiB?: number;
  jobs?: number;
  /** Live verification: network to the plugin's verify hosts, so a tree config may not ask for it. */
  verify?: boolean;
}

export interface CallStepSpec {
  plugin: string;
  function: string;
  input?: string;
  inputFile?: string;
  /** File for the raw output (default: stdout). */
  output?: string;
}

interface StepBase {
  name: string;
  /** Where the step starts in the config, for messages ("file:line"). */
  where: string;
  /** What the step's plugin is granted; mount hosts relative to the config file's directory. */
  grants: Grants;
  /** format -> file, for this step alone (scan steps). */
  reports: Record<string, string>;
  allowFailure: boolean;
}

export type Step =
  | (StepBase & { kind: 'scan'; scan: ScanStepSpec })
  | (StepBase & { kind: 'call'; call: CallStepSpec });

export interface RunConfig {
  file: string;
  steps: Step[];
  /** format -> file, all scan steps in one report. */
  reports: Record<string, string>;
}

const STEP_KEYS = [
  'name',
  'scan',
  'call',
  'reports',
  'allow_failure',
  'config',
  'env',
  'allow_hosts',
  'allow_paths',
  'wasi',
  'timeout',
  'memory_max',
  'max_output',
];
const SCAN_KEYS = [
  'path',
  'plugin',
  'fail_on',
  'diff',
  'history',
  'include',
  'exclude',
  'baseline',
  'ignore_file',
  'max_file_size',
  'jobs',
  'verify',
];
const CALL_KEYS = ['plugin', 'function', 'input', 'input_file', 'output'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function keys(at: At, node: unknown, what: string, allowed: string[]): Map<string, unknown> {
  if (!isMap(node)) throw at.error(node, `${what} must be a mapping`);
  const out = new Map<string, unknown>();
  for (const pair of (node as YAMLMap).items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (k === undefined || !allowed.includes(k)) {
      throw at.error(pair.key, `unknown key ${JSON.stringify(k)} in ${what}`, `allowed keys: ${allowed.join(', ')}`);
    }
    out.set(k, pair.value);
  }
  return out;
}

function str(at: At, node: unknown, what: string): string {
  if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number') || node.value === '') {
    throw at.error(node, `${what} must be a non-empty string`);
  }
  return String(node.value);
}

function bool(at: At, node: unknown, what: string): boolean {
  if (!isScalar(node) || typeof node.value !== 'boolean') throw at.error(node, `${what} must be true or false`);
  return node.value;
}

function positive(at: At, node: unknown, what: string, integer = false): number {
  const v = isScalar(node) ? node.value : undefined;
  if (typeof v !== 'number' || !(v > 0) || (integer && !Number.isInteger(v))) {
    throw at.error(node, `${what} must be a positive ${integer ? 'whole number' : 'number'}`);
  }
  return v;
}

function strList(at: At, node: unknown, what: string): string[] {
  if (!isSeq(node)) throw at.error(node, `${what} must be a list`, `e.g. ${what}: ["a", "b"]`);
  return node.items.map((n, i) => str(at, n, `${what}[${i}]`));
}

function strMap(at: At, node: unknown, what: string): Record<string, string> {
  if (!isMap(node)) throw at.error(node, `${what} must be a mapping`);
  const out: Record<string, string> = {};
  for (const pair of node.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!k) throw at.error(pair.key, `${what} has an empty key`);
    out[k] = str(at, pair.value, `${what}.${k}`);
  }
  return out;
}

/** `diff: true` (the CI base) or `diff: origin/main`. */
function refOrTrue(at: At, node: unknown, what: string): string | true {
  if (isScalar(node) && node.value === true) return true;
  return str(at, node, what);
}

function reports(at: At, node: unknown, what: string): Record<string, string> {
  const map = strMap(at, node, what);
  const formats = reportFormats();
  for (const f of Object.keys(map)) {
    if (!formats.includes(f)) {
      const pair = (node as YAMLMap).items.find((p) => isScalar(p.key) && p.key.value === f);
      throw at.error(pair?.key, `${what}: unknown report format "${f}"`, `use one of: ${formats.join(', ')}`);
    }
  }
  return map;
}

function grants(at: At, k: Map<string, unknown>, what: string): Grants {
  const g: Grants = {};
  if (k.has('config')) {
    const n = k.get('config');
    if (!isMap(n)) throw at.error(n, `${what}.config must be a mapping of plugin config keys to values`);
    // Plugin config values are strings (Extism's config is string -> string): structures travel as JSON.
    g.config = Object.fromEntries(
      Object.entries((n as YAMLMap).toJSON() as Record<string, unknown>).map(([key, v]) => [
        key,
        typeof v === 'string' ? v : JSON.stringify(v),
      ]),
    );
  }
  if (k.has('env')) g.env = strList(at, k.get('env'), `${what}.env`);
  if (k.has('allow_hosts')) g.allowHosts = strList(at, k.get('allow_hosts'), `${what}.allow_hosts`);
  if (k.has('allow_paths')) {
    g.mounts = Object.entries(strMap(at, k.get('allow_paths'), `${what}.allow_paths`)).map(([host, guest]) =>
      mountSpec(host, guest),
    );
  }
  if (k.has('wasi')) g.wasiOutput = bool(at, k.get('wasi'), `${what}.wasi`);
  if (k.has('timeout')) g.timeoutMs = positive(at, k.get('timeout'), `${what}.timeout (ms)`);
  if (k.has('memory_max')) g.memoryMaxMiB = positive(at, k.get('memory_max'), `${what}.memory_max (MiB)`);
  if (k.has('max_output')) g.maxOutputMiB = positive(at, k.get('max_output'), `${what}.max_output (MiB)`);
  return g;
}

function scanSpec(at: At, node: unknown, what: string): ScanStepSpec {
  const k = keys(at, node, what, SCAN_KEYS);
  const s: ScanStepSpec = { path: k.has('path') ? str(at, k.get('path'), `${what}.path`) : '.' };
  if (k.has('plugin')) s.plugin = str(at, k.get('plugin'), `${what}.plugin`);
  if (k.has('fail_on')) {
    const n = k.get('fail_on');
    const v = isScalar(n) ? String(n.value).toLowerCase() : '';
    if (!(FAIL_ON as readonly string[]).includes(v))
      throw at.error(n, `${what}.fail_on must be one of ${FAIL_ON.join(', ')}`);
    s.failOn = v as FailOn;
  }
  if (k.has('diff')) s.diff = refOrTrue(at, k.get('diff'), `${what}.diff`);
  if (k.has('history')) s.history = refOrTrue(at, k.get('history'), `${what}.history`);
  if (s.diff !== undefined && s.history !== undefined) {
    throw at.error(
      node,
      `${what} has both diff and history`,
      'a merge request pipeline uses diff; a full audit history',
    );
  }
  if (k.has('include')) s.include = strList(at, k.get('include'), `${what}.include`);
  if (k.has('exclude')) s.exclude = strList(at, k.get('exclude'), `${what}.exclude`);
  if (k.has('baseline')) s.baseline = str(at, k.get('baseline'), `${what}.baseline`);
  if (k.has('ignore_file')) s.ignoreFile = str(at, k.get('ignore_file'), `${what}.ignore_file`);
  if (k.has('max_file_size')) s.maxFileSizeMiB = positive(at, k.get('max_file_size'), `${what}.max_file_size (MiB)`);
  if (k.has('jobs')) s.jobs = positive(at, k.get('jobs'), `${what}.jobs`, true);
  if (k.has('verify')) s.verify = bool(at, k.get('verify'), `${what}.verify`);
  return s;
}

function callSpec(at: At, node: unknown, what: string): CallStepSpec {
  const k = keys(at, node, what, CALL_KEYS);
  if (!k.has('plugin') || !k.has('function')) {
    throw at.error(
      node,
      `${what} needs "plugin" and "function"`,
      'e.g. call: { plugin: ./lint.wasm, function: check }',
    );
  }
  const c: CallStepSpec = {
    plugin: str(at, k.get('plugin'), `${what}.plugin`),
    function: str(at, k.get('function'), `${what}.function`),
  };
  if (k.has('input') && k.has('input_file')) throw at.error(node, `${what}: give input or input_file, not both`);
  if (k.has('input')) {
    const n = k.get('input');
    if (!isScalar(n) || typeof n.value !== 'string') throw at.error(n, `${what}.input must be a string`);
    c.input = n.value;
  }
  if (k.has('input_file')) c.inputFile = str(at, k.get('input_file'), `${what}.input_file`);
  if (k.has('output')) c.output = str(at, k.get('output'), `${what}.output`);
  return c;
}

function step(at: At, node: unknown, index: number): Step {
  const what = `run.steps[${index}]`;
  const k = keys(at, node, what, STEP_KEYS);
  const kinds = ['scan', 'call'].filter((x) => k.has(x));
  if (kinds.length !== 1) {
    throw at.error(node, `${what} needs exactly one of "scan" or "call"`, 'e.g. - scan: { path: . }');
  }
  const kind = kinds[0] as 'scan' | 'call';
  const name = k.has('name') ? str(at, k.get('name'), `${what}.name`) : `${kind}-${index + 1}`;
  if (!NAME.test(name)) {
    throw at.error(k.get('name'), `${what}.name "${name}" must be letters, digits, ".", "_" or "-" (at most 63)`);
  }
  const base: StepBase = {
    name,
    where: at.where(node).replace(/:\d+$/, ''),
    grants: grants(at, k, what),
    reports: k.has('reports') ? reports(at, k.get('reports'), `${what}.reports`) : {},
    allowFailure: k.has('allow_failure') ? bool(at, k.get('allow_failure'), `${what}.allow_failure`) : false,
  };
  if (kind === 'call') {
    if (k.has('reports')) throw at.error(k.get('reports'), `${what}: a call step has no reports (only scan steps do)`);
    return { ...base, kind, call: callSpec(at, k.get('call'), `${what}.call`) };
  }
  return { ...base, kind, scan: scanSpec(at, k.get('scan'), `${what}.scan`) };
}

export function parseRunConfig(text: string, file: string): RunConfig {
  const { doc, at } = parseYamlDocument(text, file);
  const top = isMap(doc.contents) ? doc.contents : undefined;
  const runNode = top?.items.find((p) => isScalar(p.key) && p.key.value === 'run')?.value;
  if (!runNode) {
    throw new UsageError(`${file} has no "run:" section`, 'add run: { steps: [ { scan: { path: . } } ] }');
  }
  const k = keys(at, runNode, '"run"', ['steps', 'reports']);
  const stepsNode = k.get('steps');
  if (!isSeq(stepsNode) || stepsNode.items.length === 0) {
    throw at.error(stepsNode ?? runNode, 'run.steps must be a non-empty list of steps');
  }
  const steps = stepsNode.items.map((n, i) => step(at, n, i));
  const seen = new Map<string, string>();
  for (const s of steps) {
    const prev = seen.get(s.name);
    if (prev)
      throw new UsageError(
        `${s.where}: step name "${s.name}" is already used at ${prev}`,
        'give each step its own name',
      );
    seen.set(s.name, s.where);
  }
  return { file, steps, reports: k.has('reports') ? reports(at, k.get('reports'), 'run.reports') : {} };
}

export async function loadRunConfig(file: string): Promise<RunConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `config file ${file} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`,
      'pass it with -c FILE, or run in the directory that holds .wasmci.yml',
    );
  }
  return parseRunConfig(text, file);
}
