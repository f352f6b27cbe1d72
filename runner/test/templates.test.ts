/**
 * The GitLab CI templates and the project's own pipeline: valid against GitLab's CI schema, and run for real with
 * gitlab-ci-local's shell executor in temporary repositories (gitlab-ci-local ignores `artifacts:reports`, so the
 * tests read the report files it copies as artifacts).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, secretsWasm, tempDir } from './helpers/cli.js';
import {
  interpolate,
  loadTemplate,
  type PipelineResult,
  pipelineRepo,
  runPipeline,
  validateGitlabCi,
} from './helpers/gitlab-ci.js';
import { validateCodeQuality, validateGitlabSecretDetection } from './helpers/schemas.js';
import { fakeGithubToken } from './helpers/secrets.js';
import { GitlabTestServer } from './servers/gitlab.js';

const TEMPLATES = ['secrets.yml', 'plugin.yml', 'publish-plugin.yml'];
const tpl = (name: string) => path.join(repoRoot, 'ci-templates', name);
const pkgVersion = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version as string;
/** Inputs that have no default, with values for the schema check. */
const REQUIRED: Record<string, Record<string, unknown>> = {
  'plugin.yml': { plugin: 'gitlab:group/plugins/licenses@1.0.0' },
  'publish-plugin.yml': { file: 'dist/p.wasm', package: 'p' },
};

describe('templates against GitLab CI schema', () => {
  it.each(TEMPLATES)(
    '%s: header and body (defaults interpolated) validate; every input typed and described',
    (name) => {
      const t = loadTemplate(tpl(name));
      expect(validateGitlabCi(t.header)).toEqual([]);
      for (const [input, spec] of Object.entries(t.header.spec.inputs)) {
        expect(spec.type, `${name}: input ${input} has no type`).toMatch(/^(string|number|boolean|array)$/);
        expect(spec.description?.length, `${name}: input ${input} has no description`).toBeGreaterThan(10);
        if (spec.default !== undefined && spec.options) expect(spec.options).toContain(spec.default);
        if (spec.default !== undefined && spec.regex) expect(String(spec.default)).toMatch(new RegExp(spec.regex));
      }
      expect(validateGitlabCi(interpolate(t, REQUIRED[name]))).toEqual([]);
      // The catalog layout (templates/) holds byte-identical copies: GitLab does not follow symlinks in includes.
      expect(readFileSync(path.join(repoRoot, 'templates', name), 'utf8')).toBe(readFileSync(tpl(name), 'utf8'));
    },
  );

  it('the validator is not vacuous: a wrong type and an unknown keyword are rejected', () => {
    const t = loadTemplate(tpl('secrets.yml'));
    expect(validateGitlabCi(interpolate(t, { 'allow-failure': 'sometimes' })).length).toBeGreaterThan(0);
    expect(validateGitlabCi({ job: { script: ['true'], artefacts: { paths: ['x'] } } }).length).toBeGreaterThan(0);
  });

  it('every template defaults to the image of this version', () => {
    for (const name of TEMPLATES)
      expect(loadTemplate(tpl(name)).header.spec.inputs.image?.default).toBe(
        `registry.gitlab.com/wasmci/wasmci:${pkgVersion}`,
      );
  });

  it("the project's .gitlab-ci.yml validates and dog-foods ci-templates/secrets.yml", () => {
    const text = readFileSync(path.join(repoRoot, '.gitlab-ci.yml'), 'utf8');
    const ci = parse(text);
    expect(validateGitlabCi(ci)).toEqual([]);
    expect(ci.include.map((i: { local: string }) => i.local)).toContain('ci-templates/secrets.yml');
    expect(text, 'the image is built with buildah, never docker-in-docker').not.toMatch(/dind|docker build/);
    expect(ci['build-image'].script.join('\n')).toMatch(/scripts\/image\.sh .*--push/);
  });
});

