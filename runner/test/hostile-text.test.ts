/**
 * Untrusted text never reaches the CI log raw (issue 15, item 7). A plugin built here from WAT carries the same
 * hostile text in every place a plugin can put text — its error_set message, its WASI stderr before a trap, its
 * describe() name, version, rule ids and descriptions, its export and import names, its findings — and a hostile
 * repository carries it in a file name, a `.wasmciignore` line and `.wasmci.yml` step settings. Every command
 * that can print them runs for real (`call`, `inspect`, `scan --plugin`, `run`, also with GITHUB_ACTIONS=true and
 * GITLAB_CI=true), and every byte of stdout and stderr is checked: no line a CI runner would take as a command
 * (GitHub `::cmd::` at a line start, `##[cmd]` anywhere; GitLab section markers), no terminal escape, and the text
 * is still there, escaped, for a human to read.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli, tempDir } from './helpers/cli.js';

/**
 * The hostile text, with a marker word per carrier: forged GitHub commands on lines of their own (`::add-mask::`
 * would hide the word from the log, `::error` would forge an annotation), the legacy `##[cmd]` form the runner
 * still accepts anywhere in a line, an OSC title and a screen clear, a GitLab section marker, a lone CR that
 * rewinds the line, a bidi override and the 8-bit CSI (C1).
 */
const hostile = (tag: string) =>
  `\n::add-mask::${tag}\n::error file=x::pwned-${tag}\x1b]0;title\x07\x1b[2J\n` +
  `section_start:123:x\r\x1b[0K lone\rcr \u202e ##[add-mask]${tag} \u009b31m end`;

const SECRET = 'abcdefgh12345678';
/** A file name that is a workflow command as it stands (no control character needed). */
const HOSTILE_FILE = '::error file=x::pwned-by-name.txt';

function watString(text: string): string {
  return `"${[...Buffer.from(text, 'utf8')].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('')}"`;
}

/** A plugin whose every text is hostile: describe, scan (one finding in HOSTILE_FILE), fail, trap, an export name. */
function hostileWat(): string {
  const describeJson = JSON.stringify({
    name: `evil${hostile('NAME')}`,
    version: `1.0${hostile('VERSION')}`,
    kind: 'scan',
    protocol: 1,
    rules: [{ id: `rule${hostile('RULEID')}`, description: `desc${hostile('RULEDESC')}`, severity: 'high' }],
  });
  const scanJson = JSON.stringify({
    findings: [
      {
        rule_id: `rule${hostile('RULEID')}`,
        description: `desc${hostile('FINDDESC')}`,
        severity: 'high',
        path: HOSTILE_FILE,
        start_line: 1,
        end_line: 1,
        start_column: 9,
        end_column: 25,
        secret: SECRET,
        match: `token = ${SECRET} ${hostile('MATCH')}`,
        tags: [],
      },
    ],
    errors: [],
  });
  const texts = [describeJson, scanJson, `errset${hostile('ERRSET')}`, `stderr${hostile('STDERR')}`];
  let at = 1024;
  const data: string[] = [];
  const where = texts.map((t) => {
    const len = Buffer.byteLength(t);
    data.push(`  (data (i32.const ${at}) ${watString(t)})`);
    const loc = `(i32.const ${at}) (i32.const ${len})`;
    at += len + 16;
    return loc;
  });
  const [describeAt, scanAt, errAt, stderrAt] = where;
  const stderrLen = Buffer.byteLength(texts[3] as string);
  return `(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
${data.join('\n')}
  ;; Copies len bytes of linear memory at ptr into a new Extism block.
  (func $block (param $ptr i32) (param $len i32) (result i64)
    (local $b i64) (local $i i32)
    (local.set $b (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (call $store_u8 (i64.add (local.get $b) (i64.extend_i32_u (local.get $i)))
        (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $b))
  (func $out (param $ptr i32) (param $len i32)
    (call $output_set (call $block (local.get $ptr) (local.get $len)) (i64.extend_i32_u (local.get $len))))
  (func (export "describe") (result i32) (call $out ${describeAt}) (i32.const 0))
  (func (export "scan") (result i32) (call $out ${scanAt}) (i32.const 0))
  (func (export "say") (result i32) (call $out ${stderrAt}) (i32.const 0))
  (func (export "fail") (result i32) (call $error_set (call $block ${errAt})) (i32.const 1))
  (func (export "trap") (result i32)
    (i32.store (i32.const 0) ${stderrAt?.split(' ').slice(0, 2).join(' ')})
    (i32.store (i32.const 4) (i32.const ${stderrLen}))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
    unreachable)
  (func (export ${watString(`x${hostile('EXPORT')}`)}) (result i32) (i32.const 0))
)
`;
}

