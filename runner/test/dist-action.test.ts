/**
 * The GitHub Action (action.yml -> action/main.cjs): inputs as the Actions runtime passes them (INPUT_* variables),
 * the bundled runner, a SARIF report ready for upload, and the outputs file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot, secretsWasm, tempDir } from './helpers/cli.js';
import { validateSarif } from './helpers/schemas.js';
import { GitRepo } from './helpers/git.js';
import { fakeGithubToken } from './helpers/secrets.js';

function runAction(inputs: Record<string, string>, cwd: string) {
  const outputs = path.join(tempDir('wasmci-gh-'), 'outputs');
  writeFileSync(outputs, '');
  const env: Record<string, string | undefined> = {
    ...process.env,
    WASMCI_BUNDLE: inject('cli'),
    GITHUB_OUTPUT: outputs,
    GITHUB_ACTIONS: '',
    CI: '',
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'action/main.cjs')], { cwd, env, encoding: 'utf8' });
  return { ...r, outputs: readFileSync(outputs, 'utf8') };
}

describe('GitHub Action', () => {
  it('declares node24, the entry point, and inputs mirroring the GitLab template', () => {
    const action = parse(readFileSync(path.join(repoRoot, 'action.yml'), 'utf8'));
    expect(action.runs).toEqual({ using: 'node24', main: 'action/main.cjs' });
    const gitlab = parse(readFileSync(path.join(repoRoot, 'ci-templates/secrets.yml'), 'utf8').split('\n---\n')[0]);
    for (const k of ['plugin', 'fail-on', 'exclude', 'scan-mode', 'extra-args'])
      expect(Object.keys(action.inputs), k).toContain(k);
    expect(Object.keys(gitlab.spec.inputs)).toEqual(expect.arrayContaining(['plugin', 'fail-on', 'exclude']));
  });

  it('fails on a planted secret and writes a valid SARIF report and the outputs', () => {
    const dir = tempDir('wasmci-gh-repo-');
    writeFileSync(path.join(dir, 'settings.py'), `TOKEN = "${fakeGithubToken()}"\n`);
    writeFileSync(path.join(dir, 'skip.txt'), `TOKEN = "${fakeGithubToken()}"\n`);
    const r = runAction(
      { plugin: secretsWasm, 'fail-on': 'high', exclude: 'skip.txt', 'sarif-file': 'out.sarif' },
      dir,
    );
    expect(r.status, r.stderr).toBe(1);
    const sarif = JSON.parse(readFileSync(path.join(dir, 'out.sarif'), 'utf8'));
    expect(validateSarif(sarif)).toEqual([]);
    const uris = sarif.runs[0].results.map(
      (x: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) =>
        x.locations[0]?.physicalLocation.artifactLocation.uri,
    );
    expect(uris).toEqual(['settings.py']);
    expect(r.outputs).toContain('exit-code=1\n');
    expect(r.outputs).toContain('sarif-file=out.sarif\n');
  });

  it('passes on a clean directory and rejects a bad scan-mode with exit 2', () => {
    const dir = tempDir('wasmci-gh-clean-');
    writeFileSync(path.join(dir, 'README.md'), 'hello\n');
    const ok = runAction({ plugin: secretsWasm, 'sarif-file': 'out.sarif' }, dir);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.outputs).toContain('exit-code=0\n');
    const bad = runAction({ plugin: secretsWasm, 'scan-mode': 'everything' }, dir);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/scan-mode must be/);
  });
});

/**
 * What `uses: OWNER/wasmci@TAG` runs: the tree of the tag scripts/release.sh makes (a `git archive` of it, as the
 * runner downloads it), started by Node 24 the way the runner starts `runs.main`, with the inputs' defaults from
 * action.yml as INPUT_* variables and the GITHUB_* files. The release script runs in a clone of this repository's
 * HEAD, so the test sees committed files only, as a tag does.
 */
