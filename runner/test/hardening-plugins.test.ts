/**
 * Hostile plugins during a scan (scan.test.ts covers a trap, a timeout and a lying answer; sandbox-hostile.test.ts
 * and call.test.ts cover `call`): garbage and gigabyte answers, host-function abuse, memory and stack exhaustion,
 * proc_exit, calls to ungranted hosts, file-system and environment probes, log spam and log injection. Each bad
 * file must cost one clear error line, every other file must still be scanned on fresh instances, the file system
 * must be unchanged and no planted secret may appear anywhere.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, tempDir } from './helpers/cli.js';
import { compileRustPlugin, leaked, producedBytes, runMeasured, treeHash } from './helpers/hardening.js';
import { fakeFixtureToken } from './helpers/secrets.js';

const FORMATS = ['json', 'text', 'gitlab', 'codequality', 'sarif', 'junit'];

let plugin: string;
let server: http.Server;
let serverUrl: string;
let serverHits = 0;

beforeAll(async () => {
  plugin = compileRustPlugin(
    path.join(repoRoot, 'runner/test/fixtures/hostile/scanhostile.rs'),
    tempDir('wasmci-hostile-'),
  );
  server = http.createServer((_req, res) => {
    serverHits++;
    res.end('exfiltration accepted');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/collect`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

interface Report {
  findings: { path: string; ruleId: string; secret: string }[];
  errors: { path?: string; message: string }[];
  stats: { files: number };
}

/** Fatal behaviours: the file's batch fails, is split down to the file, and the instance is replaced. */
const FATAL: Record<string, RegExp> = {
  GARBAGE: /answer was rejected: the scan output is not JSON/,
  BIG_OUTPUT: /output-limit.*over the 67108864 byte output limit/,
  HUGE_ALLOC: /plugin error \(host-error\)/,
  MEMORY: /memory-limit.*256 MiB limit/,
  STACK: /plugin error \(trap\)/,
  EXIT: /exited.*code 3/,
  BAD_OUTPUT: /host-error.*cannot assign to this block/,
  HTTP: /host-error.*tried to reach 127\.0\.0\.1, which it was not granted/,
};