/** A plugin that imports a host function wasmci does not have, under a hostile name. */
function importerWat(): string {
  return `(module
  (import "extism:host/env" ${watString(`nope${hostile('IMPORT')}`)} (func $nope))
  (memory (export "memory") 1)
  (func (export "run") (result i32) (call $nope) (i32.const 0))
)
`;
}

let hostileWasm = '';
let importerWasm = '';

beforeAll(() => {
  const dir = tempDir('wasmci-hostile-text-');
  for (const [name, wat] of [
    ['hostile', hostileWat()],
    ['importer', importerWat()],
  ] as const) {
    writeFileSync(path.join(dir, `${name}.wat`), wat);
    execFileSync('wat2wasm', [path.join(dir, `${name}.wat`), '-o', path.join(dir, `${name}.wasm`)]);
  }
  hostileWasm = path.join(dir, 'hostile.wasm');
  importerWasm = path.join(dir, 'importer.wasm');
});

/** Our own GitLab section markers (name limited to [A-Za-z0-9_.-], then CR + erase-line) are the only ones allowed. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ESC and CR of a real section marker are the point
const OUR_SECTION = /\x1b\[0Ksection_(?:start|end):\d+:[A-Za-z0-9_.-]+(?:\[collapsed=true\])?\r\x1b\[0K/g;
/** Annotations @actions/core prints inside GitHub Actions: the only `::` lines allowed there. */
const OUR_ANNOTATION = /^::(?:error|warning|notice)(?: [^:]*)?::/;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/**
 * Fails unless `text` is safe as CI log output. `visible` lists marker words that must still be readable in it
 * (escaped, not dropped).
 */
function expectSafe(label: string, text: string, opts: { github?: boolean; visible?: string[] } = {}): void {
  const rest = text.replace(OUR_SECTION, '');
  const problems: string[] = [];
  if (rest.includes('\x1b')) problems.push('an ESC byte');
  if (rest.includes('\r')) problems.push('a CR');
  if (/[\u0080-\u009f]/u.test(rest)) problems.push('a C1 control');
  if (BIDI.test(rest)) problems.push('a bidi control');
  if (/[\u2028\u2029]/u.test(rest)) problems.push('a Unicode line separator');
  if (rest.includes('##[')) problems.push('a ##[ command');
  for (const line of rest.split('\n')) {
    if (!/^\s*::/.test(line)) continue;
    if (opts.github && OUR_ANNOTATION.test(line)) continue;
    problems.push(`a command line: ${JSON.stringify(line.slice(0, 80))}`);
  }
  expect(problems, `${label}:\n${text}`).toEqual([]);
  for (const word of opts.visible ?? []) expect(text, `${label} should still show ${word}`).toContain(word);
  // The escaped form shows what was there.
  if (opts.visible?.length) expect(text, `${label} should show escapes`).toMatch(/\\x1b|\\u001b/);
}

function expectAllSafe(r: CliResult, label: string, opts: { github?: boolean; visible?: string[] } = {}): void {
  const stdout = r.stdout.toString('utf8');
  expectSafe(`${label} stdout`, stdout, { github: opts.github });
  expectSafe(`${label} stderr`, r.stderr, { github: false });
  if (opts.visible) {
    const both = stdout + r.stderr;
    for (const word of opts.visible) expect(both, `${label} should still show ${word}`).toContain(word);
    expect(both, `${label} should show escapes`).toMatch(/\\x1b|\\u001b/);
  }
}