describe('GitHub Action from a release tag', () => {
  let actionDir: string;
  let node24: string;
  let defaults: Record<string, string>;
  const version = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version as string;

  beforeAll(() => {
    const clone = path.join(tempDir('wasmci-release-'), 'src');
    execFileSync('git', ['clone', '-q', repoRoot, clone]);
    const r = spawnSync(
      'bash',
      ['scripts/release.sh', '--action-only', '--bundle', inject('cli'), '--plugin', secretsWasm],
      {
        cwd: clone,
        encoding: 'utf8',
        env: {
          ...process.env,
          GIT_CONFIG_GLOBAL: '/dev/null',
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@example.test',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@example.test',
        },
      },
    );
    if (r.status !== 0) throw new Error(`release.sh failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    actionDir = tempDir('wasmci-action-');
    execFileSync('bash', ['-c', `git -C "${clone}" archive "${version}" | tar -x -C "${actionDir}"`]);
    // The branch did not move: the built files are only in the tag.
    expect(execFileSync('git', ['-C', clone, 'ls-files', 'runner/dist'], { encoding: 'utf8' })).toBe('');
    const action = parse(readFileSync(path.join(actionDir, 'action.yml'), 'utf8'));
    defaults = Object.fromEntries(
      Object.entries(action.inputs as Record<string, { default?: string }>).map(([k, v]) => [
        k,
        // `${{ github.event.pull_request.base.sha }}` is empty on a push
        String(v.default ?? '').startsWith('${{') ? '' : String(v.default ?? ''),
      ]),
    );
    node24 = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(path.join(repoRoot, 'scripts/sea.mjs'))}); process.stdout.write(m.nodeBinary('x64', m.ACTIONS_NODE));`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 240_000 },
    );
  }, 300_000);

  /** The runner: `node24 <action>/<runs.main>` in the workspace, inputs as INPUT_<NAME> (dashes kept). */
  function runTagged(
    workspace: string,
    inputs: Record<string, string>,
    files: { output?: string; summary?: string } = {},
  ) {
    const temp = tempDir('wasmci-runner-temp-');
    const output = files.output ?? path.join(temp, 'set_output');
    const summary = files.summary ?? path.join(temp, 'step_summary');
    if (!files.output) writeFileSync(output, '');
    if (!files.summary) writeFileSync(summary, '');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: temp,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: workspace,
      GITHUB_ACTION_PATH: actionDir,
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      RUNNER_TEMP: temp,
    };
    for (const [k, v] of Object.entries({ ...defaults, ...inputs })) env[`INPUT_${k.toUpperCase()}`] = v;
    const action = parse(readFileSync(path.join(actionDir, 'action.yml'), 'utf8'));
    const r = spawnSync(node24, [path.join(actionDir, action.runs.main)], {
      cwd: workspace,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const read = (f: string) => {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        return '';
      }
    };
    return { ...r, outputs: read(output), summary: read(summary) };
  }

  it('holds the built bundle and plugin, and scans with the defaults on Node 24: leaky exit 1, clean exit 0', () => {
    expect(execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim()).toMatch(/^v24\./);
    const leaky = GitRepo.init();
    const token = fakeGithubToken();
    leaky.write('app/config.js', `const t = '${token}';\n`).commit('add config');
    const r = runTagged(leaky.dir, {});
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).not.toMatch(/MODULE_NOT_FOUND|at .*\.cjs:\d+/);
    expect(r.stdout).toMatch(/::error [^\n]*file=app\/config\.js,line=1,/);
    expect(r.outputs).toContain('exit-code=1\n');
    expect(r.outputs).toContain('sarif-file=wasmci.sarif\n');
    expect(validateSarif(JSON.parse(readFileSync(path.join(leaky.dir, 'wasmci.sarif'), 'utf8')))).toEqual([]);
    expect(r.summary).toMatch(/github-pat/);
    expect(r.stdout + r.stderr + r.summary).not.toContain(token);

    const clean = GitRepo.init();
    clean.write('README.md', 'hello\n').commit('readme');
    const ok = runTagged(clean.dir, {});
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.outputs).toContain('exit-code=0\n');
  });

  it('pull request at checkout depth 1: exit 2 with the GitHub wording, and no sarif-file output', () => {
    const origin = GitRepo.init();
    origin.write('a.txt', 'one\n').commit('base');
    const base = origin.git('rev-parse', 'HEAD').trim();
    origin.write('b.txt', `k = "${fakeGithubToken()}"\n`).commit('head');
    const ws = origin.shallowClone(1);
    const r = runTagged(ws.dir, { base });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/not in this clone \(it is a shallow clone\)/);
    expect(r.stderr).toMatch(/`fetch-depth: 0`.*actions\/checkout/);
    expect(r.outputs).toContain('exit-code=2\n');
    expect(r.outputs).not.toContain('sarif-file');
  });

  it('warns about an unwritable GITHUB_OUTPUT and step summary, and keeps the scan exit code', () => {
    const leaky = GitRepo.init();
    leaky.write('x.env', `TOKEN=${fakeGithubToken()}\n`).commit('x');
    const ro = tempDir('wasmci-ro-');
    // root ignores file modes, so the unwritable ones are a directory's place (EISDIR) and a missing directory.
    const dirOutput = path.join(ro, 'a-directory');
    mkdirSync(dirOutput);
    const r = runTagged(leaky.dir, {}, { output: dirOutput, summary: path.join(ro, 'missing/step_summary') });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/::warning::wasmci: could not write the output exit-code to GITHUB_OUTPUT \(EISDIR\)/);
    expect(r.stdout).toMatch(/::warning::.*could not write GITHUB_STEP_SUMMARY/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
