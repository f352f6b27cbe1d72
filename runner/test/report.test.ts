/**
 * Every report format from real scans: the real CLI bundle scanning fixture trees with real plugins (the
 * AssemblyScript example built from source, and the secrets plugin), each report validated against its schema
 * or parsed back.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../src/report/index.js';
import { colorFor } from '../src/report/text.js';
import { buildTodoPlugin } from './helpers/as-plugin.js';
import { repoRoot, runCli, secretsWasm, tempDir } from './helpers/cli.js';
import { validateCodeQuality, validateGitlabSecretDetection, validateSarif } from './helpers/schemas.js';

// biome-ignore lint/suspicious/noExplicitAny: report JSON is checked by the schemas, not by the type system
type Json = any;

const FORMATS = { gitlab: 'gl.json', codequality: 'cq.json', sarif: 'out.sarif', junit: 'junit.xml', json: 'r.json' };
const ESC = '\u001b';
const COMMIT = '3f786850e387550fdab836ed7e6dc881de23001b';
const TODO_TEXT = 'TODO: drop the legacy retry loop before release';
const APP = [
  "import { retry } from './retry';",
  `// ${TODO_TEXT}`,
  'export function f(): number {',
  '  return 1; // FIXME: off by one on leap years',
  '}',
  "export const banner = 'DO NOT MERGE this branch';",
  `// ${TODO_TEXT}`,
  '',
].join('\n');

let todo: string;

function project(app = APP): string {
  const dir = tempDir('wasmci-report-src-');
  mkdirSync(path.join(dir, 'src'));
  mkdirSync(path.join(dir, 'docs'));
  writeFileSync(path.join(dir, 'src/app.ts'), app);
  writeFileSync(path.join(dir, 'docs/notes.md'), 'Release notes\n\nTODO: write the changelog for 2.0\n');
  writeFileSync(path.join(dir, 'clean.txt'), 'nothing to see here\n');
  return dir;
}

interface Scanned {
  code: number | null;
  stdout: string;
  stderr: string;
  out: string;
  read(format: keyof typeof FORMATS): string;
  json(format: keyof typeof FORMATS): Json;
}

async function scan(
  dir: string,
  plugin: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<Scanned> {
  const out = tempDir('wasmci-report-out-');
  const reports = Object.entries(FORMATS).flatMap(([f, file]) => ['--report', `${f}=${path.join(out, file)}`]);
  const r = await runCli(['scan', dir, '--plugin', plugin, ...reports, ...extra], {
    env: { CI_COMMIT_SHA: COMMIT, ...env },
  });
  const read = (f: keyof typeof FORMATS) => readFileSync(path.join(out, FORMATS[f]), 'utf8');
  return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr, out, read, json: (f) => JSON.parse(read(f)) };
}

beforeAll(() => {
  todo = buildTodoPlugin();
});

describe('reports from a real scan (AssemblyScript todo-markers plugin)', () => {
  let s: Scanned;
  beforeAll(async () => {
    s = await scan(project(), todo);
    expect(s.code, s.stderr).toBe(1);
  });

  it('gitlab: valid against the 15.2.1 secret_detection schema, with rule identifiers and the CI commit', () => {
    const gl = s.json('gitlab');
    expect(validateGitlabSecretDetection(gl)).toEqual([]);
    expect(gl.version).toBe('15.2.1');
    expect(gl.scan.type).toBe('secret_detection');
    expect(gl.scan.status).toBe('success');
    expect(gl.scan.scanner).toMatchObject({ id: 'todo-markers', version: '0.1.0' });
    expect(gl.scan.analyzer.id).toBe('wasmci');
    expect(gl.scan.start_time <= gl.scan.end_time).toBe(true);
    const vulns = gl.vulnerabilities as Json[];
    expect(vulns.map((v) => `${v.location.file}:${v.location.start_line}:${v.identifiers[0].value}`).sort()).toEqual([
      'docs/notes.md:3:todo-marker',
      'src/app.ts:2:todo-marker',
      'src/app.ts:4:fixme-marker',
      'src/app.ts:6:forbidden-word',
      'src/app.ts:7:todo-marker',
    ]);
    for (const v of vulns) {
      expect(v.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(v.location.commit.sha).toBe(COMMIT);
      expect(v.identifiers[0].type).toBe('todo-markers_rule_id');
      expect(v.tracking.items[0].signatures[0].value).toMatch(/^[0-9a-f]{64}$/);
    }
    // The same TODO twice in one file shares a fingerprint; the ids must still be unique.
    expect(new Set(vulns.map((v) => v.id)).size).toBe(vulns.length);
    expect(vulns.find((v) => v.location.start_line === 6).severity).toBe('Medium');
  });

  it('codequality: every issue has the fields GitLab requires, unique fingerprints, mapped severities', () => {
    const cq = s.json('codequality');
    expect(validateCodeQuality(cq)).toEqual([]);
    expect(cq).toHaveLength(5);
    expect(new Set(cq.map((i: Json) => i.fingerprint)).size).toBe(5);
    const fixme = cq.find((i: Json) => i.check_name === 'fixme-marker');
    expect(fixme).toMatchObject({ severity: 'minor', location: { path: 'src/app.ts', lines: { begin: 4 } } });
    expect(cq.find((i: Json) => i.check_name === 'forbidden-word').severity).toBe('major');
    expect(cq.find((i: Json) => i.check_name === 'todo-marker').severity).toBe('info');
  });

  it('sarif: valid against the SARIF 2.1.0 schema, with the rule catalogue from describe', () => {
    const sarif = s.json('sarif');
    expect(validateSarif(sarif)).toEqual([]);
    expect(sarif.version).toBe('2.1.0');
    const run = sarif.runs[0];
    expect(run.tool.driver.name).toBe('todo-markers');
    expect(run.tool.driver.rules.map((r: Json) => r.id)).toEqual(['todo-marker', 'fixme-marker', 'forbidden-word']);
    expect(run.results).toHaveLength(5);
    for (const r of run.results) expect(run.tool.driver.rules[r.ruleIndex].id).toBe(r.ruleId);
    const fixme = run.results.find((r: Json) => r.ruleId === 'fixme-marker');
    expect(fixme.level).toBe('note');
    // "FIXME: off by one on leap years" starts at column 16 and is 31 characters: SARIF's end is exclusive.
    expect(fixme.locations[0].physicalLocation).toMatchObject({
      artifactLocation: { uri: 'src/app.ts' },
      region: { startLine: 4, startColumn: 16, endLine: 4, endColumn: 47 },
    });
    expect(fixme.partialFingerprints['wasmciFingerprint/v1']).toMatch(/^[0-9a-f]{64}$/);
    expect(run.invocations[0].executionSuccessful).toBe(true);
  });

  it('junit: one test case per rule, failures listing the findings, parsed back', () => {
    const xml = s.read('junit');
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    const suite = doc.testsuites.testsuite;
    expect(doc.testsuites).toMatchObject({ tests: '3', failures: '3', errors: '0' });
    expect(suite.name).toBe('wasmci todo-markers');
    const cases = suite.testcase as Json[];
    expect(cases.map((c) => c.name.split(':')[0])).toEqual(['todo-marker', 'fixme-marker', 'forbidden-word']);
    const todoCase = cases[0];
    expect(todoCase.failure.message).toBe('3 findings in 2 files');
    expect(todoCase.failure['#text']).toContain('src/app.ts:2:4 [info]');
    expect(todoCase.failure['#text']).toContain('docs/notes.md:3:1 [info]');
  });

  it('text: grouped by file, no colour when stdout is not a terminal', () => {
    const lines = s.stdout.split('\n');
    const app = lines.indexOf('src/app.ts');
    const notes = lines.indexOf('docs/notes.md');
    expect(notes).toBeGreaterThanOrEqual(0);
    expect(app).toBeGreaterThan(notes);
    expect(lines.slice(app + 1).findIndex((l) => /^\s+4:16\s+low\s+fixme-marker/.test(l))).toBeGreaterThanOrEqual(0);
    expect(s.stdout).toMatch(/5 findings \(1 medium, 1 low, 3 info\) in 2 files/);
    expect(s.stdout).not.toContain('\u001b[');
  });

  it('the validators reject broken reports (so the checks above can fail)', () => {
    const gl = s.json('gitlab');
    delete gl.scan.analyzer;
    gl.vulnerabilities[0].severity = 'Severe';
    expect(validateGitlabSecretDetection(gl).map((e) => e.instancePath)).toEqual(
      expect.arrayContaining(['/scan', '/vulnerabilities/0/severity']),
    );
    const sarif = s.json('sarif');
    sarif.runs[0].results[0].locations[0].physicalLocation.region.startLine = 0;
    expect(validateSarif(sarif).length).toBeGreaterThan(0);
    const cq = s.json('codequality');
    cq[0].location.lines.begin = 'four';
    expect(validateCodeQuality(cq).length).toBeGreaterThan(0);
  });

  it('text: colour on a terminal unless NO_COLOR is set', () => {
    const result = s.json('json');
    const colored = renderReport('text', result, { redact: true, color: true });
    expect(colored).toContain('\u001b[');
    expect(colored.replace(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '')).toBe(
      renderReport('text', result, { redact: true }),
    );
    expect(colorFor({ isTTY: true }, {})).toBe(true);
    expect(colorFor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorFor({ isTTY: false }, {})).toBe(false);
    expect(colorFor({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });

  it('no report and no stdout line holds the full finding text while redaction is on', () => {
    for (const f of Object.keys(FORMATS) as (keyof typeof FORMATS)[]) expect(s.read(f), f).not.toContain(TODO_TEXT);
    expect(s.stdout).not.toContain(TODO_TEXT);
  });

  it('--no-redact shows it (so the check above can fail)', async () => {
    const raw = await scan(project(), todo, ['--no-redact']);
    expect(raw.read('gitlab')).toContain(TODO_TEXT);
    expect(raw.read('junit')).toContain(TODO_TEXT);
  });
});

describe('deterministic ids', () => {
  const ids = (s: Scanned) => {
    const gl = s.json('gitlab').vulnerabilities as Json[];
    return new Map(gl.map((v) => [`${v.identifiers[0].value}@${v.location.file}#${v.raw_source_code_extract}`, v]));
  };

  it('are the same across two scans and across a line move', async () => {
    const dir = project();
    const a = await scan(dir, todo);
    const b = await scan(dir, todo);
    expect(b.read('gitlab').replace(/"(start|end)_time": "[^"]+"/g, '')).toBe(
      a.read('gitlab').replace(/"(start|end)_time": "[^"]+"/g, ''),
    );
    // Move everything down three lines and the FIXME function above the import.
    const lines = APP.split('\n');
    const moved = ['', '', '', ...lines.slice(2, 5), lines[0], lines[1], ...lines.slice(5)].join('\n');
    const c = await scan(project(moved), todo);
    const before = a.json('gitlab').vulnerabilities as Json[];
    const after = c.json('gitlab').vulnerabilities as Json[];
    expect(after.map((v) => v.id).sort()).toEqual(before.map((v) => v.id).sort());
    const line = (vs: Json[], rule: string) => vs.find((v) => v.identifiers[0].value === rule).location.start_line;
    expect(line(before, 'fixme-marker')).toBe(4);
    expect(line(after, 'fixme-marker')).toBe(5);
    const fp = (s: Scanned) =>
      s
        .json('codequality')
        .map((i: Json) => i.fingerprint)
        .sort();
    expect(fp(c)).toEqual(fp(a));
    const sfp = (s: Scanned) =>
      s
        .json('sarif')
        .runs[0].results.map((r: Json) => r.partialFingerprints['wasmciFingerprint/v1'])
        .sort();
    expect(sfp(c)).toEqual(sfp(a));
    expect(ids(c).size).toBeGreaterThan(0);
  });

  it('change when the finding changes', async () => {
    const a = await scan(project(), todo);
    const b = await scan(project(APP.replace('leap years', 'leap seconds')), todo);
    const fixme = (s: Scanned) =>
      (s.json('gitlab').vulnerabilities as Json[]).find((v) => v.identifiers[0].value === 'fixme-marker').id;
    expect(fixme(b)).not.toBe(fixme(a));
  });
});

describe('commits', () => {
  it('a history scan puts the commit that added the finding in location.commit', async () => {
    const dir = project();
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: dir,
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 'Ada',
          GIT_AUTHOR_EMAIL: 'ada@example.com',
          GIT_COMMITTER_NAME: 'Ada',
          GIT_COMMITTER_EMAIL: 'ada@example.com',
        },
      })
        .toString()
        .trim();
    git('init', '-q', '-b', 'main');
    git('add', '.');
    git('commit', '-q', '-m', 'first');
    const sha = git('rev-parse', 'HEAD');
    const s = await scan(dir, todo, ['--history']);
    const gl = s.json('gitlab');
    expect(validateGitlabSecretDetection(gl)).toEqual([]);
    expect(gl.vulnerabilities.length).toBeGreaterThan(0);
    for (const v of gl.vulnerabilities) {
      expect(v.location.commit.sha).toBe(sha);
      expect(v.location.commit.sha).not.toBe(COMMIT);
    }
  });

  it("outside git and CI the commit is GitLab's placeholder", async () => {
    const s = await scan(project(), todo, [], { CI_COMMIT_SHA: '' });
    for (const v of s.json('gitlab').vulnerabilities) expect(v.location.commit.sha).toBe('0000000');
  });
});

describe('reports from the secrets plugin', () => {
  it('a secrets scan of the leaky example app: valid reports, no secret in any of them', async () => {
    expect(existsSync(secretsWasm), `${secretsWasm} is missing: run npm run build`).toBe(true);
    const app = path.join(repoRoot, 'examples/leaky-app');
    const s = await scan(app, secretsWasm);
    expect(s.code, s.stderr).toBe(1);
    const raw = await scan(app, secretsWasm, ['--no-redact']);
    const secrets = (JSON.parse(raw.read('json')).findings as Json[]).map((f) => f.secret as string);
    expect(secrets.length).toBeGreaterThan(0);
    expect(validateGitlabSecretDetection(s.json('gitlab'))).toEqual([]);
    expect(validateSarif(s.json('sarif'))).toEqual([]);
    expect(validateCodeQuality(s.json('codequality'))).toEqual([]);
    for (const f of Object.keys(FORMATS) as (keyof typeof FORMATS)[]) {
      const text = s.read(f);
      for (const secret of secrets) expect(text.includes(secret), `${f} holds a secret`).toBe(false);
    }
    for (const secret of secrets) expect(s.stdout.includes(secret)).toBe(false);
    expect(secrets.some((x) => raw.read('gitlab').includes(x))).toBe(true);
  });
});

describe('atomic writes', () => {
  it('a scan that fails leaves an existing report untouched and no temp file', async () => {
    const out = tempDir('wasmci-report-atomic-');
    const file = path.join(out, 'gl.json');
    writeFileSync(file, 'previous report\n');
    const bad = path.join(out, 'bad.wasm');
    writeFileSync(bad, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]));
    const r = await runCli(['scan', project(), '--plugin', bad, '--report', `gitlab=${file}`]);
    expect(r.code).toBe(3);
    expect(readFileSync(file, 'utf8')).toBe('previous report\n');
    expect(readdirSync(out).sort()).toEqual(['bad.wasm', 'gl.json']);
  });
});
