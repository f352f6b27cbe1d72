/**
 * `wasmci run`: the steps of .wasmci.yml in order — scans with two different real plugins (the AssemblyScript
 * example built from source, the secrets plugin) and plugin calls — each with its own grants; reports for all
 * scan steps in one; exit codes aggregated; config errors pointing at the line.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTodoPlugin } from './helpers/as-plugin.js';
import { fixture, repoRoot, runCli, secretsWasm, tempDir } from './helpers/cli.js';
import { validateGitlabSecretDetection, validateSarif } from './helpers/schemas.js';

// biome-ignore lint/suspicious/noExplicitAny: report JSON is checked by the schemas, not by the type system
type Json = any;

let todo: string;
const esc = (s: string) => s.replace(/[[\]\\^$.*+?()|{}]/g, '\\$&');

beforeAll(() => {
  todo = buildTodoPlugin();
  expect(existsSync(secretsWasm), `${secretsWasm} is missing: run npm run build`).toBe(true);
});

/** A project with a TODO, a forbidden word, a (fake) GitLab token and a data dir for a call step. */
function project(config: string): string {
  const dir = tempDir('wasmci-run-');
  mkdirSync(path.join(dir, 'src'));
  mkdirSync(path.join(dir, 'data'));
  writeFileSync(path.join(dir, 'src/app.ts'), '// TODO: remove the mock\nconst mode = "DO NOT MERGE";\n');
  writeFileSync(
    path.join(dir, 'src/deploy.yml'),
    `token: ${readFileSync(path.join(repoRoot, 'examples/leaky-app/config.yml'), 'utf8').match(/glpat-[A-Za-z0-9_-]+/)?.[0]}\n`,
  );
  writeFileSync(path.join(dir, 'data/hello.txt'), 'hello from the mount');
  writeFileSync(path.join(dir, '.wasmci.yml'), config);
  return dir;
}

const FULL = () => `
scan:
  exclude: ["data/**"]
run:
  reports:
    gitlab: out/gl-secret-detection-report.json
    sarif: out/wasmci.sarif
    junit: out/junit.xml
    codequality: out/gl-code-quality-report.json
  steps:
    - name: secrets
      scan: { path: ., plugin: ${secretsWasm} }
      reports: { json: out/secrets.json }
    - name: todo
      scan: { path: src, plugin: ${todo} }
      config: { forbidden_words: "DO NOT MERGE" }
    - name: read-data
      call: { plugin: ${fixture('probe.wasm')}, function: read_file, input: /data/hello.txt, output: out/hello.txt }
      allow_paths: { ./data: "/data:ro" }
`;

