/** Migrating from gitleaks: a project's .gitleaks.toml is honoured; --config-from feeds any file as plugin config. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, secretsWasm, tempDir } from './helpers/cli.js';

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

describe('gitleaks configuration', () => {
  it('reads the scanned project’s .gitleaks.toml', async () => {
    const dir = project(true);
    const r = await runCli(['scan', dir, '--plugin', secretsWasm, '--format', 'json', '--log-level', 'info']);
    expect(r.code, r.stderr).toBe(1);
    expect(ruleIds(r.stdout)).toEqual(['acme-key']);
    expect(r.stderr).toMatch(
      /warn: \.gitleaks\.toml adds 1 rule\(s\) and \d+ allowlist\(s\) to this scan \(from the checked-out tree; allowlists can hide findings\)/,
    );
    const without = await runCli(['scan', project(false), '--plugin', secretsWasm, '--format', 'json']);
    expect(without.code).toBe(0);
  });

  it('--config-from KEY=FILE passes a file as a plugin config value; a missing file is a usage error', async () => {
    const dir = project(false);
    const rules = path.join(tempDir(), 'rules.toml');
    writeFileSync(rules, RULES);
    const r = await runCli([
      'scan',
      dir,
      '--plugin',
      secretsWasm,
      '--format',
      'json',
      '--config-from',
      `gitleaks_config=${rules}`,
    ]);
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
