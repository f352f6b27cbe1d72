/**
 * Pure rules of one scan request: precedence (request > project config > defaults), what an untrusted project
 * config may do (narrow, visibly) and may not (choose the plugin), the grants vocabulary, and the run-config
 * trust check. No bundle, no plugin: these run in milliseconds.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { untrustedAsks } from '../../src/cli/run.js';
import { parseRunConfig } from '../../src/config/steps.js';
import { findCheckout, inCheckout } from '../../src/core/checkout.js';
import { policyFrom, wideningGrants } from '../../src/plugin/policy.js';
import { gitleaksCounts } from '../../src/scan/index.js';
import { type ScanRequest, settleScan } from '../../src/scan/settle.js';

const MiB = 1024 * 1024;
const facts = (over: Partial<Parameters<typeof settleScan>[2]> = {}) => ({
  trusted: false,
  cores: 2,
  env: {},
  memoryMaxBytes: 256 * MiB,
  ...over,
});
const req = (over: Partial<ScanRequest> = {}): ScanRequest => ({ path: '.', cwd: '/w', grants: {}, ...over });
const project = { file: '/w/.wasmci.yml', scan: {} };

describe('settleScan', () => {
  it('takes the request first, then the project config, then the defaults', () => {
    const cfg = { file: '/w/.wasmci.yml', scan: { failOn: 'high' as const, maxFileSizeMiB: 2, exclude: ['a/**'] } };
    const d = settleScan(req(), { scan: {} }, facts());
    expect([d.failOn, d.maxFileBytes, d.jobs, d.gitignore, d.redact]).toEqual(['low', 10 * MiB, 2, true, true]);
    const p = settleScan(req(), cfg, facts());
    expect([p.failOn, p.maxFileBytes, p.exclude]).toEqual(['high', 2 * MiB, ['a/**']]);
    const r = settleScan(req({ failOn: 'critical', maxFileSizeMiB: 1, exclude: ['b/**'] }), cfg, facts());
    expect([r.failOn, r.maxFileBytes, r.exclude]).toEqual(['critical', MiB, ['a/**', 'b/**']]);
    expect(settleScan(req(), { scan: {} }, facts({ cores: 16 })).jobs).toBe(4);
  });

  it('an untrusted project config cannot choose the plugin; a trusted one can; the request always can', () => {
    const cfg = { ...project, scan: { plugin: 'evil.wasm' } };
    const u = settleScan(req(), cfg, facts());
    expect(u.plugin).toBeUndefined();
    expect(u.refused).toEqual(['scan.plugin (evil.wasm)']);
    expect(settleScan(req(), cfg, facts({ trusted: true })).plugin).toBe('evil.wasm');
    expect(settleScan(req({ plugin: 'mine.wasm' }), cfg, facts()).plugin).toBe('mine.wasm');
  });

  it('verification: only the request or a trusted config turns it on; --only-verified needs it; routes are loopback', () => {
    const cfg = { ...project, scan: { verify: true } };
    const u = settleScan(req(), cfg, facts());
    expect(u.verify).toBeUndefined();
    expect(u.refused).toEqual(['scan.verify (live verification sends found secrets to their vendors)']);
    expect(settleScan(req(), cfg, facts({ trusted: true })).verify?.budgetMs).toBe(60_000);
    const r = settleScan(
      req({ verify: true, verifyTimeoutS: 5, resolve: ['API.GitHub.com=http://127.0.0.1:9/gh/'], onlyVerified: true }),
      { scan: {} },
      facts(),
    );
    expect(r.verify).toEqual({ budgetMs: 5000, resolve: new Map([['api.github.com', 'http://127.0.0.1:9/gh']]) });
    expect(r.onlyVerified).toBe(true);
    expect(() => settleScan(req({ onlyVerified: true }), { scan: {} }, facts())).toThrow(/needs --verify/);
    for (const bad of [
      'api.github.com=http://10.0.0.1',
      'api.github.com',
      'h=ftp://127.0.0.1',
      'h=http://u:p@127.0.0.1',
    ]) {
      expect(() => settleScan(req({ verify: true, resolve: [bad] }), { scan: {} }, facts())).toThrow(/--resolve/);
    }
    expect(settleScan(req({ resolve: ['a.b=http://[::1]:1'] }), { scan: {} }, facts()).warnings).toEqual([
      '--resolve has no effect without --verify: nothing is verified',
    ]);
  });

  it('lists what an untrusted project config narrows, and nothing the request already set', () => {
    const cfg = {
      ...project,
      scan: {
        failOn: 'none' as const,
        include: ['src/**'],
        overrides: [
          { rule: 'jwt', severity: 'off' as const },
          { path: 'x', severity: 'low' as const },
        ],
        pluginConfig: { disable: 'jwt', severity: '{}' },
      },
    };
    expect(settleScan(req(), cfg, facts()).narrowing).toEqual([
      'fail_on: none',
      'include: 1 glob',
      'overrides: 2, 1 turning findings off',
      'plugin_config: disable, severity',
    ]);
    const flagged = settleScan(req({ failOn: 'low', grants: { config: { disable: '' } } }), cfg, facts());
    expect(flagged.narrowing).toEqual([
      'include: 1 glob',
      'overrides: 2, 1 turning findings off',
      'plugin_config: severity',
    ]);
    expect(flagged.grants.config).toEqual({ disable: '', severity: '{}' }); // the request's value wins
    expect(settleScan(req(), cfg, facts({ trusted: true })).narrowing).toEqual([]);
  });

  it('settles the target and clamps the file size to the plugin memory', () => {
    expect(
      settleScan(req({ diff: true }), { scan: {} }, facts({ env: { CI_MERGE_REQUEST_DIFF_BASE_SHA: 'abc' } })).target,
    ).toEqual({ mode: 'diff', base: 'abc' });
    expect(() => settleScan(req({ diff: true }), { scan: {} }, facts())).toThrow(/CI_MERGE_REQUEST_DIFF_BASE_SHA/);
    expect(() => settleScan(req({ diff: 'a', history: true }), { scan: {} }, facts())).toThrow(/cannot be combined/);
    expect(settleScan(req({ history: true }), { scan: {} }, facts()).target).toEqual({
      mode: 'history',
      range: 'HEAD',
    });
    const big = settleScan(req({ maxFileSizeMiB: 900 }), { scan: {} }, facts());
    expect(big.maxFileBytes).toBe(256 * MiB);
    expect(big.warnings[0]).toMatch(/over the plugin memory limit/);
  });
});

describe('grants', () => {
  it('widening grants are the ones that reach or spend more than the defaults', () => {
    expect(wideningGrants({ config: { a: 'b' }, timeoutMs: 1000, memoryMaxMiB: 64 }, { timeoutMs: 60_000 })).toEqual(
      [],
    );
    expect(
      wideningGrants(
        {
          mounts: [{ host: '.', guest: '/m', readOnly: true }],
          allowHosts: ['x.com'],
          env: ['A'],
          wasiOutput: true,
          timeoutMs: 61_000,
          memoryMaxMiB: 257,
          maxOutputMiB: 65,
        },
        { timeoutMs: 60_000 },
      ),
    ).toEqual(['allow_paths', 'allow_hosts', 'env', 'wasi', 'timeout', 'memory_max', 'max_output']);
  });

  it('policyFrom resolves mounts against cwd, copies env, and refuses an unset variable', () => {
    const dir = path.join(os.tmpdir(), `wasmci-unit-${process.pid}`);
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    const p = policyFrom(
      { mounts: [{ host: 'data', guest: 'mnt', readOnly: true }], env: ['TOK'], config: { k: 'v' } },
      { cwd: dir, env: { TOK: 't' }, timeoutMs: 5 },
    );
    expect(p.mounts[0]).toMatchObject({ guest: '/mnt', readOnly: true });
    expect(p.config).toEqual({ k: 'v', TOK: 't' });
    expect(p.timeoutMs).toBe(5);
    expect(() => policyFrom({ env: ['NOPE'] }, { cwd: dir, env: {}, timeoutMs: 5 })).toThrow(/NOPE.*not set/);
  });
});

describe('a run config from the checked-out tree', () => {
  it('lists every grant, plugin choice and outside path it asks for', () => {
    const dir = path.join(os.tmpdir(), `wasmci-unit-run-${process.pid}`);
    mkdirSync(path.join(dir, '.git'), { recursive: true });
    const cfg = parseRunConfig(
      `run:
  reports: { json: ../out.json }
  steps:
    - name: ok
      scan: { path: src, fail_on: high }
      config: { disable: jwt }
    - name: swap
      scan: { path: ., plugin: x.wasm }
    - name: grant
      call: { plugin: y.wasm, function: f }
      allow_paths: { /proc/self: /p }
    - name: live
      scan: { path: ., verify: true }
`,
      path.join(dir, '.wasmci.yml'),
    );
    const checkout = findCheckout({}, dir, [dir]);
    expect(inCheckout(checkout, path.join(dir, 'src/a'))).toBe(true);
    expect(untrustedAsks(cfg, checkout).map((a) => a.replace(/^.*\(step /, '(step '))).toEqual([
      'run.reports.json ../out.json is outside the checked-out tree',
      '(step swap): chooses plugin x.wasm',
      '(step grant): grants allow_paths',
      '(step grant): runs plugin y.wasm',
      '(step live): turns on verify (network to vendors)',
    ]);
  });

  it('counts a .gitleaks.toml’s rules and allowlists for the visible note', () => {
    expect(
      gitleaksCounts('[[rules]]\nid="a"\n[[rules.allowlists]]\n[[rules]]\n [allowlist]\npaths=[]\n[[allowlists]]\n'),
    ).toEqual({ rules: 2, allowlists: 3 });
  });
});
