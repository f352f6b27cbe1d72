/**
 * The README's CI snippets are ready to copy: the `.gitlab-ci.yml` job is valid against GitLab's CI schema and
 * really runs (gitlab-ci-local, shell executor, the freshly built wasmci on PATH) producing valid reports; the
 * `run:` example is a valid config; the GitHub workflow uploads the SARIF file its scan writes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseRunConfig } from '../src/config/steps.js';
import { repoRoot, secretsWasm, tempDir } from './helpers/cli.js';
import { pipelineRepo, runPipeline, validateGitlabCi } from './helpers/gitlab-ci.js';
import { validateCodeQuality, validateGitlabSecretDetection } from './helpers/schemas.js';

const README = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

/** The first ```yaml block after `marker`. */
function yamlAfter(marker: string): string {
  const at = README.indexOf(marker);
  expect(at, `README has no "${marker}"`).toBeGreaterThanOrEqual(0);
  const m = /```yaml\n([\s\S]*?)```/.exec(README.slice(at));
  if (!m) throw new Error(`no yaml block after "${marker}" in the README`);
  return m[1] as string;
}

/** Finds a file a pipeline job wrote, wherever gitlab-ci-local ran the job. */
function findFile(dir: string, name: string): string | undefined {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isFile() && e.name === name) return p;
    if (e.isDirectory() && e.name !== '.git') {
      const found = findFile(p, name);
      if (found) return found;
    }
  }
  return undefined;
}

describe('README: reports wired into CI', () => {
  it('the .gitlab-ci.yml job is valid GitLab CI and runs, writing valid reports', async () => {
    expect(existsSync(secretsWasm), `${secretsWasm} is missing: run npm run build`).toBe(true);
    const ci = yamlAfter('`.gitlab-ci.yml`:');
    expect(validateGitlabCi(parse(ci))).toEqual([]);
    const token = readFileSync(path.join(repoRoot, 'examples/leaky-app/config.yml'), 'utf8').match(
      /glpat-[A-Za-z0-9_-]{20}/,
    )?.[0] as string;
    const repo = pipelineRepo({
      '.gitlab-ci.yml': ci.replace(/^(\s*)image: .*$/m, ''), // shell executor: wasmci comes from PATH
      'deploy/app.env': `GITLAB_TOKEN=${token}\n`,
      'src/index.js': 'console.log("hello");\n',
    });
    // The bundled secrets plugin, where the image keeps it relative to its seed cache.
    const seed = tempDir('wasmci-seed-');
    mkdirSync(path.join(seed, 'plugins'));
    symlinkSync(secretsWasm, path.join(seed, 'plugins/secrets.wasm'));
    const r = await runPipeline(repo, { env: { WASMCI_SEED_CACHE: path.join(seed, 'cache') }, timeoutMs: 120_000 });
    expect(r.output).toMatch(/secrets/);
    expect(r.code, r.output).not.toBe(0); // a critical finding fails the job (--fail-on high)
    const gl = findFile(repo, 'gl-secret-detection-report.json');
    const cq = findFile(repo, 'gl-code-quality-report.json');
    const junit = findFile(repo, 'wasmci-junit.xml');
    expect(gl && cq && junit, r.output).toBeTruthy();
    const report = JSON.parse(readFileSync(gl as string, 'utf8'));
    expect(validateGitlabSecretDetection(report)).toEqual([]);
    expect(report.vulnerabilities.map((v: { location: { file: string } }) => v.location.file)).toContain(
      'deploy/app.env',
    );
    expect(validateCodeQuality(JSON.parse(readFileSync(cq as string, 'utf8')))).toEqual([]);
    const xml = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(junit as string, 'utf8'));
    expect(Number(xml.testsuites['@_failures'])).toBeGreaterThan(0);
    for (const f of [gl, cq, junit] as string[]) expect(readFileSync(f, 'utf8')).not.toContain(token);
    expect(r.output).not.toContain(token);
  });

  it('the run: example is a valid config', () => {
    const cfg = parseRunConfig(yamlAfter('### `wasmci run'), 'README.md');
    expect(cfg.steps.map((s) => `${s.name}:${s.kind}`)).toEqual(['secrets:scan', 'todo:scan', 'check-config:call']);
    expect(Object.keys(cfg.reports)).toEqual(['gitlab', 'codequality', 'junit']);
  });

  it('the GitHub workflow uploads the SARIF file its scan writes', () => {
    const wf = parse(yamlAfter('GitHub workflow (')) as {
      permissions: Record<string, string>;
      jobs: Record<string, { steps: { uses?: string; run?: string; with?: Record<string, string> }[] }>;
    };
    const steps = Object.values(wf.jobs)[0]?.steps ?? [];
    const scan = steps.find((s) => s.run?.includes('wasmci scan'));
    const upload = steps.find((s) => s.uses?.startsWith('github/codeql-action/upload-sarif'));
    expect(scan?.run).toContain(`--report sarif=${upload?.with?.sarif_file}`);
    expect(scan?.run).toMatch(/-e GITHUB_ACTIONS .*-e GITHUB_STEP_SUMMARY -e GITHUB_OUTPUT/);
    expect(wf.permissions['security-events']).toBe('write');
  });
});
