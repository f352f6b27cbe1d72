/**
 * Remediation in every report format: a rule's `remediation` and `docs` (plugin data, through `describe`) become
 * SARIF `help`/`helpUri` with CWE-798 tags, GitLab `solution`/`links` and the gitleaks identifier, a Code Quality
 * description and body, JUnit failure text and a `rotate:` line in the text output for critical and high findings.
 * First from a real scan with the real secrets plugin (aws-access-key-id carries both fields), each report
 * schema-validated; then the renderers on a hand-made result for what one real rule cannot show.
 */
import { randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { Finding, ScanResult } from '../src/core/model.js';
import { renderReport } from '../src/report/index.js';
import { runCli, secretsWasm, tempDir } from './helpers/cli.js';
import { validateCodeQuality, validateGitlabSecretDetection, validateSarif } from './helpers/schemas.js';
import { fakeGithubToken } from './helpers/secrets.js';

// biome-ignore lint/suspicious/noExplicitAny: report JSON is checked by the schemas, not by the type system
type Json = any;

const AWS_DOCS = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html';
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** An AWS access key id in AWS's documented shape (AKIA + 16 base32 characters), random per run. */
function fakeAwsKeyId(): string {
  let s = 'AKIA';
  for (let i = 0; i < 16; i++) s += B32[randomInt(B32.length)];
  return s;
}

describe('remediation from a real scan', () => {
  it('reaches every report format, each valid against its schema', async () => {
    const dir = tempDir('wasmci-remedy-');
    const aws = fakeAwsKeyId();
    const gh = fakeGithubToken();
    writeFileSync(path.join(dir, 'creds.ini'), `aws_access_key_id = ${aws}\n`);
    writeFileSync(path.join(dir, 'gh.env'), `GH_TOKEN=${gh}\n`);
    const out = tempDir('wasmci-remedy-out-');
    const file = (f: string) => path.join(out, f);
    const r = await runCli(
      [
        'scan',
        dir,
        '--plugin',
        secretsWasm,
        ...['gitlab=gl.json', 'sarif=out.sarif', 'codequality=cq.json', 'junit=junit.xml'].flatMap((x) => [
          '--report',
          `${x.split('=')[0]}=${file(x.split('=')[1] as string)}`,
        ]),
      ],
      { env: { CI_PROJECT_DIR: dir } },
    );
    expect(r.code, r.stderr).toBe(1);
    const text = r.stdout.toString();
    expect(text).not.toContain(aws);

    // text: the rotate line under the high AWS finding
    const awsBlock = text.slice(text.indexOf('creds.ini'), text.indexOf('gh.env'));
    expect(awsBlock).toMatch(new RegExp(`rotate: ${AWS_DOCS.replace(/[.]/g, '\\.')}`));

    // GitLab: gitleaks identifier first, then ours, then CWE-798; solution and links from the rule
    const gl = JSON.parse(readFileSync(file('gl.json'), 'utf8')) as Json;
    expect(validateGitlabSecretDetection(gl)).toEqual([]);
    const v = gl.vulnerabilities.find((x: Json) => x.location.file === 'creds.ini');
    expect(v.identifiers).toEqual([
      { type: 'gitleaks_rule_id', name: 'Gitleaks rule ID aws-access-token', value: 'aws-access-token' },
      { type: 'secrets_rule_id', name: 'secrets rule aws-access-key-id', value: 'aws-access-key-id' },
      { type: 'cwe', name: 'CWE-798', value: '798', url: 'https://cwe.mitre.org/data/definitions/798.html' },
    ]);
    expect(v.solution).toMatch(/^Deactivate and delete the access key in IAM/);
    expect(v.links).toEqual([{ name: expect.stringContaining('documentation'), url: AWS_DOCS }]);
    const g = gl.vulnerabilities.find((x: Json) => x.location.file === 'gh.env');
    expect(g.identifiers[0]).toMatchObject({ type: 'gitleaks_rule_id', value: 'github-pat' });

    // SARIF: help text and markdown, helpUri, security-severity and CWE tags on the rule
    const sarif = JSON.parse(readFileSync(file('out.sarif'), 'utf8')) as Json;
    expect(validateSarif(sarif)).toEqual([]);
    const rule = sarif.runs[0].tool.driver.rules.find((x: Json) => x.id === 'aws-access-key-id');
    expect(rule.helpUri).toBe(AWS_DOCS);
    expect(rule.help.text).toMatch(/^Deactivate and delete the access key in IAM.*\nDocumentation: https:/s);
    expect(rule.help.markdown).toContain(`[Documentation](<${AWS_DOCS}>)`);
    expect(rule.properties['security-severity']).toBe('8.0');
    expect(rule.properties.tags).toEqual(expect.arrayContaining(['security', 'CWE-798', 'external/cwe/cwe-798']));

    // Code Quality: the docs URL in the description, the remediation as the body
    const cq = JSON.parse(readFileSync(file('cq.json'), 'utf8')) as Json;
    expect(validateCodeQuality(cq)).toEqual([]);
    const issue = cq.find((x: Json) => x.check_name === 'aws-access-key-id');
    expect(issue.description).toContain(`rotate: ${AWS_DOCS}`);
    expect(issue.content.body).toMatch(/^Deactivate and delete/);

    // JUnit: the failure lists the findings, then what to do
    const junit = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(file('junit.xml'), 'utf8')) as Json;
    const cases = [junit.testsuites.testsuite.testcase].flat();
    const awsCase = cases.find((c: Json) => String(c['@_name']).startsWith('aws-access-key-id:'));
    expect(awsCase.failure['#text']).toMatch(
      /creds\.ini:1:\d+ \[high\].*\n\nDeactivate and delete .*\nDocumentation: https:/s,
    );
  });
});

