/**
 * JUnit XML, for GitLab's test report (`artifacts:reports:junit`) and any CI test tab. One test suite per scan,
 * one test case per rule of the plugin's catalogue: a rule with findings fails and lists them (file:line, no
 * secret unless unredacted output was asked for); a rule without passes, so the tab shows what was checked.
 * Scan errors are one more test case with an <error>.
 */
import type { Finding, ScanResult } from '../core/model.js';
import type { ReportOptions } from './index.js';
import { redactSecret } from './redact.js';
import { ruleCatalogue } from './rules.js';

/** XML 1.0 cannot carry most control characters even escaped: they are dropped. */
function xml(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function findingLine(f: Finding, opts: ReportOptions): string {
  const where = `${f.path}:${f.startLine}:${f.startColumn}`;
  const secret = opts.redact ? redactSecret(f.secret) : f.secret;
  const commit = f.commit ? ` commit ${f.commit.sha.slice(0, 12)}` : '';
  return `${where} [${f.severity}] ${secret}${commit} (fingerprint ${f.fingerprint})`;
}

function suite(r: ScanResult, opts: ReportOptions): { xml: string; tests: number; failures: number; errors: number } {
  const byRule = new Map<string, Finding[]>();
  for (const f of r.findings) byRule.set(f.ruleId, [...(byRule.get(f.ruleId) ?? []), f]);
  const name = `wasmci ${r.plugin.name}`;
  const cases: string[] = [];
  let failures = 0;
  for (const rule of ruleCatalogue(r)) {
    const found = byRule.get(rule.id) ?? [];
    const head = `    <testcase classname="${xml(name)}" name="${xml(`${rule.id}: ${rule.description}`)}" time="0">`;
    if (found.length === 0) {
      cases.push(`${head}</testcase>`);
      continue;
    }
    failures++;
    const files = new Set(found.map((f) => f.path)).size;
    const message = `${found.length} finding${found.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}`;
    const help = [rule.remediation, rule.docs && `Documentation: ${rule.docs}`].filter(Boolean);
    const body = [...found.map((f) => findingLine(f, opts)), ...(help.length ? ['', ...help] : [])].join('\n');
    cases.push(
      `${head}\n      <failure type="${xml(rule.id)}" message="${xml(message)}">${xml(body)}</failure>\n    </testcase>`,
    );
  }
  const errors = r.errors.length > 0 ? 1 : 0;
  if (errors) {
    const body = r.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('\n');
    cases.push(
      `    <testcase classname="${xml(name)}" name="scan errors" time="0">\n      <error type="scan-error" message="${xml(`${r.errors.length} scan error${r.errors.length === 1 ? '' : 's'}`)}">${xml(body)}</error>\n    </testcase>`,
    );
  }
  const tests = cases.length;
  const attrs =
    `name="${xml(name)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="0" ` +
    `time="${seconds(r.stats.durationMs)}" timestamp="${xml(r.stats.startedAt.replace(/Z$/, ''))}"`;
  const props = [
    ['plugin', `${r.plugin.name} ${r.plugin.version}`],
    ['wasmci', r.tool.version],
    ['files', String(r.stats.files)],
    ['skipped_files', String(r.skipped.length)],
  ]
    .map(([k, v]) => `      <property name="${xml(k as string)}" value="${xml(v as string)}"/>`)
    .join('\n');
  return {
    xml: `  <testsuite ${attrs}>\n    <properties>\n${props}\n    </properties>\n${cases.join('\n')}\n  </testsuite>`,
    tests,
    failures,
    errors,
  };
}

export function renderJunit(results: readonly ScanResult[], opts: ReportOptions): string {
  const suites = results.map((r) => suite(r, opts));
  const sum = (k: 'tests' | 'failures' | 'errors') => suites.reduce((n, s) => n + s[k], 0);
  const time = seconds(results.reduce((n, r) => n + r.stats.durationMs, 0));
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="wasmci" tests="${sum('tests')}" failures="${sum('failures')}" errors="${sum('errors')}" time="${time}">\n` +
    `${suites.map((s) => s.xml).join('\n')}\n</testsuites>\n`
  );
}
