/**
 * The GitHub Action (action.yml -> action/main.cjs): inputs as the Actions runtime passes them (INPUT_* variables),
 * the bundled runner, a SARIF report ready for upload, and the outputs file.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot, secretsWasm, tempDir } from './helpers/cli.js';
import { validateSarif } from './helpers/schemas.js';
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
  it('declares node20, the entry point, and inputs mirroring the GitLab template', () => {
    const action = parse(readFileSync(path.join(repoRoot, 'action.yml'), 'utf8'));
    expect(action.runs).toEqual({ using: 'node20', main: 'action/main.cjs' });
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