describe('wasmci run', () => {
  it('runs scans with two plugins and a call in order, and writes one report for all scans', async () => {
    const dir = project(FULL());
    const r = await runCli(['run', '--trust-config'], { cwd: dir });
    const stdout = r.stdout.toString();
    expect(r.code, r.stderr).toBe(1);
    const order = ['step secrets', 'step todo', 'step read-data'].map((s) => stdout.indexOf(s));
    expect(order.every((i, k) => i >= 0 && (k === 0 || i > (order[k - 1] as number)))).toBe(true);
    expect(stdout).toMatch(/secrets\s+1 finding \(secrets\)\s+exit 1/);
    expect(stdout).toMatch(/todo\s+2 findings \(todo-markers\)\s+exit 1/);
    expect(stdout).toMatch(/read-data\s+call\s+exit 0/);

    const out = (f: string) => readFileSync(path.join(dir, 'out', f), 'utf8');
    const gl = JSON.parse(out('gl-secret-detection-report.json'));
    expect(validateGitlabSecretDetection(gl)).toEqual([]);
    // Each finding names its plugin's rule; a secrets rule that corresponds to a gitleaks default rule names that
    // first (gitleaks_rule_id), so GitLab keeps tracking vulnerabilities its own analyzer created.
    expect(
      gl.vulnerabilities
        .map(
          (v: Json) =>
            v.identifiers.find((i: Json) => i.type.endsWith('_rule_id') && i.type !== 'gitleaks_rule_id').type,
        )
        .sort(),
    ).toEqual(['secrets_rule_id', 'todo-markers_rule_id', 'todo-markers_rule_id']);
    expect(gl.scan.scanner.id).toBe('secrets+todo-markers');
    const sarif = JSON.parse(out('wasmci.sarif'));
    expect(validateSarif(sarif)).toEqual([]);
    expect(sarif.runs.map((run: Json) => [run.tool.driver.name, run.results.length])).toEqual([
      ['secrets', 1],
      ['todo-markers', 2],
    ]);
    const junit = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(out('junit.xml'));
    expect(junit.testsuites.testsuite.map((s: Json) => s.name)).toEqual(['wasmci secrets', 'wasmci todo-markers']);
    // Paths are the project's, not the scanned directory's: the todo step scanned src/.
    const cq = JSON.parse(out('gl-code-quality-report.json'));
    expect(cq.map((i: Json) => i.location.path).sort()).toEqual(['src/app.ts', 'src/app.ts', 'src/deploy.yml']);
    // The step's own report, and the scan: section of the same file applied to the step (data/ excluded).
    const own = JSON.parse(out('secrets.json'));
    expect(own.plugin.name).toBe('secrets');
    expect(own.stats.files).toBe(3); // .wasmci.yml, src/app.ts, src/deploy.yml
    // The call step read the mounted file through its own grant.
    expect(out('hello.txt')).toBe('hello from the mount');
    // Nothing left behind but the reports.
    expect(readFileSync(path.join(dir, '.wasmci.yml'), 'utf8')).toBe(FULL());
  });

  it('gives each step its own grants and config', async () => {
    const dir = project(`
run:
  steps:
    - name: words-a
      scan: { path: src, plugin: ${todo}, fail_on: none }
      config: { forbidden_words: "mode" }
      reports: { json: a.json }
    - name: words-b
      scan: { path: src, plugin: ${todo}, fail_on: none }
      reports: { json: b.json }
    - name: no-grant
      call: { plugin: ${fixture('probe.wasm')}, function: read_file, input: /data/hello.txt }
`);
    const r = await runCli(['run', '--trust-config', '-c', path.join(dir, '.wasmci.yml')]);
    const words = (f: string) =>
      JSON.parse(readFileSync(path.join(dir, f), 'utf8'))
        .findings.filter((x: Json) => x.ruleId === 'forbidden-word')
        .map((x: Json) => x.startColumn);
    expect(words('a.json')).toEqual([7]); // "mode" only
    expect(words('b.json')).toEqual([15]); // the default list: "DO NOT MERGE"
    // Without allow_paths the same call finds no file: the step fails with a plugin error, exit 3.
    expect(r.stderr).toMatch(/step no-grant failed: plugin error \(plugin-error\): cannot read \/data\/hello.txt/);
    expect(r.code).toBe(3);
  });

  it('aggregates exit codes: allow_failure, the worst code wins, --fail-fast stops', async () => {
    const bad = path.join(tempDir(), 'bad.wasm');
    writeFileSync(bad, 'not wasm');
    const dir = project(`
run:
  steps:
    - name: allowed
      scan: { path: src, plugin: ${todo} }
      allow_failure: true
    - name: broken
      scan: { path: src, plugin: ${bad} }
    - name: findings
      scan: { path: src, plugin: ${todo} }
`);
    const all = await runCli(['run', '--trust-config'], { cwd: dir });
    expect(all.stdout.toString()).toMatch(/allowed\s+2 findings.*exit 1\s+failed \(allowed\)/);
    expect(all.stdout.toString()).toMatch(/findings\s+2 findings.*exit 1\s+failed/);
    expect(all.stderr).toMatch(/step broken failed: plugin .*bad\.wasm.* is not a WebAssembly module/);
    expect(all.code).toBe(3);
    const fast = await runCli(['run', '--trust-config', '--fail-fast'], { cwd: dir });
    expect(fast.code).toBe(3);
    expect(fast.stdout.toString()).toContain('(1 not run: --fail-fast)');
    expect(fast.stdout.toString()).not.toContain('step findings');
    const allowedOnly = await runCli(['run', '--trust-config', '--step', 'allowed'], { cwd: dir });
    expect(allowedOnly.code).toBe(0);
  });

  it('GitLab mode: collapsible sections per step, no workflow commands, no secret', async () => {
    const dir = project(FULL());
    const r = await runCli(['run', '--trust-config'], { cwd: dir, env: { GITLAB_CI: 'true', CI: 'true' } });
    const stdout = r.stdout.toString();
    const K = '\u001b[0K';
    expect(stdout).toMatch(new RegExp(`${esc(K)}section_start:\\d+:secrets\r${esc(K)}wasmci run: step secrets`));
    expect(stdout).toMatch(new RegExp(`${esc(K)}section_end:\\d+:read-data\r`));
    expect(`${stdout}${r.stderr}`).not.toMatch(/^::/m);
    const token = readFileSync(path.join(dir, 'src/deploy.yml'), 'utf8').split('token: ')[1]?.trim() as string;
    expect(token).toMatch(/^glpat-/);
    expect(stdout + r.stderr).not.toContain(token);
    for (const f of ['gl-secret-detection-report.json', 'wasmci.sarif', 'junit.xml', 'gl-code-quality-report.json']) {
      expect(readFileSync(path.join(dir, 'out', f), 'utf8')).not.toContain(token);
    }
  });
});