describe('hostile plugin text on stderr: wasmci call', () => {
  it('an error_set message is printed escaped, exit 3 (also with GITHUB_ACTIONS=true)', async () => {
    for (const env of [{}, { GITHUB_ACTIONS: 'true', CI: 'true' }]) {
      const r = await runCli(['call', hostileWasm, 'fail'], { env });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('plugin error (plugin-error)');
      expectAllSafe(r, 'error_set', { visible: ['::add-mask::ERRSET', 'pwned-ERRSET'] });
    }
  });

  it('the WASI stderr tail of a trap is printed escaped', async () => {
    const r = await runCli(['call', hostileWasm, 'trap']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('plugin error (trap)');
    expectAllSafe(r, 'trap', { visible: ['::add-mask::STDERR'] });
  });

  it("--wasi shows the plugin's stdout and stderr escaped, line by line", async () => {
    const r = await runCli(['call', hostileWasm, 'trap', '--wasi']);
    expect(r.code).toBe(3);
    expectAllSafe(r, '--wasi', { visible: ['add-mask::STDERR', 'pwned-STDERR'] });
    expect(r.stderr).toMatch(/^\\x3a:add-mask::STDERR$/m);
  });

  it('export names listed for a missing function are escaped', async () => {
    const r = await runCli(['call', hostileWasm, 'nosuch']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('plugin error (missing-export)');
    expectAllSafe(r, 'missing export', { visible: ['::add-mask::EXPORT'] });
  });

  it('an import name in a link error is escaped', async () => {
    const r = await runCli(['call', importerWasm, 'run']);
    expect(r.code).toBe(3);
    expectAllSafe(r, 'link error', { visible: ['IMPORT'] });
  });

  it('plugin log lines at every level stay escaped (debug shows the WASI stderr too)', async () => {
    const r = await runCli(['call', hostileWasm, 'trap', '--log-level', 'trace']);
    expect(r.code).toBe(3);
    expectAllSafe(r, 'trace log', { visible: ['STDERR'] });
  });
});

describe('hostile plugin text on stdout: wasmci inspect', () => {
  it('text mode escapes export and import names and the describe() answer', async () => {
    const a = await runCli(['inspect', hostileWasm]);
    expect(a.code).toBe(0);
    expectAllSafe(a, 'inspect', { visible: ['::add-mask::EXPORT', 'NAME', 'VERSION', 'RULEDESC'] });
    const b = await runCli(['inspect', importerWasm]);
    expect(b.code).toBe(0);
    expectAllSafe(b, 'inspect importer', { visible: ['::add-mask::IMPORT'] });
  });

  it('--json stays valid JSON of the exact values, with nothing raw a log would act on', async () => {
    const r = await runCli(['inspect', hostileWasm, '--json']);
    expect(r.code).toBe(0);
    expectSafe('inspect --json', r.stdout.toString('utf8'));
    const info = JSON.parse(r.stdout.toString('utf8'));
    expect(info.describe.name).toBe(`evil${hostile('NAME')}`);
    expect(info.exports).toContain(`x${hostile('EXPORT')}`);
  });
});

/** A repository with one file whose name is a workflow command; the hostile plugin reports a finding in it. */
function hostileRepo(): string {
  const dir = tempDir('wasmci-hostile-repo-');
  writeFileSync(path.join(dir, HOSTILE_FILE), `token = ${SECRET}\n`);
  return dir;
}

describe('hostile plugin and repository text: wasmci scan --plugin', () => {
  it('the text report escapes plugin name, version, rule ids, descriptions, matches and file names', async () => {
    const dir = hostileRepo();
    const r = await runCli(['scan', dir, '--plugin', hostileWasm, '--jobs', '1']);
    expect(r.code).toBe(1);
    expectAllSafe(r, 'scan text', { visible: ['pwned-by-name.txt', 'NAME', 'VERSION', 'RULEID', 'FINDDESC'] });
    expect(r.stdout.toString()).not.toContain(SECRET);
  });

  it('--format json on stdout is the same data, safe for the log', async () => {
    const dir = hostileRepo();
    const r = await runCli(['scan', dir, '--plugin', hostileWasm, '--jobs', '1', '--format', 'json']);
    expect(r.code).toBe(1);
    expectSafe('scan json', r.stdout.toString('utf8'));
    expectSafe('scan json stderr', r.stderr);
    const report = JSON.parse(r.stdout.toString('utf8'));
    expect(report.findings[0].description).toBe(`desc${hostile('FINDDESC')}`);
    expect(report.findings[0].path).toBe(HOSTILE_FILE);
  });

  it('GitHub Actions: annotations, title, file and job summary carry no raw hostile text', async () => {
    const dir = hostileRepo();
    const gh = tempDir('wasmci-hostile-gh-');
    const summary = path.join(gh, 'summary.md');
    const output = path.join(gh, 'output.txt');
    writeFileSync(summary, '');
    writeFileSync(output, '');
    const r = await runCli(['scan', dir, '--plugin', hostileWasm, '--jobs', '1'], {
      env: { GITHUB_ACTIONS: 'true', CI: 'true', GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output },
    });
    expect(r.code).toBe(1);
    expectAllSafe(r, 'scan github', { github: true, visible: ['FINDDESC'] });
    const annotations = r.stdout
      .toString('utf8')
      .split('\n')
      .filter((l) => OUR_ANNOTATION.test(l));
    expect(annotations).toHaveLength(1);
    // @actions/core escapes ':' and ',' in properties: the file name cannot end the command early.
    expect(annotations[0]).toMatch(/^::error title=[^:]*,file=[^:]*pwned-by-name\.txt,line=1,/);
    const md = readFileSync(summary, 'utf8');
    expectSafe('job summary', md, { visible: ['NAME', 'RULEID'] });
    // A blank line would end the HTML block and let the rest be read as markdown.
    expect(md).not.toMatch(/\n\s*\n(?!$)/);
    expect(md).not.toMatch(/<(?!\/?(?:h2|p|table|tr|th|td|code)>)/);
  });

  it('a hostile .wasmciignore line is echoed escaped in the usage error', async () => {
    const dir = hostileRepo();
    // One line (the file is split at line ends); `##[` right after text, as ` #` would start a comment.
    const line =
      'not-a-hash::add-mask::IGNORE\x1b]0;title\x07\x1b[2J\rsection_start:1:x\r\x1b[0K \u202e x##[add-mask]IGNORE';
    writeFileSync(path.join(dir, '.wasmciignore'), `# reviewed\n${line}\n`);
    const r = await runCli(['scan', dir, '--plugin', hostileWasm]);
    expect(r.code).toBe(2);
    expectAllSafe(r, 'ignore file', { visible: ['::add-mask::IGNORE', '.wasmciignore:2'] });
  });
});

/** A project whose `.wasmci.yml` steps carry hostile text in YAML double-quoted escapes (\e, \a, \r, \n, \u202e). */
function yamlQuoted(text: string): string {
  return JSON.stringify(text).replace(
    /[^\x20-\x7e]/gu,
    (c) => `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`,
  );
}

describe('hostile repository text: wasmci run', () => {
  for (const gitlab of [false, true]) {
    const env = gitlab ? { GITLAB_CI: 'true', CI: 'true' } : {};
    it(`a step's scan path and call function are escaped in section headers and errors${gitlab ? ' (GitLab)' : ''}`, async () => {
      const dir = tempDir('wasmci-hostile-run-');
      mkdirSync(path.join(dir, 'src'));
      writeFileSync(
        path.join(dir, '.wasmci.yml'),
        `version: 1\nrun:\n  steps:\n` +
          `    - name: scan-it\n      scan: { path: ${yamlQuoted(`src${hostile('SCANPATH')}`)} }\n` +
          `    - name: call-it\n      call: { plugin: ${JSON.stringify(hostileWasm)}, function: ${yamlQuoted(`f${hostile('FUNCTION')}`)} }\n`,
      );
      const r = await runCli(['run', '--trust-config'], { cwd: dir, env });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/step scan-it failed/);
      expect(r.stderr).toMatch(/step call-it failed/);
      expectAllSafe(r, 'run steps', { visible: ['::add-mask::SCANPATH', '::add-mask::FUNCTION'] });
      if (gitlab) expect(r.stdout.toString().match(OUR_SECTION)).toHaveLength(4);
    });
  }

  it('a hostile step name is echoed escaped in the config error', async () => {
    const dir = tempDir('wasmci-hostile-run-');
    writeFileSync(
      path.join(dir, '.wasmci.yml'),
      `version: 1\nrun:\n  steps:\n    - name: ${yamlQuoted(`n${hostile('STEPNAME')}`)}\n      scan: { path: . }\n`,
    );
    const r = await runCli(['run', '--trust-config'], { cwd: dir, env: { GITLAB_CI: 'true', CI: 'true' } });
    expect(r.code).toBe(2);
    expectAllSafe(r, 'step name', { visible: ['::add-mask::STEPNAME'] });
  });

  it('a call step printing hostile output to the log is escaped line by line', async () => {
    const dir = tempDir('wasmci-hostile-run-');
    writeFileSync(
      path.join(dir, '.wasmci.yml'),
      `version: 1\nrun:\n  steps:\n    - name: show\n      call: { plugin: ${JSON.stringify(hostileWasm)}, function: say }\n`,
    );
    const r = await runCli(['run', '--trust-config'], { cwd: dir });
    expect(r.code).toBe(0);
    expectAllSafe(r, 'call step output', { visible: ['add-mask::STDERR', 'pwned-STDERR'] });
  });
});
