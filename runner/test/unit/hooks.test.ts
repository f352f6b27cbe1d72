/**
 * Pure rules of the git hooks: what is read from git's stdin and environment, which commits a push brings, who
 * may skip the scan, how a hook is written, chained and removed, and that scan modes exclude each other. No CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliCommand, hookScript, installHook, MARKER, shQuote, uninstallHook } from '../../src/hooks/install.js';
import { refusal, skippedNote, withinBudget } from '../../src/hooks/gate.js';
import type { Finding, ScanResult } from '../../src/core/model.js';
import {
  parsePushLines,
  parseReceiveLines,
  prePushRange,
  pushOptions,
  receiveRange,
  skipDecision,
} from '../../src/hooks/refs.js';
import { settleScan } from '../../src/scan/settle.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);

describe('ref update lines', () => {
  it('parses pre-receive and pre-push lines, SHA-1 and SHA-256, and refuses anything else', () => {
    expect(parseReceiveLines(`${Z} ${A} refs/heads/new\n${A} ${Z} refs/heads/gone\r\n\n`)).toEqual([
      { old: Z, new: A, ref: 'refs/heads/new' },
      { old: A, new: Z, ref: 'refs/heads/gone' },
    ]);
    const long = 'c'.repeat(64);
    expect(parseReceiveLines(`${A} ${long} refs/tags/v1`)[0]?.new).toBe(long);
    expect(parsePushLines(`refs/heads/main ${A} refs/heads/main ${B}\n`)).toEqual([
      { new: A, ref: 'refs/heads/main', old: B },
    ]);
    for (const bad of [`--all ${A} refs/heads/x`, `${A} HEAD refs/heads/x`, `${A} ${B}`, `${A} ${B} r extra`]) {
      expect(() => parseReceiveLines(bad)).toThrow(/not a ref update line/);
    }
    expect(() => parsePushLines(`refs/heads/x -n refs/heads/x ${B}`)).toThrow(/not a ref update line/);
  });

  it('a server scans every new tip against all it has; deletions bring nothing', () => {
    const r = receiveRange(parseReceiveLines(`${Z} ${A} refs/heads/x\n${B} ${A} refs/heads/y\n${A} ${Z} refs/heads/z`));
    expect(r).toEqual({ tips: [A], exclude: ['--all'], server: true });
    expect(receiveRange(parseReceiveLines(`${A} ${Z} refs/heads/z`)).tips).toEqual([]);
  });

  it('a client scans its new tips against the remote tips it knows and every remote-tracking ref', () => {
    const ups = parsePushLines(
      `refs/heads/a ${A} refs/heads/a ${B}\nrefs/heads/n ${A} refs/heads/n ${Z}\n(delete) ${Z} refs/heads/d ${B}`,
    );
    expect(prePushRange(ups, () => true)).toEqual({ tips: [A], exclude: [B, '--remotes'] });
    expect(prePushRange(ups, () => false)).toEqual({ tips: [A], exclude: ['--remotes'] });
  });
});

describe('push options', () => {
  it('are read from GIT_PUSH_OPTION_COUNT/_N; skipping needs the server to allow it', () => {
    const env = { GIT_PUSH_OPTION_COUNT: '2', GIT_PUSH_OPTION_0: 'ci.skip', GIT_PUSH_OPTION_1: 'wasmci.skip' };
    expect(pushOptions(env)).toEqual(['ci.skip', 'wasmci.skip']);
    expect(pushOptions({ GIT_PUSH_OPTION_COUNT: 'x' })).toEqual([]);
    expect(skipDecision(env)).toBe('refused');
    expect(skipDecision({ ...env, WASMCI_ALLOW_SKIP: 'true' })).toBe('refused');
    expect(skipDecision({ ...env, WASMCI_ALLOW_SKIP: '1' })).toBe('skip');
    expect(skipDecision({ WASMCI_ALLOW_SKIP: '1' })).toBe('none');
  });
});

describe('the time budget', () => {
  it('returns the work when it finishes in time, else fails open (0) or closed (1) and says so', async () => {
    const said: string[] = [];
    expect(await withinBudget(Promise.resolve(3), 1000, 1000, 'closed', (l) => said.push(l))).toBe(3);
    const never = new Promise<number>(() => {});
    expect(await withinBudget(never, 20, 10, 'closed', (l) => said.push(l))).toBe(1);
    expect(await withinBudget(never, 20, 0, 'open', (l) => said.push(l))).toBe(0);
    expect(said).toEqual([
      expect.stringMatching(/push refused: the scan did not finish within 0\.02 s/),
      expect.stringMatching(/ACCEPTED UNSCANNED/),
    ]);
  });
});

describe('the refusal', () => {
  const secret = 'ghp_0123456789abcdefghijklmnopqrstuvwxyz';
  const finding = {
    ruleId: 'github-pat',
    description: 'GitHub token',
    severity: 'critical',
    path: 'a\u001b[31m.txt',
    startLine: 3,
    endLine: 3,
    startColumn: 1,
    endColumn: 40,
    secret,
    match: `t=${secret}`,
    tags: [],
    secretHash: 'h',
    fingerprint: 'f',
    commit: { sha: 'c'.repeat(40) },
    plugin: { name: 'secrets', version: '1' },
  } as Finding;
  const result = (over: Partial<ScanResult>): ScanResult =>
    ({ findings: [], skipped: [], errors: [], failOn: 'low', ...over }) as unknown as ScanResult;

  it('names rule, file (escaped), line and commit, never the secret; offers the skip only where allowed', () => {
    const r = refusal(result({ findings: [finding] }), 'pre-receive', {}) ?? '';
    expect(r).toContain(`critical github-pat  a\\x1b[31m.txt:3  commit ${'c'.repeat(10)}`);
    expect(r).not.toContain(secret.slice(4, 12));
    expect(r).not.toMatch(/wasmci\.skip/);
    expect(refusal(result({ findings: [finding] }), 'pre-receive', { WASMCI_ALLOW_SKIP: '1' })).toMatch(
      /git push -o wasmci\.skip/,
    );
    expect(refusal(result({ findings: [finding], failOn: 'none' }), 'pre-commit', {})).toBeUndefined();
    expect(refusal(result({ errors: [{ path: 'x', message: 'trap' }] }), 'pre-push', {})).toMatch(
      /1 file in the pushed commits could not be scanned/,
    );
  });

  it('a pass still says what was not scanned', () => {
    expect(skippedNote(result({}))).toBeUndefined();
    const skipped = [{ path: 'dump.sql', reason: 'too-large', detail: 'added content over 10485760 bytes' }];
    expect(skippedNote(result({ skipped } as Partial<ScanResult>))).toBe(
      'wasmci: not scanned: dump.sql (too-large: added content over 10485760 bytes)',
    );
  });
});

describe('hook scripts', () => {
  it('quote paths for sh, including quotes and spaces', () => {
    const out = spawnSync('sh', ['-c', `printf %s ${shQuote("it's a $HOME `x`")}`], { encoding: 'utf8' });
    expect(out.stdout).toBe("it's a $HOME `x`");
  });

  it('start wasmci by absolute paths, or npx --no-install from npx cache', () => {
    const cli = path.join(mkdtempSync(path.join(os.tmpdir(), 'wasmci-cli-')), 'wasmci.cjs');
    writeFileSync(cli, '');
    expect(cliCommand(process.execPath, cli).argv).toEqual([expect.stringMatching(/^\//), cli]);
    expect(cliCommand(process.execPath, '/home/u/.npm/_npx/1234/node_modules/wasmci/runner/dist/wasmci.cjs')).toEqual({
      argv: ['npx', '--no-install', 'wasmci'],
      npx: true,
    });
    expect(cliCommand(process.execPath, process.execPath).argv).toHaveLength(1);
    const s = hookScript('pre-push', { argv: ['/n', '/c'], npx: false }, ['--plugin', '/p.wasm']);
    expect(s).toContain(MARKER);
    expect(s).toContain(`'/n' '/c' 'hook' 'pre-push' '--plugin' '/p.wasm' "$@" <"$input"`);
    expect(s).toMatch(/git push --no-verify/);
    expect(s).toMatch(/wasmci:allow/);
    expect(spawnSync('sh', ['-n', '-c', s]).status).toBe(0);
  });

  it('chain a foreign hook (a symlink stays one), update their own, and restore on uninstall', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wasmci-hooks-'));
    writeFileSync(path.join(dir, 'real-hook'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    symlinkSync('real-hook', path.join(dir, 'pre-commit'));
    const ours = `#!/bin/sh\n${MARKER}\n`;
    const r = installHook(dir, 'pre-commit', ours, false);
    expect(r).toEqual({ file: path.join(dir, 'pre-commit'), action: 'installed', chained: `${r.file}.wasmci-chained` });
    expect(readFileSync(`${r.file}.wasmci-chained`, 'utf8')).toBe('#!/bin/sh\nexit 0\n');
    expect(installHook(dir, 'pre-commit', `${ours}# v2\n`, false).action).toBe('updated');
    expect(readFileSync(r.file, 'utf8')).toBe(`${ours}# v2\n`);
    expect(uninstallHook(dir, 'pre-commit').restored).toBe(r.file);
    expect(readFileSync(r.file, 'utf8')).toBe('#!/bin/sh\nexit 0\n');
    expect(() => installHook('/dev/null', 'pre-commit', ours, false)).toThrow(
      /hooks directory \/dev\/null cannot be used/,
    );
    const none = mkdtempSync(path.join(os.tmpdir(), 'wasmci-hooks-'));
    expect(uninstallHook(none, 'pre-push')).toEqual({ file: path.join(none, 'pre-push'), removed: false });
  });
});

describe('scan modes', () => {
  const facts = { trusted: false, cores: 2, env: {}, memoryMaxBytes: 256 * 1024 * 1024 };
  const req = { path: '.', cwd: '/w', grants: {} };
  it('--staged is one mode value; any two modes are refused together, by name', () => {
    expect(settleScan({ ...req, staged: true }, { scan: {} }, facts).target).toEqual({ mode: 'staged' });
    const push = { tips: [A], exclude: ['--all'], server: true };
    expect(settleScan({ ...req, push }, { scan: {} }, facts).target).toEqual({ mode: 'push', ...push });
    expect(() => settleScan({ ...req, staged: true, diff: 'main' }, { scan: {} }, facts)).toThrow(
      /--diff and --staged cannot be combined/,
    );
    expect(() => settleScan({ ...req, staged: true, history: true }, { scan: {} }, facts)).toThrow(
      /--history and --staged cannot be combined/,
    );
  });
});