describe('wasmci run: config errors', () => {
  const cases: [string, string, RegExp][] = [
    [
      'unknown step key',
      'run:\n  steps:\n    - scan: { path: . }\n      grants: {}\n',
      /\.wasmci\.yml:4:7: unknown key "grants" in run\.steps\[0\]/,
    ],
    [
      'scan and call',
      'run:\n  steps:\n    - scan: {}\n      call: { plugin: x.wasm, function: f }\n',
      /:3:7: run\.steps\[0\] needs exactly one of "scan" or "call"/,
    ],
    [
      'call without function',
      'run:\n  steps:\n    - call: { plugin: x.wasm }\n',
      /:3:13: run\.steps\[0\]\.call needs "plugin" and "function"/,
    ],
    [
      'duplicate names',
      'run:\n  steps:\n    - { name: a, scan: {} }\n    - { name: a, scan: {} }\n',
      /\.wasmci\.yml:4: step name "a" is already used at .*\.wasmci\.yml:3/,
    ],
    [
      'unknown report format',
      'run:\n  reports: { pdf: x.pdf }\n  steps:\n    - scan: {}\n',
      /:2:14: run\.reports: unknown report format "pdf"/,
    ],
    [
      'bad fail_on',
      'run:\n  steps:\n    - scan: { fail_on: severe }\n',
      /:3:24: run\.steps\[0\]\.scan\.fail_on must be one of/,
    ],
    ['no run section', 'scan: {}\n', /has no "run:" section/],
    ['empty steps', 'run:\n  steps: []\n', /run\.steps must be a non-empty list/],
  ];
  for (const [what, yml, message] of cases) {
    it(`${what}: exit 2 with the place`, async () => {
      const dir = tempDir();
      writeFileSync(path.join(dir, '.wasmci.yml'), yml);
      const r = await runCli(['run', '--trust-config'], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    });
  }

  it('a missing config file and an unknown --step are usage errors', async () => {
    const dir = tempDir();
    const missing = await runCli(['run', '-c', 'nope.yml'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yml does not exist/);
    writeFileSync(path.join(dir, '.wasmci.yml'), 'run:\n  steps:\n    - { name: a, scan: {} }\n');
    const step = await runCli(['run', '--step', 'b'], { cwd: dir });
    expect(step.code).toBe(2);
    expect(step.stderr).toMatch(/--step b: no such step.*\n.*steps: a/);
  });
});