/** The image's layout on the host: a seed cache whose ../plugins/secrets.wasm is the default scan plugin. */
function imageLikeShare(): string {
  const share = tempDir('wasmci-share-');
  mkdirSync(path.join(share, 'cache'), { recursive: true });
  mkdirSync(path.join(share, 'plugins'), { recursive: true });
  cpSync(secretsWasm, path.join(share, 'plugins/secrets.wasm'));
  return path.join(share, 'cache');
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

describe('secrets.yml under gitlab-ci-local', () => {
  let seed: string;
  beforeAll(() => {
    seed = imageLikeShare();
  });

  const include = (inputs: Record<string, unknown> = {}) =>
    `include:\n  - local: ci-templates/secrets.yml\n    inputs: ${JSON.stringify(inputs)}\n`;

  it('a planted secret fails the job and leaves valid reports; the secret is not printed', async () => {
    const token = fakeGithubToken();
    const repo = pipelineRepo({ '.gitlab-ci.yml': include(), 'app/settings.py': `GITHUB_TOKEN = "${token}"\n` });
    const r = await runPipeline(repo, { env: { WASMCI_SEED_CACHE: seed } });
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toMatch(/FAIL\s+1/);
    expect(r.output).not.toContain(token);
    const out = r.artifacts('secret_detection');
    const report = readJson(path.join(out, 'gl-secret-detection-report.json')) as {
      vulnerabilities: { location: { file: string } }[];
    };
    expect(validateGitlabSecretDetection(report)).toEqual([]);
    expect(report.vulnerabilities.map((v) => v.location.file)).toEqual(['app/settings.py']);
    expect(readFileSync(path.join(out, 'gl-secret-detection-report.json'), 'utf8')).not.toContain(token);
    const cq = readJson(path.join(out, 'gl-code-quality-report.json')) as unknown[];
    expect(validateCodeQuality(cq)).toEqual([]);
    expect(cq).toHaveLength(1);
    expect(readFileSync(path.join(out, 'gl-wasmci-junit.xml'), 'utf8')).toMatch(/<failure/);
  });

  it('a clean repository passes with empty reports', async () => {
    const repo = pipelineRepo({ '.gitlab-ci.yml': include(), 'README.md': '# nothing secret here\n' });
    const r = await runPipeline(repo, { env: { WASMCI_SEED_CACHE: seed } });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/PASS\s+secret_detection/);
    const report = readJson(path.join(r.artifacts('secret_detection'), 'gl-secret-detection-report.json'));
    expect(validateGitlabSecretDetection(report)).toEqual([]);
    expect((report as { vulnerabilities: unknown[] }).vulnerabilities).toEqual([]);
  });

  it('inputs reach the scan: excluded paths, job name, fail-on none, allow-failure, reports', async () => {
    const token = fakeGithubToken();
    const repo = pipelineRepo({
      '.gitlab-ci.yml': include({
        'job-name': 'secrets-custom',
        exclude: 'fixtures/**',
        'fail-on': 'critical',
        reports: 'secret_detection,sarif',
      }),
      'fixtures/fake.env': `TOKEN=${token}\n`,
    });
    const r = await runPipeline(repo, { env: { WASMCI_SEED_CACHE: seed } });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('--exclude fixtures/**');
    const out = r.artifacts('secrets-custom');
    expect(readdirSync(out).sort()).toEqual(['gl-secret-detection-report.json', 'gl-wasmci.sarif']);

    const allowed = pipelineRepo({ '.gitlab-ci.yml': include({ 'allow-failure': true }), 'a.env': `T=${token}\n` });
    const r2 = await runPipeline(allowed, { env: { WASMCI_SEED_CACHE: seed } });
    expect(r2.code, r2.output).toBe(0);
    expect(r2.output).toMatch(/WARN\s+secret_detection/);
    expect(r2.output).toMatch(/1 finding/);
  });

  it('a wrong input value is rejected before any job runs', async () => {
    for (const [inputs, message] of [
      [{ 'fail-on': 'severe' }, /fail-on.*severe.*not in the list of allowed options/s],
      [{ reports: 'pdf' }, /reports.*does not match required regex/s],
      [{ 'allow-failure': 'yes' }, /allow-failure.*not a boolean/s],
    ] as const) {
      const repo = pipelineRepo({ '.gitlab-ci.yml': include(inputs) });
      const r = await runPipeline(repo, { env: { WASMCI_SEED_CACHE: seed } });
      expect(r.code, r.output).not.toBe(0);
      expect(r.output).toMatch(message);
      expect(r.output).not.toMatch(/starting shell/);
    }
  });
});

/** A pipeline repository whose history added a GitHub token in one commit and removed it in the next. */
function repoWithRemovedSecret(files: Record<string, string>): { repo: string; token: string } {
  const token = fakeGithubToken();
  const repo = pipelineRepo({ ...files, 'config/app.env': `GITHUB_TOKEN=${token}\n` });
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=CI Test', '-c', 'user.email=ci@example.test', ...args], {
      cwd: repo,
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    });
  writeFileSync(path.join(repo, 'config/app.env'), 'GITHUB_TOKEN=$GITHUB_TOKEN\n');
  git('commit', '-qam', 'use the CI variable');
  return { repo, token };
}

