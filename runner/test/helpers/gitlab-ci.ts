/**
 * GitLab CI without a GitLab server: the CI JSON schema GitLab publishes (the copy gitlab-ci-local 4.73.0 inlines in
 * its bundle), `spec:inputs` interpolation the way GitLab does it, and real pipeline runs with gitlab-ci-local's
 * shell executor in a temporary git repository, with the freshly built `wasmci` first on PATH.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { Ajv, type ErrorObject } from 'ajv';
import { inject } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { repoRoot, tempDir } from './cli.js';

const GCL = path.join(repoRoot, 'node_modules/gitlab-ci-local/dist/index.js');

/** Cuts the object literal that declares `$id: "https://gitlab.com/.gitlab-ci.yml"` out of the bundle. */
function extractSchema(): Record<string, unknown> {
  const src = readFileSync(GCL, 'utf8');
  const at = src.indexOf('$id:"https://gitlab.com/.gitlab-ci.yml"');
  if (at < 0) throw new Error(`GitLab's CI schema was not found in ${GCL} (gitlab-ci-local must be 4.73.0)`);
  const start = src.lastIndexOf('={$schema:', at) + 1;
  let depth = 0;
  let quote = '';
  for (let i = start; i < src.length; i++) {
    const c = src[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return vm.runInNewContext(`(${src.slice(start, i + 1)})`) as Record<string, unknown>;
    }
  }
  throw new Error('unbalanced schema literal in the gitlab-ci-local bundle');
}

let validator: ((d: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** Validates one CI configuration document (a spec header or a pipeline) against GitLab's CI schema. */
export function validateGitlabCi(doc: unknown): ErrorObject[] {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false, validateFormats: false });
    validator = ajv.compile(extractSchema());
  }
  return validator(doc) ? [] : [...(validator.errors ?? [])];
}

export interface InputSpec {
  type?: string;
  default?: unknown;
  description?: string;
  options?: unknown[];
  regex?: string;
}

export interface Template {
  header: { spec: { inputs: Record<string, InputSpec> } };
  body: Record<string, unknown>;
}

export function loadTemplate(file: string): Template {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  if (docs.length !== 2) throw new Error(`${file}: expected a spec header and a body, got ${docs.length} documents`);
  for (const d of docs) if (d.errors.length) throw new Error(`${file}: ${d.errors[0]?.message}`);
  return { header: docs[0]?.toJS(), body: docs[1]?.toJS() };
}

const INPUT = /\$\[\[\s*inputs\.([\w-]+)\s*\]\]/g;

/**
 * GitLab's interpolation: a scalar that is exactly one `$[[ inputs.x ]]` takes the input's typed value, any other
 * occurrence is replaced by its text; keys are interpolated too. Missing required inputs throw.
 */
export function interpolate(t: Template, given: Record<string, unknown> = {}): Record<string, unknown> {
  const value = (name: string) => {
    const spec = t.header.spec.inputs[name];
    if (!spec) throw new Error(`unknown input ${name}`);
    const v = name in given ? given[name] : spec.default;
    if (v === undefined) throw new Error(`input ${name} is required`);
    return v;
  };
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const whole = /^\$\[\[\s*inputs\.([\w-]+)\s*\]\]$/.exec(node);
      if (whole?.[1]) return value(whole[1]);
      return node.replace(INPUT, (_m, name: string) => String(value(name)));
    }
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === 'object')
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [walk(k) as string, walk(v)]));
    return node;
  };
  return walk(t.body) as Record<string, unknown>;
}

export interface PipelineResult {
  code: number | null;
  output: string;
  /** Files a job left as artifacts: .gitlab-ci-local/artifacts/<job>/ */
  artifacts(job: string): string;
}

/** A git repository with an `origin` remote (gitlab-ci-local derives CI_PROJECT_* from it) and the templates. */
export function pipelineRepo(files: Record<string, string | Buffer>): string {
  const dir = tempDir('wasmci-gcl-');
  const git = (...args: string[]) =>
    runSync('git', ['-c', 'user.name=CI Test', '-c', 'user.email=ci@example.test', ...args], dir);
  git('init', '-q', '-b', 'main');
  git('remote', 'add', 'origin', 'https://gitlab.example.test/group/app.git');
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  mkdirSync(path.join(dir, 'ci-templates'), { recursive: true });
  for (const t of ['secrets.yml', 'plugin.yml', 'publish-plugin.yml']) {
    writeFileSync(path.join(dir, 'ci-templates', t), readFileSync(path.join(repoRoot, 'ci-templates', t)));
  }
  git('add', '-A');
  git('commit', '-q', '-m', 'init');
  return dir;
}

function runSync(cmd: string, args: string[], cwd: string): void {
  execFileSync(cmd, args, {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
  });
}

/** A bin dir whose `wasmci` runs the bundle global-setup built, exactly as the image's executable would be run. */
function wasmciOnPath(): string {
  const bin = tempDir('wasmci-bin-');
  const exe = path.join(bin, 'wasmci');
  writeFileSync(exe, `#!/bin/sh\nexec '${process.execPath}' '${inject('cli')}' "$@"\n`);
  chmodSync(exe, 0o755);
  return bin;
}

export function runPipeline(
  repo: string,
  opts: { args?: string[]; variables?: Record<string, string>; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<PipelineResult> {
  const args = [GCL, '--force-shell-executor', '--no-color', ...(opts.args ?? [])];
  for (const [k, v] of Object.entries(opts.variables ?? {})) args.push('--variable', `${k}=${v}`);
  const env = {
    ...process.env,
    PATH: `${wasmciOnPath()}:${process.env.PATH}`,
    CI: '',
    GITLAB_CI: '',
    GIT_CONFIG_GLOBAL: '/dev/null',
    ...opts.env,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, artifacts: (job) => path.join(repo, '.gitlab-ci-local/artifacts', job) });
    });
  });
}
