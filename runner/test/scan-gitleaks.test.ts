/**
 * Migrating from gitleaks and GitLab's analyzer: a project's .gitleaks.toml (targetRules, condition, regexTarget,
 * [extend]), .gitleaksignore and .gitlab/secret-detection-ruleset.toml are honoured, narrowing only and visibly; a bad
 * file is exit 2 naming file and line; --config-from feeds any file as plugin config.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, secretsWasm, tempDir } from './helpers/cli.js';
import { GitRepo } from './helpers/git.js';
import { fakeGithubToken } from './helpers/secrets.js';

const RULES = `title = "team rules"
[[rules]]
id = "acme-key"
description = "ACME internal key"
regex = '''acme_[a-z0-9]{24}'''
keywords = ["acme_"]
`;

function project(withToml: boolean): string {
  const dir = tempDir('wasmci-gl-');
  // Assembled at run time: no token-shaped literal in this file.
  writeFileSync(path.join(dir, 'app.cfg'), `key = "${['acme', 'q8z3k1m9x7v2c5n4b6l0p3w8'].join('_')}"\n`);
  if (withToml) writeFileSync(path.join(dir, '.gitleaks.toml'), RULES);
  return dir;
}

const ruleIds = (stdout: Buffer) =>
  (JSON.parse(stdout.toString()).findings as { ruleId: string }[]).map((f) => f.ruleId);

/** `wasmci scan DIR` with the secrets plugin, JSON out, and FILE as the pipeline's gitleaks config. */
const scanWithGitleaksConfig = (dir: string, file: string, ...extra: string[]) =>
  runCli([
    'scan',
    dir,
    '--plugin',
    secretsWasm,
    '--format',
    'json',
    '--config-from',
    `gitleaks_config=${file}`,
    ...extra,
  ]);