/** A result by hand: one rule with remediation text full of markdown syntax, findings at two severities. */
function result(): ScanResult {
  const base: Omit<Finding, 'severity' | 'startLine' | 'fingerprint'> = {
    ruleId: 'acme-key',
    description: 'ACME key',
    path: 'a.env',
    endLine: 1,
    startColumn: 1,
    endColumn: 10,
    secret: 'acme_0123456789',
    match: 'acme_0123456789',
    tags: ['secret'],
    secretHash: 'a'.repeat(64),
    plugin: { name: 'fixture', version: '1.0.0' },
  };
  const now = new Date(0).toISOString();
  return {
    tool: { name: 'wasmci', version: '0.0.0' },
    plugin: {
      name: 'fixture',
      version: '1.0.0',
      kind: 'scan',
      protocol: 1,
      rules: [
        {
          id: 'acme-key',
          description: 'ACME key',
          severity: 'high',
          tags: ['secret'],
          remediation: 'Revoke it at [ACME](javascript:alert) *now* <b>',
          docs: 'https://acme.example/keys',
        },
      ],
    },
    target: { root: '/src', mode: 'files' },
    findings: [
      { ...base, severity: 'high', startLine: 1, fingerprint: 'b'.repeat(64) },
      { ...base, severity: 'medium', startLine: 2, endLine: 2, fingerprint: 'c'.repeat(64) },
    ],
    skipped: [],
    errors: [],
    stats: { files: 1, bytes: 10, durationMs: 1, startedAt: now, finishedAt: now },
  };
}

describe('remediation in the renderers', () => {
  it('markdown in plugin text is escaped; rotate only for critical and high; no gitleaks id when none maps', () => {
    const r = result();
    const sarif = JSON.parse(renderReport('sarif', r, { redact: true })) as Json;
    expect(validateSarif(sarif)).toEqual([]);
    const md = sarif.runs[0].tool.driver.rules[0].help.markdown as string;
    expect(md).toContain('Revoke it at \\[ACME\\]\\(javascript:alert\\) \\*now\\* \\<b\\>');
    const text = renderReport('text', r, { redact: true });
    expect(text.match(/rotate: https:\/\/acme\.example\/keys/g)).toHaveLength(1);
    expect(text.indexOf('rotate:')).toBeLessThan(text.indexOf('  2:1'));
    const gl = JSON.parse(renderReport('gitlab', r, { redact: true, env: {} })) as Json;
    expect(validateGitlabSecretDetection(gl)).toEqual([]);
    expect(gl.vulnerabilities[0].identifiers.map((i: Json) => i.type)).toEqual(['fixture_rule_id', 'cwe']);
    expect(gl.vulnerabilities[0].solution).toMatch(/^Revoke it at \[ACME\]/);
  });

  it('a rule without remediation keeps the generic solution and no help link', () => {
    const r = result();
    r.plugin.rules = [{ id: 'acme-key', description: 'ACME key', severity: 'high', tags: ['secret'] }];
    const gl = JSON.parse(renderReport('gitlab', r, { redact: true, env: {} })) as Json;
    expect(gl.vulnerabilities[0].solution).toMatch(/^Remove it from the code/);
    expect(gl.vulnerabilities[0].links).toBeUndefined();
    const rule = JSON.parse(renderReport('sarif', r, { redact: true })).runs[0].tool.driver.rules[0];
    expect(rule.helpUri).toBeUndefined();
    expect(rule.help.text).toMatch(/^Remove it from the code/);
    expect(renderReport('text', r, { redact: true })).not.toContain('rotate:');
  });
});