describe('hostile scan plugin', () => {
  it('costs one error line per bad file; every other file is scanned on fresh instances; nothing changes or leaks', async () => {
    const top = tempDir('wasmci-hardening-');
    const repo = path.join(top, 'repo');
    const out = tempDir('wasmci-hardening-reports-');
    mkdirSync(repo);
    writeFileSync(path.join(top, 'outside-secret.txt'), `${fakeFixtureToken()}\n`);
    const good: string[] = [];
    for (let i = 0; i < 20; i++) {
      const t = fakeFixtureToken('H');
      good.push(t);
      writeFileSync(path.join(repo, `good-${String(i).padStart(2, '0')}.txt`), `line\n${t}\n`);
    }
    for (const t of Object.keys(FATAL)) {
      const body = t === 'HTTP' ? `HOSTILE_HTTP ${serverUrl}\n` : `x\nHOSTILE_${t}\n`;
      writeFileSync(path.join(repo, `hostile-${t}.txt`), body);
    }
    // Non-fatal abuse: the file is still scanned (and its token found) once the abuse is contained.
    const survivors: Record<string, string> = {};
    for (const t of ['BAD_LOAD', 'LOG_SPAM', 'STDIO_SPAM', 'LOG_INJECT', 'FS']) {
      survivors[t] = fakeFixtureToken('H');
      writeFileSync(path.join(repo, `noisy-${t}.txt`), `HOSTILE_${t}\n${survivors[t]}\n`);
    }
    const before = treeHash(top);
    const hitsBefore = serverHits;

    const r = await runMeasured(
      [
        'scan',
        repo,
        '--plugin',
        plugin,
        '--jobs',
        '1',
        '--fail-on',
        'critical',
        '--format',
        'json',
        '--log-level',
        'debug',
        ...FORMATS.flatMap((f) => ['--report', `${f}=${out}/report.${f}`]),
      ],
      { timeoutMs: 120_000 },
    );
    console.log(`hostile scan plugin: ${r.durationMs} ms, peak RSS ${r.peakRssMiB} MiB, stderr ${r.stderr.length} B`);

    // exit 3: files could not be scanned, and no critical (escape) finding
    expect(r.code, r.stderr.slice(-2000)).toBe(3);
    const rep = JSON.parse(r.stdout.toString()) as Report;
    expect(rep.findings.filter((f) => f.ruleId === 'escape')).toEqual([]);
    const errors = Object.fromEntries(rep.errors.map((e) => [e.path, e.message]));
    expect(Object.keys(errors).sort()).toEqual(
      Object.keys(FATAL)
        .map((t) => `hostile-${t}.txt`)
        .sort(),
    );
    for (const [t, re] of Object.entries(FATAL)) expect(errors[`hostile-${t}.txt`], t).toMatch(re);
    expect(rep.findings.map((f) => f.path).sort()).toEqual(
      [
        ...good.map((_, i) => `good-${String(i).padStart(2, '0')}.txt`),
        ...Object.keys(survivors).map((t) => `noisy-${t}.txt`),
      ].sort(),
    );
    expect(rep.stats.files).toBe(20 + Object.keys(survivors).length);
    // --jobs 1: a fatal fault stops the only instance, so each later batch ran on a fresh one
    const replaced = r.stderr.match(/instance replaced after/g) ?? [];
    expect(replaced.length).toBeGreaterThanOrEqual(Object.keys(FATAL).length - 1); // GARBAGE is not fatal

    // nothing reached the ungranted server; nothing was created, changed or deleted anywhere
    expect(serverHits).toBe(hitsBefore);
    expect(treeHash(top)).toBe(before);
    for (const p of ['/tmp/wasmci-hostile-created', '/wasmci-hostile-created', '/tmp/wasmci-hostile-created-dir'])
      expect(existsSync(p), p).toBe(false);
    expect(readdirSync(out).sort()).toEqual(FORMATS.map((f) => `report.${f}`).sort());

    // log spam is capped per call; injected lines stay inside one escaped log line
    expect(r.stderr).toMatch(/log output over 1048576 bytes in one call; the rest is dropped/);
    expect(r.stderr.length).toBeLessThan(16 * 1024 * 1024);
    const lines = r.stderr.split('\n');
    const control = (l: string) => [...l].some((ch) => (ch.codePointAt(0) as number) < 0x20 && ch !== '\t');
    expect(lines.filter((l) => l.startsWith('::') || control(l))).toEqual([]);
    expect(r.stderr).toContain('innocent\\n::add-mask::hidden');

    // no planted token in any byte produced (reports are redacted by default)
    expect(leaked(producedBytes(r, [out]), [...good, ...Object.values(survivors)])).toEqual([]);
    expect(r.peakRssMiB).toBeLessThan(600);
  });

  it('log spam over many calls is capped for the whole run, not only per call', async () => {
    const repo = tempDir('wasmci-hardening-logs-');
    // Over 2 MiB each, so every file is a batch (a call) of its own: 8 calls of 1 MiB of logs each.
    const pad = `${'x'.repeat(99)}\n`.repeat(21_000);
    for (let i = 0; i < 8; i++) writeFileSync(path.join(repo, `spam-${i}.txt`), `HOSTILE_LOG_SPAM\n${pad}`);
    const r = await runMeasured(['scan', repo, '--plugin', plugin, '--jobs', '2', '--log-level', 'debug'], {
      timeoutMs: 120_000,
    });
    console.log(`log spam, 8 calls: ${r.durationMs} ms, stderr ${r.stderr.length} B`);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr.toString()).toMatch(/plugin log output over 4194304 bytes in this run; the rest is dropped/);
    // 4 MiB of plugin lines and wasmci's own few lines; the budget per call alone let 8 MiB through
    expect(r.stderr.length).toBeLessThan(4 * 1024 * 1024 + 64 * 1024);
  });

  it('a plugin that loops in one batch is stopped and the scan goes on with the next batch', async () => {
    // scan.test.ts proves the timeout itself; this proves the batches after it still run, on a fresh instance.
    const repo = tempDir('wasmci-hardening-spin-');
    const big = 'z'.repeat(4.5 * 1024 * 1024);
    const tokens = [fakeFixtureToken('H'), fakeFixtureToken('H')];
    // each file over the 4 MiB batch size is a batch of its own (a timeout fails its whole batch: no retry)
    writeFileSync(path.join(repo, 'a.txt'), `${tokens[0]}\n${big}\n`);
    writeFileSync(path.join(repo, 'b-spin.txt'), `HOSTILE_SPIN\n${big}\n`);
    writeFileSync(path.join(repo, 'c.txt'), `${tokens[1]}\n`);
    const before = treeHash(repo);
    const r = await runMeasured(
      ['scan', repo, '--plugin', plugin, '--jobs', '1', '--timeout', '1500', '--format', 'json', '--fail-on', 'none'],
      { timeoutMs: 60_000 },
    );
    console.log(`spinning scan plugin: ${r.durationMs} ms, peak RSS ${r.peakRssMiB} MiB`);
    expect(r.code).toBe(3);
    const rep = JSON.parse(r.stdout.toString()) as Report;
    expect(rep.errors).toEqual([{ path: 'b-spin.txt', message: expect.stringMatching(/timeout/) }]);
    expect(rep.findings.map((f) => f.path).sort()).toEqual(['a.txt', 'c.txt']);
    expect(treeHash(repo)).toBe(before);
    expect(leaked(producedBytes(r), tokens)).toEqual([]);
  });
});