describe('gitleaks configuration', () => {
  it('reads the scanned project’s .gitleaks.toml', async () => {
    const dir = project(true);
    const r = await runCli(['scan', dir, '--plugin', secretsWasm, '--format', 'json', '--log-level', 'info']);
    expect(r.code, r.stderr).toBe(1);
    expect(ruleIds(r.stdout)).toEqual(['acme-key']);
    expect(r.stderr).toMatch(
      /warn: \.gitleaks\.toml adds 1 rule\(s\) and \d+ allowlist\(s\) to this scan \(from the checked-out tree; allowlists and disabled rules can hide findings\)/,
    );
    const without = await runCli(['scan', project(false), '--plugin', secretsWasm, '--format', 'json']);
    expect(without.code).toBe(0);
  });

  it('a tree rule with a built-in id takes its place, and the scan says so as a warning', async () => {
    const dir = tempDir('wasmci-gl-');
    writeFileSync(path.join(dir, 'ci.env'), `GITHUB_TOKEN=${fakeGithubToken()}\n`);
    const dead = `[[rules]]\nid = "github-pat"\nregex = '''never-matches-[0-9]{99}'''\nkeywords = ["never-matches"]\n`;
    writeFileSync(path.join(dir, '.gitleaks.toml'), dead);
    const r = await runCli(['scan', dir, '--plugin', secretsWasm, '--format', 'json']);
    expect(ruleIds(r.stdout)).not.toContain('github-pat');
    expect(r.stderr).toMatch(
      /warn: \.gitleaks\.toml \(from the checked-out tree\): config rules replace 1 built-in rule\(s\) of secrets: github-pat \(their own regex and allowlists run instead\)/,
    );
    // the pipeline's own config file (not the tree's) may do it too: said at info level
    rmSync(path.join(dir, '.gitleaks.toml'));
    const own = path.join(tempDir(), 'rules.toml');
    writeFileSync(own, dead);
    const t = await scanWithGitleaksConfig(dir, own, '--log-level', 'info');
    expect(t.stderr).toMatch(/info: config rules replace 1 built-in rule\(s\) of secrets: github-pat/);
    expect(t.stderr).not.toMatch(/warn: .*replace/);
  });

  it('--config-from KEY=FILE passes a file as a plugin config value; a missing file is a usage error', async () => {
    const dir = project(false);
    const rules = path.join(tempDir(), 'rules.toml');
    writeFileSync(rules, RULES);
    const r = await scanWithGitleaksConfig(dir, rules);
    expect(r.code, r.stderr).toBe(1);
    expect(ruleIds(r.stdout)).toEqual(['acme-key']);
    const missing = await runCli([
      'scan',
      dir,
      '--plugin',
      secretsWasm,
      '--config-from',
      'gitleaks_config=/nonexistent.toml',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--config-from .* cannot be read \(ENOENT\)/);
  });
});

/** Findings as (rule, path) pairs, for readable assertions. */
const found = (stdout: Buffer) =>
  (JSON.parse(stdout.toString()).findings as { ruleId: string; path: string; severity: string }[]).map(
    (f) => `${f.ruleId} ${f.path} ${f.severity}`,
  );

const ACME_KEY = () => ['acme', 'q8z3k1m9x7v2c5n4b6l0p3w8'].join('_');

/** A project with a GitHub token and an ACME key in test/ and in src/, plus the given files. */
function tree(files: Record<string, string>, token = fakeGithubToken()): string {
  const dir = tempDir('wasmci-gl-');
  const put = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  for (const d of ['test', 'src']) put(`${d}/app.cfg`, `see ${token}\nkey = "${ACME_KEY()}"\n`);
  for (const [rel, text] of Object.entries(files)) put(rel, text);
  return dir;
}

const scanJson = (dir: string, ...more: string[]) =>
  runCli(['scan', dir, '--plugin', secretsWasm, '--format', 'json', ...more]);

describe('gitleaks configuration, fully', () => {
  it('[[allowlists]] with targetRules silences only the rules it names (gitleaks ids too)', async () => {
    const dir = tree({
      '.gitleaks.toml': `${RULES}\n[[allowlists]]\ntargetRules = ["acme-key"]\npaths = ['''^test/''']\n`,
    });
    const r = await scanJson(dir);
    expect(r.code, r.stderr).toBe(1);
    expect(found(r.stdout)).toEqual([
      'github-pat src/app.cfg critical',
      'acme-key src/app.cfg high',
      'github-pat test/app.cfg critical',
    ]);
    // gitleaks' id of our github-pat rule names it too
    const byGitleaksId = tree({
      '.gitleaks.toml': `${RULES}\n[[allowlists]]\ntargetRules = ["github-pat"]\ncondition = "AND"\npaths = ['''^test/''']\nregexTarget = "line"\nregexes = ['''^see ''']\n`,
    });
    const r2 = await scanJson(byGitleaksId);
    expect(found(r2.stdout)).toEqual([
      'github-pat src/app.cfg critical',
      'acme-key src/app.cfg high',
      'acme-key test/app.cfg high',
    ]);
  }, 180_000); // several CLI runs each; the machine is shared

  it('[extend]: disabledRules narrows, path reads a base inside the tree and nothing outside it', async () => {
    const dir = tree({
      '.gitleaks.toml': `[extend]\nuseDefault = true\npath = "ci/gitleaks-base.toml"\ndisabledRules = ["github-pat"]\n`,
      'ci/gitleaks-base.toml': RULES,
    });
    const r = await runCli(['scan', dir, '--plugin', secretsWasm, '--format', 'json', '--log-level', 'info']);
    expect(found(r.stdout)).toEqual(['acme-key src/app.cfg high', 'acme-key test/app.cfg high']);
    expect(r.stderr).toMatch(/\.gitleaks\.toml adds 0 rule\(s\) .*\(extending ci\/gitleaks-base\.toml\)/);

    const outside = tempDir('wasmci-outside-');
    writeFileSync(path.join(outside, 'base.toml'), RULES);
    for (const [p, why] of [
      [path.join(outside, 'base.toml'), /is an absolute path/],
      [path.relative(dir, path.join(outside, 'base.toml')), /is outside the scanned directory/],
      ['ci/link.toml', /is not a regular file inside the tree \(symlinks are refused\)/],
      ['linked-dir/base.toml', /is not a regular file inside the tree/],
    ] as const) {
      symlinkSync(path.join(outside, 'base.toml'), path.join(dir, 'ci/link.toml'));
      symlinkSync(outside, path.join(dir, 'linked-dir'));
      writeFileSync(path.join(dir, '.gitleaks.toml'), `title = "t"\n[extend]\npath = "${p}"\n`);
      const bad = await scanJson(dir);
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr).toMatch(/\.gitleaks\.toml:3: \[extend\] path: /);
      expect(bad.stderr).toMatch(why);
      rmSync(path.join(dir, 'ci/link.toml'));
      rmSync(path.join(dir, 'linked-dir'));
    }
  }, 180_000); // several CLI runs each; the machine is shared

  it('a bad config file is exit 2 naming the file and line', async () => {
    for (const [toml, message] of [
      ['title = "x"\n[[rules]\nid = "a"\n', /\.gitleaks\.toml:2: /],
      [`${RULES}\n[[rules]]\nid = "broken"\nregex = '''(unclosed'''\n`, /\.gitleaks\.toml:9: rule 'broken': invalid/],
      [`${RULES}\n[[allowlists]]\ntargetRules = ["nope"]\npaths = ['''x''']\n`, /\.gitleaks\.toml:9: .*'nope'/],
      [`${RULES}\n[[allowlists]]\ncondition = "MAYBE"\npaths = ['''x''']\n`, /\.gitleaks\.toml:9: .*condition 'MAYBE'/],
    ] as const) {
      const r = await scanJson(tree({ '.gitleaks.toml': toml }));
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  }, 180_000); // several CLI runs each; the machine is shared

  it('.gitleaksignore: file:rule:line and commit:file:rule:line drop findings, counted; a bad line is exit 2', async () => {
    const dir = tree({
      '.gitleaksignore': '# reviewed\nsrc/app.cfg:github-pat:1\ntest/app.cfg:acme-key:2\n',
      '.gitleaks.toml': RULES,
    });
    const r = await runCli(['scan', dir, '--plugin', secretsWasm, '--format', 'json']);
    expect(found(r.stdout)).toEqual(['acme-key src/app.cfg high', 'github-pat test/app.cfg critical']);
    expect(r.stderr).toMatch(/the checked-out tree suppressed: 2 finding\(s\) ignored by \.gitleaksignore/);

    // A .gitleaksignore that links to a host file is not read (an error would quote its lines).
    const host = path.join(tempDir('wasmci-host-'), 'shadow');
    writeFileSync(host, 'root:$6$notafingerprint\n');
    const linked = tree({});
    symlinkSync(host, path.join(linked, '.gitleaksignore'));
    const l = await scanJson(linked);
    expect(l.code, l.stderr).toBe(1);
    expect(l.stderr).not.toContain('notafingerprint');

    const bad = await scanJson(tree({ '.gitleaksignore': 'src/app.cfg:github-pat:1\nsrc/app.cfg:github-pat\n' }));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/\.gitleaksignore:2: "src\/app\.cfg:github-pat" is not a gitleaks fingerprint/);

    // A history scan's findings carry their commit: only commit-qualified entries name them.
    const repo = GitRepo.init();
    const token = fakeGithubToken();
    repo.write('a.env', `T=${token}\n`);
    const sha = repo.commit('add');
    repo.write('.gitleaksignore', `a.env:github-pat:1\n`).commit('ignore without commit');
    const h1 = await scanJson(repo.dir, '--history');
    expect(found(h1.stdout)).toEqual(['github-pat a.env critical']);
    repo.write('.gitleaksignore', `${sha}:a.env:github-pat:1\n`).commit('ignore with commit');
    const h2 = await scanJson(repo.dir, '--history');
    expect(h2.code, h2.stderr).toBe(0);
    expect(found(h2.stdout)).toEqual([]);
  }, 180_000); // several CLI runs each; the machine is shared

  it('.gitlab/secret-detection-ruleset.toml: disable and override by gitleaks id, a file passthrough; a git passthrough refused', async () => {
    const ruleset = [
      '[secrets]',
      '[[secrets.ruleset]]',
      '  disable = true',
      '  [secrets.ruleset.identifier]',
      '    type = "gitleaks_rule_id"',
      '    value = "github-pat"',
      '[[secrets.ruleset]]',
      '  [secrets.ruleset.identifier]',
      '    type = "gitleaks_rule_id"',
      '    value = "acme-key"',
      '  [secrets.ruleset.override]',
      '    severity = "Low"',
      '    description = "ACME key (reviewed)"',
      '[[secrets.passthrough]]',
      '  type = "file"',
      '  target = "gitleaks.toml"',
      '  value = "ci/acme.toml"',
      '[[secrets.passthrough]]',
      '  type = "git"',
      '  value = "https://example.com/rules.git"',
      '',
    ].join('\n');
    const dir = tree({ '.gitlab/secret-detection-ruleset.toml': ruleset, 'ci/acme.toml': RULES });
    const r = await scanJson(dir, '--log-level', 'warn');
    expect(r.code, r.stderr).toBe(1);
    expect(found(r.stdout)).toEqual(['acme-key src/app.cfg low', 'acme-key test/app.cfg low']);
    const f = JSON.parse(r.stdout.toString()).findings[0];
    expect(f.description).toBe('ACME key (reviewed)');
    expect(r.stderr).toMatch(/a git passthrough is ignored: wasmci loads no rules over the network/);
    expect(r.stderr).toMatch(/secret-detection-ruleset\.toml changes this scan's rules .*from the checked-out tree/);

    writeFileSync(path.join(dir, 'ci/acme.toml'), `${RULES}\n[[rules]]\nid = "b"\nregex = '''(x'''\n`);
    const bad = await scanJson(dir);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toMatch(/ci\/acme\.toml:9: rule 'b'/);
    writeFileSync(path.join(dir, '.gitlab/secret-detection-ruleset.toml'), '[secrets\n');
    const syntax = await scanJson(dir);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(/secret-detection-ruleset\.toml:1: /);
  }, 180_000); // several CLI runs each; the machine is shared
});