describe("secrets.yml as a drop-in for GitLab's Secret Detection template", () => {
  let seed: string;
  beforeAll(() => {
    seed = imageLikeShare();
  });
  const include = `include:\n  - local: ci-templates/secrets.yml\n`;
  const ran = (r: PipelineResult) => /secret_detection\s+starting/.test(r.output);

  it('rules: merge request pipeline vs branch pipeline, never both, never tags; SECRET_DETECTION_DISABLED', async () => {
    const repo = pipelineRepo({ '.gitlab-ci.yml': include, 'README.md': '# clean\n' });
    const run = (variables: Record<string, string>) =>
      runPipeline(repo, { env: { WASMCI_SEED_CACHE: seed }, variables });
    const cases: [string, Record<string, string>, boolean][] = [
      ['branch pipeline', {}, true],
      ['merge request pipeline', { CI_PIPELINE_SOURCE: 'merge_request_event' }, true],
      ['branch pipeline of a branch with an open merge request', { CI_OPEN_MERGE_REQUESTS: 'group/app!1' }, false],
      [
        'the same with AST_ENABLE_MR_PIPELINES=false',
        { CI_OPEN_MERGE_REQUESTS: 'group/app!1', AST_ENABLE_MR_PIPELINES: 'false' },
        true,
      ],
      [
        'merge request pipeline with AST_ENABLE_MR_PIPELINES=false',
        { CI_PIPELINE_SOURCE: 'merge_request_event', AST_ENABLE_MR_PIPELINES: 'false', CI_COMMIT_BRANCH: '' },
        false,
      ],
      ['tag pipeline', { CI_COMMIT_BRANCH: '', CI_COMMIT_TAG: 'v1.0.0' }, false],
      ['SECRET_DETECTION_DISABLED=true', { SECRET_DETECTION_DISABLED: 'true' }, false],
      ['SECRET_DETECTION_DISABLED=1', { SECRET_DETECTION_DISABLED: '1' }, false],
    ];
    for (const [what, variables, expected] of cases) {
      const r = await run(variables);
      expect(ran(r), `${what}:\n${r.output}`).toBe(expected);
    }
  }, 480_000); // eight gitlab-ci-local runs, 5-30 s each on a loaded 2-core machine

  it("an existing secret_detection: override in the project's .gitlab-ci.yml applies to the wasmci job", async () => {
    const token = fakeGithubToken();
    const repo = pipelineRepo({
      '.gitlab-ci.yml': `${include}secret_detection:\n  allow_failure: true\n  variables:\n    SECRET_DETECTION_EXCLUDED_PATHS: "fixtures, legacy/*.env"\n`,
      'fixtures/a.env': `T=${token}\n`,
      'legacy/b.env': `T=${token}\n`,
      'app/c.env': `T=${token}\n`,
    });
    const r = await runPipeline(repo, { env: { WASMCI_SEED_CACHE: seed } });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/WARN\s+secret_detection/);
    const report = readJson(path.join(r.artifacts('secret_detection'), 'gl-secret-detection-report.json')) as {
      vulnerabilities: { location: { file: string }; identifiers: { type: string; value: string }[] }[];
    };
    expect(validateGitlabSecretDetection(report)).toEqual([]);
    expect(report.vulnerabilities.map((v) => v.location.file)).toEqual(['app/c.env']);
    expect(report.vulnerabilities[0]?.identifiers[0]).toEqual({
      type: 'gitleaks_rule_id',
      name: 'Gitleaks rule ID github-pat',
      value: 'github-pat',
    });
  }, 180_000);

  it('SECRET_DETECTION_HISTORIC_SCAN and SECRET_DETECTION_LOG_OPTIONS scan the history; unsafe log options fail', async () => {
    const { repo, token } = repoWithRemovedSecret({ '.gitlab-ci.yml': include });
    const vars = { GIT_DEPTH: '0' };
    const files = await runPipeline(repo, { env: { WASMCI_SEED_CACHE: seed }, variables: vars });
    expect(files.code, files.output).toBe(0);

    const historic = await runPipeline(repo, {
      env: { WASMCI_SEED_CACHE: seed },
      variables: { ...vars, SECRET_DETECTION_HISTORIC_SCAN: 'true' },
    });
    expect(historic.code, historic.output).not.toBe(0);
    expect(historic.output).toMatch(/github-pat/);
    expect(historic.output).not.toContain(token);

    const lastOnly = await runPipeline(repo, {
      env: { WASMCI_SEED_CACHE: seed },
      variables: { ...vars, SECRET_DETECTION_LOG_OPTIONS: '--max-count=1' },
    });
    expect(lastOnly.code, lastOnly.output).toBe(0);
    const both = await runPipeline(repo, {
      env: { WASMCI_SEED_CACHE: seed },
      variables: { ...vars, SECRET_DETECTION_LOG_OPTIONS: '-n 2 --all' },
    });
    expect(both.code, both.output).not.toBe(0);
    expect(both.output).toMatch(/github-pat/);

    const evil = await runPipeline(repo, {
      env: { WASMCI_SEED_CACHE: seed },
      variables: { ...vars, SECRET_DETECTION_LOG_OPTIONS: '--output=/tmp/wasmci-pwned HEAD' },
    });
    expect(evil.code).not.toBe(0);
    expect(evil.output).toMatch(/SECRET_DETECTION_LOG_OPTIONS: "--output=\/tmp\/wasmci-pwned" is not supported/);
    expect(existsSync('/tmp/wasmci-pwned')).toBe(false);
  }, 480_000); // five gitlab-ci-local runs
});

