/**
 * GitHub Actions mode: with GITHUB_ACTIONS=true, `wasmci run` annotates findings (file/line) through
 * @actions/core, writes a job summary table to GITHUB_STEP_SUMMARY and the outputs `findings` and `report` to
 * GITHUB_OUTPUT — temp files here, as the runner would provide. Without it: no `::` command at all.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTodoPlugin } from './helpers/as-plugin.js';
import { repoRoot, runCli, secretsWasm, tempDir } from './helpers/cli.js';

let todo: string;
const TOKEN = readFileSync(path.join(repoRoot, 'examples/leaky-app/config.yml'), 'utf8').match(
  /glpat-[A-Za-z0-9_-]{20}/,
)?.[0] as string;

beforeAll(() => {
  todo = buildTodoPlugin();
  expect(existsSync(secretsWasm), `${secretsWasm} is missing: run npm run build`).toBe(true);
  expect(TOKEN).toMatch(/^glpat-/);
});

function project(): string {
  const dir = tempDir('wasmci-gh-');
  mkdirSync(path.join(dir, 'src'));
  writeFileSync(path.join(dir, 'src/app.ts'), 'const a = 1;\n// TODO: remove the mock\n');
  // An untrusted repository names files as it likes: the summary is HTML and must not render this.
  writeFileSync(path.join(dir, 'src/<img src=x onerror=alert(1)>.ts'), '// FIXME now\n');
  writeFileSync(path.join(dir, 'deploy.yml'), `gitlab_token: ${TOKEN}\n`);
  writeFileSync(
    path.join(dir, '.wasmci.yml'),
    `run:
  reports: { sarif: wasmci.sarif }
  steps:
    - name: secrets
      scan: { path: ., plugin: ${secretsWasm} }
    - name: todo
      scan: { path: src, plugin: ${todo}, fail_on: none }
`,
  );
  return dir;
}

/** @actions/core writes outputs as `name<<DELIMITER\nvalue\nDELIMITER`. */
function outputs(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const m of readFileSync(file, 'utf8').matchAll(re)) out[m[1] as string] = m[3] as string;
  return out;
}

describe('GitHub Actions mode', () => {
  it('annotations with file and line, a summary table, outputs; no secret anywhere', async () => {
    const dir = project();
    const gh = tempDir('wasmci-gh-files-');
    const summary = path.join(gh, 'summary.md');
    const output = path.join(gh, 'output.txt');
    writeFileSync(summary, '');
    writeFileSync(output, '');
    const r = await runCli(['run', '--trust-config'], {
      cwd: dir,
      env: { GITHUB_ACTIONS: 'true', CI: 'true', GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output },
    });
    expect(r.code, r.stderr).toBe(1);
    const stdout = r.stdout.toString();
    const lines = stdout.split('\n').filter((l) => l.startsWith('::'));
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^::error title=gitlab-pat[^,]* \(critical\),file=deploy\.yml,line=1,endLine=1,col=\d+,endColumn=\d+::/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^::notice title=todo-marker \(info\),file=src\/app\.ts,line=2,endLine=2,col=4,endColumn=\d+::TODO marker/,
      ),
    );
    expect(lines.filter((l) => l.startsWith('::notice') || l.startsWith('::error'))).toHaveLength(3);

    expect(outputs(output)).toEqual({ findings: '3', report: path.join(dir, 'wasmci.sarif') });

    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('<h2>wasmci: 3 findings</h2>');
    expect(md).toMatch(/<tr><td>critical<\/td><td>gitlab-pat[^<]*<\/td><td><code>deploy\.yml:1<\/code><\/td>/);
    expect(md).toContain('src/&#60;img src=x onerror=alert(1)&#62;.ts:1');
    expect(md).not.toContain('<img');

    for (const text of [stdout, r.stderr, md, readFileSync(output, 'utf8')]) expect(text).not.toContain(TOKEN);
    expect(md).toContain(TOKEN.slice(0, 4)); // the redacted form: recognisable, not usable
  });

  it('wasmci scan publishes too: annotations and outputs, once', async () => {
    const dir = project();
    const gh = tempDir('wasmci-gh-files-');
    const output = path.join(gh, 'output.txt');
    writeFileSync(output, '');
    const r = await runCli(['scan', '.', '--plugin', secretsWasm, '--report', 'sarif=out.sarif'], {
      cwd: dir,
      env: { GITHUB_ACTIONS: 'true', CI: 'true', GITHUB_OUTPUT: output },
    });
    expect(r.code, r.stderr).toBe(1);
    const annotations = r.stdout
      .toString()
      .split('\n')
      .filter((l) => l.startsWith('::error'));
    expect(annotations).toHaveLength(1);
    expect(annotations[0]).toMatch(/file=deploy\.yml,line=1/);
    expect(outputs(output)).toEqual({ findings: '1', report: path.join(dir, 'out.sarif') });
    expect(r.stdout.toString()).not.toContain(TOKEN);
  });

  it('outside GitHub: no workflow command, and the output files are not touched', async () => {
    const dir = project();
    const gh = tempDir('wasmci-gh-files-');
    const summary = path.join(gh, 'summary.md');
    writeFileSync(summary, 'untouched');
    const r = await runCli(['run', '--trust-config'], {
      cwd: dir,
      env: { GITHUB_ACTIONS: '', GITHUB_STEP_SUMMARY: summary },
    });
    expect(r.code).toBe(1);
    expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/^::/m);
    expect(readFileSync(summary, 'utf8')).toBe('untouched');
  });
});