describe('publish-plugin.yml then secrets.yml against the GitLab-API test server', () => {
  const JOB_TOKEN = 'ci-job-token-7f3a9c';
  let gl: GitlabTestServer;
  beforeAll(async () => {
    gl = await new GitlabTestServer().start();
    gl.projects.push({ id: '42', path: 'group/app', public: false });
    gl.tokens.push({ header: 'JOB-TOKEN', value: JOB_TOKEN, read: ['42'], write: ['42'] });
  });
  afterAll(async () => {
    await gl?.close();
  });

  it('publishes the built plugin on a tag with CI_JOB_TOKEN, and the scan job downloads that version', async () => {
    const repo = pipelineRepo({
      '.gitlab-ci.yml': [
        'stages: [deploy]',
        'include:',
        '  - local: ci-templates/publish-plugin.yml',
        '    inputs: { file: build/secrets.wasm, package: secrets }',
        '',
      ].join('\n'),
      'build/secrets.wasm': readFileSync(secretsWasm),
    });
    const vars = { CI_API_V4_URL: gl.api, CI_PROJECT_ID: '42', CI_JOB_TOKEN: JOB_TOKEN };
    const untagged = await runPipeline(repo, { variables: vars });
    expect(untagged.output, 'publishes only on tags').not.toMatch(/publish-plugin starting/);

    const pub = await runPipeline(repo, { variables: { ...vars, CI_COMMIT_TAG: 'v1.2.3' } });
    expect(pub.code, pub.output).toBe(0);
    expect(pub.output).not.toContain(JOB_TOKEN);
    const put = gl.log.find((l) => l.method === 'PUT');
    expect(put?.url).toMatch(/\/projects\/42\/packages\/generic\/secrets\/1\.2\.3\/secrets\.wasm/);
    expect(put?.headers['job-token']).toBe(JOB_TOKEN);

    const token = fakeGithubToken();
    const scanRepo = pipelineRepo({
      '.gitlab-ci.yml': `include:\n  - local: ci-templates/secrets.yml\n    inputs: { plugin: "gitlab:42/secrets@1.2.3" }\n`,
      'leak.txt': `token ${token}\n`,
    });
    const before = gl.log.length;
    // No seed cache: the plugin can only come from the registry.
    const scan = await runPipeline(scanRepo, { variables: vars, env: { WASMCI_SEED_CACHE: '' } });
    expect(scan.code, scan.output).not.toBe(0);
    expect(scan.output).toMatch(/github-pat/);
    const gets = gl.log.slice(before).filter((l) => l.method === 'GET');
    expect(gets.map((g) => g.url)).toContain('/api/v4/projects/42/packages/generic/secrets/1.2.3/secrets.wasm');
    const report = readJson(path.join(scan.artifacts('secret_detection'), 'gl-secret-detection-report.json'));
    expect(validateGitlabSecretDetection(report)).toEqual([]);
  });
});

describe('plugin.yml under gitlab-ci-local', () => {
  it('calls one function with the given grants and keeps its output as an artifact', async () => {
    const repo = pipelineRepo({
      '.gitlab-ci.yml': `include:\n  - local: ci-templates/plugin.yml\n    inputs: { plugin: plugins/secrets.wasm, function: describe, output-file: describe.json }\n`,
      'plugins/secrets.wasm': readFileSync(secretsWasm),
    });
    const r: PipelineResult = await runPipeline(repo);
    expect(r.code, r.output).toBe(0);
    const out = readJson(path.join(r.artifacts('wasmci-plugin'), 'describe.json')) as { name: string; kind: string };
    expect(out).toMatchObject({ name: 'secrets', kind: 'scan' });
  });
});
